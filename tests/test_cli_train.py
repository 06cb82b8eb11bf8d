"""`trainlab train` and `trainlab list`: options, usage errors, outputs, divergence, resume after a
real SIGKILL, and a reduced-size accuracy claim on MNIST."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainlab.checkpoint import CHECKPOINT_NAME, load_checkpoint
from trainlab.cli import main
from trainlab.commands import train as train_cmd
from trainlab.optim import OPTIMIZERS

SMALL = ["--train-size", "600", "--epochs", "2", "--hidden", "20", "--eval-samples", "500", "-q"]
OUTPUTS = {"config.json", "history.json", "history.csv", "metrics.json", CHECKPOINT_NAME}


def cli(capsys, *argv):
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as exc:
        rc = exc.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def read(path: Path) -> dict:
    return json.loads(path.read_text())


def timeless(out: Path) -> tuple[dict, dict]:
    """history.json and metrics.json of a run without the wall-clock fields."""
    h = read(out / "history.json")
    h.pop("wall_time")
    m = read(out / "metrics.json")
    m.pop("wall_time_s")
    return h, m


# -- list and help --------------------------------------------------------------------------------
def test_list_shows_optimizers_with_both_conventions_initialisers_activations_datasets(capsys):
    rc, out, _ = cli(capsys, "list")
    assert rc == 0
    for name in OPTIMIZERS:
        assert f"\n  {name}\n" in out
    assert "torch  --lr 0.001  --b1 0.9  --b2 0.999  --eps 1e-08" in out  # adam, torch
    assert "book   --lr 0.001  --b1 0.9  --b2 0.999\n" in out  # adam, book
    assert "book   --lr 0.01  --momentum 0.9" in out
    assert "xavier           → lecun_normal" in out and "he               → he_normal" in out
    assert "kaiming_normal   → he_normal" in out and "glorot_uniform" in out
    assert "relu" in out and "tanh" in out and "mnist" in out
    rc, only, _ = cli(capsys, "list", "activations")
    assert rc == 0 and only.startswith("activations") and "adam" not in only


@pytest.mark.parametrize("command", ["train", "list"])
def test_help_has_examples(capsys, command):
    rc, out, _ = cli(capsys, command, "--help")
    assert rc == 0 and "examples:" in out and f"trainlab {command}" in out


def test_every_optimizer_hyperparameter_has_an_option():
    for cls in OPTIMIZERS.values():
        for convention in ("torch", "book"):
            assert set(cls.DEFAULTS[convention]) <= set(train_cmd.HP_OPTIONS)


# -- usage errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, expected", [
    (["--optimizer", "foo"], ["--optimizer", "invalid choice: 'foo'", "adam", "nesterov"]),
    (["--lr", "-1"], ["--lr", "> 0"]),
    (["--lr", "nan"], ["--lr", "finite"]),
    (["--dropout", "1.5"], ["--dropout", "< 1"]),
    (["--hidden", "10,,x"], ["--hidden", "'10,,x'", "100,100,100"]),
    (["--hidden", "10,0"], ["--hidden", ">= 1"]),
    (["--activation", "bad"], ["--activation", "relu", "sigmoid", "tanh"]),
    (["--init", "bad"], ["--init", "unknown initialiser 'bad'", "he_normal", "xavier", "a number"]),
    (["--momentum", "0.9"], ["--momentum is not a hyperparameter of adam", "momentum, nesterov, rmsprop"]),
    (["--optimizer", "sgd", "--b1", "0.5"], ["--b1 is not a hyperparameter of sgd", "accepts --lr, --opt-weight-decay", "adam"]),
    (["--convention", "book", "--eps", "1e-8"], ["--eps is not a hyperparameter of adam with --convention book",
                                                 "adam (torch convention)"]),
    (["--optimizer", "nesterov", "--dampening", "0.5"], ["--dampening", "nesterov needs dampening = 0"]),
    (["--nesterov"], ["--nesterov", "--optimizer nesterov"]),
    (["--b2", "1"], ["--b2", "< 1"]),
    (["--epochs", "-1"], ["--epochs", ">= 0"]),
    (["--batch-size", "0"], ["--batch-size", ">= 1"]),
    (["--train-size", "70000"], ["--train-size", "1..60000"]),
    (["--val-fraction", "1"], ["--val-fraction", "< 1"]),
    (["--train-size", "1", "--val-fraction", "0.5"], ["--val-fraction", "at least 1 validation"]),
    (["--weight-decay", "-0.1"], ["--weight-decay", ">= 0"]),
    (["--sampling", "bootstrap"], ["--sampling", "epoch", "replacement"]),
    (["--data-dir", "/nonexistent/idx"], ["--data-dir", "/nonexistent/idx"]),
    (["--resume"], ["--resume needs --out"]),
    (["--train-size", "100", "--batch-size", "33", "--batch-norm"], ["--batch-size", "last mini-batch of 1"]),
])
def test_bad_options_are_usage_errors_naming_the_option_and_accepted_values(capsys, tmp_path, argv, expected):
    out_args = [] if "--resume" in argv else ["--out", tmp_path / "run"]
    rc, out, err = cli(capsys, "train", *argv, *out_args, "--epochs" if "--epochs" not in argv else "--seed", "1")
    assert rc == 2, err
    assert "usage: trainlab train" in err and "Traceback" not in err
    for text in expected:
        assert text in err, (text, err)
    assert not (tmp_path / "run" / CHECKPOINT_NAME).exists()


def test_validation_errors_of_the_spec_and_config_become_usage_errors():
    from trainlab.cli import UsageError

    with pytest.raises(UsageError, match=r"^--dropout: dropout must be in \[0, 1\)"):
        train_cmd._build_spec(dict(train_cmd._resolve({}), dropout=1.5), 784, 10)
    with pytest.raises(UsageError, match=r"^--eval-samples: eval_samples must be >= 1"):
        train_cmd._build_config(dict(train_cmd._resolve({}), eval_samples=0), {"lr": 0.1})
    with pytest.raises(UsageError, match=r"^--activation: unknown activation 'gelu'"):
        train_cmd._build_spec(dict(train_cmd._resolve({}), activation="gelu"), 784, 10)


# -- a run and its outputs ------------------------------------------------------------------------
def test_a_run_writes_config_history_metrics_and_checkpoint(capsys, tmp_path):
    out = tmp_path / "run"
    rc, stdout, err = cli(capsys, "train", *SMALL, "--optimizer", "momentum", "--momentum", "0.8",
                          "--lr", "0.05", "--val-fraction", "0.1", "--dropout", "0.1", "--batch-norm",
                          "--weight-decay", "1e-4", "--out", out)
    assert rc == 0, err
    assert {p.name for p in out.iterdir()} == OUTPUTS
    assert "completed: 2 epoch(s), 12 updates" in stdout and "test accuracy:" in stdout
    assert f"wrote {out}" in stdout
    assert err == ""  # -q: no bar, no epoch lines
    config = read(out / "config.json")
    assert config["model"]["hidden_sizes"] == [20] and config["model"]["batch_norm"] is True
    assert config["model"]["weight_decay"] == 1e-4 and config["model"]["dropout"] == 0.1
    # resolved: the defaults of the optimizer are filled in
    assert config["training"]["optimizer_params"] == {"lr": 0.05, "momentum": 0.8, "dampening": 0.0,
                                                      "weight_decay": 0.0}
    assert config["data"] == {"dataset": "mnist", "data_dir": None, "n_train": 540, "n_val": 60,
                              "n_test": 10000, "input_size": 784, "num_classes": 10}
    history = read(out / "history.json")
    assert history["status"] == "completed" and len(history["iter_loss"]) == 12
    assert [r["epoch"] for r in history["epochs"]] == [0, 1, 2]
    assert {"train_acc", "val_acc", "test_acc"} <= set(history["epochs"][-1])
    csv_lines = (out / "history.csv").read_text().splitlines()
    assert len(csv_lines) == 4 and csv_lines[0].startswith("epoch,iteration,wall_time,")
    metrics = read(out / "metrics.json")
    assert metrics["status"] == "completed" and metrics["epochs_completed"] == 2
    assert metrics["test_acc"] == history["epochs"][-1]["test_acc"] and metrics["wall_time_s"] > 0
    assert "best_val_acc" in metrics
    _, meta = load_checkpoint(out / CHECKPOINT_NAME)
    assert meta["epoch"] == 2 and meta["history"]["status"] == "completed"
    # the same seed gives the same history, bit for bit
    rc, _, _ = cli(capsys, "train", *SMALL, "--optimizer", "momentum", "--momentum", "0.8", "--lr", "0.05",
                   "--val-fraction", "0.1", "--dropout", "0.1", "--batch-norm", "--weight-decay", "1e-4",
                   "--out", tmp_path / "again")
    assert rc == 0 and timeless(tmp_path / "again") == timeless(out)


def test_verbose_prints_a_line_per_epoch(capsys, tmp_path):
    rc, _, err = cli(capsys, "train", *SMALL[:-1], "-vv", "--out", tmp_path / "v")
    assert rc == 0
    assert "epoch 0 | train loss" in err and "epoch 2 | train loss" in err
    assert "data: 600 train, 0 validation, 10000 test samples; model 784-20-10" in err


def test_default_out_is_a_timestamped_folder_under_runs(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, stdout, _ = cli(capsys, "train", *SMALL, "--epochs", "0")
    assert rc == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert run.name.startswith("train-") and f"wrote {Path('runs') / run.name}" in stdout
    assert {p.name for p in run.iterdir()} == OUTPUTS


def test_an_existing_run_is_not_overwritten_without_resume(capsys, tmp_path):
    out = tmp_path / "run"
    assert cli(capsys, "train", *SMALL, "--out", out)[0] == 0
    rc, _, err = cli(capsys, "train", *SMALL, "--out", out)
    assert rc == 2 and "--out" in err and "--resume" in err


def test_divergence_exits_1_with_a_message_and_saves_the_history(capsys, tmp_path):
    out = tmp_path / "run"
    rc, stdout, err = cli(capsys, "train", *SMALL, "--optimizer", "sgd", "--lr", "1e12", "--out", out)
    assert rc == 1
    assert "Traceback" not in err
    assert "training diverged: loss became nan" in err and "learning rate is probably too large" in err
    assert stdout.startswith("diverged:")
    history = read(out / "history.json")
    assert history["status"] == "diverged" and "loss became" in history["message"]
    assert len(history["iter_loss"]) >= 1 and len(history["epochs"]) == 1  # the epoch-0 evaluation
    metrics = read(out / "metrics.json")
    assert metrics["status"] == "diverged" and metrics["message"] == history["message"]


def test_ctrl_c_writes_the_outputs_as_interrupted_and_exits_130(capsys, tmp_path, monkeypatch):
    calls = []

    def interrupt(self, trainer, loss):
        calls.append(loss)
        if len(calls) == 8:  # in the second epoch
            raise KeyboardInterrupt

    monkeypatch.setenv("TRAINLAB_TRAIN_STEP_DELAY", "1e-9")
    monkeypatch.setattr(train_cmd._StepDelay, "on_step_end", interrupt)
    out = tmp_path / "run"
    rc, _, err = cli(capsys, "train", *SMALL, "--out", out)
    assert rc == 130
    assert "interrupted after 1 whole epoch(s); the checkpoint holds epoch 1" in err and "--resume" in err
    history = read(out / "history.json")
    assert history["status"] == "interrupted" and len(history["iter_loss"]) == 8  # nothing lost
    assert read(out / "metrics.json")["status"] == "interrupted"
    monkeypatch.delenv("TRAINLAB_TRAIN_STEP_DELAY")
    assert cli(capsys, "train", *SMALL, "--out", out, "--resume")[0] == 0
    assert cli(capsys, "train", *SMALL, "--out", tmp_path / "ref")[0] == 0
    assert timeless(out) == timeless(tmp_path / "ref")


# -- resume ---------------------------------------------------------------------------------------
def test_resume_with_more_epochs_continues_exactly(capsys, tmp_path):
    args = [*SMALL, "--dropout", "0.2", "--val-fraction", "0.2"]
    assert cli(capsys, "train", *args, "--epochs", "1", "--out", tmp_path / "a")[0] == 0
    rc, stdout, _ = cli(capsys, "train", "--out", tmp_path / "a", "--resume", "--epochs", "3", "-q")
    assert rc == 0 and "resumed from epoch 1" in stdout
    assert cli(capsys, "train", *args, "--epochs", "3", "--out", tmp_path / "b")[0] == 0
    assert timeless(tmp_path / "a") == timeless(tmp_path / "b")
    assert read(tmp_path / "a" / "config.json")["training"]["epochs"] == 3


def test_resume_with_different_options_is_an_error_naming_them(capsys, tmp_path):
    out = tmp_path / "a"
    assert cli(capsys, "train", *SMALL, "--out", out)[0] == 0
    before = (out / CHECKPOINT_NAME).read_bytes()
    rc, _, err = cli(capsys, "train", *SMALL, "--out", out, "--resume", "--lr", "0.01", "--hidden", "30")
    assert rc == 2
    assert "--lr (checkpoint: not set, given: 0.01)" in err and "--hidden (checkpoint: 20, given: 30)" in err
    assert "--epochs" not in err.split("differ")[1].split(".")[0]
    assert (out / CHECKPOINT_NAME).read_bytes() == before
    rc, _, err = cli(capsys, "train", *SMALL, "--out", out, "--resume", "--epochs", "1")
    assert rc == 2 and "already holds 2 epochs" in err


# -- a real kill ----------------------------------------------------------------------------------
KILL_ARGS = ["--train-size", "2000", "--epochs", "6", "--hidden", "50", "--val-fraction", "0.1",
             "--dropout", "0.1", "--seed", "7", "--eval-samples", "2000", "-q"]
LAUNCH = [sys.executable, "-c", "import sys; from trainlab.cli import main; sys.exit(main())", "train"]


def _checkpoint_epoch(out: Path) -> int:
    try:
        return load_checkpoint(out / CHECKPOINT_NAME)[1]["epoch"]
    except (FileNotFoundError, ValueError):
        return -1


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("kill") / "reference"
    assert main(["train", *KILL_ARGS, "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("when", ["after epoch 2", "at a random moment"])
def test_sigkill_then_resume_ends_with_the_uninterrupted_history(tmp_path, uninterrupted, when):
    out = tmp_path / "run"
    # 18 updates per epoch, slowed to ~0.25 s an epoch so that the kill lands mid-run (no number changes)
    env = dict(os.environ, TRAINLAB_TRAIN_STEP_DELAY="0.012")
    proc = subprocess.Popen([*LAUNCH, *KILL_ARGS, "--out", str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        target = 2 if when == "after epoch 2" else 1
        delay = 0.0
        while _checkpoint_epoch(out) < target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if when != "after epoch 2":
            delay = random.Random().uniform(0.0, 0.8)  # anywhere in the next epochs, maybe mid-write
            time.sleep(delay)
        assert proc.poll() is None, f"the run ended before the kill: {proc.stderr.read().decode()}"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    killed_at = _checkpoint_epoch(out)
    context = f"killed {delay:.3f} s after checkpoint epoch {target}; the checkpoint holds epoch {killed_at}"
    assert 1 <= killed_at < 6, context
    resumed = subprocess.run([*LAUNCH, *KILL_ARGS, "--out", str(out), "--resume"],
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, (context, resumed.stderr)
    assert f"resumed from epoch {killed_at}" in resumed.stdout, context
    assert timeless(out) == timeless(uninterrupted), context
    assert read(out / "config.json") == read(uninterrupted / "config.json"), context
    assert not list(out.glob(".*.tmp")), context


# -- the behaviour claim, at reduced size ---------------------------------------------------------
def test_adam_784_100x4_10_relu_he_reaches_93_percent_on_20k_samples_in_2_epochs(capsys, tmp_path):
    """The full claim (60k samples, 5 epochs, batch 128 → ≥ 97%; measured 97.17%, ~4 s) in reduced
    form. Measured over seeds 0–4: 94.0–95.0% here (10k samples × 2 epochs gives only 91.7–92.9%)."""
    out = tmp_path / "adam"
    rc, stdout, _ = cli(capsys, "train", "--optimizer", "adam", "--lr", "0.001", "--epochs", "2",
                        "--batch-size", "128", "--train-size", "20000", "--hidden", "100,100,100,100",
                        "--activation", "relu", "--init", "he", "-q", "--out", out)
    assert rc == 0
    metrics = read(out / "metrics.json")
    assert metrics["status"] == "completed" and metrics["epochs_completed"] == 2
    assert metrics["test_acc"] >= 0.93, stdout
