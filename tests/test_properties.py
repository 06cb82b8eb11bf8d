"""Property tests over shapes (batch 2..16, widths 1..20, depth 0..3) and dtypes (float32/float64)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from trainlab.layers import BatchNorm
from trainlab.losses import SoftmaxCrossEntropy
from trainlab.model import MLP, ModelSpec
from trainlab.optim import OPTIMIZERS, make_optimizer

SETTINGS = settings(max_examples=30, deadline=None)

batch = st.integers(2, 16)
width = st.integers(1, 20)
depth = st.integers(0, 3)
dtypes = st.sampled_from(["float32", "float64"])
seeds = st.integers(0, 2**32 - 1)


@st.composite
def models(draw):
    hidden = tuple(draw(st.lists(width, min_size=0, max_size=3)))
    spec = ModelSpec(
        input_size=draw(width), hidden_sizes=hidden, output_size=draw(width),
        activation=draw(st.sampled_from(["relu", "sigmoid", "tanh"])),
        init=draw(st.sampled_from(["he", "xavier", "glorot_uniform", 0.1])),
        batch_norm=draw(st.booleans()), bn_convention=draw(st.sampled_from(["torch", "book"])),
        dropout=draw(st.sampled_from([0.0, 0.3])),
        dropout_convention=draw(st.sampled_from(["inverted", "classic"])),
        weight_decay=draw(st.sampled_from([0.0, 0.01])), weight_decay_kind=draw(st.sampled_from(["l2", "l1"])),
        dtype=draw(dtypes),
    )
    return MLP(spec, rng=draw(seeds))


def batch_for(model, n, seed):
    rng = np.random.default_rng(seed)
    s = model.spec
    return rng.normal(size=(n, s.input_size)), rng.integers(0, s.output_size, size=n)


@SETTINGS
@given(model=models(), n=batch, seed=seeds)
def test_forward_shape_and_dtype(model, n, seed):
    x, _ = batch_for(model, n, seed)
    dt = np.dtype(model.spec.dtype)
    for train in (False, True):
        z = model.predict(x, train=train)
        assert z.shape == (n, model.spec.output_size)
        assert z.dtype == dt
        assert np.all(np.isfinite(z))
    # float32 input to a float64 model (and the reverse) still comes out in the model's dtype
    assert model.predict(x.astype(np.float32)).dtype == dt


@SETTINGS
@given(model=models(), n=batch, seed=seeds)
def test_gradient_buffer_shape_and_dtype(model, n, seed):
    x, t = batch_for(model, n, seed)
    p = model.params
    data_before = p.data
    loss = model.gradient(x, t)
    assert np.isfinite(loss) and loss >= 0
    assert p.grad.shape == p.data.shape == (p.size,)
    assert p.grad.dtype == p.data.dtype == np.dtype(model.spec.dtype)
    assert p.data is data_before
    for name, s in p.slots.items():
        assert p.grad_view(name).shape == p.view(name).shape == s.shape
    assert np.all(np.isfinite(p.grad))


@SETTINGS
@given(model=models(), n=batch, seed=seeds, steps=st.integers(0, 6),
       opt_name=st.sampled_from(sorted(OPTIMIZERS)), convention=st.sampled_from(["torch", "book"]))
def test_views_share_memory_after_updates(model, n, seed, steps, opt_name, convention):
    x, t = batch_for(model, n, seed)
    p = model.params
    opt = make_optimizer(opt_name, p, convention=convention, lr=0.01)
    layer_arrays = [(a, buf) for layer in model.layers
                    for a, buf in ((getattr(layer, "W", None), p.data), (getattr(layer, "dW", None), p.grad),
                                   (getattr(layer, "gamma", None), p.data)) if a is not None]
    for _ in range(steps):
        model.gradient(x, t)
        opt.step()
    for name in p.slots:
        assert np.shares_memory(p.view(name), p.data) and p.view(name).base is p.data
        assert np.shares_memory(p.grad_view(name), p.grad) and p.grad_view(name).base is p.grad
    for a, buf in layer_arrays:
        assert a.base is buf
    assert opt.data is p.data and opt.grad is p.grad


@st.composite
def logits_and_labels(draw):
    n, k = draw(batch), draw(width)
    dt = np.dtype(draw(dtypes))
    rng = np.random.default_rng(draw(seeds))
    scale = draw(st.sampled_from([0.1, 1.0, 10.0, 100.0]))
    z = (rng.normal(size=(n, k)) * scale).astype(dt)
    t = rng.integers(0, k, size=n)
    if draw(st.booleans()):
        t = np.eye(k)[t]
    return z, t


@SETTINGS
@given(zt=logits_and_labels())
def test_softmax_ce_nonnegative_and_gradient_rows_sum_to_zero(zt):
    z, t = zt
    loss = SoftmaxCrossEntropy()
    value = loss.forward(z, t)
    assert np.isfinite(value) and value >= 0.0
    dz = loss.backward()
    assert dz.shape == z.shape
    tol = 1e-5 if z.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(dz.sum(axis=1), 0.0, atol=tol / z.shape[0])
    # (softmax − t)/N: each row has exactly one entry ≤ 0 (the label) and |dz| ≤ 1/N
    assert np.all(np.abs(dz) <= 1.0 / z.shape[0] + tol)


@SETTINGS
@given(n=batch, d=width, dt=dtypes, seed=seeds, convention=st.sampled_from(["torch", "book"]),
       loc=st.floats(-5, 5), scale=st.floats(0.5, 10))
def test_batchnorm_train_output_is_standardised(n, d, dt, seed, convention, loc, scale):
    dt = np.dtype(dt)
    x = (np.random.default_rng(seed).normal(size=(n, d)) * scale + loc).astype(dt)
    z = np.zeros(d, dt)
    bn = BatchNorm(np.ones(d, dt), z.copy(), z.copy(), z.copy(), z.copy(), z.copy(), convention=convention)
    y = bn.forward(x, True).astype(np.float64)
    x64 = x.astype(np.float64)
    var_x = x64.var(axis=0)
    tol = 1e-4 if dt == np.float32 else 1e-10
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=tol)
    # biased variance of the output = var/(var + eps): ≈ 1 unless a feature is nearly constant
    np.testing.assert_allclose(y.var(axis=0), var_x / (var_x + bn.eps), rtol=10 * tol, atol=tol)
    big = var_x > 1e-2
    assert np.all(np.abs(y.var(axis=0)[big] - 1.0) < 1e-2)
    assert y.dtype == np.float64 and bn.forward(x, True).dtype == dt
