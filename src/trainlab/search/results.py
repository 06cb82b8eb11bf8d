"""What a search writes into its run directory, in the book's form and as an experiment.

    RUN_DIR/
      search.json      the resolved search configuration (base options, space, sampler, …)
      study.journal    Optuna's journal (the study; --resume continues from it)
      trials.json      every trial: params, val/train accuracy per epoch, state, epochs trained,
                       pruned epoch, failure reason, stage
      trials.csv       the same, one row per trial (curves as ';'-joined numbers)
      stages.json      each stage's ranges, its trials and top trials, and the narrowed ranges
      best.txt         the Best-k table: "Best-1(val acc:0.83) | lr:0.0092, weight decay:3.86e-07"
      test.json        the best configuration retrained (same seed and split), evaluated ONCE on test
      config.json, summary.json, claims.json, result.json, figures/*.png|svg   (experiment layout,
                       see trainlab.experiments.base; the report reads these)
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from ..checkpoint import atomic_write_text
from ..experiments.base import Claim

__all__ = ["format_params", "best_k_lines", "write_trials", "write_experiment", "summarize", "make_claims"]

BOOK = {
    "section": "§6.5 (hyperparameter_optimization.py)",
    "best": [
        {"val_acc": 0.83, "lr": 0.0092, "weight_decay": 3.86e-07},
        {"val_acc": 0.78, "lr": 0.00956, "weight_decay": 6.04e-07},
        {"val_acc": 0.77, "lr": 0.00571, "weight_decay": 1.27e-06},
        {"val_acc": 0.74, "lr": 0.00626, "weight_decay": 1.43e-05},
        {"val_acc": 0.73, "lr": 0.0052, "weight_decay": 8.97e-06},
    ],
    "good_ranges": {"lr": [1e-3, 1e-2], "weight_decay": [1e-8, 1e-6]},
    "jp_notebook": "Best-1 0.84 (lr 0.0094, wd 2.8e-6); all 74 trials with lr < 1e-3 ended at val 0.03-0.25",
}


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def format_params(params: dict) -> str:
    """``lr:0.0092, weight decay:3.86e-07`` (the book's print)."""
    return ", ".join(f"{k.replace('_', ' ')}:{_fmt(v)}" for k, v in params.items())


def ranked(trials: list[dict]) -> list[dict]:
    done = [t for t in trials if t["state"] == "COMPLETE" and t["value"] is not None]
    return sorted(done, key=lambda t: (-t["value"], t["number"]))


def best_k_lines(trials: list[dict], k: int | None = None) -> list[str]:
    rows = ranked(trials)[:k] if k else ranked(trials)
    return [f"Best-{i}(val acc:{t['value']:.2f}) | {format_params(t['params'])}" for i, t in enumerate(rows, 1)]


def write_trials(run_dir: Path, trials: list[dict], stages: list[dict]) -> None:
    """trials.json/.csv (stages numbered from 1, as printed), stages.json, best.txt."""
    public = [{**t, "stage": None if t["stage"] is None else t["stage"] + 1} for t in trials]
    atomic_write_text(run_dir / "trials.json", json.dumps(public, indent=1))
    names = sorted({k for t in trials for k in t["params"]})
    cols = ["number", "stage", "index", "state", "value", *names, "epochs_trained", "pruned_epoch",
            "fail_reason", "train_seed", "seconds", "val_curve", "train_curve"]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(cols)
    for t in public:
        row = {**t, **t["params"]}
        row["val_curve"] = ";".join(f"{v:.4f}" for v in t["val_curve"])
        row["train_curve"] = ";".join(f"{v:.4f}" for v in t["train_curve"])
        w.writerow(["" if row.get(c) is None else row.get(c) for c in cols])
    atomic_write_text(run_dir / "trials.csv", buf.getvalue())
    atomic_write_text(run_dir / "stages.json", json.dumps(stages, indent=1))
    atomic_write_text(run_dir / "best.txt", "\n".join(best_k_lines(trials)) + "\n")


def summarize(config, trials: list[dict], stages: list[dict], test: dict | None, extra: dict) -> dict:
    rows = ranked(trials)
    states = {s: sum(t["state"] == s for t in trials if not t["interrupted"])
              for s in ("COMPLETE", "PRUNED", "FAIL")}
    epochs_trained = sum(t["epochs_trained"] or 0 for t in trials)
    full = config.total_trials * int(config.training.get("epochs", 20))
    top = rows[: max(1, math.ceil(config.top_fraction * len(rows)))] if rows else []
    good = {}
    for name, p in config.space.items():
        vals = [t["params"][name] for t in top if name in t["params"]]
        if not vals:
            continue
        good[name] = sorted(set(vals), key=vals.index) if p.type == "choice" else [min(vals), max(vals)]
    return {
        "n_trials": len([t for t in trials if not t["interrupted"]]),
        "states": states,
        "interrupted_trials": [t["number"] for t in trials if t["interrupted"]],
        "best": ({"number": rows[0]["number"], "val_acc": rows[0]["value"], "params": rows[0]["params"],
                  "stage": rows[0]["stage"] + 1, "train_seed": rows[0].get("train_seed")} if rows else None),
        "best_k": best_k_lines(trials, 20),
        "good_ranges": good,
        "good_ranges_from": f"the top {len(top)} trials by validation accuracy",
        "epochs_trained": epochs_trained,
        "epochs_full_search": full,
        "epoch_fraction": epochs_trained / full if full else None,
        "stages": stages,
        "test": test,
        **extra,
    }


def make_claims(config, trials: list[dict], summary: dict) -> list[Claim]:
    rows = ranked(trials)
    claims = []
    best = rows[0]["value"] if rows else float("nan")
    claims.append(Claim("best validation accuracy >= 0.75",
                        bool(rows) and best >= 0.75,
                        f"best val acc {best:.3f} (book: Best-1 0.83, JP notebook 0.84)",
                        {"best_val_acc": best, "threshold": 0.75}))
    if "lr" in config.space and rows:
        low = [t for t in rows if t["params"].get("lr", 1.0) < 1e-3]
        worst_gap = min((best - t["value"] for t in low), default=None)
        claims.append(Claim("every trial with lr < 1e-3 trails the best by >= 0.3",
                            worst_gap is not None and worst_gap >= 0.3,
                            (f"{len(low)} complete trial(s) with lr < 1e-3; the closest is {worst_gap:.3f} behind the best"
                             if worst_gap is not None else "no complete trial with lr < 1e-3"),
                            {"n_low_lr": len(low), "smallest_gap": worst_gap}))
        top5 = rows[:5]
        inside = [t for t in top5 if 1e-3 <= t["params"]["lr"] <= 1e-2]
        claims.append(Claim("the top-5 trials have lr in the book's good range 0.001-0.01",
                            len(inside) == len(top5),
                            f"{len(inside)} of the top {len(top5)} have lr in [1e-3, 1e-2]",
                            {"lr_top5": [t["params"]["lr"] for t in top5]}))
    test = summary.get("test")
    if test:
        gap = abs(test["test_acc"] - test["val_acc"])
        claims.append(Claim("the best configuration's test accuracy is within 0.1 of its validation accuracy",
                            gap <= 0.1, f"test {test['test_acc']:.3f} (once, {test['n_test']} samples) vs val "
                                        f"{test['val_acc']:.3f}", {"gap": gap}))
    return claims


def write_experiment(run_dir: Path, config, summary: dict, claims: list[Claim], figures: dict,
                     elapsed: float, status: str) -> None:
    """config.json, summary.json, claims.json, figures/, result.json (the experiment layout)."""
    from .. import __version__

    fig_dir = run_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    import matplotlib.pyplot as plt

    for name, fig in figures.items():
        for ext in ("png", "svg"):
            fig.savefig(fig_dir / f"{name}.{ext}", dpi=110 if ext == "png" else None)
        plt.close(fig)
    cfg = {"experiment": "search", "version": __version__, "seeds": [config.seed], **config.to_dict()}
    atomic_write_text(run_dir / "config.json", json.dumps(cfg, indent=1))
    atomic_write_text(run_dir / "summary.json", json.dumps(summary, indent=1))
    atomic_write_text(run_dir / "claims.json", json.dumps([c.to_dict() for c in claims], indent=1))
    result = {"name": "search", "title": "Hyperparameter search (book §6.5) on Optuna",
              "book_section": "§6.5.3, Fig 6-24", "status": status, "elapsed_s": round(elapsed, 2),
              "book": BOOK,
              "n_claims": len(claims), "n_passed": sum(bool(c.passed) for c in claims)}
    atomic_write_text(run_dir / "result.json", json.dumps(result, indent=1))
