"""The book's search (§6.5.3, ``hyperparameter_optimization.py``): its configuration, how another
search differs from it, its numbers, the Best-k table beside them, and the book's claims checked on a
search's trials (not applicable, with the differences as the reason, off the book's configuration).

Used by ``trainlab search`` and by the ``search`` experiment alike: both compute
:func:`search_stats` of their trials and call the same :func:`claims` and :func:`book_table`.

The book's run: the first 500 MNIST training images, a seeded 20% (100) held out for validation;
784-[100]*6-10, ReLU, He init, SGD, batch 100, 50 epochs; 100 trials of lr = 10^U(−6, −2) and
weight decay λ = 10^U(−8, −4) (the model's ½λ‖W‖²), ranked by the final validation accuracy.
"""

from __future__ import annotations

import dataclasses
import math

from ..experiments.base import Claim
from .config import SearchConfig
from .numbers import fmt
from .space import Param

__all__ = ["BOOK", "GOOD_LR", "book_config", "differences", "ranked", "search_stats", "book_table", "claims"]

#: the book's conclusion: lr 0.001 … 0.01 learns (0.01 is the top of the searched range)
GOOD_LR = 1e-3

BOOK = {
    "source": "the book, §6.5.3 (its printed Best-5), and one unseeded run of the book's code "
              "(docs/reference-numbers.md#search)",
    "book_best": [[0.83, 0.0092, 3.86e-07], [0.78, 0.00956, 6.04e-07], [0.77, 0.00571, 1.27e-06],
                  [0.74, 0.00626, 1.43e-05], [0.73, 0.0052, 8.97e-06]],
    "jp_run_best": [[0.84, 0.0094, 2.8e-6], [0.81, 0.0097, 4.2e-8], [0.78, 0.0081, 2.7e-5],
                    [0.77, 0.0053, 3.1e-6], [0.73, 0.0097, 8.0e-7]],
    "format": "[val acc, lr, weight decay] for Best-1 … Best-5",
    "jp_run_best_20": 0.36,
    "jp_run_low_lr": "all 74 trials with lr < 1e-3 ended at val 0.03–0.25; the 26 with lr ≥ 1e-3 at 0.16–0.84",
    "book_text": "learning goes well up to about Best-5; good ranges: lr 0.001–0.01, weight decay 1e-8–1e-6",
}


def book_config() -> SearchConfig:
    """The book's §6.5 search: 100 random trials of lr = 10^U(−6,−2), weight decay = 10^U(−8,−4)."""
    return SearchConfig(
        model={"hidden_sizes": [100] * 6, "activation": "relu", "init": "he", "weight_decay": 0.0},
        training={"epochs": 50, "batch_size": 100, "optimizer": "sgd", "optimizer_params": {"lr": 0.01},
                  "seed": 0},
        data={"train_size": 500, "val_fraction": 0.2, "split_seed": 0},
        space={"lr": Param("lr", "log", 1e-6, 1e-2), "weight_decay": Param("weight_decay", "log", 1e-8, 1e-4)},
        trials=100, stages=1, sampler="random", pruner="none", seed=0,
    )


#: what does not make a search another configuration: seeds (the book's run is unseeded), the
#: dataset (another dataset is a finding, as for ``trainlab run --data-dir``), how often a
#: checkpoint is written and whether diagnostics are recorded (neither changes a trained number)
_SAME = {("training", "seed"), ("training", "checkpoint_every"), ("training", "diagnostics"),
         ("data", "dataset"), ("data", "data_dir"), ("data", "split_seed"),
         ("model", "input_size"), ("model", "output_size")}


def _base(config: SearchConfig, searched: set) -> dict:
    """The resolved base run of ``config`` (every default filled in), keyed by (section, option),
    without the options a searched parameter of either space sets."""
    from ..data import DataSpec
    from .targets import apply_params

    model, training = apply_params(config, {})
    out = {("model", k): v for k, v in model.to_dict().items()}
    params = training.to_dict().pop("optimizer_params")
    out.update({("training", k): v for k, v in training.to_dict().items() if k != "optimizer_params"})
    out.update({("optim", k): v for k, v in params.items()})
    out.update({("data", k): v for k, v in DataSpec.from_dict(config.data).to_dict().items()})
    return {k: v for k, v in out.items() if k not in _SAME and k not in searched}


