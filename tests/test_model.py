"""The MLP: layer order, buffer layout, weight decay, views, determinism, BN/dropout conventions,
input validation, accuracy and dtypes."""

from __future__ import annotations

import numpy as np
import pytest

from trainlab.layers import Affine, BatchNorm, Dropout, ReLU, Sigmoid, Tanh
from trainlab.model import MLP, ModelSpec
from trainlab.optim import OPTIMIZERS, make_optimizer


def small_spec(**kw):
    base = dict(input_size=6, hidden_sizes=(5, 4), output_size=3)
    base.update(kw)
    return ModelSpec(**base)


def data(n=10, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, k, size=n)


# ---------------------------------------------------------------------------------------------
# structure
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bn,dropout,activation,expected",
    [
        (False, 0.0, "relu", [Affine, ReLU, Affine, ReLU, Affine]),
        (True, 0.0, "sigmoid", [Affine, BatchNorm, Sigmoid, Affine, BatchNorm, Sigmoid, Affine]),
        (False, 0.5, "tanh", [Affine, Tanh, Dropout, Affine, Tanh, Dropout, Affine]),
        (True, 0.2, "relu", [Affine, BatchNorm, ReLU, Dropout, Affine, BatchNorm, ReLU, Dropout, Affine]),
    ],
)
def test_layer_order_affine_bn_activation_dropout(bn, dropout, activation, expected):
    model = MLP(small_spec(batch_norm=bn, dropout=dropout, activation=activation))
    assert [type(layer) for layer in model.layers] == expected


def test_no_hidden_layers_is_a_linear_softmax():
    model = MLP(small_spec(hidden_sizes=()))
    assert [type(layer) for layer in model.layers] == [Affine]
    assert set(model.params.slots) == {"W1", "b1"}


@pytest.mark.parametrize("bn", [False, True])
def test_parameter_count_and_layout(bn):
    model = MLP(small_spec(batch_norm=bn))
    p = model.params
    sizes = [6, 5, 4, 3]
    n_w = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    n_b = sum(sizes[1:])
    n_bn = 2 * (5 + 4) if bn else 0
    assert p.size == p.data.size == p.grad.size == n_w + n_b + n_bn
    assert p.n_decay == n_w
    # weights first, in order, back to back
    assert [(p.slots[f"W{i}"].offset, p.slots[f"W{i}"].shape) for i in (1, 2, 3)] == [
        (0, (6, 5)), (30, (5, 4)), (50, (4, 3))]
    decayed = {name for name, s in p.slots.items() if s.decay}
    assert decayed == {"W1", "W2", "W3"}
    for name, s in p.slots.items():
        if not s.decay:
            assert s.offset >= p.n_decay, name
    # the slots tile the buffer exactly: no gap, no overlap
    spans = sorted((s.offset, s.offset + s.size) for s in p.slots.values())
    assert spans[0][0] == 0 and spans[-1][1] == p.size
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    expected_names = {"W1", "W2", "W3", "b1", "b2", "b3"} | ({"gamma1", "beta1", "gamma2", "beta2"} if bn else set())
    assert set(p.slots) == expected_names
    if bn:
        assert set(p.buffers) == {"running_mean1", "running_var1", "running_mean2", "running_var2"}
        np.testing.assert_array_equal(p.view("gamma1"), 1.0)
        np.testing.assert_array_equal(p.view("beta2"), 0.0)
    for i in (1, 2, 3):
        np.testing.assert_array_equal(p.view(f"b{i}"), 0.0)  # biases start at zero, as in the book


# ---------------------------------------------------------------------------------------------
# weight decay
# ---------------------------------------------------------------------------------------------


def _cross_entropy(z, t):
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(t)), t].mean()


def _scramble_non_weights(model, seed=1):
    """Give biases, γ, β non-trivial values so a decay term that wrongly touches them would show."""
    rng = np.random.default_rng(seed)
    for name in model.params.slots:
        if not name.startswith("W"):
            v = model.params.view(name)
            v[...] = rng.normal(size=v.shape) + 2.0


