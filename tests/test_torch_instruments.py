"""The training instruments against PyTorch (a test oracle only): learning-rate schedules against
``torch.optim.lr_scheduler``, gradient clipping against ``torch.nn.utils.clip_grad_norm_`` /
``clip_grad_value_``, and a short MNIST run with a schedule and clipping against the same run in torch.

Schedules are compared for bit equality (stronger than the 1e-12 asked for): torch steps them with
their chained (recursive) forms, whose rounding differs from the closed formulas, and TrainLab
computes the same chain in the same order. Everything is float64.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
L = torch.optim.lr_scheduler

from trainlab import schedules as S  # noqa: E402
from trainlab.optim import make_optimizer  # noqa: E402

pytestmark = pytest.mark.torch

F64 = torch.float64
N_STEPS = 80


def _optimizers(lr: float):
    ours = make_optimizer("sgd", (np.zeros(3), np.zeros(3)), lr=lr)
    theirs = torch.optim.SGD([torch.nn.Parameter(torch.zeros(3, dtype=F64))], lr=lr)
    return ours, theirs


def _lr(opt) -> float:
    return opt.param_groups[0]["lr"]


def _sequences(ours_fn, theirs_fn, lr=0.1, n=N_STEPS, metrics=None):
    """The lr before update 0, 1, …, n of each side, the schedule stepped after each update as torch
    prescribes (optimizer.step(), then scheduler.step())."""
    o, t = _optimizers(lr)
    so, st = ours_fn(o), theirs_fn(t)
    a, b = [o.lr], [_lr(t)]
    for k in range(n):
        t.step()
        if metrics is None:
            so.step()
            st.step()
        else:
            so.step(metrics[k])
            st.step(metrics[k])
        a.append(o.lr)
        b.append(_lr(t))
    return a, b


SCHEDULE_CASES = {
    "step": (lambda o: S.StepLR(o, 7, 0.5), lambda t: L.StepLR(t, 7, 0.5)),
    "step-default-gamma": (lambda o: S.StepLR(o, 3), lambda t: L.StepLR(t, 3)),
    "multistep": (lambda o: S.MultiStepLR(o, [5, 20, 20, 33], 0.3), lambda t: L.MultiStepLR(t, [5, 20, 20, 33], 0.3)),
    "exp": (lambda o: S.ExponentialLR(o, 0.93), lambda t: L.ExponentialLR(t, 0.93)),
    "cosine": (lambda o: S.CosineAnnealingLR(o, 50), lambda t: L.CosineAnnealingLR(t, 50)),
    # past T_max: the special step after η_min (the ratio would be 0/0) and the climb back
    "cosine-eta_min-short": (lambda o: S.CosineAnnealingLR(o, 17, 1e-3), lambda t: L.CosineAnnealingLR(t, 17, 1e-3)),
    "cosine-T1": (lambda o: S.CosineAnnealingLR(o, 1, 0.01), lambda t: L.CosineAnnealingLR(t, 1, 0.01)),
    "linear-warmup": (lambda o: S.LinearLR(o, 0.1, 1.0, 9), lambda t: L.LinearLR(t, 0.1, 1.0, 9)),
    "linear-decay": (lambda o: S.LinearLR(o, 1.0, 0.05, 60), lambda t: L.LinearLR(t, 1.0, 0.05, 60)),
    "linear-default": (lambda o: S.LinearLR(o), lambda t: L.LinearLR(t)),
}
for _name, (_cls, _tcls, _args) in {
    "step": (S.StepLR, L.StepLR, (10, 0.5)),
    "multistep": (S.MultiStepLR, L.MultiStepLR, ([10, 30], 0.2)),
    "exp": (S.ExponentialLR, L.ExponentialLR, (0.95,)),
    "cosine": (S.CosineAnnealingLR, L.CosineAnnealingLR, (40, 1e-4)),
}.items():  # a warm-up of 6 steps, then the schedule (whose steps count from the milestone)
    SCHEDULE_CASES[f"warmup+{_name}"] = (
        lambda o, c=_cls, a=_args: S.SequentialLR(o, [S.LinearLR(o, 0.05, 1.0, 6), c(o, *a)], [6]),
        lambda t, c=_tcls, a=_args: L.SequentialLR(t, [L.LinearLR(t, 0.05, 1.0, 6), c(t, *a)], [6]))


@pytest.mark.parametrize("case", list(SCHEDULE_CASES))
def test_schedule_lr_sequence_equals_torch_bit_for_bit(case):
    ours_fn, theirs_fn = SCHEDULE_CASES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's "lr_scheduler.step() before optimizer.step()" at construction
        ours, theirs = _sequences(ours_fn, theirs_fn, lr=0.1)
    assert len(ours) == N_STEPS + 1
    bad = [(k, a, b) for k, (a, b) in enumerate(zip(ours, theirs)) if a != b]
    assert not bad, f"first differences (step, ours, torch): {bad[:3]}"
    assert len(set(ours)) >= 2  # it does schedule


def test_the_chained_forms_round_differently_from_the_closed_forms():
    """Why bit equality is the check: the formulas would differ from torch in the last bits."""
    o, _ = _optimizers(0.1)
    cos = S.CosineAnnealingLR(o, 17, 1e-3)
    chained, closed = [], []
    for _ in range(60):
        cos.step()
        chained.append(o.lr)
        closed.append(cos.closed_form_lr())
    assert chained != closed and max(abs(a - b) for a, b in zip(chained, closed)) < 1e-15
    o, t = _optimizers(0.1)
    lin, tlin = S.LinearLR(o, 0.1, 1.0, 9), L.LinearLR(t, 0.1, 1.0, 9)
    for _ in range(12):
        lin.step()
        t.step()
        tlin.step()
    assert o.lr == _lr(t) == 0.10000000000000003 != 0.1  # torch's warm-up does not land on η exactly


def _metric_walk(seed: int, n: int = N_STEPS) -> list[float]:
    """A loss-like sequence: falling, with small steps, repeats, small rises, a NaN and a long plateau."""
    rng = np.random.default_rng(seed)
    v, out = 2.0, []
    for k in range(n):
        r = rng.random()
        if r < 0.35:
            v *= 1 - rng.uniform(0, 0.05)
        elif r < 0.5:
            v *= 1 - rng.uniform(0, 2e-4)  # within a default threshold: not an improvement
        elif r < 0.6:
            v *= 1 + rng.uniform(0, 0.02)
        out.append(v)  # else: exactly repeated
    out[n // 2] = math.nan
    out[n - 20 : n - 5] = [out[n - 21]] * 15  # a long plateau: even the default patience (10) runs out
    return out


PLATEAU_CASES = [
    dict(),
    dict(mode="min", factor=0.5, patience=2),
    dict(mode="min", factor=0.5, patience=0, threshold=0.01, threshold_mode="abs"),
    dict(mode="min", factor=0.3, patience=1, cooldown=3, min_lr=2e-4),
    dict(mode="min", factor=0.9, patience=1, eps=1e-3),  # eps blocks the later reductions
    dict(mode="max", factor=0.5, patience=2, threshold=0.001),
    dict(mode="max", factor=0.5, patience=3, threshold=0.05, threshold_mode="abs", cooldown=1),
]


@pytest.mark.parametrize("kw", PLATEAU_CASES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "defaults")
@pytest.mark.parametrize("seed", [0, 1])
def test_reduce_on_plateau_equals_torch_on_the_same_metrics(kw, seed):
    metrics = _metric_walk(seed)
    if kw.get("mode") == "max":
        metrics = [-m for m in metrics]  # an accuracy-like rising sequence
    ours, theirs = _sequences(lambda o: S.ReduceLROnPlateau(o, **kw), lambda t: L.ReduceLROnPlateau(t, **kw),
                              lr=0.1, metrics=metrics)
    assert ours == theirs
    assert len(set(ours)) > 1 or kw.get("eps"), "the case never reduces: it tests nothing"


def _json(d):
    return json.loads(json.dumps(d))


@pytest.mark.parametrize("case", ["cosine-eta_min-short", "warmup+cosine", "warmup+multistep", "linear-warmup"])
def test_a_schedule_rebuilt_from_its_state_dict_continues_exactly(case):
    ours_fn, _ = SCHEDULE_CASES[case]
    o, _ = _optimizers(0.1)
    ref = ours_fn(o)
    full = []
    for _ in range(50):
        ref.step()
        full.append(o.lr)
    o1, _ = _optimizers(0.1)
    first = ours_fn(o1)
    for _ in range(23):
        first.step()
    state, lr = _json(first.state_dict()), o1.lr
    o2, _ = _optimizers(0.1)
    again = ours_fn(o2)  # construction moves the lr; the state and the saved lr put it back
    again.load_state_dict(state)
    o2.lr = lr
    rest = []
    for _ in range(50 - 23):
        again.step()
        rest.append(o2.lr)
    assert full[23:] == rest


def test_plateau_state_dict_round_trips_through_json_with_an_infinite_best():
    o, _ = _optimizers(0.1)
    p = S.ReduceLROnPlateau(o, factor=0.5, patience=1)
    state = json.loads(json.dumps(p.state_dict()))  # best = inf before any step: JSON 'Infinity'
    assert state["best"] == math.inf
    metrics = _metric_walk(3, 40)
    for m in metrics[:20]:
        p.step(m)
    q = S.ReduceLROnPlateau(o, factor=0.5, patience=1)
    q.load_state_dict(json.loads(json.dumps(p.state_dict())))
    o_ref, _ = _optimizers(0.1)
    r = S.ReduceLROnPlateau(o_ref, factor=0.5, patience=1)
    for m in metrics:
        r.step(m)
    for m in metrics[20:]:
        q.step(m)
    assert o.lr == o_ref.lr and q.state_dict() == r.state_dict()


# ------------------------------------------------------------------------------------------------
# Gradient clipping vs torch.nn.utils
# ------------------------------------------------------------------------------------------------
from trainlab.clipping import clip_grad_norm, clip_grad_value  # noqa: E402

SHAPES = [(30, 20), (20,), (20, 10), (10,)]  # an MLP's W1, b1, W2, b2


def _grads(seed: int, scale: float):
    rng = np.random.default_rng(seed)
    parts = [rng.normal(0.0, scale, s) * rng.choice([1.0, 0.01, 30.0]) for s in SHAPES]
    flat = np.concatenate([p.ravel() for p in parts])
    params = []
    for p in parts:
        t = torch.nn.Parameter(torch.zeros(p.shape, dtype=F64))
        t.grad = torch.tensor(p, dtype=F64)
        params.append(t)
    return flat, params


def _torch_flat(params) -> np.ndarray:
    return np.concatenate([p.grad.numpy().ravel() for p in params])


def _rel(a, b) -> float:
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("max_norm_of_norm", [0.01, 0.5, 0.999, 2.0, 1e6], ids=lambda f: f"max_norm={f}·norm")
def test_clip_grad_norm_equals_torch(seed, max_norm_of_norm):
    flat, params = _grads(seed, 1.0)
    before = flat.copy()
    norm = float(np.sqrt(np.sum(flat**2)))
    max_norm = max_norm_of_norm * norm
    total = clip_grad_norm(flat, max_norm)
    t_total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    assert abs(total - float(t_total)) <= 1e-12 * float(t_total)
    assert _rel(flat, _torch_flat(params)) <= 1e-12
    if max_norm_of_norm >= 1.0:  # torch multiplies by the clamped coefficient 1: nothing changes
        assert np.array_equal(flat, before) and np.array_equal(_torch_flat(params), before)
    else:
        assert float(np.sqrt(np.sum(flat**2))) <= max_norm


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("clip_value", [1e-3, 0.5, 1e9])
def test_clip_grad_value_equals_torch(seed, clip_value):
    flat, params = _grads(seed, 1.0)
    before = flat.copy()
    clip_grad_value(flat, clip_value)
    torch.nn.utils.clip_grad_value_(params, clip_value)
    assert np.array_equal(flat, _torch_flat(params))  # a clamp is exact
    assert np.max(np.abs(flat)) <= clip_value
    assert np.array_equal(flat, before) == (clip_value == 1e9)


def test_a_nonfinite_gradient_spreads_as_in_torch():
    flat, params = _grads(9, 1.0)
    flat[5] = math.inf
    params[0].grad.view(-1)[5] = math.inf
    with np.errstate(invalid="ignore"):  # inf·0; the trainer reports it as a divergence
        total = clip_grad_norm(flat, 1.0)
    t_total = torch.nn.utils.clip_grad_norm_(params, 1.0)
    assert total == float(t_total) == math.inf
    theirs = _torch_flat(params)
    assert np.array_equal(np.isnan(flat), np.isnan(theirs)) and np.isnan(flat).sum() == 1
    assert np.array_equal(flat[~np.isnan(flat)], theirs[~np.isnan(theirs)])  # the rest scaled by 0



# ------------------------------------------------------------------------------------------------
# A short MNIST run with a schedule and clipping vs the same run written in torch
# ------------------------------------------------------------------------------------------------
from trainlab.data import DataSpec  # noqa: E402
from trainlab.model import ModelSpec  # noqa: E402
from trainlab.trainer import Data, Trainer, TrainConfig  # noqa: E402

RUN_CASES = {
    "momentum, warm-up + cosine per iteration, clip norm": dict(
        optimizer="momentum", optimizer_params={"lr": 0.1, "momentum": 0.9}, lr_schedule="cosine:20:0.001",
        schedule_every="iteration", warmup=4, warmup_factor=0.1, clip_grad_norm=0.5),
    "adam, step per epoch, clip value": dict(
        optimizer="adam", optimizer_params={"lr": 0.01}, lr_schedule="step:2:0.3", clip_grad_value=0.02),
    "sgd, plateau on its own val_loss, clip norm": dict(
        optimizer="sgd", optimizer_params={"lr": 0.5}, lr_schedule="plateau:0.5:0:threshold=0.2",
        clip_grad_norm=2.0),
}


def _torch_twin(name: str, net):
    conf = RUN_CASES[name]
    params = list(net.parameters())
    lr = conf["optimizer_params"]["lr"]
    if conf["optimizer"] == "momentum":
        opt = torch.optim.SGD(params, lr=lr, momentum=conf["optimizer_params"]["momentum"])
    elif conf["optimizer"] == "adam":
        opt = torch.optim.Adam(params, lr=lr)
    else:
        opt = torch.optim.SGD(params, lr=lr)
    kind = conf["lr_schedule"].split(":")[0]
    if kind == "cosine":
        sched = L.SequentialLR(opt, [L.LinearLR(opt, conf["warmup_factor"], 1.0, conf["warmup"]),
                                     L.CosineAnnealingLR(opt, 20, 0.001)], [conf["warmup"]])
    elif kind == "step":
        sched = L.StepLR(opt, 2, 0.3)
    else:
        sched = L.ReduceLROnPlateau(opt, factor=0.5, patience=0, threshold=0.2)
    return opt, sched


@pytest.mark.parametrize("name", list(RUN_CASES))
def test_a_training_run_with_a_schedule_and_clipping_equals_torch(name):
    conf = RUN_CASES[name]
    arrays = DataSpec(train_size=256, val_fraction=0.25).load(seed=0)
    data = Data(arrays.x_train, arrays.t_train, arrays.x_val, arrays.t_val)
    spec = ModelSpec(input_size=784, hidden_sizes=(20,), output_size=10, dtype="float64")
    trainer = Trainer(spec, data, TrainConfig(epochs=5, batch_size=32, seed=1, **conf))
    p = trainer.model.params
    net = torch.nn.Sequential(torch.nn.Linear(784, 20, dtype=F64), torch.nn.ReLU(), torch.nn.Linear(20, 10, dtype=F64))
    with torch.no_grad():  # the same initial weights
        for lin, i in ((net[0], 1), (net[2], 2)):
            lin.weight.copy_(torch.tensor(p.view(f"W{i}").T))
            lin.bias.copy_(torch.tensor(p.view(f"b{i}")))
    batches = []  # the same batches: the ones our trainer draws, in its order
    gradient = trainer.model.gradient

    def spy(x, t, **kw):
        batches.append((x.copy(), t.copy()))
        return gradient(x, t, **kw)

    trainer.model.gradient = spy
    history = trainer.train()
    assert history.status == "completed" and len(batches) == 5 * 6

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt, sched = _torch_twin(name, net)
    lrs, per_iteration = [], conf.get("schedule_every") == "iteration"
    xv, tv = torch.tensor(data.x_val, dtype=F64), torch.tensor(data.t_val)
    for k, (x, t) in enumerate(batches):
        used = opt.param_groups[0]["lr"]
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(torch.tensor(x)), torch.tensor(t)).backward()
        if "clip_grad_norm" in conf:
            torch.nn.utils.clip_grad_norm_(net.parameters(), conf["clip_grad_norm"])
        else:
            torch.nn.utils.clip_grad_value_(net.parameters(), conf["clip_grad_value"])
        opt.step()
        if per_iteration:
            sched.step()
        if (k + 1) % 6 == 0:  # an epoch ends
            lrs.append(used)
            if isinstance(sched, L.ReduceLROnPlateau):
                with torch.no_grad():
                    sched.step(float(torch.nn.functional.cross_entropy(net(xv), tv)))
            elif not per_iteration:
                sched.step()
    assert [r["lr"] for r in history.epochs[1:]] == lrs and len(set(lrs)) > 1
    for lin, i in ((net[0], 1), (net[2], 2)):
        for ours, theirs in ((p.view(f"W{i}"), lin.weight.detach().numpy().T), (p.view(f"b{i}"), lin.bias.detach().numpy())):
            err = _rel(ours, theirs)
            assert err <= 1e-10, f"{name}: W{i}/b{i} relative error {err:.2e}"
