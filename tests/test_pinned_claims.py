"""Pinned before the refactor: each experiment's ``claims(config, summary, runs)`` on both sides of
every threshold, on summaries written here by hand (nothing is trained).

Each summary has the shape the experiment's ``summarize()`` returns, with only the numbers the
claims read made meaningful. For every experiment a baseline summary makes every claim hold; each
case then moves one number just across (or exactly onto) one threshold and checks that exactly that
claim flips — or stays, for the side that still holds — while every other claim keeps holding.
Thresholds that are configuration keys are read from the experiment's declared defaults; the ones
written into a claim (0.99, 0.75, 0.3, "more than half", ±0.01 around 0.5) are taken from the
claim's own text.
"""

from __future__ import annotations

import copy
import json
import math

import pytest

from trainlab.experiments import get

TINY = 1e-9


def declared(exp) -> dict:
    """The experiment's declared configuration: each key's default."""
    return copy.deepcopy(exp.defaults())


def verdicts(exp, config: dict, summary: dict, seeds: int = 1) -> dict[str, bool]:
    claims = exp.claims(config, summary, [{} for _ in range(seeds)])
    names = [c.name for c in claims]
    assert len(set(names)) == len(names), names
    for c in claims:  # what the run record writes: strict JSON, a detail in words
        assert isinstance(c.detail, str) and c.detail
        json.dumps(c.to_dict(), allow_nan=False)
    return {c.name: c.to_dict()["passed"] for c in claims}


def check(exp, config, summary, claim: str, passed: bool, seeds: int = 1) -> None:
    v = verdicts(exp, config, summary, seeds)
    assert claim in v, (claim, list(v))
    assert v[claim] is passed, (claim, v[claim])
    others = {name: p for name, p in v.items() if name != claim}
    assert all(others.values()), others


def stats(value: float, spread: float = 0.0) -> dict:
    """``final_stats`` of one seed (or a spread around ``value``)."""
    return {"mean": value, "std": spread, "min": value - spread, "max": value + spread,
            "values": [value]}


def band(values: list[float]) -> dict:
    return {"mean": list(values), "lo": list(values), "hi": list(values), "std": [0.0] * len(values), "n": 1}


# == optimizer-race =====================================================================================
RACE = get("optimizer-race")
RACE_LABELS = {"sgd": "SGD", "momentum": "Momentum", "adagrad": "AdaGrad", "adam": "Adam", "nesterov": "Nesterov"}


def race_summary(config: dict) -> dict:
    out = {}
    for name in config["optimizers"]:
        final = list(RACE.reference.get(name, (0.5, -0.5)))
        out[name] = {"lr": config[f"lr_{name}"], "final": final, "first_step": [-6.0, 1.0],
                     "distance_to_minimum": math.hypot(*final), "final_f": final[0] ** 2 / 20 + final[1] ** 2,
                     "y_sign_changes": 0, "steps": config["steps"], "path_length": 10.0}
    out["sgd"]["y_sign_changes"] = config["steps"] // 2 + 1
    return {"optimizers": out}


def race_reference_claim(name: str) -> str:
    return f"{RACE_LABELS[name]} ends where the reference code ends"


def test_race_baseline_every_claim_holds():
    config = declared(RACE)
    v = verdicts(RACE, config, race_summary(config))
    assert list(v) == [race_reference_claim(n) for n in ("sgd", "momentum", "adagrad", "adam", "nesterov")] + [
        "SGD zig-zags", "AdaGrad ends closest to the minimum of the four"]
    assert all(v.values())


#: reference coordinates written with at most ``decimals`` (3) decimals; Nesterov's y, -0.0007, has four
ON_GRID = [(n, a) for n in ("sgd", "momentum", "adagrad", "adam", "nesterov") for a in (0, 1) if (n, a) != ("nesterov", 1)]


