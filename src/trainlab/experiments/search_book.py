"""The book's random hyperparameter search (book §6.5.3, Fig. 6-24; script ``hyperparameter_optimization.py``).

The first 500 training images, shuffled (seeded) and split 20% validation / 80% training (100 /
400); the net 784-[100]*6-10 with the book's weight decay ½λ‖W‖²; SGD, batch 100 (4 updates per
epoch, drawn with replacement as the book's ``Trainer``), 50 epochs; 100 trials with
lr = 10^U(−6, −2) and weight decay λ = 10^U(−8, −4). Trials are ranked by their final validation
accuracy (the test set is never used). The result: the Best-k table beside the book's and the JP
run's, and the top-k grid (validation solid, train dashed), as in the book.

Each seed is one ``trainlab search`` (:class:`trainlab.search.study.Search`, random sampler, in
this process, the study in memory): the seed is the search's seed (trial draws and each trial's
training seed) and the split's. Its table and claims are the command's
(:mod:`trainlab.search.book`). Per-epoch curves are on the first ``eval_samples`` samples of each
split (all 100 validation images, 100 of the 400 training ones) for speed, like the book's
``evaluate_sample_num_per_epoch``.
"""

from __future__ import annotations

import numpy as np

from ..model import DTYPES
from ..search.book import BOOK
from ..trainer import SAMPLINGS
from .base import Claim, Experiment
from .panels import compare_row, comparison_table
from .keys import Choice, Float, Floats, Int, Ints

__all__ = ["EXPERIMENT", "SearchBook", "search_config"]


def _ordered(pair) -> str | None:
    return None if pair[0] < pair[1] else "the first (low) must be below the second (high)"


def search_config(config: dict, seed: int):
    """The :class:`~trainlab.search.config.SearchConfig` of one seed of the experiment."""
    from ..search.config import SearchConfig
    from ..search.space import Param

    lr, wd = config["lr_log10"], config["weight_decay_log10"]
    return SearchConfig(
        model={"hidden_sizes": list(config["hidden_sizes"]), "activation": "relu", "init": "he",
               "weight_decay": 0.0, "dtype": config["dtype"]},
        training={"epochs": int(config["epochs"]), "batch_size": int(config["batch_size"]), "optimizer": "sgd",
                  "optimizer_params": {"lr": 0.01}, "sampling": config["sampling"],
                  "eval_samples": config["eval_samples"], "seed": 0},
        data={"data_dir": config.get("data_dir"), "train_size": int(config["train_size"]),
              "val_fraction": float(config["val_fraction"]), "split_seed": int(seed)},
        space={"lr": Param("lr", "log", 10.0 ** lr[0], 10.0 ** lr[1]),
               "weight_decay": Param("weight_decay", "log", 10.0 ** wd[0], 10.0 ** wd[1])},
        trials=int(config["trials"]), sampler="random", pruner="none", seed=int(seed))


def _with_curves(run: dict) -> list[dict]:
    """The seed's trials with their curves (kept once, in the histories) put back."""
    out = []
    for t in run["trials"]:
        h = run["histories"][t["label"]]
        out.append({**t, "val_curve": [r["val_acc"] for r in h["epochs"]],
                    "train_curve": [r["train_acc"] for r in h["epochs"]]})
    return out


