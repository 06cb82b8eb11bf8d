"""Pinned before the refactor: the pruner each ``--pruner`` name builds, and how stage narrowing
clips to the original range.

Pruners are compared with ones built here from Optuna's public constructor, so every setting
(including Optuna's own defaults such as the median pruner's interval) must match, not only the
two or three named in the docstring. Narrowing: the expected bounds are derived by hand in each
test (span of the top trials ± margin × original span, in log10 space for log parameters, clipped
to the original range; ints rounded outward).
"""

from __future__ import annotations

import math

import optuna
import pytest

from trainlab.search.narrowing import narrow
from trainlab.search.space import Param
from trainlab.search.study import make_pruner


def _same_pruner(got, expected) -> None:
    assert type(got) is type(expected)
    assert vars(got) == vars(expected)


def test_none_builds_the_nop_pruner():
    _same_pruner(make_pruner("none", 50), optuna.pruners.NopPruner())


@pytest.mark.parametrize("epochs, first", [(50, 5), (25, 2), (9, 1)])
def test_median_starts_after_5_trials_and_warms_up_a_tenth_of_the_epochs(epochs, first):
    assert first == max(1, epochs // 10)
    _same_pruner(make_pruner("median", epochs),
                 optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=first))


@pytest.mark.parametrize("epochs, first", [(50, 5), (25, 2), (9, 1)])
def test_halving_has_min_resource_a_tenth_of_the_epochs_and_reduction_3(epochs, first):
    _same_pruner(make_pruner("halving", epochs),
                 optuna.pruners.SuccessiveHalvingPruner(min_resource=first, reduction_factor=3))


def test_hyperband_for_50_epochs_is_min_5_max_50_reduction_4():
    pruner = make_pruner("hyperband", 50)
    _same_pruner(pruner, optuna.pruners.HyperbandPruner(min_resource=5, max_resource=50, reduction_factor=4))
    # the docstring's "two brackets": floor(log_4(50 / 5)) + 1
    assert math.floor(math.log(50 / 5, 4)) + 1 == 2


def test_hyperband_max_resource_stays_above_the_first_rung():
    # epochs // 10 == 0 → first rung 1, and max_resource is kept > min_resource
    _same_pruner(make_pruner("hyperband", 1),
                 optuna.pruners.HyperbandPruner(min_resource=1, max_resource=2, reduction_factor=4))


# -- narrowing ------------------------------------------------------------------------------------------
ORIGINAL = {
    "lr": Param("lr", "log", 1e-6, 1e-2),                 # log10 span 4
    "dropout": Param("dropout", "uniform", 0.0, 0.5),      # span 0.5
    "batch_size": Param("batch_size", "int", 16, 256),     # span 240
    "optimizer": Param("optimizer", "choice", choices=("sgd", "momentum", "adagrad", "adam")),
}


def _results(top_a: dict, top_b: dict, rest: list[dict]) -> list[dict]:
    """Two top trials (values 0.9, 0.8) and lower ones whose parameters must not count."""
    out = [{"number": 3, "value": 0.9, "params": top_a}, {"number": 7, "value": 0.8, "params": top_b}]
    out += [{"number": 10 + i, "value": 0.1, "params": p} for i, p in enumerate(rest)]
    return out