@pytest.mark.parametrize("name, axis", ON_GRID)
@pytest.mark.parametrize("units, passed", [(0.4, True), (-0.4, True), (0.6, False), (-0.6, False)])
def test_race_final_position_within_half_a_unit_of_the_last_decimal(name, axis, units, passed):
    config = declared(RACE)
    assert config["decimals"] == 3 and round(RACE.reference[name][axis], 3) == RACE.reference[name][axis]
    s = race_summary(config)
    s["optimizers"][name]["final"][axis] += units * 10 ** -config["decimals"]
    check(RACE, config, s, race_reference_claim(name), passed)


@pytest.mark.parametrize("y, passed", [
    (-0.0003, True),    # within half a unit (0.0005) of -0.0007
    (-0.0001, False),   # 0.0006 away, and rounds to -0.0 instead of -0.001
    (-0.0013, True),    # 0.0006 away, but rounds to the reference's -0.001: "equal to 3 decimals"
    (-0.0016, False),   # rounds to -0.002
])
def test_race_nesterov_y_off_the_decimal_grid_passes_if_it_rounds_alike_or_is_within_half_a_unit(y, passed):
    config = declared(RACE)
    assert RACE.reference["nesterov"][1] == -0.0007 and config["decimals"] == 3
    s = race_summary(config)
    s["optimizers"]["nesterov"]["final"][1] = y
    check(RACE, config, s, race_reference_claim("nesterov"), passed)


@pytest.mark.parametrize("flips, passed", [(16, True), (15, False), (0, False)])
def test_race_sgd_zig_zags_more_than_half_the_steps(flips, passed):
    config = declared(RACE)
    assert config["steps"] == 30  # flips chosen around 30 / 2
    s = race_summary(config)
    s["optimizers"]["sgd"]["y_sign_changes"] = flips
    check(RACE, config, s, "SGD zig-zags", passed)


@pytest.mark.parametrize("adam_distance, passed", [(0.121, True), (0.119, False)])
def test_race_adagrad_closest_of_the_four(adam_distance, passed):
    config = declared(RACE)
    s = race_summary(config)
    s["optimizers"]["adagrad"]["distance_to_minimum"] = 0.12
    s["optimizers"]["adam"]["distance_to_minimum"] = adam_distance
    check(RACE, config, s, "AdaGrad ends closest to the minimum of the four", passed)


def test_race_reference_claims_only_at_the_reference_learning_rates():
    config = declared(RACE)
    config["lr_sgd"] = config["lr_sgd"] / 2
    config["lr_nesterov"] = 0.2
    v = verdicts(RACE, config, race_summary(config))
    assert race_reference_claim("sgd") not in v and race_reference_claim("nesterov") not in v
    assert race_reference_claim("momentum") in v and "SGD zig-zags" in v
    config = declared(RACE)
    config["optimizers"] = ["sgd", "momentum", "adam"]
    assert "AdaGrad ends closest to the minimum of the four" not in verdicts(RACE, config, race_summary(config))


# == optimizer-mnist ===================================================================================
OM = get("optimizer-mnist")
OM_FINAL = {"sgd": 0.3, "momentum": 0.05, "adagrad": 0.03, "adam": 0.04, "rmsprop": 0.06, "nesterov": 0.05}
OM_AT500 = {"sgd": 0.6, "momentum": 0.12, "adagrad": 0.05, "adam": 0.08, "rmsprop": 0.1, "nesterov": 0.11}
OM_LABELS = {"sgd": "SGD", "momentum": "Momentum", "adagrad": "AdaGrad", "adam": "Adam"}


def om_summary(config: dict) -> dict:
    per = {}
    for name in config["optimizers"]:
        f, a = OM_FINAL[name], OM_AT500[name]
        per[name] = {"smoothed": band([2.3, a, f]), "final_per_seed": [f], "final": f,
                     "at": {"0": 2.3, "100": 1.0, "500": a, "1000": f, "1900": f},
                     "test_acc_per_seed": [0.95], "test_acc": 0.95, "lr": config[f"lr_{name}"]}
    return {"optimizers": per, "seeds": 1}


OM_HIGHEST = "SGD ends with the highest loss of the four"
OM_SLOWEST = "SGD is the slowest: highest smoothed loss at iteration 500"


def om_below(config: dict) -> str:
    return f"Momentum, AdaGrad, Adam all end below {float(config['others_below'])}"