@pytest.mark.parametrize("bn", [False, True])
def test_l2_decay_term_is_half_lambda_sum_of_squared_weights(bn):
    lam = 0.3
    model = MLP(small_spec(batch_norm=bn, weight_decay=lam, dtype="float64"), rng=2)
    _scramble_non_weights(model)
    x, t = data()
    p = model.params
    direct = 0.5 * lam * sum(float(np.sum(p.view(f"W{i}") ** 2)) for i in (1, 2, 3))
    ce = _cross_entropy(model.predict(x), t)
    assert model.loss(x, t) == pytest.approx(ce + direct, rel=1e-13)
    assert model.regularization() == pytest.approx(direct, rel=1e-13)

    # gradient: λW on exactly the weights, nothing on biases/γ/β
    plain = MLP(small_spec(batch_norm=bn, weight_decay=0.0, dtype="float64"), rng=2)
    plain.params.data[...] = p.data
    model.gradient(x, t)
    plain.gradient(x, t)
    diff = p.grad - plain.params.grad
    for name in p.slots:
        want = lam * p.view(name) if name.startswith("W") else 0.0
        np.testing.assert_allclose(diff[p.slots[name].offset:][: p.slots[name].size].reshape(p.slots[name].shape),
                                   want, rtol=1e-10, atol=1e-14, err_msg=name)


def test_l1_decay_term_is_lambda_sum_of_abs_weights():
    lam = 0.2
    model = MLP(small_spec(batch_norm=True, weight_decay=lam, weight_decay_kind="l1", dtype="float64"), rng=3)
    _scramble_non_weights(model)
    x, t = data()
    p = model.params
    direct = lam * sum(float(np.abs(p.view(f"W{i}")).sum()) for i in (1, 2, 3))
    ce = _cross_entropy(model.predict(x), t)
    assert model.loss(x, t) == pytest.approx(ce + direct, rel=1e-13)
    plain = MLP(small_spec(batch_norm=True, dtype="float64"), rng=3)
    plain.params.data[...] = p.data
    model.gradient(x, t)
    plain.gradient(x, t)
    diff = p.grad - plain.params.grad
    np.testing.assert_allclose(diff[: p.n_decay], lam * np.sign(p.data[: p.n_decay]), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(diff[p.n_decay:], 0.0, atol=1e-14)


@pytest.mark.parametrize("kind", ["l2", "l1"])
def test_decay_gradient_in_blocks_equals_the_whole_buffer_formula(kind):
    """More decayed weights than one block (params.BLOCK): g ← g + λW (or λ·sign W) block by block
    is, element for element, the float32 operation on the whole buffer."""
    from trainlab.params import BLOCK

    spec = ModelSpec(input_size=400, hidden_sizes=(400,), output_size=10, weight_decay=0.01, weight_decay_kind=kind)
    model, plain = MLP(spec, rng=0), MLP(spec.replace(weight_decay=0.0), rng=0)
    assert model.params.n_decay > BLOCK
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(8, 400)), rng.integers(0, 10, 8)
    model.gradient(x, t)
    plain.gradient(x, t)
    w = model.params.decayed
    lam = np.float32(0.01)
    want = plain.params.grad[: model.params.n_decay] + lam * (w if kind == "l2" else np.sign(w))
    np.testing.assert_array_equal(model.params.grad[: model.params.n_decay], want)
    np.testing.assert_array_equal(model.params.grad[model.params.n_decay:], plain.params.grad[model.params.n_decay:])


def test_decay_does_not_touch_biases_gamma_beta():
    model = MLP(small_spec(batch_norm=True, weight_decay=0.5, dtype="float64"), rng=4)
    before = model.regularization()
    _scramble_non_weights(model, seed=9)
    assert model.regularization() == before


# ---------------------------------------------------------------------------------------------
# views and the optimizer
# ---------------------------------------------------------------------------------------------


