"""trainlab search: space parsing and validation, narrowing, a small search end to end and its run
record (trial child records with their histories), divergence, pruning, determinism across worker
counts, resume after a real SIGKILL, the lock (two --resume at once), usage errors (exit 2, one
line, nothing written), printed numbers, any IDX dataset, and the one claims function the
command and the ``search`` experiment share.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainlab import cli
from trainlab.record import RunRecord
from trainlab.search.book import book_config
from trainlab.search.narrowing import narrow
from trainlab.search.results import format_params
from trainlab.search.space import Param, SpaceError
from trainlab.search.syntax import parse_param
from trainlab.search.targets import apply_params

TINY = ["--train-size", "200", "--hidden", "20x2", "--epochs", "3", "-q"]

LAUNCH = [sys.executable, "-c", "import sys; from trainlab import cli; sys.exit(cli.main())"]


def main(argv):
    return cli.main([str(a) for a in argv])


def search(tmp_path, *extra, name="run"):
    out = tmp_path / name
    code = main(["search", "--out", str(out), *TINY, *extra])
    return code, out


def trials_of(out):
    return json.loads((out / "trials.json").read_text())


def usage_error(capsys, argv) -> str:
    """Run ``argv``; it must exit 2 with one error line and no traceback. Returns that line."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and err.rstrip().splitlines()[-1] == errors[0], err
    return errors[0]


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
def test_bad_param_spec_names_the_parameter(text, message):
    with pytest.raises(SpaceError, match=message) as exc:
        parse_param(text)
    assert exc.value.field == "space" and exc.value.param == "lr"


def test_apply_params_paths():
    config = book_config()
    spec, train = apply_params(config, {"lr": 0.005, "weight_decay": 1e-6, "hidden_sizes": "50x3",
                                        "batch_size": 50, "init": "xavier", "dropout": 0.1})
    assert spec.weight_decay == 1e-6 and spec.hidden_sizes == (50, 50, 50) and spec.dropout == 0.1
    assert train.optimizer_params["lr"] == 0.005 and train.optimizer_params["weight_decay"] == 0.0
    assert train.batch_size == 50
    spec, train = apply_params(config, {"hidden_width": 30, "hidden_layers": 2, "optimizer": "adam", "b1": 0.8,
                                        "optim.weight_decay": 0.01})
    assert spec.hidden_sizes == (30, 30) and spec.weight_decay == 0.0
    assert train.optimizer == "adam"
    assert {k: train.optimizer_params[k] for k in ("lr", "b1", "weight_decay")} == \
        {"lr": 0.01, "b1": 0.8, "weight_decay": 0.01}
    spec, _ = apply_params(config, {"hidden_sizes": "100,50"})  # the one grammar of hidden sizes
    assert spec.hidden_sizes == (100, 50)


@pytest.mark.parametrize("param, message", [
    ("learning_rate=log:1e-6:1e-2", "unknown parameter path 'learning_rate'"),
    ("model.lr=log:1e-6:1e-2", "unknown parameter path"),
    ("b1=uniform:0.8:0.99", "optimizer 'sgd'.*has no hyperparameter 'b1'"),
    ("dropout=uniform:0:1.5", "not a valid value"),
    ("lr=log:0:1", "log range needs low > 0"),
    ("weight_decay=uniform:1e-4:1e-8", "inverted"),
    ("hidden_sizes=int:1:3", "search it as a choice"),
])
def test_bad_param_exits_2_names_param_and_writes_nothing(tmp_path, capsys, param, message):
    line = usage_error(capsys, ["search", "--out", tmp_path / "run", *TINY, "--param", param])
    assert line.startswith("trainlab search: error: --param: ") and re.search(message, line), line
    assert not (tmp_path / "run").exists()


