"""Numerical parity of the NumPy engine with PyTorch (used as a test oracle only).

Everything runs in float64 on both sides. Unless a test says otherwise, the error measure is the
max-norm relative error

    rel(a, b) = max|a − b| / max(max|b|, TINY),     b = the torch value, TINY = 1e-300,

and the bound is 1e-10. Covered: every optimizer against ``torch.optim`` (defaults and non-default
hyperparameters, small and large lr, checked after every step), BatchNorm against
``nn.BatchNorm1d`` (train/eval, running statistics), Affine/ReLU/Sigmoid/Tanh/softmax
cross-entropy against autograd, a whole MLP against an equivalent ``nn.Sequential``, the
initialisers against ``torch.nn.init`` (statistics), and inverted dropout against ``nn.Dropout``.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from trainlab.init import make_weight  # noqa: E402
from trainlab.layers import Affine, BatchNorm, Dropout, ReLU, Sigmoid, Tanh  # noqa: E402
from trainlab.losses import SoftmaxCrossEntropy  # noqa: E402
from trainlab.model import MLP, ModelSpec  # noqa: E402
from trainlab.optim import make_optimizer  # noqa: E402

pytestmark = pytest.mark.torch

F64 = torch.float64
TINY = 1e-300
RTOL = 1e-10


def rel(a, b) -> float:
    """max|a − b| / max(max|b|, TINY); ``b`` is the reference (torch) value."""
    a = a.detach().numpy() if isinstance(a, torch.Tensor) else np.asarray(a, dtype=np.float64)
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(b)), "non-finite values"
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), TINY))


def assert_close(a, b, what: str, tol: float = RTOL) -> None:
    err = rel(a, b)
    assert err <= tol, f"{what}: relative error {err:.3e} > {tol:.0e}"


def t64(x) -> torch.Tensor:
    return torch.tensor(np.asarray(x, dtype=np.float64), dtype=F64)


# ------------------------------------------------------------------------------------------------
# 1. Optimizers vs torch.optim
# ------------------------------------------------------------------------------------------------

N_PARAMS = 50
N_STEPS = 25


def _torch_optimizer(name: str, params, hp: dict, lr):
    """The torch.optim equivalent of ``make_optimizer(name, ..., **hp)``; lr=None → library default."""
    hp = dict(hp)
    kw = {} if lr is None else {"lr": lr}
    if name in ("adam", "adamw"):
        b1, b2 = hp.pop("b1", 0.9), hp.pop("b2", 0.999)
        kw["betas"] = (b1, b2)
    if name == "sgd":
        return torch.optim.SGD(params, **kw, **hp)
    if name == "momentum":
        return torch.optim.SGD(params, **kw, momentum=hp.pop("momentum", 0.9), **hp)
    if name == "nesterov":
        return torch.optim.SGD(params, **kw, momentum=hp.pop("momentum", 0.9), nesterov=True, **hp)
    cls = {"adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop,
           "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[name]
    return cls(params, **kw, **hp)


OPT_CASES = [
    ("sgd", {}),
    ("sgd", {"weight_decay": 0.1}),
    ("momentum", {}),
    ("momentum", {"momentum": 0.5, "dampening": 0.3}),
    ("momentum", {"momentum": 0.99, "dampening": 0.5, "weight_decay": 0.05}),
    ("momentum", {"momentum": 0.0, "dampening": 0.5}),  # torch keeps no buffer: plain SGD, τ unused
    ("momentum", {"momentum": 0.0, "dampening": 0.3, "weight_decay": 0.1}),
    ("nesterov", {}),
    ("nesterov", {"momentum": 0.5, "weight_decay": 0.1}),
    ("adagrad", {}),
    ("adagrad", {"lr_decay": 0.1, "initial_accumulator_value": 0.5}),
    ("adagrad", {"weight_decay": 0.1, "eps": 1e-3}),
    ("adagrad", {"lr_decay": 0.05, "initial_accumulator_value": 0.1, "weight_decay": 0.02, "eps": 1e-6}),
    ("rmsprop", {}),
    ("rmsprop", {"momentum": 0.9}),
    ("rmsprop", {"centered": True}),
    ("rmsprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("rmsprop", {"alpha": 0.9, "eps": 1e-4}),
    ("adam", {}),
    ("adam", {"b1": 0.8, "b2": 0.99}),
    ("adam", {"b1": 0.5, "b2": 0.9}),
    ("adam", {"amsgrad": True}),
    ("adam", {"weight_decay": 0.1}),
    ("adam", {"eps": 1e-3}),
    ("adam", {"amsgrad": True, "weight_decay": 0.05, "b1": 0.5, "b2": 0.9}),
    ("adamw", {}),
    ("adamw", {"weight_decay": 0.1}),
    ("adamw", {"weight_decay": 0.0}),
    ("adamw", {"amsgrad": True}),
    ("adamw", {"b1": 0.5, "b2": 0.9, "eps": 1e-6}),
    ("adamw", {"amsgrad": True, "weight_decay": 0.2, "b1": 0.8, "b2": 0.99}),
]

# lr=None: each library's own default lr (so the defaults themselves are compared).
LRS = [pytest.param(None, id="lr=default"), pytest.param(1e-3, id="lr=1e-3"), pytest.param(0.5, id="lr=0.5")]


def _case_id(case) -> str:
    name, hp = case
    return name + ("[" + ",".join(f"{k}={v}" for k, v in hp.items()) + "]" if hp else "[defaults]")


@pytest.fixture(scope="module")
def opt_problem():
    """p0, the coefficients of f(p) = Σ c·sin(p) + d·p², and a fixed sequence of random gradients."""
    rng = np.random.default_rng(1234)
    p0 = rng.normal(0.0, 1.0, N_PARAMS)
    c = rng.uniform(0.5, 1.5, N_PARAMS)
    d = rng.uniform(0.05, 0.5, N_PARAMS)
    seq = rng.normal(0.0, 1.0, (N_STEPS, N_PARAMS)) * rng.uniform(0.1, 3.0, N_PARAMS)
    return p0, c, d, seq


def _run_optimizer_parity(name, hp, lr, source, problem):
    p0, c, d, seq = problem
    data, grad = p0.copy(), np.zeros_like(p0)
    kw = dict(hp) if lr is None else dict(hp, lr=lr)
    ours = make_optimizer(name, (data, grad), convention="torch", **kw)
    param = torch.nn.Parameter(t64(p0))
    theirs = _torch_optimizer(name, [param], hp, lr)

    def gradient(p: np.ndarray, step: int) -> np.ndarray:
        # One NumPy function feeds both sides, so their gradients differ only through the parameters.
        if source == "fn":  # ∇ Σ (c·sin p + d·p²)
            return c * np.cos(p) + 2.0 * d * p
        return seq[step]

    for step in range(N_STEPS):
        grad[...] = gradient(data, step)
        ours.step()
        param.grad = torch.from_numpy(gradient(param.detach().numpy().copy(), step))
        theirs.step()
        b = param.detach()
        err = rel(data, b)
        assert err <= RTOL, f"step {step + 1}: parameter relative error {err:.3e}"
        # The displacement p − p0 is what an lr of 1e-3 changes; compare it on its own scale too.
        err_d = rel(data - p0, b.numpy() - p0)
        assert err_d <= RTOL, f"step {step + 1}: displacement relative error {err_d:.3e}"
        assert np.max(np.abs(b.numpy() - p0)) > 0
    return data


@pytest.mark.parametrize("source", ["fn", "seq"], ids=["grad=f(p)", "grad=fixed-seq"])
@pytest.mark.parametrize("lr", LRS)
@pytest.mark.parametrize("case", OPT_CASES, ids=[_case_id(c) for c in OPT_CASES])
def test_optimizer_matches_torch(case, lr, source, opt_problem):
    name, hp = case
    _run_optimizer_parity(name, hp, lr, source, opt_problem)


# The options that select the book's numerics, at the value that is torch.optim's (only) form.
TORCH_FORM = {"lr_in_velocity": False, "nesterov_order": "buffer_first", "eps_hat": False}


def test_optimizer_default_hyperparameters_match_torch():
    """The torch-convention defaults are torch.optim's own (lr, betas, eps, weight decay, ...)."""
    expect = {
        "sgd": dict(torch.optim.SGD([torch.zeros(1)]).defaults),
        "momentum": dict(torch.optim.SGD([torch.zeros(1)], momentum=0.9).defaults),
        "nesterov": dict(torch.optim.SGD([torch.zeros(1)], momentum=0.9, nesterov=True).defaults),
        "adagrad": dict(torch.optim.Adagrad([torch.zeros(1)]).defaults),
        "rmsprop": dict(torch.optim.RMSprop([torch.zeros(1)]).defaults),
        "adam": dict(torch.optim.Adam([torch.zeros(1)]).defaults),
        "adamw": dict(torch.optim.AdamW([torch.zeros(1)]).defaults),
    }
    for name, d in expect.items():
        opt = make_optimizer(name, (np.zeros(3), np.zeros(3)))
        for key, value in opt.hyperparameters.items():
            if key in TORCH_FORM:  # our numerics options, not torch.optim arguments: torch's own form
                assert value == TORCH_FORM[key], f"{name}.{key}: ours {value!r}, torch's form {TORCH_FORM[key]!r}"
                continue
            tkey = {"b1": "betas", "b2": "betas"}.get(key, key)
            tval = d[tkey]
            if key == "b1":
                tval = tval[0]
            elif key == "b2":
                tval = tval[1]
            assert value == tval, f"{name}.{key}: ours {value!r}, torch {tval!r}"


