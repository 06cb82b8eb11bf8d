"""Gradient clipping on the flat gradient buffer, with torch's numerics, before the optimizer step.

By global norm (``torch.nn.utils.clip_grad_norm_``, norm_type 2): the norm of all gradients as one
vector, ‖g‖ = √(g·g); then

    g ← g·min(c, 1),   c = max_norm/(‖g‖ + 1e-6)

torch always multiplies (by 1 when c ≥ 1, which leaves g bit for bit as it was), so the buffer is
only touched when c < 1 (or c is NaN: a NaN or infinite norm spreads to the gradients as in torch).
torch evaluates c as ``(‖g‖ + 1e-6).reciprocal() * max_norm`` (a float divided by a tensor), which
can differ from the quotient in the last bit; so does this module.

By value (``torch.nn.utils.clip_grad_value_``): g ← min(max(g, −v), v) elementwise.

Both are one or two whole-buffer NumPy calls. :class:`GradClipper` also keeps the pre-clip norm of
every update of the current epoch, for the epoch record (``grad_norm_mean``, ``grad_norm_max``).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["grad_norm", "clip_grad_norm", "clip_grad_value", "GradClipper"]


def grad_norm(grad: np.ndarray) -> float:
    """‖g‖₂ of the whole flat buffer (one dot product)."""
    return math.sqrt(float(np.dot(grad, grad)))


def clip_grad_norm(grad: np.ndarray, max_norm: float) -> float:
    """Scale ``grad`` in place to a global norm of at most ``max_norm``; returns the norm before."""
    total = grad_norm(grad)
    coef = (1.0 / (total + 1e-6)) * max_norm
    if not coef >= 1.0:  # c < 1, or NaN
        grad *= coef
    return total


def clip_grad_value(grad: np.ndarray, clip_value: float) -> None:
    """Clamp every gradient into [−clip_value, clip_value], in place (NaN stays NaN, as torch's clamp)."""
    np.clip(grad, -clip_value, clip_value, out=grad)


class GradClipper:
    """Clips ``grad`` (a flat buffer) by norm (``max_norm``) or by value (``clip_value``) and records the
    pre-clip global norm of each update; :meth:`epoch_stats` returns and resets the epoch's mean and max."""

    def __init__(self, grad: np.ndarray, max_norm: float | None = None, clip_value: float | None = None):
        if (max_norm is None) == (clip_value is None):
            raise ValueError("GradClipper: give exactly one of max_norm and clip_value")
        self.grad, self.max_norm, self.clip_value = grad, max_norm, clip_value
        self._sum, self._max, self._n = 0.0, -math.inf, 0

    def __call__(self) -> None:
        g = self.grad
        if self.max_norm is not None:
            norm = clip_grad_norm(g, self.max_norm)
        else:
            norm = grad_norm(g)
            clip_grad_value(g, self.clip_value)
        self._sum += norm
        if not norm <= self._max:  # (a NaN norm also shows in the mean, which it makes NaN)
            self._max = norm
        self._n += 1

    def epoch_stats(self) -> dict:
        """``{"grad_norm_mean", "grad_norm_max"}`` of the pre-clip norms since the last call (then reset)."""
        if not self._n:
            return {}
        out = {"grad_norm_mean": self._sum / self._n, "grad_norm_max": self._max}
        self._sum, self._max, self._n = 0.0, -math.inf, 0
        return out