def test_optimizer_mnist_baseline_every_claim_holds():
    config = declared(OM)
    v = verdicts(OM, config, om_summary(config))
    assert list(v) == [OM_HIGHEST, om_below(config), OM_SLOWEST] and all(v.values())


def _om_set(s, key, **values):
    for name, value in values.items():
        if key == "final":
            s["optimizers"][name]["final"] = value
        else:
            s["optimizers"][name]["at"]["500"] = value


@pytest.mark.parametrize("finals, passed", [
    ({"sgd": 0.05 + TINY}, True),           # just above the highest other (momentum 0.05)
    ({"sgd": 0.05}, False),                 # a tie is not "highest"
    ({"sgd": 0.08, "adagrad": 0.09}, False),
    ({"rmsprop": 1.0, "nesterov": 1.0}, True),  # only the book's four count
])
def test_optimizer_mnist_sgd_ends_highest(finals, passed):
    config = declared(OM)
    s = om_summary(config)
    _om_set(s, "final", **finals)
    check(OM, config, s, OM_HIGHEST, passed)


@pytest.mark.parametrize("who", ["momentum", "adagrad", "adam"])
@pytest.mark.parametrize("offset, passed", [(-TINY, True), (0.0, False), (TINY, False)])
def test_optimizer_mnist_others_end_below_the_threshold(who, offset, passed):
    config = declared(OM)
    s = om_summary(config)
    _om_set(s, "final", **{who: float(config["others_below"]) + offset})
    check(OM, config, s, om_below(config), passed)


def test_optimizer_mnist_rmsprop_and_nesterov_are_not_in_the_below_claim():
    config = declared(OM)
    s = om_summary(config)
    _om_set(s, "final", rmsprop=0.2, nesterov=0.2)
    assert all(verdicts(OM, config, s).values())


@pytest.mark.parametrize("at500, passed", [
    ({"adam": 0.6 - TINY}, True),
    ({"adam": 0.6}, False),
    ({"momentum": 0.7}, False),
    ({"rmsprop": 0.9, "nesterov": 0.9}, True),  # the extra curves do not count
])
def test_optimizer_mnist_sgd_slowest_at_500(at500, passed):
    config = declared(OM)
    s = om_summary(config)
    _om_set(s, "at", **at500)
    check(OM, config, s, OM_SLOWEST, passed)


def test_optimizer_mnist_claims_that_do_not_apply_are_left_out():
    config = declared(OM)
    s = om_summary(config)
    for name in s["optimizers"]:
        del s["optimizers"][name]["at"]["500"]  # runs of 500 iterations or fewer
    assert list(verdicts(OM, config, s)) == [OM_HIGHEST, om_below(config)]
    config["optimizers"] = ["sgd", "adam"]
    v = verdicts(OM, config, om_summary(config))
    assert list(v) == [OM_HIGHEST, f"Adam all end below {float(config['others_below'])}", OM_SLOWEST]
    config["optimizers"] = ["sgd"]
    assert verdicts(OM, config, om_summary(config)) == {}


# == init-mnist ==========================================================================================
IM = get("init-mnist")
LN10 = math.log(10)
IM_ZERO = "Zero init stays symmetric: all hidden units of a layer remain identical"


def im_summary(config: dict) -> dict:
    k = str(config["compare_at"])

    def entry(final, at_k, diff):
        return {"smoothed": band([2.3, at_k, final]), "final_per_seed": [final], "final": final,
                "at": {"0": 2.3, "100": 2.0, k: at_k, "1000": final, "1900": final}, "max_unit_difference": diff}

    inits = {"std=0.01": entry(LN10, 2.302, 0.02), "xavier": entry(0.3, 1.0, 0.5), "he": entry(0.2, 0.35, 0.6),
             "zeros": entry(2.3, 2.3, 0.0)}
    return {"inits": inits, "seeds": 1, "zeros_max_abs_hidden_weight": 0.0}


def im_stuck(config) -> str:
    return f"std 0.01 stays near 2.30 while Xavier and He fall below {float(config['learned_below'])}"


