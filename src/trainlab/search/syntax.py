"""The ``--param NAME=SPEC`` mini-language: one search-space entry per option.

Hidden layer choices are read later by :func:`trainlab.options.parse_hidden`, the one grammar of
hidden sizes; inside a choice list they are written without commas (``100x6`` or ``100-50``),
because commas separate the choices.
"""

from __future__ import annotations

from .space import Param, SpaceError

__all__ = ["parse_param", "PARAM_SYNTAX"]

PARAM_SYNTAX = """\
--param NAME=SPEC (repeatable) adds or replaces one search-space entry:
  lr=log:1e-6:1e-2                 log-uniform float in [1e-6, 1e-2]
  dropout=uniform:0:0.5            uniform float
  batch_size=int:32:256            integer (int-log:32:256 for log-uniform integers)
  optimizer=choice:sgd,adam        one of a list (numbers are read as numbers)
  hidden_sizes=choice:100x6,50-50  hidden layers per choice: WIDTHxCOUNT or W1-W2-...
  hidden_width=int:20:200          every hidden layer's width (hidden_layers: their number)
NAME is a model option (weight_decay, dropout, init, ...), a training option (batch_size,
optimizer, ...) or an optimizer hyperparameter (lr, momentum, b1, ...); a bare weight_decay is
the model's L2 penalty (the book's), optim.weight_decay the optimizer's own."""


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
    """``'lr=log:1e-6:1e-2'`` → ``Param('lr', 'log', 1e-6, 1e-2)`` (see :data:`PARAM_SYNTAX`)."""
    name, sep, spec = text.partition("=")
    name = name.strip()

    def bad(message: str) -> SpaceError:
        return SpaceError("space", f"--param {text!r}: {message}", param=name or None)

    if not sep or not name or not spec:
        raise bad("expected NAME=TYPE:..., e.g. lr=log:1e-6:1e-2")
    kind, _, rest = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "choice":
        if not rest.strip():
            raise bad("a choice needs values, e.g. optimizer=choice:sgd,adam")
        return Param(name, "choice", choices=tuple(_number_or_text(v) for v in rest.split(",")))
    if kind in ("log", "uniform", "int", "int-log"):
        parts = rest.split(":")
        if len(parts) != 2:
            raise bad(f"expected {kind}:LOW:HIGH")
        try:
            low, high = (float(p) for p in parts)
        except ValueError:
            raise bad("LOW and HIGH must be numbers") from None
        if kind.startswith("int"):
            return Param(name, "int", low, high, log=kind == "int-log")
        return Param(name, kind, low, high)
    raise bad(f"unknown type {kind!r}; use log, uniform, int, int-log or choice")
