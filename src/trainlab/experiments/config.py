"""An experiment's configuration: its declared defaults, then its reduced size, then ``--set``.

    resolve_config("init-mnist", {"iterations": 500})
    resolve_config("batchnorm", ["epochs=5"], reduced=True, data_dir="~/data/fashion")

String values of ``--set key=value`` are parsed as JSON where possible (``lr=0.1`` → 0.1,
``hidden_sizes=[50,50]`` → a list, ``convention=book`` → 'book'), then checked against the key's
declaration (:mod:`.keys`): a key the experiment does not declare, a value of the wrong type or out
of range is a :class:`~trainlab.validate.ConfigError` naming the key and what it accepts, raised
before any work starts. Experiments that train on data get ``data_dir`` (None = the bundled MNIST).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..validate import ConfigError
from . import get
from .base import Experiment

__all__ = ["parse_value", "parse_overrides", "resolve_config"]


def parse_value(text: Any) -> Any:
    """``'0.1'`` → 0.1, ``'[50,50]'`` → [50, 50], ``'true'`` → True, ``'foo'`` → 'foo' (JSON, else the string)."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_overrides(items: Iterable[str] | Mapping[str, Any] | None) -> dict[str, Any]:
    """``['lr=0.1', 'hidden=[50,50]']`` (or a dict) → ``{'lr': 0.1, 'hidden': [50, 50]}``."""
    if items is None:
        return {}
    if isinstance(items, Mapping):
        return {str(k): parse_value(v) for k, v in items.items()}
    out = {}
    for item in items:
        key, sep, value = str(item).partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError("set", f"--set expects key=value, got {item!r}")
        out[key] = parse_value(value.strip())
    return out


def resolve_config(experiment: Experiment | str, overrides=None, reduced: bool = False,
                   data_dir=None) -> dict[str, Any]:
    """The experiment's defaults, its reduced overrides (if ``reduced``), then ``overrides``, checked."""
    exp = get(experiment) if isinstance(experiment, str) else experiment
    config = json.loads(json.dumps(exp.defaults()))  # a deep copy, and proof that it is JSON
    if reduced:
        config.update(json.loads(json.dumps(exp.reduced)))
    overrides = parse_overrides(overrides)
    unknown = [k for k in overrides if k not in exp.config]
    if unknown:
        hint = " (the dataset is chosen with --data-dir)" if "data_dir" in unknown else ""
        raise ConfigError(unknown[0], f"unknown key(s) {', '.join(map(repr, unknown))} for experiment "
                                      f"{exp.name!r}{hint}; valid keys are: {', '.join(exp.config)} "
                                      f"('trainlab list experiments' shows them with their defaults)")
    for key, value in overrides.items():
        config[key] = value
    for key, decl in exp.config.items():  # reduced values are checked too: a declaration bug shows here
        config[key] = decl.check(key, config[key])
    if exp.uses_data:  # before check_config, so that a rule can compare a count with the dataset
        config["data_dir"] = str(Path(data_dir).expanduser().resolve()) if data_dir is not None else None
    check = getattr(exp, "check_config", None)
    if check is not None:
        check(config)
    return config