def test_optimizer_lr_change_mid_run_matches_torch(opt_problem):
    """A schedule: torch applies a new lr at once (its buffers hold no lr); so must we."""
    p0, c, d, seq = opt_problem
    for name, hp in [("momentum", {}), ("nesterov", {}), ("rmsprop", {"momentum": 0.9}), ("adam", {}),
                     ("adamw", {"weight_decay": 0.1}), ("adagrad", {"lr_decay": 0.1}),
                     ("momentum", {"momentum": 0.0, "dampening": 0.5}), ("momentum", {"dampening": 0.3}),
                     ("rmsprop", {"centered": True, "momentum": 0.5}), ("adam", {"amsgrad": True}),
                     ("adamw", {"amsgrad": True}), ("adagrad", {"initial_accumulator_value": 0.5})]:
        data, grad = p0.copy(), np.zeros_like(p0)
        ours = make_optimizer(name, (data, grad), lr=0.1, **hp)
        param = torch.nn.Parameter(t64(p0))
        theirs = _torch_optimizer(name, [param], hp, 0.1)
        for step in range(N_STEPS):
            if step == 10:
                ours.lr = 0.01
                for group in theirs.param_groups:
                    group["lr"] = 0.01
            grad[...] = seq[step]
            ours.step()
            param.grad = torch.from_numpy(seq[step].copy())
            theirs.step()
            assert_close(data, param, f"{name} step {step + 1}")


