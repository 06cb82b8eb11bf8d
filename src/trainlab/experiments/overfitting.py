"""Overfitting and weight decay (book §6.4.1–6.4.2, Figs 6-20 and 6-21; script ``overfit_weight_decay.py``).

The book's set-up: the first 300 MNIST training samples, a 7-layer net 784-[100]*6-10 (ReLU, He),
SGD lr 0.01, batch 100 drawn with replacement (3 updates per epoch), 201 epochs, trained once without
weight decay and once with the book's decay ½λ‖W‖², λ = 0.1. Train and test accuracy per epoch.

Evaluation granularity (the only thing changed for speed): the per-epoch test curve is measured on the
first ``curve_test_samples`` test images; the final test accuracy (and every claim about the gap) on
the full 10,000. Each seed trains both variants from the same initial weights and batch order, so the
comparison is paired.

This module also holds the training helper that the dropout and ensemble experiments share.
"""

from __future__ import annotations

import functools
import time

import numpy as np

from ..model import ModelSpec
from ..trainer import Data, TrainConfig, fit
from .base import Claim, Experiment
from ..curves import mean_band

__all__ = ["EXPERIMENT", "Overfitting", "mnist", "train_small_net", "curve_stats", "accuracy_panel", "book_table"]


@functools.lru_cache(maxsize=1)
def mnist():
    """((x_train, t_train), (x_test, t_test)) as float32 in [0, 1], loaded once per process."""
    from ..data import load_mnist

    return load_mnist()


def _r(values, nd: int = 5) -> list[float]:
    return [round(float(v), nd) for v in values]


def train_small_net(config: dict, seed: int, *, weight_decay: float = 0.0, dropout: float = 0.0,
                    convention: str = "inverted", epochs: int | None = None, callbacks=()) -> tuple:
    """Train the book's 784-[100]*6-10 net on the first ``train_size`` training samples.

    Returns ``(model, record)``; ``record`` holds the per-epoch curves (test curve on the first
    ``curve_test_samples`` test images, or none when that is 0) and the final accuracies on the
    whole training subset and the full test set.
    """
    (x_train, t_train), (x_test, t_test) = mnist()
    n, k = int(config["train_size"]), int(config["curve_test_samples"])
    data = Data(x_train[:n], t_train[:n],
                x_test=x_test[:k] if k > 0 else None, t_test=t_test[:k] if k > 0 else None)
    spec = ModelSpec(input_size=784, hidden_sizes=tuple(config["hidden_sizes"]), output_size=10,
                     activation="relu", init="he", weight_decay=float(weight_decay),
                     dropout=float(dropout), dropout_convention=convention, dtype=config["dtype"])
    train_config = TrainConfig(epochs=int(epochs if epochs is not None else config["epochs"]),
                               batch_size=int(config["batch_size"]), optimizer="sgd",
                               optimizer_params={"lr": float(config["lr"])}, sampling=config["sampling"],
                               seed=int(seed), checkpoint_every=10**9)
    start = time.perf_counter()
    model, history = fit(spec, data, train_config, callbacks=callbacks)
    record = {
        "status": history.status,
        "epoch": [int(r["epoch"]) for r in history.epochs],
        "train_acc": _r(history.metric("train_acc")),
        "train_loss": _r(history.metric("train_loss")),
        "final_train_acc": float(model.accuracy(x_train[:n], t_train[:n])),
        "final_test_acc": float(model.accuracy(x_test, t_test)),
        "test_curve_samples": k,
    }
    if k > 0:
        record["test_acc"] = _r(history.metric("test_acc"))
        record["test_loss"] = _r(history.metric("test_loss"))
    record["gap"] = record["final_train_acc"] - record["final_test_acc"]
    record["seconds"] = round(time.perf_counter() - start, 3)
    return model, record


def curve_stats(curves: list[list[float]]) -> dict:
    """Mean and min–max band (``lo``/``hi``) over seeds of equally long curves."""
    return mean_band(curves, band="minmax")


def final_stats(values: list[float]) -> dict:
    a = np.asarray(values, dtype=float)
    return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()), "max": float(a.max()),
            "values": [float(v) for v in a]}


