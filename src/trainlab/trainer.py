"""The training loop: shuffled mini-batches, evaluation after every whole epoch, checkpoints, resume.

``fit(spec, data, config)`` builds the model from its spec and a seed, trains it, and returns
``(model, history)``. It prints nothing: progress bars and logging are callbacks
(:mod:`trainlab.callbacks`).

Epochs are whole: ``ceil(n / batch_size)`` updates each. With ``sampling='epoch'`` (default) every
sample is seen once per epoch in a fresh order; with ``'replacement'`` each batch is drawn with
replacement, as the book's ``Trainer`` does (``np.random.choice``), still ``ceil(n/batch)`` per epoch.

One seed is split into independent streams (:mod:`trainlab.seeding`): initial weights, batch
order, dropout masks; the same seed gives a bit-identical history, and adding dropout changes
neither the initial weights nor the batch order.

With ``out_dir`` a checkpoint (:mod:`trainlab.checkpoint`) is written atomically after every
``checkpoint_every`` whole epochs; ``fit(..., resume=True)`` continues from it and ends with exactly
the history of an uninterrupted run (``history.without_times()``). A NaN/inf loss (or parameters)
stops training with ``history.status == 'diverged'`` and a message; nothing is raised.

The configuration's instruments (:mod:`trainlab.instruments`: lr schedule and warm-up, gradient
clipping, early stopping) wrap the optimizer's step and complete each epoch record; their state is
in the checkpoint. A callback (or early stopping) ends training early with :meth:`Trainer.stop`:
after the current whole epoch, status 'completed', ``history.stopped_epoch`` and the reason in
``history.message``; a stopped run stays stopped when resumed. With ``config.diagnostics`` every epoch
record also gets per-layer statistics (:mod:`trainlab.diagnostics`); they draw no random numbers, so
the run itself is the same.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from .diagnostics import Diagnostics
from .history import History
from .instruments import Instruments
from .model import MLP, ModelSpec
from .optim import make_optimizer
from .seeding import generator_state, set_generator_state, spawn_streams
from .train_config import SAMPLINGS, TrainConfig
from .validate import ConfigError

__all__ = ["TrainConfig", "Data", "Trainer", "fit", "Diverged", "SAMPLINGS"]


@dataclass
class Data:
    """Arrays for training; ``val`` and ``test`` are optional ``(x, t)`` pairs."""

    x_train: np.ndarray
    t_train: np.ndarray
    x_val: np.ndarray | None = None
    t_val: np.ndarray | None = None
    x_test: np.ndarray | None = None
    t_test: np.ndarray | None = None

    @classmethod
    def of(cls, data) -> "Data":
        """``data`` as :class:`Data`: a Data, the :class:`~trainlab.data.Arrays` of
        ``DataSpec.load()`` (an empty validation split is left out), or the book's
        ``((x_train, t_train), (x_test, t_test))`` that :func:`~trainlab.data.load_mnist` returns."""
        if isinstance(data, Data):
            return data
        if hasattr(data, "x_train") and hasattr(data, "t_train"):
            return cls(*(getattr(data, name, None) for name in ("x_train", "t_train", "x_val", "t_val",
                                                                  "x_test", "t_test")))
        if isinstance(data, (tuple, list)) and len(data) == 2 and all(
                isinstance(pair, (tuple, list)) and len(pair) == 2 for pair in data):
            (x, t), (x_test, t_test) = data
            return cls(x, t, x_test=x_test, t_test=t_test)
        raise TypeError(f"data must be a trainlab Data, the Arrays of DataSpec.load(), or "
                        f"((x_train, t_train), (x_test, t_test)) as load_mnist returns; got {type(data).__name__}")

    def splits(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        out = {"train": (self.x_train, self.t_train)}
        if self.x_val is not None and len(self.x_val):
            out["val"] = (self.x_val, self.t_val)
        if self.x_test is not None and len(self.x_test):
            out["test"] = (self.x_test, self.t_test)
        return out


class Diverged(RuntimeError):
    """The loss became NaN or inf."""


class Trainer:
    """Owns one model, its optimizer, the random streams and the history of one run.

    ``callbacks``: objects with any of ``on_train_begin(trainer)``, ``on_step_end(trainer, loss)``,
    ``on_epoch_end(trainer, record)``, ``on_train_end(trainer)``; any of them may call
    :meth:`stop`.
    """

    def __init__(self, spec: ModelSpec, data: Data, config: TrainConfig, callbacks=(), out_dir=None):
        self.spec, self.config = spec, config
        self.streams = spawn_streams(config.seed)
        self.model = MLP(spec, rng=self.streams["init"], dropout_rng=self.streams["dropout"])
        self.optimizer = make_optimizer(config.optimizer, self.model.params, config.convention,
                                        **config.optimizer_params)
        self.splits = {}
        for name, (x, t) in Data.of(data).splits().items():
            x, t = self.model.check_batch(x, t)
            self.splits[name] = (x, t)
        self.x, self.t = self.splits["train"]
        self.n = self.x.shape[0]
        self.iters_per_epoch = math.ceil(self.n / config.batch_size)
        self.history = History()
        self.epoch = 0
        self.callbacks = list(callbacks)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self._elapsed_before = 0.0
        self._start = None
        self.saved_epoch = None  # the epoch of the last checkpoint written or restored
        self._stop_message = None
        self.instruments = Instruments(config, self.optimizer, self.model.params, self.splits)
        self.diagnostics = Diagnostics(config.diagnostics, self.model, self.x) if config.diagnostics else None
        if spec.batch_norm and config.batch_size == 1:
            raise ConfigError("batch_size", "batch_size=1 cannot train with batch norm: the statistics of one "
                                            "sample normalise every unit to 0; use a batch of 2 or more")
        if (spec.batch_norm and config.sampling == "epoch" and self.n > 1
                and self.n % config.batch_size == 1):
            raise ConfigError(
                "batch_size",
                f"batch_size={config.batch_size} leaves a last mini-batch of 1 sample out of {self.n}, "
                f"which batch norm cannot train on; choose another batch size or training-set size")

    # -- evaluation -----------------------------------------------------------------------------
    def evaluate(self) -> dict:
        """Loss and accuracy on each split (first ``eval_samples`` of each), inference mode."""
        record = {"epoch": self.epoch, "iteration": self.epoch * self.iters_per_epoch}
        k = self.config.eval_samples
        for name, (x, t) in self.splits.items():
            if k is not None:
                x, t = x[:k], t[:k]
            loss, acc = _loss_and_accuracy(self.model, x, t)
            record[f"{name}_loss"] = loss
            record[f"{name}_acc"] = acc
        return record

    # -- the loop -------------------------------------------------------------------------------
    def _batches(self):
        rng, n, b = self.streams["data"], self.n, self.config.batch_size
        if self.config.sampling == "replacement":
            for _ in range(self.iters_per_epoch):
                yield rng.integers(0, n, size=b)
        else:
            order = rng.permutation(n)
            for i in range(0, n, b):
                yield order[i : i + b]

    def stop(self, message: str = "stopped by a callback") -> None:
        """End training after the current whole epoch (so the history and the checkpoint stay whole),
        with status 'completed' and ``message`` as the reason."""
        self._stop_message = str(message)

    def _stopping(self) -> bool:
        """Whether training has stopped; a pending :meth:`stop` is written into the history here."""
        if self.history.stopped_epoch is None and self._stop_message is not None:
            self.history.stopped_epoch = self.epoch
            self.history.message = self._stop_message
        return self.history.stopped_epoch is not None

    def _call(self, hook: str, *args) -> None:
        for cb in self.callbacks:
            fn = getattr(cb, hook, None)
            if fn is not None:
                fn(self, *args)

    def train(self) -> History:
        """Train up to ``config.epochs`` epochs (continuing from ``self.epoch`` after a resume).

        Ends with ``history.status``: ``'completed'``, or ``'diverged'`` (loss or parameters NaN/inf;
        ``history.message`` says where). A ``KeyboardInterrupt`` (or any other exception) sets
        ``'interrupted'`` and propagates. The checkpoint is only ever written at a whole-epoch
        boundary, so after a divergence or an interruption it still holds the last good epoch and
        resuming from it reproduces an uninterrupted run exactly.
        """
        self._start = time.perf_counter()
        self.history.status = "running"
        if self.history.stopped_epoch is None:  # a stopped run keeps its reason
            self.history.message = ""
        try:
            self._call("on_train_begin")
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # reported, not warned
                if not self.history.epochs:
                    self._record()
                self._loop()
            self.history.status = "completed"
        except Diverged as exc:
            self.history.status = "diverged"
            self.history.message = str(exc)
        except BaseException:
            self.history.status = "interrupted"
            done = max(len(self.history.epochs) - 1, 0)
            self.history.message = f"interrupted after {done} whole epoch{'' if done == 1 else 's'}"
            if self.saved_epoch is not None:
                self.history.message += f"; the checkpoint holds epoch {self.saved_epoch}"
            self._finish()
            raise
        self._finish(completed=self.history.status == "completed")
        return self.history

    def _finish(self, completed: bool = False) -> None:
        """Stop the clock; a completed run writes its checkpoint (the last epoch's weights, so that
        more epochs continue exactly) and then gets its best epoch's weights back if asked to."""
        self._elapsed_before = self.elapsed()
        self._start = None
        try:
            if completed:
                self.save()
                restored = self.instruments.restore_best(self.model)
                if restored is not None:
                    self.history.restored_epoch = restored
                    self.history.message += f"{'; ' if self.history.message else ''}restored the weights " \
                                            f"of epoch {restored}"
        finally:
            try:
                self._call("on_train_end")
            except Exception:  # a failing callback must not hide the run's outcome
                pass

    def elapsed(self) -> float:
        """Seconds of training so far, over every session of a resumed run."""
        if getattr(self, "_start", None) is None:
            return self._elapsed_before
        return self._elapsed_before + time.perf_counter() - self._start

    def _loop(self) -> None:
        step = self.instruments.wrap_step(self.optimizer.step)  # the optimizer's own step unless instrumented
        if self.diagnostics is not None:  # reads the gradients before clipping and the update
            step = self.diagnostics.wrap_step(step)
        while self.epoch < self.config.epochs and not self._stopping():
            for idx in self._batches():
                loss = self.model.gradient(self.x[idx], self.t[idx], check=False)
                if not math.isfinite(loss):
                    raise Diverged(f"loss became {loss} at epoch {self.epoch + 1}, iteration "
                                   f"{len(self.history.iter_loss) + 1}: {self._likely_cause()}")
                self.history.iter_loss.append(loss)
                step()
                self._call("on_step_end", loss)
            self.epoch += 1
            if not np.isfinite(self.model.params.data).all():  # e.g. BN keeps the loss finite
                raise Diverged(f"parameters became NaN or inf during epoch {self.epoch}: {self._likely_cause()}")
            self._record()

    def _likely_cause(self) -> str:
        """Why a loss becomes NaN: eps = 0 divides 0 by 0 where a gradient is 0; else a step too large."""
        opt = self.optimizer
        if getattr(opt, "eps", None) == 0 and "eps" in opt.hyperparameters:
            return (f"{self.config.optimizer} with eps=0 divides 0 by 0 wherever a gradient is exactly 0 "
                    f"(a dead ReLU unit, say); use eps > 0")
        return f"the learning rate is probably too large ({self.config.optimizer} lr={opt.lr:g})"

    def _record(self) -> None:
        record = self.evaluate()
        if self.diagnostics is not None:
            self.diagnostics.end_epoch(record, self.history)
        why = self.instruments.end_epoch(record, self.model.state_dict)
        if why is not None:
            self.stop(why)
        self._stopping()  # into the history before the checkpoint, so a resumed run stops here too
        self.history.epochs.append(record)
        self.history.wall_time.append(self.elapsed())
        if self.out_dir is not None and (self.epoch % self.config.checkpoint_every == 0
                                         or self.epoch == self.config.epochs):
            self.save()
        self._call("on_epoch_end", record)

    # -- checkpoints ----------------------------------------------------------------------------
    def save(self, path=None) -> None:
        """Write the checkpoint (parameters, BN statistics, optimizer, rng states, epoch, history)."""
        if path is None:
            if self.out_dir is None:
                return
            path = self.out_dir / CHECKPOINT_NAME
        arrays = self.model.state_dict()
        arrays.update({f"optim/{k}": v for k, v in self.optimizer.state_dict().items()})
        instruments, more = self.instruments.state_dict()
        arrays.update(more)
        meta = {
            "instruments": instruments,
            "epoch": self.epoch,
            "history": self.history.to_dict(),
            "spec": self.spec.to_dict(),
            "config": self.config.to_dict(),
            "rng": {name: generator_state(g) for name, g in self.streams.items()},
            "elapsed": self.elapsed(),
        }
        save_checkpoint(path, arrays, meta)
        self.saved_epoch = self.epoch

    def restore(self, path) -> None:
        """Continue exactly where the checkpoint at ``path`` left off.

        The spec and configuration must match the checkpoint's, except ``epochs`` (which may grow); an
        option the checkpoint predates counts as its default.
        """
        arrays, meta = load_checkpoint(path)
        ours = {**{f"model.{k}": v for k, v in self.spec.to_dict().items()},
                **{f"training.{k}": v for k, v in self.config.to_dict().items() if k != "epochs"}}
        config = {**_DEFAULTS, **meta["config"]}
        theirs = {**{f"model.{k}": v for k, v in meta["spec"].items()},
                  **{f"training.{k}": v for k, v in config.items() if k != "epochs"}}
        diff = [k for k in sorted(set(ours) | set(theirs)) if ours.get(k) != theirs.get(k)]
        if diff:
            detail = "; ".join(f"{k}: checkpoint {theirs.get(k)!r}, now {ours.get(k)!r}" for k in diff)
            raise ValueError(f"checkpoint {path} was made with different options ({detail})")
        if int(meta["epoch"]) > self.config.epochs:
            raise ValueError(f"checkpoint {path} already holds {meta['epoch']} epochs, more than "
                             f"epochs={self.config.epochs}")
        self.model.load_state_dict(arrays)
        self.optimizer.load_state_dict({k[len("optim/"):]: v for k, v in arrays.items() if k.startswith("optim/")})
        for name, state in meta["rng"].items():
            set_generator_state(self.streams[name], state)
        self.instruments.load_state_dict(meta.get("instruments", {"lr": self.optimizer.lr}), arrays)
        self.epoch = self.saved_epoch = int(meta["epoch"])
        self.history = History.from_dict(meta["history"])
        if self.diagnostics is not None:  # the next epoch's update ratios start from the restored weights
            self.diagnostics.restart()
        self._elapsed_before = float(meta.get("elapsed", 0.0))