# ------------------------------------------------------------------------------------------------
# 2. BatchNorm vs nn.BatchNorm1d
# ------------------------------------------------------------------------------------------------

BN_FEATURES = 6


def _make_bn_pair(rng, d=BN_FEATURES):
    gamma = rng.uniform(0.5, 2.0, d) * rng.choice([-1.0, 1.0], d)
    beta = rng.normal(0.0, 1.0, d)
    bufs = [gamma.copy(), beta.copy(), np.zeros(d), np.zeros(d), np.zeros(d), np.zeros(d)]
    ours = BatchNorm(*bufs, convention="torch")
    theirs = nn.BatchNorm1d(d, dtype=F64)
    with torch.no_grad():
        theirs.weight.copy_(t64(gamma))
        theirs.bias.copy_(t64(beta))
    return ours, theirs


@pytest.mark.parametrize("n", [2, 7, 64], ids=lambda n: f"batch={n}")
def test_batchnorm_matches_torch(n):
    rng = np.random.default_rng(100 + n)
    ours, theirs = _make_bn_pair(rng)
    # A fresh BatchNorm1d: running_mean 0, running_var 1.
    assert_close(ours.running_mean, theirs.running_mean, "initial running_mean")
    assert_close(ours.running_var, theirs.running_var, "initial running_var")
    assert ours.eps == theirs.eps and ours.momentum == theirs.momentum
    shift = rng.normal(0.0, 3.0, BN_FEATURES)
    scale = rng.uniform(0.3, 4.0, BN_FEATURES)
    theirs.train()
    for step in range(5):
        x = shift + scale * rng.normal(size=(n, BN_FEATURES))
        dout = rng.normal(size=(n, BN_FEATURES))
        y = ours.forward(x, train=True)
        dx = ours.backward(dout)
        xt = t64(x).requires_grad_(True)
        theirs.zero_grad()
        yt = theirs(xt)
        yt.backward(t64(dout))
        where = f"train step {step + 1}"
        assert_close(y, yt, f"{where}: output")
        # dx = γ/(N·std)·(N·dy − Σdy − x̂Σ(dy·x̂)) cancels heavily for tiny batches (for N = 2 the
        # result is O(eps/var) of its terms); measure it against the scale of its terms, |γ·dy|/std.
        dx_scale = max(float(np.max(np.abs(dout * ours.gamma / ours.std))), TINY)
        err = float(np.max(np.abs(dx - xt.grad.numpy()))) / dx_scale
        assert err <= RTOL, f"{where}: dx error {err:.3e} (relative to max|γ·dy/std|)"
        assert_close(ours.dgamma, theirs.weight.grad, f"{where}: dgamma")
        assert_close(ours.dbeta, theirs.bias.grad, f"{where}: dbeta")
        assert_close(ours.running_mean, theirs.running_mean, f"{where}: running_mean")
        assert_close(ours.running_var, theirs.running_var, f"{where}: running_var (unbiased)")
    # Eval: the running statistics, which are constants for the backward pass.
    theirs.eval()
    x = shift + scale * rng.normal(size=(max(n, 3), BN_FEATURES))
    dout = rng.normal(size=x.shape)
    y = ours.forward(x, train=False)
    dx = ours.backward(dout)
    xt = t64(x).requires_grad_(True)
    theirs.zero_grad()
    yt = theirs(xt)
    yt.backward(t64(dout))
    assert_close(y, yt, "eval output")
    assert_close(dx, xt.grad, "eval dx")
    assert_close(ours.dgamma, theirs.weight.grad, "eval dgamma")
    assert_close(ours.dbeta, theirs.bias.grad, "eval dbeta")
    # Eval must not move the running statistics.
    assert_close(ours.running_mean, theirs.running_mean, "running_mean after eval")
    assert_close(ours.running_var, theirs.running_var, "running_var after eval")


