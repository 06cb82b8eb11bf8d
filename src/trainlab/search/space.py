"""The search configuration: base run options plus a search space, declared in one place.

A search configuration is the book's run (§6.5: 500 MNIST training samples, 20% of them held out
for validation, MLP 784-[100]*6-10, SGD, 50 epochs, batch 100) plus a *space*: one entry per
searched option. Each entry is one of

    {"type": "log",     "low": 1e-6, "high": 1e-2}     log-uniform float (low > 0)
    {"type": "uniform", "low": 0.0,  "high": 0.5}      uniform float
    {"type": "int",     "low": 1,    "high": 8}        integer (add "log": true for log-uniform)
    {"type": "choice",  "choices": ["sgd", "adam"]}    one of a list

A parameter path names a ModelSpec field (``weight_decay``, ``dropout``, ``init``, ``hidden_sizes``,
…), a TrainConfig field (``batch_size``, ``optimizer``, ``epochs``, …) or an optimizer
hyperparameter (``lr``, ``momentum``, ``b1``, …). A bare name is looked up in that order, so
``weight_decay`` is the model's L2 penalty (the book's ``weight_decay_lambda``); prefix with
``model.``, ``training.`` or ``optim.`` to be explicit (``optim.weight_decay`` is the optimizer's
own decay). Two shorthands shape the hidden layers: ``hidden_width`` (every hidden layer's width)
and ``hidden_layers`` (their number). ``hidden_sizes`` choices are written ``"100x6"`` (six layers of
100) or ``"100-50"`` (two layers).

TOML (``--config FILE``)::

    [search]                  # trials, stages, sampler, pruner, seed, top_fraction, margin
    trials = 100
    [model]                   # ModelSpec fields
    hidden_sizes = [100, 100, 100, 100, 100, 100]
    [training]                # TrainConfig fields; optimizer hyperparameters in optimizer_params
    epochs = 50
    [data]
    train_size = 500
    val_fraction = 0.2
    [space.lr]
    type = "log"
    low = 1e-6
    high = 1e-2

A ``[space]`` table in the file replaces the default space; ``--param`` entries are added on top.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Any

from ..model import ModelSpec
from ..optim import OPTIMIZERS
from ..trainer import TrainConfig

__all__ = ["Param", "SearchConfig", "SpaceError", "book_config", "parse_param", "apply_params",
           "resolve_path", "PARAM_SYNTAX", "PRUNERS", "SAMPLERS"]

TYPES = ("log", "uniform", "int", "choice")
SAMPLERS = ("random", "tpe")
PRUNERS = ("none", "median", "halving", "hyperband")
SHORTHANDS = ("hidden_width", "hidden_layers")
MODEL_FIELDS = tuple(f.name for f in dataclasses.fields(ModelSpec))
TRAIN_FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig) if f.name != "optimizer_params")

PARAM_SYNTAX = """\
--param NAME=SPEC (repeatable) adds or replaces one search-space entry:
  lr=log:1e-6:1e-2                 log-uniform float in [1e-6, 1e-2]
  dropout=uniform:0:0.5            uniform float
  batch_size=int:32:256            integer (int-log:32:256 for log-uniform integers)
  optimizer=choice:sgd,adam        one of a list (numbers are read as numbers)
  hidden_sizes=choice:100x6,50x4   hidden layers: WIDTHxCOUNT or W1-W2-... per choice
  hidden_width=int:20:200          every hidden layer's width (hidden_layers: their number)
NAME is a model option (weight_decay, dropout, init, ...), a training option (batch_size,
optimizer, ...) or an optimizer hyperparameter (lr, momentum, b1, ...); a bare weight_decay is
the model's L2 penalty (the book's), optim.weight_decay the optimizer's own."""


class SpaceError(ValueError):
    """A search configuration that cannot be searched (reported as a usage error)."""