def im_faster(config) -> str:
    return f"He learns faster than Xavier (lower smoothed loss at iteration {config['compare_at']})"


def test_init_mnist_baseline_every_claim_holds():
    config = declared(IM)
    v = verdicts(IM, config, im_summary(config))
    assert list(v) == [im_stuck(config), im_faster(config), IM_ZERO] and all(v.values())


# 0.99 / 1.01 of the tolerance: close enough to the edges that a centre of 2.30 instead of
# ln 10 = 2.3026 would give other verdicts
@pytest.mark.parametrize("fraction, passed", [(0.99, True), (-0.99, True), (1.01, False), (-1.01, False)])
def test_init_mnist_std001_within_tolerance_of_ln10(fraction, passed):
    config = declared(IM)
    s = im_summary(config)
    s["inits"]["std=0.01"]["final"] = LN10 + fraction * float(config["stuck_tolerance"])
    check(IM, config, s, im_stuck(config), passed)


@pytest.mark.parametrize("who", ["xavier", "he"])
@pytest.mark.parametrize("offset, passed", [(-TINY, True), (0.0, False), (0.1, False)])
def test_init_mnist_xavier_and_he_below_the_threshold(who, offset, passed):
    config = declared(IM)
    s = im_summary(config)
    s["inits"][who]["final"] = float(config["learned_below"]) + offset
    check(IM, config, s, im_stuck(config), passed)


@pytest.mark.parametrize("he_at, passed", [(1.0 - TINY, True), (1.0, False), (1.2, False)])
def test_init_mnist_he_faster_than_xavier(he_at, passed):
    config = declared(IM)
    s = im_summary(config)  # Xavier at compare_at: 1.0
    s["inits"]["he"]["at"][str(config["compare_at"])] = he_at
    check(IM, config, s, im_faster(config), passed)


@pytest.mark.parametrize("difference, passed", [(0.0, True), (1e-12, False)])
def test_init_mnist_zero_init_symmetric(difference, passed):
    config = declared(IM)
    s = im_summary(config)
    s["inits"]["zeros"]["max_unit_difference"] = difference
    check(IM, config, s, IM_ZERO, passed)


def test_init_mnist_claims_that_do_not_apply_are_left_out():
    config = declared(IM)
    s = im_summary(config)
    del s["inits"]["he"]["at"][str(config["compare_at"])]
    assert list(verdicts(IM, config, s)) == [im_stuck(config), IM_ZERO]
    s = im_summary(config)
    del s["inits"]["zeros"]
    assert list(verdicts(IM, config, s)) == [im_stuck(config), im_faster(config)]
    s = im_summary(config)
    del s["inits"]["xavier"]
    assert list(verdicts(IM, config, s)) == [IM_ZERO]


# == batchnorm ==========================================================================================
@pytest.fixture(scope="module")
def batchnorm():
    return get("batchnorm")


def bn_summary(n: int, wins: int) -> dict:
    scales = [10 ** (-4 * i / max(n - 1, 1)) for i in range(n)]
    per = []
    for i, w in enumerate(scales):
        bn, plain = (0.9, 0.1) if i < wins else (0.1, 0.9)
        per.append({"scale": w,
                    "bn": {"curve": band([0.1, bn]), "final": bn, "final_per_seed": [bn]},
                    "plain": {"curve": band([0.1, plain]), "final": plain, "final_per_seed": [plain]},
                    "bn_wins": bn > plain})
    return {"per_scale": per, "bn_wins": wins, "n_scales": n, "seeds": 1}


# 16 (full size) and 4 (reduced), and sizes where rounding down or to nearest would differ from ceil
@pytest.mark.parametrize("n", [16, 4, 5, 3, 6])
@pytest.mark.parametrize("short, passed", [(0, True), (1, False)])
def test_batchnorm_wins_at_ceil_of_the_fraction_of_scales(batchnorm, n, short, passed):
    config = declared(batchnorm)
    need = math.ceil(float(config["win_fraction"]) * n)
    assert {16: 12, 4: 3, 5: 4, 3: 3, 6: 5}[n] == need  # win_fraction 0.75: 12 of 16, 3 of 4, 4 of 5, …
    claims = batchnorm.claims(config, bn_summary(n, need - short), [{}])
    assert [c.name for c in claims] == [f"BN beats no-BN at ≥ {need} of {n} weight scales"]
    assert claims[0].passed is passed
    assert claims[0].values["bn_wins"] == need - short and claims[0].values["needed"] == need
    json.dumps(claims[0].to_dict(), allow_nan=False)