def test_batchnorm_single_sample_refused_like_torch():
    ours, theirs = _make_bn_pair(np.random.default_rng(0))
    x = np.ones((1, BN_FEATURES))
    with pytest.raises(ValueError, match="more than 1"):
        theirs.train()(t64(x))
    with pytest.raises(ValueError, match="more than 1"):
        ours.forward(x, train=True)


# ------------------------------------------------------------------------------------------------
# 3. Layers and the loss vs autograd
# ------------------------------------------------------------------------------------------------


def test_affine_matches_autograd():
    rng = np.random.default_rng(3)
    n, fan_in, fan_out = 9, 13, 7
    x, W, b = rng.normal(size=(n, fan_in)), rng.normal(size=(fan_in, fan_out)), rng.normal(size=fan_out)
    dout = rng.normal(size=(n, fan_out))
    dW, db = np.zeros_like(W), np.zeros_like(b)
    layer = Affine(W, b, dW, db)
    y = layer.forward(x, train=True)
    dx = layer.backward(dout)
    # torch's layout: nn.Linear with weight = Wᵀ of shape (out, in).
    lin = nn.Linear(fan_in, fan_out, dtype=F64)
    with torch.no_grad():
        lin.weight.copy_(t64(W.T))
        lin.bias.copy_(t64(b))
    xt = t64(x).requires_grad_(True)
    yt = lin(xt)
    yt.backward(t64(dout))
    assert_close(y, yt, "Affine output")
    assert_close(dx, xt.grad, "Affine dx")
    assert_close(dW, lin.weight.grad.T, "Affine dW")
    assert_close(db, lin.bias.grad, "Affine db")
    # need_dx=False skips dx but still fills dW, db.
    dW2, db2 = np.zeros_like(W), np.zeros_like(b)
    first = Affine(W, b, dW2, db2, need_dx=False)
    first.forward(x)
    assert first.backward(dout) is None
    assert_close(dW2, lin.weight.grad.T, "Affine(need_dx=False) dW")


