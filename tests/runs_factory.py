"""Fabricated run records of every kind for the report and compare tests (no training).

Each run is written with :class:`trainlab.record.RunRecord` itself — create, write_json /
write_history / write_figures / write_claims, finish — so the tests read exactly the layout the
commands write. The curves are made up but shaped like training: the accuracy rises towards
``top`` and the loss falls, with a little seeded noise.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from trainlab.plots import overlay_figure, run_figure
from trainlab.record import RunRecord

SPLITS = ("train", "val", "test")


def history(epochs: int = 4, top: float = 0.9, seed: int = 0, per_epoch: int = 5, splits=SPLITS,
            diverge_at: int | None = None) -> dict:
    """A History dict: ``per_epoch`` mini-batch losses per epoch and one record per epoch (0..epochs)."""
    rng = np.random.default_rng(seed)
    iter_loss = [float(2.3 * math.exp(-i * top / (2 * per_epoch)) + 0.05 * rng.random()) for i in range(epochs * per_epoch)]
    records = []
    for e in range(epochs + 1):
        r = {"epoch": e, "iteration": e * per_epoch}
        for k, split in enumerate(splits):
            acc = top * (1 - math.exp(-(e + 0.3) / 1.5)) - 0.01 * k + 0.005 * rng.random()
            r[f"{split}_acc"] = round(acc, 4)
            r[f"{split}_loss"] = round(2.3 * (1 - acc) + 0.02 * k, 4)
        if diverge_at is not None and e >= diverge_at:
            r = {**r, **{f"{s}_loss": math.nan for s in splits}}
        records.append(r)
    return {"iter_loss": iter_loss, "epochs": records, "wall_time": [0.1 * e for e in range(epochs + 1)],
            "status": "completed", "message": ""}


def train_run(root: Path, name: str, *, lr: float = 0.01, top: float = 0.9, seed: int = 0, status="completed",
              message: str = "", reduced: bool = False, dataset: str = "mnist", hidden=(100, 100),
              epochs: int = 4, title: str | None = None, **fields) -> Path:
    """A ``trainlab train`` run: history, summary.json with the final metrics, the curves figure."""
    h = history(epochs, top, seed)
    config = {"model": {"hidden": list(hidden), "activation": "relu"},
              "training": {"optimizer": "adam", "lr": lr, "epochs": epochs, "seed": seed},
              "data": {"dataset": dataset, "train_size": None}}
    rec = RunRecord.create(root / name, "train", name, config, title=title or f"adam on {dataset}", reduced=reduced,
                           data={"dataset": dataset, "name": dataset, "n_train": 100}, seeds=[seed], **fields)
    rec.write_history(h)
    last = h["epochs"][-1]
    best = max(h["epochs"], key=lambda r: r["val_acc"])
    rec.write_json("summary.json", {
        "status": status, "message": message, "epochs_completed": epochs, "iterations": len(h["iter_loss"]),
        "wall_time_s": 1.0, "final": last, **{k: v for k, v in last.items() if k not in ("epoch", "iteration")},
        "best_val_acc": best["val_acc"], "best_val_epoch": best["epoch"]})
    rec.write_figures({"curves": run_figure(h, title or name)})
    rec.finish(status, message, epochs_completed=epochs)
    return rec.path


def experiment_run(root: Path, name: str, *, variants=("sgd", "adam"), seeds: int = 2, config: dict | None = None,
                   claims: list[dict] | None = None, book: dict | None = None, tables: list[dict] | None = None,
                   reduced: bool = False, status: str = "completed", message: str = "", title: str | None = None,
                   dataset: str = "mnist", figures=("loss",), **fields) -> Path:
    """An experiment run: seeds/seed-K.json with a curve per variant, summary tables, claims, figures."""
    config = config if config is not None else {"iterations": 20, "lr": 0.01, "data_dir": None}
    rec = RunRecord.create(root / name, "experiment", name, config, title=title or name.replace("-", " ").title(),
                           book_section="§6.1", book=book or {}, reduced=reduced, seeds=list(range(seeds)),
                           data={"dataset": dataset, "name": dataset, "data_dir": None}, **fields)
    curves = []
    for s in range(seeds):
        hs = {v: history(4, 0.6 + 0.1 * i, seed=10 * s + i, splits=("train", "test")) for i, v in enumerate(variants)}
        rec.write_json(f"seeds/seed-{s}.json", {"histories": hs, "test_acc": {v: h["epochs"][-1]["test_acc"]
                                                                           for v, h in hs.items()}})
        curves += [(f"{v}/seed-{s}", h) for v, h in hs.items()]
    rec.write_json("summary.json", {"tables": tables or [], "seeds": seeds})
    rec.write_claims(claims or [])
    rec.write_figures({f: overlay_figure(curves, "train_acc" if "acc" in f else "iter_loss", f"{name}: {f}")
                       for f in figures})
    rec.finish(status, message, seed_elapsed_s=[1.5] * seeds, wall_s=2.0)
    return rec.path


def search_run(root: Path, name: str = "search", *, trials=(("trial-0000", 0.01, "complete"),
                                                             ("trial-0001", 0.0001, "pruned"),
                                                             ("trial-0002", 0.005, "complete")),
               claims: list[dict] | None = None, reduced: bool = False, status: str = "completed") -> Path:
    """A search: one trial record per ``(name, lr, state)`` with its history, a Best-k table, claims, a figure."""
    config = {"space": {"lr": "log:1e-6:1e-1"}, "trials": len(trials), "training": {"epochs": 3}}
    rec = RunRecord.create(root / name, "search", name, config, title="Hyperparameter search (§6.5)",
                           reduced=reduced, data={"dataset": "mnist", "name": "mnist"}, seeds=[0])
    curves, rows = [], []
    for i, (trial, lr, state) in enumerate(trials):
        h = history(3 if state == "complete" else 1, 0.95 if lr >= 1e-3 else 0.2, seed=100 + i, splits=("train", "val"))
        child = rec.child(f"trials/{trial}", "trial", trial, {"lr": lr, "training": {"epochs": 3}}, state=state,
                          data={"dataset": "mnist", "name": "mnist"})
        child.write_history(h)
        child.write_json("summary.json", {"val_acc": h["epochs"][-1]["val_acc"], "state": state})
        child.finish("completed" if state != "failed" else "failed")
        curves.append((trial, h))
        if state == "complete":
            rows.append([h["epochs"][-1]["val_acc"], trial, lr])
    rows.sort(key=lambda r: -r[0])
    table = {"title": "Best-k", "columns": ["val acc", "trial", "lr"], "rows": rows}
    best = {"val_acc": rows[0][0], "params": {"lr": rows[0][2]}} if rows else None
    rec.write_json("summary.json", {"tables": [table], "n_trials": len(trials), "best": best})
    rec.write_claims(claims if claims is not None else [
        {"name": "best validation accuracy >= 0.75", "passed": True, "detail": f"best {rows[0][0]:.3f}",
         "values": {"best_val_acc": rows[0][0]}}])
    rec.write_figures({"val_accuracy": overlay_figure(curves, "val_acc", "validation accuracy per trial")})
    rec.finish(status)
    return rec.path
