"""The configuration keys of an experiment, declared once beside its configuration.

Each key of ``Experiment.config`` is a :class:`Key`: its default, a one-line help, its type and the
values it accepts (a range, a list of choices, a length). ``--set key=value`` is checked against it
before any work starts, with a message that says what was wrong and what is accepted; the same
declarations list the keys in ``trainlab list experiments``.

    config = {
        "iterations": Int(2000, "training iterations", low=1, high=100_000),
        "lr": Float(0.01, "SGD's learning rate η", low=0, low_open=True),
        "optimizers": Choices(["sgd", "adam"], OPTIMIZERS, "the optimizers compared"),
    }
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..validate import ConfigError

__all__ = ["Key", "Int", "Float", "Bool", "Choice", "Ints", "Floats", "Choices", "Mapping", "Text"]

#: largest count any key may ask for (iterations, epochs, trials, …): beyond it a run would not
#: finish in a day on the machines this is for, and a typo like 1e9 would run out of memory
MAX_COUNT = 1_000_000


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _range_text(low, high, low_open, high_open) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    return " and ".join(parts)


@dataclass(frozen=True)
class Key:
    """One configuration key: default, help, type and accepted values."""

    default: Any
    help: str
    type: str  # int, float, bool, str, choice, ints, floats, choices, mapping
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple = ()
    min_len: int = 1
    max_len: int | None = None
    nullable: bool = False
    validator: Callable[[Any], str | None] | None = None  # extra check: returns a problem or None

    def accepts(self) -> str:
        """What a valid value is, in words."""
        rng = _range_text(self.low, self.high, self.low_open, self.high_open)
        lengths = f"{self.min_len}" + (f" to {self.max_len}" if self.max_len else " or more")
        text = {
            "int": f"an integer {rng}".strip(),
            "float": f"a finite number {rng}".strip(),
            "bool": "true or false",
            "str": "a string",
            "choice": "one of " + ", ".join(map(str, self.choices)),
            "ints": f"a list of {lengths} integers {rng}".strip(),
            "floats": f"a list of {lengths} finite numbers {rng}".strip(),
            "choices": f"a list of {lengths} of " + ", ".join(map(str, self.choices)),
            "mapping": "an object like " + _json(self.default),
        }[self.type]
        return text + (" or null" if self.nullable else "")

    def _scalar_ok(self, v) -> bool:
        if self.type in ("int", "ints") and not _is_int(v):
            return False
        if self.type in ("float", "floats") and not (_is_num(v) and math.isfinite(v)):
            return False
        if self.low is not None and (v <= self.low if self.low_open else v < self.low):
            return False
        if self.high is not None and (v >= self.high if self.high_open else v > self.high):
            return False
        return True

    def check(self, name: str, value: Any) -> Any:
        """``value`` if acceptable (ints stay ints, floats become floats); else ConfigError(name)."""
        def bad(why: str = ""):
            return ConfigError(name, f"bad value for {name!r}: {_json(value)}{why}; expected {self.accepts()} "
                                     f"({self.help}; default {_json(self.default)})")

        if value is None:
            if self.nullable:
                return None
            raise bad()
        t = self.type
        if t in ("int", "float"):
            if not self._scalar_ok(value):
                raise bad()
            out = float(value) if t == "float" else value
        elif t == "bool":
            if not isinstance(value, bool):
                raise bad()
            out = value
        elif t == "str":
            if not isinstance(value, str):
                raise bad()
            out = value
        elif t == "choice":
            key = value.lower() if isinstance(value, str) else value
            if key not in self.choices:
                raise bad()
            out = key
        elif t in ("ints", "floats", "choices"):
            if not isinstance(value, (list, tuple)):
                raise bad()
            if len(value) < self.min_len or (self.max_len is not None and len(value) > self.max_len):
                raise bad(f" has {len(value)} item(s)")
            if t == "choices":
                items = [v.lower() if isinstance(v, str) else v for v in value]
                if any(v not in self.choices for v in items) or len(set(map(repr, items))) != len(items):
                    raise bad(" (unknown or repeated item)")
                out = items
            else:
                if not all(self._scalar_ok(v) for v in value):
                    raise bad()
                out = [float(v) for v in value] if t == "floats" else list(value)
        elif t == "mapping":
            if not isinstance(value, dict) or not value:
                raise bad()
            out = dict(value)
        else:  # pragma: no cover - a declaration error
            raise ValueError(f"unknown key type {t!r}")
        if self.validator is not None:
            problem = self.validator(out)
            if problem:
                raise bad(f": {problem}")
        return out


def _json(v) -> str:
    import json

    try:
        return json.dumps(v, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(v)


def Int(default, help: str, low: int | None = None, high: int | None = MAX_COUNT, **kw) -> Key:
    return Key(default, help, "int", low=low, high=high, **kw)


def Float(default, help: str, low: float | None = None, high: float | None = None, **kw) -> Key:
    return Key(default, help, "float", low=low, high=high, **kw)


def Bool(default, help: str, **kw) -> Key:
    return Key(default, help, "bool", **kw)


def Text(default, help: str, **kw) -> Key:
    return Key(default, help, "str", **kw)


def Choice(default, choices: Iterable, help: str, **kw) -> Key:
    return Key(default, help, "choice", choices=tuple(choices), **kw)


def Ints(default, help: str, low: int | None = 1, high: int | None = MAX_COUNT, **kw) -> Key:
    return Key(default, help, "ints", low=low, high=high, **kw)


def Floats(default, help: str, low: float | None = None, high: float | None = None, **kw) -> Key:
    return Key(default, help, "floats", low=low, high=high, **kw)


def Choices(default, choices: Iterable, help: str, **kw) -> Key:
    return Key(default, help, "choices", choices=tuple(choices), **kw)


def Mapping(default, help: str, validator: Callable[[Any], str | None] | None = None, **kw) -> Key:
    return Key(default, help, "mapping", validator=validator, **kw)
