"""The search space: one :class:`Param` per searched option, a range or a list of choices.

    Param("lr", "log", 1e-6, 1e-2)            lr = 10^U(−6, −2), log-uniform (the book's)
    Param("dropout", "uniform", 0.0, 0.5)     p ~ U(0, 0.5)
    Param("batch_size", "int", 32, 256)       an integer (log=True: log-uniform integers)
    Param("optimizer", "choice", choices=("sgd", "adam"))

As a table (TOML ``[space.NAME]``, ``run.json``): ``{"type": "log", "low": 1e-6, "high": 1e-2}``,
``{"type": "choice", "choices": [...]}``. A parameter asks an Optuna trial for its value
(:meth:`Param.suggest`) or gives its Optuna distribution (:meth:`Param.distribution`).

Errors are :class:`SpaceError`, a :class:`~trainlab.validate.ConfigError` whose ``field`` is
``"space"`` and whose ``param`` names the parameter, so a command can name the option that
declared it (``--param`` or ``--config``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..validate import ConfigError
from .numbers import fmt

__all__ = ["Param", "SpaceError", "TYPES", "canonical_choice"]

TYPES = ("log", "uniform", "int", "choice")


class SpaceError(ConfigError):
    """A search configuration that cannot be searched. ``field`` is the configuration field that is
    wrong (``"space"`` for a search parameter, ``"trials"``, …); ``param`` the search parameter."""

    def __init__(self, field: str, message: str, param: str | None = None):
        super().__init__(field, message)
        self.param = param


def _bad(name: str, message: str) -> SpaceError:
    return SpaceError("space", f"search parameter {name!r}: {message}", param=name)


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
            raise _bad(self.name, f"unknown type {self.type!r}; use one of {list(TYPES)}")
        if self.type == "log":
            object.__setattr__(self, "log", True)
        if self.type == "choice":
            if not self.choices:
                raise _bad(self.name, "a choice needs at least one value")
            if len(set(map(repr, self.choices))) != len(self.choices):
                raise _bad(self.name, f"repeated choices {list(self.choices)}")
            return
        for bound in ("low", "high"):
            v = getattr(self, bound)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise _bad(self.name, f"{bound} must be a finite number, got {v!r}")
        if self.type == "int":
            for bound in ("low", "high"):
                v = getattr(self, bound)
                if float(v) != int(v):
                    raise _bad(self.name, f"integer range needs integer bounds, got {v!r}")
                object.__setattr__(self, bound, int(v))
        if not self.low < self.high:
            what = "empty" if self.low == self.high else "inverted"
            raise _bad(self.name, f"the range [{fmt(self.low)}, {fmt(self.high)}] is {what}; low must be < high")
        if self.log and self.low <= 0:
            raise _bad(self.name, f"a log range needs low > 0, got low={fmt(self.low)}")

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
            raise _bad(name, f"expected a table with 'type' (one of {list(TYPES)}), got {d!r}")
        known = {"type", "low", "high", "log", "choices"}
        extra = set(d) - known
        if extra:
            raise _bad(name, f"unknown key(s) {sorted(extra)}; accepted: {sorted(known)}")
        if d["type"] == "choice":
            choices = d.get("choices")
            if not isinstance(choices, (list, tuple)):
                raise _bad(name, f"'choices' must be a list, got {choices!r}")
            return cls(name, "choice", choices=tuple(canonical_choice(name, c) for c in choices))
        for bound in ("low", "high"):
            if bound not in d:
                raise _bad(name, f"missing {bound!r}")
        return cls(name, d["type"], d["low"], d["high"], log=bool(d.get("log", False)))

    def describe(self) -> str:
        """``lr ∈ [1.00e-06, 0.0100] (log)`` (three significant figures, as every number printed)."""

        if self.type == "choice":
            return f"{self.name} ∈ {{{', '.join(map(str, self.choices))}}}"
        kind = "log" if self.type == "log" else f"{self.type}, log" if self.log else self.type
        return f"{self.name} ∈ [{fmt(self.low)}, {fmt(self.high)}] ({kind})"

    # -- Optuna ------------------------------------------------------------------------------
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


def canonical_choice(name: str, value):
    """Optuna choices are scalars: a list of hidden layer widths becomes ``'W1-W2-…'`` (the grammar
    of :func:`trainlab.options.parse_hidden` without commas, which separate choices in --param)."""
    if isinstance(value, (list, tuple)):
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise _bad(name, f"choices must be numbers, strings, booleans or lists of layer widths, got {value!r}")
        return "-".join(str(v) for v in value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise _bad(name, f"unsupported choice {value!r}")