# == overfitting =========================================================================================
OV = get("overfitting")
OV_OVERFITS = "without decay train accuracy reaches ≥ 0.99 (overfits) with a large gap"
OV_SHRINKS = "weight decay shrinks the train–test gap"


def ov_variant(train: float, test: float, gap: float | None = None, max_train: float | None = None) -> dict:
    gap = train - test if gap is None else gap
    return {"epoch": [0, 1, 2], "train_acc": band([0.1, 0.5, train]), "test_acc": band([0.1, 0.4, test]),
            "final_train_acc": stats(train), "final_test_acc": stats(test), "gap": stats(gap),
            "max_train_acc": train if max_train is None else max_train, "test_curve_samples": 2000}


def ov_summary(config: dict, base=None, decayed=None) -> dict:
    lam = config["weight_decays"][-1]
    variants = {OV.key(0.0): base or ov_variant(1.0, 0.75),
                OV.key(lam): decayed or ov_variant(0.9, 0.8, max_train=0.95)}
    return {"seeds": [0], "variants": variants}


def ov_below_one(config) -> str:
    return f"with λ={config['weight_decays'][-1]:g} train accuracy stays below 1.0"


def test_overfitting_baseline_every_claim_holds():
    config = declared(OV)
    v = verdicts(OV, config, ov_summary(config))
    assert list(v) == [OV_OVERFITS, OV_SHRINKS, ov_below_one(config)] and all(v.values())
    assert ov_below_one(config) == "with λ=0.1 train accuracy stays below 1.0"


@pytest.mark.parametrize("train, gap_offset, passed", [
    (0.99, 0.0, True),        # both thresholds met exactly (≥)
    (0.99 - 1e-6, 0.0, False),
    (1.0, -1e-6, False),      # a gap just below large_gap
    (1.0, 0.1, True),
])
def test_overfitting_without_decay_overfits_with_a_large_gap(train, gap_offset, passed):
    config = declared(OV)
    big = float(config["large_gap"])
    s = ov_summary(config, base=ov_variant(train, train - big - gap_offset, gap=big + gap_offset))
    check(OV, config, s, OV_OVERFITS, passed)


@pytest.mark.parametrize("decayed_gap, passed", [(0.25 - TINY, True), (0.25, False), (0.3, False)])
def test_overfitting_decay_shrinks_the_gap(decayed_gap, passed):
    config = declared(OV)
    s = ov_summary(config, base=ov_variant(1.0, 0.75, gap=0.25),
                   decayed=ov_variant(0.9, 0.9 - decayed_gap, gap=decayed_gap, max_train=0.95))
    check(OV, config, s, OV_SHRINKS, passed)


@pytest.mark.parametrize("max_train, passed", [(1.0 - TINY, True), (1.0, False)])
def test_overfitting_decayed_train_accuracy_stays_below_one(max_train, passed):
    config = declared(OV)
    s = ov_summary(config, decayed=ov_variant(0.9, 0.8, max_train=max_train))
    check(OV, config, s, ov_below_one(config), passed)


def test_overfitting_claims_use_the_last_declared_decay_when_0_1_is_not_run():
    config = declared(OV)
    config["weight_decays"] = [0.0, 0.05]
    s = ov_summary(config, decayed=ov_variant(0.9, 0.8, max_train=1.0))
    assert set(s["variants"]) == {"wd=0", "wd=0.05"}
    v = verdicts(OV, config, s)
    assert v == {OV_OVERFITS: True, OV_SHRINKS: True, "with λ=0.05 train accuracy stays below 1.0": False}


# == dropout ================================================================================================
DR = get("dropout")


