"""How to train: :class:`TrainConfig`, the declared options of a training run (each field declares its
command-line option; ``__post_init__`` checks every value and raises
:class:`~trainlab.validate.ConfigError` naming the field). The loop itself is :mod:`trainlab.trainer`."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from .diagnostics import DIAGNOSTICS_SYNTAX, canonical_diagnostics, diagnostics_option
from .instruments import (EARLY_STOP_SYNTAX, SCHEDULE_EVERY, SCHEDULE_SYNTAX, canonical_early_stop,
                          canonical_schedule, early_stop_option, schedule_option)
from .optim import CONVENTIONS, OPTIMIZERS, make_optimizer
from .options import integer, number, option
from .validate import ConfigError, ConfigTypeError, _is_number, check_choice, from_fields

__all__ = ["TrainConfig", "SAMPLINGS"]

SAMPLINGS = ("epoch", "replacement")


@dataclass(frozen=True)
class TrainConfig:
    """How to train. ``optimizer_params`` are the optimizer's own hyperparameters (``lr``, ``b1``, …);
    the ones not given take the optimizer's defaults for ``convention`` and are filled in, so a
    resolved configuration says every number that was used.

    ``eval_samples``: evaluate each split on its first k samples (None = all), as the book's
    ``evaluate_sample_num_per_epoch``. Each field declares its command-line option.

    The instruments beyond the book (:mod:`trainlab.instruments` has the grammar): ``lr_schedule``
    (stored in its canonical form, every value written out), stepped after every ``schedule_every``
    (epoch | iteration), after a linear ``warmup`` of that many steps from ``warmup_factor``·lr;
    ``early_stop``; ``clip_grad_norm`` or ``clip_grad_value`` (before every update). ``diagnostics``
    (:mod:`trainlab.diagnostics`) adds per-layer statistics to every epoch record; it changes nothing
    of the training itself.
    """

    epochs: int = field(default=20, metadata=option("whole epochs to train", parse=integer))
    batch_size: int = field(default=100, metadata=option("mini-batch size", parse=integer))
    optimizer: str = field(default="adam", metadata=option("the optimizer ('trainlab list optimizers')",
                                                           choices=OPTIMIZERS))
    optimizer_params: dict = field(default_factory=dict)
    convention: str = field(default="torch", metadata=option(
        "optimizer convention: torch (torch.optim's defaults and numerics) or book (the book's code)",
        choices=CONVENTIONS))
    sampling: str = field(default="epoch", metadata=option(
        "epoch: every sample once per epoch, shuffled; replacement: the book's np.random.choice batches",
        choices=SAMPLINGS))
    eval_samples: int | None = field(default=None, metadata=option(
        "evaluate each split on its first K samples (default: all)", parse=integer, metavar="K"))
    seed: int = field(default=0, metadata=option("one seed for weights, batch order, dropout and the split",
                                                 parse=integer))
    checkpoint_every: int = field(default=1, metadata=option("write the checkpoint every E epochs",
                                                             parse=integer, metavar="E"))
    lr_schedule: str | None = field(default=None, metadata=option(
        f"learning-rate schedule (torch.optim.lr_scheduler's numerics): {SCHEDULE_SYNTAX}",
        parse=schedule_option, metavar="SPEC"))
    schedule_every: str = field(default="epoch", metadata=option(
        "step the schedule and the warm-up after every epoch or every iteration (update)",
        choices=SCHEDULE_EVERY))
    warmup: int = field(default=0, metadata=option(
        "linear warm-up over the first N steps (epochs or iterations, as --schedule-every), from "
        "--warmup-factor × lr to lr; the schedule's own steps count from N", parse=integer, metavar="N"))
    warmup_factor: float = field(default=1.0 / 3, metadata=option(
        "the warm-up's starting factor in (0, 1] (torch LinearLR's start_factor)", parse=number, metavar="F"))
    early_stop: str | None = field(default=None, metadata=option(
        f"stop when a metric stops improving: {EARLY_STOP_SYNTAX}; restore: end with the best epoch's weights",
        parse=early_stop_option, metavar="SPEC"))
    clip_grad_norm: float | None = field(default=None, metadata=option(
        "scale the gradients to a global L2 norm of at most MAX before each update (torch clip_grad_norm_)",
        parse=number, metavar="MAX"))
    clip_grad_value: float | None = field(default=None, metadata=option(
        "clamp every gradient into [-V, V] before each update (torch clip_grad_value_)", parse=number, metavar="V"))
    diagnostics: str | None = field(default=None, metadata=option(
        f"per-layer diagnostics in every epoch record (activation mean/std, saturated or dead units, gradient "
        f"norms, update/weight ratios) and a figure: {DIAGNOSTICS_SYNTAX}; the flag alone means 'on'",
        parse=diagnostics_option, metavar="SPEC", const=canonical_diagnostics("on")))

    def __post_init__(self):
        for name in ("epochs", "batch_size", "checkpoint_every", "seed"):
            value = getattr(self, name)
            low = 0 if name in ("epochs", "seed") else 1
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
                raise ConfigError(name, f"{name} must be an integer >= {low}, got {value!r}")
        object.__setattr__(self, "optimizer", check_choice("optimizer", self.optimizer, OPTIMIZERS))
        object.__setattr__(self, "convention",
                           check_choice("optimizer convention", self.convention, CONVENTIONS, "convention"))
        object.__setattr__(self, "sampling", check_choice("sampling", self.sampling, SAMPLINGS))
        if self.eval_samples is not None and (not isinstance(self.eval_samples, (int, np.integer))
                                              or isinstance(self.eval_samples, bool) or self.eval_samples < 1):
            raise ConfigError("eval_samples", f"eval_samples must be an integer >= 1 or None, got {self.eval_samples!r}")
        if not isinstance(self.optimizer_params, dict):
            raise ConfigTypeError("optimizer_params", f"optimizer_params must be a dict, got {self.optimizer_params!r}")
        # build once on a dummy buffer: bad hyperparameters fail here, where they were passed, and
        # the ones not given are filled in with the optimizer's defaults
        opt = make_optimizer(self.optimizer, (np.zeros(1), np.zeros(1)), self.convention, **self.optimizer_params)
        object.__setattr__(self, "optimizer_params", dict(opt.hyperparameters))
        self._check_instruments()

    def _check_instruments(self) -> None:
        set_ = object.__setattr__
        set_(self, "lr_schedule", canonical_schedule(self.lr_schedule))
        set_(self, "early_stop", canonical_early_stop(self.early_stop))
        set_(self, "diagnostics", canonical_diagnostics(self.diagnostics))
        set_(self, "schedule_every", check_choice("schedule step", self.schedule_every, SCHEDULE_EVERY,
                                                  "schedule_every"))
        w = self.warmup
        if not isinstance(w, (int, np.integer)) or isinstance(w, bool) or w < 0:
            raise ConfigError("warmup", f"warmup must be an integer >= 0 (steps), got {w!r}")
        f = self.warmup_factor
        if not _is_number(f) or not 0 < f <= 1:
            raise ConfigError("warmup_factor", f"warmup_factor must be a number in (0, 1], got {f!r}")
        set_(self, "warmup_factor", float(f))
        if not w and f != 1.0 / 3:
            raise ConfigError("warmup_factor", "warmup_factor sets where a warm-up starts; give warmup > 0 too")
        for name in ("clip_grad_norm", "clip_grad_value"):
            v = getattr(self, name)
            if v is not None:
                if not _is_number(v) or not math.isfinite(v) or v <= 0:
                    raise ConfigError(name, f"{name} must be a finite number > 0, got {v!r}")
                set_(self, name, float(v))
        if self.clip_grad_norm is not None and self.clip_grad_value is not None:
            raise ConfigError("clip_grad_value", "clip by norm (clip_grad_norm) or by value (clip_grad_value), "
                                                 "not both")
        plateau = (self.lr_schedule or "").startswith("plateau")
        if plateau and self.schedule_every != "epoch":
            raise ConfigError("schedule_every", "a plateau schedule steps on each epoch's metric; it cannot step "
                                                "every iteration")
        if plateau and w:
            raise ConfigError("warmup", "a warm-up cannot precede a plateau schedule (torch's SequentialLR refuses "
                                        "ReduceLROnPlateau); use another schedule or no warm-up")
        if self.schedule_every != "epoch" and self.lr_schedule is None and not w:
            raise ConfigError("schedule_every", "schedule_every says when the schedule steps, but there is no "
                                                "lr_schedule and no warmup")

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        return from_fields(cls, d, "training option")
