"""Optimizers over the flat parameter buffer: one update is a few whole-buffer NumPy operations.

Two conventions:

* ``'torch'`` (default): the defaults and numerics of ``torch.optim`` (weight decay coupled as
  g ← g + λθ except AdamW; eps outside the root; Adam bias-corrected as torch does it).
* ``'book'``: the book's ``common/optimizer.py`` exactly: eps 1e-7 outside the root, Momentum as
  v ← αv − ηg, Nesterov in the JP-fixed order, RMSProp decay 0.99, Adam's bias correction folded
  into lr_t; default lr 0.01 (Adam 0.001).

An optimizer instance is bound to one parameter buffer: its state is an explicit dict of arrays
(``state_dict``/``load_state_dict``), never keyed by layer names. Hyperparameters are plain
attributes, so ``opt.lr`` can be changed between steps (a schedule).
"""

from __future__ import annotations

import math

import numpy as np

from .params import ParamBuffer
from .validate import (
    check_choice,
    check_known_keys,
    check_nonnegative,
    check_positive,
    check_unit_interval,
)

__all__ = [
    "Optimizer",
    "SGD",
    "Momentum",
    "Nesterov",
    "AdaGrad",
    "RMSProp",
    "Adam",
    "AdamW",
    "OPTIMIZERS",
    "CONVENTIONS",
    "make_optimizer",
]

CONVENTIONS = ("torch", "book")
BOOK_EPS = 1e-7


class Optimizer:
    """Base class: ``step()`` updates ``data`` in place from ``grad``.

    Subclasses declare ``DEFAULTS[convention]`` (hyperparameter → default) and ``STATE`` (the names
    of the state arrays, each shaped like the buffer).
    """

    DEFAULTS: dict[str, dict] = {}
    STATE: tuple[str, ...] = ()

    def __init__(self, params: ParamBuffer | tuple[np.ndarray, np.ndarray], convention: str = "torch", **hp):
        self.convention = check_choice("optimizer convention", convention, CONVENTIONS)
        defaults = self.DEFAULTS[self.convention]
        check_known_keys(f"{self.name} hyperparameter(s)", hp, defaults)
        if isinstance(params, ParamBuffer):
            self.data, self.grad = params.data, params.grad
        else:
            self.data, self.grad = params
        if self.data.shape != self.grad.shape or self.data.ndim != 1:
            raise ValueError("params must be flat (data, grad) arrays of the same shape")
        for key, default in defaults.items():
            setattr(self, key, hp.get(key, default))
        self.validate()
        self.t = 0
        self.state = {name: np.zeros_like(self.data) for name in self.state_names()}
        self._tmp = np.empty_like(self.data)
        self._tmp2 = np.empty_like(self.data)

    @property
    def name(self) -> str:
        return type(self).__name__.lower()

    @property
    def hyperparameters(self) -> dict:
        return {key: getattr(self, key) for key in self.DEFAULTS[self.convention]}

    @classmethod
    def defaults(cls, convention: str = "torch") -> dict:
        return dict(cls.DEFAULTS[convention])

    def state_names(self) -> tuple[str, ...]:
        """The state arrays this configuration needs (each shaped like the buffer)."""
        return self.STATE

    def validate(self) -> None:
        self.lr = check_positive("lr", self.lr)
        if hasattr(self, "weight_decay"):
            self.weight_decay = check_nonnegative("weight_decay", self.weight_decay)
        if hasattr(self, "eps"):
            self.eps = check_nonnegative("eps", self.eps)

    def step(self) -> None:
        self.t += 1
        self._update(self.data, self.grad)

    def _update(self, p: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError

    def _decayed_grad(self, p, g):
        """g + λθ (torch's coupled weight decay) in a scratch buffer; g itself when λ = 0."""
        if not getattr(self, "weight_decay", 0.0):
            return g
        out = np.multiply(p, self.weight_decay, out=self._tmp2)
        out += g
        return out

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the state arrays plus the step count ``t`` (a 0-d array), ready for ``np.savez``."""
        out = {k: v.copy() for k, v in self.state.items()}
        out["t"] = np.array(self.t, dtype=np.int64)
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy state back into the existing arrays."""
        for name in self.state:
            if name not in state:
                raise KeyError(f"{self.name} state has no entry {name!r}")
            if np.shape(state[name]) != self.data.shape:
                raise ValueError(f"{self.name} state {name!r} has shape {np.shape(state[name])}, "
                                 f"the parameters have {self.data.shape}")
            self.state[name][...] = state[name]
        self.t = int(state["t"])

    def __repr__(self) -> str:
        hp = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters.items())
        return f"{type(self).__name__}({hp}, convention={self.convention!r})"


