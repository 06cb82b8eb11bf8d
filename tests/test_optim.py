"""Optimizers over the flat buffer: hand-derived steps, the book's toy race, convergence,
state round trips, argument validation and whole-buffer (loop-free) updates; the declarations
table, and the book's numerics options (lr_in_velocity, nesterov_order, eps_hat) worked by hand.

Reference values are derived here with plain Python scalar arithmetic written out from the update
formulas of docs/conventions.md (the book's common/optimizer.py and torch.optim's documented updates); the code under test is never used to
produce an expected value.
"""

from __future__ import annotations

import io
import math
import time

import numpy as np
import pytest

from trainlab.optim import CONVENTIONS, HYPERPARAMETERS, OPTIMIZERS, make_optimizer
from trainlab.validate import ConfigError, UnknownKeyError

BOOK_EPS = 1e-7

P0 = [1.0, -2.0, 0.5]
# a gradient per step (rows) and element (columns): simple numbers whose sign and size vary
GRADS = [
    [0.5, -1.0, 2.0],
    [0.25, 0.5, -1.0],
    [1.0, -0.5, 0.5],
]


def run_engine(name, convention, grads, p0=P0, **hp):
    """Positions after each step of the engine's optimizer (float64, 3-element buffer)."""
    data = np.array(p0, dtype=np.float64)
    grad = np.zeros_like(data)
    opt = make_optimizer(name, (data, grad), convention=convention, **hp)
    out = []
    for g in grads:
        grad[...] = g
        opt.step()
        out.append(data.copy())
    return out


# ---------------------------------------------------------------------------------------------
# scalar references, one element at a time (p: the element's start, gs: its gradient per step)
# ---------------------------------------------------------------------------------------------


def ref_sgd(p, gs, lr, weight_decay=0.0):
    out = []
    for g in gs:
        g = g + weight_decay * p
        p = p - lr * g
        out.append(p)
    return out


def ref_momentum_torch(p, gs, lr, momentum, dampening=0.0, weight_decay=0.0, nesterov=False):
    out, b = [], None
    for g in gs:
        g = g + weight_decay * p
        b = g if b is None else momentum * b + (1.0 - dampening) * g  # no dampening on step 1
        d = g + momentum * b if nesterov else b
        p = p - lr * d
        out.append(p)
    return out


def ref_momentum_book(p, gs, lr, momentum):
    out, v = [], 0.0
    for g in gs:
        v = momentum * v - lr * g
        p = p + v
        out.append(p)
    return out


def ref_nesterov_book(p, gs, lr, momentum):
    # JP order: p uses the OLD v, then v is updated
    out, v = [], 0.0
    for g in gs:
        p = p + momentum * momentum * v - (1.0 + momentum) * lr * g
        v = momentum * v - lr * g
        out.append(p)
    return out


def ref_adagrad(p, gs, lr, eps, lr_decay=0.0, h0=0.0, weight_decay=0.0):
    out, h = [], h0
    for t, g in enumerate(gs, start=1):
        clr = lr / (1.0 + (t - 1) * lr_decay)
        g = g + weight_decay * p
        h = h + g * g
        p = p - clr * g / (math.sqrt(h) + eps)
        out.append(p)
    return out


def ref_rmsprop(p, gs, lr, alpha, eps, momentum=0.0, centered=False, weight_decay=0.0):
    out, v, gbar, b = [], 0.0, 0.0, 0.0
    for g in gs:
        g = g + weight_decay * p
        v = alpha * v + (1.0 - alpha) * g * g
        if centered:
            gbar = alpha * gbar + (1.0 - alpha) * g
            denom = math.sqrt(v - gbar * gbar) + eps
        else:
            denom = math.sqrt(v) + eps
        if momentum > 0:
            b = momentum * b + g / denom
            p = p - lr * b
        else:
            p = p - lr * g / denom
        out.append(p)
    return out


def ref_adam_torch(p, gs, lr, b1, b2, eps, weight_decay=0.0, amsgrad=False, decoupled=False):
    out, m, v, vmax = [], 0.0, 0.0, 0.0
    for t, g in enumerate(gs, start=1):
        if decoupled:
            p = p * (1.0 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1.0 - b1) * g
        v = b2 * v + (1.0 - b2) * g * g
        bc1, bc2 = 1.0 - b1**t, 1.0 - b2**t
        if amsgrad:
            vmax = max(vmax, v)
            vv = vmax
        else:
            vv = v
        p = p - (lr / bc1) * m / (math.sqrt(vv) / math.sqrt(bc2) + eps)
        out.append(p)
    return out


def ref_adam_book(p, gs, lr, b1, b2, weight_decay=0.0, decoupled=False, amsgrad=False, eps=BOOK_EPS):
    out, m, v, vmax = [], 0.0, 0.0, 0.0
    for t, g in enumerate(gs, start=1):
        if decoupled:
            p = p * (1.0 - lr * weight_decay)
        else:  # torch's coupled decay, where the book has none
            g = g + weight_decay * p
        lr_t = lr * math.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        m = m + (1.0 - b1) * (g - m)
        v = v + (1.0 - b2) * (g * g - v)
        vmax = max(vmax, v)
        p = p - lr_t * m / (math.sqrt(vmax if amsgrad else v) + eps)
        out.append(p)
    return out


def reference(ref, grads, p0=P0, **kw):
    """Apply a scalar reference elementwise: list over steps of per-element positions."""
    per_elem = [ref(p0[i], [row[i] for row in grads], **kw) for i in range(len(p0))]
    return [np.array([per_elem[i][k] for i in range(len(p0))]) for k in range(len(grads))]


AMS_GRADS = [[2.0, -1.0, 0.3], [0.1, -0.05, 0.3], [0.1, -0.05, 0.4]]  # shrinking |g|: v decreases

