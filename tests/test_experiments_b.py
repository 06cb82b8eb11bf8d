"""The overfitting, dropout, ensemble and search experiments at reduced size (a few seconds each).

Each experiment runs once through the shared runner (reduced configuration, seed 0) into a
temporary run directory. Which claims are asserted at this size, and why:

- overfitting (50 of 201 epochs): "weight decay shrinks the gap" and "with λ=0.1 train accuracy stays
  below 1.0" hold already. "Without decay train accuracy reaches ≥ 0.99" does NOT: the book's net
  needs ~100 epochs to fit its 300 samples (train ≈ 0.9 at epoch 50), so it is only checked to be
  reported with its numbers.
- dropout (40 of 301 epochs, ratio 0.2 only): every claim holds (dropout slows fitting at once, so
  the gap is smaller from the start, and classic dropout is far from 1.0).
- ensemble (3 nets, 30 epochs): the ensemble beats the mean single net (a margin of several points).
- search (8 trials × 15 of 50 epochs, lr from 10^U(-4,-2)): none of the three claims is asserted —
  the best validation accuracy ≥ 0.75 needs 50 epochs, and a 0.3 lead over every lr < 1e-3 trial
  needs the best trial to be trained to convergence. What holds and is asserted: the ranking, and
  that the best trial has lr ≥ 1e-3 and beats every lr < 1e-3 trial.

The full configurations are pinned to the book's (sizes, lr, epochs, batch, trials, ranges).

Runs go through ``run_experiment`` and write a run record: each variant's curves are history dicts
under seeds/seed-K.json "histories" (overfitting: wd=0, wd=0.1; dropout: none, p=0.2 classic, …;
ensemble: net-K, ensemble, dropout), and summary.json is computed from them.
"""

from __future__ import annotations

import json

import pytest

from trainlab.experiments import get
from trainlab.experiments.keys import Key
from trainlab.experiments.runner import resolve_config, run_experiment

MINE = ("overfitting", "dropout", "ensemble", "search")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    cache = {}

    def run(name):
        if name not in cache:
            result = run_experiment(name, seeds=1, out_dir=out / name, reduced=True, progress=False)
            assert result["status"] == "completed", result.get("error")
            cache[name] = result
        return cache[name]

    return run


def claim(result, start):
    matches = [c for c in result["claim_details"] if c["name"].startswith(start)]
    assert len(matches) == 1, [c["name"] for c in result["claim_details"]]
    return matches[0]


def load(result, name):
    with open(f"{result['run_dir']}/{name}") as f:
        return json.load(f)


# -- the declared configurations are the book's ---------------------------------------------------
def test_full_configurations_are_the_books():
    base = {"train_size": 300, "hidden_sizes": [100] * 6, "lr": 0.01, "batch_size": 100, "sampling": "replacement"}
    assert get("overfitting").defaults().items() >= {**base, "epochs": 201, "weight_decays": [0.0, 0.1]}.items()
    assert get("dropout").defaults().items() >= {**base, "epochs": 301, "ratios": [0.2, 0.15],
                                                 "conventions": ["classic", "inverted"]}.items()
    assert get("ensemble").defaults().items() >= {**base, "epochs": 201, "n_nets": 5, "dropout_ratio": 0.2,
                                                  "dropout_epochs": 301}.items()
    assert get("search").defaults().items() >= {"train_size": 500, "val_fraction": 0.2, "hidden_sizes": [100] * 6,
                                                "batch_size": 100, "epochs": 50, "trials": 100,
                                                "lr_log10": [-6, -2], "weight_decay_log10": [-8, -4]}.items()


@pytest.mark.parametrize("name", MINE)
def test_contract(name):
    exp = get(name)
    assert exp.name == name and exp.title and exp.book_section and exp.book
    assert exp.book_script.endswith(".py") and exp.book_figures and exp.shows and exp.seed_seconds > 0
    assert all(isinstance(k, Key) and k.help for k in exp.config.values())
    assert set(exp.reduced) <= set(exp.config)  # reduced only overrides declared keys
    resolve_config(exp, reduced=True)
    assert exp.default_seeds >= 1


