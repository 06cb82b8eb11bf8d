"""The experiments of the training instruments — schedules, early-stopping, diagnostics — run small.

Which claims are asserted, and why the others are not:
* schedules at its reduced size (400 images, 3 epochs: 24 updates of batch 50) is limited by progress,
  not noise, so only the control holds (constant η below cosine at η₀ = 0.1); "every decay beats
  constant η" needs the noise-limited regime, which 4,000 images × 4 epochs reach: that size runs too
  (2 seeds, seconds) and those claims are asserted there. "Warm-up + cosine lowest" is only reported:
  for Momentum it is a margin of ~0.005 at full size.
* early-stopping reduced (100 epochs, patience 5, 2 seeds): it stops early in every seed, weight decay
  narrows the gap and the unregularised net on all 300 images is best; "saves ≥ 25 % of the epochs"
  needs the full 201 epochs (the loss minimum is at epoch ~70–120 either way).
* diagnostics reduced (400 images, 2 epochs): every claim about activations and gradients holds, since
  they are properties of the initialisation that a few updates do not change; "the nets whose gradients
  flow learn (≥ 0.85)" needs the full 5 epochs on 10,000 images.

Besides the claims, each run's record is checked against its histories: the curves the summary and
the claims are made of are those of seeds/seed-K.json.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from test_experiments_a import _check_layout, _passed
from trainlab.experiments.runner import run_experiment


def _seed(run_dir, k=0) -> dict:
    return json.loads((run_dir / "seeds" / f"seed-{k}.json").read_text())


def _summary(run_dir) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


# -- schedules --------------------------------------------------------------------------------------
def test_schedules_reduced(tmp_path):
    run_dir = tmp_path / "sched"
    result = run_experiment("schedules", seeds=1, out_dir=run_dir, reduced=True, progress=False)
    claims = _check_layout(run_dir, result, 1, ["curves", "final_val_loss"])
    assert result["claims"]["n"] == 5
    assert _passed(claims, "control, SGD at η₀ = 0.1: constant η ends below cosine")
    histories = _seed(run_dir)["histories"]
    assert list(histories) == [f"{o}-{s}" for o in ("sgd", "momentum") for s in
                               ("constant", "step", "cosine", "warmup-cosine")] + ["sgd-lr0.1-constant", "sgd-lr0.1-cosine"]
    per_epoch = 8  # 400 images, batch 50
    for label, h in histories.items():
        assert len(h["iter_loss"]) == 3 * per_epoch and [r["epoch"] for r in h["epochs"]] == [0, 1, 2, 3]
    lr = {label: [r["lr"] for r in h["epochs"]] for label, h in histories.items()}
    assert lr["sgd-constant"] == [0.5] * 4
    assert lr["momentum-step"] == [0.05, 0.05, 0.05, pytest.approx(0.005, rel=1e-12)]  # ×0.1 after 2 epochs
    # cosine over all 24 updates: the last update (k = 23) runs at η₀(1 + cos(23π/24))/2
    assert lr["sgd-cosine"][-1] == pytest.approx(0.25 * (1 + math.cos(23 * math.pi / 24)), rel=1e-9)
    assert lr["sgd-warmup-cosine"][:2] == [0.05, pytest.approx(0.5 * (0.1 + 0.9 * 7 / 8), rel=1e-9)]  # warm-up
    s = _summary(run_dir)["variants"]
    for label, h in histories.items():
        assert s[label]["final_val_loss"]["values"] == [h["epochs"][-1]["val_loss"]]


@pytest.mark.parametrize("name", ["schedules", "early-stopping", "diagnostics"])
def test_the_report_says_what_each_shows_and_how(tmp_path, name):
    import html
    import sys

    from trainlab.experiments import get
    from trainlab.report import build_html

    exp = get(name)
    run_experiment(name, seeds=1, out_dir=tmp_path / name, reduced=True, progress=False,
                   overrides={"epochs": 2, **({"step_epochs": 1} if name == "schedules" else {}),
                              **({"patience": 1} if name == "early-stopping" else {})})
    manifest = json.loads((tmp_path / name / "run.json").read_text())
    doc = sys.modules[type(exp).__module__].__doc__
    assert manifest["shows"] == exp.shows and manifest["description"].splitlines()[0] == doc.splitlines()[0]
    page = build_html(tmp_path)
    assert f'<p class="shows">Shows: {html.escape(exp.shows)}</p>' in page
    for line in manifest["description"].splitlines():
        assert html.escape(line) in page


def test_schedules_decay_beats_constant_once_noise_limits(tmp_path):
    run_dir = tmp_path / "sched-mid"
    result = run_experiment("schedules", seeds=2, out_dir=run_dir, reduced=True, progress=False,
                            overrides={"train_size": 4000, "val_size": 2000, "epochs": 4, "step_epochs": 2,
                                       "eval_samples": 1000})
    claims = {c["name"]: c for c in result["claim_details"]}
    for prefix in ("SGD, η₀ = 0.5: every decaying schedule ends below constant η",
                   "Momentum, η₀ = 0.05: every decaying schedule ends below constant η",
                   "control, SGD at η₀ = 0.1"):
        assert _passed(claims, prefix), [c["detail"] for c in claims.values()]


# -- early stopping -----------------------------------------------------------------------------------
def test_early_stopping_reduced(tmp_path):
    run_dir = tmp_path / "es"
    result = run_experiment("early-stopping", seeds=2, out_dir=run_dir, reduced=True, progress=False)
    claims = _check_layout(run_dir, result, 2, ["curves", "test_accuracy"])
    assert result["claims"]["n"] == 5
    assert _passed(claims, "early stopping stops before the last epoch in every seed")
    assert _passed(claims, "weight decay λ=0.1 narrows the train–test gap")
    assert _passed(claims, "the unregularised net on all 300 images has the best test accuracy")
    assert "early stopping saves at least 25% of the epochs (mean over seeds)" in claims  # reported
    summary = _summary(run_dir)["variants"]
    for k in range(2):
        h = _seed(run_dir, k)["histories"]
        assert list(h) == ["none", "wd=0.1", "early-stop", "none-240"]
        es = h["early-stop"]
        assert "val_loss" in es["epochs"][0] and "val_loss" not in h["none"]["epochs"][0]  # only it holds out
        assert not any(k.startswith("test_") for k in es["epochs"][0])  # reduced: no test curve at all
        stopped, restored = es["stopped_epoch"], es["restored_epoch"]
        assert stopped < 100 and len(es["epochs"]) == stopped + 1
        val = [r["val_loss"] for r in es["epochs"]]
        assert restored == int(np.argmin(val[1:])) + 1 and stopped - restored == 5  # patience 5, min_delta 0
        assert summary["early-stop"]["stopped_epoch"][k] == stopped
        assert len(h["none"]["epochs"]) == 101 and h["none"]["stopped_epoch"] is None


# -- diagnostics ---------------------------------------------------------------------------------------
def test_diagnostics_reduced(tmp_path):
    run_dir = tmp_path / "diag"
    result = run_experiment("diagnostics", seeds=1, out_dir=run_dir, reduced=True, progress=False)
    claims = _check_layout(run_dir, result, 1, ["gradients", "activations", "histograms"])
    assert result["claims"]["n"] == 8
    learning = "the nets whose gradients vanish do not learn in 2 epochs, those whose gradients flow do"
    assert learning in claims  # reported: learning needs the full size
    failed = [c["detail"] for name, c in claims.items() if name != learning and not c["passed"]]
    assert not failed, failed
    histories = _seed(run_dir)["histories"]
    assert list(histories) == ["sigmoid-std1", "sigmoid-std0.01", "sigmoid-xavier", "sigmoid-xavier-bn", "relu-he",
                               "relu-std0.01"]
    summary = _summary(run_dir)
    for label, h in histories.items():
        d = h["diagnostics"]
        assert d["probe_samples"] == 200 and list(d["histograms"]) == ["0", "2"]
        assert d["hidden"] == ["h1", "h2", "h3", "h4", "h5"] and d["affine"][-1] == "W6"
        first = h["epochs"][1]
        ratio = first["grad_norm.W1"] / first["grad_norm.W5"] if first["grad_norm.W5"] > 0 else None
        assert summary["variants"][label]["grad_ratio_first"] == [ratio]
        stats = summary["variants"][label]["stats"]
        assert stats["act_std"]["mean"][0] == [r["act_std.h1"] for r in h["epochs"]]
        assert stats["grad_norm"]["mean"][5][0] is None  # epoch 0: no update yet, not NaN
        assert ("dead" in stats) == label.startswith("relu") and ("saturated" in stats) == label.startswith("sigmoid")