# -- usage errors: exit 2, one line, nothing written ----------------------------------------------------
@pytest.mark.parametrize("argv, words", [
    (["--epochs", "0"], "--epochs: each trial must train at least 1 epoch"),
    (["--train-size", "1"], "--train-size: train_size 1 leaves no sample to validate on"),
    (["--train-size", "70000"], "--train-size: train_size must be in 1..60000"),
    (["--val-fraction", "0"], "--val-fraction: the search ranks trials on a validation split"),
    (["--trials", "0"], "--trials: trials must be an integer >= 1, got 0"),
    (["--stages", "4", "--trials", "3"], "--stages: 3 trials cannot fill 4 stages"),
    (["--trials-per-stage", "0"], "--trials-per-stage: trials per stage must be an integer >= 1"),
    (["--workers", "0"], "--workers must be an integer >= 1, got 0"),
    (["--workers", str((os.cpu_count() or 1) + 1)], f"this machine's {os.cpu_count() or 1} cores"),
    (["--top-fraction", "0"], "--top-fraction: top_fraction must be a number in (0, 1], got 0.0"),
    (["--top-fraction", "1.5"], "--top-fraction: top_fraction must be a number in (0, 1]"),
    (["--top-fraction", "nan"], "--top-fraction: top_fraction must be a number in (0, 1], got nan"),
    (["--margin", "-0.1"], "--margin: margin must be a number in [0, 1]"),
    (["--margin", "2"], "--margin: margin must be a number in [0, 1], got 2.0"),
    (["--seed", "-1"], "--seed: seed must be an integer >= 0"),
    (["--batch-size", "0"], "--batch-size: batch_size must be an integer >= 1"),
    (["--hidden", "0x3"], "--hidden: hidden_sizes must all be >= 1"),
    (["--data-dir", "/nonexistent/idx"], "--data-dir: /nonexistent/idx"),
    (["--dask-scheduler", "127.0.0.1:8786"], "expects an address like tcp://HOST:8786"),
    (["--resume"], "--resume needs --out"),
])
def test_usage_errors_exit_2_with_one_line_and_write_nothing(tmp_path, capsys, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)  # the default --out is runs/search-<time> here
    out = [] if "--resume" in argv else ["--out", tmp_path / "run"]
    line = usage_error(capsys, ["search", *out, *TINY, *argv])
    assert words in line, line
    assert list(tmp_path.iterdir()) == []


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
    saved = RunRecord.open(out).config
    assert saved["data"]["train_size"] == 150 and set(saved["space"]) == {"lr", "hidden_sizes"}
    line = usage_error(capsys, ["search", "--config", cfg, "--out", out, "-q"])  # never replaced silently
    assert "--out:" in line and "--overwrite" in line and "--resume" in line
    bad = tmp_path / "bad.toml"
    bad.write_text('[space.lr]\ntype = "log"\nlow = 1e-3\n')
    line = usage_error(capsys, ["search", "--config", bad, "--out", tmp_path / "bad", "-q"])
    assert f"--config {bad}: search parameter 'lr': missing 'high'" in line and not (tmp_path / "bad").exists()
    bad.write_text('[search]\ntrials = 0\n')  # a bad value from the file names the file, not --trials
    line = usage_error(capsys, ["search", "--config", bad, "--out", tmp_path / "bad", "-q"])
    assert f"--config {bad}: trials must be an integer >= 1, got 0" in line


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


# -- printed numbers ------------------------------------------------------------------------------------
def test_numbers_are_printed_with_three_significant_figures(tmp_path, capsys):
    assert format_params({"lr": 5.458199397036847e-06, "weight_decay": 0.007756132939902171, "batch_size": 64,
                          "optimizer": "sgd"}) == "lr:5.46e-06, weight decay:0.00776, batch size:64, optimizer:sgd"
    code, _ = search(tmp_path, "--trials", "5", "--stages", "2", "--seed", "2")
    assert code == 0
    text = capsys.readouterr().out
    assert "good range (" in text and "lr ∈ [" in text and "lr ∈ [1.00e-06, 0.0100] (log)" in text
    numbers = re.findall(r"\d*\.\d+(?:e[-+]?\d+)?", text)
    assert len(numbers) > 20
    digits = {n: len(re.sub(r"e.*", "", n).replace(".", "").lstrip("0")) for n in numbers}
    assert all(d <= 3 for d in digits.values()), {n: d for n, d in digits.items() if d > 3}
    # every measured number has exactly three (the claims' names state the book's thresholds, and
    # their details quote the book's numbers as it printed them)
    ours = [n for line in text.splitlines() if not line.startswith(("✓", "✗", "–"))
            for n in re.findall(r"\d*\.\d+(?:e[-+]?\d+)?", line)]
    assert len(ours) > 20
    assert all(digits[n] == 3 for n in ours), [n for n in ours if digits[n] != 3]