CASES = [
    # (optimizer, convention, engine hyperparameters, reference, reference kwargs, gradients)
    ("sgd", "torch", dict(lr=0.1), ref_sgd, dict(lr=0.1), GRADS),
    ("sgd", "torch", dict(lr=0.1, weight_decay=0.2), ref_sgd, dict(lr=0.1, weight_decay=0.2), GRADS),
    ("sgd", "book", dict(lr=0.1), ref_sgd, dict(lr=0.1), GRADS),
    ("momentum", "torch", dict(lr=0.1, momentum=0.9), ref_momentum_torch, dict(lr=0.1, momentum=0.9), GRADS),
    ("momentum", "torch", dict(lr=0.1, momentum=0.5, dampening=0.3, weight_decay=0.1), ref_momentum_torch,
     dict(lr=0.1, momentum=0.5, dampening=0.3, weight_decay=0.1), GRADS),
    ("momentum", "book", dict(lr=0.1, momentum=0.9), ref_momentum_book, dict(lr=0.1, momentum=0.9), GRADS),
    ("nesterov", "torch", dict(lr=0.1, momentum=0.9), ref_momentum_torch,
     dict(lr=0.1, momentum=0.9, nesterov=True), GRADS),
    ("nesterov", "torch", dict(lr=0.1, momentum=0.8, weight_decay=0.05), ref_momentum_torch,
     dict(lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.05), GRADS),
    ("nesterov", "book", dict(lr=0.1, momentum=0.9), ref_nesterov_book, dict(lr=0.1, momentum=0.9), GRADS),
    ("adagrad", "torch", dict(lr=0.1), ref_adagrad, dict(lr=0.1, eps=1e-10), GRADS),
    ("adagrad", "torch", dict(lr=0.1, lr_decay=0.5, initial_accumulator_value=0.3, eps=1e-3, weight_decay=0.1),
     ref_adagrad, dict(lr=0.1, eps=1e-3, lr_decay=0.5, h0=0.3, weight_decay=0.1), GRADS),
    ("adagrad", "book", dict(lr=0.1), ref_adagrad, dict(lr=0.1, eps=BOOK_EPS), GRADS),
    ("rmsprop", "torch", dict(lr=0.01), ref_rmsprop, dict(lr=0.01, alpha=0.99, eps=1e-8), GRADS),
    ("rmsprop", "torch", dict(lr=0.01, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1, eps=1e-6),
     ref_rmsprop, dict(lr=0.01, alpha=0.9, eps=1e-6, momentum=0.5, centered=True, weight_decay=0.1), GRADS),
    ("rmsprop", "book", dict(lr=0.01), ref_rmsprop, dict(lr=0.01, alpha=0.99, eps=BOOK_EPS), GRADS),
    ("adam", "torch", dict(lr=0.1), ref_adam_torch, dict(lr=0.1, b1=0.9, b2=0.999, eps=1e-8), GRADS),
    ("adam", "torch", dict(lr=0.1, b1=0.5, b2=0.5, weight_decay=0.1, eps=1e-4), ref_adam_torch,
     dict(lr=0.1, b1=0.5, b2=0.5, eps=1e-4, weight_decay=0.1), GRADS),
    ("adam", "torch", dict(lr=0.1, b2=0.5, amsgrad=True), ref_adam_torch,
     dict(lr=0.1, b1=0.9, b2=0.5, eps=1e-8, amsgrad=True), AMS_GRADS),
    ("adam", "book", dict(lr=0.1), ref_adam_book, dict(lr=0.1, b1=0.9, b2=0.999), GRADS),
    ("adamw", "torch", dict(lr=0.1), ref_adam_torch,
     dict(lr=0.1, b1=0.9, b2=0.999, eps=1e-8, weight_decay=1e-2, decoupled=True), GRADS),
    ("adamw", "torch", dict(lr=0.1, weight_decay=0.5, b1=0.8), ref_adam_torch,
     dict(lr=0.1, b1=0.8, b2=0.999, eps=1e-8, weight_decay=0.5, decoupled=True), GRADS),
    ("adamw", "book", dict(lr=0.1), ref_adam_book,
     dict(lr=0.1, b1=0.9, b2=0.999, weight_decay=1e-2, decoupled=True), GRADS),
    # the book convention with hyperparameters its code lacks: torch's meaning, the book's numerics
    ("sgd", "book", dict(lr=0.1, weight_decay=0.2), ref_sgd, dict(lr=0.1, weight_decay=0.2), GRADS),
    ("momentum", "book", dict(lr=0.1, momentum=0.5, dampening=0.3, weight_decay=0.1), ref_momentum_torch,
     dict(lr=0.1, momentum=0.5, dampening=0.3, weight_decay=0.1), GRADS),
    ("nesterov", "book", dict(lr=0.1, momentum=0.8, weight_decay=0.05), ref_momentum_torch,
     dict(lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.05), GRADS),
    ("adagrad", "book", dict(lr=0.1, lr_decay=0.5, initial_accumulator_value=0.3, weight_decay=0.1),
     ref_adagrad, dict(lr=0.1, eps=BOOK_EPS, lr_decay=0.5, h0=0.3, weight_decay=0.1), GRADS),
    ("rmsprop", "book", dict(lr=0.01, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1),
     ref_rmsprop, dict(lr=0.01, alpha=0.9, eps=BOOK_EPS, momentum=0.5, centered=True, weight_decay=0.1), GRADS),
    ("adam", "book", dict(lr=0.1, b2=0.5, amsgrad=True, weight_decay=0.1), ref_adam_book,
     dict(lr=0.1, b1=0.9, b2=0.5, amsgrad=True, weight_decay=0.1), AMS_GRADS),
    # the book's numerics options chosen under the torch convention
    ("momentum", "torch", dict(lr=0.1, momentum=0.9, lr_in_velocity=True), ref_momentum_book,
     dict(lr=0.1, momentum=0.9), GRADS),
    ("nesterov", "torch", dict(lr=0.1, momentum=0.9, lr_in_velocity=True, nesterov_order="step_first"),
     ref_nesterov_book, dict(lr=0.1, momentum=0.9), GRADS),
    ("adam", "torch", dict(lr=0.1, eps_hat=True, eps=1e-7), ref_adam_book, dict(lr=0.1, b1=0.9, b2=0.999), GRADS),
]


@pytest.mark.parametrize(
    "name,convention,hp,ref,ref_kw,grads", CASES,
    ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)],
)
def test_first_and_third_step_match_hand_derivation(name, convention, hp, ref, ref_kw, grads):
    got = run_engine(name, convention, grads, **hp)
    want = reference(ref, grads, **ref_kw)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=1e-15, err_msg="step 1")
    np.testing.assert_allclose(got[2], want[2], rtol=1e-12, atol=1e-15, err_msg="step 3")


