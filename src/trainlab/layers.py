"""Layers: ``forward(x, train)`` and ``backward(dout)``, each derivative next to its forward.

Layers that have parameters hold views of the model's flat buffers and write their gradients
into the gradient views in place (``out=``), so the optimizer sees them without any copying.
Batch is axis 0. ``forward`` and ``backward`` never mutate the array they are given.

Inference (:mod:`trainlab.inference`) has its own entry points, which keep nothing for backward:
``Affine.infer(x, out)`` writes x·W + b into the caller's buffer ``out``, and every other layer's
``infer_(h, scratch)`` transforms ``h`` *in place* (the trailing underscore says so; ``h`` is always
the caller's own scratch array, never user data). Each performs the operations of
``forward(·, train=False)`` in the same order, so its result is bit-identical.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Affine", "ReLU", "Sigmoid", "Tanh", "BatchNorm", "Dropout", "ACTIVATIONS"]


class Affine:
    """y = x·W + b, with W of shape (fan_in, fan_out).

    Backward: dx = dy·Wᵀ, dW = xᵀ·dy, db = Σ_batch dy = 1ᵀ·dy (no 1/N here: it comes from the loss).
    ``need_dx=False`` skips dx for the first layer, whose input needs no gradient. db is a BLAS
    product with a ones vector: on a 128×100 batch it takes half the time of ``np.sum(axis=0)``.
    """

    def __init__(self, W, b, dW, db, need_dx: bool = True):
        self.W, self.b, self.dW, self.db = W, b, dW, db
        self.need_dx = need_dx
        self.x = None
        self._ones = np.ones(0, dtype=W.dtype)

    def forward(self, x, train: bool = False):
        self.x = x
        out = x @ self.W
        out += self.b
        return out

    def infer(self, x, out):
        """out ← x·W + b in the caller's buffer (the operations of ``forward``); keeps nothing."""
        np.matmul(x, self.W, out=out)
        out += self.b
        return out

    def backward(self, dout):
        np.matmul(self.x.T, dout, out=self.dW)
        if self._ones.shape[0] != dout.shape[0] or self._ones.dtype != dout.dtype:
            self._ones = np.ones(dout.shape[0], dtype=dout.dtype)
        np.matmul(self._ones, dout, out=self.db)
        return dout @ self.W.T if self.need_dx else None


class ReLU:
    """y = max(x, 0) = x·[x > 0]; dy/dx = [x > 0] (0 at the kink, as the book's layer).

    The product with the mask is twice as fast as ``np.maximum`` on float32 here (negative inputs
    give −0.0, which equals 0).
    """

    def __init__(self):
        self.mask = None

    def forward(self, x, train: bool = False):
        self.mask = mask = x > 0
        return x * mask

    def infer_(self, h, scratch):
        """h ← h·[h > 0] in place; ``scratch`` is a boolean array shaped like h, for the mask."""
        np.greater(h, 0, out=scratch)
        return np.multiply(h, scratch, out=h)

    def backward(self, dout):
        return dout * self.mask


class Sigmoid:
    """y = 1/(1+e^(−x)); dy/dx = y(1−y)."""

    def __init__(self):
        self.out = None

    def forward(self, x, train: bool = False):
        with np.errstate(over="ignore"):  # exp(−x) → inf for x ≪ 0 gives the right limit, 0
            out = 1.0 / (1.0 + np.exp(-x))
        self.out = out.astype(x.dtype, copy=False)
        return self.out

    def infer_(self, h, scratch=None):
        """h ← 1/(1 + e^(−h)) in place."""
        with np.errstate(over="ignore"):
            np.negative(h, out=h)
            np.exp(h, out=h)
        np.add(h, 1.0, out=h)
        return np.divide(1.0, h, out=h)

    def backward(self, dout):
        return dout * (1.0 - self.out) * self.out


class Tanh:
    """y = tanh(x); dy/dx = 1 − y²."""

    def __init__(self):
        self.out = None

    def forward(self, x, train: bool = False):
        self.out = np.tanh(x)
        return self.out

    def infer_(self, h, scratch=None):
        """h ← tanh(h) in place."""
        return np.tanh(h, out=h)

    def backward(self, dout):
        return dout * (1.0 - self.out * self.out)


ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}

BN_CONVENTIONS = {
    # eps, momentum (weight of the new batch), running_var start, unbiased running var
    "torch": (1e-5, 0.1, 1.0, True),
    # the book: eps written 10e-7 (= 1e-6), momentum 0.9 on the old value, var starts at 0, biased
    "book": (1e-6, 0.1, 0.0, False),
}


