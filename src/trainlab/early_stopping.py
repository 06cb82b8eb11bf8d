"""Early stopping on a per-epoch metric, with the best epoch's weights kept for restoring.

After every trained epoch e (epoch 0, before training, is not a candidate) the monitored value a is
compared with the best so far b (b starts at +∞ for 'min', −∞ for 'max'):

    improvement  ⇔  a < b − min_delta  ('min', e.g. val_loss)   or   a > b + min_delta  ('max', val_acc)

An improvement makes e the best epoch and resets the count of epochs without one; otherwise the
count grows, and when it reaches ``patience`` training stops after epoch e. A NaN is never an
improvement. With ``restore``, the parameters and batch-norm statistics of the best epoch are kept
(a copy, taken when it improves) and put back into the model when training completes — whether it
stopped early or ran every epoch (not after a divergence or an interruption).

The state (best value and epoch, the count, the stop epoch, the kept weights) goes into the
checkpoint, so a resumed run stops where an uninterrupted one does.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["EarlyStopping"]


class EarlyStopping:
    def __init__(self, monitor: str, patience: int, min_delta: float = 0.0, mode: str = "min",
                 restore: bool = False):
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        if patience < 1 or not min_delta >= 0:
            raise ValueError(f"EarlyStopping: patience >= 1 and min_delta >= 0, got {patience!r}, {min_delta!r}")
        self.monitor, self.patience, self.min_delta = monitor, int(patience), float(min_delta)
        self.mode, self.restore = mode, bool(restore)
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None
        self.best_weights: dict[str, np.ndarray] | None = None

    def improves(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def update(self, epoch: int, value: float, weights=None) -> bool:
        """Take epoch ``epoch``'s value; ``weights()`` returns a copy of the model's state (called on an
        improvement, when restoring). True when training should stop after this epoch."""
        if self.improves(value):
            self.best, self.best_epoch, self.wait = float(value), int(epoch), 0
            if self.restore and weights is not None:
                self.best_weights = weights()
            return False
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = int(epoch)
            return True
        return False

    def message(self) -> str:
        """Why training stopped, in words."""
        change = f"by more than {self.min_delta:g} " if self.min_delta else ""
        direction = "fall" if self.mode == "min" else "rise"
        text = (f"early stopping: {self.monitor} did not {direction} {change}for {self.patience} epoch"
                f"{'' if self.patience == 1 else 's'}; stopped after epoch {self.stopped_epoch} "
                f"(best {self.monitor} {self.best:.6g} at epoch {self.best_epoch})")
        return text

    def state_dict(self) -> tuple[dict, dict[str, np.ndarray]]:
        """``(JSON-able state, {name: array} of the kept weights)``."""
        meta = {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "stopped_epoch": self.stopped_epoch}
        return meta, dict(self.best_weights or {})

    def load_state_dict(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        self.best = float(meta["best"])
        self.best_epoch = None if meta["best_epoch"] is None else int(meta["best_epoch"])
        self.wait = int(meta["wait"])
        self.stopped_epoch = None if meta["stopped_epoch"] is None else int(meta["stopped_epoch"])
        self.best_weights = {k: np.array(v) for k, v in arrays.items()} if arrays else None