def summarize_variant(records: list[dict]) -> dict:
    """Curves (mean and band) and final numbers of one variant over seeds."""
    out = {"epoch": records[0]["epoch"], "train_acc": curve_stats([r["train_acc"] for r in records])}
    if "test_acc" in records[0]:
        out["test_acc"] = curve_stats([r["test_acc"] for r in records])
    for key in ("final_train_acc", "final_test_acc", "gap"):
        out[key] = final_stats([r[key] for r in records])
    out["max_train_acc"] = max(max(r["train_acc"]) for r in records)
    out["test_curve_samples"] = records[0]["test_curve_samples"]
    return out


def book_table(title: str, book_rows: dict, book_label: str, variants: dict, ours: list, epochs: dict) -> dict:
    """A table: epoch | the book's train/test | ours train/test per variant. ``epochs``: book epoch → our record."""
    def pair(a, b):
        return f"{a:.3f} / {b:.3f}" if a is not None and b is not None else "–"

    rows = []
    for book_epoch, ours_epoch in epochs.items():
        b = book_rows.get(f"epoch {book_epoch}")
        row = [str(book_epoch), pair(*b) if b else "–"]
        for key, _ in ours:
            v = variants.get(key)
            if v is None or ours_epoch >= len(v["epoch"]):
                row.append("–")
                continue
            test = v["test_acc"]["mean"][ours_epoch] if "test_acc" in v else None
            row.append(pair(v["train_acc"]["mean"][ours_epoch], test))
        rows.append(row)
    final = ["final (all 10,000)", "–"]
    for key, _ in ours:
        v = variants.get(key)
        final.append(pair(v["final_train_acc"]["mean"], v["final_test_acc"]["mean"]) if v else "–")
    rows.append(final)
    return {"title": title, "columns": ["epoch", book_label] + [label for _, label in ours], "rows": rows}


def accuracy_panel(ax, variant: dict, title: str, n_seeds: int) -> None:
    """The book's plot: train 'o' and test 's' (markevery 10), ylim (0, 1); band = min–max over seeds."""
    x = variant["epoch"]
    for key, marker, label in (("train_acc", "o", "train"), ("test_acc", "s", "test")):
        if key not in variant:
            continue
        s = variant[key]
        if key == "test_acc":
            label += f" (first {variant['test_curve_samples']} test images)"
        (line,) = ax.plot(x, s["mean"], marker=marker, markevery=10, markersize=4, label=label)
        if n_seeds > 1:
            ax.fill_between(x, s["lo"], s["hi"], color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_ylim(0, 1)
    ax.set_xlabel("epochs")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)


