"""Softmax cross-entropy: (logits, labels) → mean loss, and its gradient with respect to the logits."""

from __future__ import annotations

import numpy as np

__all__ = ["SoftmaxCrossEntropy", "softmax"]


def softmax(z: np.ndarray) -> np.ndarray:
    """softmax(z)_k = exp(z_k − max) / Σ_j exp(z_j − max)."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


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
        # s = z − max, log softmax = s − log Σ exp(s); exp(s) is computed once and reused for the probs
        n = z.shape[0]
        shifted = z - z.max(axis=-1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=-1, keepdims=True)
        log_total = np.log(total)
        if t.ndim == 1:
            loss = (log_total.sum() - shifted[np.arange(n), t].sum()) / n
        else:
            loss = -(t * (shifted - log_total)).sum() / n
        e /= total
        self.probs = e
        self.t = t
        return float(loss)

    def backward(self) -> np.ndarray:
        n = self.probs.shape[0]
        dz = self.probs.copy()
        if self.t.ndim == 1:
            dz[np.arange(n), self.t] -= 1.0
        else:
            dz -= self.t
        dz /= n
        return dz
