"""Gradient checks in float64: every layer alone, the loss, and whole MLPs.

Criteria, per parameter (or per input):
  relative error ‖a − n‖ / (‖a‖ + ‖n‖) <= 1e-6, and elementwise |a − n| <= 1e-7 + 1e-5·|n|,
where a is backprop and n the central difference with h = 1e-5.

ReLU is not differentiable at 0. With zero biases, a sample whose previous layer is all zeros (dead
or dropped) puts a pre-activation exactly on the kink, where the numerical slope is 0.5 and the layer
uses 0; the whole-model checks therefore start from small random biases (and β, γ ≠ 0, 1), and L1
decay is checked only where no weight lies within h of 0 (|w| has a kink there too).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from trainlab.gradcheck import gradient_check, model_numerical_gradient, numerical_gradient, relative_error
from trainlab.layers import Affine, BatchNorm, Dropout, ReLU, Sigmoid, Tanh
from trainlab.losses import SoftmaxCrossEntropy
from trainlab.model import MLP, ModelSpec

H = 1e-5
REL_TOL = 1e-6
ABS_TOL, ELEM_RTOL = 1e-7, 1e-5


def central_difference(f, arr, h=H):
    """∂f/∂arr by central differences, perturbing ``arr`` in place (written here, independent of the engine)."""
    out = np.zeros(arr.shape)
    it = np.nditer(arr, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = arr[i]
        arr[i] = old + h
        fp = f()
        arr[i] = old - h
        fm = f()
        arr[i] = old
        out[i] = (fp - fm) / (2 * h)
    return out


def rel_err(a, n):
    a, n = np.ravel(a).astype(np.float64), np.ravel(n).astype(np.float64)
    d = np.linalg.norm(a) + np.linalg.norm(n)
    return 0.0 if d == 0 else float(np.linalg.norm(a - n) / d)


def assert_grad_ok(a, n, what):
    a, n = np.asarray(a, np.float64), np.asarray(n, np.float64)
    assert a.shape == n.shape, (what, a.shape, n.shape)
    r = rel_err(a, n)
    assert r <= REL_TOL, f"{what}: relative error {r:.2e} > {REL_TOL:.0e}"
    bad = np.abs(a - n) > ABS_TOL + ELEM_RTOL * np.abs(n)
    assert not bad.any(), f"{what}: {bad.sum()} elements off, worst |a−n| = {np.abs(a - n).max():.2e}"


# ---------------------------------------------------------------------------------------------
# the checker itself
# ---------------------------------------------------------------------------------------------


def test_numerical_gradient_on_known_function():
    theta = np.array([[0.3, -1.2], [2.0, 0.7]])
    g = numerical_gradient(lambda: float(np.sum(np.sin(theta)) + 0.5 * np.sum(theta**3)), theta)
    assert_grad_ok(np.cos(theta) + 1.5 * theta**2, g, "sin + x³/2")
    np.testing.assert_array_equal(theta, [[0.3, -1.2], [2.0, 0.7]])  # restored


def test_relative_error_definition():
    a, b = np.array([3.0, 4.0]), np.array([3.0, 4.0 + 1e-3])
    assert relative_error(a, b) == pytest.approx(1e-3 / (5.0 + np.linalg.norm(b)))
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0


# ---------------------------------------------------------------------------------------------
# layers alone: L = Σ out ⊙ R for a fixed random R, so dout = R
# ---------------------------------------------------------------------------------------------


def test_affine():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 5))
    W, b = rng.normal(size=(5, 3)), rng.normal(size=3)
    dW, db = np.zeros_like(W), np.zeros_like(b)
    R = rng.normal(size=(4, 3))
    layer = Affine(W, b, dW, db)
    f = lambda: float(np.sum(layer.forward(x) * R))  # noqa: E731
    layer.forward(x)
    dx = layer.backward(R)
    assert_grad_ok(dx, central_difference(f, x), "Affine dx")
    assert_grad_ok(dW, central_difference(f, W), "Affine dW")
    assert_grad_ok(db, central_difference(f, b), "Affine db")
    # the first layer skips dx but still fills dW, db
    first = Affine(W, b, np.zeros_like(W), np.zeros_like(b), need_dx=False)
    first.forward(x)
    assert first.backward(R) is None
    np.testing.assert_allclose(first.dW, dW, rtol=1e-15)


@pytest.mark.parametrize("cls", [ReLU, Sigmoid, Tanh])
def test_activation(cls):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, 5)) * 2
    if cls is ReLU:  # keep away from the kink by more than h
        x[np.abs(x) < 1e-3] = 0.5
    R = rng.normal(size=x.shape)
    layer = cls()
    f = lambda: float(np.sum(layer.forward(x) * R))  # noqa: E731
    layer.forward(x)
    dx = layer.backward(R)
    assert_grad_ok(dx, central_difference(f, x), f"{cls.__name__} dx")


def test_relu_derivative_at_zero_is_zero_and_dout_not_mutated():
    layer = ReLU()
    layer.forward(np.array([[-1.0, 0.0, 2.0]]))
    dout = np.ones((1, 3))
    np.testing.assert_array_equal(layer.backward(dout), [[0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(dout, np.ones((1, 3)))


def _bn(d, convention, rng):
    gamma = 1.0 + 0.3 * rng.normal(size=d)
    beta = 0.3 * rng.normal(size=d)
    return BatchNorm(gamma, beta, np.zeros(d), np.zeros(d), np.zeros(d), np.zeros(d), convention=convention)


@pytest.mark.parametrize("convention", ["torch", "book"])
@pytest.mark.parametrize("n", [2, 3, 8])
def test_batchnorm_train_mode(convention, n):
    rng = np.random.default_rng(10 + n)
    d = 4
    x = rng.normal(size=(n, d)) * np.array([1.0, 3.0, 0.2, 0.05]) + 1.5  # h ≪ spread
    bn = _bn(d, convention, rng)
    R = rng.normal(size=(n, d))
    f = lambda: float(np.sum(bn.forward(x, True) * R))  # noqa: E731
    bn.forward(x, True)
    dx = bn.backward(R)
    dgamma, dbeta = bn.dgamma.copy(), bn.dbeta.copy()
    assert_grad_ok(dx, central_difference(f, x), f"BN train dx (N={n})")
    assert_grad_ok(dgamma, central_difference(f, bn.gamma), "BN dgamma")
    assert_grad_ok(dbeta, central_difference(f, bn.beta), "BN dbeta")
    # Σ_batch dx = 0: shifting every sample by the same amount changes nothing in train mode
    np.testing.assert_allclose(dx.sum(axis=0), 0.0, atol=1e-10 * np.abs(dx).max())


@pytest.mark.parametrize("convention", ["torch", "book"])
def test_batchnorm_eval_mode(convention):
    rng = np.random.default_rng(20)
    d, n = 4, 5
    x = rng.normal(size=(n, d))
    bn = _bn(d, convention, rng)
    bn.running_mean[...] = rng.normal(size=d)
    bn.running_var[...] = rng.uniform(0.5, 2.0, size=d)
    R = rng.normal(size=(n, d))
    f = lambda: float(np.sum(bn.forward(x, False) * R))  # noqa: E731
    bn.forward(x, False)
    dx = bn.backward(R)
    dgamma, dbeta = bn.dgamma.copy(), bn.dbeta.copy()
    assert_grad_ok(dx, central_difference(f, x), "BN eval dx")
    assert_grad_ok(dgamma, central_difference(f, bn.gamma), "BN eval dgamma")
    assert_grad_ok(dbeta, central_difference(f, bn.beta), "BN eval dbeta")
    # eval mode is an affine map per feature: dx = γ·dout/√(running_var + eps)
    np.testing.assert_allclose(dx, R * bn.gamma / np.sqrt(bn.running_var + bn.eps), rtol=1e-14)


@pytest.mark.parametrize("convention", ["inverted", "classic"])
def test_dropout_under_fixed_mask(convention):
    rng = np.random.default_rng(30)
    x = rng.normal(size=(6, 7))
    layer = Dropout(0.4, np.random.default_rng(5), convention=convention)
    layer.forward(x, True)
    mask = layer.mask.copy()
    assert 0 < np.count_nonzero(mask) < mask.size
    layer.frozen = True
    R = rng.normal(size=x.shape)
    f = lambda: float(np.sum(layer.forward(x, True) * R))  # noqa: E731
    layer.forward(x, True)
    dx = layer.backward(R)
    assert_grad_ok(dx, central_difference(f, x), f"Dropout ({convention}) dx")
    np.testing.assert_array_equal(layer.mask, mask)  # the frozen mask was reused throughout
    scale = 1 / 0.6 if convention == "inverted" else 1.0
    np.testing.assert_allclose(dx, R * (mask != 0) * scale, rtol=1e-15)


@pytest.mark.parametrize("labels", ["integer", "one-hot", "soft"])
def test_softmax_cross_entropy(labels):
    rng = np.random.default_rng(40)
    n, k = 5, 4
    z = rng.normal(size=(n, k)) * 2
    ints = rng.integers(0, k, size=n)
    if labels == "integer":
        t = ints
    elif labels == "one-hot":
        t = np.eye(k)[ints]
    else:
        t = rng.dirichlet(np.ones(k), size=n)
    loss = SoftmaxCrossEntropy()
    f = lambda: loss.forward(z, t)  # noqa: E731
    loss.forward(z, t)
    dz = loss.backward()
    assert_grad_ok(dz, central_difference(f, z), f"softmax CE dz ({labels})")


def test_softmax_cross_entropy_integer_and_one_hot_agree():
    rng = np.random.default_rng(41)
    z = rng.normal(size=(6, 3))
    t = rng.integers(0, 3, size=6)
    a, b = SoftmaxCrossEntropy(), SoftmaxCrossEntropy()
    assert a.forward(z, t) == pytest.approx(b.forward(z, np.eye(3)[t]), rel=1e-14)
    np.testing.assert_allclose(a.backward(), b.backward(), rtol=1e-14, atol=1e-17)


# ---------------------------------------------------------------------------------------------
# whole MLPs
# ---------------------------------------------------------------------------------------------

ACTS = ["relu", "sigmoid", "tanh"]
BNS = [None, "torch", "book"]
DROPS = [None, "inverted", "classic"]
DECAYS = [(0.0, "l2"), (0.1, "l2"), (0.05, "l1")]


def build_checked_model(activation, bn, drop, decay, seed=0, n=8):
    lam, kind = decay
    spec = ModelSpec(
        input_size=5, hidden_sizes=(6, 4), output_size=3, activation=activation, init="he",
        batch_norm=bn is not None, bn_convention=bn or "torch",
        dropout=0.3 if drop else 0.0, dropout_convention=drop or "inverted",
        weight_decay=lam, weight_decay_kind=kind, dtype="float64",
    )
    model = MLP(spec, rng=seed, dropout_rng=seed + 100)
    rng = np.random.default_rng(seed + 1)
    p = model.params
    for name in p.slots:
        v = p.view(name)
        if name.startswith("b") and not name.startswith("beta"):
            v[...] = rng.normal(0, 0.1, v.shape)
        elif name.startswith("gamma"):
            v[...] = 1.0 + rng.normal(0, 0.1, v.shape)
        elif name.startswith("beta"):
            v[...] = rng.normal(0, 0.1, v.shape)
    x = rng.normal(size=(n, 5))
    t = rng.integers(0, 3, size=n)
    return model, x, t


def model_gradients(model, x, t):
    """(backprop, central difference) over the whole flat buffer, under the same dropout masks."""
    p = model.params
    saved = {k: v.copy() for k, v in p.buffers.items()}
    model.gradient(x, t)  # draws the dropout masks
    for k, v in saved.items():
        p.buffers[k][...] = v
    analytic = p.grad.copy()
    numeric = model_numerical_gradient(model, x, t, h=H)  # reuses those masks
    return analytic, numeric


MODEL_CASES = list(itertools.product(ACTS, BNS, DROPS, DECAYS))


@pytest.mark.parametrize(
    "activation,bn,drop,decay", MODEL_CASES,
    ids=[f"{a}-bn_{b}-drop_{d}-{k}{lam}" for a, b, d, (lam, k) in MODEL_CASES],
)
def test_mlp_gradient(activation, bn, drop, decay):
    model, x, t = build_checked_model(activation, bn, drop, decay)
    p = model.params
    if decay[1] == "l1" and decay[0] > 0:
        assert np.abs(p.decayed).min() > 10 * H, "a weight sits within h of the |w| kink"
    analytic, numeric = model_gradients(model, x, t)
    assert np.all(np.isfinite(analytic)) and np.all(np.isfinite(numeric))
    for name, s in p.slots.items():
        a = analytic[s.offset : s.offset + s.size]
        n = numeric[s.offset : s.offset + s.size]
        if bn and name in ("b1", "b2"):
            # a bias right before BatchNorm (train mode) is cancelled by the mean subtraction:
            # its true gradient is 0; backprop gives rounding noise, the difference ~1e-11.
            assert np.abs(a).max() <= 1e-12, (name, a)
            assert np.abs(n).max() <= 1e-8, (name, n)
            continue
        assert_grad_ok(a, n, name)
    # the library's own report agrees (it draws fresh masks, so this is an independent second check)
    report = gradient_check(model, x, t, h=H)
    assert set(report) == set(p.slots)
    for name, err in report.items():
        if not (bn and name in ("b1", "b2")):
            assert err <= REL_TOL, (name, err)


def test_mlp_gradient_float64_deep_and_wide_output():
    spec = ModelSpec(input_size=3, hidden_sizes=(5, 5, 5), output_size=6, activation="tanh", init="xavier",
                     batch_norm=True, dropout=0.2, weight_decay=0.01, dtype="float64")
    model = MLP(spec, rng=7)
    rng = np.random.default_rng(8)
    x, t = rng.normal(size=(10, 3)), rng.integers(0, 6, 10)
    analytic, numeric = model_gradients(model, x, t)
    for name, s in model.params.slots.items():
        if name in ("b1", "b2", "b3"):
            continue
        assert_grad_ok(analytic[s.offset : s.offset + s.size], numeric[s.offset : s.offset + s.size], name)


def test_mlp_gradient_with_one_hot_labels():
    model, x, t = build_checked_model("sigmoid", "torch", "inverted", (0.1, "l2"))
    analytic, numeric = model_gradients(model, x, np.eye(3)[t])
    for name, s in model.params.slots.items():
        if name in ("b1", "b2"):
            continue
        assert_grad_ok(analytic[s.offset : s.offset + s.size], numeric[s.offset : s.offset + s.size], name)


def test_gradient_returns_train_loss_before_update():
    model, x, t = build_checked_model("relu", None, None, (0.1, "l2"))
    loss = model.gradient(x, t)
    assert loss == pytest.approx(model.loss(x, t, train=True), rel=1e-14)


# ---------------------------------------------------------------------------------------------
# the book's degenerate BN check with a batch of ONE (its batch_norm_gradient_check.py)
# ---------------------------------------------------------------------------------------------


def _bn_net(convention):
    spec = ModelSpec(input_size=6, hidden_sizes=(5, 4), output_size=3, batch_norm=True,
                     bn_convention=convention, dtype="float64")
    return MLP(spec, rng=3)


def test_book_bn_batch_of_one_is_degenerate():
    """N = 1, book convention: every BN output equals β (= 0), so every gradient before the last
    Affine is exactly 0 — and W3 too, since its input is ReLU(0) = 0. Only b3 carries a gradient.
    The numerical check then 'fails' on β2 alone: ReLU sits on its kink, where the central
    difference sees slope ½ and the layer uses 0 — a property of the check, not of backprop."""
    model = _bn_net("book")
    rng = np.random.default_rng(4)
    x, t = rng.normal(size=(1, 6)), np.eye(3)[[1]]
    analytic, numeric = model_gradients(model, x, t)
    p = model.params
    for name, s in p.slots.items():
        a = analytic[s.offset : s.offset + s.size]
        if name == "b3":
            assert np.abs(a).max() > 0.1
        else:
            assert np.all(a == 0.0), (name, a)
    report = gradient_check(model, x, t)
    assert report["beta2"] > 0.5  # spurious: numeric slope ½·(W3·dL/dz) at the kink
    for name, err in report.items():
        if name not in ("beta2", "b3"):
            assert err == 0.0 or np.abs(numeric[p.slots[name].offset:][: p.slots[name].size]).max() < 1e-9
    assert report["b3"] <= REL_TOL

    # the same network with N = 5 checks out everywhere (pre-BN biases aside, whose gradient is 0)
    x5, t5 = rng.normal(size=(5, 6)), np.eye(3)[[0, 1, 2, 1, 0]]
    for name, err in gradient_check(model, x5, t5).items():
        if name not in ("b1", "b2"):
            assert err <= REL_TOL, (name, err)


def test_torch_bn_batch_of_one_raises_in_training():
    model = _bn_net("torch")
    x, t = np.ones((1, 6)), np.array([0])
    with pytest.raises(ValueError, match="more than 1 sample"):
        model.gradient(x, t)
    # inference with one sample is fine (running statistics)
    assert model.predict(x).shape == (1, 3)