class BatchNorm:
    """Batch normalisation over the batch axis (Ioffe & Szegedy 2015).

    Train: μ = mean(x), σ² = mean((x−μ)²) (biased), x̂ = (x−μ)/√(σ²+eps), y = γ·x̂ + β;
    running ← (1−momentum)·running + momentum·batch_stat.
    Eval: x̂ = (x − running_mean)/√(running_var + eps).

    ``convention='torch'`` (default) is ``nn.BatchNorm1d``: eps 1e-5, momentum 0.1, running_var
    starts at 1 and tracks the *unbiased* variance σ²·n/(n−1). ``convention='book'``: eps 1e-6,
    running_var starts at 0 and tracks the biased variance; the book's ``momentum=0.9`` (weight of
    the old value) is our ``momentum=0.1`` (weight of the new batch), the same blend.
    Backward (train): dx = (1/(N·std))·(N·dx̂ − Σdx̂ − x̂·Σ(dx̂·x̂)), dx̂ = γ·dy.
    """

    def __init__(self, gamma, beta, dgamma, dbeta, running_mean, running_var,
                 convention: str = "torch", momentum: float | None = None, eps: float | None = None):
        if convention not in BN_CONVENTIONS:
            raise ValueError(f"unknown batch-norm convention {convention!r}; valid: {', '.join(BN_CONVENTIONS)}")
        d_eps, d_mom, var0, unbiased = BN_CONVENTIONS[convention]
        self.gamma, self.beta, self.dgamma, self.dbeta = gamma, beta, dgamma, dbeta
        self.running_mean, self.running_var = running_mean, running_var
        self.running_mean[...] = 0.0
        self.running_var[...] = var0
        self.eps = d_eps if eps is None else eps
        self.momentum = d_mom if momentum is None else momentum
        self.unbiased = unbiased
        self.convention = convention
        self.xn = self.std = None
        self.train_mode = True

    def forward(self, x, train: bool = False):
        n = x.shape[0]
        if train:
            if n < 2 and self.unbiased:
                raise ValueError("batch norm in training needs more than 1 sample per batch (got 1)")
            mu = x.mean(axis=0)
            xc = x - mu
            var = np.mean(xc * xc, axis=0)
            self.std = np.sqrt(var + self.eps)
            self.xn = xc / self.std
            m = self.momentum
            self.running_mean *= 1.0 - m
            self.running_mean += m * mu
            batch_var = var * (n / (n - 1)) if self.unbiased else var
            self.running_var *= 1.0 - m
            self.running_var += m * batch_var
        else:
            self.std = np.sqrt(self.running_var + self.eps).astype(x.dtype, copy=False)
            self.xn = (x - self.running_mean.astype(x.dtype, copy=False)) / self.std
        self.train_mode = train
        return self.gamma * self.xn + self.beta

    def infer_(self, h, scratch=None):
        """Eval mode in place: h ← γ·(h − running_mean)/√(running_var + eps) + β (running stats untouched)."""
        std = np.sqrt(self.running_var + self.eps).astype(h.dtype, copy=False)
        np.subtract(h, self.running_mean.astype(h.dtype, copy=False), out=h)
        np.divide(h, std, out=h)
        np.multiply(h, self.gamma, out=h)
        return np.add(h, self.beta, out=h)

    def backward(self, dout):
        xn = self.xn
        np.sum(dout, axis=0, out=self.dbeta)
        np.sum(dout * xn, axis=0, out=self.dgamma)
        dxn = dout * self.gamma
        if not self.train_mode:  # running statistics are constants
            return dxn / self.std
        n = dout.shape[0]
        return (n * dxn - dxn.sum(axis=0) - xn * np.sum(dxn * xn, axis=0)) / (n * self.std)


DROPOUT_CONVENTIONS = ("inverted", "classic")


class Dropout:
    """Drop each unit with probability ``p`` in training (Srivastava et al. 2014).

    ``'inverted'`` (default, as ``torch.nn.Dropout``): train y = x·mask/(1−p), eval y = x.
    ``'classic'`` (the book's code): train y = x·mask, eval y = x·(1−p).
    mask = (u ≥ p) ∈ {0, 1} with u ~ U[0, 1) from the injected ``rng``; backward dx = dy·mask·scale
    with the last train mask. ``frozen=True`` reuses the last mask (for gradient checks); a binary
    mask assigned to ``layer.mask`` is used as it is.
    """

    def __init__(self, p: float, rng: np.random.Generator, convention: str = "inverted"):
        if convention not in DROPOUT_CONVENTIONS:
            raise ValueError(f"unknown dropout convention {convention!r}; valid: {', '.join(DROPOUT_CONVENTIONS)}")
        self.p = p
        self.rng = rng
        self.convention = convention
        self.mask = None
        self.frozen = False

    @property
    def scale(self) -> float:
        """The train-time factor: 1/(1−p) for inverted dropout, 1 for the book's classic form."""
        return 1.0 / (1.0 - self.p) if self.convention == "inverted" else 1.0

    def forward(self, x, train: bool = False):
        if not train:
            return x if self.convention == "inverted" else x * x.dtype.type(1.0 - self.p)
        if not (self.frozen and self.mask is not None and self.mask.shape == x.shape):
            u = self.rng.random(x.shape, dtype=np.float32 if x.dtype == np.float32 else np.float64)
            self.mask = (u >= self.p).astype(x.dtype)
        return self._apply(x)

    def infer_(self, h, scratch=None):
        """Eval mode in place: identity (inverted) or h ← h·(1−p) (classic)."""
        if self.convention != "inverted":
            np.multiply(h, h.dtype.type(1.0 - self.p), out=h)
        return h

    def backward(self, dout):
        return self._apply(dout)

    def _apply(self, a):
        out = a * self.mask
        if self.scale != 1.0:
            out *= out.dtype.type(self.scale)
        return out