@pytest.mark.parametrize("layer_cls, fn", [(ReLU, torch.relu), (Sigmoid, torch.sigmoid), (Tanh, torch.tanh)],
                         ids=["relu", "sigmoid", "tanh"])
def test_activation_matches_autograd(layer_cls, fn):
    rng = np.random.default_rng(4)
    x = rng.normal(0.0, 3.0, (11, 8))
    x[0, :4] = 0.0  # the ReLU kink: torch's gradient there is 0, as ours
    x[1, :4] = [-40.0, 40.0, -800.0, 800.0]  # saturated regions (exp overflow in our sigmoid)
    dout = rng.normal(size=x.shape)
    layer = layer_cls()
    y = layer.forward(x, train=True)
    dx = layer.backward(dout)
    xt = t64(x).requires_grad_(True)
    yt = fn(xt)
    yt.backward(t64(dout))
    assert_close(y, yt, f"{layer_cls.__name__} output")
    assert_close(dx, xt.grad, f"{layer_cls.__name__} dx")


def _ce_targets(kind, rng, n, k):
    labels = rng.integers(0, k, n)
    if kind == "labels":
        return labels, torch.tensor(labels)
    if kind == "onehot":
        t = np.eye(k)[labels]
    else:  # probability rows
        t = rng.dirichlet(np.ones(k), n)
    return t, t64(t)


@pytest.mark.parametrize("kind", ["labels", "onehot", "probs"])
@pytest.mark.parametrize("logit_scale", [1.0, 50.0], ids=["logits~N(0,1)", "logits~N(0,50²)"])
def test_softmax_cross_entropy_matches_autograd(kind, logit_scale):
    rng = np.random.default_rng(5)
    n, k = 17, 6
    z = rng.normal(0.0, logit_scale, (n, k))
    t, tt = _ce_targets(kind, rng, n, k)
    loss_layer = SoftmaxCrossEntropy()
    loss = loss_layer.forward(z, t)
    dz = loss_layer.backward()
    zt = t64(z).requires_grad_(True)
    lt = F.cross_entropy(zt, tt)  # mean reduction; probability targets when tt is float (N, K)
    lt.backward()
    assert isinstance(loss, float)
    assert_close(loss, lt, f"cross-entropy loss ({kind})")
    assert_close(dz, zt.grad, f"cross-entropy dz ({kind})")


# ------------------------------------------------------------------------------------------------
# 4. A whole MLP vs the same network in torch
# ------------------------------------------------------------------------------------------------


def _torch_mlp(model: MLP) -> nn.Sequential:
    """nn.Sequential equal to ``model`` (Linear → [BN] → act per hidden layer), weights copied."""
    spec, p = model.spec, model.params
    sizes = spec.sizes
    act = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[spec.activation]
    layers = []
    for i in range(1, len(sizes)):
        lin = nn.Linear(sizes[i - 1], sizes[i], dtype=F64)
        with torch.no_grad():
            lin.weight.copy_(t64(p.view(f"W{i}").T))
            lin.bias.copy_(t64(p.view(f"b{i}")))
        layers.append(lin)
        if i == len(sizes) - 1:
            break
        if spec.batch_norm:
            bn = nn.BatchNorm1d(sizes[i], dtype=F64)
            with torch.no_grad():
                bn.weight.copy_(t64(p.view(f"gamma{i}")))
                bn.bias.copy_(t64(p.view(f"beta{i}")))
            layers.append(bn)
        layers.append(act())
    return nn.Sequential(*layers)