def dr_keys(config) -> list[str]:
    return [DR.key(r, c) for r in config["ratios"] for c in config["conventions"]]


def dr_summary(config: dict) -> dict:
    variants = {"none": ov_variant(1.0, 0.75)}
    for key in dr_keys(config):
        variants[key] = ov_variant(0.7, 0.6, max_train=0.75)
    return {"seeds": [0], "variants": variants}


DR_CLASSIC = "with dropout p=0.2 classic (the book's code) train accuracy does not reach 1.0"


def test_dropout_baseline_every_claim_holds():
    config = declared(DR)
    assert dr_keys(config) == ["p=0.2 classic", "p=0.2 inverted", "p=0.15 classic", "p=0.15 inverted"]
    v = verdicts(DR, config, dr_summary(config))
    assert list(v) == [f"dropout {k} shrinks the gap" for k in dr_keys(config)] + [DR_CLASSIC]
    assert all(v.values())


@pytest.mark.parametrize("key", ["p=0.2 classic", "p=0.2 inverted", "p=0.15 classic", "p=0.15 inverted"])
@pytest.mark.parametrize("gap, passed", [(0.25 - TINY, True), (0.25, False)])
def test_dropout_each_variant_shrinks_the_gap(key, gap, passed):
    config = declared(DR)
    s = dr_summary(config)  # no dropout: gap 0.25
    s["variants"][key] = ov_variant(0.9, 0.9 - gap, gap=gap, max_train=0.95)
    check(DR, config, s, f"dropout {key} shrinks the gap", passed)


@pytest.mark.parametrize("max_train, passed", [(1.0 - TINY, True), (1.0, False)])
def test_dropout_book_classic_never_reaches_one(max_train, passed):
    config = declared(DR)
    s = dr_summary(config)
    s["variants"]["p=0.2 classic"]["max_train_acc"] = max_train
    check(DR, config, s, DR_CLASSIC, passed)


def test_dropout_only_the_books_variant_is_held_below_one():
    config = declared(DR)
    s = dr_summary(config)
    s["variants"]["p=0.2 inverted"]["max_train_acc"] = 1.0
    assert all(verdicts(DR, config, s).values())
    config["ratios"] = [0.15]
    assert DR_CLASSIC not in verdicts(DR, config, dr_summary(config))


# == ensemble ================================================================================================
EN = get("ensemble")


def en_summary(config: dict, ensemble: float, single: float = 0.75) -> dict:
    n = int(config["n_nets"])
    out = {
        "seeds": [0],
        "single_test_acc": stats(single, spread=0.02),
        "single_train_acc": stats(1.0),
        "ensemble_test_acc": stats(ensemble),
        "ensemble_gain": stats(ensemble - single),
        "dropout_test_acc": stats(0.77),
        "dropout_train_acc": stats(0.95),
        "ensemble_by_size": [single + (ensemble - single) * m / max(n - 1, 1) for m in range(n)],
        "dropout": f"p={config['dropout_ratio']:g} {config['dropout_convention']}, {config['dropout_epochs']} epochs",
        "tables": [{"title": "t", "columns": ["model"], "rows": [["single"]]}],
    }
    return out


@pytest.mark.parametrize("ensemble, passed", [
    (0.75 + TINY, True),
    (0.76, True),           # above the mean single net, not above the best one (0.77): still holds
    (0.75, False),
    (0.74, False),
])
def test_ensemble_beats_the_average_single_net(ensemble, passed):
    config = declared(EN)
    name = f"the {int(config['n_nets'])}-net ensemble beats the average single net on test accuracy"
    assert name == "the 5-net ensemble beats the average single net on test accuracy"
    check(EN, config, en_summary(config, ensemble), name, passed)


# == search ===================================================================================================
SE = get("search")
SE_BEST = "the search's best validation accuracy ≥ 0.75"


def se_names(config) -> tuple[str, str]:
    good = float(config["good_lr"])
    return (f"every trial with lr < {good:g} trails the best by ≥ 0.3",
            f"the good range found is lr {good:g}…1e-2 (the top 5 all have lr ≥ {good:g})")


