"""What a training run records: per-iteration loss and per-epoch metrics for each split."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["History", "STATUSES", "histories_to_csv", "nonfinite_curves"]

STATUSES = ("running", "completed", "diverged", "interrupted")


@dataclass
class History:
    """``iter_loss[i]``: training-mode mini-batch loss of update i (before that update, incl. decay).

    ``epochs[e]``: a dict ``{"epoch": e, "train_loss", "train_acc", "val_loss", "val_acc",
    "test_loss", "test_acc", "iteration", "lr"}`` evaluated after ``e`` whole epochs (epoch 0 = before
    training). Keys of splits that are absent are left out. ``lr`` is the learning rate of the
    epoch's last update (epoch 0: the one the first update will use); with gradient clipping,
    ``grad_norm_mean``/``grad_norm_max`` are the epoch's pre-clip global gradient norms. ``wall_time``
    holds seconds since the start of training at each epoch record; it is the only field that differs
    between reruns.

    ``stopped_epoch``: the epoch after which training was stopped before ``epochs`` (early stopping
    or a callback's ``trainer.stop``; ``message`` says why), else None. ``restored_epoch``: the epoch
    whose weights the model was given back at the end (early stopping with restore), else None.

    ``diagnostics``: None, or (a run with ``TrainConfig.diagnostics``, :mod:`trainlab.diagnostics`)
    what the per-layer keys of the epoch records mean (``act_std.h1``, ``grad_norm.W2``, …), the
    layers' names and the activation histograms of the chosen epochs.
    """

    iter_loss: list[float] = field(default_factory=list)
    epochs: list[dict] = field(default_factory=list)
    wall_time: list[float] = field(default_factory=list)
    status: str = "running"
    message: str = ""
    stopped_epoch: int | None = None
    restored_epoch: int | None = None
    diagnostics: dict | None = None

    def metric(self, key: str) -> list[float]:
        """One per-epoch series, e.g. ``history.metric("test_acc")``."""
        return [record.get(key, math.nan) for record in self.epochs]

    @property
    def last(self) -> dict:
        return self.epochs[-1] if self.epochs else {}

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        """From :meth:`to_dict`, or from strict JSON, where a NaN/inf number was written as null."""
        known = {"iter_loss", "epochs", "wall_time", "status", "message", "stopped_epoch", "restored_epoch",
                 "diagnostics"}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown history field(s) {sorted(unknown)}; accepted: {sorted(known)}")
        d = dict(d)
        for key in ("iter_loss", "wall_time"):
            if key in d:
                d[key] = [math.nan if v is None else v for v in d[key]]
        if "epochs" in d:
            d["epochs"] = [{k: (math.nan if v is None else v) for k, v in r.items()} for r in d["epochs"]]
        return cls(**d)

    def to_csv(self, path=None) -> str:
        """One row per epoch record: epoch, iteration, wall_time, then each split's loss and accuracy."""
        keys = ["epoch", "iteration", "wall_time"]
        for record in self.epochs:
            keys += [k for k in record if k not in keys]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
        writer.writeheader()
        for i, record in enumerate(self.epochs):
            row = dict(record)
            row["wall_time"] = self.wall_time[i] if i < len(self.wall_time) else ""
            writer.writerow({k: repr(v) if isinstance(v, float) else v for k, v in row.items()})
        text = buf.getvalue()
        if path is not None:
            Path(path).write_text(text)
        return text

    def to_json(self, path=None) -> str:
        """Strict JSON (a NaN/inf loss is written as null; :meth:`from_dict` reads it back as NaN)."""
        from .files import strict_json

        text = json.dumps(strict_json(self.to_dict())[0], allow_nan=False)
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_json(cls, text_or_path) -> "History":
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            text = Path(text_or_path).read_text()
        return cls.from_dict(json.loads(text))

    def plot(self, title: str = ""):
        """The run's curves as a matplotlib Figure: loss per split (and the smoothed mini-batch loss)
        and accuracy per split, against the epoch (:func:`trainlab.plots.run_figure`)."""
        from .plots import run_figure

        return run_figure(self.to_dict(), title)

    def _repr_html_(self) -> str:
        """Jupyter's view: status, epochs, the last and best metrics per split, a sparkline."""
        from .notebook import history_html

        return history_html(self.to_dict())

    def without_times(self) -> dict:
        """Everything except wall-clock times: equal for two runs with the same seed."""
        d = self.to_dict()
        d.pop("wall_time")
        return d


def histories_to_csv(histories: dict) -> str:
    """Several histories (``{label: History or its dict}``) as one table: a ``curve`` column, then
    the columns of :meth:`History.to_csv`, one row per (curve, epoch record). A curve with no epoch
    records (one that only has the loss of every update) gives one row per update instead, with its
    ``iteration`` and ``iter_loss``."""
    keys = ["curve", "epoch", "iteration", "wall_time"]
    rows = []
    for label, h in histories.items():
        h = h if isinstance(h, History) else History.from_dict(h)
        if not h.epochs:
            rows += [{"curve": label, "iteration": i + 1, "iter_loss": v} for i, v in enumerate(h.iter_loss)]
            if h.iter_loss and "iter_loss" not in keys:
                keys.append("iter_loss")
        for i, record in enumerate(h.epochs):
            keys += [k for k in record if k not in keys]
            rows.append({"curve": label, **record, "wall_time": h.wall_time[i] if i < len(h.wall_time) else ""})
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: repr(v) if isinstance(v, float) else v for k, v in row.items()})
    return buf.getvalue()


def _finite(v) -> bool:
    return not isinstance(v, float) or math.isfinite(v)


def nonfinite_curves(histories: dict) -> list[str]:
    """The labels of ``{label: History or dict}`` whose losses or metrics hold NaN/inf (or null,
    as strict JSON writes them): the runs that diverged."""
    bad = []
    for label, h in histories.items():
        d = h.to_dict() if isinstance(h, History) else h
        values = list(d.get("iter_loss") or [])
        for r in d.get("epochs") or []:
            values += [v for k, v in r.items() if k not in ("epoch", "iteration")]
        if any(v is None or not _finite(v) for v in values):
            bad.append(label)
    return bad