class SGD(Optimizer):
    """θ ← θ − η·(g + λθ).   torch: ``SGD(lr=1e-3)``; book: ``SGD(lr=0.01)``."""

    DEFAULTS = {"torch": {"lr": 1e-3, "weight_decay": 0.0}, "book": {"lr": 0.01}}

    def _update(self, p, g):
        g = self._decayed_grad(p, g)
        p -= np.multiply(g, self.lr, out=self._tmp)


class Momentum(Optimizer):
    """Heavy-ball momentum.

    torch (``SGD(momentum=μ, dampening=τ)``): b ← g on the first step, else b ← μb + (1−τ)g; θ ← θ − ηb.
    book: v ← μv − ηg; θ ← θ + v. Identical for a constant η (v = −ηb).
    """

    DEFAULTS = {
        "torch": {"lr": 1e-3, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0},
        "book": {"lr": 0.01, "momentum": 0.9},
    }
    STATE = ("v",)
    nesterov = False

    def validate(self):
        super().validate()
        self.momentum = check_unit_interval("momentum", self.momentum)
        if hasattr(self, "dampening"):
            self.dampening = check_unit_interval("dampening", self.dampening)
            # torch.optim.SGD(nesterov=True) refuses both: the look-ahead needs a momentum buffer
            if self.nesterov and self.momentum <= 0:
                raise ValueError(f"nesterov needs momentum > 0, got {self.momentum!r}")
            if self.nesterov and self.dampening != 0:
                raise ValueError(f"nesterov needs dampening = 0, got {self.dampening!r}")

    def _update(self, p, g):
        if self.convention == "book":
            return self._book_update(p, g)
        g = self._decayed_grad(p, g)
        b = self.state["v"]
        mu = self.momentum
        if self.t == 1:
            b[...] = g
        else:
            b *= mu
            b += np.multiply(g, 1.0 - self.dampening, out=self._tmp)
        if self.nesterov:  # d = g + μb
            d = np.multiply(b, mu, out=self._tmp)
            d += g
        else:
            d = b
        p -= np.multiply(d, self.lr, out=self._tmp)

    def _book_update(self, p, g):
        v = self.state["v"]
        v *= self.momentum
        v -= np.multiply(g, self.lr, out=self._tmp)
        p += v


class Nesterov(Momentum):
    """Nesterov momentum.

    torch (``SGD(momentum=μ, nesterov=True)``): b as Momentum, θ ← θ − η(g + μb).
    book (JP, Bengio et al. 2012): θ ← θ + μ²v − (1+μ)ηg, then v ← μv − ηg.
    """

    nesterov = True

    def _book_update(self, p, g):
        v = self.state["v"]
        mu, lr = self.momentum, self.lr
        p += np.multiply(v, mu * mu, out=self._tmp)
        p -= np.multiply(g, (1.0 + mu) * lr, out=self._tmp)
        v *= mu
        v -= np.multiply(g, lr, out=self._tmp)