def _show(key: tuple, v) -> str:
    from ..options import format_hidden

    return format_hidden(v) if key[1] == "hidden_sizes" else fmt(v)


def differences(config: SearchConfig) -> list[str]:
    """How ``config`` differs from the book's search (:func:`book_config`), in words, e.g.
    ``["epochs 3 (book 50)", "trials 6 (book 100)"]``; empty for the book's configuration.

    Compared: every resolved model, training and data option (defaults filled in, so an option set
    to the book's value is no difference), the space (each parameter's range or choices), the number
    of trials and stages, the sampler and the pruner. Not compared: what :data:`_SAME` lists, and an
    option that a searched parameter sets (the search overrides it)."""
    from .targets import resolve_path

    book = book_config()
    out = []
    for what, mine, theirs in (("trials", config.total_trials, book.total_trials),
                               ("stages", config.stages, book.stages), ("sampler", config.sampler, book.sampler),
                               ("pruner", config.pruner, book.pruner)):
        if mine != theirs:
            out.append(f"{what} {mine} (book {theirs})")
    for name in list(book.space) + [n for n in config.space if n not in book.space]:
        mine, theirs = config.space.get(name), book.space.get(name)
        if mine is None:
            out.append(f"{name} not searched (book: {theirs.describe()})")
        elif theirs is None:
            out.append(f"{name} searched, {mine.describe()} (book: not searched)")
        elif mine.to_dict() != theirs.to_dict():
            out.append(f"{mine.describe()} (book: {theirs.describe()})")
    searched = set()
    for name in set(config.space) | set(book.space):
        section, key = resolve_path(name)
        searched.add(("model", "hidden_sizes") if section == "hidden" else (section, key))
    mine, theirs = _base(config, searched), _base(book, searched)
    for key in list(theirs) + [k for k in mine if k not in theirs]:
        if mine.get(key) != theirs.get(key):
            name = key[1].replace("_", " ")
            out.append(f"{name} {_show(key, mine.get(key))} (book {_show(key, theirs.get(key))})")
    return out


def ranked(trials: list[dict]) -> list[dict]:
    """The complete trials by final validation accuracy, best first (ties: lower number first)."""
    done = [t for t in trials if t["state"] == "COMPLETE" and t["value"] is not None and math.isfinite(t["value"])]
    return sorted(done, key=lambda t: (-t["value"], t["number"]))


def search_stats(trials: list[dict], k: int = 20, good_lr: float = GOOD_LR, seed: int | None = None) -> dict:
    """What the claims and the table read from one search: its Best-k, its best validation
    accuracy and, when lr is searched, the trials below and above ``good_lr`` and the top 5's lr."""
    rows = ranked(trials)
    out = {"seed": seed, "n_trials": len(trials), "n_complete": len(rows),
           "best": [{"rank": r + 1, "trial": t["number"], "val_acc": t["value"], "params": dict(t["params"])}
                    for r, t in enumerate(rows[:k])],
           "best_val_acc": rows[0]["value"] if rows else None}
    if rows and all("lr" in t["params"] for t in rows):
        low = [t["value"] for t in rows if t["params"]["lr"] < good_lr]
        high = [t["value"] for t in rows if t["params"]["lr"] >= good_lr]
        out["low_lr"] = {"count": len(low), "max": max(low, default=None), "min": min(low, default=None)}
        out["high_lr"] = {"count": len(high), "max": max(high, default=None), "min": min(high, default=None)}
        out["top5_min_lr"] = min(t["params"]["lr"] for t in rows[:5])
        out["top5_max_lr"] = max(t["params"]["lr"] for t in rows[:5])
    return out


