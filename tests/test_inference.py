"""The inference path equals the evaluation it replaced, keeps nothing for backward and reuses its
buffers; ``evaluate_many`` equals evaluating the networks one by one.

The reference below is the evaluation as it was before ``trainlab.inference``: every layer's
``forward(·, train=False)`` chunk by chunk, the loss of each chunk from ``SoftmaxCrossEntropy``,
summed as ``Σ r·L_chunk / N`` plus the decay term.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import trainlab as tl
from trainlab.inference import Workspace, chunk_rows, evaluate_many, infer_many
from trainlab.layers import Affine, BatchNorm, Dropout, ReLU
from trainlab.losses import SoftmaxCrossEntropy, softmax
from trainlab.model import MLP, ModelSpec
from trainlab.trainer import _loss_and_accuracy

D, K = 12, 4


def reference(model, x, t, rows):
    """(logits, loss, accuracy) by the pre-inference-path evaluation, chunks of ``rows``."""
    x, t = model.check_batch(x, t)
    labels = t if t.ndim == 1 else t.argmax(axis=1)
    zs, total, correct = [], 0.0, 0
    for i in range(0, x.shape[0], rows):
        z = x[i : i + rows]
        for layer in model.layers:
            z = layer.forward(z, False)
        total += SoftmaxCrossEntropy().forward(z, t[i : i + rows]) * z.shape[0]
        correct += int(np.count_nonzero(z.argmax(axis=1) == labels[i : i + rows]))
        zs.append(z)
    n = x.shape[0]
    return np.concatenate(zs), total / n + model.regularization(), correct / n


def trained(spec: ModelSpec, seed=0, steps=5):
    """A model whose BN running statistics, γ and β have moved away from their starting values."""
    model = MLP(spec, rng=seed, dropout_rng=seed + 1)
    rng = np.random.default_rng(seed + 2)
    opt = tl.make_optimizer("adam", model.params, lr=0.05)
    for _ in range(steps):
        x = rng.normal(size=(16, spec.input_size)) * 2 + 0.5
        model.gradient(x, rng.integers(0, spec.output_size, 16))
        opt.step()
    return model


def batch(n, seed=9, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, D)) * 2).astype(dtype), rng.integers(0, K, n)


CASES = list(itertools.product(["relu", "sigmoid", "tanh"], [None, "torch", "book"],
                               [None, "inverted", "classic"], ["float32", "float64"]))


@pytest.mark.parametrize("activation,bn,drop,dtype", CASES,
                         ids=[f"{a}-bn_{b}-drop_{d}-{dt}" for a, b, d, dt in CASES])
def test_inference_equals_the_evaluation_it_replaced(activation, bn, drop, dtype):
    spec = ModelSpec(input_size=D, hidden_sizes=(9, 7), output_size=K, activation=activation,
                     batch_norm=bn is not None, bn_convention=bn or "torch", dropout=0.4 if drop else 0.0,
                     dropout_convention=drop or "inverted", weight_decay=0.05, dtype=dtype)
    model = trained(spec)
    if bn:
        assert not np.allclose(model.params.buffers["running_var1"], 1.0)  # the running stats are in play
    x, t = batch(103)  # 103 = 10 chunks of 10 and one of 3; also one chunk of 103
    for rows in (10, 103, 51):
        z_ref, loss_ref, acc_ref = reference(model, x, t, rows)
        z = model.infer(x, batch_size=rows)
        np.testing.assert_array_equal(z, z_ref)  # the same operations in the same order: bit for bit
        loss, acc = model.evaluate(x, t, batch_size=rows)
        assert loss == loss_ref and acc == acc_ref
        assert model.accuracy(x, t, batch_size=rows) == acc_ref
    assert model.regularization() > 0  # the decay term is part of both
    # the default chunk (spec.eval_rows > 103): the single-chunk reference, through every entry point
    z_ref, loss_ref, acc_ref = reference(model, x, t, 103)
    np.testing.assert_array_equal(model.predict(x), z_ref)
    assert model.loss(x, t) == loss_ref
    assert model.evaluate(x, t) == (loss_ref, acc_ref)
    xc, tc = model.check_batch(x, t)
    assert _loss_and_accuracy(model, xc, tc) == (loss_ref, acc_ref)
    np.testing.assert_allclose(model.infer(x, probs=True), softmax(z_ref), rtol=0, atol=0)


@pytest.mark.parametrize("dtype,rtol", [("float32", 2e-6), ("float64", 1e-14)])
def test_chunk_size_changes_the_loss_by_rounding_only(dtype, rtol):
    model = trained(ModelSpec(input_size=D, hidden_sizes=(9, 7), output_size=K, batch_norm=True,
                              weight_decay=0.01, dtype=dtype))
    x, t = batch(1001)
    whole = model.evaluate(x, t, batch_size=1001)
    for rows in (2, 7, 500, 1000):  # 1000: a last chunk of 1 row
        loss, acc = model.evaluate(x, t, batch_size=rows)
        assert acc == whole[1]
        assert loss == pytest.approx(whole[0], rel=rtol)
        np.testing.assert_array_equal(model.infer(x, batch_size=rows).argmax(axis=1),
                                      model.infer(x, batch_size=1001).argmax(axis=1))


def test_one_hot_labels_give_the_same_evaluation():
    model = trained(ModelSpec(input_size=D, hidden_sizes=(8,), output_size=K, dtype="float64"))
    x, t = batch(37)
    loss, acc = model.evaluate(x, t, batch_size=8)
    loss1, acc1 = model.evaluate(x, np.eye(K)[t], batch_size=8)
    assert acc1 == acc and loss1 == pytest.approx(loss, rel=1e-14)


def _caches(model):
    out = []
    for layer in model.layers:
        for name in ("x", "mask", "out", "xn", "std"):
            if hasattr(layer, name):
                v = getattr(layer, name)
                out.append((layer, name, None if v is None else v.copy()))
    return out


def test_inference_keeps_nothing_for_backward_and_leaves_its_inputs_alone():
    spec = ModelSpec(input_size=D, hidden_sizes=(9, 7), output_size=K, batch_norm=True, dropout=0.3,
                     dropout_convention="classic")
    fresh = MLP(spec, rng=0)
    x, t = batch(50)
    x0 = x.copy()
    fresh.evaluate(x, t, batch_size=16)
    fresh.infer(x)
    fresh.predict(x)
    fresh.loss(x, t)
    fresh.accuracy(x, t)
    for layer, name, value in _caches(fresh):
        assert value is None, (type(layer).__name__, name)  # no mask, no input, no BN cache was kept
    assert fresh.loss_layer.probs is None
    np.testing.assert_array_equal(x, x0)
    # a trained model's caches (from its last training step) are left as they were
    model = trained(spec)
    before = _caches(model)
    model.evaluate(x, t, batch_size=16)
    for (layer, name, old), (_, _, new) in zip(before, _caches(model)):
        np.testing.assert_array_equal(new, old, err_msg=f"{type(layer).__name__}.{name}")


def test_buffers_are_allocated_once_per_model_and_chunk_size():
    model = MLP(ModelSpec(input_size=D, hidden_sizes=(9, 7), output_size=K), rng=0)
    x, t = batch(103)
    model.evaluate(x, t, batch_size=10)
    ws = model._workspace
    arrays = dict(ws.flat)
    assert set(arrays) == {"a", "b", "mask"}
    assert arrays["a"].size == 10 * 9 and arrays["b"].size == 10 * 7 and arrays["mask"].size == 10 * 9
    for rows in (10, 3, 7):  # the same chunk size again, or smaller ones: nothing new
        model.evaluate(x, t, batch_size=rows)
        model.infer(x, batch_size=rows)
        assert all(ws.flat[k] is v for k, v in arrays.items())
    model.evaluate(x, t, batch_size=20)  # a larger chunk grows them once
    assert ws.flat["a"].size == 20 * 9


def test_workspace_take_reuses_the_front_of_one_buffer():
    ws = Workspace()
    a = ws.take("a", (4, 5), np.float32)
    b = ws.take("a", (3, 5), np.float32)
    assert b.flags.c_contiguous and np.shares_memory(a, b) and ws.nbytes == 80
    assert ws.take("a", (2, 3), np.float64).dtype == np.float64  # another dtype: a new buffer


def test_chunk_rows_is_about_64_mib_of_the_widest_layer():
    assert chunk_rows(100, 4) == 10_000
    assert chunk_rows(1024, 4) == (64 << 20) // (1024 * 4 * 3) == 5461
    assert ModelSpec(hidden_sizes=(4096,), dtype="float64").eval_rows == (64 << 20) // (4096 * 8 * 3)
    assert chunk_rows(10**9, 8) == 1


# -- several networks at once ----------------------------------------------------------------------
def zoo(dtype="float32"):
    """Same-shaped nets as the experiments train them (other seeds, optimizers, dropout variants),
    plus nets that differ after the first layer (BN, depth, activation, width)."""
    base = dict(input_size=D, hidden_sizes=(10, 10, 10), output_size=K, dtype=dtype)
    specs = [ModelSpec(**base), ModelSpec(**base, weight_decay=0.1),
             ModelSpec(**base, dropout=0.5, dropout_convention="classic"), ModelSpec(**base, dropout=0.5),
             ModelSpec(**base, batch_norm=True, bn_convention="book"),
             ModelSpec(**{**base, "hidden_sizes": (6,)}, activation="tanh"),
             ModelSpec(**{**base, "hidden_sizes": (10, 5)}, batch_norm=True, activation="sigmoid")]
    return [trained(s, seed=i) for i, s in enumerate(specs)]


@pytest.mark.parametrize("dtype,rtol", [("float32", 1e-5), ("float64", 1e-12)])
@pytest.mark.parametrize("rows,n", [(None, 1000), (64, 1000), (1, 40)])
def test_evaluate_many_equals_one_by_one(dtype, rtol, rows, n):
    models = zoo(dtype)
    x, t = batch(n, seed=3)
    many = evaluate_many(models, x, t, rows)
    logits = infer_many(models, x, rows)
    probs = infer_many(models, x, rows, probs=True)
    for m, (loss, acc), z, p in zip(models, many, logits, probs):
        z1 = m.infer(x, batch_size=rows)
        np.testing.assert_array_equal(z.argmax(axis=1), z1.argmax(axis=1))  # identical predictions
        # the k-wide product rounds differently from the 1-wide one (OpenBLAS sgemm; dgemm agrees)
        np.testing.assert_allclose(z, z1, rtol=rtol, atol=rtol * np.abs(z1).max())
        np.testing.assert_allclose(p, softmax(z), rtol=1e-6 if dtype == "float32" else 1e-14)
        loss1, acc1 = m.evaluate(x, t, batch_size=rows)
        assert acc == acc1
        assert loss == pytest.approx(loss1, rel=rtol)  # decay term included (0.1 in models[1])


def test_evaluate_many_does_one_first_layer_product():
    """X·[W₁ᵃ | W₁ᵇ | …] as one matmul: count the matmuls that read the whole input chunk."""
    models = zoo()[:4]
    x, t = batch(200)
    calls = []
    real = np.matmul

    def spy(a, b, *args, **kw):
        calls.append((a.shape, b.shape))
        return real(a, b, *args, **kw)

    np.matmul = spy
    try:
        evaluate_many(models, x, t, 100)
    finally:
        np.matmul = real
    first = [c for c in calls if c[0][1] == D]
    assert first == [((100, D), (D, 40))] * 2  # two chunks, one 4-net-wide product each
    assert len(calls) == 2 + 2 * 4 * 3  # then layers 2, 3, 4 of each net per chunk


def test_evaluate_many_sees_the_current_weights():
    models = zoo()[:2]
    x, t = batch(300)
    before = evaluate_many(models, x, t)
    opt = tl.make_optimizer("sgd", models[1].params, lr=0.5)
    models[1].gradient(x, t)
    opt.step()
    after = evaluate_many(models, x, t)
    assert after[0] == before[0] and after[1] != before[1]
    assert after[1][0] == pytest.approx(models[1].evaluate(x, t)[0], rel=1e-5)


def test_evaluate_many_refuses_mixed_inputs_and_dtypes():
    a = MLP(ModelSpec(input_size=D, hidden_sizes=(5,), output_size=K), rng=0)
    b = MLP(ModelSpec(input_size=D + 1, hidden_sizes=(5,), output_size=K), rng=0)
    c = MLP(ModelSpec(input_size=D, hidden_sizes=(5,), output_size=K, dtype="float64"), rng=0)
    x, t = batch(10)
    for other in (b, c):
        with pytest.raises(ValueError, match="one input size, output size and dtype"):
            evaluate_many([a, other], x, t)
    assert evaluate_many([], x, t) == [] and infer_many([], x) == []
    with pytest.raises(ValueError, match="labels"):
        evaluate_many([a], x, t + K)


def test_layer_infer_is_forward_in_eval_mode_bit_for_bit():
    rng = np.random.default_rng(0)
    h = rng.normal(size=(6, 5)).astype(np.float32)
    h[0, 0] = 0.0
    h[0, 1] = -0.0
    layers = [ReLU(), Dropout(0.3, rng, "classic"), Dropout(0.3, rng, "inverted"), *(
        cls() for cls in tl.ACTIVATIONS.values())]
    bn = BatchNorm(*(rng.normal(size=5).astype(np.float32) for _ in range(4)), np.zeros(5, np.float32),
                   np.ones(5, np.float32), convention="book")
    bn.running_mean[...] = rng.normal(size=5)
    bn.running_var[...] = rng.uniform(0.5, 2, 5)
    for layer in [*layers, bn]:
        want = layer.forward(h, False)
        got = layer.infer_(h.copy(), np.empty(h.shape, bool))
        np.testing.assert_array_equal(got, want, err_msg=type(layer).__name__)
        assert np.array_equal(np.signbit(got), np.signbit(want)), type(layer).__name__
    W, b = rng.normal(size=(5, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)
    aff = Affine(W, b, np.empty_like(W), np.empty_like(b))
    out = np.empty((6, 3), np.float32)
    assert aff.infer(h, out) is out
    np.testing.assert_array_equal(out, aff.forward(h))
