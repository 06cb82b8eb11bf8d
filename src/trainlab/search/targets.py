"""What a search parameter sets in the base run: a model option, a training option or an
optimizer hyperparameter, and the model and training configuration of one trial.

A bare name is looked up in that order, so ``weight_decay`` is the model's L2 penalty ½λ‖W‖² (the
book's ``weight_decay_lambda``); ``model.``, ``training.`` or ``optim.`` say it explicitly
(``optim.weight_decay`` is the optimizer's own decay). Two shorthands shape the hidden layers:
``hidden_width`` (every hidden layer's width) and ``hidden_layers`` (their number).
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from ..model import ModelSpec
from ..optim import OPTIMIZERS
from ..options import parse_hidden
from ..trainer import TrainConfig
from .space import SpaceError

__all__ = ["resolve_path", "apply_params", "searched", "MODEL_FIELDS", "TRAIN_FIELDS", "SHORTHANDS"]

SHORTHANDS = ("hidden_width", "hidden_layers")
MODEL_FIELDS = tuple(f.name for f in dataclasses.fields(ModelSpec))
TRAIN_FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig) if f.name != "optimizer_params")


def _hyperparameters() -> list[str]:
    return sorted({k for cls in OPTIMIZERS.values() for conv in cls.DEFAULTS.values() for k in conv})


def resolve_path(name: str, optimizers=None) -> tuple[str, str]:
    """``(section, key)`` with section 'model', 'training', 'optim' or 'hidden'.

    ``optimizers``: ``[(optimizer, convention)]`` the search may use; an optimizer hyperparameter
    must belong to each of them."""
    def bad(message: str) -> SpaceError:
        return SpaceError("space", message, param=name)

    prefix, dot, key = name.partition(".")
    if dot:
        sections = {"model": MODEL_FIELDS, "training": TRAIN_FIELDS, "optim": None}
        if prefix not in sections:
            raise bad(f"unknown parameter path {name!r}: prefix must be model., training. or optim.")
        if prefix != "optim" and key not in sections[prefix]:
            raise bad(f"unknown parameter path {name!r}: {prefix} options are {list(sections[prefix])}")
        if prefix == "optim":
            _check_optim_key(name, key, optimizers)
        return prefix, key
    if name in SHORTHANDS:
        return "hidden", name
    if name in MODEL_FIELDS:
        return "model", name
    if name in TRAIN_FIELDS:
        return "training", name
    if name in _hyperparameters():
        _check_optim_key(name, name, optimizers)
        return "optim", name
    raise bad(f"unknown parameter path {name!r}: not a model option {list(MODEL_FIELDS)}, a training "
              f"option {list(TRAIN_FIELDS)}, an optimizer hyperparameter {_hyperparameters()} or one of "
              f"{list(SHORTHANDS)}")


def _check_optim_key(name: str, key: str, optimizers) -> None:
    for opt, convention in optimizers or ():
        accepted = OPTIMIZERS[opt].DEFAULTS[convention]
        if key not in accepted:
            raise SpaceError("space", f"parameter {name!r}: optimizer {opt!r} ({convention} convention) has no "
                                      f"hyperparameter {key!r}; it accepts {sorted(accepted)}", param=name)


def searched(space, section: str, key: str) -> bool:
    """Whether a parameter of ``space`` (names) sets ``section.key`` (written bare or with its prefix)."""
    for name in space:
        prefix, dot, rest = name.partition(".")
        if (prefix == section and rest == key) if dot else name == key:
            return True
    return False


def apply_params(config, params: dict[str, Any]) -> tuple[ModelSpec, TrainConfig]:
    """The model spec and training configuration of one trial: the base run's options
    (``config.model``, ``config.training`` of a SearchConfig) with the trial's ``params`` set.
    Raises ConfigError for a bad value. Input and output sizes are the data's (set by the caller)."""
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
    opt = training.get("optimizer", TrainConfig.optimizer)
    accepted = OPTIMIZERS[opt].DEFAULTS[training.get("convention", "torch")] if opt in OPTIMIZERS else {}
    training["optimizer_params"] = {k: v for k, v in training["optimizer_params"].items() if k in accepted}
    return ModelSpec.from_dict(model), TrainConfig.from_dict(training)