def test_amsgrad_case_really_exercises_the_max():
    """The AMSGrad case above is only meaningful if v shrinks somewhere, so that max(v) ≠ v."""
    plain = reference(ref_adam_torch, AMS_GRADS, lr=0.1, b1=0.9, b2=0.5, eps=1e-8)
    ams = reference(ref_adam_torch, AMS_GRADS, lr=0.1, b1=0.9, b2=0.5, eps=1e-8, amsgrad=True)
    assert np.abs(plain[2] - ams[2]).max() > 1e-3


# Literal numbers for constant gradients, worked by hand --------------------------------------------

G_CONST = [0.5, -1.0, 2.0]


def test_sgd_constant_gradient_literal_values():
    got = run_engine("sgd", "torch", [G_CONST] * 3, lr=0.1)
    np.testing.assert_allclose(got[0], [0.95, -1.9, 0.3], rtol=1e-14)  # p − 0.1·g
    np.testing.assert_allclose(got[2], [0.85, -1.7, -0.1], rtol=1e-14, atol=1e-15)  # p − 0.3·g


@pytest.mark.parametrize("convention", ["torch", "book"])
def test_momentum_constant_gradient_literal_values(convention):
    # book: v1 = −0.1g, v2 = 0.9·v1 − 0.1g = −0.19g, v3 = −0.271g; p3 = p0 − (0.1+0.19+0.271)g = p0 − 0.561g.
    # torch: b1 = g, b2 = 1.9g, b3 = 2.71g; p3 = p0 − 0.1·(1 + 1.9 + 2.71)g: the same for a constant lr.
    got = run_engine("momentum", convention, [G_CONST] * 3, lr=0.1, momentum=0.9)
    p0, g = np.array(P0), np.array(G_CONST)
    np.testing.assert_allclose(got[0], p0 - 0.1 * g, rtol=1e-14)
    np.testing.assert_allclose(got[2], p0 - 0.561 * g, rtol=1e-13)


@pytest.mark.parametrize("convention", ["torch", "book"])
def test_nesterov_constant_gradient_literal_values(convention):
    # torch: d1 = g + 0.9g = 1.9g, d2 = g + 0.9·1.9g = 2.71g, d3 = g + 0.9·2.71g = 3.439g
    # book (JP): p1 = p0 − 1.9·0.1g; v1 = −0.1g; p2 = p1 + 0.81v1 − 0.19g = p1 − 0.271g; v2 = −0.19g;
    #            p3 = p2 + 0.81v2 − 0.19g = p2 − 0.3439g.   Total: p0 − (0.19+0.271+0.3439)g = p0 − 0.8049g;
    # torch total: 0.1·(1.9 + 2.71 + 3.439) = 0.8049, the same.
    got = run_engine("nesterov", convention, [G_CONST] * 3, lr=0.1, momentum=0.9)
    p0, g = np.array(P0), np.array(G_CONST)
    np.testing.assert_allclose(got[0], p0 - 0.19 * g, rtol=1e-14)
    np.testing.assert_allclose(got[2], p0 - 0.8049 * g, rtol=1e-13)


def test_adam_torch_constant_gradient_moves_lr_per_step():
    """Bias correction makes m̂ = g and v̂ = g² exactly for a constant g: each step is lr·g/(|g| + eps)."""
    got = run_engine("adam", "torch", [G_CONST] * 3, lr=0.1)
    p0, g = np.array(P0), np.array(G_CONST)
    step = 0.1 * g / (np.abs(g) + 1e-8)
    np.testing.assert_allclose(got[0], p0 - step, rtol=1e-12)
    np.testing.assert_allclose(got[2], p0 - 3 * step, rtol=1e-12)


