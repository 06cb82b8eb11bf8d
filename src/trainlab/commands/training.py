"""One ``trainlab train`` run from resolved options to its run record: checks that need the data
(shapes, memory), the trainer with its callbacks, and the outputs at the end however it ends."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

from ..checkpoint import CHECKPOINT_NAME
from ..cli import UsageError
from ..options import flags, usage_message
from ..validate import ConfigError

__all__ = ["TrainRun", "available_memory", "summary_metrics", "run_figures"]


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux MemAvailable), None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def summary_metrics(trainer) -> dict:
    """Final and best metrics of a run (summary.json). ``final`` is the last evaluation;
    ``stopped_epoch`` the epoch after which training stopped early (else null); ``restored_epoch`` the
    epoch whose weights the model ended with (early stopping with restore, else null), and then
    ``restored`` is that epoch's record."""
    history = trainer.history
    last = history.last
    out = {
        "status": history.status,
        "message": history.message,
        "epochs_completed": max(len(history.epochs) - 1, 0),
        "iterations": len(history.iter_loss),
        "wall_time_s": round(trainer.elapsed(), 3),
        "final": dict(last),
        "stopped_epoch": history.stopped_epoch,
        "restored_epoch": history.restored_epoch,
    }
    if history.restored_epoch is not None:
        out["restored"] = next(dict(r) for r in history.epochs if r["epoch"] == history.restored_epoch)
    for key in ("train_acc", "val_acc", "test_acc", "train_loss", "val_loss", "test_loss"):
        if key in last:
            out[key] = last[key]
    vals = [r for r in history.epochs if isinstance(r.get("val_acc"), float) and math.isfinite(r["val_acc"])]
    if vals:
        best = max(vals, key=lambda r: r["val_acc"])
        out["best_val_acc"] = best["val_acc"]
        out["best_val_epoch"] = best["epoch"]
    return out


def run_figures(history: dict, title: str) -> dict:
    """A train run's figures: its curves and, with diagnostics, their heat maps and histograms."""
    from ..diagnostics_plots import diagnostics_figure, histogram_figure
    from ..plots import run_figure

    figures = {"curves": run_figure(history, title),
               "diagnostics": diagnostics_figure(history, title),
               "activation_histograms": histogram_figure(history, title)}
    return {name: fig for name, fig in figures.items() if fig is not None}


class _HistoryWriter:
    """Rewrites history.json/.csv after every epoch, so a running or killed run can be inspected."""

    def __init__(self, record):
        self.record = record

    def on_epoch_end(self, trainer, record):
        self.record.write_history(trainer.history)


