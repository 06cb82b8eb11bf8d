"""Inference: the forward pass alone, chunk by chunk, in buffers reused across chunks and calls.

For a chunk X of r rows every layer runs in inference mode and keeps nothing for a backward pass
(no ReLU masks, no Affine inputs, no batch-norm caches):

    H₁ = X·W₁ + b₁ into a reused buffer; then, in place, batch norm with the running statistics,
    the activation, dropout (identity, or ×(1−p) in the classic convention); H₂ = H₁·W₂ + b₂ into
    the other buffer; … up to the logits Z.

    loss = (1/N) Σ_chunks r·CE(Z_chunk, t_chunk) + the model's decay term,
    accuracy = #{argmax Z = label} / N.

Each layer's ``infer``/``infer_`` performs the operations of ``forward(·, train=False)`` in the same
order, so the logits of a chunk are bit-identical to ``predict`` before this module existed; the
loss sums the chunks as the trainer always did.

Buffers: two float arrays that hidden activations ping-pong between (an Affine cannot write its
input) and one boolean array for the ReLU mask, allocated once per model and grown only when a
larger chunk comes; the last, shorter chunk uses the front of the same arrays.

``evaluate_many(models, x, t)`` runs several networks on one input: the first layer is ONE product
X·[W₁ᵃ | W₁ᵇ | …] (X is packed for BLAS once, not once per net, and the product is k times wider),
then each net's remaining layers run on its column slice of that product.
"""

from __future__ import annotations

import numpy as np

from .layers import Affine
from .losses import cross_entropy, softmax

__all__ = ["chunk_rows", "infer", "evaluate", "infer_many", "evaluate_many", "Workspace"]

CHUNK_BYTES = 64 << 20  # an evaluation chunk's widest activations stay near this