def test_narrowing_clips_at_the_low_bound_of_the_original_range():
    far = {"lr": 1e-2, "dropout": 0.5, "batch_size": 256, "optimizer": "sgd"}
    results = _results({"lr": 10 ** -5.8, "dropout": 0.02, "batch_size": 17, "optimizer": "adagrad"},
                       {"lr": 1e-5, "dropout": 0.1, "batch_size": 40, "optimizer": "momentum"},
                       [far, far])
    space, top = narrow(ORIGINAL, ORIGINAL, results, fraction=0.5, margin=0.1)
    assert top == [3, 7]
    # lr: log10 span [-5.8, -5] ± 0.4 → [-6.2, -4.6], clipped to -6: exactly the original 1e-6
    assert space["lr"].type == "log" and space["lr"].log
    assert space["lr"].low == 1e-6
    assert space["lr"].high == pytest.approx(10 ** -4.6, rel=1e-12)
    # dropout: [0.02, 0.1] ± 0.05 → [-0.03, 0.15], clipped to 0.0
    assert space["dropout"].type == "uniform"
    assert space["dropout"].low == 0.0 and space["dropout"].high == pytest.approx(0.15, rel=1e-12)
    # batch_size: [17, 40] ± 24 → [-7, 64], clipped to 16
    assert (space["batch_size"].type, space["batch_size"].low, space["batch_size"].high) == ("int", 16, 64)
    # choices: those of the top trials, in the original order (not the trials' order)
    assert space["optimizer"].choices == ("momentum", "adagrad")


def test_narrowing_clips_at_the_high_bound_of_the_original_range():
    far = {"lr": 1e-6, "dropout": 0.0, "batch_size": 16, "optimizer": "momentum"}
    results = _results({"lr": 10 ** -2.1, "dropout": 0.48, "batch_size": 255, "optimizer": "adam"},
                       {"lr": 1e-3, "dropout": 0.3, "batch_size": 200, "optimizer": "sgd"},
                       [far, far])
    space, top = narrow(ORIGINAL, ORIGINAL, results, fraction=0.5, margin=0.1)
    assert top == [3, 7]
    # lr: [-3, -2.1] ± 0.4 → [-3.4, -1.7], clipped to -2: exactly the original 1e-2
    assert space["lr"].low == pytest.approx(10 ** -3.4, rel=1e-12)
    assert space["lr"].high == 1e-2
    # dropout: [0.3, 0.48] ± 0.05 → [0.25, 0.53], clipped to 0.5
    assert space["dropout"].low == pytest.approx(0.25, rel=1e-12) and space["dropout"].high == 0.5
    # batch_size: [200, 255] ± 24 → [176, 279], clipped to 256
    assert (space["batch_size"].low, space["batch_size"].high) == (176, 256)
    assert space["optimizer"].choices == ("sgd", "adam")


def test_int_bounds_are_rounded_outward_and_clipped():
    results = _results({"batch_size": 17}, {"batch_size": 40}, [])
    space, _ = narrow({"batch_size": ORIGINAL["batch_size"]}, {"batch_size": ORIGINAL["batch_size"]}, results,
                      fraction=0.5, margin=0.01)
    # [17, 40] ± 2.4 → [14.6, 42.4]: low clipped to 16, high rounded up to 43
    assert (space["batch_size"].low, space["batch_size"].high) == (16, 43)
    results = _results({"batch_size": 200}, {"batch_size": 255}, [])
    space, _ = narrow({"batch_size": ORIGINAL["batch_size"]}, {"batch_size": ORIGINAL["batch_size"]}, results,
                      fraction=0.5, margin=0.01)
    # [200, 255] ± 2.4 → [197.6, 257.4]: low rounded down to 197, high clipped to 256
    assert (space["batch_size"].low, space["batch_size"].high) == (197, 256)


def test_a_later_stage_is_clipped_to_the_original_range_not_the_current_one():
    """Stage 3 from a narrowed stage-2 space: the margin is a fraction of the ORIGINAL span and the
    clip is to the ORIGINAL range, so a range can grow back toward the original bounds."""
    current = {"dropout": Param("dropout", "uniform", 0.2, 0.3)}
    results = _results({"dropout": 0.21}, {"dropout": 0.29}, [])
    space, _ = narrow(current, {"dropout": ORIGINAL["dropout"]}, results, fraction=0.5, margin=0.1)
    # [0.21, 0.29] ± 0.05 (0.1 × 0.5) → [0.16, 0.34]: wider than the current [0.2, 0.3]
    assert space["dropout"].low == pytest.approx(0.16, rel=1e-12)
    assert space["dropout"].high == pytest.approx(0.34, rel=1e-12)