@dataclass(frozen=True)
class Param:
    """One searched option: a float/int range (``log`` for log scale) or a list of choices."""

    name: str
    type: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    choices: tuple = ()

    def __post_init__(self):
        if self.type not in TYPES:
            raise SpaceError(f"search parameter {self.name!r}: unknown type {self.type!r}; use one of {list(TYPES)}")
        if self.type == "log":
            object.__setattr__(self, "log", True)
        if self.type == "choice":
            if not self.choices:
                raise SpaceError(f"search parameter {self.name!r}: a choice needs at least one value")
            if len(set(map(repr, self.choices))) != len(self.choices):
                raise SpaceError(f"search parameter {self.name!r}: repeated choices {list(self.choices)}")
            return
        for bound in ("low", "high"):
            v = getattr(self, bound)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise SpaceError(f"search parameter {self.name!r}: {bound} must be a finite number, got {v!r}")
        if self.type == "int":
            for bound in ("low", "high"):
                v = getattr(self, bound)
                if float(v) != int(v):
                    raise SpaceError(f"search parameter {self.name!r}: integer range needs integer bounds, got {v!r}")
                object.__setattr__(self, bound, int(v))
        if not self.low < self.high:
            what = "empty" if self.low == self.high else "inverted"
            raise SpaceError(f"search parameter {self.name!r}: the range [{self.low}, {self.high}] is {what}; "
                             f"low must be < high")
        if self.log and self.low <= 0:
            raise SpaceError(f"search parameter {self.name!r}: a log range needs low > 0, got low={self.low}")

    # -- conversions -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        if self.type == "choice":
            return {"type": "choice", "choices": list(self.choices)}
        d = {"type": self.type, "low": self.low, "high": self.high}
        if self.type == "int" and self.log:
            d["log"] = True
        return d

    @classmethod
    def from_dict(cls, name: str, d: dict) -> "Param":
        if not isinstance(d, dict) or "type" not in d:
            raise SpaceError(f"search parameter {name!r}: expected a table with 'type' "
                             f"(one of {list(TYPES)}), got {d!r}")
        known = {"type", "low", "high", "log", "choices"}
        extra = set(d) - known
        if extra:
            raise SpaceError(f"search parameter {name!r}: unknown key(s) {sorted(extra)}; accepted: {sorted(known)}")
        if d["type"] == "choice":
            choices = d.get("choices")
            if not isinstance(choices, (list, tuple)):
                raise SpaceError(f"search parameter {name!r}: 'choices' must be a list, got {choices!r}")
            return cls(name, "choice", choices=tuple(_canonical_choice(name, c) for c in choices))
        for bound in ("low", "high"):
            if bound not in d:
                raise SpaceError(f"search parameter {name!r}: missing {bound!r}")
        return cls(name, d["type"], d["low"], d["high"], log=bool(d.get("log", False)))

    def describe(self) -> str:
        if self.type == "choice":
            return f"{self.name} ∈ {{{', '.join(map(str, self.choices))}}}"
        kind = "log" if self.type == "log" else f"{self.type}, log" if self.log else self.type
        return f"{self.name} ∈ [{self.low:.4g}, {self.high:.4g}] ({kind})"

    def suggest(self, trial):
        """Ask an Optuna trial for this parameter."""
        if self.type == "choice":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.type == "int":
            return trial.suggest_int(self.name, self.low, self.high, log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)

    def distribution(self):
        import optuna.distributions as d

        if self.type == "choice":
            return d.CategoricalDistribution(list(self.choices))
        if self.type == "int":
            return d.IntDistribution(self.low, self.high, log=self.log)
        return d.FloatDistribution(self.low, self.high, log=self.log)


