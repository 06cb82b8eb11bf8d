"""Weight initialisers, each named for what it is.

Weights are laid out as the book's ``(fan_in, fan_out)``: ``y = x·W + b``, so
``fan_in = shape[0]`` and ``fan_out = shape[1]`` (PyTorch's ``nn.Linear`` stores the transpose).

=====================  =======================================  ===========================
name                   distribution                             torch.nn.init equivalent
=====================  =======================================  ===========================
zeros                  W = 0                                    zeros_
constant               W = value                                constant_
normal                 N(0, std²)                               normal_(std=std)
lecun_normal           N(0, 1/fan_in)                           kaiming_normal_(nonlinearity='linear')
glorot_normal          N(0, 2/(fan_in+fan_out))                 xavier_normal_
glorot_uniform         U(±√(6/(fan_in+fan_out)))                xavier_uniform_
he_normal              N(0, 2/fan_in)                           kaiming_normal_(nonlinearity='relu')
he_uniform             U(±√(6/fan_in))                          kaiming_uniform_(nonlinearity='relu')
=====================  =======================================  ===========================

Aliases: ``xavier_normal``/``xavier_uniform`` are Glorot's, ``kaiming_normal``/``kaiming_uniform``
are He's. The book's spellings map as its code does: ``'relu'`` and ``'he'`` → ``he_normal``;
``'sigmoid'`` and ``'xavier'`` → ``lecun_normal`` (the book's "Xavier" is fan-in only, √(1/n));
a number → ``normal`` with that std. Biases always start at zero, as in the book.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .validate import ConfigError, ConfigTypeError, check_choice

__all__ = ["INITIALIZERS", "BOOK_ALIASES", "resolve_init", "make_weight", "init_std"]

Initializer = Callable[[np.random.Generator, tuple[int, int], float], np.ndarray]


def _normal(std_of: Callable[[int, int], float]):
    def init(rng, shape, value=0.0):
        return rng.standard_normal(shape) * std_of(shape[0], shape[1])

    return init


def _uniform(bound_of: Callable[[int, int], float]):
    def init(rng, shape, value=0.0):
        a = bound_of(shape[0], shape[1])
        return rng.uniform(-a, a, size=shape)

    return init


INITIALIZERS: dict[str, Initializer] = {
    "zeros": lambda rng, shape, value=0.0: np.zeros(shape),
    "constant": lambda rng, shape, value=0.0: np.full(shape, float(value)),
    "normal": lambda rng, shape, value=0.01: rng.standard_normal(shape) * float(value),
    "lecun_normal": _normal(lambda fi, fo: math.sqrt(1.0 / fi)),
    "glorot_normal": _normal(lambda fi, fo: math.sqrt(2.0 / (fi + fo))),
    "glorot_uniform": _uniform(lambda fi, fo: math.sqrt(6.0 / (fi + fo))),
    "he_normal": _normal(lambda fi, fo: math.sqrt(2.0 / fi)),
    "he_uniform": _uniform(lambda fi, fo: math.sqrt(6.0 / fi)),
}

ALIASES: dict[str, str] = {
    "xavier_normal": "glorot_normal",
    "xavier_uniform": "glorot_uniform",
    "kaiming_normal": "he_normal",
    "kaiming_uniform": "he_uniform",
}

#: The book's ``weight_init_std`` strings and what they really are.
BOOK_ALIASES: dict[str, str] = {
    "relu": "he_normal",
    "he": "he_normal",
    "sigmoid": "lecun_normal",
    "xavier": "lecun_normal",
}


def resolve_init(init) -> tuple[str, float]:
    """Map a user's ``init`` (a name, a book spelling, or a number = std) to ``(canonical_name, value)``."""
    if isinstance(init, (int, float, np.integer, np.floating)) and not isinstance(init, bool):
        std = float(init)
        if not math.isfinite(std) or std < 0:
            raise ConfigError("init", f"init std must be a finite number >= 0, got {init!r}")
        return "normal", std
    if isinstance(init, str):
        try:
            return "normal", _positive_float(init)
        except ValueError:
            pass
        key = init.lower()
        key = BOOK_ALIASES.get(key, ALIASES.get(key, key))
        valid = list(INITIALIZERS) + list(ALIASES) + list(BOOK_ALIASES) + ["a number (the std)"]
        if key not in INITIALIZERS:
            check_choice("initialiser", init, valid, field="init")
        return key, 0.01 if key == "normal" else 0.0
    raise ConfigTypeError("init", f"init must be an initialiser name or a number (std), got {init!r}")


def _positive_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise ValueError(text)
    return value


def init_std(name: str, fan_in: int, fan_out: int, value: float = 0.0) -> float:
    """The standard deviation the initialiser ``name`` aims for (used by tests and reports)."""
    return {
        "zeros": 0.0,
        "constant": 0.0,
        "normal": value,
        "lecun_normal": math.sqrt(1.0 / fan_in),
        "glorot_normal": math.sqrt(2.0 / (fan_in + fan_out)),
        "glorot_uniform": math.sqrt(2.0 / (fan_in + fan_out)),
        "he_normal": math.sqrt(2.0 / fan_in),
        "he_uniform": math.sqrt(2.0 / fan_in),
    }[name]


def make_weight(init, rng: np.random.Generator, shape: tuple[int, int], value: float | None = None) -> np.ndarray:
    """Draw a float64 weight matrix of ``shape = (fan_in, fan_out)`` with ``init``."""
    name, default_value = resolve_init(init)
    return INITIALIZERS[name](rng, shape, default_value if value is None else value)
