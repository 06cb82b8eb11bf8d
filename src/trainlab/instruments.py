"""The training instruments a :class:`~trainlab.trainer.TrainConfig` declares, from their text to the
objects that run them: a learning-rate schedule (:mod:`trainlab.schedules`) with an optional linear
warm-up, gradient clipping (:mod:`trainlab.clipping`) and early stopping
(:mod:`trainlab.early_stopping`).

One grammar, parsed here and nowhere else: ``NAME:ITEM:ITEM…``, where an item is a positional value
(in the order listed), ``key=value`` (any order, after the positional ones) or, for a switch, its bare
name; an empty item keeps the default. Every spec is stored in its canonical form, every value written
out (``step:30`` → ``step:step_size=30:gamma=0.1``), so a resolved configuration says every number.

``lr_schedule`` (``None``: a constant lr; steps count epochs or iterations, as ``schedule_every``):

  step:STEP_SIZE[:GAMMA]           η·γ every STEP_SIZE steps (γ 0.1)             step:30:0.1
  multistep:M1,M2,…[:GAMMA]        η·γ at each milestone (γ 0.1)                 multistep:30,60:0.1
  exp:GAMMA                        η·γ every step                                exp:0.95
  cosine:T_MAX[:ETA_MIN]           cosine from η to ETA_MIN over T_MAX steps     cosine:50:1e-5
  plateau[:FACTOR[:PATIENCE]]      η·FACTOR when MONITOR stalls (0.1, 10);       plateau:0.5:3
      keys monitor (val_loss), mode (min for a loss, max for an accuracy), threshold (1e-4),
      threshold_mode (rel | abs), cooldown (0), min_lr (0), eps (1e-8): torch's ReduceLROnPlateau,
      stepped after every epoch with that epoch's record     plateau:0.5:3:monitor=val_acc:cooldown=2

``early_stop``: ``METRIC:PATIENCE[:MIN_DELTA][:restore]`` (keys patience, min_delta, mode, restore),
e.g. ``val_loss:5``, ``val_loss:5:0.001:restore``, ``val_acc:3:restore``.

A metric is ``train_loss``, ``train_acc``, ``val_loss`` or ``val_acc`` of the epoch records (the test
split is never used to decide anything). ``warmup`` W > 0 runs a LinearLR from ``warmup_factor``·η to
η over the first W steps, then the schedule, whose own steps count from W (torch's SequentialLR).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import Any, Callable

from .clipping import GradClipper
from .early_stopping import EarlyStopping
from .schedules import (CosineAnnealingLR, ExponentialLR, LinearLR, MultiStepLR, ReduceLROnPlateau,
                        SequentialLR, StepLR)
from .validate import ConfigError

__all__ = ["parse_schedule", "parse_early_stop", "canonical_schedule", "canonical_early_stop", "schedule_option",
           "early_stop_option", "Instruments",
           "METRICS", "SCHEDULE_EVERY", "SCHEDULE_SYNTAX", "EARLY_STOP_SYNTAX"]

METRICS = ("train_loss", "train_acc", "val_loss", "val_acc")
SCHEDULE_EVERY = ("epoch", "iteration")
SCHEDULE_SYNTAX = ("step:STEP_SIZE[:GAMMA], multistep:M1,M2,…[:GAMMA], exp:GAMMA, cosine:T_MAX[:ETA_MIN] or "
                   "plateau[:FACTOR[:PATIENCE]][:monitor=METRIC][:mode=min|max][:threshold=X]"
                   "[:threshold_mode=rel|abs][:cooldown=N][:min_lr=X][:eps=X]")
EARLY_STOP_SYNTAX = "METRIC:PATIENCE[:MIN_DELTA][:restore], METRIC one of " + ", ".join(METRICS)
_REQUIRED = object()


# -- values ---------------------------------------------------------------------------------------
def _int(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < low:
            raise ValueError(f"must be an integer >= {low}")
        return value
    parse.accepts = f"an integer >= {low}"
    return parse


def _float(low: float, high: float = math.inf, low_open=False, high_open=True) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = float(text)
        if not (math.isfinite(value) and (value > low if low_open else value >= low)
                and (value < high if high_open else value <= high)):
            raise ValueError("out of range")
        return value
    parse.accepts = (f"a number {'>' if low_open else '>='} {low:g}" if high == math.inf else
                     f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}")
    return parse


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text.lower() not in choices:
            raise ValueError("not a choice")
        return text.lower()
    parse.accepts = "one of " + ", ".join(choices)
    return parse


def _milestones(text: str) -> tuple[int, ...]:
    values = tuple(int(m) for m in text.split(","))
    if not values or values[0] < 1 or any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError("not increasing")
    return values


_milestones.accepts = "increasing integers >= 1 separated by commas"


def _bool(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise ValueError("not a boolean")
    return text.lower() == "true"


_bool.accepts = "true or false"


def _show(value) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class _Param:
    name: str
    parse: Callable[[str], Any]
    default: Any = _REQUIRED


_METRIC = _choice(*METRICS)
_MODE = _choice("min", "max")
SCHEDULES: dict[str, tuple[_Param, ...]] = {
    "step": (_Param("step_size", _int(1)), _Param("gamma", _float(0, low_open=True), 0.1)),
    "multistep": (_Param("milestones", _milestones), _Param("gamma", _float(0, low_open=True), 0.1)),
    "exp": (_Param("gamma", _float(0, low_open=True)),),
    "cosine": (_Param("T_max", _int(1)), _Param("eta_min", _float(0), 0.0)),
    "plateau": (_Param("factor", _float(0, 1, low_open=True), 0.1), _Param("patience", _int(0), 10),
                _Param("monitor", _METRIC, "val_loss"), _Param("mode", _MODE, None),
                _Param("threshold", _float(0), 1e-4), _Param("threshold_mode", _choice("rel", "abs"), "rel"),
                _Param("cooldown", _int(0), 0), _Param("min_lr", _float(0), 0.0), _Param("eps", _float(0), 1e-8)),
}
_EARLY_STOP = (_Param("patience", _int(1)), _Param("min_delta", _float(0), 0.0), _Param("mode", _MODE, None),
               _Param("restore", _bool, False))


def _items(field: str, text: str, head: str, params: tuple[_Param, ...], syntax: str) -> dict:
    """The values of ``params`` from ``ITEM:ITEM…`` (the part after the head), defaults filled in."""
    def fail(why: str):
        raise ConfigError(field, f"{field} {text!r}: {why}; the syntax is {syntax}")

    by_name = {p.name.lower(): p for p in params}
    values: dict[str, Any] = {}
    position, keyed = 0, False
    for item in text.split(":")[1:]:
        item = item.strip()
        if "=" in item:
            key, raw = (s.strip() for s in item.split("=", 1))
            keyed = True
        elif item.lower() in by_name and by_name[item.lower()].parse is _bool:
            key, raw = item, "true"  # a switch by its bare name
        else:
            if keyed:
                fail(f"the value {item!r} follows a key=value item; give it as key=value too")
            if position >= len(params):
                fail(f"too many values ({head} takes {', '.join(p.name for p in params)})")
            key, raw = params[position].name, item
            position += 1
            if not item:
                continue  # an empty item keeps the default
        p = by_name.get(key.lower())
        if p is None:
            fail(f"{head} has no parameter {key!r} (it takes {', '.join(p.name for p in params)})")
        if p.name in values:
            fail(f"{p.name} is given twice")
        try:
            values[p.name] = p.parse(raw)
        except ValueError:
            fail(f"{p.name} must be {p.parse.accepts}, got {raw!r}")
    for p in params:
        if p.name not in values:
            if p.default is _REQUIRED:
                fail(f"{head} needs {p.name}")
            values[p.name] = p.default
    return {p.name: values[p.name] for p in params}  # in the declared order: one canonical form


def _mode_of(metric: str) -> str:
    return "min" if metric.endswith("_loss") else "max"


def parse_schedule(text) -> tuple[str, dict] | None:
    """``(kind, {parameter: value})`` of an ``lr_schedule`` spec (None for None or 'none');
    ConfigError('lr_schedule') naming what is wrong and the syntax."""
    if text is None or (isinstance(text, str) and text.strip().lower() in ("", "none")):
        return None
    if not isinstance(text, str):
        raise ConfigError("lr_schedule", f"lr_schedule must be a text such as 'step:30:0.1', got {text!r}")
    kind = text.split(":", 1)[0].strip().lower()
    if kind not in SCHEDULES:
        raise ConfigError("lr_schedule", f"lr_schedule {text!r}: unknown schedule {kind!r} (the schedules are "
                                         f"{', '.join(SCHEDULES)}); the syntax is {SCHEDULE_SYNTAX}")
    values = _items("lr_schedule", text, kind, SCHEDULES[kind], SCHEDULE_SYNTAX)
    if kind == "plateau" and values["mode"] is None:
        values["mode"] = _mode_of(values["monitor"])
    return kind, values


def parse_early_stop(text) -> dict | None:
    """``{monitor, patience, min_delta, mode, restore}`` of an ``early_stop`` spec (None: off)."""
    if text is None or (isinstance(text, str) and text.strip().lower() in ("", "none")):
        return None
    if not isinstance(text, str):
        raise ConfigError("early_stop", f"early_stop must be a text such as 'val_loss:5', got {text!r}")
    monitor = text.split(":", 1)[0].strip().lower()
    if monitor not in METRICS:
        why = ("the test split must not decide when training stops; hold out a validation split"
               if monitor.startswith("test_") else f"unknown metric {monitor!r}")
        raise ConfigError("early_stop", f"early_stop {text!r}: {why}; the syntax is {EARLY_STOP_SYNTAX}")
    values = _items("early_stop", text, monitor, _EARLY_STOP, EARLY_STOP_SYNTAX)
    if values["mode"] is None:
        values["mode"] = _mode_of(monitor)
    return {"monitor": monitor, **values}


def canonical_schedule(text) -> str | None:
    parsed = parse_schedule(text)
    if parsed is None:
        return None
    kind, values = parsed
    return ":".join([kind] + [f"{k}={_show(v)}" for k, v in values.items()])


def canonical_early_stop(text) -> str | None:
    parsed = parse_early_stop(text)
    if parsed is None:
        return None
    return ":".join([parsed["monitor"]] + [f"{k}={_show(v)}" for k, v in parsed.items() if k != "monitor"])


def _option(canonical: Callable) -> Callable[[str], str | None]:
    def parse(text: str):
        try:
            return canonical(text)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse


schedule_option = _option(canonical_schedule)  # argparse types: the canonical text, or a usage error
early_stop_option = _option(canonical_early_stop)


# -- the running instruments ----------------------------------------------------------------------
_CLASSES = {"step": StepLR, "multistep": MultiStepLR, "exp": ExponentialLR, "cosine": CosineAnnealingLR}


class Instruments:
    """What the configuration adds around each update and after each epoch. Nothing of it runs per
    update unless a clip or a per-iteration schedule is configured (:meth:`wrap_step`)."""

    def __init__(self, config, optimizer, params, splits):
        self.optimizer = optimizer
        schedule, early = parse_schedule(config.lr_schedule), parse_early_stop(config.early_stop)
        for field, spec in (("lr_schedule", schedule and schedule[1]), ("early_stop", early)):
            monitor = (spec or {}).get("monitor")
            if monitor is not None and monitor.split("_")[0] not in splits:
                raise ConfigError(field, f"{field} monitors {monitor}, but there is no "
                                         f"{'validation' if monitor.startswith('val') else 'training'} split "
                                         f"(hold out a validation split, e.g. val_fraction 0.1)")
        self.monitor = None
        main = None
        if schedule is not None:
            kind, values = schedule
            if kind == "plateau":
                self.monitor = values["monitor"]
                main = ReduceLROnPlateau(optimizer, **{k: v for k, v in values.items() if k != "monitor"})
            else:
                main = _CLASSES[kind](optimizer, **values)
        if config.warmup:
            warm = LinearLR(optimizer, config.warmup_factor, 1.0, config.warmup)
            main = warm if main is None else SequentialLR(optimizer, [warm, main], [config.warmup])
        self.schedule = main
        self.per_iteration = main is not None and config.schedule_every == "iteration"
        self.clipper = None
        if config.clip_grad_norm is not None or config.clip_grad_value is not None:
            self.clipper = GradClipper(params.grad, config.clip_grad_norm, config.clip_grad_value)
        self.early = EarlyStopping(**early) if early is not None else None
        self._lr_used = None  # the lr of the last update, kept only when an update can change it

    def wrap_step(self, step: Callable[[], None]) -> Callable[[], None]:
        """``step`` (the optimizer's) itself when nothing runs per update; else clip → step → schedule."""
        clip, schedule = self.clipper, self.schedule if self.per_iteration else None
        if clip is None and schedule is None:
            return step
        opt = self.optimizer

        def instrumented_step():
            if clip is not None:
                clip()
            self._lr_used = opt.lr
            step()
            if schedule is not None:
                schedule.step()
        return instrumented_step

    def end_epoch(self, record: dict, weights: Callable[[], dict]) -> str | None:
        """Complete epoch ``record`` (``lr``: the lr of its last update, epoch 0 the starting lr; the
        pre-clip norms), step a per-epoch schedule, update early stopping. Returns why training must
        stop, or None."""
        opt = self.optimizer
        trained = record["epoch"] > 0
        record["lr"] = self._lr_used if trained and self._lr_used is not None else opt.lr
        self._lr_used = None
        if self.clipper is not None:
            record.update(self.clipper.epoch_stats())
        if not trained:
            return None
        if self.schedule is not None and not self.per_iteration:
            if self.monitor is not None:
                self.schedule.step(record[self.monitor])
            else:
                self.schedule.step()
        early = self.early
        if early is not None and early.update(record["epoch"], record[early.monitor], weights):
            return early.message()
        return None

    def restore_best(self, model) -> int | None:
        """Put the best epoch's weights back (early stopping with restore); that epoch, or None."""
        early = self.early
        if early is None or not early.restore or early.best_weights is None:
            return None
        model.load_state_dict(early.best_weights)
        return early.best_epoch

    def state_dict(self) -> tuple[dict, dict]:
        """``(JSON-able meta, arrays)`` for the checkpoint: the optimizer's current lr, the schedule's
        and early stopping's state, the kept best weights."""
        meta: dict[str, Any] = {"lr": self.optimizer.lr}
        arrays = {}
        if self.schedule is not None:
            meta["schedule"] = self.schedule.state_dict()
        if self.early is not None:
            meta["early_stop"], best = self.early.state_dict()
            arrays = {f"early_stop/{k}": v for k, v in best.items()}
        return meta, arrays

    def load_state_dict(self, meta: dict, arrays: dict) -> None:
        self.optimizer.lr = float(meta["lr"])
        if self.schedule is not None:
            self.schedule.load_state_dict(meta["schedule"])
        if self.early is not None:
            prefix = "early_stop/"
            self.early.load_state_dict(meta["early_stop"],
                                       {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)})