def _assert_views_intact(model):
    p = model.params
    for name in p.slots:
        v, g = p.view(name), p.grad_view(name)
        assert np.shares_memory(v, p.data) and v.base is p.data, name
        assert np.shares_memory(g, p.grad) and g.base is p.grad, name
    for layer in model.layers:
        if isinstance(layer, Affine):
            for arr, buf in ((layer.W, p.data), (layer.b, p.data), (layer.dW, p.grad), (layer.db, p.grad)):
                assert np.shares_memory(arr, buf) and arr.base is buf
        if isinstance(layer, BatchNorm):
            for arr, buf in ((layer.gamma, p.data), (layer.beta, p.data), (layer.dgamma, p.grad),
                             (layer.dbeta, p.grad)):
                assert np.shares_memory(arr, buf) and arr.base is buf


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("convention", ["torch", "book"])
def test_views_share_memory_after_many_steps(name, convention):
    model = MLP(small_spec(batch_norm=True, dropout=0.2), rng=5)
    x, t = data()
    opt = make_optimizer(name, model.params, convention=convention, lr=0.01)
    data_id = id(model.params.data)
    snapshot = model.params.data.copy()
    for _ in range(25):
        model.gradient(x, t)
        opt.step()
    assert id(model.params.data) == data_id
    assert not np.array_equal(model.params.data, snapshot)  # it did train
    _assert_views_intact(model)
    # the layers compute with the updated buffer: a manual first Affine agrees
    W1 = model.params.data[: 30].reshape(6, 5)
    b1 = model.params.view("b1")
    np.testing.assert_allclose(model.layers[0].forward(x.astype(np.float32)), x.astype(np.float32) @ W1 + b1,
                               rtol=1e-6)


def test_load_state_dict_writes_into_the_views():
    a, b = MLP(small_spec(batch_norm=True), rng=1), MLP(small_spec(batch_norm=True), rng=2)
    a.load_state_dict(b.state_dict())
    np.testing.assert_array_equal(a.params.data, b.params.data)
    _assert_views_intact(a)


# ---------------------------------------------------------------------------------------------
# determinism and random streams
# ---------------------------------------------------------------------------------------------


def _train(seed, steps=20, **kw):
    spec = small_spec(batch_norm=True, dropout=0.3, **kw)
    model = MLP(spec, rng=seed, dropout_rng=seed + 1)
    opt = make_optimizer("adam", model.params, lr=0.01)
    x, t = data(n=16)
    for _ in range(steps):
        model.gradient(x, t)
        opt.step()
    return model


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_same_seed_gives_bit_identical_training(dtype):
    a, b = _train(11, dtype=dtype), _train(11, dtype=dtype)
    assert np.array_equal(a.params.data, b.params.data)
    for k in a.params.buffers:
        assert np.array_equal(a.params.buffers[k], b.params.buffers[k])
    c = _train(12, dtype=dtype)
    assert not np.array_equal(a.params.data, c.params.data)


def test_same_seed_without_explicit_dropout_rng_is_reproducible():
    def run():
        m = MLP(small_spec(dropout=0.5), rng=7)
        x, t = data()
        m.gradient(x, t)
        return m.params.grad.copy()

    assert np.array_equal(run(), run())


@pytest.mark.parametrize("bn", [False, True])
def test_adding_dropout_does_not_change_initial_weights(bn):
    base = MLP(small_spec(batch_norm=bn), rng=21)
    for p in (0.1, 0.5):
        for conv in ("inverted", "classic"):
            other = MLP(small_spec(batch_norm=bn, dropout=p, dropout_convention=conv), rng=21)
            assert np.array_equal(base.params.data, other.params.data)
    # with explicit streams too, as the trainer passes them
    a = MLP(small_spec(batch_norm=bn), rng=21, dropout_rng=1)
    b = MLP(small_spec(batch_norm=bn, dropout=0.5), rng=21, dropout_rng=2)
    assert np.array_equal(a.params.data, b.params.data)


def test_dropout_masks_come_from_the_dropout_stream():
    x, t = data()
    grads = []
    for drop_seed in (1, 1, 2):
        m = MLP(small_spec(dropout=0.5), rng=0, dropout_rng=drop_seed)
        m.gradient(x, t)
        grads.append(m.params.grad.copy())
    assert np.array_equal(grads[0], grads[1])
    assert not np.array_equal(grads[0], grads[2])


