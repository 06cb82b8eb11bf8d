"""Early stopping vs weight decay vs nothing on the book's overfitting set-up (beyond the book: §6.4
regularises with weight decay and dropout only; the set-up is ``overfit_weight_decay.py``'s).

The set-up of :mod:`.overfitting`: 300 MNIST training images, 784-[100]*6-10 (ReLU, He), SGD η =
0.01, batch 100 drawn with replacement (3 updates per epoch), 201 epochs. Four nets per seed, from
the same initial weights and batch stream:

  none         all 300 images, no regularisation (the book's Fig. 6-20)
  wd=0.1       all 300 images, weight decay ½λ‖W‖², λ = 0.1 (the book's Fig. 6-21)
  early-stop   the first 240 images; the last 60 of the 300 are the validation split: training stops
               when the validation loss has not fallen for 20 epochs, and the weights of its best epoch
               are restored (``early_stop = val_loss:20:restore``)
  none-240     the same 240 images, no stopping (the control: what holding out 60 images costs)

The validation split comes out of the 300: a fair comparison gives every method the same 300
labelled images, so early stopping pays for its validation images with training images; the test
set (all 10,000 images for the final accuracy) never decides anything (the trainer refuses a
``test_`` monitor). The none-240 control separates the cost of holding out from the effect of
stopping. Per-epoch test curves are on the first 500 test images (display only).

What should happen, before measuring (thresholds in the claims): the book's net reaches 100 % train
accuracy after ~100 epochs, after which the loss on unseen images rises as the outputs grow
over-confident, so the validation loss bottoms out long before epoch 201 and early stopping stops in
every seed; with patience 20 at a minimum around epochs 70–160 it stops at 90–180, saving at least a
quarter of the epochs (claim ≥ 25 %, mean). Weight decay narrows the train–test gap (the book).
Measured, and claimed as measured (5 seeds): stopping at the validation-*loss* minimum does not buy
test accuracy here — accuracy keeps climbing after the loss turns up (the over-confidence that
raises the loss costs few right answers), so early-stop ends below none-240; and the unregularised
net on all 300 images has the best test accuracy of none, wd=0.1 and early-stop (λ = 0.1 shrinks
the gap by lowering train accuracy more than it raises test accuracy).
"""

from __future__ import annotations

import numpy as np

from ..instruments import METRICS
from ..validate import ConfigError
from .base import Claim, Experiment
from .common import check_train_count, final_stats, small_net_keys, summarize_variant, train_small_net
from .keys import Choice, Float, Int

__all__ = ["EXPERIMENT", "EarlyStoppingSmall"]

VARIANTS = ("none", "wd", "early-stop", "none-held-out")