def book_table(stats: dict, n_trials: int | None = None) -> dict:
    """Best-k of one search beside the book's and the JP run's Best-5: {title, columns, rows}."""
    best = stats["best"]
    names = list(best[0]["params"]) if best else []

    def theirs(rows, r):
        if r > len(rows):
            return ""
        v, lr, wd = rows[r - 1]
        return f"{v:.2f} ({lr:.3g}, {wd:.3g})"  # the book's numbers as it printed them

    rows = [[f"Best-{b['rank']}", fmt(b["val_acc"]), *(fmt(b["params"].get(n, "")) for n in names),
             theirs(BOOK["book_best"], b["rank"]), theirs(BOOK["jp_run_best"], b["rank"])] for b in best]
    seed = f" (seed {stats['seed']})" if stats.get("seed") is not None else ""
    n = n_trials if n_trials is not None else stats["n_trials"]
    return {"title": f"Best-{len(best)} of {n} trials{seed}, by final validation accuracy",
            "columns": ["rank", "val acc", *(n.replace("_", " ") for n in names),
                        "book: val (lr, wd)", "JP run: val (lr, wd)"],
            "rows": rows}


def claims(per_search: list[dict], good_lr: float = GOOD_LR, test: dict | None = None,
           differs: list[str] | None = None) -> list[Claim]:
    """The book's claims on one or more searches' :func:`search_stats` (each must hold in every
    search); with ``test`` (the best configuration retrained and tested once) a fourth claim.

    ``differs``: how the search is not the book's configuration (:func:`differences`); when it is
    not empty every claim is checked as usual but marked not applicable, naming the differences."""
    out = _claims(per_search, good_lr, test)
    if differs:
        reason = "not the book's configuration: " + "; ".join(differs)
        out = [dataclasses.replace(c, not_applicable=reason) for c in out]
    return out


def _claims(per_search: list[dict], good_lr: float, test: dict | None) -> list[Claim]:
    best = [p["best_val_acc"] for p in per_search]
    shown = ", ".join("none complete" if b is None else fmt(b) for b in best)
    out = [Claim("the search's best validation accuracy ≥ 0.75", all(b is not None and b >= 0.75 for b in best),
                 f"best final validation accuracy {shown} (book 0.83, JP run 0.84)", {"best_val_acc": best})]
    if per_search and all("low_lr" in p for p in per_search):
        trail = [(p["best_val_acc"] - p["low_lr"]["max"]) if p["low_lr"]["count"] else None for p in per_search]
        counts = [p["low_lr"]["count"] for p in per_search]
        out.append(Claim(
            f"every trial with lr < {good_lr:g} trails the best by ≥ 0.3",
            all(d is not None and d >= 0.3 for d in trail),
            "; ".join(f"{c} trials with lr < {good_lr:g}, the best of them {fmt(p['low_lr']['max'])}, "
                      f"{fmt(d)} below the best {fmt(p['best_val_acc'])}" if c else "no trial with small lr"
                      for p, c, d in zip(per_search, counts, trail))
            + " (JP run: 74 trials, 0.03–0.25 vs best 0.84)",
            {"trail": trail, "low_lr_count": counts}))
        top5_min = [p["top5_min_lr"] for p in per_search]
        out.append(Claim(
            f"the good range found is lr {good_lr:g}…1e-2 (the top 5 all have lr ≥ {good_lr:g})",
            min(top5_min) >= good_lr,
            "top-5 lr range " + "; ".join(f"{fmt(p['top5_min_lr'])}…{fmt(p['top5_max_lr'])}" for p in per_search)
            + " (book's Best-5: 0.0052…0.00956)",
            {"top5_min_lr": top5_min}))
    if test:
        gap = abs(test["test_acc"] - test["val_acc"])
        out.append(Claim("the best configuration's test accuracy is within 0.1 of its validation accuracy",
                         gap <= 0.1, f"test {fmt(test['test_acc'])} (once, {test['n_test']} samples) vs val "
                                     f"{fmt(test['val_acc'])}", {"gap": gap}))
    return out
