"""The objective: train one configuration, report validation accuracy per epoch, say how it ended.

:func:`evaluate` is a plain function of a JSON-able *task* (the search configuration, the trial's
parameters and seed, where to report), so it runs the same in the search process, in a local
worker process or on a Dask worker. The objective is the validation accuracy (held out from the
training data, never the test set) after the last epoch. With ``task['report']`` (a journal file)
each epoch's validation accuracy is reported to the trial and the study's pruner asked whether to
stop; a pruned trial ends with the epoch it stopped at. A NaN/inf loss ends the trial as
``failed`` with the trainer's message as the reason; the search goes on.

The data are the configuration's :class:`~trainlab.data.DataSpec` (bundled MNIST or any IDX folder
that the worker can read): the first ``train_size`` training samples, a seeded ``val_fraction`` of
them held out; the model's input size and number of classes are the data's.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..threads import one_blas_thread
from .config import SearchConfig
from .targets import apply_params, searched

__all__ = ["evaluate", "load_data", "trial_specs", "retrain_and_test", "OptunaReporter", "Pruned"]

_ARRAYS: dict = {}


class Pruned(Exception):
    """Raised from the epoch callback when the pruner stops the trial."""


def load_data(data: dict):
    """The :class:`~trainlab.data.Arrays` of a search's data options, split once per process."""
    from ..data import DataSpec

    spec = DataSpec.from_dict(data)
    key = tuple(sorted(spec.to_dict().items()))
    if key not in _ARRAYS:
        _ARRAYS.clear()  # one search per process at a time: keep one split, not every one seen
        _ARRAYS[key] = spec.load(seed=0)
    return _ARRAYS[key]


def trial_specs(config: SearchConfig, params: dict, train_seed: int | None, arrays=None):
    """``(ModelSpec, TrainConfig)`` of one trial: the base run with ``params``, the trial's own
    seed (unless the seed itself is searched) and the data's input size and class count."""
    spec, train_config = apply_params(config, params)
    if train_seed is not None and not searched(config.space, "training", "seed"):
        train_config = train_config.replace(seed=int(train_seed))
    if arrays is not None:
        spec = spec.replace(input_size=arrays.input_size, output_size=arrays.num_classes)
    return spec, train_config


class OptunaReporter:
    """Reports to a live Optuna trial (``optuna.trial.Trial``); asks the study's pruner."""

    def __init__(self, trial):
        self.trial = trial

    def __call__(self, epoch: int, value: float) -> bool:
        self.trial.report(value, step=epoch)
        return self.trial.should_prune()


def _journal_reporter(spec: dict):
    """A reporter for a trial living in a journal file (any process on the same filesystem)."""
    import optuna

    from .study import open_study

    study = open_study(spec["journal"], spec["study_name"], pruner=spec["pruner"], pruner_args=spec.get("pruner_args"))
    return OptunaReporter(optuna.trial.Trial(study, spec["trial_id"]))


class _Recorder:
    def __init__(self, reporter):
        self.reporter = reporter
        self.val, self.train = [], []

    def on_epoch_end(self, trainer, record):
        if record["epoch"] == 0:  # the evaluation before training
            return
        value = float(record["val_acc"])
        self.val.append(value)
        self.train.append(float(record["train_acc"]))
        if self.reporter is not None and math.isfinite(value) and self.reporter(record["epoch"], value):
            raise Pruned(record["epoch"])


def evaluate(task: dict, reporter=None) -> dict:
    """Train the trial's configuration; ``{state, value, val_curve, train_curve, epochs, pruned_epoch, reason, seconds}``.

    ``state`` is ``'complete'``, ``'pruned'`` or ``'failed'``. ``task['report']`` (a journal
    location) builds a reporter when none is given.
    """
    from ..trainer import Data, fit

    t0 = time.perf_counter()
    config = SearchConfig.from_dict(task["config"])
    if reporter is None and task.get("report"):
        reporter = _journal_reporter(task["report"])
    recorder = _Recorder(reporter)
    out = {"state": "complete", "value": None, "pruned_epoch": None, "reason": ""}
    with one_blas_thread():
        a = load_data(config.data)
        spec, train_config = trial_specs(config, task["params"], task.get("train_seed"), a)
        try:
            _, history = fit(spec, Data(a.x_train, a.t_train, a.x_val, a.t_val), train_config, callbacks=[recorder])
        except Pruned as exc:
            out.update(state="pruned", pruned_epoch=int(exc.args[0]))
        except Exception as exc:  # the search goes on; the reason is recorded
            out.update(state="failed", reason=f"{type(exc).__name__}: {exc}")
        else:
            if history.status != "completed":
                out.update(state="failed", reason=f"{history.status}: {history.message}")
    if out["state"] == "complete":
        out["value"] = recorder.val[-1] if recorder.val else float("nan")
    out.update(val_curve=recorder.val, train_curve=recorder.train, epochs=len(recorder.val),
               seconds=time.perf_counter() - t0)
    return out


def retrain_and_test(config: SearchConfig, params: dict, train_seed: int | None = None) -> dict:
    """Retrain the best configuration (its trial's seed, same split) and evaluate it once on the test set."""
    from ..trainer import Data, fit

    with one_blas_thread():
        a = load_data(config.data)
        spec, train_config = trial_specs(config, params, train_seed, a)
        model, history = fit(spec, Data(a.x_train, a.t_train, a.x_val, a.t_val), train_config)
        z = model.predict(a.x_test)
        test_acc = float(np.mean(z.argmax(axis=1) == a.t_test))
    last = history.epochs[-1]
    return {"params": params, "train_seed": train_config.seed, "status": history.status,
            "val_acc": float(last["val_acc"]), "train_acc": float(last["train_acc"]), "test_acc": test_acc,
            "n_test": int(len(a.t_test))}