class EarlyStoppingSmall(Experiment):
    name = "early-stopping"
    title = "Early stopping vs weight decay vs nothing on 300 images (the overfitting set-up)"
    book_section = "beyond the book (§6.4 set-up)"
    book_script = "— (closest: overfit_weight_decay.py, the same set-up)"
    book_figures = "— (beside Figs 6-20 and 6-21)"
    shows = ("early stopping on a validation split of the 300 images stops after about half the epochs, but "
             "stopping at the validation-loss minimum costs test accuracy: here the unregularised net on all "
             "300 images generalises best")
    config = {
        **small_net_keys(201, "epochs (the book records 201 accuracies); early stopping may end sooner"),
        "curve_test_samples": Int(500, "per-epoch test curve on the first N test images (display only; 0: none); "
                                  "the final test accuracy is always on all of them", low=0, high=10_000),
        "val_size": Int(60, "early stopping: the last N of the train_size images are its validation split",
                        low=1, high=59_999),
        "monitor": Choice("val_loss", [m for m in METRICS if m.startswith("val")], "early stopping watches this"),
        "patience": Int(20, "early stopping: epochs without improvement before it stops", low=1, high=10_000),
        "min_delta": Float(0.0, "early stopping: an improvement must exceed this", low=0),
        "weight_decay": Float(0.1, "the weight-decay variant's λ (½λ‖W‖²)", low=0, low_open=True, high=100),
        "saved_min": Float(0.25, "claim: early stopping saves at least this fraction of the epochs (mean)",
                           low=0, high=1),
    }
    reduced = {"epochs": 100, "patience": 5, "curve_test_samples": 0}
    default_seeds = 5
    #: measured: 5 seeds at full size on one core, one BLAS thread, three times on the shared machine: 5.2–9.1 s
    #: each (4 nets, the early-stopped one shorter; 30–42 s in all). The per-epoch test curve on 500 images,
    #: not 2000, keeps it under a minute
    seed_seconds = 7.0

    def check_config(self, config: dict) -> None:
        check_train_count(config, "train_size")
        if config["val_size"] >= config["train_size"]:
            raise ConfigError("val_size", f"val_size ({config['val_size']}) must be less than train_size "
                                          f"({config['train_size']}): it is held out of those images")

    def early_stop_spec(self, config: dict) -> str:
        return f"{config['monitor']}:{config['patience']}:{config['min_delta']}:restore"

    def run_seed(self, config: dict, seed: int) -> dict:
        held = int(config["val_size"])
        runs = {"none": {}, "wd": {"weight_decay": config["weight_decay"]},
                "early-stop": {"val_size": held, "early_stop": self.early_stop_spec(config)},
                "none-held-out": {"val_size": held}}
        out = {"seed": seed, "histories": {}, "finals": {}}
        for name, kw in runs.items():
            _, h, finals = train_small_net(config, seed, **kw)
            finals.update(stopped_epoch=h["stopped_epoch"], restored_epoch=h["restored_epoch"])
            out["histories"][self.label(config, name)] = h
            out["finals"][self.label(config, name)] = finals
        return out

    @staticmethod
    def label(config: dict, name: str) -> str:
        kept = config["train_size"] - config["val_size"]
        return {"none": "none", "wd": f"wd={config['weight_decay']:g}", "early-stop": "early-stop",
                "none-held-out": f"none-{kept}"}[name]

    def summarize(self, config: dict, runs: list[dict]) -> dict:
        k = int(config["curve_test_samples"])
        out = {}
        for name in VARIANTS:
            label = self.label(config, name)
            hs, fs = [r["histories"][label] for r in runs], [r["finals"][label] for r in runs]
            if name == "early-stop":  # curves of different lengths: each seed's own, no band
                v = {key: final_stats([f[key] for f in fs]) for key in ("final_train_acc", "final_test_acc", "gap")}
                v["curves"] = [{"epoch": [r["epoch"] for r in h["epochs"]],
                                **{m: [r.get(m) for r in h["epochs"]] for m in ("train_acc", "val_loss", "val_acc",
                                                                                 "test_acc")}} for h in hs]
            else:
                v = summarize_variant(hs, fs, k)
            v["stopped_epoch"] = [f["stopped_epoch"] for f in fs]
            v["restored_epoch"] = [f["restored_epoch"] for f in fs]
            v["epochs_trained"] = [len(h["epochs"]) - 1 for h in hs]
            out[label] = v
        if self.label(config, "none-held-out") in out:  # the validation curve the stop is decided on
            hs = [r["histories"][self.label(config, "none-held-out")] for r in runs]
            out[self.label(config, "none-held-out")]["val_loss"] = [[r["val_loss"] for r in h["epochs"]] for h in hs]
            out[self.label(config, "none-held-out")]["val_acc"] = [[r["val_acc"] for r in h["epochs"]] for h in hs]
        es = out["early-stop"]
        es["epochs_saved"] = final_stats([1 - e / config["epochs"] for e in es["epochs_trained"]])
        return {"variants": out, "seeds": len(runs), "epochs": config["epochs"]}

    def claims(self, config: dict, summary: dict, runs: list[dict]) -> list[Claim]:
        v, n, epochs = summary["variants"], summary["seeds"], summary["epochs"]
        none, wd, es = v["none"], v[self.label(config, "wd")], v["early-stop"]
        held = v[self.label(config, "none-held-out")]
        lam, kept = config["weight_decay"], config["train_size"] - config["val_size"]
        stopped = es["stopped_epoch"]
        acc = {lbl: v[lbl]["final_test_acc"]["mean"] for lbl in ("none", self.label(config, "wd"), "early-stop")}
        best = max(acc, key=acc.get)
        below = sum(a < b for a, b in zip(es["final_test_acc"]["values"], held["final_test_acc"]["values"]))
        narrower = sum(a < b for a, b in zip(wd["gap"]["values"], none["gap"]["values"]))
        saved = es["epochs_saved"]["mean"]
        return [
            Claim("early stopping stops before the last epoch in every seed",
                  all(s is not None and s < epochs for s in stopped),
                  f"stopped after epochs {stopped} of {epochs}; restored the weights of epochs {es['restored_epoch']} "
                  f"(the best {config['monitor']}); the test set decides nothing",
                  {"stopped_epoch": stopped, "restored_epoch": es["restored_epoch"]}),
            Claim(f"early stopping saves at least {config['saved_min']:.0%} of the epochs (mean over seeds)",
                  saved >= config["saved_min"],
                  f"epochs trained {es['epochs_trained']} of {epochs}: {saved:.0%} saved on average",
                  {"epochs_saved": saved, "threshold": config["saved_min"]}),
            Claim(f"weight decay λ={lam:g} narrows the train–test gap (the book's claim)",
                  wd["gap"]["mean"] < none["gap"]["mean"],
                  f"final train − test accuracy: λ={lam:g} {wd['gap']['mean']:.3f} vs none {none['gap']['mean']:.3f} "
                  f"(narrower in {narrower}/{n} seeds); test accuracy {wd['final_test_acc']['mean']:.3f} vs "
                  f"{none['final_test_acc']['mean']:.3f}",
                  {"gap_wd": wd["gap"]["mean"], "gap_none": none["gap"]["mean"]}),
            Claim("the unregularised net on all 300 images has the best test accuracy of the three (mean)",
                  best == "none",
                  "final test accuracy (all 10,000 images), mean of "
                  f"{n} seed(s): " + ", ".join(f"{k} {a:.4f}" for k, a in acc.items()),
                  {"test_acc": acc}),
            Claim(f"stopping at the validation-loss minimum costs test accuracy: early-stop ends below "
                  f"the same {kept} images trained every epoch (mean)",
                  es["final_test_acc"]["mean"] < held["final_test_acc"]["mean"],
                  f"test accuracy early-stop {es['final_test_acc']['mean']:.4f} vs none-{kept} "
                  f"{held['final_test_acc']['mean']:.4f} (lower in {below}/{n} seeds); none on all "
                  f"{config['train_size']}: {none['final_test_acc']['mean']:.4f}",
                  {"early_stop": es["final_test_acc"]["values"], "held_out_control": held["final_test_acc"]["values"]}),
        ]

    def figures(self, config: dict, summary: dict, runs: list[dict]) -> dict:
        from .early_stopping_figures import curves_figure, finals_figure

        return {"curves": curves_figure(config, summary), "test_accuracy": finals_figure(config, summary)}


EXPERIMENT = EarlyStoppingSmall()