def test_adagrad_book_first_step_is_lr_times_sign():
    got = run_engine("adagrad", "book", [G_CONST], lr=0.1)
    g = np.array(G_CONST)
    np.testing.assert_allclose(got[0], np.array(P0) - 0.1 * g / (np.abs(g) + 1e-7), rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# The book's toy race: f(x, y) = x²/20 + y², from (−7, 2), 30 steps, convention='book'
# ---------------------------------------------------------------------------------------------


def toy_grad(p):
    return np.array([p[0] / 10.0, 2.0 * p[1]])


def race(name, lr, steps, convention="book", start=(-7.0, 2.0), grad_fn=toy_grad, **hp):
    data = np.array(start, dtype=np.float64)
    grad = np.zeros_like(data)
    opt = make_optimizer(name, (data, grad), convention=convention, lr=lr, **hp)
    for _ in range(steps):
        grad[...] = grad_fn(data)
        opt.step()
    return data


@pytest.mark.parametrize(
    "name,lr,want,decimals",
    [
        ("sgd", 0.95, (-0.350, 0.085), (3, 3)),
        ("momentum", 0.1, (0.896, 0.088), (3, 3)),
        ("adagrad", 1.5, (-0.120, 0.000), (3, 3)),
        ("adam", 0.3, (0.136, 0.318), (3, 3)),
        ("nesterov", 0.1, (0.690, -0.0007), (3, 4)),
    ],
)
def test_book_toy_race_final_positions(name, lr, want, decimals):
    x, y = race(name, lr, 30)
    assert round(float(x), decimals[0]) == want[0], x
    assert round(float(y), decimals[1]) + 0.0 == want[1], y  # + 0.0 turns −0.0 into 0.0


@pytest.mark.parametrize(
    "name,lr,want",
    [
        ("sgd", 0.95, (-6.335, -1.8)),
        ("momentum", 0.1, (-6.93, 1.6)),
        ("adagrad", 1.5, (-5.5, 0.5)),
        ("adam", 0.3, (-6.7, 1.7)),
    ],
)
def test_book_toy_race_first_step(name, lr, want):
    x, y = race(name, lr, 1)
    # the printed numbers; AdaGrad and Adam differ from them only through eps = 1e-7
    assert abs(x - want[0]) < 1e-5 and abs(y - want[1]) < 1e-5, (x, y)


def test_book_toy_first_step_by_hand():
    # the printed numbers derived: g0 = (−0.7, 4)
    # SGD 0.95: (−7 + 0.665, 2 − 3.8); Momentum 0.1: (−7 + 0.07, 2 − 0.4);
    # AdaGrad 1.5: step = 1.5·g/(|g| + 1e-7); Adam 0.3: lr_t = 0.3·√0.001/0.1, m = 0.1g, v = 0.001g²
    gx, gy = -0.7, 4.0
    ada = (-7 - 1.5 * gx / (abs(gx) + 1e-7), 2 - 1.5 * gy / (abs(gy) + 1e-7))
    lr_t = 0.3 * math.sqrt(1 - 0.999) / (1 - 0.9)
    adam = (-7 - lr_t * 0.1 * gx / (math.sqrt(0.001 * gx * gx) + 1e-7),
            2 - lr_t * 0.1 * gy / (math.sqrt(0.001 * gy * gy) + 1e-7))
    np.testing.assert_allclose(race("sgd", 0.95, 1), (-6.335, -1.8), rtol=1e-14)
    np.testing.assert_allclose(race("momentum", 0.1, 1), (-6.93, 1.6), rtol=1e-14)
    np.testing.assert_allclose(race("adagrad", 1.5, 1), ada, rtol=1e-14)
    np.testing.assert_allclose(race("adam", 0.3, 1), adam, rtol=1e-13)


def test_book_momentum_and_nesterov_equal_torch_for_constant_lr():
    """docs/conventions.md: with a constant lr the two conventions are algebraically identical (v = −ηb)."""
    for name in ("momentum", "nesterov"):
        a = race(name, 0.1, 30, convention="book", momentum=0.9)
        b = race(name, 0.1, 30, convention="torch", momentum=0.9)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------------------------------------
# Convergence, torch convention
# ---------------------------------------------------------------------------------------------


def rosenbrock_grad(p, a=1.0, b=100.0):
    x, y = p
    return np.array([-2.0 * (a - x) - 4.0 * b * x * (y - x * x), 2.0 * b * (y - x * x)])


TOY_SETTINGS = {  # name: (hyperparameters, steps); tolerance 1e-2 of the minimum (0, 0)
    "sgd": (dict(lr=0.9), 300),
    "momentum": (dict(lr=0.1, momentum=0.9), 300),
    "nesterov": (dict(lr=0.1, momentum=0.9), 300),
    "adagrad": (dict(lr=1.5), 300),
    "rmsprop": (dict(lr=0.01), 1000),
    "adam": (dict(lr=0.1), 500),
    "adamw": (dict(lr=0.1), 500),  # default weight_decay 1e-2 also pulls to 0, the minimum
}

ROSENBROCK_SETTINGS = {  # name: (hyperparameters, steps); tolerance 1e-3 of the minimum (1, 1)
    "sgd": (dict(lr=1e-3), 20000),
    "momentum": (dict(lr=1e-3, momentum=0.9), 5000),
    "nesterov": (dict(lr=1e-3, momentum=0.9), 5000),
    "adagrad": (dict(lr=0.5), 20000),
    "rmsprop": (dict(lr=3e-4), 20000),
    "adam": (dict(lr=2e-2), 5000),
    "adamw": (dict(lr=2e-2, weight_decay=0.0), 5000),  # decay would move the fixed point off (1, 1)
}


def test_settings_cover_every_optimizer():
    assert set(TOY_SETTINGS) == set(OPTIMIZERS) == set(ROSENBROCK_SETTINGS)


@pytest.mark.parametrize("name", sorted(TOY_SETTINGS))
def test_converges_on_book_toy_function(name):
    hp, steps = TOY_SETTINGS[name]
    hp = dict(hp)
    lr = hp.pop("lr")
    p = race(name, lr, steps, convention="torch", **hp)
    assert np.all(np.isfinite(p))
    assert np.abs(p).max() < 1e-2, (name, p)


@pytest.mark.parametrize("name", sorted(ROSENBROCK_SETTINGS))
def test_converges_on_rosenbrock(name):
    hp, steps = ROSENBROCK_SETTINGS[name]
    hp = dict(hp)
    lr = hp.pop("lr")
    p = race(name, lr, steps, convention="torch", start=(-1.5, 2.0), grad_fn=rosenbrock_grad, **hp)
    assert np.all(np.isfinite(p))
    assert np.abs(p - 1.0).max() < 1e-3, (name, p)


# ---------------------------------------------------------------------------------------------
# state_dict round trip
# ---------------------------------------------------------------------------------------------

ROUND_TRIP = [
    ("sgd", "torch", dict(lr=0.05, weight_decay=0.1)),
    ("sgd", "book", dict(lr=0.05)),
    ("momentum", "torch", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("momentum", "book", dict(lr=0.05)),
    ("nesterov", "torch", dict(lr=0.05, momentum=0.9)),
    ("nesterov", "book", dict(lr=0.05)),
    ("adagrad", "torch", dict(lr=0.05, lr_decay=0.1, initial_accumulator_value=0.1)),
    ("adagrad", "book", dict(lr=0.05)),
    ("rmsprop", "torch", dict(lr=0.01)),
    ("rmsprop", "torch", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01)),
    ("rmsprop", "book", dict(lr=0.01)),
    ("adam", "torch", dict(lr=0.01)),
    ("adam", "torch", dict(lr=0.01, amsgrad=True, weight_decay=0.01)),
    ("adam", "book", dict(lr=0.01)),
    ("adamw", "torch", dict(lr=0.01)),
    ("adamw", "book", dict(lr=0.01)),
    ("momentum", "torch", dict(lr=0.05, lr_in_velocity=True, dampening=0.2)),
    ("nesterov", "torch", dict(lr=0.05, lr_in_velocity=True, nesterov_order="step_first")),
    ("nesterov", "book", dict(lr=0.05, lr_in_velocity=False, weight_decay=0.01)),
    ("rmsprop", "book", dict(lr=0.01, momentum=0.9, centered=True)),
    ("adam", "book", dict(lr=0.01, amsgrad=True, weight_decay=0.01)),
    ("adam", "torch", dict(lr=0.01, eps_hat=True)),
]


@pytest.mark.parametrize("name,convention,hp", ROUND_TRIP, ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(ROUND_TRIP)])
def test_state_dict_round_trip_is_bit_identical(name, convention, hp):
    rng = np.random.default_rng(123)
    n, k, m = 7, 4, 5
    grads = rng.normal(size=(k + m, n))
    p0 = rng.normal(size=n)

    # uninterrupted run
    data = p0.copy()
    grad = np.zeros(n)
    opt = make_optimizer(name, (data, grad), convention=convention, **hp)
    for g in grads:
        grad[...] = g
        opt.step()
    uninterrupted = data.copy()

    # k steps, save (through an .npz file image), restore into a fresh optimizer, m more steps
    data = p0.copy()
    grad = np.zeros(n)
    opt = make_optimizer(name, (data, grad), convention=convention, **hp)
    for g in grads[:k]:
        grad[...] = g
        opt.step()
    buf = io.BytesIO()
    np.savez(buf, **opt.state_dict())
    buf.seek(0)
    saved_state = dict(np.load(buf))
    saved_params = data.copy()
    del opt

    data2 = saved_params.copy()
    grad2 = np.zeros(n)
    opt2 = make_optimizer(name, (data2, grad2), convention=convention, **hp)
    opt2.load_state_dict(saved_state)
    assert opt2.t == k
    for g in grads[k:]:
        grad2[...] = g
        opt2.step()
    assert np.array_equal(data2, uninterrupted), np.abs(data2 - uninterrupted).max()


