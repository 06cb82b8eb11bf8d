"""Dropout as an ensemble, measured (book §6.4.3, the remark after Fig 6-23; ``overfit_dropout.py``).

The book says dropout approximates ensemble learning: training several nets and averaging their
outputs. Here the ensemble is real: ``n_nets`` independently seeded nets of the overfitting
experiment (300 samples, 784-[100]*6-10, SGD lr 0.01, batch 100, 201 epochs, no weight decay) whose
softmax probabilities are averaged, p_ens(x) = (1/M)·Σ_m softmax(f_m(x)), and the ensemble predicts
argmax p_ens; against the mean single net and against one dropout net (the dropout experiment's
set-up: ratio 0.2, 301 epochs).

The dropout net uses *inverted* dropout by default: the book's classic dropout at lr 0.01 is still
far from converged at epoch 301 (its own run: 0.67 train accuracy), so comparing it with converged
nets would measure its slowness, not the ensemble effect; ``--set dropout_convention=classic``
runs the book's.

Evaluation granularity (for speed): the per-epoch curves are on the first ``curve_test_samples``
test images; the final numbers and the claim use all of them (10,000). Curves: a history per net
(``net-0`` …, the trainer's train curves plus ``test_acc`` from the nets' probabilities), the
ensemble's (``ensemble``: ``test_acc`` per epoch) and the dropout net's (``dropout``).
"""

from __future__ import annotations

import numpy as np

from ..layers import DROPOUT_CONVENTIONS
from ..losses import softmax
from .base import Claim, Experiment
from .common import check_train_count, dataset, final_stats, history, small_net_keys, train_small_net
from .keys import Choice, Float, Int

__all__ = ["EXPERIMENT", "Ensemble"]


class _TestProbs:
    """Callback: after every epoch record, softmax probabilities on a fixed test subset."""

    def __init__(self, x: np.ndarray):
        self.x = x
        self.probs: list[np.ndarray] = []

    def on_epoch_end(self, trainer, record) -> None:
        self.probs.append(softmax(trainer.model.predict(self.x, check=False).astype(np.float64)).astype(np.float32))


def _acc(probs: np.ndarray, t: np.ndarray) -> float:
    return float(np.mean(probs.argmax(axis=-1) == t))


def _with_test_acc(h: dict, probs, t: np.ndarray) -> dict:
    """The history ``h`` with each epoch record's ``test_acc`` from that epoch's probabilities."""
    h["epochs"] = [{**r, "test_acc": _acc(p, t)} for r, p in zip(h["epochs"], probs)]
    return h


def _test_curve(h: dict) -> list[float]:
    return [r["test_acc"] for r in h["epochs"]]