def _torch_grad(net: nn.Sequential, name: str) -> torch.Tensor:
    """The torch gradient matching our parameter ``name``, in our layout (Linear weights transposed)."""
    kind, i = re.fullmatch(r"([A-Za-z]+)(\d+)", name).groups()
    linears = [m for m in net if isinstance(m, nn.Linear)]
    bns = [m for m in net if isinstance(m, nn.BatchNorm1d)]
    i = int(i) - 1
    return {"W": lambda: linears[i].weight.grad.T, "b": lambda: linears[i].bias.grad,
            "gamma": lambda: bns[i].weight.grad, "beta": lambda: bns[i].bias.grad}[kind]()


MLP_CASES = [
    pytest.param(dict(activation="tanh", batch_norm=True, weight_decay=0.0), "labels", id="tanh-bn"),
    pytest.param(dict(activation="tanh", batch_norm=True, weight_decay=0.1), "labels", id="tanh-bn-wd0.1"),
    pytest.param(dict(activation="relu", batch_norm=True, weight_decay=0.01), "onehot", id="relu-bn-wd0.01-onehot"),
    pytest.param(dict(activation="sigmoid", batch_norm=False, weight_decay=0.05), "probs", id="sigmoid-wd0.05-probs"),
]


@pytest.mark.parametrize("spec_kw, target_kind", MLP_CASES)
def test_mlp_loss_and_gradients_match_autograd(spec_kw, target_kind):
    spec = ModelSpec(input_size=20, hidden_sizes=(16, 16), output_size=5, init="glorot_normal",
                     dtype="float64", **spec_kw)
    model = MLP(spec, rng=7)
    rng = np.random.default_rng(8)
    # Non-trivial biases, γ and β (the model starts them at 0 and 1).
    for name in model.params.slots:
        if name[0] != "W":
            model.params.view(name)[...] = rng.normal(0.5 if name.startswith("gamma") else 0.0, 0.5,
                                                      model.params.view(name).shape)
    net = _torch_mlp(model)
    lam = spec.weight_decay
    n = 32

    def torch_loss(x, tt):
        out = F.cross_entropy(net(t64(x)), tt)
        # The book's weight decay: ½λ‖W‖² over the Linear weights only (no biases, γ, β).
        reg = sum((m.weight ** 2).sum() for m in net if isinstance(m, nn.Linear))
        return out + 0.5 * lam * reg

    for step in range(3):
        x = rng.normal(size=(n, spec.input_size))
        t, tt = _ce_targets(target_kind, rng, n, spec.output_size)
        model.params.grad[...] = np.nan  # every slot must be written
        loss = model.gradient(x, t)
        net.train()
        net.zero_grad()
        lt = torch_loss(x, tt)
        lt.backward()
        assert_close(loss, lt, f"step {step + 1}: train loss")
        n_affine = len(spec.sizes) - 1
        for name in model.params.slots:
            ours, theirs = model.params.grad_view(name), _torch_grad(net, name)
            if spec.batch_norm and name[0] == "b" and name[1:].isdigit() and int(name[1:]) < n_affine:
                # A bias that feeds a BatchNorm has an exactly zero gradient (BN removes the mean);
                # both sides hold rounding noise only: check it is noise against that layer's dW.
                scale = float(np.max(np.abs(model.params.grad_view("W" + name[1:]))))
                for label, g in (("ours", ours), ("torch", theirs.numpy())):
                    assert np.max(np.abs(g)) <= RTOL * scale, f"{label} d{name} is not ~0"
                continue
            assert_close(ours, theirs, f"step {step + 1}: d{name}")
        if spec.batch_norm:
            bns = [m for m in net if isinstance(m, nn.BatchNorm1d)]
            for i, bn in enumerate(bns, start=1):
                assert_close(model.params.buffers[f"running_mean{i}"], bn.running_mean, f"running_mean{i}")
                assert_close(model.params.buffers[f"running_var{i}"], bn.running_var, f"running_var{i}")
    # Inference mode: the running statistics.
    x = rng.normal(size=(n, spec.input_size))
    t, tt = _ce_targets(target_kind, rng, n, spec.output_size)
    net.eval()
    with torch.no_grad():
        assert_close(model.predict(x), net(t64(x)), "eval logits")
        assert_close(model.loss(x, t, train=False), torch_loss(x, tt), "eval loss")


