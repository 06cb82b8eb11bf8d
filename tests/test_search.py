"""trainlab search: space parsing and validation, narrowing, a small search end to end, divergence,
pruning, determinism across worker counts, and resume after a real SIGKILL."""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainlab.cli import main
from trainlab.search.narrowing import narrow
from trainlab.search.space import Param, SpaceError, apply_params, book_config, parse_param

TINY = ["--train-size", "200", "--hidden", "20x2", "--epochs", "3", "-q"]


def search(tmp_path, *extra, name="run"):
    out = tmp_path / name
    code = main(["search", "--out", str(out), *TINY, *extra])
    return code, out


def trials_of(out):
    return json.loads((out / "trials.json").read_text())


# -- the space ------------------------------------------------------------------------------------
def test_parse_param_syntax():
    assert parse_param("lr=log:1e-6:1e-2") == Param("lr", "log", 1e-6, 1e-2)
    assert parse_param("dropout=uniform:0:0.5") == Param("dropout", "uniform", 0.0, 0.5)
    assert parse_param("batch_size=int:32:256") == Param("batch_size", "int", 32, 256)
    assert parse_param("batch_size=int-log:32:256").log
    p = parse_param("optimizer=choice:sgd,adam")
    assert p.choices == ("sgd", "adam")
    assert parse_param("init=choice:he,0.01").choices == ("he", 0.01)


@pytest.mark.parametrize("text, message", [
    ("lr=log:0:1e-2", "log range needs low > 0"),
    ("lr=log:-1:1e-2", "log range needs low > 0"),
    ("lr=uniform:0.1:0.1", "is empty"),
    ("lr=uniform:0.2:0.1", "is inverted"),
    ("lr=int:1.5:3", "integer bounds"),
    ("lr=cube:1:2", "unknown type"),
    ("lr", "expected NAME=TYPE"),
])
def test_bad_param_spec(text, message):
    with pytest.raises(SpaceError, match=message):
        parse_param(text)


def test_apply_params_paths():
    config = book_config()
    spec, train = apply_params(config, {"lr": 0.005, "weight_decay": 1e-6, "hidden_sizes": "50x3",
                                        "batch_size": 50, "init": "xavier", "dropout": 0.1})
    assert spec.weight_decay == 1e-6 and spec.hidden_sizes == (50, 50, 50) and spec.dropout == 0.1
    assert train.optimizer_params == {"lr": 0.005} and train.batch_size == 50
    spec, train = apply_params(config, {"hidden_width": 30, "hidden_layers": 2, "optimizer": "adam", "b1": 0.8,
                                        "optim.weight_decay": 0.01})
    assert spec.hidden_sizes == (30, 30) and spec.weight_decay == 0.0
    assert train.optimizer == "adam" and train.optimizer_params == {"lr": 0.01, "b1": 0.8, "weight_decay": 0.01}