def se_seed(seed: int, best: float = 0.85, low_max: float | None = 0.2, low_count: int = 10,
            top5_min: float = 2e-3) -> dict:
    return {"seed": seed,
            "best": [{"rank": 1, "trial": 4, "val_acc": best, "lr": 5e-3, "weight_decay": 1e-6}],
            "best_val_acc": best,
            "low_lr": {"count": low_count, "max": low_max, "min": None if low_max is None else 0.05},
            "high_lr": {"count": 5, "max": best, "min": 0.3},
            "top5_min_lr": top5_min, "top5_max_lr": 9e-3}


def se_summary(*per_seed: dict) -> dict:
    return {"seeds": [p["seed"] for p in per_seed], "per_seed": list(per_seed),
            "best_val_acc": sum(p["best_val_acc"] for p in per_seed) / len(per_seed),
            "tables": [{"title": "Best-1", "columns": ["rank"], "rows": [["Best-1"]]}]}


def test_search_baseline_every_claim_holds():
    config = declared(SE)
    v = verdicts(SE, config, se_summary(se_seed(0)))
    assert list(v) == [SE_BEST, *se_names(config)] and all(v.values())
    assert se_names(config)[0] == "every trial with lr < 0.001 trails the best by ≥ 0.3"


@pytest.mark.parametrize("bests, passed", [([0.75], True), ([0.75 - 1e-6], False), ([0.9, 0.74], False),
                                           ([0.8, 0.76], True)])
def test_search_best_validation_accuracy_at_least_075(bests, passed):
    config = declared(SE)
    s = se_summary(*(se_seed(i, best=b, low_max=0.1) for i, b in enumerate(bests)))
    check(SE, config, s, SE_BEST, passed, seeds=len(bests))


@pytest.mark.parametrize("low_max, low_count, passed", [
    (0.85 - 0.31, 10, True),
    (0.85 - 0.29, 10, False),
    (None, 0, False),       # no trial with a small lr: nothing shows that they trail
])
def test_search_small_lr_trials_trail_the_best_by_03(low_max, low_count, passed):
    config = declared(SE)
    s = se_summary(se_seed(0, best=0.85, low_max=low_max, low_count=low_count))
    check(SE, config, s, se_names(config)[0], passed)


@pytest.mark.parametrize("factor, passed", [(1.0, True), (0.999, False)])
def test_search_top5_all_in_the_good_range(factor, passed):
    config = declared(SE)
    s = se_summary(se_seed(0, top5_min=float(config["good_lr"]) * factor))
    check(SE, config, s, se_names(config)[1], passed)


# == activation-histograms ===============================================================================
AH = get("activation-histograms")
AH_NAMES = {
    "pileup": "Sigmoid, std 1: activations pile up at 0 and 1 in every layer",
    "half": "Sigmoid, std 0.01: activations concentrate near 0.5",
    "he": "ReLU, He: the spread stays the same in every layer",
    "small": "ReLU, std 0.01: activations collapse toward 0 with depth",
    "lecun": "ReLU, LeCun (the book's \"Xavier\"): the spread shrinks with depth",
    "mnist": "The same on the real MLP with MNIST input: He keeps the spread, std 0.01 collapses",
}


def _init_key(init) -> str:
    """How ``summarize`` names an init: numbers as floats ('1.0', '0.01'), names as they are."""
    return str(float(init)) if isinstance(init, (int, float)) else str(init)


def ah_summary(config: dict) -> dict:
    depth = int(config["layers"])
    ratio = {"1.0": 0.9, "0.01": 2.5e-5, "lecun_normal": 0.25, "glorot_normal": 0.25, "he_normal": 1.0}
    toy, real = {}, {}
    for act in config["activations"]:
        toy[act], real[act] = {}, {}
        for init in map(_init_key, config["inits"]):
            layers = []
            for _ in range(depth):
                std = 0.02 if (act == "sigmoid" and init == "0.01") else 0.4
                layer = {"std": std, "std_min": std, "std_max": std, "mean": 0.5, "mean_min": 0.5, "mean_max": 0.5}
                if act == "relu":
                    layer.update(frac_zero=0.5, frac_zero_min=0.5, frac_zero_max=0.5)
                else:
                    f = 0.5 if init == "1.0" else 0.0
                    layer.update(frac_near_ends=f, frac_near_ends_min=f, frac_near_ends_max=f)
                layers.append(layer)
            toy[act][init] = {"layers": layers, "std_ratio_last_first": ratio[init]}
            stds = [1.0] * depth
            real[act][init] = {"std": stds, "std_min": stds, "std_max": stds, "std_ratio_last_first": ratio[init]}
    return {"toy": toy, "mnist": real, "seeds": 1}