class TrainRun:
    def __init__(self, out: Path, spec, config, data_spec, arrays, quiet: bool = False, verbose: int = 0):
        self.out, self.spec, self.config, self.data_spec, self.arrays = out, spec, config, data_spec, arrays
        self.quiet, self.verbose = quiet, verbose
        self.trainer = None

    def prepare(self) -> None:
        """Memory and shape checks, then the trainer; a usage error before anything is written."""
        from ..model import ModelSpec
        from ..trainer import Data, Trainer, TrainConfig

        need = self.spec.memory_bytes(self.config.batch_size)
        have = available_memory()
        if have is not None and need > have:
            raise UsageError(f"--hidden: a {'-'.join(map(str, self.spec.sizes))} network needs about {_gib(need)} "
                             f"to train ({self.spec.n_params:,} parameters), more than the {_gib(have)} available; "
                             f"choose smaller layers")
        a = self.arrays
        data = Data(a.x_train, a.t_train, a.x_val if len(a.x_val) else None, a.t_val if len(a.t_val) else None,
                    a.x_test, a.t_test)
        try:
            self.trainer = Trainer(self.spec, data, self.config, out_dir=self.out)
        except ConfigError as exc:
            raise UsageError(usage_message(exc, {**flags(ModelSpec), **flags(TrainConfig)})) from None

    def open_record(self, resume: bool, overwrite: bool):
        from ..record import RunError, RunRecord

        title = (f"{self.config.optimizer} ({self.config.convention}) on {self.data_spec.name}, "
                 f"{'-'.join(map(str, self.spec.sizes))}")
        config = {"model": self.spec.to_dict(), "training": self.config.to_dict(), "data": self.data_spec.to_dict()}
        try:
            record = RunRecord.create(self.out, "train", self.out.name, config, overwrite=overwrite, resume=resume,
                                      title=title, data=self.data_spec.describe(self.arrays), seeds=[self.config.seed])
        except RunError as exc:
            msg = str(exc)
            if "already holds" in msg and not resume:
                msg += "; or add --resume to continue it"
            raise UsageError(f"--out: {msg}") from None
        ckpt = self.out / CHECKPOINT_NAME
        if resume and ckpt.exists():
            try:
                self.trainer.restore(ckpt)
            except ValueError as exc:
                record.close()
                raise UsageError(f"--resume: {exc}") from None
            self.resumed_from = self.trainer.epoch
        else:
            self.resumed_from = None
            if resume:
                print(f"trainlab train: no checkpoint in {self.out} yet; starting from the beginning", file=sys.stderr)
        return record

    def _outputs(self, record) -> dict:
        t = self.trainer
        record.write_history(t.history)
        metrics = summary_metrics(t)
        record.write_json("summary.json", metrics)
        record.write_figures(run_figures(t.history.to_dict(), record.manifest.get("title", "")))
        status = {"completed": "completed", "diverged": "diverged"}.get(t.history.status, "interrupted")
        record.finish(status, t.history.message, epochs_completed=metrics["epochs_completed"])
        return metrics

    def train(self, record) -> int:
        from ..callbacks import progress_callbacks

        t = self.trainer
        verbosity = 0 if self.quiet else min(1 + self.verbose, 2)
        t.callbacks = progress_callbacks(verbosity) + [_HistoryWriter(record)]
        if self.verbose >= 2:
            a = self.arrays
            print(f"data: {len(a.x_train)} train, {len(a.x_val)} validation, {len(a.x_test)} test samples; "
                  f"model {'-'.join(map(str, self.spec.sizes))}; {t.iters_per_epoch} updates/epoch", file=sys.stderr)
        try:
            with record:
                try:
                    history = t.train()
                except KeyboardInterrupt:
                    metrics = self._outputs(record)
                    print(self._summary(metrics), file=sys.stderr)
                    print(f"trainlab train: {t.history.message}; continue with: "
                          f"trainlab train --out {self.out} --resume", file=sys.stderr)
                    return 130
                metrics = self._outputs(record)
        finally:
            record.close()
        print(self._summary(metrics))
        from ..report import refresh

        refresh(self.out.parent)  # a report of the folder of runs this one joined shows it too
        if history.status == "diverged":
            print(f"trainlab train: training diverged: {history.message}. The history up to that point is "
                  f"saved in {self.out} with status 'diverged'; the checkpoint holds the last good epoch.",
                  file=sys.stderr)
            return 1
        return 0

    def _summary(self, metrics: dict) -> str:
        lines = []
        head = (f"{metrics['status']}: {metrics['epochs_completed']} epoch(s), {metrics['iterations']} updates, "
                f"{metrics['wall_time_s']:.1f} s")
        if self.resumed_from is not None:
            head += f" (resumed from epoch {self.resumed_from})"
        lines.append(head)
        if metrics["status"] == "completed" and metrics["message"]:  # stopped early, weights restored
            lines.append(metrics["message"])
        final = metrics["final"]
        parts = [f"{s} acc {final[f'{s}_acc']:.4f} loss {final[f'{s}_loss']:.4f}"
                 for s in ("train", "val", "test") if f"{s}_acc" in final]
        if parts:
            lines.append(f"last evaluation (epoch {final['epoch']}): " + " | ".join(parts))
        if "test_acc" in final:
            lines.append(f"test accuracy: {100 * final['test_acc']:.2f}% (epoch {final['epoch']})")
        restored = metrics.get("restored")
        if restored is not None and "test_acc" in restored:
            lines.append(f"test accuracy of the restored weights: {100 * restored['test_acc']:.2f}% "
                         f"(epoch {restored['epoch']})")
        written = sorted(p.name for p in self.out.iterdir() if not p.name.startswith("."))
        lines.append(f"wrote {self.out}: {' '.join(written)}")
        return "\n".join(lines)