def test_state_dict_is_a_copy():
    data, grad = np.zeros(3), np.ones(3)
    opt = make_optimizer("adam", (data, grad), lr=0.1)
    opt.step()
    sd = opt.state_dict()
    sd["m"][...] = 99.0
    assert not np.any(opt.state["m"] == 99.0)


def test_load_state_dict_rejects_wrong_shape_and_missing_entry():
    opt = make_optimizer("adam", (np.zeros(3), np.zeros(3)))
    with pytest.raises(ValueError, match="'m'"):
        opt.load_state_dict({"m": np.zeros(4), "v": np.zeros(3), "t": np.array(1)})
    with pytest.raises(KeyError, match="'v'"):
        opt.load_state_dict({"m": np.zeros(3), "t": np.array(1)})


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------


def _buf():
    return np.zeros(3), np.zeros(3)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), float("inf")])
def test_lr_must_be_positive(name, lr):
    with pytest.raises(ValueError, match=rf"lr.*{lr!r}" if lr == lr else r"lr.*nan"):
        make_optimizer(name, _buf(), lr=lr)


@pytest.mark.parametrize("name", ["momentum", "nesterov"])
@pytest.mark.parametrize("convention", ["torch", "book"])
@pytest.mark.parametrize("value", [1.0, 1.5, -0.1])
def test_momentum_outside_unit_interval(name, convention, value):
    with pytest.raises(ValueError, match=rf"momentum.*\[0, 1\).*{value!r}"):
        make_optimizer(name, _buf(), convention=convention, momentum=value)


@pytest.mark.parametrize("name", ["adam", "adamw"])
@pytest.mark.parametrize("convention", ["torch", "book"])
@pytest.mark.parametrize("beta", ["b1", "b2"])
@pytest.mark.parametrize("value", [1.0, -0.01, 2.0])
def test_betas_outside_unit_interval(name, convention, beta, value):
    with pytest.raises(ValueError, match=rf"{beta}.*\[0, 1\).*{value!r}"):
        make_optimizer(name, _buf(), convention=convention, **{beta: value})


def test_rmsprop_alpha_and_dampening_ranges():
    with pytest.raises(ValueError, match=r"alpha.*1\.0"):
        make_optimizer("rmsprop", _buf(), alpha=1.0)
    with pytest.raises(ValueError, match=r"dampening.*1\.0"):
        make_optimizer("momentum", _buf(), dampening=1.0)
    with pytest.raises(ValueError, match=r"nesterov.*dampening"):
        make_optimizer("nesterov", _buf(), dampening=0.5)


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"])
@pytest.mark.parametrize("value", [-1e-4, float("inf")])
def test_weight_decay_must_be_nonnegative(name, value):
    with pytest.raises(ValueError, match=rf"weight_decay.*{value!r}"):
        make_optimizer(name, _buf(), weight_decay=value)


def test_unknown_hyperparameter_lists_accepted_ones():
    with pytest.raises(TypeError) as e:
        make_optimizer("sgd", _buf(), momentum=0.9)
    msg = str(e.value)
    assert "'momentum'" in msg and "lr" in msg and "weight_decay" in msg
    # the book convention accepts the same hyperparameters as torch's (only the defaults differ)
    with pytest.raises(TypeError, match=r"'momentum'.*accepted: lr, weight_decay$"):
        make_optimizer("sgd", _buf(), convention="book", momentum=0.9)
    with pytest.raises(TypeError) as e:
        make_optimizer("adam", _buf(), beta1=0.9)
    assert "'beta1'" in str(e.value)
    for accepted in ("lr", "b1", "b2", "eps", "weight_decay", "amsgrad"):
        assert accepted in str(e.value)


def test_unknown_optimizer_name_lists_valid_names():
    with pytest.raises(ValueError) as e:
        make_optimizer("adamax", _buf())
    msg = str(e.value)
    assert "'adamax'" in msg
    for name in OPTIMIZERS:
        assert name in msg


def test_unknown_convention_is_rejected():
    with pytest.raises(ValueError, match=r"'keras'.*torch.*book"):
        make_optimizer("sgd", _buf(), convention="keras")


def test_names_are_case_insensitive():
    assert type(make_optimizer("Adam", _buf())).__name__ == "Adam"


def test_params_must_be_flat_and_matching():
    with pytest.raises(ValueError, match="flat"):
        make_optimizer("sgd", (np.zeros((2, 2)), np.zeros((2, 2))))
    with pytest.raises(ValueError, match="same shape"):
        make_optimizer("sgd", (np.zeros(3), np.zeros(4)))


def test_defaults_follow_each_convention():
    opt = make_optimizer("sgd", _buf())
    assert opt.lr == 1e-3
    assert make_optimizer("sgd", _buf(), convention="book").lr == 0.01
    assert make_optimizer("adamw", _buf()).weight_decay == 1e-2
    assert make_optimizer("adagrad", _buf()).eps == 1e-10
    assert make_optimizer("rmsprop", _buf()).alpha == 0.99


# ---------------------------------------------------------------------------------------------
# one update = whole-buffer NumPy operations, no loop over parameters
# ---------------------------------------------------------------------------------------------

