"""Every experiment's declared configuration keys, table-driven from the declarations themselves.

For each key of each experiment, bad values are generated from its :class:`Key` (wrong type, just
below ``low``, just above ``high``, an unknown choice, an empty / too short / too long list, a
repeated item): ``resolve_config`` must refuse each with a ConfigError whose field is the key and
whose message names it. A valid value other than the default, given as ``--set key=JSON``, must be
accepted and land in the configuration. Then the cross-key rules of ``check_config``, each from
the side that is refused.

search: skipped until its configuration is declared (another branch moves it onto the search
machinery); the table then covers it too.
"""

from __future__ import annotations

import json
import math

import pytest

from trainlab.experiments import get, names
from trainlab.experiments.config import resolve_config
from trainlab.experiments.keys import Key
from trainlab.validate import ConfigError

UNDECLARED = "configuration not declared yet: another branch moves the search experiment onto the search machinery"


def declared(name: str) -> bool:
    return all(isinstance(k, Key) for k in get(name).config.values())


def _below(key: Key):
    return key.low if key.low_open else key.low - 1


def _above(key: Key):
    return key.high if key.high_open else key.high + 1


def bad_values(key: Key) -> list[tuple[str, object]]:
    """``(what, value)`` pairs the declaration must refuse."""
    t, out = key.type, []
    if t in ("int", "float"):
        out += [("text", "x"), ("bool", True)]
        out += [("fraction", 1.5)] if t == "int" else [("inf", math.inf), ("nan", math.nan)]
        if key.low is not None:
            out.append(("below low", _below(key)))
        if key.high is not None:
            out.append(("above high", _above(key)))
    elif t == "bool":
        out += [("text", "yes"), ("number", 1)]
    elif t == "str":
        out += [("number", 5), ("list", ["a"])]
    elif t == "choice":
        out += [("unknown choice", "no-such-choice"), ("number", 3)]
    elif t in ("ints", "floats"):
        first, rest = key.default[0], list(key.default[1:])
        out += [("not a list", first), ("empty", []), ("text item", ["x"] + rest)]
        if key.min_len > 1:
            out.append(("too short", key.default[: key.min_len - 1]))
        if key.max_len is not None:
            out.append(("too long", [first] * (key.max_len + 1)))
        if key.low is not None:
            out.append(("item below low", [_below(key)] + rest))
        if key.high is not None:
            out.append(("item above high", [_above(key)] + rest))
        if t == "ints":
            out.append(("fraction item", [1.5] + rest))
    elif t == "choices":
        c = key.choices[0]
        out += [("not a list", c), ("empty", []), ("unknown item", ["no-such-choice"]), ("repeated item", [c, c])]
    elif t == "mapping":
        out += [("not a mapping", ["x"]), ("empty", {})]
    elif t == "inits":  # activation-histograms: stds and initialiser names
        out += [("not a list", 1.0), ("empty", []), ("unknown name", ["no-such-init"]), ("zero std", [0.0]),
                ("repeated item", [1.0, 1])]
    else:
        raise AssertionError(f"no bad values for key type {t!r}: teach this test the new type")
    return out


def valid_other(key: Key):
    """A valid value other than the default where the declaration allows one (else the default)."""
    t, d = key.type, key.default
    if t == "int":
        return d + 1 if key.high is None or d + 1 <= key.high else d - 1
    if t == "float":
        return d + (key.high - d) / 2 if key.high is not None else (d * 1.5 if d else 1.0)
    if t == "bool":
        return not d
    if t == "choice":
        return next(c for c in key.choices if c != d)
    if t == "choices":
        return d[:1] if len(d) > 1 else [next(c for c in key.choices if c not in d)]
    if t in ("ints", "floats"):
        if len(d) > key.min_len:
            return d[:-1]
        return d[:-1] + [d[-1] * 1.5 if t == "floats" else d[-1] + 1]
    if t == "inits":
        return d[:-1]
    return d  # str, mapping: no generic other value


def _cases():
    bad, good = [], []
    for name in names():
        if not declared(name):
            mark = pytest.mark.skip(reason=UNDECLARED)
            bad.append(pytest.param(name, None, None, None, marks=mark, id=f"{name}-undeclared"))
            good.append(pytest.param(name, None, marks=mark, id=f"{name}-undeclared"))
            continue
        for key_name, key in get(name).config.items():
            good.append(pytest.param(name, key_name, id=f"{name}-{key_name}"))
            for what, value in bad_values(key):
                bad.append(pytest.param(name, key_name, what, value, id=f"{name}-{key_name}-{what}"))
    return bad, good