_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.default is not dataclasses.MISSING}


def _loss_and_accuracy(model: MLP, x, t, batch_size: int | None = None) -> tuple[float, float]:
    """Inference-mode (loss, accuracy) of an already checked split: :meth:`MLP.evaluate`, so an epoch
    record is exactly what ``model.loss``/``model.accuracy`` give for the same rows."""
    return model.evaluate(x, t, batch_size, check=False)


def fit(spec: ModelSpec, data: Data, config: TrainConfig, callbacks=(), out_dir=None, resume: bool = False):
    """Build, (optionally resume,) and train; returns ``(model, history)``.

    ``data``: a :class:`Data`, the arrays of ``DataSpec(...).load()``, or ``load_mnist()``'s
    ``((x_train, t_train), (x_test, t_test))``::

        model, history = fit(ModelSpec(hidden_sizes=(100, 100)), DataSpec(train_size=1000).load(),
                             TrainConfig(epochs=5, optimizer="sgd", optimizer_params={"lr": 0.1}))
    """
    trainer = Trainer(spec, data, config, callbacks=callbacks, out_dir=out_dir)
    if resume:
        if out_dir is None:
            raise ValueError("resume needs out_dir, where the checkpoint is")
        ckpt = Path(out_dir) / CHECKPOINT_NAME
        if ckpt.exists():
            trainer.restore(ckpt)
    history = trainer.train()
    return trainer.model, history