HEAVY = [
    ("sgd", dict(lr=0.01, weight_decay=0.01)),
    ("momentum", dict(lr=0.01)),
    ("nesterov", dict(lr=0.01)),
    ("adagrad", dict(lr=0.01)),
    ("rmsprop", dict(lr=0.01, momentum=0.9, centered=True)),
    ("adam", dict(lr=0.01, amsgrad=True)),
    ("adamw", dict(lr=0.01)),
    ("momentum", dict(lr=0.01, lr_in_velocity=True, dampening=0.1)),
    ("nesterov", dict(lr=0.01, lr_in_velocity=True, nesterov_order="step_first")),
    ("adam", dict(lr=0.01, eps_hat=True, amsgrad=True, weight_decay=0.01)),
]


@pytest.mark.parametrize("name,hp", HEAVY, ids=[f"{h[0]}-{i}" for i, h in enumerate(HEAVY)])
def test_update_is_vectorised_over_one_flat_buffer(name, hp):
    """10⁶ elements in one flat (data, grad) pair, no names or slots: a step takes milliseconds.

    A Python loop over elements would take seconds; the bound (0.5 s) is ~50× the expected time.
    The update is also elementwise: updating the buffer at once equals updating its halves apart.
    """
    n = 1_000_000
    rng = np.random.default_rng(0)
    data = rng.normal(size=n)
    grad = rng.normal(size=n)
    opt = make_optimizer(name, (data, grad), **hp)
    opt.step()  # warm-up
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        opt.step()
        best = min(best, time.perf_counter() - t0)
    assert best < 0.5, f"{name}: one step over 10^6 elements took {best:.3f} s"

    # separability (no coupling between elements, no per-parameter structure)
    small = rng.normal(size=10)
    sgrad = rng.normal(size=10)
    whole = small.copy()
    o = make_optimizer(name, (whole, sgrad.copy()), **hp)
    halves = [small[:4].copy(), small[4:].copy()]
    os_ = [make_optimizer(name, (halves[0], sgrad[:4].copy()), **hp),
           make_optimizer(name, (halves[1], sgrad[4:].copy()), **hp)]
    for _ in range(3):
        o.step()
        for oo in os_:
            oo.step()
    np.testing.assert_allclose(whole, np.concatenate(halves), rtol=1e-15, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,hp", HEAVY, ids=[f"{h[0]}-{i}" for i, h in enumerate(HEAVY)])
def test_blocked_update_is_bit_identical_to_the_whole_buffer(name, hp, dtype):
    """step() walks the buffer in blocks of BLOCK elements; every element sees the same operations,
    so 1,000 elements in blocks of 64 (the last one 40) end bit for bit where one block does."""
    rng = np.random.default_rng(3)
    data0 = rng.normal(size=1000).astype(dtype)
    grads = [rng.normal(size=1000).astype(dtype) for _ in range(4)]
    small = type("Small", (OPTIMIZERS[name],), {"BLOCK": 64})
    runs = []
    for cls in (OPTIMIZERS[name], small):
        data, grad = data0.copy(), np.empty_like(data0)
        opt = cls((data, grad), **hp)
        for g in grads:
            grad[...] = g
            opt.step()
        runs.append((data, opt.state))
    assert OPTIMIZERS[name].BLOCK >= 1000 and runs[1][0].size // small.BLOCK == 15
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    for key in runs[0][1]:
        np.testing.assert_array_equal(runs[0][1][key], runs[1][1][key], err_msg=key)
    assert not np.array_equal(runs[0][0], data0)


def test_float32_buffer_stays_float32():
    data = np.ones(5, np.float32)
    grad = np.full(5, 0.5, np.float32)
    for name in OPTIMIZERS:
        d = data.copy()
        opt = make_optimizer(name, (d, grad), lr=0.01)
        opt.step()
        assert d.dtype == np.float32
        assert all(v.dtype == np.float32 for v in opt.state.values())


@pytest.mark.parametrize("convention", ["torch", "book"])
def test_momentum_zero_is_plain_sgd_whatever_the_dampening(convention):
    """torch.optim.SGD(momentum=0, dampening=τ) keeps no buffer: θ ← θ − ηg, τ unused.

    (The buffer form would give θ₂ = θ₁ − η(1−τ)g₂ = 1 − 0.1·2 − 0.1·0.5·4 = 0.6; plain SGD: 0.4.)
    """
    got = run_engine("momentum", convention, [[2.0], [4.0]], p0=[1.0], lr=0.1, momentum=0.0, dampening=0.5)
    assert got[0][0] == pytest.approx(0.8, rel=1e-15)  # 1 − 0.1·2
    assert got[1][0] == pytest.approx(0.4, rel=1e-15)  # 0.8 − 0.1·4


def test_torch_nesterov_needs_positive_momentum():
    with pytest.raises(ValueError, match=r"momentum.*0"):
        make_optimizer("nesterov", _buf(), convention="torch", momentum=0.0)


# ---------------------------------------------------------------------------------------------
# One set of hyperparameters, declared once; the convention only picks the defaults
# ---------------------------------------------------------------------------------------------


def test_every_default_is_declared_and_both_conventions_have_the_same_keys():
    used = set()
    for name, cls in OPTIMIZERS.items():
        keys = [list(cls.DEFAULTS[c]) for c in CONVENTIONS]
        assert set(cls.DEFAULTS) == set(CONVENTIONS), name
        assert all(k == keys[0] for k in keys), f"{name}: keys differ between conventions: {keys}"
        for convention in CONVENTIONS:
            for key, default in cls.DEFAULTS[convention].items():
                assert key in HYPERPARAMETERS, f"{name}.{key} is not declared"
                # every default is valid by its own declaration, and already of the declared type
                assert HYPERPARAMETERS[key].check(default) == default
                assert type(default) is {"float": float, "bool": bool, "choice": str}[HYPERPARAMETERS[key].type]
        used |= set(keys[0])
    assert used == set(HYPERPARAMETERS), f"declared but used by no optimizer: {set(HYPERPARAMETERS) - used}"


def test_declarations_are_complete():
    flags = [h.flag for h in HYPERPARAMETERS.values()]
    assert len(set(flags)) == len(flags)
    assert HYPERPARAMETERS["weight_decay"].flag == "--opt-weight-decay"  # --weight-decay is the model's
    for name, h in HYPERPARAMETERS.items():
        assert h.name == name
        assert h.flag == "--" + name.replace("_", "-") or name == "weight_decay"
        assert h.type in ("float", "bool", "choice")
        assert h.help and "\n" not in h.help
        assert bool(h.choices) == (h.type == "choice")
        if h.type == "float":
            assert h.low < h.high
    for name, symbol in [("lr", "η"), ("momentum", "μ"), ("dampening", "τ"), ("weight_decay", "λ"), ("b1", "β₁"),
                         ("b2", "β₂"), ("eps", "ε"), ("alpha", "α")]:
        assert HYPERPARAMETERS[name].help.startswith(symbol), name


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_hyperparameters_list_every_key_in_both_conventions(name, convention):
    opt = make_optimizer(name, _buf(), convention=convention)
    assert opt.hyperparameters == OPTIMIZERS[name].DEFAULTS[convention]
    assert list(opt.hyperparameters) == list(OPTIMIZERS[name].DEFAULTS["torch"])
    assert OPTIMIZERS[name].defaults(convention) == OPTIMIZERS[name].DEFAULTS[convention]


def _bad_values(h):
    """Values just outside each declared bound, non-finite numbers and wrong types."""
    if h.type == "bool":
        return ["false", 1, None]
    if h.type == "choice":
        return ["sideways", 1]
    bad = [h.low if h.low_open else h.low - 1e-9, float("nan"), float("-inf"), "0.1", True]
    bad.append(h.high if h.high_open else h.high + 1e-9) if h.high != math.inf else bad.append(float("inf"))
    return bad


BAD = [(key, value) for key, h in HYPERPARAMETERS.items() for value in _bad_values(h)]


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("key,value", BAD, ids=[f"{k}={v!r}" for k, v in BAD])
def test_bad_values_raise_config_error_naming_the_hyperparameter(key, value, convention):
    for name, cls in OPTIMIZERS.items():
        if key in cls.DEFAULTS[convention]:
            with pytest.raises(ConfigError) as e:
                make_optimizer(name, _buf(), convention=convention, **{key: value})
            assert e.value.field == key, (name, key)
            assert str(e.value).startswith(f"{key} must be"), str(e.value)
            assert repr(value) in str(e.value)


def test_values_are_normalised_to_the_declared_type():
    opt = make_optimizer("nesterov", _buf(), lr=1, momentum=np.float32(0.5), nesterov_order="Step_First")
    assert type(opt.lr) is float and type(opt.momentum) is float and opt.nesterov_order == "step_first"
    assert make_optimizer("adam", _buf(), amsgrad=np.bool_(True)).amsgrad is True


def test_cross_checks_and_unknown_keys_name_their_field():
    for convention in CONVENTIONS:
        with pytest.raises(ConfigError, match="nesterov needs momentum > 0") as e:
            make_optimizer("nesterov", _buf(), convention=convention, momentum=0.0)
        assert e.value.field == "momentum"
        with pytest.raises(ConfigError, match="nesterov needs dampening = 0") as e:
            make_optimizer("nesterov", _buf(), convention=convention, dampening=0.1)
        assert e.value.field == "dampening"
        with pytest.raises(UnknownKeyError) as e:
            make_optimizer("momentum", _buf(), convention=convention, nesterov_order="step_first")
        assert e.value.field == "nesterov_order" and isinstance(e.value, TypeError)


def _run_bits(name, convention, steps=12, **hp):
    rng = np.random.default_rng(5)
    data = rng.normal(size=40)
    grad = np.zeros_like(data)
    opt = make_optimizer(name, (data, grad), convention=convention, **hp)
    for k in range(steps):
        if k == 6:
            opt.lr /= 10  # a schedule, where lr_in_velocity matters
        grad[...] = rng.normal(size=40) * np.exp(rng.normal(size=40) * 4) + 0.1 * data
        opt.step()
    return data, opt.state_dict()


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("convention,other", [("torch", "book"), ("book", "torch")])
def test_the_convention_only_selects_defaults(name, convention, other):
    """Given the other convention's defaults explicitly, either convention computes the same bits."""
    want, want_state = _run_bits(name, other)
    got, got_state = _run_bits(name, convention, **OPTIMIZERS[name].DEFAULTS[other])
    assert got.tobytes() == want.tobytes()
    assert {k: v.tobytes() for k, v in got_state.items()} == {k: v.tobytes() for k, v in want_state.items()}


# ---------------------------------------------------------------------------------------------
# The book's numerics options, each on a two-step example worked by hand
# ---------------------------------------------------------------------------------------------


def run_scheduled(name, convention, p0, grads, lrs, **hp):
    """Scalar positions after each step, with lr = lrs[k] for step k (a schedule)."""
    data, grad = np.array([p0]), np.zeros(1)
    opt = make_optimizer(name, (data, grad), convention=convention, lr=lrs[0], **hp)
    out = []
    for g, lr in zip(grads, lrs):
        opt.lr = lr
        grad[0] = g
        opt.step()
        out.append(float(data[0]))
    return out


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("dampening", [0.0, 0.5])
def test_lr_in_velocity_by_hand(convention, dampening):
    # θ₀ = 1, μ = 0.5, g = (2, 4), η = (0.1, 0.01): the lr drops 10× after step 1.
    # torch form: b₁ = 2, θ₁ = 1 − 0.1·2 = 0.8; b₂ = 0.5·2 + (1−τ)·4, θ₂ = 0.8 − 0.01·b₂
    #   τ = 0: b₂ = 5, θ₂ = 0.75;  τ = 0.5: b₂ = 3, θ₂ = 0.77
    # velocity: v₁ = −0.1·2 = −0.2, θ₁ = 0.8; v₂ = 0.5·(−0.2) − 0.01·(1−τ)·4, θ₂ = 0.8 + v₂
    #   τ = 0: v₂ = −0.14, θ₂ = 0.66;  τ = 0.5: v₂ = −0.12, θ₂ = 0.68
    want = {False: {0.0: 0.75, 0.5: 0.77}, True: {0.0: 0.66, 0.5: 0.68}}
    for lr_in_velocity in (False, True):
        got = run_scheduled("momentum", convention, 1.0, [2.0, 4.0], [0.1, 0.01], momentum=0.5,
                            dampening=dampening, lr_in_velocity=lr_in_velocity)
        assert got[0] == pytest.approx(0.8, rel=1e-15)
        assert got[1] == pytest.approx(want[lr_in_velocity][dampening], rel=1e-15), lr_in_velocity
    default = run_scheduled("momentum", convention, 1.0, [2.0, 4.0], [0.1, 0.01], momentum=0.5)
    assert default[1] == pytest.approx(want[convention == "book"][0.0], rel=1e-15)


@pytest.mark.parametrize("lr_in_velocity", [False, True])
def test_nesterov_order_by_hand(lr_in_velocity):
    # θ₀ = 1, μ = 0.5, g = (2, 4), η = (0.1, 0.01).
    # step_first:   θ₁ = 1 + 0.25·0 − 1.5·0.1·2 = 0.7, v₁ = −0.2;
    #               θ₂ = 0.7 + 0.25·(−0.2) − 1.5·0.01·4 = 0.59, v₂ = −0.14
    # buffer_first: with v: v₁ = −0.2, θ₁ = 1 + 0.5·(−0.2) − 0.1·2 = 0.7; v₂ = −0.14, θ₂ = 0.7 − 0.07 − 0.04
    #               with b: b₁ = 2, θ₁ = 1 − 0.1·(2 + 1) = 0.7; b₂ = 5, θ₂ = 0.7 − 0.01·(4 + 2.5) = 0.635
    # The order does not change the update (even under a schedule); lr_in_velocity does.
    want = 0.59 if lr_in_velocity else 0.635
    for order in ("buffer_first", "step_first"):
        got = run_scheduled("nesterov", "torch", 1.0, [2.0, 4.0], [0.1, 0.01], momentum=0.5,
                            lr_in_velocity=lr_in_velocity, nesterov_order=order)
        assert got == pytest.approx([0.7, want], rel=1e-14), order


def test_nesterov_order_is_the_order_of_the_floating_point_operations():
    """step_first rounds as the book's JP code, buffer_first as torch: each reproduced to the bit."""
    rng = np.random.default_rng(9)
    n, mu, lr = 1000, 0.9, 0.1
    p0, g1, g2 = rng.normal(size=(3, n))

    def engine(order):
        data, grad = p0.copy(), np.zeros(n)
        opt = make_optimizer("nesterov", (data, grad), momentum=mu, lr=lr, lr_in_velocity=True,
                             nesterov_order=order)
        for g in (g1, g2):
            grad[...] = g
            opt.step()
        return data

    def scalar(order, p, gs):
        v = 0.0
        for g in gs:
            if order == "step_first":  # the book: p += μ²v; p −= (1+μ)ηg; v ← μv − ηg
                p = p + v * (mu * mu)
                p = p - g * ((1.0 + mu) * lr)
                v = v * mu - g * lr
            else:  # v ← μv − ηg; p ← p + μv − ηg
                v = v * mu - g * lr
                p = p + v * mu
                p = p - g * lr
        return p

    for order in ("step_first", "buffer_first"):
        want = np.array([scalar(order, p0[i], (g1[i], g2[i])) for i in range(n)])
        assert engine(order).tobytes() == want.tobytes(), order
    assert not np.array_equal(engine("step_first"), engine("buffer_first"))  # the option is not a no-op


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_eps_hat_by_hand(convention):
    # θ₀ = 1, η = 1, β₁ = 0.5, β₂ = 0.75, ε = 0.1, g = 1 twice (a large ε shows the difference).
    # t = 1: m = 0.5, v = 0.25, 1−β₁ = 0.5, 1−β₂ = 0.25
    #   ε̂ form: lr_t = √0.25/0.5 = 1, step = 0.5/(0.5 + 0.1) = 5/6
    #   torch:  step = (1/0.5)·0.5/(0.5/0.5 + 0.1) = 1/1.1
    # t = 2: m = 0.75, v = 0.4375, 1−β₁² = 0.75, 1−β₂² = 0.4375
    #   ε̂ form: step = (√0.4375/0.75)·0.75/(√0.4375 + 0.1) = √0.4375/(√0.4375 + 0.1)
    #   torch:  step = (1/0.75)·0.75/(√0.4375/√0.4375 + 0.1) = 1/1.1
    r = math.sqrt(0.4375)
    want = {True: [1 - 5 / 6, 1 - 5 / 6 - r / (r + 0.1)], False: [1 - 1 / 1.1, 1 - 2 / 1.1]}
    for eps_hat in (True, False):
        got = run_scheduled("adam", convention, 1.0, [1.0, 1.0], [1.0, 1.0], b1=0.5, b2=0.75, eps=0.1,
                            eps_hat=eps_hat)
        assert got == pytest.approx(want[eps_hat], rel=1e-14), eps_hat
    book = run_scheduled("adam", "book", 1.0, [1.0, 1.0], [1.0, 1.0], b1=0.5, b2=0.75, eps=0.1)
    assert book == pytest.approx(want[True], rel=1e-14)


def test_book_convention_weight_decay_is_torchs_coupled_decay_by_hand():
    # θ₀ = 1, g = 0.5, λ = 0.2, η = 0.1: g + λθ = 0.7
    # SGD: θ₁ = 1 − 0.1·0.7 = 0.93.  Momentum (book, μ = 0.9): v₁ = −0.07, θ₁ = 0.93; then g = −0.5:
    # g + λθ₁ = −0.5 + 0.186 = −0.314, v₂ = 0.9·(−0.07) + 0.0314 = −0.0316, θ₂ = 0.8984.
    # Adam (book, ε̂ form): g + λθ = 0.5 + 0.5·1 = 1 with λ = 0.5; m = 0.1, v = 0.001,
    # lr_t = 0.1·√0.001/0.1, θ₁ = 1 − lr_t·0.1/(√0.001 + 1e-7).
    got = run_engine("sgd", "book", [[0.5]], p0=[1.0], lr=0.1, weight_decay=0.2)
    assert got[0][0] == pytest.approx(0.93, rel=1e-15)
    got = run_engine("momentum", "book", [[0.5], [-0.5]], p0=[1.0], lr=0.1, weight_decay=0.2)
    assert [got[0][0], got[1][0]] == pytest.approx([0.93, 0.8984], rel=1e-14)
    lr_t = 0.1 * math.sqrt(0.001) / 0.1
    got = run_engine("adam", "book", [[0.5]], p0=[1.0], lr=0.1, weight_decay=0.5)
    assert got[0][0] == pytest.approx(1 - lr_t * 0.1 / (math.sqrt(0.001) + 1e-7), rel=1e-14)