BAD, GOOD = _cases()


@pytest.mark.parametrize("name, key, what, value", BAD)
def test_a_bad_value_is_refused_naming_the_key(name, key, what, value):
    with pytest.raises(ConfigError) as exc:
        resolve_config(name, {key: value})
    assert exc.value.field == key, (what, exc.value.field, str(exc.value))
    assert f"'{key}'" in str(exc.value)


@pytest.mark.parametrize("name, key", GOOD)
def test_a_valid_set_passes_and_lands(name, key):
    exp = get(name)
    value = valid_other(exp.config[key])
    config = resolve_config(name, [f"{key}={json.dumps(value)}"])
    assert config[key] == value and json.dumps(config[key]) == json.dumps(exp.config[key].check(key, value))
    untouched = resolve_config(name)
    assert {k: v for k, v in config.items() if k != key} == {k: v for k, v in untouched.items() if k != key}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.skipif(not declared(n), reason=UNDECLARED))
                                  for n in names()])
def test_every_key_at_its_default_as_set_strings_is_the_default_config(name):
    exp = get(name)
    sets = [f"{k}={json.dumps(v)}" for k, v in exp.defaults().items()]
    assert resolve_config(name, sets) == resolve_config(name)
    assert set(resolve_config(name)) == set(exp.config) | ({"data_dir"} if exp.uses_data else set())


# -- cross-key rules (check_config) ----------------------------------------------------------------------
@pytest.mark.parametrize("name, overrides, field", [
    ("batchnorm", {"single_panel_index": 16}, "single_panel_index"),       # == n_scales
    ("batchnorm", {"n_scales": 4, "single_panel_index": 4}, "single_panel_index"),
    ("batchnorm", {"scale_start": -2, "scale_stop": -2}, "n_scales"),        # 16 equal scales
    ("batchnorm", {"train_size": 60_001}, "train_size"),                    # MNIST has 60,000
    ("overfitting", {"weight_decays": [0.1, 0.2]}, "weight_decays"),       # no baseline λ = 0
    ("overfitting", {"weight_decays": [0.0, 0.0]}, "weight_decays"),       # repeated
    ("overfitting", {"weight_decays": [0.05, 0.0]}, "weight_decays"),      # the claims' λ would be 0
    ("overfitting", {"train_size": 60_001}, "train_size"),
    ("dropout", {"ratios": [0.2, 0.2]}, "ratios"),
    ("dropout", {"train_size": 60_001}, "train_size"),
    ("ensemble", {"train_size": 60_001}, "train_size"),
    ("activation-histograms", {"he_ratio_range": [2.0, 0.5]}, "he_ratio_range"),
    ("activation-histograms", {"he_ratio_range": [1.0, 1.0]}, "he_ratio_range"),
    ("activation-histograms", {"mnist_samples": 60_001}, "mnist_samples"),
    ("schedules", {"train_size": 55_001}, "val_size"),                       # + 5000 validation images > 60,000
    ("schedules", {"step_epochs": 5}, "step_epochs"),                         # == epochs: never decays
    ("schedules", {"epochs": 4, "warmup_epochs": 4}, "warmup_epochs"),
    ("early-stopping", {"val_size": 300}, "val_size"),                         # nothing left to train on
    ("early-stopping", {"train_size": 60_001}, "train_size"),
    ("diagnostics", {"train_size": 59_001}, "val_size"),
])
def test_cross_key_rules_refuse(name, overrides, field):
    with pytest.raises(ConfigError) as exc:
        resolve_config(name, overrides)
    assert exc.value.field == field and field in str(exc.value)


@pytest.mark.parametrize("name, overrides", [
    ("batchnorm", {"single_panel_index": 15}),
    ("batchnorm", {"n_scales": 1, "single_panel_index": 0, "scale_start": -2, "scale_stop": -2}),
    ("batchnorm", {"train_size": 60_000}),
    ("overfitting", {"weight_decays": [0.1, 0.0]}),   # 0.1 is run: the claims use it
    ("overfitting", {"weight_decays": [0.0, 0.05]}),
    ("dropout", {"ratios": [0.5]}),
    ("activation-histograms", {"he_ratio_range": [0.9, 1.1], "mnist_samples": 60_000}),
    ("schedules", {"train_size": 55_000, "step_epochs": 4, "warmup_epochs": 4}),
    ("early-stopping", {"val_size": 299}),
    ("diagnostics", {"train_size": 59_000}),
])
def test_cross_key_rules_accept_the_other_side(name, overrides):
    config = resolve_config(name, overrides)
    assert all(config[k] == v for k, v in overrides.items())