# -- searches ---------------------------------------------------------------------------------------
def test_small_staged_search_writes_its_run_record(tmp_path, capsys):
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
    assert re.fullmatch(r"Best-1\(val acc:\d\.\d{3}\) \| lr:[0-9.e+-]+, weight decay:[0-9.e+-]+", best[0])
    with open(out / "trials.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 6 and {"lr", "weight_decay", "state", "stage", "val_curve", "pruned_epoch"} <= set(table[0])
    test = json.loads((out / "test.json").read_text())
    assert test["n_test"] == 10000 and 0 <= test["test_acc"] <= 1
    best_trial = max((r for r in rows), key=lambda r: (r["value"], -r["number"]))
    assert test["trial"] == best_trial["number"] and test["val_acc"] == best_trial["value"]  # retrained exactly
    # the run record
    run = RunRecord.open(out)
    assert (run.kind, run.status, run.name) == ("search", "completed", "run")
    assert run.manifest["seeds"] == [0] and run.manifest["book_section"].startswith("§6.5")
    assert run.config["trials"] == 6 and run.config["space"]["lr"] == {"type": "log", "low": 1e-4, "high": 1e-1}
    assert run.manifest["data"]["n_train"] == 160 and run.manifest["data"]["input_size"] == 784
    claims = run.read_json("claims.json")
    # not the book's configuration: every claim checked, none held or failed, the reason recorded
    assert run.manifest["claims"] == {"n": len(claims), "passed": 0, "not_applicable": len(claims)}
    assert all({"name", "passed", "detail", "values", "not_applicable", "holds_here"} <= set(c) for c in claims)
    assert all(c["passed"] is None and "epochs 3 (book 50)" in c["not_applicable"] for c in claims)
    summary = run.read_json("summary.json")
    assert summary["tables"][0]["columns"][:4] == ["rank", "val acc", "lr", "weight decay"]
    assert len(summary["tables"][0]["rows"]) == 6 and summary["per_seed"][0]["best_val_acc"] == best_trial["value"]
    assert {"best_trials", "scatter", "optuna_history", "optuna_slice"} <= set(run.figure_paths())
    for paths in run.figure_paths().values():
        assert all(p.stat().st_size > 1000 for p in paths.values())
    for name in ("study.journal", "trials.json", "trials.csv", "stages.json", "best.txt", "test.json"):
        assert (out / name).is_file()
    for name in ("result.json", "config.json", "search.json", "search.pid"):  # no second writer of them
        assert not (out / name).exists()
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_each_trial_is_a_child_record_with_its_history(tmp_path):
    code, out = search(tmp_path, "--trials", "3", "--seed", "4")
    assert code == 0
    rows = {r["number"]: r for r in trials_of(out)}
    run = RunRecord.open(out)
    children = run.children()
    assert [c.name for c in children] == ["trial-0000", "trial-0001", "trial-0002"]
    for child in children:
        row = rows[int(child.name.split("-")[1])]
        m = child.manifest
        assert (child.kind, child.status) == ("trial", "completed")
        assert m["params"] == row["params"] and m["state"] == "COMPLETE" and m["stage"] == 1
        assert m["seed"] == row["train_seed"] == child.config["training"]["seed"]
        assert child.config["model"]["weight_decay"] == row["params"]["weight_decay"]
        assert child.config["training"]["optimizer_params"]["lr"] == row["params"]["lr"]
        assert child.config["model"]["hidden_sizes"] == [20, 20] and child.config["data"]["train_size"] == 200
        assert child.read_json("summary.json")["value"] == row["value"]
        assert (child.path / "history.csv").read_text().startswith("epoch,")
    histories = dict(run.histories())
    assert sorted(histories) == ["trial-0000", "trial-0001", "trial-0002"]
    for label, h in histories.items():
        row = rows[int(label.split("-")[1])]
        assert [r["epoch"] for r in h["epochs"]] == [1, 2, 3]
        assert [r["val_acc"] for r in h["epochs"]] == row["val_curve"]
        assert [r["train_acc"] for r in h["epochs"]] == row["train_curve"]
        assert h["status"] == "completed"


def test_diverged_trial_is_failed_with_reason_and_search_goes_on(tmp_path):
    code, out = search(tmp_path, "--trials", "4", "--param", "lr=choice:0.01,1e12")
    assert code == 0
    rows = trials_of(out)
    failed = [r for r in rows if r["state"] == "FAIL"]
    assert failed and all(r["params"]["lr"] == 1e12 and "diverged" in r["fail_reason"] for r in failed)
    assert any(r["state"] == "COMPLETE" for r in rows) and len(rows) == 4
    for r in failed:
        child = RunRecord.open(out / "trials" / f"trial-{r['number']:04d}")
        assert child.status == "diverged" and "diverged" in child.manifest["message"]


def test_same_seed_same_trials_and_tpe(tmp_path):
    _, a = search(tmp_path, "--trials", "4", "--seed", "3", name="a")
    _, b = search(tmp_path, "--trials", "4", "--seed", "3", name="b")
    _, c = search(tmp_path, "--trials", "4", "--seed", "4", name="c")
    key = lambda out: [(r["params"], r["value"]) for r in trials_of(out)]
    assert key(a) == key(b) and key(a) != key(c)
    _, t1 = search(tmp_path, "--trials", "12", "--sampler", "tpe", "--seed", "1", name="t1")
    _, t2 = search(tmp_path, "--trials", "12", "--sampler", "tpe", "--seed", "1", name="t2")
    assert key(t1) == key(t2) and len(trials_of(t1)) == 12


def _write_idx(folder: Path, n_train: int = 60, n_test: int = 20, side: int = 4, classes: int = 3) -> Path:
    """A tiny four-file IDX dataset: side×side images whose brightest pixel is the class."""
    folder.mkdir(parents=True)
    for stem, n in (("train", n_train), ("t10k", n_test)):
        labels = bytes(i % classes for i in range(n))
        images = bytearray(n * side * side)
        for i, label in enumerate(labels):
            images[i * side * side + label] = 255
        (folder / f"{stem}-images-idx3-ubyte").write_bytes(struct.pack(">iiii", 2051, n, side, side) + bytes(images))
        (folder / f"{stem}-labels-idx1-ubyte").write_bytes(struct.pack(">ii", 2049, n) + labels)
    return folder


def test_any_idx_dataset_with_data_dir(tmp_path, capsys):
    data = _write_idx(tmp_path / "tiny")
    line = usage_error(capsys, ["search", "--out", tmp_path / "too-many", "--data-dir", data, "--trials", "1"])
    assert "--train-size: train_size must be in 1..60" in line  # the book's 500, more than the data hold
    assert not (tmp_path / "too-many").exists()
    out = tmp_path / "idx"
    assert main(["search", "--out", out, "--data-dir", data, "--train-size", "50", "--hidden", "8",
                 "--epochs", "2", "--trials", "2", "-q"]) == 0
    run = RunRecord.open(out)
    assert run.config["data"]["data_dir"] == str(data.resolve())
    assert run.manifest["data"]["data_dir"] == str(data.resolve())
    assert (run.manifest["data"]["input_size"], run.manifest["data"]["num_classes"]) == (16, 3)
    assert (run.manifest["data"]["n_train"], run.manifest["data"]["n_val"]) == (40, 10)
    child = run.children()[0]
    assert (child.config["model"]["input_size"], child.config["model"]["output_size"]) == (16, 3)
    assert json.loads((out / "test.json").read_text())["n_test"] == 20


@pytest.mark.slow
def test_pruner_records_the_epoch_and_saves_epochs(tmp_path):
    code, out = search(tmp_path, "--trials", "16", "--epochs", "10", "--pruner", "halving",
                       "--param", "lr=log:1e-5:1e-1")
    assert code == 0
    rows = trials_of(out)
    pruned = [r for r in rows if r["state"] == "PRUNED"]
    assert pruned, "the pruner stopped no trial"
    assert all(1 <= r["pruned_epoch"] < 10 and r["epochs_trained"] == r["pruned_epoch"] for r in pruned)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs_trained"] < 16 * 10
    child = RunRecord.open(out / "trials" / f"trial-{pruned[0]['number']:04d}")
    assert child.manifest["state"] == "PRUNED" and f"pruned at epoch {pruned[0]['pruned_epoch']}" in child.manifest["message"]
    assert len(child.read_json("history.json")["epochs"]) == pruned[0]["pruned_epoch"]


@pytest.mark.slow
def test_pruning_with_local_workers(tmp_path):
    code, out = search(tmp_path, "--trials", "16", "--epochs", "10", "--pruner", "halving", "--workers", "2",
                       "--param", "lr=log:1e-5:1e-1")
    assert code == 0
    rows = trials_of(out)
    assert len(rows) == 16 and any(r["state"] == "PRUNED" for r in rows)  # workers report through the journal
    assert json.loads((out / "summary.json").read_text())["executor"] == "LocalProcesses"


@pytest.mark.slow
def test_workers_2_gives_the_same_trials_as_workers_1(tmp_path):
    _, one = search(tmp_path, "--trials", "6", "--stages", "2", name="w1")
    _, two = search(tmp_path, "--trials", "6", "--stages", "2", "--workers", "2", name="w2")
    key = lambda out: [(r["number"], r["stage"], r["params"], r["value"]) for r in trials_of(out)]
    assert key(one) == key(two)
    assert json.loads((two / "summary.json").read_text())["executor"] == "LocalProcesses"
    assert RunRecord.open(two).manifest["workers"] == 2


# -- resume and the lock ----------------------------------------------------------------------------------
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


def _start_and_kill(out: Path, args: list[str], after: int) -> dict:
    """Start a search, SIGKILL it once ``after`` trials are complete; returns those trials."""
    proc = subprocess.Popen([*LAUNCH, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and len(_complete(out / "study.journal")) < after and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read().decode()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return {t.number: (t.params, t.value) for t in _complete(out / "study.journal")}


@pytest.mark.slow
def test_resume_after_sigkill_loses_and_repeats_nothing(tmp_path):
    out = tmp_path / "killed"
    args = ["search", "--out", str(out), "--trials", "12", "--train-size", "300", "--hidden", "50x3", "--epochs", "6",
            "--seed", "5", "-q"]
    before = _start_and_kill(out, args, 3)
    assert 3 <= len(before) < 12
    assert RunRecord.open(out).status == "running"  # as the kill left it
    lock = out / "study.journal.lock"  # as left by a kill during a journal write (Optuna would wait 30 s)
    if not lock.is_symlink():
        os.symlink(out / "study.journal", lock)
    t0 = time.perf_counter()
    assert main(["search", "--out", str(out), "--resume", "-q"]) == 0
    assert time.perf_counter() - t0 < 25 and not lock.is_symlink()
    rows = trials_of(out)
    done = [r for r in rows if r["state"] == "COMPLETE"]
    assert len(done) == 12
    assert sorted(r["index"] for r in done) == list(range(12))  # none duplicated, none lost
    for r in done:  # the trials finished before the kill are kept as they were
        if r["number"] in before:
            assert (r["params"], r["value"]) == before[r["number"]]
    interrupted = [r for r in rows if r["interrupted"]]
    assert all(r["state"] == "FAIL" and "interrupted" in r["fail_reason"] for r in interrupted)
    run = RunRecord.open(out)
    assert run.status == "completed" and len(run.children()) == len(rows)
    for r in interrupted:
        assert RunRecord.open(out / "trials" / f"trial-{r['number']:04d}").status == "interrupted"
    # the same as an uninterrupted search
    assert main(["search", "--out", str(tmp_path / "whole"), *args[3:]]) == 0
    whole = {r["index"]: (r["params"], r["value"]) for r in trials_of(tmp_path / "whole")}
    assert {r["index"]: (r["params"], r["value"]) for r in done} == whole


@pytest.mark.slow
def test_two_resumes_at_once_one_runs_the_other_is_refused_naming_it(tmp_path):
    out = tmp_path / "twice"
    args = ["search", "--out", str(out), "--trials", "8", "--train-size", "300", "--hidden", "100x3",
            "--epochs", "60", "--seed", "6", "-q"]
    before = _start_and_kill(out, args, 1)
    assert len(before) < 8
    resume = [*LAUNCH, "search", "--out", str(out), "--resume", "-q"]
    procs = [subprocess.Popen(resume, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p, *p.communicate(timeout=300)) for p in procs]
    codes = sorted(p.returncode for p, _, _ in results)
    assert codes == [0, 2], [(p.returncode, err) for p, _, err in results]
    (winner, _, _), = [r for r in results if r[0].returncode == 0]
    (_, _, refused), = [r for r in results if r[0].returncode == 2]
    assert f"is in use by process {winner.pid} (" in refused and "Traceback" not in refused
    rows = trials_of(out)
    done = [r for r in rows if r["state"] == "COMPLETE"]
    assert sorted(r["index"] for r in done) == list(range(8))  # no trial twice
    assert len(rows) == len(RunRecord.open(out).children())


def test_a_search_in_use_is_refused_naming_its_process(tmp_path, capsys):
    from trainlab.record import DirectoryLock

    code, out = search(tmp_path, "--trials", "1")
    assert code == 0
    before = sorted(p.name for p in out.rglob("*"))
    with DirectoryLock(out):  # as a running search holds it
        line = usage_error(capsys, ["search", "--out", out, "--resume"])
    assert f"is in use by process {os.getpid()} (" in line
    assert sorted(p.name for p in out.rglob("*")) == before and RunRecord.open(out).status == "completed"


def test_resume_accepts_the_stored_options_and_refuses_others(tmp_path, capsys):
    code, out = search(tmp_path, "--trials", "2", "--seed", "7")
    assert code == 0
    journal = (out / "study.journal").read_bytes()
    capsys.readouterr()
    # the same options again: accepted, nothing trained again
    assert main(["search", "--out", out, "--resume", *TINY, "--trials", "2", "--seed", "7"]) == 0
    assert "2 trial(s) of this stage already finished; running 0" in capsys.readouterr().out
    assert len(trials_of(out)) == 2 and (out / "study.journal").read_bytes().startswith(journal)
    line = usage_error(capsys, ["search", "--out", out, "--resume", "--trials", "5", "--epochs", "3",
                                "--param", "lr=log:1e-3:1e-1"])
    assert "--trials 5 (stored: 2)" in line and "--param lr=log:1e-3:1e-1 (stored: lr ∈ [1.00e-06, 0.0100] (log))" in line
    assert "--epochs" not in line  # the stored value
    line = usage_error(capsys, ["search", "--out", tmp_path / "none", "--resume"])
    assert "no search to continue" in line and not (tmp_path / "none").exists()
    line = usage_error(capsys, ["search", "--out", out, "--resume", "--overwrite"])
    assert "give one of them" in line


# -- the command and the experiment: one loop, one claims function ---------------------------------------
def test_the_experiment_and_the_command_share_trials_and_claims(tmp_path):
    from trainlab.experiments import get
    from trainlab.experiments.config import resolve_config

    exp = get("search")
    config = resolve_config(exp, {"trials": 5, "epochs": 3, "train_size": 200, "hidden_sizes": [20, 20],
                                  "sampling": "epoch", "eval_samples": None, "lr_log10": [-3, -1]})
    result = exp.run_seed(config, 0)
    code, out = search(tmp_path, "--trials", "5", "--seed", "0", "--param", "lr=log:1e-3:1e-1")
    assert code == 0
    mine = [(r["number"], r["params"], r["value"]) for r in trials_of(out)]
    assert [(t["number"], t["params"], t["value"]) for t in result["trials"]] == mine
    summary = exp.summarize(config, [result])
    theirs = [c.to_dict() for c in exp.claims(config, summary, [result])]
    command = json.loads((out / "claims.json").read_text())
    # the same checks on the same numbers; the command marks them: not the book's configuration
    assert len(theirs) == 3 and all(c.pop("not_applicable").startswith("not the book's configuration: ")
                                    for c in command)
    for c in command:
        c["passed"] = c.pop("holds_here")
    assert command[:3] == theirs  # the command adds the test-set claim
    assert command[3]["name"].startswith("the best configuration's test accuracy")
    assert summary["tables"] == RunRecord.open(out).read_json("summary.json")["tables"]


@pytest.mark.slow
def test_a_torn_last_journal_record_is_removed_and_the_search_resumes_to_the_same_trials(tmp_path, capsys):
    out = tmp_path / "torn"
    args = ["search", "--out", str(out), "--trials", "8", "--train-size", "300", "--hidden", "50x3", "--epochs", "6",
            "--seed", "5", "-q"]
    _start_and_kill(out, args, 2)
    journal = out / "study.journal"
    with open(journal, "ab") as f:  # what a kill or a full disk in the middle of a write leaves
        f.write(b'{"op_code": 6, "worker_id": "x", "trial_id": 3, "state": 1, "va')
    capsys.readouterr()
    assert main(["search", "--out", str(out), "--resume", "-q"]) == 0
    said = capsys.readouterr().out
    assert "removed the torn last record of study.journal" in said
    assert journal.read_bytes().endswith(b"\n")
    done = {r["index"]: (r["params"], r["value"]) for r in trials_of(out) if r["state"] == "COMPLETE"}
    assert main(["search", "--out", str(tmp_path / "whole"), *args[3:]]) == 0
    assert done == {r["index"]: (r["params"], r["value"]) for r in trials_of(tmp_path / "whole")}


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["missing", "empty", "middle"])
def test_a_journal_that_cannot_continue_the_recorded_trials_is_an_error_that_keeps_them(tmp_path, capsys, damage):
    out = tmp_path / "lost"
    args = ["search", "--out", str(out), "--trials", "8", "--train-size", "300", "--hidden", "50x3", "--epochs", "6",
            "--seed", "5", "-q"]
    _start_and_kill(out, args, 2)
    journal = out / "study.journal"
    trials_before = sorted(p.name for p in (out / "trials").iterdir())
    assert trials_before
    if damage == "missing":
        journal.unlink()
    elif damage == "empty":
        journal.write_bytes(b"")
    else:
        lines = journal.read_bytes().splitlines(keepends=True)
        lines[1] = b'{"op_code": 0, "study_na\n'
        journal.write_bytes(b"".join(lines))
    capsys.readouterr()
    try:
        rc = main(["search", "--out", str(out), "--resume", "-q"])
    except SystemExit as exc:
        rc = exc.code
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert ("finished trial(s) are recorded" in err) if damage != "middle" else ("record 2 of" in err)
    assert "--overwrite" in err
    assert sorted(p.name for p in (out / "trials").iterdir()) == trials_before  # nothing thrown away