@pytest.mark.parametrize("param, message", [
    ("learning_rate=log:1e-6:1e-2", "unknown parameter path 'learning_rate'"),
    ("model.lr=log:1e-6:1e-2", "unknown parameter path"),
    ("b1=uniform:0.8:0.99", "optimizer 'sgd'.*has no hyperparameter 'b1'"),
    ("dropout=uniform:0:1.5", "not a valid value"),
    ("lr=log:0:1", "log range needs low > 0"),
    ("weight_decay=uniform:1e-4:1e-8", "inverted"),
    ("hidden_sizes=int:1:3", "search it as a choice"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, param, message):
    with pytest.raises(SystemExit) as exc:
        search(tmp_path, "--param", param)
    assert exc.value.code == 2
    import re
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "run").exists()


def test_toml_config_and_existing_dir(tmp_path, capsys):
    cfg = tmp_path / "s.toml"
    cfg.write_text('[search]\ntrials = 4\n[training]\nepochs = 2\n[data]\ntrain_size = 150\n'
                   '[space.lr]\ntype = "log"\nlow = 1e-3\nhigh = 1e-1\n'
                   '[space.hidden_sizes]\ntype = "choice"\nchoices = [[20, 20], [10]]\n')
    out = tmp_path / "toml"
    assert main(["search", "--config", str(cfg), "--out", str(out), "-q"]) == 0
    rows = trials_of(out)
    assert len(rows) == 4 and {r["params"]["hidden_sizes"] for r in rows} <= {"20-20", "10"}
    assert all(1e-3 <= r["params"]["lr"] <= 1e-1 and len(r["val_curve"]) == 2 for r in rows)
    saved = json.loads((out / "search.json").read_text())
    assert saved["data"]["train_size"] == 150 and set(saved["space"]) == {"lr", "hidden_sizes"}
    with pytest.raises(SystemExit) as exc:  # never overwrite a search
        main(["search", "--config", str(cfg), "--out", str(out), "-q"])
    assert exc.value.code == 2 and "--resume" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text('[space.lr]\ntype = "log"\nlow = 1e-3\n')
    with pytest.raises(SystemExit):
        main(["search", "--config", str(bad), "--out", str(tmp_path / "bad"), "-q"])
    assert "missing 'high'" in capsys.readouterr().err and not (tmp_path / "bad").exists()


# -- narrowing --------------------------------------------------------------------------------------
def test_narrowing_log_int_choice():
    space = {"lr": Param("lr", "log", 1e-6, 1e-2), "n": Param("n", "int", 1, 100),
             "opt": Param("opt", "choice", choices=("sgd", "adam", "momentum"))}
    results = [{"number": i, "value": v, "params": {"lr": lr, "n": n, "opt": o}} for i, (v, lr, n, o) in enumerate([
        (0.9, 5e-3, 40, "adam"), (0.8, 2e-3, 60, "sgd"), (0.1, 1e-6, 2, "momentum"), (0.2, 1e-5, 90, "momentum"),
        (0.15, 3e-6, 10, "momentum"), (0.12, 2e-6, 10, "momentum"), (0.11, 1e-6, 3, "momentum"),
        (0.11, 1e-6, 3, "momentum"), (0.11, 1e-6, 3, "momentum"), (0.11, 1e-6, 3, "momentum")])]
    new, top = narrow(space, space, results, 0.2, 0.1)
    assert top == [0, 1]
    # log10 span of the top two: [-2.70, -2.30], margin 0.4 decades, clipped at 1e-2
    assert math.isclose(math.log10(new["lr"].low), math.log10(2e-3) - 0.4) and new["lr"].high == 1e-2
    assert new["n"].low == math.floor(40 - 9.9) and new["n"].high == math.ceil(60 + 9.9)
    assert new["opt"].choices == ("sgd", "adam")
    again, _ = narrow(new, space, results[:2], 0.2, 0.0)  # no margin: exactly the top trials' span
    assert math.isclose(again["lr"].low, 2e-3) and math.isclose(again["lr"].high, 5e-3)
    same, top = narrow(space, space, [{"number": 0, "value": None, "params": {}}], 0.2, 0.1)
    assert same == space and top == []


# -- searches ---------------------------------------------------------------------------------------
def test_small_staged_search_writes_everything(tmp_path, capsys):
    code, out = search(tmp_path, "--trials", "6", "--stages", "2", "--param", "lr=log:1e-4:1e-1")
    assert code == 0
    text = capsys.readouterr().out
    assert "stage 1/2" in text and "stage 2/2" in text and "Best-1(val acc:" in text
    rows = trials_of(out)
    assert [r["stage"] for r in rows] == [1, 1, 1, 2, 2, 2]
    assert len({r["train_seed"] for r in rows}) == 6  # a fresh initialisation per trial, as in the book
    assert all(r["state"] == "COMPLETE" and len(r["val_curve"]) == 3 == len(r["train_curve"]) for r in rows)
    stages = json.loads((out / "stages.json").read_text())
    assert len(stages) == 2 and stages[0]["next_ranges"] == stages[1]["ranges"]
    lo, hi = stages[1]["ranges"]["lr"]["low"], stages[1]["ranges"]["lr"]["high"]
    assert 1e-4 <= lo < hi <= 1e-1 and (lo, hi) != (1e-4, 1e-1)
    assert all(lo <= r["params"]["lr"] <= hi for r in rows[3:])
    best = (out / "best.txt").read_text().splitlines()
    assert len(best) == 6
    import re
    assert re.fullmatch(r"Best-1\(val acc:\d\.\d\d\) \| lr:[0-9.e+-]+, weight decay:[0-9.e+-]+", best[0])
    with open(out / "trials.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 6 and {"lr", "weight_decay", "state", "stage", "val_curve", "pruned_epoch"} <= set(table[0])
    test = json.loads((out / "test.json").read_text())
    assert test["n_test"] == 10000 and 0 <= test["test_acc"] <= 1
    best_trial = max((r for r in rows), key=lambda r: (r["value"], -r["number"]))
    assert test["trial"] == best_trial["number"] and test["val_acc"] == best_trial["value"]  # retrained exactly
    result = json.loads((out / "result.json").read_text())
    assert {"name", "title", "book_section", "status", "elapsed_s", "book", "n_claims", "n_passed"} <= set(result)
    assert result["book_section"].startswith("§6.5")  # the report's summary table shows it
    claims = json.loads((out / "claims.json").read_text())
    assert result["n_claims"] == len(claims) and all({"name", "passed", "detail", "values"} <= set(c) for c in claims)
    for name in ("top20_curves", "scatter"):
        for ext in ("png", "svg"):
            assert (out / "figures" / f"{name}.{ext}").stat().st_size > 1000
    for name in ("config.json", "summary.json", "study.journal"):
        assert (out / name).exists()


def test_diverged_trial_is_failed_with_reason_and_search_goes_on(tmp_path):
    code, out = search(tmp_path, "--trials", "4", "--param", "lr=choice:0.01,1e12")
    assert code == 0
    rows = trials_of(out)
    failed = [r for r in rows if r["state"] == "FAIL"]
    assert failed and all(r["params"]["lr"] == 1e12 and "diverged" in r["fail_reason"] for r in failed)
    assert any(r["state"] == "COMPLETE" for r in rows) and len(rows) == 4


def test_same_seed_same_trials_and_tpe(tmp_path):
    _, a = search(tmp_path, "--trials", "4", "--seed", "3", name="a")
    _, b = search(tmp_path, "--trials", "4", "--seed", "3", name="b")
    _, c = search(tmp_path, "--trials", "4", "--seed", "4", name="c")
    key = lambda out: [(r["params"], r["value"]) for r in trials_of(out)]
    assert key(a) == key(b) and key(a) != key(c)
    _, t1 = search(tmp_path, "--trials", "12", "--sampler", "tpe", "--seed", "1", name="t1")
    _, t2 = search(tmp_path, "--trials", "12", "--sampler", "tpe", "--seed", "1", name="t2")
    assert key(t1) == key(t2) and len(trials_of(t1)) == 12


@pytest.mark.slow
def test_pruner_records_the_epoch_and_saves_epochs(tmp_path):
    code, out = search(tmp_path, "--trials", "16", "--epochs", "10", "--pruner", "halving",
                       "--param", "lr=log:1e-5:1e-1")
    assert code == 0
    rows = trials_of(out)
    pruned = [r for r in rows if r["state"] == "PRUNED"]
    assert pruned, "the median pruner stopped no trial"
    assert all(1 <= r["pruned_epoch"] < 10 and r["epochs_trained"] == r["pruned_epoch"] for r in pruned)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs_trained"] < 16 * 10


@pytest.mark.slow
def test_workers_2_gives_the_same_trials_as_workers_1(tmp_path):
    _, one = search(tmp_path, "--trials", "6", "--stages", "2", name="w1")
    _, two = search(tmp_path, "--trials", "6", "--stages", "2", "--workers", "2", name="w2")
    key = lambda out: [(r["number"], r["stage"], r["params"], r["value"]) for r in trials_of(out)]
    assert key(one) == key(two)
    assert json.loads((two / "summary.json").read_text())["executor"] == "LocalProcesses"


def _complete(journal: Path) -> list:
    import optuna
    from optuna.storages.journal import JournalFileBackend

    if not journal.exists():
        return []
    try:
        storage = optuna.storages.JournalStorage(JournalFileBackend(str(journal)))
        study = optuna.load_study(study_name="trainlab-search", storage=storage)
    except Exception:  # not created yet
        return []
    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))


