"""The optimizers' hyperparameters, declared once: type, range, one-line help with the symbol and
the update it enters, and the command-line flag.

:class:`~trainlab.optim.Optimizer` validates against these declarations, ``trainlab train`` builds
its flags from them and ``trainlab list`` prints them; a hyperparameter is added here and nowhere
else. A value outside its range raises :class:`~trainlab.validate.ConfigError` whose ``field`` is the
hyperparameter's name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .validate import ConfigError, _is_number

__all__ = ["Hyperparameter", "HYPERPARAMETERS"]


@dataclass(frozen=True)
class Hyperparameter:
    """The declaration of one hyperparameter: its type (``'float'``, ``'bool'`` or ``'choice'``), a
    one-line help naming its symbol, the command-line flag, and the valid range or choices."""

    name: str
    type: str
    help: str
    flag: str
    low: float = 0.0
    high: float = math.inf
    low_open: bool = False
    high_open: bool = True
    choices: tuple[str, ...] = ()

    def accepts(self) -> str:
        """What a valid value is, in words (ends every error message)."""
        if self.type == "bool":
            return "true or false"
        if self.type == "choice":
            return "one of " + ", ".join(self.choices)
        if self.high == math.inf:
            return f"a finite number {'>' if self.low_open else '>='} {self.low:g}"
        return f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"

    def check(self, value):
        """``value`` as this type (a float, a bool, the lower-cased choice); else ConfigError(name, …)."""
        if self.type == "bool":
            if isinstance(value, (bool, np.bool_)):  # not truthiness: bool('false') is True
                return bool(value)
        elif self.type == "choice":
            key = value.lower() if isinstance(value, str) else value
            if key in self.choices:
                return key
        elif (_is_number(value) and math.isfinite(value)
              and (value > self.low if self.low_open else value >= self.low)
              and (value < self.high if self.high_open else value <= self.high)):
            return float(value)
        raise ConfigError(self.name, f"{self.name} must be {self.accepts()}, got {value!r}")


_H, _UNIT = Hyperparameter, dict(low=0.0, high=1.0)  # [0, 1)

#: Every optimizer hyperparameter, once: the one source of types, ranges, help and flags.
HYPERPARAMETERS: dict[str, Hyperparameter] = {h.name: h for h in (
    _H("lr", "float", "η, the learning rate", "--lr", low_open=True),
    _H("weight_decay", "float", "λ, the optimizer's own decay: g ← g + λθ (AdamW: θ ← θ(1 − ηλ))",
       "--opt-weight-decay"),  # --weight-decay is the model's ½λ‖W‖²
    _H("momentum", "float", "μ, the momentum factor", "--momentum", **_UNIT),
    _H("dampening", "float", "τ, dampening: b ← μb + (1−τ)g", "--dampening", **_UNIT),
    _H("lr_in_velocity", "bool", "v ← μv − ηg, θ ← θ + v (book) instead of θ ← θ − ηb (torch)", "--lr-in-velocity"),
    _H("nesterov_order", "choice", "buffer_first: b, then θ ← θ − η(g + μb) (torch); "
       "step_first: θ ← θ + μ²v − (1+μ)ηg, then v (book)", "--nesterov-order", choices=("buffer_first", "step_first")),
    _H("lr_decay", "float", "AdaGrad: η̃ = η/(1 + (t−1)·lr_decay)", "--lr-decay"),
    _H("initial_accumulator_value", "float", "h₀, AdaGrad's starting sum of squares", "--initial-accumulator-value"),
    _H("alpha", "float", "α, RMSProp: v ← αv + (1−α)g² (the book's decay_rate)", "--alpha", **_UNIT),
    _H("centered", "bool", "RMSProp: √(v − ḡ²) in place of √v, ḡ ← αḡ + (1−α)g", "--centered"),
    _H("b1", "float", "β₁, Adam: m ← β₁m + (1−β₁)g", "--b1", **_UNIT),
    _H("b2", "float", "β₂, Adam: v ← β₂v + (1−β₂)g²", "--b2", **_UNIT),
    _H("eps", "float", "ε, added to the root in the denominator", "--eps"),
    _H("amsgrad", "bool", "Adam: v̄ ← max(v̄, v) in place of v (AMSGrad)", "--amsgrad"),
    _H("eps_hat", "bool", "Adam: ε̂ form η√(1−β₂ᵗ)/(1−β₁ᵗ)·m/(√v + ε) (book) instead of η·m̂/(√v̂ + ε) (torch)",
       "--eps-hat"),
)}
