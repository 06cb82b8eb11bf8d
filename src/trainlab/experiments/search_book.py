"""The book's random hyperparameter search (book §6.5.3, Figs 6-24; script ``hyperparameter_optimization.py``).

The first 500 MNIST training images, shuffled (seeded) and split 20% validation / 80% training
(100 / 400); the net 784-[100]*6-10 with the book's weight decay ½λ‖W‖²; SGD, batch 100 (4 updates
per epoch), 50 epochs; 100 trials with lr = 10^U(−6, −2) and weight decay = 10^U(−8, −4). Trials are
ranked by their final validation accuracy (the test set is never used). The result: the Best-k table
and the top-20 grid (validation solid, train dashed), as in the book.

A plain loop, one process; the Optuna-based ``trainlab search`` command does the same and more.
"""

from __future__ import annotations

import time

import numpy as np

from ..model import ModelSpec
from ..trainer import Data, TrainConfig, fit
from .base import Claim, Experiment
from .common import dataset

__all__ = ["EXPERIMENT", "SearchBook"]


class SearchBook(Experiment):
    name = "search"
    title = "Random hyperparameter search on a validation split"
    book_section = "§6.5.3, Fig 6-24"
    config = {
        "train_size": 500,              # the first 500 training images (book)
        "val_fraction": 0.2,            # shuffled (seeded), first 20% = 100 validation (book)
        "hidden_sizes": [100] * 6,      # book
        "batch_size": 100,              # book
        "epochs": 50,                   # book
        "sampling": "replacement",      # the book's Trainer draws batches with replacement
        "trials": 100,                  # book
        "lr_log10": [-6, -2],           # lr = 10^U(-6, -2) (book)
        "weight_decay_log10": [-8, -4], # weight decay λ = 10^U(-8, -4) (book)
        "eval_samples": 100,            # per-epoch curves on the first 100 samples of each split:
                                        # all 100 validation images, 100 of the 400 training ones (speed)
        "top_k": 20,                    # the grid and the Best-k table (book plots 20)
        "good_lr": 1e-3,                # the book's conclusion: good lr range 1e-3 ... 1e-2
        "dtype": "float32",
    }
    #: for tests: 8 short trials; lr drawn from 10^U(-4, -2) so that about half land in the good range
    reduced = {"trials": 8, "epochs": 15, "lr_log10": [-4, -2], "top_k": 5}
    #: one seed is 100 trainings (~50 s, the largest share of the run-all budget)
    default_seeds = 1
    book = {
        "source": "book §6.5.3 (printed Best-5) and the JP-notebook run (one unseeded run)",
        "book_best": [[0.83, 0.0092, 3.86e-07], [0.78, 0.00956, 6.04e-07], [0.77, 0.00571, 1.27e-06],
                      [0.74, 0.00626, 1.43e-05], [0.73, 0.0052, 8.97e-06]],
        "jp_run_best": [[0.84, 0.0094, 2.8e-6], [0.81, 0.0097, 4.2e-8], [0.78, 0.0081, 2.7e-5],
                        [0.77, 0.0053, 3.1e-6], [0.73, 0.0097, 8.0e-7]],
        "format": "[val acc, lr, weight decay] for Best-1 … Best-5",
        "jp_run_best_20": 0.36,
        "jp_run_low_lr": "all 74 trials with lr < 1e-3 ended at val 0.03–0.25; the 26 with lr ≥ 1e-3 at 0.16–0.84",
        "book_text": "learning goes well up to about Best-5; good ranges: lr 0.001–0.01, weight decay 1e-8–1e-6",
    }

    def run_seed(self, config: dict, seed: int) -> dict:
        from ..data import split_train_val

        (x, t), _ = dataset(config)
        split = split_train_val(x, t, train_size=int(config["train_size"]),
                                val_fraction=float(config["val_fraction"]), rng_or_seed=seed)
        data = Data(split.x_train, split.t_train, x_val=split.x_val, t_val=split.t_val)
        rng = np.random.default_rng([seed, 6_5_3])  # the trials' hyperparameters
        trials = []
        for i in range(int(config["trials"])):
            wd = float(10 ** rng.uniform(*config["weight_decay_log10"]))
            lr = float(10 ** rng.uniform(*config["lr_log10"]))
            spec = ModelSpec(input_size=784, hidden_sizes=tuple(config["hidden_sizes"]), output_size=10,
                             activation="relu", init="he", weight_decay=wd, dtype=config["dtype"])
            tc = TrainConfig(epochs=int(config["epochs"]), batch_size=int(config["batch_size"]),
                             optimizer="sgd", optimizer_params={"lr": lr}, sampling=config["sampling"],
                             eval_samples=config["eval_samples"], seed=seed * 1000 + i, checkpoint_every=10**9)
            start = time.perf_counter()
            _, history = fit(spec, data, tc)
            val = history.metric("val_acc")
            trials.append({
                "trial": i, "lr": lr, "weight_decay": wd, "status": history.status,
                "val_acc": [round(float(v), 4) for v in val],
                "train_acc": [round(float(v), 4) for v in history.metric("train_acc")],
                "final_val_acc": float(val[-1]),
                "seconds": round(time.perf_counter() - start, 3),
            })
        return {"seed": seed, "n_train": len(split.x_train), "n_val": len(split.x_val), "trials": trials}

    @staticmethod
    def ranked(run: dict) -> list[dict]:
        """Trials by final validation accuracy, best first (ties: lower trial number first)."""
        return sorted(run["trials"], key=lambda tr: (-tr["final_val_acc"], tr["trial"]))

    def summarize(self, config: dict, runs: list[dict]) -> dict:
        k, good = int(config["top_k"]), float(config["good_lr"])
        per_seed = []
        for run in runs:
            ranked = self.ranked(run)
            low = [tr["final_val_acc"] for tr in ranked if tr["lr"] < good]
            high = [tr["final_val_acc"] for tr in ranked if tr["lr"] >= good]
            per_seed.append({
                "seed": run["seed"],
                "best": [{"rank": r + 1, "trial": tr["trial"], "val_acc": tr["final_val_acc"], "lr": tr["lr"],
                          "weight_decay": tr["weight_decay"]} for r, tr in enumerate(ranked[:k])],
                "best_val_acc": ranked[0]["final_val_acc"],
                "low_lr": {"count": len(low), "max": max(low, default=None), "min": min(low, default=None)},
                "high_lr": {"count": len(high), "max": max(high, default=None), "min": min(high, default=None)},
                "top5_min_lr": min(tr["lr"] for tr in ranked[:5]),
                "top5_max_lr": max(tr["lr"] for tr in ranked[:5]),
            })
        first = per_seed[0]
        rows = []
        for b in first["best"]:
            r = b["rank"]
            book = self.book["book_best"][r - 1] if r <= len(self.book["book_best"]) else None
            jp = self.book["jp_run_best"][r - 1] if r <= len(self.book["jp_run_best"]) else None
            rows.append([f"Best-{r}", f"{b['val_acc']:.2f}", f"{b['lr']:.3g}", f"{b['weight_decay']:.3g}",
                         f"{book[0]:.2f} ({book[1]:.3g}, {book[2]:.3g})" if book else "",
                         f"{jp[0]:.2f} ({jp[1]:.3g}, {jp[2]:.3g})" if jp else ""])
        return {
            "seeds": [r["seed"] for r in runs],
            "per_seed": per_seed,
            "best_val_acc": float(np.mean([p["best_val_acc"] for p in per_seed])),
            "tables": [{
                "title": f"Best-{k} of {len(runs[0]['trials'])} trials (seed {first['seed']}), "
                         f"by final validation accuracy",
                "columns": ["rank", "val acc", "lr", "weight decay", "book: val (lr, wd)", "JP run: val (lr, wd)"],
                "rows": rows,
            }],
        }

    def claims(self, config: dict, summary: dict, runs: list[dict]) -> list[Claim]:
        good = float(config["good_lr"])
        ps = summary["per_seed"]
        best = [p["best_val_acc"] for p in ps]
        trail = [(p["best_val_acc"] - p["low_lr"]["max"]) if p["low_lr"]["count"] else None for p in ps]
        low_counts = [p["low_lr"]["count"] for p in ps]
        top5_min = [p["top5_min_lr"] for p in ps]
        return [
            Claim("the search's best validation accuracy ≥ 0.75", min(best) >= 0.75,
                  "best final validation accuracy " + ", ".join(f"{b:.2f}" for b in best)
                  + " (book 0.83, JP run 0.84)", {"best_val_acc": best}),
            Claim(f"every trial with lr < {good:g} trails the best by ≥ 0.3",
                  all(d is not None and d >= 0.3 for d in trail),
                  "; ".join(f"{c} trials with lr < {good:g}, the best of them {p['low_lr']['max']:.2f}, "
                            f"{d:.2f} below the best {p['best_val_acc']:.2f}" if c else "no trial with small lr"
                            for p, c, d in zip(ps, low_counts, trail))
                  + " (JP run: 74 trials, 0.03–0.25 vs best 0.84)",
                  {"trail": trail, "low_lr_count": low_counts}),
            Claim(f"the good range found is lr {good:g}…1e-2 (the top 5 all have lr ≥ {good:g})",
                  min(top5_min) >= good,
                  "top-5 lr range " + "; ".join(f"{p['top5_min_lr']:.3g}…{p['top5_max_lr']:.3g}" for p in ps)
                  + " (book's Best-5: 0.0052…0.00956)",
                  {"top5_min_lr": top5_min}),
        ]

    def figures(self, config: dict, summary: dict, runs: list[dict]) -> dict:
        from matplotlib.figure import Figure

        run = runs[0]
        ranked = self.ranked(run)[: int(config["top_k"])]
        cols = 5
        rows = max(1, -(-len(ranked) // cols))
        fig = Figure(figsize=(10, 2.0 * rows + 0.4), layout="constrained")
        axes = fig.subplots(rows, cols, squeeze=False)
        for i, ax in enumerate(axes.ravel()):
            if i >= len(ranked):
                ax.set_visible(False)
                continue
            tr = ranked[i]
            ax.plot(tr["val_acc"], "-", color="tab:blue", label="validation")
            ax.plot(tr["train_acc"], "--", color="tab:orange", label="train")  # first eval_samples
            ax.set_ylim(0, 1)
            ax.set_xticks([])
            if i % cols:
                ax.set_yticks([])
            ax.set_title(f"Best-{i + 1}: val {tr['final_val_acc']:.2f}\nlr {tr['lr']:.2g}, wd {tr['weight_decay']:.1g}",
                         fontsize=8)
        axes.ravel()[0].legend(fontsize=7, loc="lower right")
        fig.suptitle(f"top {len(ranked)} trials (validation solid, train dashed), seed {run['seed']}", fontsize=10)

        fig2 = Figure(figsize=(6, 4.2), layout="constrained")
        ax = fig2.subplots()
        lrs = [tr["lr"] for tr in run["trials"]]
        wds = [tr["weight_decay"] for tr in run["trials"]]
        vals = [tr["final_val_acc"] for tr in run["trials"]]
        sc = ax.scatter(lrs, wds, c=vals, cmap="viridis", vmin=0, vmax=1, s=28, edgecolors="k", linewidths=0.3)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.axvline(float(config["good_lr"]), color="grey", linestyle="--", linewidth=1)
        ax.set_xlabel("learning rate")
        ax.set_ylabel("weight decay λ")
        ax.set_title(f"{len(run['trials'])} trials: final validation accuracy")
        fig2.colorbar(sc, ax=ax, label="validation accuracy")
        return {"best_trials": fig, "trials": fig2}


EXPERIMENT = SearchBook()