class AdaGrad(Optimizer):
    """h ← h + g²;  θ ← θ − η̃·g/(√h + eps), η̃ = η/(1 + (t−1)·lr_decay).

    torch: lr 1e-2, eps 1e-10, h starts at ``initial_accumulator_value``; book: lr 0.01, eps 1e-7, h₀ = 0.
    """

    DEFAULTS = {
        "torch": {"lr": 1e-2, "lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10},
        "book": {"lr": 0.01},
    }
    STATE = ("h",)

    def __init__(self, params, convention="torch", **hp):
        super().__init__(params, convention, **hp)
        self.state["h"][...] = getattr(self, "initial_accumulator_value", 0.0)

    def validate(self):
        super().validate()
        if hasattr(self, "lr_decay"):
            self.lr_decay = check_nonnegative("lr_decay", self.lr_decay)
            self.initial_accumulator_value = check_nonnegative(
                "initial_accumulator_value", self.initial_accumulator_value)

    def _update(self, p, g):
        eps = getattr(self, "eps", BOOK_EPS)
        lr = self.lr / (1.0 + (self.t - 1) * getattr(self, "lr_decay", 0.0))
        g = self._decayed_grad(p, g)
        h, tmp = self.state["h"], self._tmp
        np.multiply(g, g, out=tmp)
        h += tmp
        np.sqrt(h, out=tmp)
        tmp += eps
        np.divide(g, tmp, out=tmp)
        tmp *= lr
        p -= tmp


class RMSProp(Optimizer):
    """v ← αv + (1−α)g²;  θ ← θ − η·g/(√v + eps)   (α is the book's ``decay_rate``).

    torch: lr 1e-2, alpha 0.99, eps 1e-8, optional momentum (b ← μb + g/(√v+eps); θ ← θ − ηb) and
    centered (v − ḡ² with ḡ ← αḡ + (1−α)g); book: lr 0.01, alpha 0.99, eps 1e-7.
    """

    DEFAULTS = {
        "torch": {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0, "centered": False},
        "book": {"lr": 0.01, "alpha": 0.99},
    }
    STATE = ("v",)

    def state_names(self):
        extra = ("b",) if getattr(self, "momentum", 0.0) > 0 else ()
        return self.STATE + extra + (("g_avg",) if getattr(self, "centered", False) else ())

    def validate(self):
        super().validate()
        self.alpha = check_unit_interval("alpha", self.alpha)
        if hasattr(self, "momentum"):
            self.momentum = check_unit_interval("momentum", self.momentum)
            self.centered = bool(self.centered)

    def _update(self, p, g):
        a = self.alpha
        eps = getattr(self, "eps", BOOK_EPS)
        g = self._decayed_grad(p, g)
        v, tmp = self.state["v"], self._tmp
        v *= a
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - a
        v += tmp
        if getattr(self, "centered", False):
            g_avg = self.state["g_avg"]
            g_avg *= a
            g_avg += np.multiply(g, 1.0 - a, out=tmp)
            np.multiply(g_avg, g_avg, out=tmp)
            np.subtract(v, tmp, out=tmp)
            np.sqrt(tmp, out=tmp)
        else:
            np.sqrt(v, out=tmp)
        tmp += eps
        np.divide(g, tmp, out=tmp)
        if getattr(self, "momentum", 0.0) > 0:
            b = self.state["b"]
            b *= self.momentum
            b += tmp
            p -= np.multiply(b, self.lr, out=tmp)
        else:
            tmp *= self.lr
            p -= tmp


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015): m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g².

    torch: θ ← θ − (η/(1−β₁ᵗ))·m/(√v/√(1−β₂ᵗ) + eps), eps 1e-8; ``amsgrad`` keeps max(v) (raw v).
    book: lr_t = η·√(1−β₂ᵗ)/(1−β₁ᵗ);  θ ← θ − lr_t·m/(√v + 1e-7) (the paper's "efficient" form).
    """

    DEFAULTS = {
        "torch": {"lr": 1e-3, "b1": 0.9, "b2": 0.999, "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False},
        "book": {"lr": 1e-3, "b1": 0.9, "b2": 0.999},
    }
    STATE = ("m", "v")
    decoupled = False

    def state_names(self):
        return self.STATE + (("v_max",) if getattr(self, "amsgrad", False) else ())

    def validate(self):
        super().validate()
        self.b1 = check_unit_interval("b1", self.b1)
        self.b2 = check_unit_interval("b2", self.b2)
        if hasattr(self, "amsgrad"):
            self.amsgrad = bool(self.amsgrad)

    def _update(self, p, g):
        b1, b2, t, lr = self.b1, self.b2, self.t, self.lr
        m, v, tmp = self.state["m"], self.state["v"], self._tmp
        if self.decoupled:  # AdamW: θ ← θ(1 − ηλ) before the Adam step
            p *= 1.0 - lr * self.weight_decay
        else:
            g = self._decayed_grad(p, g)
        # m ← m + (1−β₁)(g − m), torch's lerp (≡ β₁m + (1−β₁)g)
        np.subtract(g, m, out=tmp)
        tmp *= 1.0 - b1
        m += tmp
        v *= b2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - b2
        v += tmp
        bc1 = 1.0 - b1**t
        bc2 = 1.0 - b2**t
        if self.convention == "book":
            lr_t = lr * math.sqrt(bc2) / bc1
            np.sqrt(v, out=tmp)
            tmp += BOOK_EPS
        else:
            lr_t = lr / bc1
            if self.amsgrad:
                v_max = self.state["v_max"]
                np.maximum(v_max, v, out=v_max)
                np.sqrt(v_max, out=tmp)
            else:
                np.sqrt(v, out=tmp)
            tmp /= math.sqrt(bc2)
            tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= lr_t
        p -= tmp


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): θ ← θ(1 − ηλ), then the Adam step.

    torch: ``AdamW`` defaults, weight_decay 1e-2. The book has no AdamW; ``'book'`` uses its Adam form.
    """

    DEFAULTS = {
        "torch": {**Adam.DEFAULTS["torch"], "weight_decay": 1e-2},
        "book": {**Adam.DEFAULTS["book"], "weight_decay": 1e-2},
    }
    decoupled = True


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": AdaGrad,
    "rmsprop": RMSProp,
    "adam": Adam,
    "adamw": AdamW,
}


def make_optimizer(name: str, params, convention: str = "torch", **hp) -> Optimizer:
    """Build the optimizer ``name`` (one of :data:`OPTIMIZERS`) over ``params``."""
    key = check_choice("optimizer", name, OPTIMIZERS)
    return OPTIMIZERS[key](params, convention=convention, **hp)
