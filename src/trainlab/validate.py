"""Argument checks that fail where the user passed the value, naming it and what is accepted."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

__all__ = [
    "ConfigError",
    "ConfigTypeError",
    "UnknownKeyError",
    "check_choice",
    "check_positive",
    "check_nonnegative",
    "check_unit_interval",
    "check_inputs",
    "check_labels",
    "check_known_keys",
    "from_fields",
]


class ConfigError(ValueError):
    """A bad configuration value. ``field`` names the option that was wrong (``'lr'``,
    ``'hidden_sizes'``, …), so a command can name its flag without reading the message."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class ConfigTypeError(ConfigError, TypeError):
    """A value of the wrong type (also a TypeError)."""


class UnknownKeyError(ConfigTypeError):
    """Keys that a configuration does not accept (a TypeError, like a bad keyword argument)."""


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def check_choice(kind: str, name, valid: Iterable[str], field: str | None = None):
    """Return ``name`` lower-cased if it is one of ``valid``; else raise listing the valid names.

    ``kind`` is the words of the message ("optimizer convention"); ``field`` the option's name
    (default: ``kind`` with spaces as underscores)."""
    valid = list(valid)
    key = name.lower() if isinstance(name, str) else name
    if key not in valid:
        raise ConfigError(field or kind.replace(" ", "_"),
                          f"unknown {kind} {name!r}; valid {kind}s are: {', '.join(valid)}")
    return key


def check_positive(name: str, value) -> float:
    """``value`` > 0 and finite."""
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        raise ConfigError(name, f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_nonnegative(name: str, value) -> float:
    """``value`` >= 0 and finite."""
    if not _is_number(value) or not math.isfinite(value) or value < 0:
        raise ConfigError(name, f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_unit_interval(name: str, value) -> float:
    """``value`` in [0, 1)."""
    if not _is_number(value) or not (0.0 <= value < 1.0):
        raise ConfigError(name, f"{name} must be in [0, 1), got {value!r}")
    return float(value)


def check_inputs(x, input_size: int, *, name: str = "x") -> np.ndarray:
    """A batch of inputs: 2-D ``(N, input_size)`` (or any ``(N, ...)`` with that many features), all finite."""
    x = np.asarray(x)
    if x.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold numbers, got dtype {x.dtype}")
    if x.ndim == 1:
        raise ValueError(
            f"{name} must be a batch of shape (N, {input_size}); got a 1-D array of shape {x.shape} "
            f"(use x[None, :] for a single sample)"
        )
    if x.ndim > 2:
        x = x.reshape(x.shape[0], -1)
    if x.shape[1] != input_size:
        raise ValueError(f"{name} has {x.shape[1]} features per sample but the model expects input_size={input_size}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 samples)")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise ValueError(f"{name} contains {bad} NaN or inf value(s); inputs must be finite")
    return x


def check_labels(t, n_samples: int, num_classes: int, *, name: str = "t") -> np.ndarray:
    """Integer labels ``(N,)`` in ``[0, num_classes)`` or one-hot/probability rows ``(N, num_classes)``."""
    t = np.asarray(t)
    if t.ndim == 1:
        if t.shape[0] != n_samples:
            raise ValueError(f"{name} has {t.shape[0]} labels for {n_samples} samples")
        if t.dtype.kind == "f":
            if not np.all(np.isfinite(t)) or not np.all(t == np.round(t)):
                raise ValueError(f"{name} must hold integer class labels, got non-integer values")
            t = t.astype(np.int64)
        elif t.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integer class labels, got dtype {t.dtype}")
        if t.size and (t.min() < 0 or t.max() >= num_classes):
            raise ValueError(
                f"{name} has labels in [{t.min()}, {t.max()}]; accepted labels are 0..{num_classes - 1}"
            )
        return t
    if t.ndim == 2:
        if t.shape != (n_samples, num_classes):
            raise ValueError(f"one-hot {name} must have shape ({n_samples}, {num_classes}), got {t.shape}")
        if not np.all(np.isfinite(t)):
            raise ValueError(f"{name} contains NaN or inf")
        return t
    raise ValueError(f"{name} must be integer labels (N,) or one-hot (N, {num_classes}), got shape {t.shape}")


def from_fields(cls, d: Mapping, kind: str):
    """``cls(**d)`` for a dataclass, after refusing keys that are not its fields (naming them and
    the accepted ones); ``kind`` is the words of the message ("model option")."""
    import dataclasses

    known = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(d) - set(known))
    if unknown:
        raise UnknownKeyError(unknown[0], f"unknown {kind}(s) {unknown}; accepted: {sorted(known)}")
    return cls(**d)


def check_known_keys(kind: str, given: Mapping, accepted: Iterable[str]) -> None:
    """Raise naming any key of ``given`` that is not in ``accepted``."""
    accepted = list(accepted)
    unknown = [k for k in given if k not in accepted]
    if unknown:
        raise UnknownKeyError(unknown[0], f"unknown {kind} {', '.join(map(repr, unknown))}; "
                                          f"accepted: {', '.join(accepted)}")