def chunk_rows(width: int, itemsize: int) -> int:
    """Rows per evaluation chunk: three arrays of the widest layer ≈ 64 MiB, at most 10,000 rows."""
    return int(max(1, min(10_000, CHUNK_BYTES // (width * itemsize * 3))))


class Workspace:
    """Named flat buffers that grow on demand; ``take(name, shape, dtype)`` returns a C-contiguous
    view of the front of one (so a shorter last chunk reuses the same memory)."""

    def __init__(self):
        self.flat: dict[str, np.ndarray] = {}

    def take(self, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        size = int(np.prod(shape))
        buf = self.flat.get(name)
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = self.flat[name] = np.empty(size, dtype)
        return buf[:size].reshape(shape)

    @property
    def nbytes(self) -> int:
        return sum(b.nbytes for b in self.flat.values())


def workspace(model) -> Workspace:
    """The model's inference workspace (made on first use, kept for the life of the model)."""
    ws = getattr(model, "_workspace", None)
    if ws is None:
        ws = model._workspace = Workspace()
    return ws


def _run(layers, h: np.ndarray, ws: Workspace, slot: int = 0) -> np.ndarray:
    """Inference through ``layers`` from ``h`` (never written if it is not a workspace buffer:
    the first layer is always an Affine, which writes elsewhere)."""
    for layer in layers:
        if isinstance(layer, Affine):
            out = ws.take("ab"[slot], (h.shape[0], layer.W.shape[1]), h.dtype)
            h = layer.infer(h, out)
            slot ^= 1
        else:
            h = layer.infer_(h, ws.take("mask", h.shape, np.bool_))
    return h


def _labels(t: np.ndarray) -> np.ndarray:
    return t if t.ndim == 1 else t.argmax(axis=1)


def infer(model, x: np.ndarray, batch_size: int | None = None, probs: bool = False) -> np.ndarray:
    """Logits (or softmax probabilities) of every row of ``x``, a new ``(N, K)`` array.

    ``x`` must already be a checked batch in the model's dtype (``MLP.check_batch``)."""
    rows = batch_size or model.spec.eval_rows
    ws = workspace(model)
    out = np.empty((x.shape[0], model.spec.output_size), x.dtype)
    for i in range(0, x.shape[0], rows):
        z = _run(model.layers, x[i : i + rows], ws)
        out[i : i + rows] = softmax(z) if probs else z
    return out


def evaluate(model, x: np.ndarray, t: np.ndarray, batch_size: int | None = None,
             with_loss: bool = True) -> tuple[float, float]:
    """(loss, accuracy) on ``(x, t)`` in inference mode; loss includes the decay term (NaN when
    ``with_loss=False``). ``x``, ``t`` must already be checked (``MLP.check_batch``)."""
    rows = batch_size or model.spec.eval_rows
    ws = workspace(model)
    labels = _labels(t)
    total, correct = 0.0, 0
    for i in range(0, x.shape[0], rows):
        xb, tb = x[i : i + rows], t[i : i + rows]
        z = _run(model.layers, xb, ws)
        if with_loss:
            total += cross_entropy(z, tb) * xb.shape[0]
        correct += int(np.count_nonzero(z.argmax(axis=1) == labels[i : i + rows]))
    n = x.shape[0]
    loss = total / n + model.regularization() if with_loss else float("nan")
    return loss, correct / n


def _many_logits(models, x: np.ndarray, rows: int | None):
    """Yield ``(i, j, z)``: the logits z of model j on the chunk of rows starting at i."""
    first = models[0]
    for m in models[1:]:
        if (m.spec.input_size, m.spec.output_size, m.params.dtype) != \
                (first.spec.input_size, first.spec.output_size, first.params.dtype):
            raise ValueError("several networks at once need one input size, output size and dtype; got "
                             f"{first!r} and {m!r}")
    dtype = first.params.dtype
    widths = [m.layers[0].W.shape[1] for m in models]
    bounds = list(zip(np.cumsum([0, *widths[:-1]]).tolist(), np.cumsum(widths).tolist()))
    wide = sum(widths)
    rows = rows or chunk_rows(max(wide, *(max(m.spec.sizes) for m in models)), dtype.itemsize)
    ws = workspace(first)
    # [W₁ᵃ | W₁ᵇ | …] and [b₁ᵃ | b₁ᵇ | …], gathered on every call: the weights change between calls
    W = ws.take("many_W", (first.spec.input_size, wide), dtype)
    b = ws.take("many_b", (wide,), dtype)
    for m, (lo, hi) in zip(models, bounds):
        W[:, lo:hi] = m.layers[0].W
        b[lo:hi] = m.layers[0].b
    for i in range(0, x.shape[0], rows):
        xb = x[i : i + rows]
        h = ws.take("many_h", (xb.shape[0], wide), dtype)
        np.matmul(xb, W, out=h)  # the operations of Affine.infer, k networks wide
        h += b
        for j, (m, (lo, hi)) in enumerate(zip(models, bounds)):
            # this net's columns: a row-strided view, which BLAS reads as it is (lda = wide)
            yield i, j, _run(m.layers[1:], h[:, lo:hi], ws)


def infer_many(models, x, batch_size: int | None = None, probs: bool = False, *,
               check: bool = True) -> list[np.ndarray]:
    """Each model's inference logits (or probabilities) on the same ``x``, as ``model.infer(x)`` one
    by one; the first layer of all of them is one matrix product X·[W₁ᵃ | W₁ᵇ | …]."""
    models = list(models)
    if not models:
        return []
    if check:
        x = models[0].check_batch(x)
    out = [np.empty((x.shape[0], m.spec.output_size), x.dtype) for m in models]
    for i, j, z in _many_logits(models, x, batch_size):
        out[j][i : i + z.shape[0]] = softmax(z) if probs else z
    return out


def evaluate_many(models, x, t, batch_size: int | None = None, *, check: bool = True) -> list[tuple[float, float]]:
    """``[(loss, accuracy)]`` of each model on the same ``(x, t)``, equal to ``model.evaluate(x, t)``
    one by one (identical predictions; losses summed over other chunks, so equal to rounding);
    the first layer of all of them is one matrix product X·[W₁ᵃ | W₁ᵇ | …].

    The models must share input size, output size and dtype; everything after the first Affine
    (widths, batch norm, activation, dropout, depth) may differ. ``batch_size`` defaults to the
    rows that keep the widest array of a chunk (often the k-wide first layer) near 64 MiB.
    """
    models = list(models)
    if not models:
        return []
    if check:
        x, t = models[0].check_batch(x, t)
    labels = _labels(t)
    totals, correct = [0.0] * len(models), [0] * len(models)
    for i, j, z in _many_logits(models, x, batch_size):
        r = z.shape[0]
        totals[j] += cross_entropy(z, t[i : i + r]) * r
        correct[j] += int(np.count_nonzero(z.argmax(axis=1) == labels[i : i + r]))
    n = x.shape[0]
    return [(totals[j] / n + m.regularization(), correct[j] / n) for j, m in enumerate(models)]