# ---------------------------------------------------------------------------------------------
# BatchNorm running statistics
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("convention", ["torch", "book"])
def test_bn_running_stats_conventions(convention):
    model = MLP(small_spec(batch_norm=True, bn_convention=convention, dtype="float64"), rng=8)
    p = model.params
    var0 = 1.0 if convention == "torch" else 0.0
    np.testing.assert_array_equal(p.buffers["running_mean1"], 0.0)
    np.testing.assert_array_equal(p.buffers["running_var1"], var0)
    x, t = data(n=7)
    a = x @ p.view("W1") + p.view("b1")  # what BN1 sees
    n = a.shape[0]
    mu, biased = a.mean(axis=0), a.var(axis=0)
    batch_var = biased * n / (n - 1) if convention == "torch" else biased
    model.gradient(x, t)
    np.testing.assert_allclose(p.buffers["running_mean1"], 0.1 * mu, rtol=1e-12)
    np.testing.assert_allclose(p.buffers["running_var1"], 0.9 * var0 + 0.1 * batch_var, rtol=1e-12)
    # a second step blends again
    model.gradient(x, t)
    np.testing.assert_allclose(p.buffers["running_mean1"], 0.9 * 0.1 * mu + 0.1 * mu, rtol=1e-12)
    np.testing.assert_allclose(p.buffers["running_var1"], 0.81 * var0 + 0.19 * batch_var, rtol=1e-12)
    bn = model.layers[1]
    eps = 1e-5 if convention == "torch" else 1e-6
    assert bn.eps == eps
    # eval mode normalises with the running statistics (γ = 1, β = 0 here)
    bn_out = bn.forward(a, False)
    want = (a - p.buffers["running_mean1"]) / np.sqrt(p.buffers["running_var1"] + eps)
    np.testing.assert_allclose(bn_out, want, rtol=1e-12)


@pytest.mark.parametrize("convention", ["torch", "book"])
def test_bn_running_var_converges_to_the_conventions_variance(convention):
    """The same batch of 4, 300 times: the running var forgets its start (0.9³⁰⁰ ≈ 2e-14) and lands on
    the unbiased variance (torch) or the biased one (book), which differ by 4/3 here."""
    x = np.random.default_rng(0).normal(size=(4, 3)) * np.array([0.5, 2.0, 4.0])
    d = 3
    bn = BatchNorm(np.ones(d), np.zeros(d), np.zeros(d), np.zeros(d), np.zeros(d), np.zeros(d),
                   convention=convention)
    for _ in range(300):
        bn.forward(x, True)
    want = x.var(axis=0, ddof=1 if convention == "torch" else 0)
    np.testing.assert_allclose(bn.running_var, want, rtol=1e-10)
    np.testing.assert_allclose(bn.running_mean, x.mean(axis=0), rtol=1e-10)


def test_predict_eval_mode_does_not_update_running_stats():
    model = MLP(small_spec(batch_norm=True), rng=1)
    before = {k: v.copy() for k, v in model.params.buffers.items()}
    x, t = data()
    model.predict(x)
    model.loss(x, t)
    model.accuracy(x, t)
    for k, v in model.params.buffers.items():
        assert np.array_equal(v, before[k])


# ---------------------------------------------------------------------------------------------
# dropout conventions
# ---------------------------------------------------------------------------------------------