# ------------------------------------------------------------------------------------------------
# 5. Initialisers vs torch.nn.init (statistics)
# ------------------------------------------------------------------------------------------------

FAN_IN, FAN_OUT = 600, 200  # unequal, so a transposed layout shows up in the fan-in based inits

INIT_CASES = [
    # (our name, torch init function, kwargs, uniform?)
    ("glorot_normal", "xavier_normal_", {}, False),
    ("glorot_uniform", "xavier_uniform_", {}, True),
    ("he_normal", "kaiming_normal_", {"nonlinearity": "relu"}, False),
    ("he_uniform", "kaiming_uniform_", {"nonlinearity": "relu"}, True),
    ("lecun_normal", "kaiming_normal_", {"nonlinearity": "linear"}, False),
    # aliases and the book's spellings
    ("xavier_normal", "xavier_normal_", {}, False),
    ("kaiming_uniform", "kaiming_uniform_", {"nonlinearity": "relu"}, True),
    ("he", "kaiming_normal_", {"nonlinearity": "relu"}, False),
    ("xavier", "kaiming_normal_", {"nonlinearity": "linear"}, False),  # the book's "Xavier" is LeCun
]


def _ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov–Smirnov statistic sup|F_a − F_b|."""
    a, b = np.sort(a.ravel()), np.sort(b.ravel())
    grid = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, grid, side="right") / a.size
                               - np.searchsorted(b, grid, side="right") / b.size)))


def _ks_critical(n: int, m: int, alpha: float = 1e-4) -> float:
    return math.sqrt(-0.5 * math.log(alpha / 2)) * math.sqrt((n + m) / (n * m))


def _draw_pair(ours_name, torch_fn, kw, seed=0):
    ours = make_weight(ours_name, np.random.default_rng(seed), (FAN_IN, FAN_OUT))
    w = torch.empty(FAN_OUT, FAN_IN, dtype=F64)  # torch layout (out, in)
    getattr(nn.init, torch_fn)(w, generator=torch.Generator().manual_seed(seed), **kw)
    return ours, w.T.numpy()


@pytest.mark.parametrize("ours_name, torch_fn, kw, uniform", INIT_CASES, ids=[c[0] for c in INIT_CASES])
def test_initializer_statistics_match_torch(ours_name, torch_fn, kw, uniform):
    ours, theirs = _draw_pair(ours_name, torch_fn, kw)
    assert ours.shape == theirs.shape == (FAN_IN, FAN_OUT) and ours.dtype == np.float64
    # torch's own formula for the std (gain from calculate_gain, fans from torch's layout).
    gain = nn.init.calculate_gain(kw.get("nonlinearity", "linear"))
    if torch_fn.startswith("xavier"):
        std = gain * math.sqrt(2.0 / (FAN_IN + FAN_OUT))
    else:
        std = gain / math.sqrt(FAN_IN)
    for label, w in (("ours", ours), ("torch", theirs)):
        assert abs(w.std() / std - 1) < 0.02, f"{label}: std {w.std():.5g}, formula {std:.5g}"
        assert abs(w.mean()) < 0.02 * std, f"{label}: mean {w.mean():.3g}"
    assert abs(ours.std() / theirs.std() - 1) < 0.02
    if uniform:
        bound = math.sqrt(3.0) * std
        for label, w in (("ours", ours), ("torch", theirs)):
            assert np.max(np.abs(w)) <= bound, f"{label}: max |w| beyond the bound {bound:.5g}"
            assert np.max(np.abs(w)) > 0.999 * bound, f"{label}: max |w| well inside the bound {bound:.5g}"
    # Whole distribution: KS statistic and a few quantiles (in units of the std).
    ks = _ks_statistic(ours, theirs)
    assert ks < _ks_critical(ours.size, theirs.size), f"KS statistic {ks:.4f}"
    q = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]
    dq = np.abs(np.quantile(ours, q) - np.quantile(theirs, q)) / std
    assert np.all(dq < 0.03), f"quantile differences (in std) {dq}"


def test_initializer_ks_check_has_power():
    """The KS check tells he_normal from lecun_normal (√2 apart) and normal from uniform."""
    ours, _ = _draw_pair("he_normal", "kaiming_normal_", {"nonlinearity": "relu"})
    _, lecun = _draw_pair("lecun_normal", "kaiming_normal_", {"nonlinearity": "linear"})
    crit = _ks_critical(ours.size, lecun.size)
    assert _ks_statistic(ours, lecun) > 5 * crit
    normal, _ = _draw_pair("he_normal", "kaiming_normal_", {"nonlinearity": "relu"})
    _, uniform = _draw_pair("he_uniform", "kaiming_uniform_", {"nonlinearity": "relu"})
    assert abs(normal.std() / uniform.std() - 1) < 0.02  # same std …
    assert _ks_statistic(normal, uniform) > 5 * crit  # … different shape


# ------------------------------------------------------------------------------------------------
# 6. Dropout (inverted) vs nn.Dropout
# ------------------------------------------------------------------------------------------------

P_DROP = [0.1, 0.5, 0.8]


@pytest.mark.parametrize("p", P_DROP, ids=lambda p: f"p={p}")
def test_dropout_survivors_scaled_as_torch(p):
    """Both libraries zero some units and scale the survivors by 1/(1−p): the same values."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(200, 50)) + 3.0  # no zeros in x, so zeros in y are dropped units
    layer = Dropout(p, np.random.default_rng(12))
    y = layer.forward(x, train=True)
    drop = nn.Dropout(p).train()
    yt = drop(t64(x)).numpy()
    for label, out in (("ours", y), ("torch", yt)):
        kept = out != 0
        frac = kept.mean()
        assert abs(frac - (1 - p)) < 0.02, f"{label}: kept fraction {frac:.3f}"
        assert_close(out[kept], x[kept] / (1 - p), f"{label}: survivors vs x/(1−p)")
    # Same scale factor on the survivors: out/x is one constant in both.
    assert_close(np.unique(np.round(y[y != 0] / x[y != 0], 12)), np.unique(np.round(yt[yt != 0] / x[yt != 0], 12)),
                 "survivor scale factor")
    # Backward is the same masking and scaling as forward (as autograd through nn.Dropout).
    dout = rng.normal(size=x.shape)
    assert_close(layer.backward(dout), np.where(y != 0, dout / (1 - p), 0.0), "dropout backward")


