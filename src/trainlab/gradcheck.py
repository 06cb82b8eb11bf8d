"""Numerical gradients by central differences, for any function of a flat array or any MLP.

∂f/∂θ_i ≈ (f(θ + h·e_i) − f(θ − h·e_i)) / 2h   (error O(h²); use float64 and h ≈ 1e-5).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["numerical_gradient", "model_numerical_gradient", "relative_error", "gradient_check"]


def numerical_gradient(f: Callable[[], float], theta: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of ``f()`` with respect to ``theta``, perturbed in place and restored."""
    flat = theta.reshape(-1)
    if flat.base is not theta and flat is not theta and not np.shares_memory(flat, theta):
        raise ValueError("theta must be contiguous so it can be perturbed in place")
    grad = np.zeros(flat.shape, dtype=np.float64)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        f_plus = f()
        flat[i] = old - h
        f_minus = f()
        flat[i] = old
        grad[i] = (f_plus - f_minus) / (2.0 * h)
    return grad.reshape(theta.shape)


def model_numerical_gradient(model, x, t, h: float = 1e-5) -> np.ndarray:
    """Numerical gradient of ``model.loss(x, t, train=True)`` over the whole flat buffer.

    Batch-norm running statistics are restored after every evaluation and dropout masks are frozen
    to the last ones drawn, so the function being differentiated is deterministic.
    """
    buffers = {k: v.copy() for k, v in model.params.buffers.items()}

    def f() -> float:
        value = model.loss(x, t, train=True)
        for k, v in buffers.items():
            model.params.buffers[k][...] = v
        return value

    model.freeze_dropout(True)
    try:
        return numerical_gradient(f, model.params.data, h)
    finally:
        model.freeze_dropout(False)


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """‖a − b‖₂ / (‖a‖₂ + ‖b‖₂), the usual gradient-check measure; 0 when both are zero."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / denom) if denom > 0 else 0.0


def gradient_check(model, x, t, h: float = 1e-5) -> dict[str, float]:
    """:func:`relative_error` between backprop and central differences, per parameter name.

    Draws dropout masks once (one ``gradient`` call), then compares under those fixed masks.
    ReLU is not differentiable at 0: with zero biases and a sample whose previous layer is all
    zeros (dead or dropped), a pre-activation sits exactly on the kink; perturb biases first.
    """
    model.freeze_dropout(False)
    buffers = {k: v.copy() for k, v in model.params.buffers.items()}
    model.gradient(x, t)
    for k, v in buffers.items():
        model.params.buffers[k][...] = v
    analytic = model.params.grad.copy()
    numeric = model_numerical_gradient(model, x, t, h)
    p = model.params
    return {
        name: relative_error(analytic[s.offset : s.offset + s.size], numeric[s.offset : s.offset + s.size])
        for name, s in p.slots.items()
    }