def test_dropout_eval_outputs():
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    classic = Dropout(0.2, np.random.default_rng(0), convention="classic")
    inverted = Dropout(0.2, np.random.default_rng(0), convention="inverted")
    np.testing.assert_allclose(classic.forward(x, False), x * np.float32(0.8), rtol=1e-7)
    np.testing.assert_array_equal(inverted.forward(x, False), x)
    assert classic.forward(x, False).dtype == np.float32


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_train_mean_of_ones(p):
    n = 1_000_000
    ones = np.ones((1000, 1000))
    keep = 1 - p
    classic = Dropout(p, np.random.default_rng(1), convention="classic").forward(ones, True)
    inverted = Dropout(p, np.random.default_rng(1), convention="inverted").forward(ones, True)
    se = np.sqrt(p * keep / n)  # standard error of the kept fraction
    assert abs(classic.mean() - keep) < 5 * se
    assert abs(inverted.mean() - 1.0) < 5 * se / keep
    assert set(np.unique(classic)) == {0.0, 1.0}
    np.testing.assert_allclose(np.unique(inverted), [0.0, 1 / keep])
    # train-mode mean matches the eval-mode output in both conventions
    assert abs(classic.mean() - Dropout(p, None, "classic").forward(ones[:1], False).mean()) < 5 * se


def test_dropout_does_not_mutate_its_input():
    x = np.ones((3, 3))
    Dropout(0.5, np.random.default_rng(0)).forward(x, True)
    np.testing.assert_array_equal(x, 1.0)


def test_model_dropout_eval_is_deterministic_and_train_is_not():
    model = MLP(small_spec(dropout=0.5), rng=0)
    x, _ = data()
    np.testing.assert_array_equal(model.predict(x), model.predict(x))
    assert not np.array_equal(model.predict(x, train=True), model.predict(x, train=True))


# ---------------------------------------------------------------------------------------------
# input validation
# ---------------------------------------------------------------------------------------------


def test_wrong_input_width():
    model = MLP(small_spec())
    with pytest.raises(ValueError, match=r"x has 7 features.*input_size=6"):
        model.predict(np.zeros((2, 7)))


def test_one_dimensional_x():
    model = MLP(small_spec())
    with pytest.raises(ValueError, match=r"x must be a batch of shape \(N, 6\).*1-D"):
        model.predict(np.zeros(6))


def test_empty_batch():
    with pytest.raises(ValueError, match="empty"):
        MLP(small_spec()).predict(np.zeros((0, 6)))


@pytest.mark.parametrize("bad", [3, -1])
def test_labels_out_of_range(bad):
    model = MLP(small_spec())
    x, t = data(n=4)
    t[2] = bad
    with pytest.raises(ValueError, match=r"t has labels in.*accepted labels are 0\.\.2"):
        model.loss(x, t)
    with pytest.raises(ValueError, match=r"\bt\b"):
        model.gradient(x, t)


def test_label_shape_errors():
    model = MLP(small_spec())
    x, t = data(n=4)
    with pytest.raises(ValueError, match="3 labels for 4 samples"):
        model.loss(x, t[:3])
    with pytest.raises(ValueError, match=r"one-hot t must have shape \(4, 3\)"):
        model.loss(x, np.eye(4))
    with pytest.raises(ValueError, match="non-integer"):
        model.loss(x, np.array([0.5, 1, 2, 0]))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs(bad):
    model = MLP(small_spec())
    x, t = data(n=4)
    x[1, 2] = bad
    with pytest.raises(ValueError, match=r"x contains 1 NaN or inf"):
        model.predict(x)
    with pytest.raises(ValueError, match=r"NaN or inf"):
        model.gradient(x, t)


@pytest.mark.parametrize("p", [1.0, 1.5, -0.1])
def test_dropout_outside_unit_interval(p):
    with pytest.raises(ValueError, match=rf"dropout must be in \[0, 1\), got {p!r}"):
        small_spec(dropout=p)


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError) as e:
        small_spec(activation="gelu")
    msg = str(e.value)
    assert "'gelu'" in msg and "activation" in msg
    for name in ("relu", "sigmoid", "tanh"):
        assert name in msg


def test_unknown_initialiser_lists_valid_names():
    with pytest.raises(ValueError) as e:
        small_spec(init="orthogonal")
    msg = str(e.value)
    assert "'orthogonal'" in msg and "initialiser" in msg
    for name in ("he_normal", "glorot_uniform", "lecun_normal", "zeros", "xavier", "relu"):
        assert name in msg


