"""How to train: :class:`TrainConfig`, the declared options of a training run (each field declares its
command-line option; ``__post_init__`` checks every value and raises
:class:`~trainlab.validate.ConfigError` naming the field). The loop itself is :mod:`trainlab.trainer`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .optim import CONVENTIONS, OPTIMIZERS, make_optimizer
from .options import integer, option
from .validate import ConfigError, ConfigTypeError, UnknownKeyError, check_choice

__all__ = ["TrainConfig", "SAMPLINGS"]

SAMPLINGS = ("epoch", "replacement")


@dataclass(frozen=True)
class TrainConfig:
    """How to train. ``optimizer_params`` are the optimizer's own hyperparameters (``lr``, ``b1``, …);
    the ones not given take the optimizer's defaults for ``convention`` and are filled in, so a
    resolved configuration says every number that was used.

    ``eval_samples``: evaluate each split on its first k samples (None = all), as the book's
    ``evaluate_sample_num_per_epoch``. Each field declares its command-line option.
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

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise UnknownKeyError(sorted(unknown)[0], f"unknown training option(s) {sorted(unknown)}; "
                                                      f"accepted: {sorted(known)}")
        return cls(**d)
