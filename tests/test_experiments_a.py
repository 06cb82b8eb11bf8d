"""The runner, ``trainlab run`` and the experiments optimizer-race, optimizer-mnist,
activation-histograms, init-mnist and batchnorm at their reduced sizes (seconds each).

Which claims are asserted at reduced size, and why the others are not:
* optimizer-race: all (the reduced size is the full size: 30 steps of a toy).
* optimizer-mnist (300 iterations, 784-50-50-10): "SGD ends highest" holds from the first hundred
  iterations on; "Momentum, AdaGrad, Adam end below 0.1" needs ~2000 iterations (~0.25–0.33 at 300),
  and "SGD slowest at iteration 500" is not checked when there are only 300 iterations.
* activation-histograms (300 samples): all; the thresholds come from the variance recursion, and
  fewer samples only add noise well inside them.
* init-mnist (300 iterations): std 0.01 stuck at 2.30, He faster than Xavier (at iteration 200) and
  zero-init symmetry hold; "Xavier and He fall below 0.5" needs ~1000 iterations, so that claim is
  only checked to be reported.
* batchnorm (300 images, 6 epochs, 4 scales, 784-50-50-50-10): BN wins at ≥ 3 of 4 scales.

Every run goes through ``run_experiment`` and is checked against the run record's layout: run.json
(kind "experiment", status, claims {n, passed}, the resolved config, the seeds), summary.json,
claims.json, seeds/seed-K.json with the curves under "histories" and seeds/seed-K.csv beside it
(activation-histograms trains nothing and has neither), figures/NAME.png|svg.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from trainlab.cli import main
from trainlab.experiments import runner
from trainlab.experiments.base import Claim, Experiment
from trainlab.experiments.keys import Int
from trainlab.curves import mean_band, smooth_curve
from trainlab.experiments.runner import parse_overrides, resolve_config, run_experiment

LAYOUT = ("run.json", "summary.json", "claims.json")


# -- curves ------------------------------------------------------------------------------------------
def _kaiser11_beta2():
    """The Kaiser window from its definition: I0(β√(1 − (2k/(M−1) − 1)²)) / I0(β), M = 11, β = 2."""
    k = np.arange(11)
    return np.i0(2.0 * np.sqrt(1 - (2 * k / 10 - 1) ** 2)) / np.i0(2.0)


def test_smooth_curve_impulse_is_the_normalised_window():
    x = np.zeros(41)
    x[20] = 1.0
    w = _kaiser11_beta2()
    y = smooth_curve(x)
    expected = np.zeros(41)
    expected[15:26] = w / w.sum()
    assert y.shape == (41,)
    np.testing.assert_allclose(y, expected, atol=1e-12)


def test_smooth_curve_by_hand_with_the_books_reflection():
    # y[i] = Σ_j w[j]·x̃[i + j − 5]; x̃[m] = x[−m] for m < 0 (first point not repeated) and
    # x[2n − 1 − m] for m ≥ n (last point repeated): the book's np.r_[x[10:0:-1], x, x[-1:-11:-1]].
    x = np.array([3.0, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7])
    n = len(x)
    w = _kaiser11_beta2()
    w = w / w.sum()

    def ext(m):
        return x[-m] if m < 0 else x[2 * n - 1 - m] if m >= n else x[m]

    expected = [sum(w[j] * ext(i + j - 5) for j in range(11)) for i in range(n)]
    np.testing.assert_allclose(smooth_curve(x), expected, rtol=1e-12)
    # first output by hand: x̃[-5..5] = x5..x1, x0..x5
    first = w @ np.array([9, 5, 1, 4, 1, 3, 1, 4, 1, 5, 9.0])
    assert smooth_curve(x)[0] == pytest.approx(first, rel=1e-12)
    # a constant stays constant; too-short series come back unchanged
    np.testing.assert_allclose(smooth_curve(np.full(30, 2.5)), 2.5)
    np.testing.assert_array_equal(smooth_curve([1.0, 2.0, 3.0]), [1.0, 2.0, 3.0])


def test_mean_band():
    b = mean_band([[1.0, 2.0], [3.0, 6.0]])
    assert b["mean"] == [2.0, 4.0] and b["lo"] == [1.0, 2.0] and b["hi"] == [3.0, 6.0] and b["n"] == 2
    s = mean_band([[1.0, 2.0], [3.0, 6.0]], band="std")
    assert s["lo"] == [1.0, 2.0] and s["hi"] == [3.0, 6.0]


# -- configuration -------------------------------------------------------------------------------------
def test_overrides_parse_json_and_unknown_keys_are_named():
    assert parse_overrides(["lr_sgd=0.1", "optimizers=[\"sgd\"]", "convention=book"]) == {
        "lr_sgd": 0.1, "optimizers": ["sgd"], "convention": "book"}
    cfg = resolve_config("optimizer-mnist", {"iterations": "150"}, reduced=True)
    assert cfg["iterations"] == 150 and cfg["hidden_sizes"] == [50, 50]  # --set after reduced
    with pytest.raises(ValueError, match="'nope'.*valid keys are: hidden_sizes"):
        resolve_config("optimizer-mnist", ["nope=1"])
    with pytest.raises(ValueError, match="iterations"):
        resolve_config("optimizer-mnist", ["iterations=abc"])


# -- the experiments, reduced ---------------------------------------------------------------------------
def _check_layout(run_dir, result, seeds, figures, histories=True):
    for name in LAYOUT:
        assert (run_dir / name).is_file(), name
    expected = [f"seed-{k}.{ext}" for k in range(seeds) for ext in (("csv", "json") if histories else ("json",))]
    assert sorted(p.name for p in (run_dir / "seeds").iterdir()) == sorted(expected)
    for k in range(seeds):
        seed = json.loads((run_dir / "seeds" / f"seed-{k}.json").read_text())
        if histories:  # every curve is a history dict, and the CSV holds each of them
            assert seed["histories"] and all(set(h) >= {"iter_loss", "epochs", "status"} for h in seed["histories"].values())
            curves = {line.split(",")[0] for line in (run_dir / "seeds" / f"seed-{k}.csv").read_text().splitlines()[1:]}
            assert curves == set(seed["histories"])
        else:
            assert not seed.get("histories")
    for fig in figures:
        for ext in ("png", "svg"):
            p = run_dir / "figures" / f"{fig}.{ext}"
            assert p.is_file() and p.stat().st_size > 1000, p
    assert (run_dir / "figures" / f"{figures[0]}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    manifest = json.loads((run_dir / "run.json").read_text())
    for key in ("name", "title", "book_section", "book_script", "status", "elapsed_s", "book", "claims", "config",
                "trainlab_version"):
        assert key in manifest, key
    assert manifest["kind"] == "experiment" and manifest["status"] == "completed" and manifest["name"] == result["name"]
    assert manifest["seeds"] == list(range(seeds)) and manifest["figures"] == figures
    assert result["status"] == "completed" and result["run_dir"] == str(run_dir)
    claims = json.loads((run_dir / "claims.json").read_text())
    assert manifest["claims"] == result["claims"] == {"n": len(claims), "passed": sum(c["passed"] for c in claims)}
    assert result["claim_details"] == claims
    assert all(set(c) == {"name", "passed", "detail", "values"} for c in claims)
    return {c["name"]: c for c in claims}


def _passed(claims, prefix):
    hits = [c for name, c in claims.items() if name.startswith(prefix)]
    assert len(hits) == 1, (prefix, list(claims))
    return hits[0]["passed"]


def test_optimizer_race(tmp_path, capsys):
    result = run_experiment("optimizer-race", out_dir=tmp_path / "race", reduced=True)
    claims = _check_layout(tmp_path / "race", result, 1, ["surface", "gradient", "paths", "distance"])
    assert result["claims"] == {"n": 7, "passed": 7}, [c["detail"] for c in claims.values()]
    out = capsys.readouterr().out
    assert "✓ SGD ends where the reference code ends: ours (-0.350, 0.085)" in out


def test_optimizer_race_in_two_workers_matches_one_process(tmp_path):
    run_experiment("optimizer-race", seeds=2, out_dir=tmp_path / "a", workers=2, progress=False)
    run_experiment("optimizer-race", seeds=2, out_dir=tmp_path / "b", workers=1, progress=False)
    for k in range(2):
        a = (tmp_path / "a" / "seeds" / f"seed-{k}.json").read_text()
        assert a == (tmp_path / "b" / "seeds" / f"seed-{k}.json").read_text()


def test_optimizer_mnist_reduced(tmp_path):
    result = run_experiment("optimizer-mnist", seeds=2, out_dir=tmp_path / "om", reduced=True, progress=False)
    claims = _check_layout(tmp_path / "om", result, 2, ["loss", "test_accuracy"])
    assert _passed(claims, "SGD ends with the highest loss of the four")
    assert "Momentum, AdaGrad, Adam all end below 0.1" in claims  # reported; needs 2000 iterations
    summary = json.loads((tmp_path / "om" / "summary.json").read_text())
    assert summary["optimizers"]["adam"]["test_acc"] > 0.8
    assert len(summary["optimizers"]["sgd"]["smoothed"]["mean"]) == 300


def test_activation_histograms_reduced(tmp_path):
    result = run_experiment("activation-histograms", seeds=1, out_dir=tmp_path / "ah", reduced=True, progress=False)
    claims = _check_layout(tmp_path / "ah", result, 1,
                           ["histograms_sigmoid", "histograms_tanh", "histograms_relu", "mnist_layer_std"],
                           histories=False)
    assert result["claims"]["n"] == 6
    assert all(c["passed"] for c in claims.values()), [c["detail"] for c in claims.values() if not c["passed"]]


def test_init_mnist_reduced(tmp_path):
    result = run_experiment("init-mnist", seeds=1, out_dir=tmp_path / "im", reduced=True, progress=False)
    claims = _check_layout(tmp_path / "im", result, 1, ["loss"])
    assert _passed(claims, "He learns faster than Xavier")
    assert _passed(claims, "Zero init stays symmetric")
    std001 = claims["std 0.01 stays near 2.30 while Xavier and He fall below 0.5"]["values"]["final"]["std=0.01"]
    assert abs(std001 - np.log(10)) < 0.05


def test_batchnorm_reduced(tmp_path):
    result = run_experiment("batchnorm", seeds=1, out_dir=tmp_path / "bn", reduced=True, progress=False)
    claims = _check_layout(tmp_path / "bn", result, 1, ["grid", "single", "final_by_scale"])
    assert _passed(claims, "BN beats no-BN at ≥ 3 of 4 weight scales")
    summary = json.loads((tmp_path / "bn" / "summary.json").read_text())
    assert len(summary["per_scale"]) == 4 and len(summary["per_scale"][0]["bn"]["curve"]["mean"]) == 6
    # one history per (scale, net), its epoch records the train accuracy after update 1, 51, 101, …
    histories = json.loads((tmp_path / "bn" / "seeds" / "seed-0.json").read_text())["histories"]
    scales = np.logspace(0, -4, 4)
    assert list(histories) == [f"w={w:.3g} {net}" for w in scales for net in ("bn", "no-bn")]
    assert list(histories)[2:4] == ["w=0.0464 bn", "w=0.0464 no-bn"]
    for label, h in histories.items():
        assert [r["epoch"] for r in h["epochs"]] == list(range(6))
        assert [r["iteration"] for r in h["epochs"]] == [1 + 3 * e for e in range(6)]  # 300 images / batch 100
        assert h["iter_loss"] == [] and all(0 <= r["train_acc"] <= 1 for r in h["epochs"])
    for d, w in zip(summary["per_scale"], scales):  # the summary's curves are the histories' means
        for net, suffix in (("bn", "bn"), ("plain", "no-bn")):
            curve = [r["train_acc"] for r in histories[f"w={w:.3g} {suffix}"]["epochs"]]
            assert d[net]["curve"]["mean"] == pytest.approx(curve, abs=5e-7)  # mean_band: 6 decimals
            assert d[net]["final"] == curve[-1]


# -- crashes and the command ------------------------------------------------------------------------------
class _Crashing(Experiment):
    name = "crashing"
    title = "raises in run_seed"
    config = {"x": Int(1, "a key", low=0)}
    uses_data = False
    default_seeds = 1

    def run_seed(self, config, seed):
        raise RuntimeError("boom")


class _FailingClaim(Experiment):
    name = "failing-claim"
    title = "one claim that does not hold"
    config = {"x": Int(1, "a key", low=0)}
    uses_data = False
    default_seeds = 1

    def run_seed(self, config, seed):
        return {"v": seed}

    def summarize(self, config, runs):
        return {"n": len(runs)}

    def claims(self, config, summary, runs):
        return [Claim("never", False, "0 is not 1", {"a": 0})]

    def figures(self, config, summary, runs):
        return {}


def test_crash_is_reported_and_a_failed_claim_is_not_a_crash(tmp_path, monkeypatch, capsys):
    fakes = {"crashing": _Crashing(), "failing-claim": _FailingClaim()}
    monkeypatch.setattr(runner, "get", fakes.__getitem__)
    r = run_experiment("crashing", out_dir=tmp_path / "c")
    assert r["status"] == "crashed" and "boom" in r["error"]
    assert json.loads((tmp_path / "c" / "run.json").read_text())["status"] == "crashed"
    r = run_experiment("failing-claim", out_dir=tmp_path / "f")
    assert r["status"] == "completed" and r["claims"] == {"n": 1, "passed": 0}
    assert "✗ never: 0 is not 1" in capsys.readouterr().out
    assert json.loads((tmp_path / "f" / "claims.json").read_text())[0]["passed"] is False


def test_cli_bad_name_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "no-such-experiment", "--out", str(tmp_path / "runs")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "no-such-experiment" in err and "optimizer-race" in err and "batchnorm" in err
    assert not (tmp_path / "runs").exists()


def test_cli_bad_set_key_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", "optimizer-race", "--set", "nope=3", "--out", str(tmp_path / "runs")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "'nope'" in err and "lr_sgd" in err
    assert not (tmp_path / "runs").exists()
    with pytest.raises(SystemExit) as exc:
        main(["run", "optimizer-race", "--set", "steps=many", "--out", str(tmp_path / "runs")])
    assert exc.value.code == 2 and "steps" in capsys.readouterr().err


def test_cli_runs_and_exits_0_with_set(tmp_path, capsys):
    assert main(["run", "optimizer-race", "--set", "lr_sgd=0.5", "--out", str(tmp_path / "runs")]) == 0
    cfg = json.loads((tmp_path / "runs" / "optimizer-race" / "run.json").read_text())["config"]
    assert cfg["lr_sgd"] == 0.5
    out = capsys.readouterr().out
    assert "✗ SGD zig-zags" in out  # lr 0.5: y ← 0·y, no zig-zag; reported as failed, exit code still 0
