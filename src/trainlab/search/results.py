"""A search's results: the trials as tables, each trial as a run record of kind "trial", the summary,
with every number printed by :func:`.numbers.fmt` (three significant figures).

    RUN_DIR/trials.json       every trial: params, val/train accuracy per epoch, state, epochs trained,
                              pruned epoch, failure reason, stage (from 1), seed
    RUN_DIR/trials.csv        the same, one row per trial (curves as ';'-joined numbers)
    RUN_DIR/stages.json       each stage's ranges, its trials and top trials, and the narrowed ranges
    RUN_DIR/best.txt          the book's print: "Best-1(val acc:0.830) | lr:0.00920, weight decay:3.86e-07"
    RUN_DIR/trials/trial-NNNN/  run.json (kind "trial": params, state, stage, seed, resolved config),
                              history.json/.csv (per-epoch train_acc and val_acc), summary.json
"""

from __future__ import annotations

import csv
import io
import math

from ..history import History
from ..validate import ConfigError
from .book import ranked
from .numbers import fmt

__all__ = ["fmt", "format_params", "format_range", "best_k_lines", "trial_label", "trial_status", "trial_history",
           "write_tables", "write_trial", "summarize"]


def format_params(params: dict) -> str:
    """``lr:0.00920, weight decay:3.86e-07`` (the book's print, three significant figures)."""
    return ", ".join(f"{k.replace('_', ' ')}:{fmt(v)}" for k, v in params.items())


def format_range(values) -> str:
    """``[4.33e-05, 0.00776]`` for a range, ``sgd, adam`` for choices."""
    if len(values) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return f"[{fmt(values[0])}, {fmt(values[1])}]"
    return ", ".join(map(fmt, values))


def best_k_lines(trials: list[dict], k: int | None = None) -> list[str]:
    rows = ranked(trials)[:k] if k else ranked(trials)
    return [f"Best-{i}(val acc:{fmt(t['value'])}) | {format_params(t['params'])}" for i, t in enumerate(rows, 1)]


# -- one trial -----------------------------------------------------------------------------------------
def trial_label(number: int) -> str:
    return f"trial-{number:04d}"


def trial_status(row: dict) -> tuple[str, str]:
    """The run-record status of a trial and why: pruned trials completed early, a NaN loss diverged."""
    state = row["state"]
    if state == "COMPLETE":
        return "completed", ""
    if state == "PRUNED":
        return "completed", f"pruned at epoch {row['pruned_epoch']}"
    if state == "FAIL":
        reason = row.get("fail_reason") or "failed"
        if row.get("interrupted"):
            return "interrupted", reason
        return ("diverged" if reason.startswith("diverged") else "failed"), reason
    return "running", state.lower()


def trial_history(row: dict) -> dict:
    """The trial's curves as a History dict: one record per epoch with ``train_acc`` and ``val_acc``."""
    epochs = [{"epoch": e, "train_acc": tr, "val_acc": va}
              for e, (tr, va) in enumerate(zip(row["train_curve"], row["val_curve"]), start=1)]
    status, message = trial_status(row)
    return History(epochs=epochs, status=status, message=message).to_dict()


def _trial_config(config, row: dict, arrays) -> dict:
    from .objective import trial_specs

    try:
        spec, training = trial_specs(config, row["params"], row.get("train_seed"), arrays)
    except (ConfigError, TypeError, ValueError) as exc:  # the trial failed on it; say why
        return {"params": row["params"], "error": str(exc)}
    return {"model": spec.to_dict(), "training": training.to_dict(), "data": dict(config.data)}


def write_trial(record, row: dict, config, arrays=None) -> None:
    """``trials/trial-NNNN/``: the trial as a run record of kind "trial" (manifest, history, summary)."""
    label = trial_label(row["number"])
    status, message = trial_status(row)
    stage = None if row["stage"] is None else row["stage"] + 1
    child = record.child(f"trials/{label}", "trial", label, _trial_config(config, row, arrays),
                         title=f"{label} (stage {stage}): {format_params(row['params'])}",
                         params=row["params"], state=row["state"], stage=stage, index=row["index"],
                         seed=row.get("train_seed"), seeds=[row.get("train_seed")], value=row["value"])
    history = trial_history(row)
    child.write_history(history)
    val = row["val_curve"]
    finite = [v for v in val if isinstance(v, float) and math.isfinite(v)]
    child.write_json("summary.json", {
        "state": row["state"], "value": row["value"], "val_acc": val[-1] if val else None,
        "train_acc": row["train_curve"][-1] if row["train_curve"] else None,
        "best_val_acc": max(finite, default=None), "epochs_trained": row["epochs_trained"],
        "pruned_epoch": row["pruned_epoch"], "fail_reason": row["fail_reason"], "seconds": row["seconds"],
        "train_seed": row.get("train_seed")})
    child.finish(status, message, epochs_trained=row["epochs_trained"])


# -- the whole search ---------------------------------------------------------------------------------------
def write_tables(record, trials: list[dict], stages: list[dict]) -> None:
    """trials.json/.csv (stages numbered from 1, as printed), stages.json, best.txt."""
    public = [{**t, "stage": None if t["stage"] is None else t["stage"] + 1} for t in trials]
    record.write_json("trials.json", public)
    names = sorted({k for t in trials for k in t["params"]})
    cols = ["number", "stage", "index", "state", "value", *names, "epochs_trained", "pruned_epoch",
            "fail_reason", "train_seed", "seconds", "val_curve", "train_curve"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for t in public:
        row = {**t, **t["params"]}
        row["val_curve"] = ";".join(f"{v:.4f}" for v in t["val_curve"])
        row["train_curve"] = ";".join(f"{v:.4f}" for v in t["train_curve"])
        w.writerow(["" if row.get(c) is None else row.get(c) for c in cols])
    record.write_text("trials.csv", buf.getvalue())
    record.write_json("stages.json", stages)
    record.write_text("best.txt", "\n".join(best_k_lines(trials)) + "\n")


def summarize(config, trials: list[dict], stages: list[dict], test: dict | None, extra: dict) -> dict:
    """summary.json: counts, the best trial, Best-20, good ranges, epochs trained, stages, test."""
    rows = ranked(trials)
    states = {s: sum(t["state"] == s for t in trials if not t["interrupted"]) for s in ("COMPLETE", "PRUNED", "FAIL")}
    epochs_trained = sum(t["epochs_trained"] or 0 for t in trials)
    full = config.total_trials * config.epochs
    top = rows[: max(1, math.ceil(config.top_fraction * len(rows)))] if rows else []
    good = {}
    for name, p in config.space.items():
        vals = [t["params"][name] for t in top if name in t["params"]]
        if vals:
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
