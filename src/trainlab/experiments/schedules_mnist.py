"""Learning-rate schedules on MNIST: constant η vs step decay vs cosine (± linear warm-up), for SGD
and Momentum (beyond the book: no script of chapter 6 schedules its learning rate; the closest is
``optimizer_compare_mnist.py``, whose optimizers keep a constant η).

784-100-100-10, ReLU, He, batch 50, 5 epochs on the first 12,000 MNIST training images; the
validation split is the last 5,000 training images (never trained on), the test set is used only
for the accuracy printed beside. Every schedule of one optimizer starts from the same η₀ (SGD 0.5;
Momentum 0.05 with μ = 0.9 in torch's form b ← μb + g, θ ← θ − ηb, an effective step η/(1 − μ) =
0.5 as well), and within a seed every net starts from the same weights and sees the same batches (a
paired comparison). The schedules (:mod:`trainlab.schedules`, torch's numerics):

  constant        η_t = η₀
  step            η₀·γ^⌊e/S⌋ after every S = 3 epochs, γ = 0.1 (stepped per epoch)
  cosine          η₀·(1 + cos(πt/T))/2 over all T updates (stepped per update)
  warmup-cosine   linear from 0.1·η₀ to η₀ over the first epoch's updates, then cosine over the rest

What should happen, before measuring: with a constant η, SGD ends in a noise ball around a minimum
whose size grows with η (the gradient noise of a mini-batch, times η); a decay shrinks it at the end,
so the final loss is lower — *if* η₀ is large enough that the noise, not the distance still to go,
limits the final loss. With a small η₀ the decay only slows progress (cosine's mean η is η₀/2). So
the experiment runs a large η₀ (0.5, about the largest that trains this net stably at batch 50;
η₀ = 1.0 diverges in some seeds) and, as a control, SGD at η₀ = 0.1, constant vs cosine.

Claims (checked on every seed; measured before committing to them, 5 seeds):
* at η₀ = 0.5 every decaying schedule ends with a lower validation loss than constant η, for SGD
  and for Momentum, in every seed (measured: constant 0.14/0.15 mean, the decays 0.11–0.12);
* warm-up + cosine ends lowest of the four, mean over seeds, for both (measured, not derived: the
  first updates at η₀ = 0.5 on fresh He weights are the least stable ones, and the warm-up tames them);
* the control: at η₀ = 0.1 constant η ends *below* cosine in every seed (measured 0.157 vs 0.174):
  within 5 epochs the small rate is limited by progress, and decaying it only slows that.
"Final" is the validation loss after the last epoch (on all 5,000 validation images).
"""

from __future__ import annotations

import math

import numpy as np

from ..model import DTYPES
from ..optim import CONVENTIONS
from ..validate import ConfigError
from .base import Claim, Experiment
from .common import OPTIMIZER_LABELS, check_train_val, dataset, dims, final_stats, train_val_split
from .keys import Choice, Choices, Float, Int, Ints

SCHEDULES = ("constant", "step", "cosine", "warmup-cosine")
LABELS = {"constant": "constant η", "step": "step ×γ", "cosine": "cosine", "warmup-cosine": "warm-up + cosine"}
OPTIMIZERS = ("sgd", "momentum")


def schedule_options(name: str, config: dict, iterations_per_epoch: int) -> dict:
    """The TrainConfig options of one schedule (``lr_schedule``, ``schedule_every``, warm-up)."""
    total = int(config["epochs"]) * iterations_per_epoch
    if name == "constant":
        return {}
    if name == "step":
        return {"lr_schedule": f"step:{config['step_epochs']}:{config['step_gamma']}"}
    if name == "cosine":
        return {"lr_schedule": f"cosine:{total}", "schedule_every": "iteration"}
    warm = int(config["warmup_epochs"]) * iterations_per_epoch
    return {"lr_schedule": f"cosine:{total - warm}", "schedule_every": "iteration", "warmup": warm,
            "warmup_factor": float(config["warmup_factor"])}


def variants(config: dict) -> list[tuple[str, str, float, str]]:
    """``(label, optimizer, η₀, schedule)`` of every net of a seed: each optimizer × schedule, then
    the control (SGD at ``control_lr``, constant and cosine)."""
    out = [(f"{opt}-{s}", opt, float(config[f"lr_{opt}"]), s) for opt in config["optimizers"] for s in config["schedules"]]
    if config["control_lr"] is not None:
        out += [(f"sgd-lr{config['control_lr']:g}-{s}", "sgd", float(config["control_lr"]), s)
                for s in ("constant", "cosine")]
    return out


