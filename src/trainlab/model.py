"""A multi-layer perceptron built from a :class:`ModelSpec`, over one flat parameter buffer.

Hidden layer i: Affine_i → [BatchNorm_i] → activation_i → [Dropout_i]; then the output Affine
and softmax cross-entropy (the book's ``MultiLayerNetExtend`` order).

Weight decay is the book's: L2 adds ½λ‖W‖² to the loss and λW to the gradient of every weight
matrix (output layer included); L1 adds λ‖W‖₁ and λ·sign(W). Biases, γ and β are never decayed.
Because the layout puts all weight matrices first, both are one operation on ``data[:n_decay]``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from . import inference
from .init import make_weight, resolve_init
from .layers import ACTIVATIONS, BN_CONVENTIONS, DROPOUT_CONVENTIONS, Affine, BatchNorm, Dropout
from .losses import SoftmaxCrossEntropy
from .options import HIDDEN_SYNTAX, hidden_option, number, option, parse_hidden
from .params import BLOCK, ParamBuffer
from .validate import (
    ConfigError,
    check_choice,
    from_fields,
    check_inputs,
    check_labels,
    check_nonnegative,
    check_unit_interval,
)

__all__ = ["ModelSpec", "MLP", "WEIGHT_DECAY_KINDS"]

WEIGHT_DECAY_KINDS = ("l2", "l1")
DTYPES = ("float32", "float64")


def _init_option(text: str):
    """``--init``: a name, or a number (the std of N(0, std²))."""
    try:
        return float(text)
    except ValueError:
        return text


@dataclass(frozen=True)
class ModelSpec:
    """Everything that defines an MLP. Frozen: a run writes it beside its results.

    init: an initialiser name (see :mod:`trainlab.init`), a book spelling ('he', 'xavier', …)
    or a number used as the std of N(0, std²). Each field declares its command-line option
    (:mod:`trainlab.options`); ``input_size`` and ``output_size`` come from the data.
    """

    input_size: int = 784
    hidden_sizes: tuple[int, ...] = field(default=(100, 100, 100, 100), metadata=option(
        f"hidden layer sizes: {HIDDEN_SYNTAX}", flag="--hidden", parse=hidden_option, metavar="SIZES"))
    output_size: int = 10
    activation: str = field(default="relu", metadata=option("hidden activation", choices=ACTIVATIONS))
    init: str | float = field(default="he", metadata=option(
        "weight initialiser: a name from 'trainlab list initializers' (he, xavier, glorot_normal, …) "
        "or a number = std of N(0, std²)", parse=_init_option, metavar="NAME|STD"))
    init_value: float | None = field(default=None, metadata=option(
        "the std of --init normal, or the value of --init constant", parse=number, metavar="X"))
    batch_norm: bool = field(default=False, metadata=option(
        "batch normalisation after each hidden affine layer", boolean=True))
    bn_convention: str = field(default="torch", metadata=option(
        "batch-norm convention: torch (eps 1e-5, running var from 1, unbiased) or book", choices=BN_CONVENTIONS))
    dropout: float = field(default=0.0, metadata=option(
        "dropout probability in [0, 1) after each hidden activation", parse=number, metavar="P"))
    dropout_convention: str = field(default="inverted", metadata=option(
        "inverted (torch) or classic (the book's: no scaling in training, ×(1−p) at test)",
        choices=DROPOUT_CONVENTIONS))
    weight_decay: float = field(default=0.0, metadata=option(
        "the model's weight decay λ: l2 adds ½λ‖W‖² to the loss (the book's), l1 λ‖W‖₁", parse=number, metavar="λ"))
    weight_decay_kind: str = field(default="l2", metadata=option("l2 or l1", choices=WEIGHT_DECAY_KINDS))
    dtype: str = field(default="float32", metadata=option("parameter dtype", choices=DTYPES))

    def __post_init__(self):
        if isinstance(self.hidden_sizes, str):
            object.__setattr__(self, "hidden_sizes", parse_hidden(self.hidden_sizes))
        try:
            sizes = tuple(int(h) for h in self.hidden_sizes)
        except (TypeError, ValueError):
            raise ConfigError("hidden_sizes", f"hidden_sizes must be integers, got {self.hidden_sizes!r}") from None
        object.__setattr__(self, "hidden_sizes", sizes)
        for name in ("input_size", "output_size"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ConfigError(name, f"{name} must be an integer >= 1, got {value!r}")
        if any(h < 1 for h in self.hidden_sizes):
            raise ConfigError("hidden_sizes", f"hidden_sizes must all be >= 1, got {self.hidden_sizes}")
        object.__setattr__(self, "activation", check_choice("activation", self.activation, ACTIVATIONS))
        init_name, _ = resolve_init(self.init)
        if self.init_value is not None:
            check_nonnegative("init_value", self.init_value)
            if init_name not in ("normal", "constant") or not isinstance(self.init, str) \
                    or init_name != self.init.lower():
                raise ConfigError("init_value", f"init_value sets the std of init 'normal' or the value of "
                                                f"init 'constant'; init {self.init!r} does not use it")
        check_unit_interval("dropout", self.dropout)
        check_nonnegative("weight_decay", self.weight_decay)
        # Choices are matched case-insensitively and stored lower-cased, so what was accepted here
        # is exactly what MLP() and the regulariser compare against ('L2' must mean l2).
        for field_name, kind, valid in (("bn_convention", "batch-norm convention", BN_CONVENTIONS),
                                        ("dropout_convention", "dropout convention", DROPOUT_CONVENTIONS),
                                        ("weight_decay_kind", "weight-decay kind", WEIGHT_DECAY_KINDS),
                                        ("dtype", "dtype", DTYPES)):
            object.__setattr__(self, field_name, check_choice(kind, getattr(self, field_name), valid, field_name))

    def replace(self, **changes) -> "ModelSpec":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["hidden_sizes"] = list(self.hidden_sizes)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelSpec":
        return from_fields(cls, d, "model option")

    @property
    def sizes(self) -> list[int]:
        return [self.input_size, *self.hidden_sizes, self.output_size]

    @property
    def n_params(self) -> int:
        """Trained numbers: every W and b, and γ, β per hidden unit with batch norm."""
        s = self.sizes
        n = sum(a * b + b for a, b in zip(s[:-1], s[1:]))
        return n + (2 * sum(self.hidden_sizes) if self.batch_norm else 0)

    @property
    def eval_rows(self) -> int:
        """Rows per chunk when evaluating: the widest layer's activations of a chunk stay near
        64 MiB (10,000 rows of MNIST-size nets; fewer for very wide layers)."""
        return inference.chunk_rows(max(self.sizes), np.dtype(self.dtype).itemsize)

    def memory_bytes(self, batch_size: int, optimizer_states: int = 3) -> int:
        """A rough peak of training memory: parameters, gradients, optimizer state and scratch
        (``5 + optimizer_states`` buffers), and about four arrays per layer for a batch and for an
        evaluation chunk."""
        item = np.dtype(self.dtype).itemsize
        rows = batch_size + self.eval_rows
        return int(item * (self.n_params * (4 + optimizer_states) + 4 * rows * sum(self.sizes)))


class MLP:
    """A multi-layer perceptron on one flat parameter buffer (``self.params``).

    ``rng`` draws the initial weights; ``dropout_rng`` draws dropout masks (pass a separate stream so
    adding dropout never changes the initial weights). ``predict`` returns logits.

    Inference (``predict``/``loss`` with ``train=False``, ``infer``, ``evaluate``, ``accuracy``) runs
    through :mod:`trainlab.inference`: chunks of ``spec.eval_rows`` rows, nothing kept for backward,
    activations in a workspace that the model keeps (two chunk-sized arrays of its widest layer).
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
        self._workspace = None  # inference buffers, made on first use

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
        """Logits z = f(x) (no softmax). ``train=True`` uses batch statistics and dropout and keeps
        what backward needs; inference mode (the default) is :meth:`infer`."""
        if check:
            x = self.check_batch(x)
        if not train:
            return inference.infer(self, x)
        for layer in self.layers:
            x = layer.forward(x, train)
        return x

    def infer(self, x, probs: bool = False, batch_size: int | None = None, *, check: bool = True) -> np.ndarray:
        """Inference-mode logits, or softmax probabilities with ``probs=True``: a new (N, K) array,
        computed in chunks of ``batch_size`` rows (default :attr:`ModelSpec.eval_rows`)."""
        if check:
            x = self.check_batch(x)
        return inference.infer(self, x, batch_size, probs)

    def evaluate(self, x, t, batch_size: int | None = None, *, check: bool = True) -> tuple[float, float]:
        """(loss, accuracy) in inference mode over the whole of ``x``: mean cross-entropy plus the
        decay term, and the fraction of argmax logits equal to the label."""
        if check:
            x, t = self.check_batch(x, t)
        return inference.evaluate(self, x, t, batch_size)

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
        """Mean cross-entropy plus the weight-decay term. Inference mode by default, as the book
        (then it is :meth:`evaluate`'s loss, computed in chunks)."""
        if check:
            x, t = self.check_batch(x, t)
        if not train:
            return inference.evaluate(self, x, t)[0]
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
            lam = p.dtype.type(lam)
            w, g = p.decayed, p.grad[: p.n_decay]
            l2 = self.spec.weight_decay_kind == "l2"
            for lo in range(0, w.size, BLOCK):  # in blocks: no temporary the size of all the weights
                wb = w[lo : lo + BLOCK]
                g[lo : lo + BLOCK] += lam * (wb if l2 else np.sign(wb))
        return loss

    def accuracy(self, x, t, batch_size: int | None = None) -> float:
        """Fraction of samples whose argmax logit equals the label (inference mode), in chunks of
        ``batch_size`` rows (default :attr:`ModelSpec.eval_rows`)."""
        x, t = self.check_batch(x, t)
        return inference.evaluate(self, x, t, batch_size, with_loss=False)[1]

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
