"""A multi-layer perceptron built from a :class:`ModelSpec`, over one flat parameter buffer.

Hidden layer i: Affine_i → [BatchNorm_i] → activation_i → [Dropout_i]; then the output Affine
and softmax cross-entropy (the book's ``MultiLayerNetExtend`` order).

Weight decay is the book's: L2 adds ½λ‖W‖² to the loss and λW to the gradient of every weight
matrix (output layer included); L1 adds λ‖W‖₁ and λ·sign(W). Biases, γ and β are never decayed.
Because the layout puts all weight matrices first, both are one operation on ``data[:n_decay]``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .init import make_weight, resolve_init
from .layers import ACTIVATIONS, BN_CONVENTIONS, DROPOUT_CONVENTIONS, Affine, BatchNorm, Dropout
from .losses import SoftmaxCrossEntropy
from .params import ParamBuffer
from .validate import (
    check_choice,
    check_inputs,
    check_labels,
    check_nonnegative,
    check_unit_interval,
)

__all__ = ["ModelSpec", "MLP", "WEIGHT_DECAY_KINDS"]

WEIGHT_DECAY_KINDS = ("l2", "l1")


@dataclass(frozen=True)
class ModelSpec:
    """Everything that defines an MLP. Frozen: a run writes it beside its results.

    init: an initialiser name (see :mod:`trainlab.init`), a book spelling ('he', 'xavier', …)
    or a number used as the std of N(0, std²).
    """

    input_size: int = 784
    hidden_sizes: tuple[int, ...] = (100, 100, 100, 100)
    output_size: int = 10
    activation: str = "relu"
    init: str | float = "he"
    init_value: float | None = None
    batch_norm: bool = False
    bn_convention: str = "torch"
    dropout: float = 0.0
    dropout_convention: str = "inverted"
    weight_decay: float = 0.0
    weight_decay_kind: str = "l2"
    dtype: str = "float32"

    def __post_init__(self):
        object.__setattr__(self, "hidden_sizes", tuple(int(h) for h in self.hidden_sizes))
        for name in ("input_size", "output_size"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if any(h < 1 for h in self.hidden_sizes):
            raise ValueError(f"hidden_sizes must all be >= 1, got {self.hidden_sizes}")
        object.__setattr__(self, "activation", check_choice("activation", self.activation, ACTIVATIONS))
        resolve_init(self.init)
        check_unit_interval("dropout", self.dropout)
        check_nonnegative("weight_decay", self.weight_decay)
        # Choices are matched case-insensitively and stored lower-cased, so what was accepted here
        # is exactly what MLP() and the regulariser compare against ('L2' must mean l2).
        for field_name, kind, valid in (("bn_convention", "batch-norm convention", BN_CONVENTIONS),
                                        ("dropout_convention", "dropout convention", DROPOUT_CONVENTIONS),
                                        ("weight_decay_kind", "weight-decay kind", WEIGHT_DECAY_KINDS),
                                        ("dtype", "dtype", ("float32", "float64"))):
            object.__setattr__(self, field_name, check_choice(kind, getattr(self, field_name), valid))

    def replace(self, **changes) -> "ModelSpec":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["hidden_sizes"] = list(self.hidden_sizes)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelSpec":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown model option(s) {sorted(unknown)}; accepted: {sorted(known)}")
        return cls(**d)

    @property
    def sizes(self) -> list[int]:
        return [self.input_size, *self.hidden_sizes, self.output_size]


class MLP:
    """A multi-layer perceptron on one flat parameter buffer (``self.params``).

    ``rng`` draws the initial weights; ``dropout_rng`` draws dropout masks (pass a separate stream so
    adding dropout never changes the initial weights). ``predict`` returns logits.
    """

    def __init__(self, spec: ModelSpec | None = None, rng: np.random.Generator | int | None = 0,
                 dropout_rng: np.random.Generator | int | None = None, **spec_kwargs):
        if spec is None:
            spec = ModelSpec(**spec_kwargs)
        elif spec_kwargs:
            spec = spec.replace(**spec_kwargs)
        self.spec = spec
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        if dropout_rng is None:
            dropout_rng = np.random.default_rng(rng.integers(2**63))
        elif not isinstance(dropout_rng, np.random.Generator):
            dropout_rng = np.random.default_rng(dropout_rng)
        sizes = spec.sizes
        n_affine = len(sizes) - 1
        entries = []
        for i in range(1, n_affine + 1):
            entries.append((f"W{i}", (sizes[i - 1], sizes[i]), True))
            entries.append((f"b{i}", (sizes[i],), False))
            if spec.batch_norm and i < n_affine:
                entries.append((f"gamma{i}", (sizes[i],), False))
                entries.append((f"beta{i}", (sizes[i],), False))
        self.params = p = ParamBuffer.allocate(entries, dtype=np.dtype(spec.dtype))
        for i in range(1, n_affine + 1):  # draw in the book's order W1, W2, …
            p.view(f"W{i}")[...] = make_weight(spec.init, rng, (sizes[i - 1], sizes[i]), spec.init_value)
            if spec.batch_norm and i < n_affine:
                p.view(f"gamma{i}")[...] = 1.0
        self.layers = []
        for i in range(1, n_affine + 1):
            self.layers.append(Affine(p.view(f"W{i}"), p.view(f"b{i}"), p.grad_view(f"W{i}"),
                                      p.grad_view(f"b{i}"), need_dx=i > 1))
            if i == n_affine:
                break
            if spec.batch_norm:
                d = sizes[i]
                p.buffers[f"running_mean{i}"] = rm = np.zeros(d, p.dtype)
                p.buffers[f"running_var{i}"] = rv = np.zeros(d, p.dtype)
                self.layers.append(BatchNorm(p.view(f"gamma{i}"), p.view(f"beta{i}"), p.grad_view(f"gamma{i}"),
                                             p.grad_view(f"beta{i}"), rm, rv, convention=spec.bn_convention))
            self.layers.append(ACTIVATIONS[spec.activation]())
            if spec.dropout > 0:
                self.layers.append(Dropout(spec.dropout, dropout_rng, convention=spec.dropout_convention))
        self.loss_layer = SoftmaxCrossEntropy()
        self.dropout_rng = dropout_rng

    # -- checks -----------------------------------------------------------------------------------
    def check_batch(self, x, t=None):
        """Validate and convert a batch: (N, input_size) finite inputs, labels in range."""
        x = check_inputs(x, self.spec.input_size)
        x = x.astype(self.params.dtype, copy=False)
        if t is None:
            return x
        return x, check_labels(t, x.shape[0], self.spec.output_size)

    # -- forward / backward -----------------------------------------------------------------------
    def predict(self, x, train: bool = False, *, check: bool = True) -> np.ndarray:
        """Logits z = f(x) (no softmax). ``train=True`` uses batch statistics and dropout."""
        if check:
            x = self.check_batch(x)
        for layer in self.layers:
            x = layer.forward(x, train)
        return x

    def regularization(self) -> float:
        """½λ‖W‖² (L2) or λ‖W‖₁ (L1) over every weight matrix."""
        lam = self.spec.weight_decay
        if lam == 0:
            return 0.0
        w = self.params.decayed
        if self.spec.weight_decay_kind == "l2":
            return 0.5 * lam * float(np.dot(w, w))
        return lam * float(np.abs(w).sum())

    def loss(self, x, t, train: bool = False, *, check: bool = True) -> float:
        """Mean cross-entropy plus the weight-decay term. Inference mode by default, as the book."""
        if check:
            x, t = self.check_batch(x, t)
        z = self.predict(x, train, check=False)
        return self.loss_layer.forward(z, t) + self.regularization()

    def gradient(self, x, t, *, check: bool = True) -> float:
        """Forward in training mode, backward into ``params.grad``; returns the loss before the update.

        Gradient of the decay term: λW (L2) or λ·sign(W) (L1), on the weight matrices only.
        """
        loss = self.loss(x, t, train=True, check=check)
        dout = self.loss_layer.backward()
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        lam = self.spec.weight_decay
        if lam:
            p = self.params
            g = p.grad[: p.n_decay]
            if self.spec.weight_decay_kind == "l2":
                g += p.data.dtype.type(lam) * p.decayed
            else:
                g += p.data.dtype.type(lam) * np.sign(p.decayed)
        return loss

    def accuracy(self, x, t, batch_size: int = 10000) -> float:
        """Fraction of samples whose argmax logit equals the label (inference mode)."""
        x, t = self.check_batch(x, t)
        labels = t if t.ndim == 1 else t.argmax(axis=1)
        correct = 0
        for i in range(0, x.shape[0], batch_size):
            z = self.predict(x[i : i + batch_size], check=False)
            correct += int(np.count_nonzero(z.argmax(axis=1) == labels[i : i + batch_size]))
        return correct / x.shape[0]

    # -- helpers ------------------------------------------------------------------------------------
    def freeze_dropout(self, frozen: bool = True) -> None:
        """Reuse the last dropout masks (for gradient checks); ``False`` draws fresh masks again."""
        for layer in self.layers:
            if isinstance(layer, Dropout):
                layer.frozen = frozen

    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameters and BN running statistics (copies)."""
        return self.params.state_dict()

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.params.load_state_dict(state)

    def __repr__(self) -> str:
        s = self.spec
        return (f"MLP({'-'.join(map(str, s.sizes))}, activation={s.activation!r}, init={s.init!r}, "
                f"batch_norm={s.batch_norm}, dropout={s.dropout}, weight_decay={s.weight_decay}, "
                f"params={self.params.size}, dtype={s.dtype})")