def test_activation_histograms_baseline_every_claim_holds():
    config = declared(AH)
    assert [_init_key(i) for i in config["inits"]] == ["1.0", "0.01", "lecun_normal", "glorot_normal", "he_normal"]
    v = verdicts(AH, config, ah_summary(config))
    assert list(v) == list(AH_NAMES.values()) and all(v.values())


@pytest.mark.parametrize("offset, passed", [(0.0, True), (-1e-6, False)])
def test_activation_histograms_sigmoid_std1_pile_up(offset, passed):
    config = declared(AH)
    s = ah_summary(config)
    s["toy"]["sigmoid"]["1.0"]["layers"][-1]["frac_near_ends_min"] = float(config["sigmoid_pileup_min"]) + offset
    check(AH, config, s, AH_NAMES["pileup"], passed)


@pytest.mark.parametrize("std_factor, mean, passed", [
    (0.999, 0.5, True), (1.0, 0.5, False),
    (0.5, 0.5 + 0.0099, True), (0.5, 0.5 - 0.0099, True), (0.5, 0.5 + 0.0101, False), (0.5, 0.5 - 0.0101, False),
])
def test_activation_histograms_sigmoid_std001_near_half(std_factor, mean, passed):
    config = declared(AH)
    s = ah_summary(config)
    layer = s["toy"]["sigmoid"]["0.01"]["layers"][2]
    layer["std_max"] = float(config["sigmoid_small_std_max"]) * std_factor
    layer["mean"] = mean
    check(AH, config, s, AH_NAMES["half"], passed)


@pytest.mark.parametrize("where, factor, passed", [(0, 1.0, True), (1, 1.0, True), (0, 0.999, False),
                                                   (1, 1.001, False)])
def test_activation_histograms_relu_he_ratio_in_range(where, factor, passed):
    config = declared(AH)
    s = ah_summary(config)
    s["toy"]["relu"]["he_normal"]["std_ratio_last_first"] = config["he_ratio_range"][where] * factor
    check(AH, config, s, AH_NAMES["he"], passed)


@pytest.mark.parametrize("init, key, name", [("0.01", "small_ratio_max", "small"),
                                             ("lecun_normal", "lecun_ratio_max", "lecun")])
@pytest.mark.parametrize("factor, passed", [(0.999, True), (1.0, False)])
def test_activation_histograms_relu_ratio_below(init, key, name, factor, passed):
    config = declared(AH)
    s = ah_summary(config)
    s["toy"]["relu"][init]["std_ratio_last_first"] = float(config[key]) * factor
    check(AH, config, s, AH_NAMES[name], passed)


@pytest.mark.parametrize("init, value, passed", [
    ("he_normal", ("he_ratio_range", 0, 1.0), True), ("he_normal", ("he_ratio_range", 1, 1.0), True),
    ("he_normal", ("he_ratio_range", 0, 0.999), False), ("he_normal", ("he_ratio_range", 1, 1.001), False),
    ("0.01", ("small_ratio_max", None, 0.999), True), ("0.01", ("small_ratio_max", None, 1.0), False),
])
def test_activation_histograms_real_mlp(init, value, passed):
    config = declared(AH)
    key, index, factor = value
    threshold = config[key][index] if index is not None else config[key]
    s = ah_summary(config)
    s["mnist"]["relu"][init]["std_ratio_last_first"] = float(threshold) * factor
    check(AH, config, s, AH_NAMES["mnist"], passed)
