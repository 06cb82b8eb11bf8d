"""Per-layer training diagnostics (``TrainConfig.diagnostics``): the statistics against hand
computations on tiny nets built so that a unit is dead or saturated, the gradient norms against the
gradient buffer's per-layer views, the update ratios against the weights before and after each epoch,
the spec's grammar, exact resumption, that nothing of the training changes, the figures and
``trainlab train --diagnostics``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from trainlab.checkpoint import CHECKPOINT_NAME
from trainlab.diagnostics import canonical_diagnostics, parse_diagnostics
from trainlab.history import History
from trainlab.model import ModelSpec
from trainlab.trainer import Data, Trainer, TrainConfig, fit
from trainlab.validate import ConfigError


def toy_data(n=230, d=12, k=4, seed=0, val=40, test=60) -> Data:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n + val + test, d))
    t = (x[:, :k] * np.arange(1, k + 1)).argmax(axis=1)
    return Data(x[:n], t[:n], x[n : n + val], t[n : n + val], x[n + val :], t[n + val :])


SPEC = ModelSpec(input_size=12, hidden_sizes=(16, 16), output_size=4, dtype="float64")
ITERS = 8  # ceil(230 / 32): the last batch of every epoch holds 6 samples


def cfg(**kw) -> TrainConfig:
    base = dict(epochs=3, batch_size=32, optimizer="sgd", optimizer_params={"lr": 0.1}, seed=3, diagnostics="on")
    base.update(kw)
    return TrainConfig(**base)


def epoch0(spec: ModelSpec, x: np.ndarray, weights: dict) -> dict:
    """The epoch-0 record of a net given by hand, probed on all of ``x``."""
    tr = Trainer(spec, Data(x, np.zeros(len(x), dtype=int)), cfg(epochs=0))
    for name, value in weights.items():
        tr.model.params.view(name)[...] = value
    tr.diagnostics.restart()
    return tr.train().epochs[0]


# -- the statistics by hand ---------------------------------------------------------------------------
def test_relu_dead_unit_by_construction():
    # hidden pre-activations a = x·W1 (b1 = 0), one row per sample:
    #   [1, 0] → [ 1, −1, −1]    [0, 1] → [−1,  1, −2]    [1, 1] → [0, 0, −3]    [2, 1] → [1, −1, −4]
    # z = relu(a): unit 3 is 0 for every sample (dead); unit 2 lives on one sample only, unit 1 on two
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 1.0]])
    w1 = np.array([[1.0, -1.0, -1.0], [-1.0, 1.0, -2.0]])
    spec = ModelSpec(input_size=2, hidden_sizes=(3,), output_size=2, dtype="float64")
    r = epoch0(spec, x, {"W1": w1, "b1": np.zeros(3)})
    # z holds three ones among 12 values: mean 1/4, E[z²] = 1/4, std = √(1/4 − 1/16)
    assert r["dead.h1"] == pytest.approx(1 / 3, rel=1e-15)
    assert r["zeros.h1"] == 0.75
    assert r["act_mean.h1"] == pytest.approx(0.25, rel=1e-15)
    assert r["act_std.h1"] == pytest.approx(math.sqrt(0.1875), rel=1e-15)
    assert "saturated.h1" not in r and "grad_norm.W1" not in r and "update_ratio.W1" not in r  # no update yet


def test_a_unit_alive_on_one_sample_only_is_not_dead():
    x = np.array([[1.0], [-1.0]])
    spec = ModelSpec(input_size=1, hidden_sizes=(2,), output_size=2, dtype="float64")
    r = epoch0(spec, x, {"W1": np.array([[1.0, 0.0]]), "b1": np.array([0.0, -1.0])})
    # unit 1: relu(1) = 1, relu(−1) = 0 (alive); unit 2: relu(−1) = 0 for both (dead)
    assert (r["dead.h1"], r["zeros.h1"]) == (0.5, 0.75)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_saturation_by_construction(activation):
    # a = x·W1: unit 1 gets 10, −10, 2; unit 2 gets 0.1, −0.1, 0.02. Saturated: σ(±10) is within
    # 4.6e-5 of 1 and 0 and tanh(±10) within 4.2e-9 of ±1; σ(2) = 0.881 and tanh(2) = 0.964 are not,
    # nor is unit 2 near 0 (σ ≈ 0.5, tanh ≈ ±0.1): 2 of 6 values
    x = np.array([[1.0], [-1.0], [0.2]])
    spec = ModelSpec(input_size=1, hidden_sizes=(2,), output_size=2, activation=activation, dtype="float64")
    r = epoch0(spec, x, {"W1": np.array([[10.0, 0.1]]), "b1": np.zeros(2)})
    f = (lambda a: 1 / (1 + math.exp(-a))) if activation == "sigmoid" else math.tanh
    z = [f(a) for a in (10.0, 0.1, -10.0, -0.1, 2.0, 0.02)]
    mean = sum(z) / 6
    assert r["saturated.h1"] == pytest.approx(2 / 6, rel=1e-15)
    assert r["act_mean.h1"] == pytest.approx(mean, rel=1e-13)
    assert r["act_std.h1"] == pytest.approx(math.sqrt(sum((v - mean) ** 2 for v in z) / 6), rel=1e-13)
    assert "dead.h1" not in r


def test_the_probe_is_the_first_samples_in_inference_mode():
    # batch norm in inference uses the running statistics: at initialisation mean 0, var 1, so the
    # hidden pre-activations pass through γ = 1, β = 0 (÷√(1 + 1e-5)) and the probe statistics are
    # those of relu(x·W1/√(1+1e-5)) on the first 3 samples only
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [50.0, 50.0]])
    spec = ModelSpec(input_size=2, hidden_sizes=(2,), output_size=2, batch_norm=True, dropout=0.5, dtype="float64")
    tr = Trainer(spec, Data(x, np.zeros(4, dtype=int)), cfg(epochs=0, diagnostics="on:3", batch_size=2))
    tr.model.params.view("W1")[...] = [[1.0, -1.0], [2.0, -1.0]]
    r = tr.train().epochs[0]
    z = np.maximum(np.array([[1.0, -1.0], [2.0, -1.0], [3.0, -2.0]]) / math.sqrt(1 + 1e-5), 0)
    assert r["act_mean.h1"] == pytest.approx(z.mean(), rel=1e-13) and r["act_std.h1"] == pytest.approx(z.std(), rel=1e-13)
    assert r["dead.h1"] == 0.5 and tr.history.diagnostics["probe_samples"] == 3


# -- gradient norms and update ratios -------------------------------------------------------------
class Watch:
    """Per update, the norms of every layer's view of the gradient buffer as the optimizer used it;
    per epoch, copies of the weights."""

    def __init__(self):
        self.norms, self.weights = [], {}

    def on_step_end(self, trainer, loss):
        p = trainer.model.params
        self.norms.append({name: float(np.linalg.norm(p.grad_view(name))) for name in p.slots})

    def on_epoch_end(self, trainer, record):
        self.weights[record["epoch"]] = {n: trainer.model.params.view(n).copy() for n in ("W1", "W2", "W3")}


@pytest.mark.parametrize("optimizer, decay", [("sgd", 0.0), ("adam", 0.01)])
def test_gradient_norms_are_the_epoch_mean_of_the_buffer_views(optimizer, decay):
    watch = Watch()
    _, h = fit(SPEC.replace(weight_decay=decay), toy_data(), cfg(optimizer=optimizer, optimizer_params={"lr": 0.01}),
               callbacks=[watch])
    assert len(watch.norms) == 3 * ITERS
    for e in (1, 2, 3):
        steps = watch.norms[(e - 1) * ITERS : e * ITERS]
        for name in ("W1", "b1", "W2", "b2", "W3", "b3"):
            expected = sum(s[name] for s in steps) / ITERS
            assert h.epochs[e][f"grad_norm.{name}"] == pytest.approx(expected, rel=1e-13), (e, name)


def test_gradient_norms_are_read_before_clipping():
    # one update per epoch (batch = all 230 samples): the pre-clip global norm the clipper records is
    # √(Σ over every W and b of their norms²)
    _, h = fit(SPEC, toy_data(), cfg(batch_size=230, clip_grad_norm=0.01))
    for r in h.epochs[1:]:
        total = math.sqrt(sum(r[f"grad_norm.{p}{i}"] ** 2 for p in "Wb" for i in (1, 2, 3)))
        assert total == pytest.approx(r["grad_norm_mean"], rel=1e-13) and total > 0.01


def test_update_ratio_is_the_change_of_the_weights_over_the_epoch():
    watch = Watch()
    _, h = fit(SPEC, toy_data(), cfg(), callbacks=[watch])
    for e in (1, 2, 3):
        for name in ("W1", "W2", "W3"):
            before, after = watch.weights[e - 1][name], watch.weights[e][name]
            expected = np.linalg.norm(after - before) / np.linalg.norm(before)
            assert h.epochs[e][f"update_ratio.{name}"] == pytest.approx(expected, rel=1e-13), (e, name)


def test_an_all_zero_weight_matrix_has_no_update_ratio():
    # zero init with ReLU: every hidden activation is 0, so no W ever gets a gradient (‖ΔW‖/‖W‖ = 0/0
    # is left out) while the output bias learns the class prior
    _, h = fit(SPEC.replace(init="zeros"), toy_data(), cfg(epochs=1))
    r = h.epochs[1]
    assert not [k for k in r if k.startswith("update_ratio.")]
    assert r["grad_norm.W1"] == r["grad_norm.W2"] == r["grad_norm.W3"] == 0.0 and r["grad_norm.b3"] > 0


# -- the spec -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, canonical", [
    ("on", "on:probe=500"), ("ON:1000", "on:probe=1000"), ("on:hist=0,5", "on:probe=500:hist=0,5"),
    ("hist:0,5,10", "on:probe=500:hist=0,5,10"), ("hist:3:probe=20", "on:probe=20:hist=3"),
    ("on:probe=500:hist=0,5,10", "on:probe=500:hist=0,5,10"), (None, None), ("off", None), ("none", None)])
def test_spec_canonical_forms(text, canonical):
    assert canonical_diagnostics(text) == canonical
    assert canonical_diagnostics(canonical) == canonical  # the canonical form parses to itself
    assert TrainConfig(diagnostics=text).diagnostics == canonical


@pytest.mark.parametrize("text, words", [
    ("hist", "hist needs hist"), ("hist:5,2", "increasing epochs >= 0"), ("hist:-1", "increasing epochs >= 0"),
    ("on:0", "probe must be an integer >= 1"), ("always", "unknown form 'always'"),
    ("on:probe=5:probe=6", "probe is given twice"), ("on:5:6:7", "too many values"), (3, "must be a text")])
def test_bad_specs_name_the_field_and_the_syntax(text, words):
    with pytest.raises(ConfigError) as exc:
        TrainConfig(diagnostics=text)
    assert exc.value.field == "diagnostics" and words in str(exc.value)


def test_parsed_spec():
    assert parse_diagnostics("hist:0,4:probe=7") == {"probe": 7, "hist": (0, 4)}


# -- the run ----------------------------------------------------------------------------------------------
def test_diagnostics_change_nothing_of_the_training():
    spec = SPEC.replace(dropout=0.2, batch_norm=True)  # dropout masks: a random stream the probe must not touch
    model_a, plain = fit(spec, toy_data(), cfg(diagnostics=None))
    model_b, diag = fit(spec, toy_data(), cfg(diagnostics="hist:0,2"))
    assert plain.iter_loss == diag.iter_loss
    np.testing.assert_array_equal(model_a.params.data, model_b.params.data)
    for a, b in zip(plain.epochs, diag.epochs):
        assert a == {k: v for k, v in b.items() if "." not in k}
        assert len(b) > len(a)
    assert plain.diagnostics is None and diag.diagnostics["hidden"] == ["h1", "h2"]


def test_histograms_at_the_chosen_epochs_and_strict_json():
    _, h = fit(SPEC.replace(activation="sigmoid"), toy_data(), cfg(diagnostics="hist:0,2,9:probe=100"))
    hists = h.diagnostics["histograms"]
    assert list(hists) == ["0", "2"]  # epoch 9 is never reached
    for epoch in hists.values():
        assert list(epoch) == ["h1", "h2"]
        for layer in epoch.values():  # sigmoid on [0, 1]: every value of 100 samples × 16 units counted
            assert layer["range"] == [0.0, 1.0] and len(layer["counts"]) == 30 and sum(layer["counts"]) == 1600
    again = History.from_json(h.to_json())
    assert again.diagnostics == json.loads(json.dumps(h.diagnostics)) and again.epochs == h.epochs
    _, relu = fit(SPEC, toy_data(), cfg(epochs=1, diagnostics="hist:1:probe=100"))
    layer = relu.diagnostics["histograms"]["1"]["h1"]
    nonzero = round(1600 * (1 - layer["zeros"]))
    assert sum(layer["counts"]) == nonzero and layer["range"][0] == 0.0 and layer["range"][1] > 0


@pytest.mark.parametrize("checkpoint_every", [1, 2])
def test_resume_reproduces_the_diagnostics(tmp_path, checkpoint_every):
    conf = cfg(epochs=5, diagnostics="hist:0,2,5", checkpoint_every=checkpoint_every,
               optimizer="momentum", optimizer_params={"lr": 0.05})
    _, full = fit(SPEC, toy_data(), conf)
    for split in (1, 3):
        out = tmp_path / f"split{split}"
        fit(SPEC, toy_data(), conf.replace(epochs=split), out_dir=out)
        _, resumed = fit(SPEC, toy_data(), conf, out_dir=out, resume=True)
        assert resumed.without_times() == full.without_times(), split
        assert "update_ratio.W1" in resumed.epochs[split + 1]


def test_a_killed_run_resumes_to_the_same_diagnostics(tmp_path):
    conf = cfg(epochs=4)
    _, full = fit(SPEC, toy_data(), conf)

    class Kill:
        n = 0

        def on_step_end(self, trainer, loss):
            self.n += 1
            if self.n == ITERS + 3:  # mid-epoch 2: its grad-norm sums die with the process
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Trainer(SPEC, toy_data(), conf, callbacks=[Kill()], out_dir=tmp_path).train()
    _, resumed = fit(SPEC, toy_data(), conf, out_dir=tmp_path, resume=True)
    assert resumed.without_times() == full.without_times()
    assert (tmp_path / CHECKPOINT_NAME).exists()


# -- figures and the command ------------------------------------------------------------------------------
def test_figures_read_the_record_keys():
    from trainlab.diagnostics_plots import compare_figures, diagnosed_layers, diagnostics_figure, histogram_figure

    _, plain = fit(SPEC, toy_data(), cfg(diagnostics=None))
    _, relu = fit(SPEC, toy_data(), cfg(diagnostics="hist:0,3"))
    _, sig = fit(SPEC.replace(activation="sigmoid", hidden_sizes=(8, 8, 8)), toy_data(), cfg())
    assert diagnostics_figure(plain.to_dict()) is None and histogram_figure(relu.to_dict()) is not None
    assert histogram_figure(sig.to_dict()) is None  # no histogram epochs asked for
    assert diagnosed_layers(sig.to_dict()) == (["h1", "h2", "h3"], ["W1", "W2", "W3", "W4"])
    fig = diagnostics_figure(relu.to_dict(), "a run")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["activation std on the probe batch", "dead units (0 for every probe sample): fraction",
                      "‖∂L/∂W‖, mean over the epoch's updates", "update ratio ‖ΔW‖/‖W‖ over the epoch"]
    stripped = {"epochs": relu.to_dict()["epochs"]}  # as trainlab compare keeps it: numbers only
    figs = compare_figures([("relu", stripped), ("sigmoid", sig.to_dict()), ("plain", plain.to_dict())])
    assert list(figs) == ["diagnostics_grad_norm", "diagnostics_saturation"]
    grad_panels = [ax for ax in figs["diagnostics_grad_norm"].axes if ax.get_title()]
    assert [ax.get_title() for ax in grad_panels] == ["layer W1", "layer W2", "layer W3", "layer W4"]
    assert [len(ax.lines) for ax in grad_panels] == [2, 2, 2, 1]  # W4: the sigmoid net's only
    assert compare_figures([("plain", plain.to_dict())]) == {}


@pytest.fixture(scope="module")
def train_runs(tmp_path_factory):
    """Four train runs: diagnostics on, with histograms, off, and a sigmoid net with them on."""
    from trainlab.cli import main

    root = tmp_path_factory.mktemp("train-runs")
    small = ["--train-size", "600", "--epochs", "2", "--hidden", "20,20", "--eval-samples", "500", "-q"]
    for name, extra in (("on", ["--diagnostics"]), ("hist", ["--diagnostics", "hist:0,2"]), ("off", []),
                        ("sigmoid", ["--diagnostics", "on", "--activation", "sigmoid", "--hidden", "20x3"])):
        assert main(["train", *small, *extra, "--out", str(root / name)]) == 0
    return root


def test_train_command_with_diagnostics(train_runs, capsys):
    from trainlab.record import RunRecord

    figures = {name: sorted(p.name for p in (train_runs / name / "figures").iterdir()) for name in ("on", "hist", "off")}
    assert figures["off"] == ["curves.png", "curves.svg"]
    assert figures["on"] == ["curves.png", "curves.svg", "diagnostics.png", "diagnostics.svg"]
    assert figures["hist"] == ["activation_histograms.png", "activation_histograms.svg", *figures["on"]]
    run = RunRecord.open(train_runs / "hist")
    assert run.config["training"]["diagnostics"] == "on:probe=500:hist=0,2"
    assert RunRecord.open(train_runs / "on").config["training"]["diagnostics"] == "on:probe=500"
    assert run.manifest["figures"] == ["curves", "diagnostics", "activation_histograms"]
    (_, history), = run.histories()
    assert {"act_std.h2", "dead.h2", "grad_norm.W3", "update_ratio.W3"} <= set(history["epochs"][2])
    assert list(history["diagnostics"]["histograms"]) == ["0", "2"]
    assert "grad_norm.W3" in (train_runs / "hist" / "history.csv").read_text().splitlines()[0]


def test_compare_draws_the_diagnostics_of_the_runs_that_have_them(train_runs, tmp_path, capsys):
    from trainlab import files
    from trainlab.cli import main

    out = tmp_path / "cmp"
    assert main(["compare", *(str(train_runs / n) for n in ("on", "sigmoid", "off")), "--out", str(out)]) == 0
    assert "per-layer diagnostics: diagnostics_grad_norm, diagnostics_saturation" in capsys.readouterr().out
    table = files.read_json(out / "compare.json")
    assert table["diagnostics"]["figures"] == ["diagnostics_grad_norm", "diagnostics_saturation"]
    assert table["figures"] == table["metrics"] + table["diagnostics"]["figures"]
    for name in table["diagnostics"]["figures"]:
        assert (out / f"{name}.png").read_bytes().startswith(b"\x89PNG") and (out / f"{name}.svg").is_file()
    last = table["diagnostics"]["last"]
    assert list(last["diagnostics_grad_norm"]) == ["on", "sigmoid"]  # "off" has none
    on = files.read_json(train_runs / "on" / "history.json")["epochs"][-1]
    assert last["diagnostics_grad_norm"]["on"] == {"stat": "grad_norm", "values": {
        f"W{i}": on[f"grad_norm.W{i}"] for i in (1, 2, 3)}}
    assert last["diagnostics_saturation"]["on"]["stat"] == "dead"
    assert last["diagnostics_saturation"]["sigmoid"]["stat"] == "saturated"
    assert list(last["diagnostics_saturation"]["sigmoid"]["values"]) == ["h1", "h2", "h3"]
    page = (out / "compare.html").read_text(encoding="utf-8")
    assert page.count("<img ") == len(table["figures"]) and "Dead or saturated units per layer" in page
    # a later comparison without diagnostics into the same folder removes their figures
    assert main(["compare", str(train_runs / "off"), "--out", str(out)]) == 0
    assert not list(out.glob("diagnostics_*"))