@pytest.mark.slow
def test_resume_after_sigkill_loses_and_repeats_nothing(tmp_path):
    out = tmp_path / "killed"
    args = ["search", "--out", str(out), "--trials", "12", "--train-size", "300", "--hidden", "50x3", "--epochs", "6",
            "--seed", "5", "-q"]
    proc = subprocess.Popen([sys.executable, "-m", "trainlab.cli", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and len(_complete(out / "study.journal")) < 3 and proc.poll() is None:
        time.sleep(0.1)
    assert proc.poll() is None, proc.stderr.read().decode()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {t.number: (t.params, t.value) for t in _complete(out / "study.journal")}
    assert 3 <= len(before) < 12
    lock = out / "study.journal.lock"  # as left by a kill during a journal write (Optuna would wait 30 s)
    if not lock.is_symlink():
        os.symlink(out / "study.journal", lock)
    t0 = time.perf_counter()
    assert main(["search", "--out", str(out), "--resume", "-q"]) == 0
    assert time.perf_counter() - t0 < 25 and not lock.is_symlink() and not (out / "search.pid").exists()
    rows = trials_of(out)
    done = [r for r in rows if r["state"] == "COMPLETE"]
    assert len(done) == 12
    assert sorted(r["index"] for r in done) == list(range(12))  # none duplicated, none lost
    for r in done:  # the trials finished before the kill are kept as they were
        if r["number"] in before:
            assert (r["params"], r["value"]) == before[r["number"]]
    interrupted = [r for r in rows if r["interrupted"]]
    print(f"killed after {len(before)} complete trials; interrupted: {[r['number'] for r in interrupted]}")
    assert all(r["state"] == "FAIL" and "interrupted" in r["fail_reason"] for r in interrupted)
    # the same as an uninterrupted search
    assert main(["search", "--out", str(tmp_path / "whole"), *args[3:]]) == 0
    whole = {r["index"]: (r["params"], r["value"]) for r in trials_of(tmp_path / "whole")}
    assert {r["index"]: (r["params"], r["value"]) for r in done} == whole


def test_resume_refuses_while_the_search_still_runs(tmp_path, capsys):
    code, out = search(tmp_path, "--trials", "2")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "search"])
    try:
        for _ in range(100):  # until the child runs its own command line
            if b"sleep(60)" in Path(f"/proc/{other.pid}/cmdline").read_bytes():
                break
            time.sleep(0.02)
        (out / "search.pid").write_text(str(other.pid))
        with pytest.raises(SystemExit) as exc:
            main(["search", "--out", str(out), "--resume"])
        assert exc.value.code == 2 and "still running" in capsys.readouterr().err
    finally:
        other.kill()
        other.wait()


def test_resume_refuses_new_options_and_missing_dir(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["search", "--out", str(tmp_path / "none"), "--resume"])
    assert exc.value.code == 2 and "no search to continue" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["search", "--out", str(tmp_path / "none"), "--resume", "--trials", "5"])
    assert exc.value.code == 2 and "drop --trials" in capsys.readouterr().err