class SearchBook(Experiment):
    name = "search"
    title = "Random hyperparameter search on a validation split"
    book_section = "§6.5.3, Fig 6-24"
    book_script = "hyperparameter_optimization.py"
    book_figures = "Fig. 6-24"
    shows = "the best trials all have lr 0.001–0.01; trials with a smaller lr do not learn in 50 epochs"
    captions = {
        "best_trials": ("Fig. 6-24: the best trials' validation (solid) and train (dashed) accuracy, ranked by "
                        "final validation accuracy"),
        "trials": "Every trial's final validation accuracy by learning rate and weight decay",
        "scatter": "Every trial's final validation accuracy by learning rate and weight decay",
    }
    config = {
        "train_size": Int(500, "the first N training images (book: 500)", low=2),
        "val_fraction": Float(0.2, "share of them held out (seeded) for validation (book: 20%)", low=0, high=1,
                              low_open=True, high_open=True),
        "hidden_sizes": Ints([100] * 6, "hidden layer widths (book: 100 × 6)", high=4096, max_len=32),
        "batch_size": Int(100, "mini-batch size (book)", low=1, high=60_000),
        "epochs": Int(50, "epochs per trial (book)", low=1, high=10_000),
        "sampling": Choice("replacement", SAMPLINGS, "replacement: the book's np.random.choice batches; epoch: "
                                                     "each sample once per epoch"),
        "trials": Int(100, "random trials (book)", low=1, high=10_000),
        "lr_log10": Floats([-6, -2], "lr = 10^U(low, high) (book: −6, −2)", low=-12, high=2, min_len=2, max_len=2,
                           validator=_ordered),
        "weight_decay_log10": Floats([-8, -4], "weight decay λ = 10^U(low, high) (book: −8, −4)", low=-16, high=2,
                                     min_len=2, max_len=2, validator=_ordered),
        "eval_samples": Int(100, "per-epoch curves on the first K samples of each split (null: all)", low=1,
                            nullable=True),
        "top_k": Int(20, "trials in the Best-k table and the grid (book: 20)", low=1, high=100),
        "good_lr": Float(1e-3, "claim: the top 5 have lr ≥ this and smaller lr trails (book: 0.001)", low=0,
                         low_open=True),
        "dtype": Choice("float32", DTYPES, "parameter dtype"),
    }
    #: for tests: 8 short trials; lr drawn from 10^U(-4, -2) so that about half land in the good range
    reduced = {"trials": 8, "epochs": 15, "lr_log10": [-4, -2], "top_k": 5}
    #: one seed is 100 trainings (~50 s, the largest share of the run-all budget)
    default_seeds = 3
    seed_seconds = 50.0

    book = BOOK

    def run_seed(self, config: dict, seed: int) -> dict:
        from ..executor import InProcess
        from ..search.objective import load_data
        from ..search.results import trial_history, trial_label
        from ..search.study import Search

        sc = search_config(config, seed)
        sc.validate()
        search = Search(sc, InProcess())
        rows = search.run()
        arrays = load_data(sc.data)
        trials = [{k: v for k, v in r.items() if k not in ("val_curve", "train_curve")}
                  | {"label": trial_label(r["number"])} for r in rows]
        return {"seed": seed, "n_train": len(arrays.x_train), "n_val": len(arrays.x_val), "trials": trials,
                "stages": search.stages, "histories": {trial_label(r["number"]): trial_history(r) for r in rows}}

    def summarize(self, config: dict, runs: list[dict]) -> dict:
        from ..search.book import book_table, search_stats

        k, good = int(config["top_k"]), float(config["good_lr"])
        per_seed = [search_stats(_with_curves(run), k=k, good_lr=good, seed=run["seed"]) for run in runs]
        bests = [p["best_val_acc"] for p in per_seed if p["best_val_acc"] is not None]
        tables = [book_table(per_seed[0])] if per_seed[0]["best"] else []
        if bests and int(config["trials"]) == 100 and int(config["epochs"]) == 50:  # the book's search
            rows = [compare_row("best validation accuracy of 100 trials", 0.83, "the book's text (§6.5.3)", bests, 0.05),
                    compare_row("best validation accuracy of 100 trials", 0.84, "one unseeded run", bests, 0.05)]
            tables.insert(0, comparison_table(rows, len(runs), "100 validation images: one image is 0.01"))
        return {"seeds": [r["seed"] for r in runs], "per_seed": per_seed,
                "best_val_acc": float(np.mean(bests)) if bests else None, "tables": tables}

    def claims(self, config: dict, summary: dict, runs: list[dict]) -> list[Claim]:
        from ..search.book import claims

        return claims(summary["per_seed"], good_lr=float(config["good_lr"]))

    def figures(self, config: dict, summary: dict, runs: list[dict]) -> dict:
        from ..search.figures import make_figures

        run = runs[0]
        return make_figures(search_config(config, run["seed"]), _with_curves(run), run["stages"],
                            k=int(config["top_k"]))


EXPERIMENT = SearchBook()
