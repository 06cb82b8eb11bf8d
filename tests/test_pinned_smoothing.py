"""Pinned before the refactor: ``smoothed_summary`` (the "final" and "at" numbers of optimizer-mnist
and init-mnist) on curves whose first and last windows differ.

* "final" is, per seed, the mean of the LAST ``window`` points of the book-smoothed curve, then the
  mean over seeds (not the first window, not the raw curve, not a window of another length);
* "at" holds the mean curve (over seeds) at the requested iterations, rounded to 6 decimals like
  every curve of the summary, and leaves out iterations past the end.

Expected values: a step series (constant before and after the step, so the smoothed value far from
the step equals the constant: the normalised window sums to 1), and a series with a slope and a
zig-zag, where the expected number is computed here from ``smooth_curve`` (whose reflection and
window tests/test_experiments_a.py checks by hand) and a plain mean of the last ``window`` points.
"""

from __future__ import annotations

import numpy as np
import pytest

from trainlab.curves import smooth_curve
from trainlab.experiments.optimizer_mnist import smoothed_summary


def _runs(name: str, *series) -> list[dict]:
    return [{"histories": {name: {"iter_loss": list(map(float, s))}}} for s in series]


def test_final_is_the_mean_of_the_last_window_of_the_smoothed_curve_over_seeds():
    # seed 0: 3.0 for 60 iterations, then 1.0; seed 1: 5.0, then 2.0; 120 iterations, window 20
    a = [3.0] * 60 + [1.0] * 60
    b = [5.0] * 60 + [2.0] * 60
    out = smoothed_summary(_runs("sgd", a, b), ["sgd"], window=20, at=(0, 10))["sgd"]
    # the last 20 smoothed points lie 40+ iterations after the step: exactly the constants
    assert out["final_per_seed"] == [pytest.approx(1.0, abs=1e-12), pytest.approx(2.0, abs=1e-12)]
    assert out["final"] == pytest.approx(1.5, abs=1e-12)
    # the first window (3.0 and 5.0, mean 4.0) is what a window taken from the wrong end gives
    assert out["at"] == {"0": 4.0, "10": 4.0}


def test_final_uses_the_smoothed_curve_not_the_raw_one():
    i = np.arange(200, dtype=float)
    a = 2.0 - 0.005 * i + 0.3 * (-1.0) ** i                # a slope and a zig-zag
    b = 1.5 - 0.004 * i + 0.2 * np.cos(0.7 * i) + 0.1 * (i % 3)
    window = 30
    out = smoothed_summary(_runs("adam", a, b), ["adam"], window=window, at=())["adam"]
    sa, sb = smooth_curve(a), smooth_curve(b)
    expected_a = sum(sa[-window:]) / window
    expected_b = sum(sb[-window:]) / window
    assert out["final_per_seed"] == [pytest.approx(expected_a, rel=1e-12), pytest.approx(expected_b, rel=1e-12)]
    assert out["final"] == pytest.approx((expected_a + expected_b) / 2, rel=1e-12)
    # the three plausible wrong answers are all far from it
    raw = (np.mean(a[-window:]) + np.mean(b[-window:])) / 2
    first = (np.mean(sa[:window]) + np.mean(sb[:window])) / 2
    other_window = (np.mean(sa[-100:]) + np.mean(sb[-100:])) / 2
    for wrong in (raw, first, other_window):
        assert abs(out["final"] - wrong) > 1e-3


def test_at_picks_the_mean_curve_and_skips_iterations_past_the_end():
    i = np.arange(150, dtype=float)
    a = 3.0 * np.exp(-i / 40) + 0.2 * (-1.0) ** i
    b = 2.0 * np.exp(-i / 25) + 0.1 * np.sin(i)
    out = smoothed_summary(_runs("momentum", a, b), ["momentum"], window=10, at=(0, 37, 100, 149, 150, 500))
    mean = (smooth_curve(a) + smooth_curve(b)) / 2
    assert list(out["momentum"]["at"]) == ["0", "37", "100", "149"]
    for k in (0, 37, 100, 149):
        assert out["momentum"]["at"][str(k)] == np.round(mean[k], 6), k
    # the band the "at" values come from: mean, min and max over seeds, 6 decimals
    band = out["momentum"]["smoothed"]
    assert band["n"] == 2 and len(band["mean"]) == 150
    assert band["lo"][37] == np.round(min(smooth_curve(a)[37], smooth_curve(b)[37]), 6)
    assert band["hi"][37] == np.round(max(smooth_curve(a)[37], smooth_curve(b)[37]), 6)


def test_each_name_gets_its_own_curve():
    a = [1.0] * 40
    b = [2.0] * 40
    runs = [{"histories": {"sgd": {"iter_loss": a}, "adam": {"iter_loss": b}}}]
    out = smoothed_summary(runs, ["sgd", "adam"], window=5, at=(0,))
    assert out["sgd"]["final"] == pytest.approx(1.0, abs=1e-12) and out["adam"]["final"] == pytest.approx(2.0, abs=1e-12)
    assert out["sgd"]["at"] == {"0": 1.0} and out["adam"]["at"] == {"0": 2.0}
