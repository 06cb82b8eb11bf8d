"""What a training run records: per-iteration loss and per-epoch metrics for each split."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["History", "STATUSES"]

STATUSES = ("running", "completed", "diverged", "interrupted")


@dataclass
class History:
    """``iter_loss[i]``: training-mode mini-batch loss of update i (before that update, incl. decay).

    ``epochs[e]``: a dict ``{"epoch": e, "train_loss", "train_acc", "val_loss", "val_acc",
    "test_loss", "test_acc", "iteration"}`` evaluated after ``e`` whole epochs (epoch 0 = before
    training). Keys of splits that are absent are left out. ``wall_time`` holds seconds since the
    start of training at each epoch record; it is the only field that differs between reruns.
    """

    iter_loss: list[float] = field(default_factory=list)
    epochs: list[dict] = field(default_factory=list)
    wall_time: list[float] = field(default_factory=list)
    status: str = "running"
    message: str = ""

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
        known = {"iter_loss", "epochs", "wall_time", "status", "message"}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown history field(s) {sorted(unknown)}; accepted: {sorted(known)}")
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
        text = json.dumps(self.to_dict(), allow_nan=True)
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_json(cls, text_or_path) -> "History":
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            text = Path(text_or_path).read_text()
        return cls.from_dict(json.loads(text))

    def without_times(self) -> dict:
        """Everything except wall-clock times: equal for two runs with the same seed."""
        d = self.to_dict()
        d.pop("wall_time")
        return d
