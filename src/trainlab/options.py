"""Command-line options from the library's own declarations: one source of defaults and checks.

A configuration dataclass declares, in each field's metadata, the option that sets it::

    epochs: int = field(default=20, metadata=option("whole epochs", parse=integer))

:func:`add_options` turns the fields of such a class into argparse options (every default ``None``,
so that a command knows which options were given); :func:`given` collects them back; the class's
own ``__post_init__`` checks the values and raises :class:`~trainlab.validate.ConfigError` naming the
field, which :func:`usage_message` turns into a message naming the flag. The help of each option shows
the class's default, so the defaults are written once, in the class.

Also here: the one grammar of hidden layer sizes (:func:`parse_hidden`), used by every command and
by search spaces.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Callable, Iterable
from typing import Any

from .validate import ConfigError

__all__ = ["option", "add_options", "given", "flags", "flag_of", "usage_message", "parse_hidden", "format_hidden",
           "integer", "number", "HIDDEN_SYNTAX"]

HIDDEN_SYNTAX = "widths separated by ',' or '-', WxN for N layers of width W: 100,100 = 100-100 = 100x2; 'none'"


def option(help: str, *, flag: str | None = None, parse: Callable[[str], Any] | None = None,
           choices: Iterable | None = None, metavar: str | None = None, boolean: bool = False,
           none: str | None = None, const: Any = None) -> dict:
    """Field metadata declaring the command-line option of a configuration field. ``none``: what
    a default of None means, shown in the help ("all": ``(default all)``). ``const``: the value of the
    flag given without one (its value is then optional; argparse does not parse ``const``, so give
    it in its final form)."""
    return {"option": {"help": help, "flag": flag, "parse": parse,
                       "choices": list(choices) if choices is not None else None,
                       "metavar": metavar, "boolean": boolean, "none": none, "const": const}}


def _declared(cls) -> list[tuple[dataclasses.Field, dict]]:
    return [(f, f.metadata["option"]) for f in dataclasses.fields(cls) if "option" in f.metadata]


def flags(cls) -> dict[str, str]:
    """``{field: flag}`` of every declared field of ``cls`` (``hidden_sizes`` → ``--hidden``)."""
    return {f.name: opt["flag"] or "--" + f.name.replace("_", "-") for f, opt in _declared(cls)}


def flag_of(cls, name: str) -> str:
    """The flag of field ``name`` of ``cls``."""
    try:
        return flags(cls)[name]
    except KeyError:
        raise KeyError(f"{cls.__name__} declares no option for {name!r}") from None


def _default_text(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        value = f.default_factory()  # type: ignore[misc]
    else:
        return ""
    if value is None:
        none = f.metadata["option"].get("none")
        return f" (default {none})" if none else ""
    if isinstance(value, bool):
        return f" (default {'on' if value else 'off'})"
    if isinstance(value, (tuple, list)):
        return f" (default {format_hidden(value) if all(isinstance(v, int) for v in value) else value})"
    if isinstance(value, float):
        return f" (default {value:g})"
    return f" (default {value})"


def add_options(parser, cls, *, prefix: str = "", skip: Iterable[str] = (), only: Iterable[str] | None = None,
                defaults: dict | None = None) -> dict[str, str]:
    """Add an option per declared field of ``cls`` to ``parser`` (or an argument group).

    Destinations are ``prefix + field name``; every default is None so :func:`given` sees what was
    typed. ``defaults`` overrides the default shown in the help (a command whose base run is not
    the class's default, e.g. the book's search). Returns ``{field: flag}``.
    """
    skip, only = set(skip), (set(only) if only is not None else None)
    flags = {}
    for f, opt in _declared(cls):
        if f.name in skip or (only is not None and f.name not in only):
            continue
        flag = opt["flag"] or "--" + f.name.replace("_", "-")
        shown = _default_text(f)
        if defaults and f.name in defaults:
            d = defaults[f.name]
            shown = f" (default {format_hidden(d) if isinstance(d, (list, tuple)) else d})"
        kwargs: dict[str, Any] = {"dest": prefix + f.name, "default": None, "help": opt["help"] + shown}
        if opt["boolean"]:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            if opt["parse"] is not None:
                kwargs["type"] = opt["parse"]
            if opt["choices"] is not None:
                kwargs["choices"] = opt["choices"]
            if opt.get("const") is not None:
                kwargs["nargs"], kwargs["const"] = "?", opt["const"]
            if opt["metavar"] is not None:
                kwargs["metavar"] = opt["metavar"]
            elif opt["choices"] is None:  # not argparse's TRAINING.EPOCHS, from the prefixed destination
                kwargs["metavar"] = f.name.upper()
        parser.add_argument(flag, **kwargs)
        flags[f.name] = flag
    return flags


def given(args, cls, *, prefix: str = "") -> dict[str, Any]:
    """The declared fields of ``cls`` that were given on the command line: ``{field: value}``."""
    out = {}
    for f, _ in _declared(cls):
        value = getattr(args, prefix + f.name, None)
        if value is not None:
            out[f.name] = value
    return out


def usage_message(exc: Exception, flags: dict[str, str]) -> str:
    """``"--flag: message"`` for a ConfigError whose field has a flag in ``flags``, else the message."""
    field = getattr(exc, "field", None)
    if field is not None and field in flags:
        return f"{flags[field]}: {exc}"
    return str(exc)


# -- value syntax ---------------------------------------------------------------------------------
def integer(text: str) -> int:
    """An integer option ('1e3' is refused: an int is written as one)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def number(text: str) -> float:
    """A number option (range checks belong to the configuration class)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


_HIDDEN_PART = re.compile(r"(\d+)(?:x(\d+))?")


def parse_hidden(value) -> tuple[int, ...]:
    """Hidden layer sizes in the one grammar: ``'100,100'``, ``'100-100'``, ``'100x2'``, ``'784x2,50'``,
    ``'none'`` (no hidden layer); a list of ints passes through. Raises ConfigError('hidden_sizes')."""
    if isinstance(value, (list, tuple)):
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise ConfigError("hidden_sizes", f"hidden layer sizes must be integers, got {list(value)!r}")
        return tuple(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,)
    text = str(value).strip().lower()
    if text == "none":
        return ()
    parts = re.split(r"[,\-]", text) if text else [""]
    sizes: list[int] = []
    for part in parts:
        m = _HIDDEN_PART.fullmatch(part.strip())
        if not m:
            raise ConfigError("hidden_sizes", f"hidden layer sizes {value!r}: {HIDDEN_SYNTAX}")
        sizes += [int(m.group(1))] * (int(m.group(2)) if m.group(2) else 1)
    if not sizes or (len(parts) > 0 and any(int(m) == 0 for m in re.findall(r"x(\d+)", text))):
        raise ConfigError("hidden_sizes", f"hidden layer sizes {value!r}: {HIDDEN_SYNTAX}")
    return tuple(sizes)


def hidden_option(text: str) -> tuple[int, ...]:
    """argparse type for ``--hidden``."""
    try:
        return parse_hidden(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def format_hidden(sizes) -> str:
    """``(100, 100, 50)`` → ``'100x2,50'`` (the grammar of :func:`parse_hidden`); ``()`` → ``'none'``."""
    sizes = list(sizes)
    if not sizes:
        return "none"
    out, i = [], 0
    while i < len(sizes):
        j = i
        while j < len(sizes) and sizes[j] == sizes[i]:
            j += 1
        out.append(f"{sizes[i]}x{j - i}" if j - i > 1 else str(sizes[i]))
        i = j
    return ",".join(out)