@pytest.mark.parametrize("dtype", ["float16", "int32", "double"])
def test_bad_dtype(dtype):
    with pytest.raises(ValueError, match=rf"dtype.*'{dtype}'.*float32.*float64"):
        small_spec(dtype=dtype)


@pytest.mark.parametrize(
    "kw,pattern",
    [
        (dict(input_size=0), "input_size"),
        (dict(output_size=-1), "output_size"),
        (dict(hidden_sizes=(4, 0)), "hidden_sizes"),
        (dict(weight_decay=-0.1), "weight_decay"),
        (dict(weight_decay_kind="l3"), "weight-decay kind"),
        (dict(bn_convention="keras"), "batch-norm convention"),
        (dict(dropout_convention="scaled"), "dropout convention"),
    ],
)
def test_other_spec_errors_name_the_option(kw, pattern):
    with pytest.raises(ValueError, match=pattern):
        small_spec(**kw)


def test_spec_round_trips_through_dict_and_rejects_unknown_keys():
    spec = small_spec(batch_norm=True, dropout=0.1)
    assert ModelSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ValueError, match=r"unknown model option.*'dropuot'"):
        ModelSpec.from_dict({**spec.to_dict(), "dropuot": 0.2})


# ---------------------------------------------------------------------------------------------
# accuracy and dtypes
# ---------------------------------------------------------------------------------------------


def test_accuracy_with_integer_and_one_hot_labels():
    model = MLP(small_spec(), rng=3)
    x, _ = data(n=50)
    pred = model.predict(x).argmax(axis=1)
    t = pred.copy()
    t[:10] = (t[:10] + 1) % 3  # exactly 10 wrong
    assert model.accuracy(x, t) == pytest.approx(0.8)
    assert model.accuracy(x, np.eye(3)[t]) == pytest.approx(0.8)
    # batching inside accuracy does not change the result
    assert model.accuracy(x, t, batch_size=7) == pytest.approx(0.8)


def test_float32_is_the_default_dtype():
    model = MLP(small_spec(batch_norm=True), rng=0)
    x, t = data()
    assert model.params.data.dtype == model.params.grad.dtype == np.float32
    assert all(b.dtype == np.float32 for b in model.params.buffers.values())
    assert model.predict(x).dtype == np.float32  # float64 input is cast
    model.gradient(x, t)
    assert model.params.grad.dtype == np.float32


def test_float64_option():
    model = MLP(small_spec(batch_norm=True, dropout=0.2, dtype="float64"), rng=0)
    x, t = data()
    assert model.params.data.dtype == np.float64
    assert model.predict(x.astype(np.float32)).dtype == np.float64
    assert model.predict(x, train=True).dtype == np.float64
    model.gradient(x, t)
    assert model.params.grad.dtype == np.float64


# Choices are matched case-insensitively; what ModelSpec accepts must be what the model uses
# (once 'L2' passed validation and then took the L1 branch; 'Book' passed and then MLP() raised).
def test_weight_decay_kind_upper_case_is_l2():
    model = MLP(small_spec(weight_decay=0.1, weight_decay_kind="L2", dtype="float64"), rng=0)
    assert model.spec.weight_decay_kind == "l2"
    w = model.params.decayed
    assert model.regularization() == pytest.approx(0.5 * 0.1 * float(np.dot(w, w)))


@pytest.mark.parametrize(
    "kw", [dict(dropout=0.5, dropout_convention="Classic"), dict(batch_norm=True, bn_convention="Book"),
           dict(dtype="Float64")],
    ids=["dropout_convention", "bn_convention", "dtype"],
)
def test_choices_accepted_by_spec_build_a_model(kw):
    spec = small_spec(**kw)  # accepted (case-insensitive check) ...
    model = MLP(spec)  # ... so the model must build with it
    assert model.predict(np.zeros((2, 6))).shape == (2, 3)


def test_activation_choice_is_normalised():
    """The behaviour the other choices should share."""
    spec = small_spec(activation="ReLU")
    assert spec.activation == "relu"
    assert isinstance(MLP(spec).layers[1], ReLU)