class SchedulesMnist(Experiment):
    name = "schedules"
    title = "Learning-rate schedules on MNIST: constant vs step vs cosine (± warm-up), SGD and Momentum"
    book_section = "beyond the book (§6.1 uses a constant η)"
    book_script = "— (closest: optimizer_compare_mnist.py, constant η)"
    book_figures = "—"
    shows = ("at a large initial learning rate every decaying schedule ends with a lower validation loss than a "
             "constant one (warm-up + cosine lowest), for SGD and Momentum; at a small one the constant rate wins")
    config = {
        "train_size": Int(12_000, "train on the first N training images", low=1, high=60_000),
        "val_size": Int(5_000, "validate on the last N training images (never trained on)", low=1, high=30_000),
        "hidden_sizes": Ints([100, 100], "hidden layer widths (ReLU, He)", high=4096, max_len=16),
        "batch_size": Int(50, "mini-batch size", low=1, high=60_000),
        "epochs": Int(5, "epochs of every net", low=2, high=1000),
        "optimizers": Choices(list(OPTIMIZERS), OPTIMIZERS, "the optimizers, each with every schedule"),
        "schedules": Choices(list(SCHEDULES), SCHEDULES, "the schedules; the claims compare the decaying "
                             "ones with constant"),
        "lr_sgd": Float(0.5, "SGD's initial learning rate η₀", low=0, low_open=True, high=10),
        "lr_momentum": Float(0.05, "Momentum's initial learning rate η₀", low=0, low_open=True, high=10),
        "momentum": Float(0.9, "Momentum's μ", low=0, high=1, high_open=True),
        "convention": Choice("torch", CONVENTIONS, "optimizer convention (torch: a new η rescales Momentum's "
                             "whole step)"),
        "step_epochs": Int(3, "step: multiply η by step_gamma after every this many epochs", low=1, high=1000),
        "step_gamma": Float(0.1, "step: the factor γ", low=0, low_open=True, high=1, high_open=True),
        "warmup_epochs": Int(1, "warm-up + cosine: epochs of linear warm-up", low=1, high=1000),
        "warmup_factor": Float(0.1, "warm-up: the first update's η as a fraction of η₀", low=0, low_open=True, high=1),
        "control_lr": Float(0.1, "the control: SGD at this smaller η₀, constant vs cosine (null: none)", low=0,
                            low_open=True, high=10, nullable=True),
        "eval_samples": Int(5_000, "per-epoch training loss on the first N training images (the validation "
                            "loss always on all of them)", low=1, high=60_000),
        "test_samples": Int(10_000, "test images for the accuracy after training", low=1, high=10_000),
        "dtype": Choice("float32", DTYPES, "parameter dtype"),
    }
    #: small enough for any dataset of 600 training images (the tests' own)
    reduced = {"train_size": 400, "val_size": 200, "epochs": 3, "step_epochs": 2, "eval_samples": 400,
               "test_samples": 1000}
    default_seeds = 5
    #: measured: 5 seeds at full size on one core, one BLAS thread, three times on the shared machine: 7.7–10.0 s
    #: each (10 nets × 1200 updates; 41–43 s in all); batch 50 and 12,000 images keep 5 seeds under a minute
    seed_seconds = 8.4

    def check_config(self, config: dict) -> None:
        check_train_val(config, "train_size", "val_size")
        for key in ("step_epochs", "warmup_epochs"):
            if config[key] >= config["epochs"]:
                raise ConfigError(key, f"{key} ({config[key]}) must be less than epochs ({config['epochs']}), "
                                       f"or the schedule would not decay within the run")

    def run_seed(self, config: dict, seed: int) -> dict:
        from ..model import ModelSpec
        from ..trainer import TrainConfig, fit

        _, (xt, tt) = dataset(config)
        n, k = int(config["train_size"]), int(config["test_samples"])
        data = train_val_split(config, "train_size", "val_size")
        inputs, classes = dims(config)
        spec = ModelSpec(input_size=inputs, hidden_sizes=tuple(config["hidden_sizes"]), output_size=classes,
                         activation="relu", init="he", dtype=config["dtype"])
        per_epoch = math.ceil(n / int(config["batch_size"]))
        histories, test_acc = {}, {}
        for label, opt, lr, schedule in variants(config):
            params = {"lr": lr, **({"momentum": float(config["momentum"])} if opt == "momentum" else {})}
            train = TrainConfig(epochs=int(config["epochs"]), batch_size=int(config["batch_size"]), optimizer=opt,
                                optimizer_params=params, convention=config["convention"], seed=int(seed),
                                eval_samples=int(config["eval_samples"]), checkpoint_every=10**9,
                                **schedule_options(schedule, config, per_epoch))
            model, h = fit(spec, data, train)
            histories[label] = h.to_dict()
            with np.errstate(all="ignore"):
                test_acc[label] = float(model.accuracy(xt[:k], tt[:k]))
        return {"histories": histories, "test_acc": test_acc}

    def summarize(self, config: dict, runs: list[dict]) -> dict:
        from ..curves import mean_band

        out = {}
        for label, opt, lr, schedule in variants(config):
            hs = [r["histories"][label] for r in runs]
            finals = [h["epochs"][-1]["val_loss"] for h in hs]
            out[label] = {"optimizer": opt, "lr0": lr, "schedule": schedule,
                          "val_loss": mean_band([[r["val_loss"] for r in h["epochs"]] for h in hs]),
                          "lr": [r["lr"] for r in hs[0]["epochs"]],
                          "final_val_loss": final_stats(finals),
                          "best_val_loss": final_stats([min(r["val_loss"] for r in h["epochs"]) for h in hs]),
                          "test_acc": final_stats([r["test_acc"][label] for r in runs])}
        return {"variants": out, "seeds": len(runs)}

    def claims(self, config: dict, summary: dict, runs: list[dict]) -> list[Claim]:
        v, n = summary["variants"], summary["seeds"]
        claims = []
        for opt in config["optimizers"]:
            const = v.get(f"{opt}-constant")
            decays = [s for s in config["schedules"] if s != "constant"]
            lr0 = config[f"lr_{opt}"]
            if const is None or not decays:
                continue
            c = const["final_val_loss"]["values"]
            wins = {s: sum(a < b for a, b in zip(v[f"{opt}-{s}"]["final_val_loss"]["values"], c)) for s in decays}
            means = ", ".join(f"{LABELS[s]} {v[f'{opt}-{s}']['final_val_loss']['mean']:.4f} (lower in {wins[s]}/{n})"
                              for s in decays)
            claims.append(Claim(
                f"{OPTIMIZER_LABELS[opt]}, η₀ = {lr0:g}: every decaying schedule ends below constant η in every seed",
                all(w == n for w in wins.values()),
                f"final validation loss, mean of {n} seed(s): constant {const['final_val_loss']['mean']:.4f}; {means}",
                {"constant": const["final_val_loss"]["values"],
                 **{s: v[f"{opt}-{s}"]["final_val_loss"]["values"] for s in decays}}))
            if "warmup-cosine" in decays and len(config["schedules"]) > 1:
                mean = {s: v[f"{opt}-{s}"]["final_val_loss"]["mean"] for s in config["schedules"]}
                best = min(mean, key=mean.get)
                claims.append(Claim(
                    f"{OPTIMIZER_LABELS[opt]}: warm-up + cosine ends lowest of the schedules (mean over seeds)",
                    best == "warmup-cosine",
                    "mean final validation loss: " + ", ".join(f"{LABELS[s]} {m:.4f}" for s, m in mean.items()),
                    {"mean_final_val_loss": mean}))
        if config["control_lr"] is not None:
            lr = config["control_lr"]
            c, cos = (v[f"sgd-lr{lr:g}-{s}"]["final_val_loss"] for s in ("constant", "cosine"))
            wins = sum(a < b for a, b in zip(c["values"], cos["values"]))
            claims.append(Claim(
                f"control, SGD at η₀ = {lr:g}: constant η ends below cosine in every seed",
                wins == n,
                f"final validation loss, mean of {n} seed(s): constant {c['mean']:.4f}, cosine {cos['mean']:.4f} "
                f"(constant lower in {wins}/{n}): at a small η₀ the run is limited by progress, not noise",
                {"constant": c["values"], "cosine": cos["values"]}))
        return claims

    def figures(self, config: dict, summary: dict, runs: list[dict]) -> dict:
        from .schedules_figures import curves_figure, final_figure

        return {"curves": curves_figure(config, summary, runs), "final_val_loss": final_figure(config, summary)}


EXPERIMENT = SchedulesMnist()