class Ensemble(Experiment):
    name = "ensemble"
    title = "Ensemble of 5 nets vs a single net vs dropout"
    book_section = "§6.4.3 (dropout as ensemble learning)"
    book_script = "overfit_dropout.py"
    book_figures = "none (the remark after Fig 6-23, measured)"
    shows = ("averaging the probabilities of 5 independently trained nets beats the average single net, "
             "as the book's reading of dropout as an ensemble suggests")
    captions = {
        "ensemble": ("Test accuracy of single nets, their ensemble (mean probabilities) and a dropout net; "
                     "right: the ensemble's accuracy by its size"),
    }
    config = {
        "n_nets": Int(5, "independently trained nets whose probabilities are averaged", low=2, high=50),
        **small_net_keys(201, "epochs of each net of the ensemble", curve_low=1),
        "dropout_ratio": Float(0.2, "dropout ratio p of the dropout net (the book's code)", low=0, high=1,
                               high_open=True),
        "dropout_convention": Choice("inverted", DROPOUT_CONVENTIONS, "the dropout net's convention (see the "
                                     "module doc; classic is the book's)"),
        "dropout_epochs": Int(301, "epochs of the dropout net (the book's dropout script)", low=1, high=10_000),
    }
    reduced = {"n_nets": 3, "epochs": 30, "dropout_epochs": 30, "curve_test_samples": 300}
    #: one seed already trains 6 nets (~24 s) and the 5 nets give the single-net spread
    default_seeds = 5
    #: measured once: seed 0 at full size, one core and one BLAS thread: 24 s of CPU (47 s wall on the
    #: shared 2-core machine under load)
    seed_seconds = 24.0

    def check_config(self, config: dict) -> None:
        check_train_count(config, "train_size")

    book = {
        "source": "the book's text; it prints no numbers (docs/reference-numbers.md#ensemble)",
        "book_text": "dropout can be read as ensemble learning: each training step trains a different "
                     "thinned net, and scaling at test time averages them (no numbers in the book)",
        "single_net_reference": "overfitting experiment, λ = 0: test ≈ 0.75 with train 1.0 (book's Fig 6-20)",
    }

    def run_seed(self, config: dict, seed: int) -> dict:
        (_, _), (x_test, t_test) = dataset(config)
        k = int(config["curve_test_samples"])
        x_sub, t_sub = x_test[:k], t_test[:k]
        fit_config = {**config, "curve_test_samples": 0}  # the callback measures the test curve
        histories, nets, curve_sum, full_probs = {}, [], None, []
        for i in range(int(config["n_nets"])):
            cb = _TestProbs(x_sub)
            net_seed = seed * 1000 + i  # independent weights and batch order per net
            model, h, finals = train_small_net(fit_config, net_seed, callbacks=[cb])
            probs = np.stack(cb.probs)  # (epochs + 1, k, classes)
            curve_sum = probs.astype(np.float64) if curve_sum is None else curve_sum + probs
            full_probs.append(softmax(model.predict(x_test).astype(np.float64)))
            histories[f"net-{i}"] = _with_test_acc(h, probs, t_sub)
            nets.append({"net_seed": net_seed, **finals})
        # the ensemble's epoch records: the nets' epochs and iterations, accuracy of the summed probabilities
        histories["ensemble"] = history(epochs=[
            {"epoch": r["epoch"], "iteration": r["iteration"], "test_acc": _acc(p, t_sub)}
            for r, p in zip(histories["net-0"]["epochs"], curve_sum)])
        by_size = [_acc(np.mean(full_probs[: m + 1], axis=0), t_test) for m in range(len(full_probs))]

        cb = _TestProbs(x_sub)
        drop_seed = seed * 1000 + 999
        model, h, finals = train_small_net(fit_config, drop_seed, dropout=config["dropout_ratio"],
                                           convention=config["dropout_convention"],
                                           epochs=config["dropout_epochs"], callbacks=[cb])
        histories["dropout"] = _with_test_acc(h, cb.probs, t_sub)
        return {
            "seed": seed,
            "histories": histories,
            "nets": nets,
            "ensemble": {"final_test_acc": by_size[-1], "final_test_acc_by_size": by_size},
            "dropout": {"net_seed": drop_seed, **finals},
            "test_curve_samples": k,
        }

    def summarize(self, config: dict, runs: list[dict]) -> dict:
        singles = [n["final_test_acc"] for r in runs for n in r["nets"]]
        ens = [r["ensemble"]["final_test_acc"] for r in runs]
        drop = [r["dropout"]["final_test_acc"] for r in runs]
        mean_single_per_seed = [float(np.mean([n["final_test_acc"] for n in r["nets"]])) for r in runs]
        out = {
            "seeds": [r["seed"] for r in runs],
            "single_test_acc": final_stats(singles),
            "single_train_acc": final_stats([n["final_train_acc"] for r in runs for n in r["nets"]]),
            "ensemble_test_acc": final_stats(ens),
            "ensemble_gain": final_stats([e - s for e, s in zip(ens, mean_single_per_seed)]),
            "dropout_test_acc": final_stats(drop),
            "dropout_train_acc": final_stats([r["dropout"]["final_train_acc"] for r in runs]),
            "ensemble_by_size": np.mean([r["ensemble"]["final_test_acc_by_size"] for r in runs], axis=0).tolist(),
            "dropout": f"p={config['dropout_ratio']:g} {config['dropout_convention']}, "
                       f"{config['dropout_epochs']} epochs",
        }
        s, d, e = out["single_test_acc"], out["dropout_test_acc"], out["ensemble_test_acc"]
        st, dt = out["single_train_acc"], out["dropout_train_acc"]
        out["tables"] = [{
            "title": f"final accuracy, test on all 10,000 images (seeds {out['seeds']})",
            "columns": ["model", "test accuracy", "train accuracy"],
            "rows": [
                [f"single net (mean of {len(singles)})", f"{s['mean']:.4f} (min {s['min']:.4f}, max {s['max']:.4f})",
                 f"{st['mean']:.4f}"],
                [f"ensemble of {config['n_nets']} (mean probabilities)", f"{e['mean']:.4f}", "–"],
                [f"dropout net ({out['dropout']})", f"{d['mean']:.4f}", f"{dt['mean']:.4f}"],
            ]}]
        return out

    def claims(self, config: dict, summary: dict, runs: list[dict]) -> list[Claim]:
        ens = summary["ensemble_test_acc"]["mean"]
        single = summary["single_test_acc"]
        drop = summary["dropout_test_acc"]["mean"]
        n = int(config["n_nets"])
        return [Claim(
            f"the {n}-net ensemble beats the average single net on test accuracy",
            ens > single["mean"],
            f"ensemble {ens:.4f} vs single nets {single['mean']:.4f} (min {single['min']:.4f}, "
            f"max {single['max']:.4f}) on all 10,000 test images; dropout net ({summary['dropout']}) "
            f"{drop:.4f}",
            {"ensemble_test_acc": ens, "single_test_acc_mean": single["mean"],
             "single_test_acc_max": single["max"], "dropout_test_acc": drop})]

    def figures(self, config: dict, summary: dict, runs: list[dict]) -> dict:
        from matplotlib.figure import Figure

        run = runs[0]
        curves = run["histories"]
        n = int(config["n_nets"])
        fig = Figure(figsize=(11, 4), layout="constrained")
        ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2, 1]})
        for i in range(n):
            ax.plot(_test_curve(curves[f"net-{i}"]), color="tab:blue", alpha=0.35, linewidth=1,
                    label="single nets" if i == 0 else None)
        ax.plot(_test_curve(curves["ensemble"]), color="tab:red", linewidth=2,
                label=f"ensemble of {n} (mean probabilities)")
        ax.plot(_test_curve(curves["dropout"]), color="tab:green", linewidth=1.5,
                label=f"dropout net ({summary['dropout']})")
        ax.set_ylim(0, 1)
        ax.set_xlabel("epochs")
        ax.set_ylabel(f"test accuracy (first {run['test_curve_samples']} test images)")
        ax.set_title(f"test accuracy per epoch (seed {run['seed']})")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)

        by_size = summary["ensemble_by_size"]
        sizes = list(range(1, len(by_size) + 1))
        ax2.plot(sizes, by_size, "o-", color="tab:red", label="ensemble of the first m nets")
        ax2.axhline(summary["single_test_acc"]["mean"], color="tab:blue", linestyle="--", label="mean single net")
        ax2.axhline(summary["dropout_test_acc"]["mean"], color="tab:green", linestyle=":", label="dropout net")
        ax2.set_xticks(sizes)
        ax2.set_xlabel("nets in the ensemble (m)")
        ax2.set_ylabel("final test accuracy (all 10,000)")
        ax2.set_title("final test accuracy vs ensemble size")
        ax2.grid(alpha=0.3)
        ax2.legend(loc="upper left", fontsize=8)
        return {"ensemble": fig}


EXPERIMENT = Ensemble()