# -- reduced runs -----------------------------------------------------------------------------------
def test_overfitting_reduced(runs):
    r = runs("overfitting")
    assert r["figures"] == ["accuracy"] and r["claims"]["n"] == 3
    assert claim(r, "weight decay shrinks the train–test gap")["passed"]
    assert claim(r, "with λ=0.1 train accuracy stays below 1.0")["passed"]
    over = claim(r, "without decay train accuracy reaches ≥ 0.99")  # needs ~100 epochs: reported only
    assert "final train accuracy" in over["detail"] and 0 < over["values"]["final_train_acc"] <= 1
    summary = load(r, "summary.json")
    cfg = load(r, "run.json")["config"]
    for v in summary["variants"].values():
        assert len(v["train_acc"]["mean"]) == len(v["test_acc"]["mean"]) == cfg["epochs"] + 1
        assert v["test_curve_samples"] == cfg["curve_test_samples"]
    base, dec = summary["variants"]["wd=0"], summary["variants"]["wd=0.1"]
    assert base["final_train_acc"]["mean"] > dec["final_train_acc"]["mean"]  # decay slows fitting
    compared, epochs = summary["tables"]  # the book's numbers one per row first, then ours per variant
    assert compared["columns"] == ["quantity", "book", "source", "ours", "agrees?"]
    first = compared["comparison"][0]  # λ=0.1 train accuracy at epoch 0: the book's 0.117 beside our seeds
    assert first["book"] == "0.117" and first["ours_mean"] == pytest.approx(dec["train_acc"]["mean"][0], abs=1e-6)
    assert first["agrees"] == (first["ours_min"] - 0.05 <= 0.117 <= first["ours_max"] + 0.05)
    assert epochs["rows"][-1][0].startswith("final")
    seed = load(r, "seeds/seed-0.json")  # the trainer's histories; the summary's curves are their means
    assert list(seed["histories"]) == list(seed["finals"]) == ["wd=0", "wd=0.1"]
    for key, h in seed["histories"].items():
        assert [e["epoch"] for e in h["epochs"]] == list(range(cfg["epochs"] + 1)) and h["status"] == "completed"
        assert len(h["iter_loss"]) == 3 * cfg["epochs"]  # 300 images / batch 100
        v = summary["variants"][key]
        assert v["train_acc"]["mean"] == pytest.approx([e["train_acc"] for e in h["epochs"]], abs=5e-7)
        assert v["test_acc"]["mean"] == pytest.approx([e["test_acc"] for e in h["epochs"]], abs=5e-7)
        assert v["final_train_acc"]["values"] == [seed["finals"][key]["final_train_acc"]]
        assert v["max_train_acc"] == max(e["train_acc"] for e in h["epochs"])


def test_dropout_reduced(runs):
    r = runs("dropout")
    assert r["claims"] == {"n": 3, "passed": 3}, [c["detail"] for c in r["claim_details"]]
    summary = load(r, "summary.json")
    assert set(summary["variants"]) == {"none", "p=0.2 classic", "p=0.2 inverted"}
    seed = load(r, "seeds/seed-0.json")
    assert list(seed["histories"]) == ["none", "p=0.2 classic", "p=0.2 inverted"]
    for key, h in seed["histories"].items():
        assert len(h["epochs"]) == 41 and summary["variants"][key]["max_train_acc"] == max(
            e["train_acc"] for e in h["epochs"])
    v = summary["variants"]
    # classic dropout (no rescaling in training) learns slowest, inverted in between
    assert v["p=0.2 classic"]["final_train_acc"]["mean"] < v["p=0.2 inverted"]["final_train_acc"]["mean"] \
        < v["none"]["final_train_acc"]["mean"]


def test_ensemble_reduced(runs):
    r = runs("ensemble")
    c = claim(r, "the 3-net ensemble beats the average single net")
    assert c["passed"], c["detail"]
    summary = load(r, "summary.json")
    seed = load(r, "seeds/seed-0.json")
    assert len(seed["nets"]) == 3 and len({n["net_seed"] for n in seed["nets"]}) == 3
    assert summary["ensemble_by_size"][-1] == pytest.approx(summary["ensemble_test_acc"]["mean"])
    curves = seed["histories"]
    assert list(curves) == ["net-0", "net-1", "net-2", "ensemble", "dropout"]
    assert all(len(h["epochs"]) == 31 and all("test_acc" in e for e in h["epochs"]) for h in curves.values())
    assert [e["iteration"] for e in curves["ensemble"]["epochs"]] == [3 * e for e in range(31)]
    assert summary["single_test_acc"]["values"] == [n["final_test_acc"] for n in seed["nets"]]
    assert summary["dropout_test_acc"]["values"] == [seed["dropout"]["final_test_acc"]]


def test_search_reduced(runs):
    r = runs("search")
    assert r["claims"]["n"] == 3  # reported, not asserted at this size (see the module doc)
    assert sorted(r["figures"]) == ["best_trials", "scatter"]
    seed = load(r, "seeds/seed-0.json")
    assert len(seed["trials"]) == 8 and seed["n_train"] == 400 and seed["n_val"] == 100
    assert sorted(seed["histories"]) == [f"trial-{i:04d}" for i in range(8)]
    summary = load(r, "summary.json")
    best = summary["per_seed"][0]["best"]
    assert [b["val_acc"] for b in best] == sorted((b["val_acc"] for b in best), reverse=True)
    assert len(summary["tables"][0]["rows"]) == 5
    top = max(seed["trials"], key=lambda t: (t["value"], -t["number"]))
    assert top["params"]["lr"] >= 1e-3
    assert all(t["value"] < top["value"] for t in seed["trials"] if t["params"]["lr"] < 1e-3)
    assert all(1e-4 <= t["params"]["lr"] <= 1e-2 and 1e-8 <= t["params"]["weight_decay"] <= 1e-4
               for t in seed["trials"])
    from trainlab.record import RunRecord

    curves = dict(RunRecord.open(r["run_dir"]).histories())
    assert sorted(curves) == [f"trial-{i:04d}/seed-0" for i in range(8)]
    t = seed["trials"][0]
    h = curves["trial-0000/seed-0"]
    assert len(h["epochs"]) == 15 and h["epochs"][-1]["val_acc"] == t["value"]


def test_search_split_and_trials_are_seeded():
    exp = get("search")
    cfg = resolve_config(exp, {"trials": 2, "epochs": 1}, reduced=True)
    a, b, c = exp.run_seed(cfg, 3), exp.run_seed(cfg, 3), exp.run_seed(cfg, 4)
    key = lambda run: [(t["params"], t["value"], run["histories"][t["label"]]["epochs"]) for t in run["trials"]]
    assert key(a) == key(b) and key(a) != key(c)
