"""Callbacks for :class:`trainlab.trainer.Trainer`: progress bar and per-epoch log lines.

Verbosity: 0 = silent; 1 = a tqdm bar on a terminal (nothing off a terminal); 2 = the bar plus
one line per epoch (printed on and off a terminal).
"""

from __future__ import annotations

import sys

from tqdm.auto import tqdm

__all__ = ["ProgressBar", "EpochLogger", "progress_callbacks", "format_record"]


def format_record(record: dict) -> str:
    parts = [f"epoch {record['epoch']}"]
    for split in ("train", "val", "test"):
        if f"{split}_acc" in record:
            parts.append(f"{split} loss {record[f'{split}_loss']:.4f} acc {record[f'{split}_acc']:.4f}")
    return " | ".join(parts)


class ProgressBar:
    """A tqdm bar over all updates with the epoch, the loss and the validation (else train) accuracy.

    ``disable=None`` (default): shown on a terminal only, so nothing is written off a terminal.
    """

    def __init__(self, file=None, disable=None):
        self.file = file if file is not None else sys.stderr
        self.disable = disable  # None: tqdm shows it only on a terminal
        self.bar = None

    def on_train_begin(self, trainer):
        total = trainer.config.epochs * trainer.iters_per_epoch
        self.bar = tqdm(total=total, initial=trainer.epoch * trainer.iters_per_epoch, unit="step",
                        file=self.file, disable=self.disable, dynamic_ncols=True, leave=True)
        self.acc = None
        last = trainer.history.last
        if last:  # resumed: show where it stands
            self.acc = last.get("val_acc", last.get("train_acc"))

    def _show(self, trainer, epoch, loss, refresh=True):
        shown = {"epoch": f"{epoch}/{trainer.config.epochs}", "loss": f"{loss:.4f}"}
        if self.acc is not None:
            shown["acc"] = f"{self.acc:.4f}"
        self.bar.set_postfix(shown, refresh=refresh)

    def on_step_end(self, trainer, loss):
        self.bar.update(1)
        if self.bar.n % 20 == 0:
            self._show(trainer, trainer.epoch + 1, loss, refresh=False)

    def on_epoch_end(self, trainer, record):
        if self.bar is None:
            return
        self.acc = record.get("val_acc", record.get("train_acc"))
        self._show(trainer, record["epoch"], record["train_loss"])

    def on_train_end(self, trainer):
        if self.bar is not None:
            self.bar.close()


class EpochLogger:
    """One line per epoch record."""

    def __init__(self, file=None):
        self.file = file if file is not None else sys.stderr

    def on_epoch_end(self, trainer, record):
        line = format_record(record)
        bar = next((cb.bar for cb in trainer.callbacks if isinstance(cb, ProgressBar) and cb.bar), None)
        if bar is not None and not bar.disable:
            bar.write(line, file=self.file)
        else:
            print(line, file=self.file, flush=True)


def progress_callbacks(verbosity: int = 1) -> list:
    """The callbacks for a verbosity level (0, 1 or 2)."""
    if verbosity not in (0, 1, 2):
        raise ValueError(f"verbosity must be 0, 1 or 2, got {verbosity!r}")
    if verbosity == 0:
        return []
    return [ProgressBar()] + ([EpochLogger()] if verbosity >= 2 else [])