def _canonical_choice(name: str, value):
    """Optuna choices are scalars: hidden layer lists become 'W1-W2-…' strings."""
    if isinstance(value, (list, tuple)):
        if resolve_path(name)[1] != "hidden_sizes":
            raise SpaceError(f"search parameter {name!r}: choices must be numbers, strings or booleans, got {value!r}")
        return "-".join(str(int(v)) for v in value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise SpaceError(f"search parameter {name!r}: unsupported choice {value!r}")


def parse_hidden(value) -> tuple[int, ...]:
    """'100x6' → (100,)*6; '100-50' → (100, 50); a list stays a list."""
    if isinstance(value, (list, tuple)):
        return tuple(int(v) for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,)
    text = str(value).strip()
    m = re.fullmatch(r"(\d+)x(\d+)", text)
    if m:
        return (int(m.group(1)),) * int(m.group(2))
    if re.fullmatch(r"\d+(-\d+)*", text):
        return tuple(int(v) for v in text.split("-"))
    raise SpaceError(f"hidden layers {value!r}: write WIDTHxCOUNT (100x6) or W1-W2-... (100-50)")


def _number_or_text(text: str):
    t = text.strip()
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    for conv in (int, float):
        try:
            return conv(t)
        except ValueError:
            pass
    return t


def parse_param(text: str) -> Param:
    """``'lr=log:1e-6:1e-2'`` → Param (see :data:`PARAM_SYNTAX`)."""
    name, sep, spec = text.partition("=")
    name = name.strip()
    if not sep or not name or not spec:
        raise SpaceError(f"--param {text!r}: expected NAME=TYPE:..., e.g. lr=log:1e-6:1e-2")
    kind, _, rest = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "choice":
        if not rest.strip():
            raise SpaceError(f"--param {text!r}: a choice needs values, e.g. optimizer=choice:sgd,adam")
        return Param(name, "choice", choices=tuple(_number_or_text(v) for v in rest.split(",")))
    if kind in ("log", "uniform", "int", "int-log"):
        parts = rest.split(":")
        if len(parts) != 2:
            raise SpaceError(f"--param {text!r}: expected {kind}:LOW:HIGH")
        try:
            low, high = (float(p) for p in parts)
        except ValueError:
            raise SpaceError(f"--param {text!r}: LOW and HIGH must be numbers") from None
        if kind.startswith("int"):
            return Param(name, "int", low, high, log=kind == "int-log")
        return Param(name, kind, low, high)
    raise SpaceError(f"--param {text!r}: unknown type {kind!r}; use log, uniform, int, int-log or choice")


def resolve_path(name: str, optimizers=None) -> tuple[str, str]:
    """``(section, key)`` with section 'model', 'training', 'optim' or 'hidden'."""
    prefix, dot, key = name.partition(".")
    if dot:
        sections = {"model": MODEL_FIELDS, "training": TRAIN_FIELDS, "optim": None}
        if prefix not in sections:
            raise SpaceError(f"unknown parameter path {name!r}: prefix must be model., training. or optim.")
        if prefix != "optim" and key not in sections[prefix]:
            raise SpaceError(f"unknown parameter path {name!r}: {prefix} options are {list(sections[prefix])}")
        if prefix == "optim":
            _check_optim_key(name, key, optimizers)
        return prefix, key
    if name in SHORTHANDS:
        return "hidden", name
    if name in MODEL_FIELDS:
        return "model", name
    if name in TRAIN_FIELDS:
        return "training", name
    known_hp = sorted({k for cls in OPTIMIZERS.values() for conv in cls.DEFAULTS.values() for k in conv})
    if name in known_hp:
        _check_optim_key(name, name, optimizers)
        return "optim", name
    raise SpaceError(f"unknown parameter path {name!r}: not a model option {list(MODEL_FIELDS)}, a training "
                     f"option {list(TRAIN_FIELDS)}, an optimizer hyperparameter {known_hp} or one of {list(SHORTHANDS)}")


def _check_optim_key(name, key, optimizers):
    if optimizers is None:
        return
    for opt, convention in optimizers:
        if key not in OPTIMIZERS[opt].DEFAULTS[convention]:
            raise SpaceError(f"parameter {name!r}: optimizer {opt!r} ({convention} convention) has no "
                             f"hyperparameter {key!r}; it accepts {sorted(OPTIMIZERS[opt].DEFAULTS[convention])}")


@dataclass
class SearchConfig:
    """Base run options (model, training, data) + the space + how to search."""

    model: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    space: dict[str, Param] = field(default_factory=dict)
    trials: int = 100
    stages: int = 1
    trials_per_stage: int | None = None
    sampler: str = "random"
    pruner: str = "none"
    seed: int = 0
    top_fraction: float = 0.2
    margin: float = 0.1

    SEARCH_KEYS = ("trials", "stages", "trials_per_stage", "sampler", "pruner", "seed", "top_fraction", "margin")

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.SEARCH_KEYS}
        d.update(model=copy.deepcopy(self.model), training=copy.deepcopy(self.training),
                 data=dict(self.data), space={n: p.to_dict() for n, p in self.space.items()})
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "SearchConfig":
        out = cls(model=dict(d.get("model", {})), training=dict(d.get("training", {})),
                  data=dict(d.get("data", {})),
                  space={n: Param.from_dict(n, p) for n, p in d.get("space", {}).items()})
        for k in cls.SEARCH_KEYS:
            if k in d:
                setattr(out, k, d[k])
        return out

    def merge_toml(self, doc: dict) -> None:
        """Overlay a parsed TOML document (sections search/model/training/data/space)."""
        known = {"search", "model", "training", "data", "space"}
        extra = set(doc) - known
        if extra:
            raise SpaceError(f"unknown section(s) {sorted(extra)} in the configuration; accepted: {sorted(known)}")
        for k, v in doc.get("search", {}).items():
            if k not in self.SEARCH_KEYS:
                raise SpaceError(f"unknown [search] option {k!r}; accepted: {list(self.SEARCH_KEYS)}")
            setattr(self, k, v)
        for section in ("model", "training", "data"):
            target = getattr(self, section)
            for k, v in doc.get(section, {}).items():
                if section == "training" and k == "optimizer_params":
                    target[k] = dict(v)
                else:
                    target[k] = v
        if "space" in doc:
            self.space = {n: Param.from_dict(n, p) for n, p in doc["space"].items()}

    # -- the stage plan -----------------------------------------------------------------------
    def stage_counts(self) -> list[int]:
        k = self.stages
        if self.trials_per_stage is not None:
            return [self.trials_per_stage] * k
        return [self.trials // k + (1 if i < self.trials % k else 0) for i in range(k)]

    @property
    def total_trials(self) -> int:
        return sum(self.stage_counts())

    # -- validation ----------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`SpaceError` for anything that would fail later (before anything is written)."""
        for name, lo in (("trials", 1), ("stages", 1), ("seed", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise SpaceError(f"{name} must be an integer >= {lo}, got {v!r}")
        if self.trials_per_stage is not None and (not isinstance(self.trials_per_stage, int)
                                                   or self.trials_per_stage < 1):
            raise SpaceError(f"trials per stage must be an integer >= 1, got {self.trials_per_stage!r}")
        if min(self.stage_counts()) < 1:
            raise SpaceError(f"{self.trials} trials cannot fill {self.stages} stages")
        if self.sampler not in SAMPLERS:
            raise SpaceError(f"sampler must be one of {list(SAMPLERS)}, got {self.sampler!r}")
        if self.pruner not in PRUNERS:
            raise SpaceError(f"pruner must be one of {list(PRUNERS)}, got {self.pruner!r}")
        if not 0 < self.top_fraction <= 1:
            raise SpaceError(f"top_fraction must be in (0, 1], got {self.top_fraction!r}")
        if not 0 <= self.margin <= 1:
            raise SpaceError(f"margin must be in [0, 1], got {self.margin!r}")
        if not self.space:
            raise SpaceError("the search space is empty: declare at least one parameter")
        known_data = {"train_size", "val_fraction", "split_seed"}
        extra = set(self.data) - known_data
        if extra:
            raise SpaceError(f"unknown data option(s) {sorted(extra)}; accepted: {sorted(known_data)}")
        if not 0 < float(self.data.get("val_fraction", 0.2)) < 1:
            raise SpaceError("the search needs a validation split: data.val_fraction must be in (0, 1)")
        try:
            ModelSpec.from_dict(self.model)
            TrainConfig.from_dict(self.training)
        except (TypeError, ValueError) as exc:
            raise SpaceError(f"base options: {exc}") from None
        # the optimizers the search may use, to check optimizer hyperparameter paths
        opt_param = next((p for n, p in self.space.items() if _is(n, "training", "optimizer")), None)
        convention = self.training.get("convention", "torch")
        optimizers = ([(str(c), convention) for c in opt_param.choices] if opt_param is not None
                      and opt_param.type == "choice" else [(self.training.get("optimizer", "sgd"), convention)])
        for opt, _ in optimizers:
            if opt not in OPTIMIZERS:
                raise SpaceError(f"optimizer choice {opt!r} is not one of {list(OPTIMIZERS)}")
        targets = {}
        for name, p in self.space.items():
            key = resolve_path(name, optimizers)
            if key in targets:
                raise SpaceError(f"parameters {targets[key]!r} and {name!r} set the same option")
            targets[key] = name
            if key[1] == "hidden_sizes" and p.type != "choice":
                raise SpaceError(f"{name!r} is a list of layer widths: search it as a choice "
                                 f"(hidden_sizes=choice:100x6,50x4) or use hidden_width/hidden_layers")
            if key == ("training", "optimizer") and p.type != "choice":
                raise SpaceError("'optimizer' can only be searched as a choice")
        # every bound and every choice must build a valid model and training configuration
        for name, p in self.space.items():
            values = p.choices if p.type == "choice" else (p.low, p.high)
            for v in values:
                try:
                    apply_params(self, {name: v})
                except (TypeError, ValueError) as exc:
                    raise SpaceError(f"search parameter {name!r} = {v!r} is not a valid value: {exc}") from None


def _is(name, section, key):
    prefix, dot, rest = name.partition(".")
    return (prefix == section and rest == key) if dot else name == key


def apply_params(config: SearchConfig, params: dict[str, Any]) -> tuple[ModelSpec, TrainConfig]:
    """The model spec and training configuration of one trial."""
    model = copy.deepcopy(config.model)
    training = copy.deepcopy(config.training)
    training.setdefault("optimizer_params", {})
    hidden = {}
    for name, value in params.items():
        section, key = resolve_path(name)
        if section == "model":
            model[key] = parse_hidden(value) if key == "hidden_sizes" else value
        elif section == "training":
            training[key] = value
        elif section == "optim":
            training["optimizer_params"][key] = value
        else:
            hidden[key] = int(value)
    if hidden:
        base = tuple(model.get("hidden_sizes", ModelSpec.hidden_sizes))
        width = hidden.get("hidden_width", base[0] if base else 100)
        layers = hidden.get("hidden_layers", len(base))
        model["hidden_sizes"] = (width,) * layers
    # an optimizer switched by the search drops the base optimizer's hyperparameters it lacks
    opt = training.get("optimizer", "sgd")
    accepted = OPTIMIZERS[opt].DEFAULTS[training.get("convention", "torch")] if opt in OPTIMIZERS else {}
    training["optimizer_params"] = {k: v for k, v in training["optimizer_params"].items() if k in accepted}
    return ModelSpec.from_dict(model), TrainConfig.from_dict(training)


def book_config() -> SearchConfig:
    """The book's §6.5 search: 100 random trials of lr = 10^U(−6,−2), weight decay = 10^U(−8,−4)."""
    return SearchConfig(
        model={"input_size": 784, "hidden_sizes": [100] * 6, "output_size": 10, "activation": "relu",
               "init": "he", "weight_decay": 0.0},
        training={"epochs": 50, "batch_size": 100, "optimizer": "sgd", "optimizer_params": {"lr": 0.01},
                  "seed": 0},
        data={"train_size": 500, "val_fraction": 0.2, "split_seed": 0},
        space={"lr": Param("lr", "log", 1e-6, 1e-2), "weight_decay": Param("weight_decay", "log", 1e-8, 1e-4)},
        trials=100, stages=1, sampler="random", pruner="none", seed=0,
    )
