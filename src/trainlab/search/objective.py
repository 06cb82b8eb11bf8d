"""The objective: train one configuration, report validation accuracy per epoch, say how it ended.

:func:`evaluate` is a plain function of a JSON-able *task* (the search configuration, the trial's
parameters, where to report), so it runs the same in the search process, in a local worker process
or on a Dask worker. The objective is the validation accuracy (held out from the training data,
never the test set) after the last epoch. Each epoch's validation accuracy goes to ``reporter``
(Optuna's ``trial.report`` + ``should_prune`` when the trial's storage is reachable); a pruned
trial ends with the epoch it stopped at. A NaN/inf loss ends the trial as ``failed`` with the
trainer's message as the reason; the search goes on.

Each evaluation runs with one BLAS thread (threadpoolctl) so that N workers use N cores.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..threads import one_blas_thread
from .space import SearchConfig, apply_params

__all__ = ["evaluate", "load_data", "OptunaReporter", "Pruned"]

_DATA_CACHE: dict = {}


class Pruned(Exception):
    """Raised from the epoch callback when the pruner stops the trial."""


def load_data(data: dict, with_test: bool = False):
    """The seeded train/validation split of the first ``train_size`` MNIST training samples."""
    from ..data import load_mnist, split_train_val
    from ..trainer import Data

    key = (data.get("train_size", 500), data.get("val_fraction", 0.2), data.get("split_seed", 0), with_test)
    if key not in _DATA_CACHE:
        (x, t), (xt, tt) = load_mnist()
        s = split_train_val(x, t, train_size=key[0], val_fraction=key[1], rng_or_seed=key[2])
        d = Data(s.x_train, s.t_train, s.x_val, s.t_val)
        _DATA_CACHE[key] = (d, (xt, tt)) if with_test else d
    return _DATA_CACHE[key]


class OptunaReporter:
    """Reports to a live Optuna trial (``optuna.trial.Trial``); asks the study's pruner."""

    def __init__(self, trial):
        self.trial = trial

    def __call__(self, epoch: int, value: float) -> bool:
        self.trial.report(value, step=epoch)
        return self.trial.should_prune()


def _journal_reporter(spec: dict):
    """A reporter for a trial living in a journal file (worker processes on the same filesystem)."""
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
    from ..trainer import fit

    t0 = time.perf_counter()
    config = SearchConfig.from_dict(task["config"])
    spec, train_config = apply_params(config, task["params"])
    if task.get("train_seed") is not None and not _searches_seed(config):
        train_config = train_config.replace(seed=int(task["train_seed"]))
    if reporter is None and task.get("report"):
        reporter = _journal_reporter(task["report"])
    recorder = _Recorder(reporter)
    out = {"state": "complete", "value": None, "pruned_epoch": None, "reason": ""}
    with one_blas_thread():
        data = load_data(config.data)
        try:
            _, history = fit(spec, data, train_config, callbacks=[recorder])
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


def _searches_seed(config: SearchConfig) -> bool:
    return any(name in ("seed", "training.seed") for name in config.space)


def retrain_and_test(config: SearchConfig, params: dict, train_seed: int | None = None) -> dict:
    """Retrain the best configuration (its trial's seed, same split) and evaluate it once on the test set."""
    from ..trainer import fit

    spec, train_config = apply_params(config, params)
    if train_seed is not None and not _searches_seed(config):
        train_config = train_config.replace(seed=int(train_seed))
    with one_blas_thread():
        data, (x_test, t_test) = load_data(config.data, with_test=True)
        model, history = fit(spec, data, train_config)
        z = model.predict(x_test)
        test_acc = float(np.mean(z.argmax(axis=1) == t_test))
    last = history.epochs[-1]
    return {"params": params, "train_seed": train_config.seed, "status": history.status, "val_acc": float(last["val_acc"]),
            "train_acc": float(last["train_acc"]), "test_acc": test_acc, "n_test": int(len(t_test))}