@pytest.mark.parametrize("p", P_DROP, ids=lambda p: f"p={p}")
def test_dropout_eval_is_identity_like_torch(p):
    x = np.random.default_rng(13).normal(size=(20, 30))
    layer = Dropout(p, np.random.default_rng(14))
    y = layer.forward(x, train=False)
    yt = nn.Dropout(p).eval()(t64(x))
    assert_close(y, yt, "eval output")
    assert np.array_equal(y, x)


def _binary_mask(shape, p, seed):
    return (np.random.default_rng(seed).random(shape) >= p).astype(np.float64)


@pytest.mark.parametrize("p", P_DROP, ids=lambda p: f"p={p}")
def test_dropout_injected_binary_mask_matches_torch_formula(p):
    """The docstring's contract: inject a 0/1 mask, get torch's y = x·mask/(1−p) and its gradient."""
    rng = np.random.default_rng(15)
    x = rng.normal(size=(40, 25))
    mask = _binary_mask(x.shape, p, 16)
    layer = Dropout(p, np.random.default_rng(17))
    layer.forward(x, train=True)
    layer.mask = mask
    layer.frozen = True
    y = layer.forward(x, train=True)
    dout = rng.normal(size=x.shape)
    dx = layer.backward(dout)
    xt = t64(x).requires_grad_(True)
    yt = xt * t64(mask) / (1 - p)  # torch's inverted dropout with this mask
    yt.backward(t64(dout))
    assert_close(y, yt, "output with injected binary mask")
    assert_close(dx, xt.grad, "dx with injected binary mask")