class Overfitting(Experiment):
    name = "overfitting"
    title = "Overfitting and weight decay"
    book_section = "§6.4.1–6.4.2, Figs 6-20 and 6-21"
    config = {
        "train_size": 300,              # the first 300 MNIST training images (book)
        "hidden_sizes": [100] * 6,      # 784-[100]*6-10, ReLU, He init (book's "7-layer" net)
        "lr": 0.01,                     # SGD (book)
        "batch_size": 100,              # 3 updates per epoch (book)
        "epochs": 201,                  # book: 201 accuracy records
        "sampling": "replacement",      # mini-batches drawn with replacement, as the book's loop
        "weight_decays": [0.0, 0.1],    # book's ½λ‖W‖²: the baseline and λ = 0.1
        "curve_test_samples": 2000,     # per-epoch test curve on the first 2000 test images (speed);
                                        # final test accuracy always on all 10,000
        "dtype": "float32",
        "large_gap": 0.15,              # what "a large gap" means: final train − test ≥ this
    }
    reduced = {"epochs": 50, "curve_test_samples": 300}  # tests: 2 nets × 150 updates
    #: one seed is ~2 × 3 s; 3 seeds give a band and stay inside the run-all budget
    default_seeds = 3
    book = {
        "source": "JP-notebook run of overfit_weight_decay.py (one unseeded run, λ = 0.1)",
        "lambda_0.1": {"epoch 0": [0.117, 0.102], "epoch 50": [0.67, 0.55], "epoch 100": [0.85, 0.69],
                       "epoch 150": [0.89, 0.72], "epoch 200": [0.927, 0.721]},
        "format": "[train acc, test acc]",
        "book_text": "λ = 0: train accuracy ≈ 100% after ~100 epochs, large gap to test (Fig 6-20); "
                     "λ = 0.1: gap shrinks, train accuracy no longer reaches 100% (Fig 6-21)",
    }

    @staticmethod
    def key(wd: float) -> str:
        return f"wd={float(wd):g}"

    def run_seed(self, config: dict, seed: int) -> dict:
        out = {"seed": seed, "variants": {}}
        for wd in config["weight_decays"]:
            _, record = train_small_net(config, seed, weight_decay=wd)
            out["variants"][self.key(wd)] = record
        return out

    def summarize(self, config: dict, runs: list[dict]) -> dict:
        variants = {k: summarize_variant([r["variants"][k] for r in runs]) for k in runs[0]["variants"]}
        summary = {"seeds": [r["seed"] for r in runs], "variants": variants}
        # ours at the epochs the book printed, beside the book's numbers (mean over seeds)
        key = self.key(0.1)
        if key in variants:
            v = variants[key]
            summary["ours_lambda_0.1"] = {
                f"epoch {e}": [v["train_acc"]["mean"][e], v["test_acc"]["mean"][e] if "test_acc" in v else None]
                for e in (0, 50, 100, 150, 200) if e < len(v["epoch"])}
            summary["tables"] = [book_table(
                f"train / test accuracy at the epochs the book's run printed (ours: mean of {len(runs)} seed(s); "
                f"test on the first {v['test_curve_samples']} test images, final row on all 10,000)",
                self.book["lambda_0.1"], "book λ=0.1", variants, [(key, "ours λ=0.1"), (self.key(0.0), "ours λ=0")],
                {e: e for e in (0, 50, 100, 150, 200)})]
        return summary

    def claims(self, config: dict, summary: dict, runs: list[dict]) -> list[Claim]:
        v = summary["variants"]
        base, dec = v[self.key(0.0)], v[self.key(0.1) if self.key(0.1) in v else self.key(config["weight_decays"][-1])]
        lam = config["weight_decays"][-1]
        b_train, b_gap = base["final_train_acc"]["mean"], base["gap"]["mean"]
        d_gap = dec["gap"]["mean"]
        big = config["large_gap"]
        return [
            Claim("without decay train accuracy reaches ≥ 0.99 (overfits) with a large gap",
                  b_train >= 0.99 and b_gap >= big,
                  f"λ=0: final train accuracy {b_train:.3f} (≥ 0.99?), train − test gap {b_gap:.3f} "
                  f"(≥ {big}?), mean of {len(runs)} seed(s), test on all 10,000",
                  {"final_train_acc": b_train, "gap": b_gap, "threshold_gap": big}),
            Claim("weight decay shrinks the train–test gap",
                  d_gap < b_gap,
                  f"final gap λ={lam:g}: {d_gap:.3f} vs λ=0: {b_gap:.3f} (smaller in "
                  f"{sum(g < b for g, b in zip(dec['gap']['values'], base['gap']['values']))}"
                  f"/{len(runs)} seeds)",
                  {"gap_with": d_gap, "gap_without": b_gap}),
            Claim(f"with λ={lam:g} train accuracy stays below 1.0",
                  dec["max_train_acc"] < 1.0,
                  f"highest train accuracy of any epoch and seed with λ={lam:g}: {dec['max_train_acc']:.3f}; "
                  f"final {dec['final_train_acc']['mean']:.3f} (book's run: 0.927 at epoch 200)",
                  {"max_train_acc": dec["max_train_acc"], "final_train_acc": dec["final_train_acc"]["mean"]}),
        ]

    def figures(self, config: dict, summary: dict, runs: list[dict]) -> dict:
        from matplotlib.figure import Figure

        variants = summary["variants"]
        fig = Figure(figsize=(5 * len(variants), 4), layout="constrained")
        axes = fig.subplots(1, len(variants), squeeze=False)[0]
        for ax, (key, v) in zip(axes, variants.items()):
            lam = float(key.split("=")[1])
            title = "no weight decay (Fig 6-20)" if lam == 0 else f"weight decay λ = {lam:g} (Fig 6-21)"
            accuracy_panel(ax, v, title, len(runs))
        return {"accuracy": fig}


EXPERIMENT = Overfitting()
