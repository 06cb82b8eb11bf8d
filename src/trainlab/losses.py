"""Softmax cross-entropy: (logits, labels) → mean loss, and its gradient with respect to the logits."""

from __future__ import annotations

import numpy as np

__all__ = ["SoftmaxCrossEntropy", "softmax", "cross_entropy"]


def softmax(z: np.ndarray) -> np.ndarray:
    """softmax(z)_k = exp(z_k − max) / Σ_j exp(z_j − max)."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def _shifted_exp(z: np.ndarray):
    """s = z − max, exp(s) and Σ exp(s) per row: exp(s) is computed once, for the loss and the probs."""
    shifted = z - z.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return shifted, e, e.sum(axis=-1, keepdims=True)


def _mean_loss(shifted: np.ndarray, total: np.ndarray, t: np.ndarray) -> float:
    """−(1/N) Σ t·log softmax, with log softmax = s − log Σ exp(s)."""
    n = shifted.shape[0]
    log_total = np.log(total)
    if t.ndim == 1:
        return float((log_total.sum() - shifted[np.arange(n), t].sum()) / n)
    return float(-(t * (shifted - log_total)).sum() / n)


def cross_entropy(z: np.ndarray, t: np.ndarray) -> float:
    """The mean loss of :class:`SoftmaxCrossEntropy` (the same operations, bit for bit), keeping
    nothing for a backward pass: what inference needs."""
    shifted, _, total = _shifted_exp(z)
    return _mean_loss(shifted, total, t)


class SoftmaxCrossEntropy:
    """L = −(1/N) Σ_i Σ_k t_ik · log softmax(z_i)_k;   dL/dz = (softmax(z) − t)/N.

    Labels are integers ``(N,)`` or one-hot / probability rows ``(N, K)``. The log-softmax is exact
    (as ``torch.nn.functional.cross_entropy``); the book adds 1e-7 inside the log, which changes the
    loss by < 1e-6 for any reasonable prediction and makes its gradient inconsistent, so it is not used.
    """

    def __init__(self):
        self.probs = None
        self.t = None

    def forward(self, z: np.ndarray, t: np.ndarray) -> float:
        shifted, e, total = _shifted_exp(z)
        loss = _mean_loss(shifted, total, t)
        e /= total
        self.probs = e
        self.t = t
        return loss

    def backward(self) -> np.ndarray:
        n = self.probs.shape[0]
        dz = self.probs.copy()
        if self.t.ndim == 1:
            dz[np.arange(n), self.t] -= 1.0
        else:
            dz -= self.t
        dz /= n
        return dz
