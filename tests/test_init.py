"""Initialisers: empirical statistics against each formula, the book's aliases, errors, symmetry.

Weights are (fan_in, fan_out) = (400, 2500): 10⁶ draws, and fan_in ≠ fan_out so a formula that
used the wrong fan would be off by a large factor. Tolerances are 6 standard errors of the
estimate for n = 10⁶ draws (the seeds are fixed, so the tests are deterministic anyway):
  sample mean:   SE = σ/√n
  sample std:    SE ≈ σ·√((κ − 1)/(4n)), κ = kurtosis: 3 for a normal, 9/5 for a uniform
  uniform max:   P(max < a(1 − δ)) = (1 − δ/2)ⁿ ≈ e^(−nδ/2): δ = 1e-4 gives e^(−50)
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from trainlab.init import BOOK_ALIASES, INITIALIZERS, init_std, make_weight, resolve_init
from trainlab.model import MLP, ModelSpec
from trainlab.optim import make_optimizer

FAN_IN, FAN_OUT = 400, 2500
SHAPE = (FAN_IN, FAN_OUT)
N = FAN_IN * FAN_OUT
K = 6.0  # standard errors allowed

NORMAL_FORMULAS = {
    "lecun_normal": math.sqrt(1.0 / FAN_IN),
    "glorot_normal": math.sqrt(2.0 / (FAN_IN + FAN_OUT)),
    "he_normal": math.sqrt(2.0 / FAN_IN),
}
UNIFORM_BOUNDS = {
    "glorot_uniform": math.sqrt(6.0 / (FAN_IN + FAN_OUT)),
    "he_uniform": math.sqrt(6.0 / FAN_IN),
}


def draw(name, value=None, seed=0):
    return make_weight(name, np.random.default_rng(seed), SHAPE, value)


def assert_mean_std(w, std, kurtosis):
    se_mean = std / math.sqrt(N)
    se_std = std * math.sqrt((kurtosis - 1) / (4 * N))
    assert abs(w.mean()) < K * se_mean, (w.mean(), se_mean)
    assert abs(w.std() - std) < K * se_std, (w.std(), std, se_std)


@pytest.mark.parametrize("name", sorted(NORMAL_FORMULAS))
def test_normal_initialisers(name):
    w = draw(name)
    assert w.shape == SHAPE
    std = NORMAL_FORMULAS[name]
    assert_mean_std(w, std, kurtosis=3.0)
    # normal, not uniform: the 4th moment ratio is 3 (SE of the sample kurtosis ≈ √(24/n) ≈ 0.005)
    kurt = np.mean(w**4) / np.mean(w**2) ** 2
    assert abs(kurt - 3.0) < 0.05
    assert init_std(name, FAN_IN, FAN_OUT) == pytest.approx(std)


@pytest.mark.parametrize("name", sorted(UNIFORM_BOUNDS))
def test_uniform_initialisers(name):
    w = draw(name)
    a = UNIFORM_BOUNDS[name]
    assert np.abs(w).max() <= a
    assert w.max() > a * (1 - 1e-4) and w.min() < -a * (1 - 1e-4)
    assert_mean_std(w, a / math.sqrt(3.0), kurtosis=9.0 / 5.0)  # U(±a): σ = a/√3
    assert init_std(name, FAN_IN, FAN_OUT) == pytest.approx(a / math.sqrt(3.0))


def test_fans_are_not_swapped():
    """With fan_in = 400 and fan_out = 2500 the fan-in-only rules differ 2.5× from fan-out ones."""
    assert draw("he_normal").std() == pytest.approx(math.sqrt(2 / 400), rel=0.01)
    assert draw("lecun_normal").std() == pytest.approx(0.05, rel=0.01)
    assert np.abs(draw("he_uniform")).max() == pytest.approx(math.sqrt(6 / 400), rel=1e-3)
    # transposed shape: fan_in is now 2500
    wt = make_weight("he_normal", np.random.default_rng(0), (FAN_OUT, FAN_IN))
    assert wt.std() == pytest.approx(math.sqrt(2 / 2500), rel=0.01)


@pytest.mark.parametrize("std", [0.01, 0.5, 2.0])
def test_normal_with_given_std(std):
    w = draw("normal", std)
    assert_mean_std(w, std, kurtosis=3.0)


def test_normal_default_std_is_book_001():
    assert resolve_init("normal") == ("normal", 0.01)
    assert_mean_std(draw("normal"), 0.01, kurtosis=3.0)


def test_zeros_and_constant():
    assert np.all(draw("zeros") == 0.0)
    assert np.all(draw("constant", 0.25) == 0.25)
    assert np.all(make_weight("constant", np.random.default_rng(0), (3, 4)) == 0.0)  # default value 0


def test_every_initialiser_is_covered():
    covered = set(NORMAL_FORMULAS) | set(UNIFORM_BOUNDS) | {"normal", "zeros", "constant"}
    assert covered == set(INITIALIZERS)


def test_same_generator_seed_same_weights():
    for name in INITIALIZERS:
        np.testing.assert_array_equal(draw(name, seed=3)[:5, :5], draw(name, seed=3)[:5, :5])


# ---------------------------------------------------------------------------------------------
# names
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "alias,canonical",
    [("relu", "he_normal"), ("he", "he_normal"), ("sigmoid", "lecun_normal"), ("xavier", "lecun_normal"),
     ("RELU", "he_normal"), ("Xavier", "lecun_normal"),
     ("xavier_normal", "glorot_normal"), ("xavier_uniform", "glorot_uniform"),
     ("kaiming_normal", "he_normal"), ("kaiming_uniform", "he_uniform")],
)
def test_aliases(alias, canonical):
    assert resolve_init(alias)[0] == canonical


def test_book_aliases_table():
    assert BOOK_ALIASES == {"relu": "he_normal", "he": "he_normal", "sigmoid": "lecun_normal",
                            "xavier": "lecun_normal"}


def test_book_xavier_is_fan_in_only():
    """The book's 'xavier' is √(1/fan_in), not Glorot's √(2/(fan_in + fan_out))."""
    w = draw("xavier")
    assert_mean_std(w, math.sqrt(1 / FAN_IN), kurtosis=3.0)
    assert abs(w.std() - math.sqrt(2 / (FAN_IN + FAN_OUT))) > 0.01


@pytest.mark.parametrize("value", [0.01, 1, 0.3, "0.05", np.float32(0.2)])
def test_a_number_is_a_normal_std(value):
    name, std = resolve_init(value)
    assert name == "normal" and std == pytest.approx(float(value))
    w = make_weight(value, np.random.default_rng(0), SHAPE)
    assert_mean_std(w, float(value), kurtosis=3.0)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_bad_number_std(bad):
    with pytest.raises(ValueError, match="init std"):
        resolve_init(bad)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as e:
        resolve_init("glorot")
    msg = str(e.value)
    assert "'glorot'" in msg
    for name in list(INITIALIZERS) + list(BOOK_ALIASES) + ["xavier_normal", "kaiming_uniform"]:
        assert name in msg
    assert "number" in msg


@pytest.mark.parametrize("bad", [None, True, [0.1]])
def test_wrong_type(bad):
    with pytest.raises(TypeError, match="init"):
        resolve_init(bad)


def test_model_uses_fan_in_of_each_layer():
    spec = ModelSpec(input_size=784, hidden_sizes=(300,), output_size=10, init="he")
    model = MLP(spec, rng=0)
    w1, w2 = model.params.view("W1"), model.params.view("W2")
    assert w1.std() == pytest.approx(math.sqrt(2 / 784), rel=0.02)
    assert w2.std() == pytest.approx(math.sqrt(2 / 300), rel=0.05)
    spec = spec.replace(init=0.01)
    assert MLP(spec, rng=0).params.view("W1").std() == pytest.approx(0.01, rel=0.02)


# ---------------------------------------------------------------------------------------------
# symmetry: equal initial weights make the hidden units of a layer stay identical
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("init,value", [("zeros", None), ("constant", 0.3)])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_equal_init_keeps_hidden_units_identical(init, value, activation):
    spec = ModelSpec(input_size=5, hidden_sizes=(6, 4), output_size=3, activation=activation,
                     init=init, init_value=value, dtype="float64")
    model = MLP(spec, rng=0)
    opt = make_optimizer("momentum", model.params, lr=0.1)
    rng = np.random.default_rng(1)
    x, t = rng.normal(size=(20, 5)), rng.integers(0, 3, 20)
    start = model.params.data.copy()
    for _ in range(30):
        model.gradient(x, t)
        opt.step()
    p = model.params
    assert not np.array_equal(p.data, start), "nothing trained"
    for i, width in ((1, 6), (2, 4)):
        W, b = p.view(f"W{i}"), p.view(f"b{i}")
        # every hidden unit j (column j of W_i, entry j of b_i) is the same
        np.testing.assert_allclose(W, np.repeat(W[:, :1], width, axis=1), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(b, b[0], rtol=1e-12, atol=1e-15)
        # and so is each unit's outgoing row in the next layer
        W_next = p.view(f"W{i + 1}")
        np.testing.assert_allclose(W_next, np.repeat(W_next[:1], W_next.shape[0], axis=0), rtol=1e-12, atol=1e-15)
