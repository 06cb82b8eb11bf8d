"""The search configuration: the base run (model, training, data options), the space, and how to
search (trials, stages, sampler, pruner, seed, narrowing).

The options of the search itself are declared on :class:`SearchConfig`'s fields (default, help,
parser: :mod:`trainlab.options`), so ``trainlab search`` builds its options from them and the help
shows these defaults. :meth:`SearchConfig.validate` checks everything that would fail later, before
anything is written, and raises a :class:`~trainlab.validate.ConfigError` naming the field
(:class:`~trainlab.search.space.SpaceError` for the search's own fields and the space).

Stages: ``trials`` are split over ``stages`` as evenly as possible (the first stages take the
remainder), or ``trials_per_stage`` each; after each stage but the last the ranges narrow around
the ``top_fraction`` best trials with a ``margin`` (:mod:`trainlab.search.narrowing`).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

from ..data import DataSpec
from ..model import ModelSpec
from ..optim import OPTIMIZERS
from ..options import integer, number, option
from ..trainer import TrainConfig
from ..validate import ConfigError
from .space import Param, SpaceError
from .targets import apply_params, resolve_path

__all__ = ["SearchConfig", "SAMPLERS", "PRUNERS", "SEARCH_KEYS"]

SAMPLERS = ("random", "tpe")
PRUNERS = ("none", "median", "halving", "hyperband")
#: the fields that say how to search (the rest say what is trained)
SEARCH_KEYS = ("trials", "stages", "trials_per_stage", "sampler", "pruner", "seed", "top_fraction", "margin")


@dataclass
class SearchConfig:
    """Base run options (model, training, data) + the space + how to search."""

    model: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    space: dict[str, Param] = field(default_factory=dict)
    trials: int = field(default=100, metadata=option("total number of trials", parse=integer, metavar="N"))
    stages: int = field(default=1, metadata=option("number of narrowing stages", parse=integer, metavar="K"))
    trials_per_stage: int | None = field(default=None, metadata=option(
        "trials per stage (default: --trials / --stages)", parse=integer, metavar="N"))
    sampler: str = field(default="random", metadata=option("random (the book's) or tpe; both seeded",
                                                           choices=SAMPLERS))
    pruner: str = field(default="none", metadata=option("early abandonment of poor trials", choices=PRUNERS))
    seed: int = field(default=0, metadata=option("sampler and training seed (each trial's seed derives from it)",
                                                 parse=integer))
    top_fraction: float = field(default=0.2, metadata=option(
        "fraction of a stage's trials the next stage's ranges enclose", parse=number, metavar="F"))
    margin: float = field(default=0.1, metadata=option(
        "margin around the top trials, as a fraction of the original span", parse=number, metavar="F"))

    # -- conversions -----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in SEARCH_KEYS}
        d.update(model=copy.deepcopy(self.model), training=copy.deepcopy(self.training),
                 data=dict(self.data), space={n: p.to_dict() for n, p in self.space.items()})
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "SearchConfig":
        out = cls(model=dict(d.get("model", {})), training=copy.deepcopy(d.get("training", {})),
                  data=dict(d.get("data", {})),
                  space={n: Param.from_dict(n, p) for n, p in d.get("space", {}).items()})
        for k in SEARCH_KEYS:
            if k in d:
                setattr(out, k, d[k])
        return out

    def copy(self) -> "SearchConfig":
        return SearchConfig.from_dict(self.to_dict())

    # -- the stage plan ----------------------------------------------------------------------------
    def stage_counts(self) -> list[int]:
        k = self.stages
        if self.trials_per_stage is not None:
            return [self.trials_per_stage] * k
        return [self.trials // k + (1 if i < self.trials % k else 0) for i in range(k)]

    @property
    def total_trials(self) -> int:
        return sum(self.stage_counts())

    @property
    def epochs(self) -> int:
        return int(self.training.get("epochs", TrainConfig.epochs))

    def data_spec(self) -> DataSpec:
        return DataSpec.from_dict(self.data)

    # -- validation ----------------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise a ConfigError naming the field for anything that would fail later."""
        self._validate_search()
        self._validate_base()
        self._validate_space()

    def _validate_search(self) -> None:
        tps = self.trials_per_stage  # first: --trials-per-stage alone sets trials from it
        if tps is not None and (isinstance(tps, bool) or not isinstance(tps, int) or tps < 1):
            raise SpaceError("trials_per_stage", f"trials per stage must be an integer >= 1, got {tps!r}")
        for name, lo in (("trials", 1), ("stages", 1), ("seed", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise SpaceError(name, f"{name} must be an integer >= {lo}, got {v!r}")
        if min(self.stage_counts()) < 1:
            raise SpaceError("stages", f"{self.trials} trials cannot fill {self.stages} stages")
        if self.sampler not in SAMPLERS:
            raise SpaceError("sampler", f"sampler must be one of {list(SAMPLERS)}, got {self.sampler!r}")
        if self.pruner not in PRUNERS:
            raise SpaceError("pruner", f"pruner must be one of {list(PRUNERS)}, got {self.pruner!r}")
        for name, ok, rng in (("top_fraction", lambda v: 0 < v <= 1, "(0, 1]"),
                              ("margin", lambda v: 0 <= v <= 1, "[0, 1]")):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not ok(v):
                raise SpaceError(name, f"{name} must be a number in {rng}, got {v!r}")

    def _validate_base(self) -> None:
        data = self.data_spec()  # unknown keys, bad values: ConfigError naming the field
        if not 0 < data.val_fraction < 1:
            raise SpaceError("val_fraction", "the search ranks trials on a validation split: val_fraction "
                                             f"must be in (0, 1), got {data.val_fraction!r}")
        if data.train_size is not None and data.train_size < 2:
            raise SpaceError("train_size", f"train_size {data.train_size} leaves no sample to validate on: the "
                                           f"search needs at least 2 (1 training, 1 validation)")
        ModelSpec.from_dict(self.model)
        TrainConfig.from_dict(self.training)
        if self.epochs < 1:
            raise SpaceError("epochs", f"each trial must train at least 1 epoch (the objective is the "
                                       f"validation accuracy after the last one), got {self.epochs}")

    def _optimizers(self) -> list[tuple[str, str]]:
        """The (optimizer, convention) pairs the search may train with."""
        convention = self.training.get("convention", "torch")
        opt = next((p for n, p in self.space.items() if resolve_path(n) == ("training", "optimizer")), None)
        if opt is not None and opt.type == "choice":
            names = [str(c) for c in opt.choices]
        else:
            names = [self.training.get("optimizer", TrainConfig.optimizer)]
        for name in names:
            if name not in OPTIMIZERS:
                raise SpaceError("space", f"optimizer choice {name!r} is not one of {list(OPTIMIZERS)}",
                                 param=opt.name if opt is not None else None)
        return [(name, convention) for name in names]

    def _validate_space(self) -> None:
        if not self.space:
            raise SpaceError("space", "the search space is empty: declare at least one parameter")
        optimizers = self._optimizers()
        targets: dict[tuple, str] = {}
        for name, p in self.space.items():
            key = resolve_path(name, optimizers)
            if key in targets:
                raise SpaceError("space", f"parameters {targets[key]!r} and {name!r} set the same option", param=name)
            targets[key] = name
            if key[1] == "hidden_sizes" and p.type != "choice":
                raise SpaceError("space", f"{name!r} is a list of layer widths: search it as a choice "
                                          f"(hidden_sizes=choice:100x6,50x4) or use hidden_width/hidden_layers",
                                 param=name)
            if key == ("training", "optimizer") and p.type != "choice":
                raise SpaceError("space", "'optimizer' can only be searched as a choice", param=name)
        # every bound and every choice must build a valid model and training configuration
        for name, p in self.space.items():
            for v in (p.choices if p.type == "choice" else (p.low, p.high)):
                try:
                    apply_params(self, {name: v})
                except (ConfigError, TypeError, ValueError) as exc:
                    raise SpaceError("space", f"search parameter {name!r} = {v!r} is not a valid value: {exc}",
                                     param=name) from None
