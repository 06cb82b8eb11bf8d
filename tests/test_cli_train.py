"""`trainlab train` and `trainlab list`: options (every one names itself when its value is bad),
the run record it writes, divergence, Ctrl-C, resume after a real SIGKILL, two processes on one
folder, a full disk, and a reduced-size accuracy claim on MNIST."""

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
from trainlab.commands import hyperparameters
from trainlab.optim import OPTIMIZERS

SMALL = ["--train-size", "600", "--epochs", "2", "--hidden", "20", "--eval-samples", "500", "-q"]
OUTPUTS = {"run.json", "history.json", "history.csv", "summary.json", "figures", CHECKPOINT_NAME}


def files_of(out: Path) -> set[str]:
    return {p.name for p in out.iterdir() if not p.name.startswith(".")}


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
    """history.json and summary.json of a run without the wall-clock fields."""
    h = read(out / "history.json")
    h.pop("wall_time")
    m = read(out / "summary.json")
    m.pop("wall_time_s")
    return h, m


# -- list and help --------------------------------------------------------------------------------
def test_list_shows_optimizers_with_both_conventions_initialisers_activations_datasets(capsys):
    rc, out, _ = cli(capsys, "list")
    assert rc == 0
    for name in OPTIMIZERS:
        assert f"\n  {name}\n" in out
    # adam: torch's defaults, and the book's (eps 1e-7, the paper's ε̂ form)
    assert "torch  --lr 0.001  --b1 0.9  --b2 0.999  --eps 1e-08  --opt-weight-decay 0  --amsgrad false  " \
           "--eps-hat false" in out
    assert "book   --lr 0.001  --b1 0.9  --b2 0.999  --eps 1e-07  --opt-weight-decay 0  --amsgrad false  " \
           "--eps-hat true" in out
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


def test_help_shows_the_defaults_of_the_configuration_classes(capsys):
    """One source of defaults: the help text says what ModelSpec/TrainConfig/DataSpec default to."""
    from trainlab.data import DataSpec
    from trainlab.model import ModelSpec
    from trainlab.trainer import TrainConfig

    rc, out, _ = cli(capsys, "train", "--help")
    text = " ".join(out.split())
    assert rc == 0
    assert f"(default {TrainConfig.epochs})" in text and f"(default {TrainConfig.batch_size})" in text
    assert f"(default {TrainConfig.optimizer})" in text and "(default 100x4)" in text
    assert f"(default {ModelSpec.activation})" in text and f"(default {DataSpec.dataset})" in text


def test_every_optimizer_hyperparameter_has_an_option():
    flags = hyperparameters.flags()
    for cls in OPTIMIZERS.values():
        for convention in cls.DEFAULTS:
            assert set(cls.DEFAULTS[convention]) <= set(flags)


# -- usage errors ---------------------------------------------------------------------------------
#: every option of the command with a bad value, and the words the error must contain (it must
#: start by naming the option). Boolean switches (--batch-norm, --amsgrad, …) cannot have a bad value.
BAD_VALUES = [
    # model
    (["--hidden", "10,,x"], ["--hidden", "'10,,x'", "100,100"]),
    (["--hidden", "10,0"], ["--hidden", ">= 1"]),
    (["--hidden", ""], ["--hidden", "'none'"]),
    (["--activation", "bad"], ["--activation", "relu", "sigmoid", "tanh"]),
    (["--init", "bad"], ["--init", "unknown initialiser 'bad'", "he_normal", "xavier", "a number"]),
    (["--init", "-0.5"], ["--init", ">= 0"]),
    (["--init", "normal", "--init-value", "-1"], ["--init-value", ">= 0"]),
    (["--init-value", "0.1"], ["--init-value", "init 'he' does not use it"]),
    (["--bn-convention", "keras"], ["--bn-convention", "torch", "book"]),
    (["--dropout", "1.5"], ["--dropout", "[0, 1)"]),
    (["--dropout-convention", "x"], ["--dropout-convention", "inverted", "classic"]),
    (["--weight-decay", "-0.1"], ["--weight-decay", ">= 0"]),
    (["--weight-decay-kind", "l3"], ["--weight-decay-kind", "l2", "l1"]),
    (["--dtype", "float16"], ["--dtype", "float32", "float64"]),
    # optimizer and its hyperparameters
    (["--optimizer", "foo"], ["--optimizer", "invalid choice: 'foo'", "adam", "nesterov"]),
    (["--convention", "keras"], ["--convention", "torch", "book"]),
    (["--lr", "-1"], ["--lr", "> 0"]),
    (["--lr", "nan"], ["--lr", "finite"]),
    (["--optimizer", "momentum", "--momentum", "1"], ["--momentum", "[0, 1)"]),
    (["--optimizer", "momentum", "--dampening", "-0.5"], ["--dampening", "[0, 1)"]),
    (["--optimizer", "nesterov", "--dampening", "0.5"], ["--dampening", "nesterov needs dampening = 0"]),
    (["--optimizer", "nesterov", "--nesterov-order", "x"], ["--nesterov-order", "buffer_first", "step_first"]),
    (["--b1", "1"], ["--b1", "[0, 1)"]),
    (["--b2", "1"], ["--b2", "[0, 1)"]),
    (["--eps", "-0.1"], ["--eps", ">= 0"]),
    (["--opt-weight-decay", "-1"], ["--opt-weight-decay", ">= 0"]),
    (["--optimizer", "rmsprop", "--alpha", "1.5"], ["--alpha", "[0, 1)"]),
    (["--optimizer", "adagrad", "--lr-decay", "-1"], ["--lr-decay", ">= 0"]),
    (["--optimizer", "adagrad", "--initial-accumulator-value", "-1"], ["--initial-accumulator-value", ">= 0"]),
    (["--momentum", "0.9"], ["--momentum is not a hyperparameter of adam", "momentum, nesterov, rmsprop"]),
    (["--optimizer", "sgd", "--b1", "0.5"], ["--b1 is not a hyperparameter of sgd",
                                             "accepts --lr, --opt-weight-decay", "adam"]),
    (["--nesterov"], ["--nesterov", "--optimizer nesterov"]),
    # training
    (["--epochs", "-1"], ["--epochs", ">= 0"]),
    (["--epochs", "1.5"], ["--epochs", "integer"]),
    (["--batch-size", "0"], ["--batch-size", ">= 1"]),
    (["--sampling", "bootstrap"], ["--sampling", "epoch", "replacement"]),
    (["--eval-samples", "0"], ["--eval-samples", ">= 1"]),
    (["--seed", "-1"], ["--seed", ">= 0"]),
    (["--checkpoint-every", "0"], ["--checkpoint-every", ">= 1"]),
    (["--train-size", "100", "--batch-size", "33", "--batch-norm"], ["--batch-size", "last mini-batch of 1"]),
    (["--batch-norm", "--batch-size", "1"], ["--batch-size", "batch of 2 or more"]),
    # training instruments: schedules, warm-up, early stopping, clipping
    (["--lr-schedule", "warm:3"], ["--lr-schedule", "unknown schedule 'warm'", "step, multistep, exp, cosine, plateau",
                                   "the syntax is"]),
    (["--lr-schedule", "step:0"], ["--lr-schedule", "step_size must be an integer >= 1, got '0'"]),
    (["--lr-schedule", "plateau"], ["--lr-schedule", "monitors val_loss, but there is no validation split"]),
    (["--lr-schedule", "plateau", "--schedule-every", "iteration"], ["--schedule-every", "cannot step every iteration"]),
    (["--schedule-every", "often"], ["--schedule-every", "invalid choice: 'often'", "epoch", "iteration"]),
    (["--schedule-every", "iteration"], ["--schedule-every", "no lr_schedule and no warmup"]),
    (["--warmup", "-1"], ["--warmup", ">= 0"]),
    (["--warmup", "2", "--warmup-factor", "0"], ["--warmup-factor", "(0, 1]"]),
    (["--warmup-factor", "0.5"], ["--warmup-factor", "give warmup > 0 too"]),
    (["--lr-schedule", "plateau", "--warmup", "2", "--val-fraction", "0.1"], ["--warmup", "ReduceLROnPlateau"]),
    (["--early-stop", "test_acc:3"], ["--early-stop", "the test split must not decide"]),
    (["--early-stop", "val_loss:0"], ["--early-stop", "patience must be an integer >= 1"]),
    (["--early-stop", "val_loss:3"], ["--early-stop", "monitors val_loss, but there is no validation split"]),
    (["--clip-grad-norm", "0"], ["--clip-grad-norm", "> 0"]),
    (["--clip-grad-norm", "x"], ["--clip-grad-norm", "expected a number"]),
    (["--clip-grad-value", "-1"], ["--clip-grad-value", "> 0"]),
    (["--clip-grad-norm", "1", "--clip-grad-value", "1"], ["--clip-grad-value", "not both"]),
    (["--diagnostics", "hist:5,2"], ["--diagnostics", "hist must be increasing epochs >= 0", "the syntax is"]),
    (["--diagnostics", "on:0"], ["--diagnostics", "probe must be an integer >= 1"]),
    # data
    (["--dataset", "cifar"], ["--dataset", "mnist"]),
    (["--data-dir", "/nonexistent/idx"], ["--data-dir", "/nonexistent/idx"]),
    (["--train-size", "0"], ["--train-size", ">= 1"]),
    (["--train-size", "70000"], ["--train-size", "1..60000"]),
    (["--val-fraction", "1"], ["--val-fraction", "[0, 1)"]),
    (["--train-size", "1", "--val-fraction", "0.5"], ["--val-fraction", "at least 2 samples"]),
    # output and shapes
    (["--resume"], ["--resume needs --out"]),
    (["-q", "-v"], ["-q", "-v", "contradict"]),
    (["--hidden", "100000,100000"], ["--hidden", "GiB", "available"]),
]


@pytest.mark.parametrize("argv, expected", BAD_VALUES, ids=[" ".join(a) for a, _ in BAD_VALUES])
def test_bad_options_are_usage_errors_naming_the_option_and_accepted_values(capsys, tmp_path, argv, expected):
    out_args = [] if "--resume" in argv else ["--out", tmp_path / "run"]
    rc, out, err = cli(capsys, "train", *argv, *out_args, "--epochs" if "--epochs" not in argv else "--seed", "1")
    assert rc == 2, err
    assert "usage: trainlab train" in err and "Traceback" not in err
    message = err.strip().splitlines()[-1]
    assert message.startswith(f"trainlab train: error: {expected[0]}") or \
        message.startswith(f"trainlab train: error: argument {expected[0]}"), message
    for text in expected:
        assert text in err, (text, err)
    assert not (tmp_path / "run").exists()  # nothing written


def test_every_valued_option_is_in_the_bad_value_table(capsys):
    """The table above covers every option that takes a value (so a new option gets a test)."""
    import argparse

    from trainlab.cli import build_parser

    parser = build_parser()
    train = next(a for a in parser._subparsers._group_actions[0].choices.values() if a.prog.endswith("train"))
    valued = {a.option_strings[-1] for a in train._actions if a.option_strings and a.nargs != 0
              and not isinstance(a, (argparse._StoreTrueAction, argparse._CountAction, argparse.BooleanOptionalAction,
                                     argparse._HelpAction))}
    tested = {arg for argv, _ in BAD_VALUES for arg in argv if arg.startswith("--")}
    assert valued - {"--out"} <= tested, sorted(valued - tested)


# -- a run and its outputs ------------------------------------------------------------------------
def test_a_run_writes_its_record_history_summary_curves_and_checkpoint(capsys, tmp_path):
    from trainlab.optim import Momentum
    from trainlab.record import RunRecord

    out = tmp_path / "run"
    argv = [*SMALL, "--optimizer", "momentum", "--momentum", "0.8", "--lr", "0.05", "--val-fraction", "0.1",
            "--dropout", "0.1", "--batch-norm", "--weight-decay", "1e-4"]
    rc, stdout, err = cli(capsys, "train", *argv, "--out", out)
    assert rc == 0, err
    assert files_of(out) == OUTPUTS
    assert {p.name for p in (out / "figures").iterdir()} == {"curves.png", "curves.svg"}
    assert "completed: 2 epoch(s), 12 updates" in stdout and "test accuracy:" in stdout
    assert f"wrote {out}" in stdout and CHECKPOINT_NAME in stdout
    assert err == ""  # -q: no bar, no epoch lines
    run = RunRecord.open(out)
    assert run.kind == "train" and run.status == "completed" and run.manifest["seeds"] == [0]
    config = run.config
    assert config["model"]["hidden_sizes"] == [20] and config["model"]["batch_norm"] is True
    assert config["model"]["weight_decay"] == 1e-4 and config["model"]["dropout"] == 0.1
    assert config["model"]["input_size"] == 784 and config["model"]["output_size"] == 10
    # resolved: every hyperparameter of the optimizer, its torch defaults filled in
    assert config["training"]["optimizer_params"] == {**Momentum.DEFAULTS["torch"], "lr": 0.05, "momentum": 0.8}
    assert run.manifest["data"] == {"dataset": "mnist", "data_dir": None, "name": "mnist", "train_size": 600,
                                    "val_fraction": 0.1, "n_train": 540, "n_val": 60, "n_test": 10000,
                                    "input_size": 784, "num_classes": 10}
    history = read(out / "history.json")
    assert history["status"] == "completed" and len(history["iter_loss"]) == 12
    assert [r["epoch"] for r in history["epochs"]] == [0, 1, 2]
    assert {"train_acc", "val_acc", "test_acc"} <= set(history["epochs"][-1])
    assert run.histories() == [("run", history)]
    csv_lines = (out / "history.csv").read_text().splitlines()
    assert len(csv_lines) == 4 and csv_lines[0].startswith("epoch,iteration,wall_time,")
    metrics = read(out / "summary.json")
    assert metrics["status"] == "completed" and metrics["epochs_completed"] == 2
    assert metrics["test_acc"] == history["epochs"][-1]["test_acc"] and metrics["wall_time_s"] > 0
    assert "best_val_acc" in metrics
    _, meta = load_checkpoint(out / CHECKPOINT_NAME)
    assert meta["epoch"] == 2 and meta["history"]["status"] == "completed"
    # the same seed gives the same history, bit for bit
    rc, _, _ = cli(capsys, "train", *argv, "--out", tmp_path / "again")
    assert rc == 0 and timeless(tmp_path / "again") == timeless(out)


def test_run_files_are_readable_by_others_under_umask_022(capsys, tmp_path):
    old = os.umask(0o022)
    try:
        assert cli(capsys, "train", *SMALL, "--out", tmp_path / "run")[0] == 0
    finally:
        os.umask(old)
    written = [p for p in (tmp_path / "run").rglob("*") if p.is_file() and p.name != ".lock"]
    assert written and all(p.stat().st_mode & 0o777 == 0o644 for p in written), \
        {p.name: oct(p.stat().st_mode & 0o777) for p in written}


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
    assert files_of(run) == OUTPUTS


def test_an_existing_run_is_kept_unless_overwrite(capsys, tmp_path):
    out = tmp_path / "run"
    assert cli(capsys, "train", *SMALL, "--out", out)[0] == 0
    before = (out / "history.json").read_bytes()
    rc, _, err = cli(capsys, "train", *SMALL, "--seed", "3", "--out", out)
    assert rc == 2 and "--out" in err and "--overwrite" in err and "--resume" in err
    assert (out / "history.json").read_bytes() == before
    assert cli(capsys, "train", *SMALL, "--seed", "3", "--out", out, "--overwrite")[0] == 0
    assert (out / "history.json").read_bytes() != before
    assert read(out / "run.json")["config"]["training"]["seed"] == 3


def test_an_out_that_is_a_file_or_holds_other_files_is_refused(capsys, tmp_path):
    (tmp_path / "file").write_text("mine")
    rc, _, err = cli(capsys, "train", *SMALL, "--out", tmp_path / "file")
    assert rc == 2 and "is a file" in err and "Traceback" not in err
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine")
    rc, _, err = cli(capsys, "train", *SMALL, "--out", tmp_path / "notes", "--overwrite")
    assert rc == 2 and "not a TrainLab run" in err and "todo.txt" in err
    assert (tmp_path / "notes" / "todo.txt").read_text() == "mine"


def test_a_full_disk_is_one_line_exit_1_and_keeps_the_last_checkpoint(capsys, tmp_path, monkeypatch):
    import errno

    from trainlab import files

    out = tmp_path / "run"
    assert cli(capsys, "train", *SMALL, "--epochs", "1", "--out", out)[0] == 0
    saved = (out / CHECKPOINT_NAME).read_bytes()
    real = files.write_bytes

    def full(path, data):
        if Path(path).name == CHECKPOINT_NAME:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data)

    monkeypatch.setattr(files, "write_bytes", full)
    rc, _, err = cli(capsys, "train", *SMALL, "--epochs", "3", "--out", out, "--resume")
    assert rc == 1 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("trainlab train: error: cannot write")
    assert "No space left on device" in err and CHECKPOINT_NAME in err
    assert (out / CHECKPOINT_NAME).read_bytes() == saved
    assert read(out / "run.json")["status"] == "crashed"


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
    for path in out.rglob("*.json"):  # strict JSON: a browser's JSON.parse reads every file
        json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"{path.name} holds {c}"))
    metrics = read(out / "summary.json")
    assert metrics["status"] == "diverged" and metrics["message"] == history["message"]
    assert read(out / "run.json")["status"] == "diverged"


def test_adam_with_eps_0_is_blamed_on_eps_not_on_the_learning_rate(capsys, tmp_path):
    # MNIST's border pixels are 0 in every image, so their first-layer weights get a gradient of
    # exactly 0: Adam's m/(√v + 0) is 0/0 at the first update, whatever the seed
    rc, _, err = cli(capsys, "train", *SMALL, "--eps", "0", "--out", tmp_path / "run")
    assert rc == 1 and "eps=0 divides 0 by 0" in err and "learning rate" not in err


def _interrupt_at_step(monkeypatch, n: int, signum=None):
    from trainlab.trainer import Trainer

    real = Trainer._call
    steps = []

    def call(self, hook, *args):
        if hook == "on_step_end":
            steps.append(1)
            if len(steps) == n:
                if signum is None:
                    raise KeyboardInterrupt
                os.kill(os.getpid(), signum)
        return real(self, hook, *args)

    monkeypatch.setattr(Trainer, "_call", call)


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_writes_the_outputs_as_interrupted_and_exits_130(capsys, tmp_path, monkeypatch, how):
    _interrupt_at_step(monkeypatch, 8, None if how == "ctrl-c" else signal.SIGTERM)  # in the second epoch
    out = tmp_path / "run"
    rc, _, err = cli(capsys, "train", *SMALL, "--out", out)
    assert rc == 130
    assert "interrupted after 1 whole epoch; the checkpoint holds epoch 1" in err and "--resume" in err
    history = read(out / "history.json")
    assert history["status"] == "interrupted" and len(history["iter_loss"]) == 8  # nothing lost
    assert read(out / "summary.json")["status"] == "interrupted"
    assert read(out / "run.json")["status"] == "interrupted"
    monkeypatch.undo()
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
    assert read(tmp_path / "a" / "run.json")["config"]["training"]["epochs"] == 3


def test_resume_accepts_the_stored_options_and_names_the_ones_that_differ(capsys, tmp_path):
    out = tmp_path / "a"
    assert cli(capsys, "train", *SMALL, "--epochs", "1", "--out", out)[0] == 0
    before = (out / CHECKPOINT_NAME).read_bytes()
    rc, _, err = cli(capsys, "train", *SMALL, "--out", out, "--resume", "--lr", "0.01", "--hidden", "30")
    assert rc == 2
    assert "--lr (stored: 0.001, given: 0.01)" in err and "--hidden (stored: 20, given: 30)" in err
    assert "--epochs" not in err.split("differ")[1].split(".")[0]
    assert (out / CHECKPOINT_NAME).read_bytes() == before
    # the same options again (and the optimizer's default written out) are accepted
    rc, stdout, err = cli(capsys, "train", *SMALL, "--lr", "0.001", "--out", out, "--resume")
    assert rc == 0 and "resumed from epoch 1" in stdout, err
    rc, _, err = cli(capsys, "train", *SMALL, "--out", out, "--resume", "--epochs", "1")
    assert rc == 2 and "already holds 2 epochs" in err


def test_a_run_with_a_schedule_clipping_and_early_stopping_records_them_and_resumes_exactly(capsys, tmp_path):
    args = [*SMALL, "--val-fraction", "0.2", "--epochs", "12", "--optimizer", "momentum", "--lr", "0.2",
            "--lr-schedule", "multistep:2,4:0.5", "--early-stop", "val_acc:2:restore", "--clip-grad-norm", "1.0"]
    out = tmp_path / "a"
    rc, stdout, err = cli(capsys, "train", *args, "--out", out)
    assert rc == 0, err
    history, metrics = read(out / "history.json"), read(out / "summary.json")
    assert [r["lr"] for r in history["epochs"]][:6] == [0.2, 0.2, 0.2, 0.1, 0.1, 0.05]
    assert all(r["grad_norm_max"] >= r["grad_norm_mean"] > 0 for r in history["epochs"][1:])
    stopped, restored = history["stopped_epoch"], history["restored_epoch"]
    assert stopped is not None and stopped < 12 and len(history["epochs"]) == stopped + 1
    assert restored is not None and restored < stopped
    assert (metrics["status"], metrics["stopped_epoch"], metrics["restored_epoch"]) == ("completed", stopped, restored)
    assert metrics["restored"] == history["epochs"][restored] and metrics["epochs_completed"] == stopped
    assert history["message"].startswith("early stopping: val_acc did not rise for 2 epochs; "
                                         f"stopped after epoch {stopped}")
    assert history["message"] == metrics["message"] and history["message"] in stdout
    assert f"test accuracy of the restored weights: {100 * history['epochs'][restored]['test_acc']:.2f}%" in stdout
    config = read(out / "run.json")["config"]["training"]
    assert config["lr_schedule"] == "multistep:milestones=2,4:gamma=0.5"
    assert config["early_stop"] == "val_acc:patience=2:min_delta=0.0:mode=max:restore=true"
    # stopped after 3 epochs, resumed with the short spelling of the same options: the same run
    assert cli(capsys, "train", *args, "--epochs", "3", "--out", tmp_path / "b")[0] == 0
    rc, stdout, err = cli(capsys, "train", *args, "--out", tmp_path / "b", "--resume")
    assert rc == 0 and "resumed from epoch 3" in stdout, err
    assert timeless(tmp_path / "b") == timeless(out)
    # an option that differs is named
    rc, _, err = cli(capsys, "train", *args[:-1], "2.0", "--out", tmp_path / "b", "--resume")
    assert rc == 2 and "--clip-grad-norm (stored: 1.0, given: 2.0)" in err


# -- a real kill ----------------------------------------------------------------------------------
KILL_ARGS = ["--train-size", "2000", "--epochs", "6", "--hidden", "50", "--val-fraction", "0.1",
             "--dropout", "0.1", "--seed", "7", "--eval-samples", "2000", "-q"]
LAUNCH = [sys.executable, "-c", "import sys; from trainlab.cli import main; sys.exit(main())", "train"]
#: the same command, each update slowed by 12 ms (the test slows the trainer; no number changes)
SLOW = [sys.executable, "-c",
        "import sys, time\n"
        "from trainlab.trainer import Trainer\n"
        "real = Trainer._call\n"
        "def call(self, hook, *a):\n"
        "    if hook == 'on_step_end': time.sleep(0.012)\n"
        "    return real(self, hook, *a)\n"
        "Trainer._call = call\n"
        "from trainlab.cli import main\n"
        "sys.exit(main())", "train"]


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
    proc = subprocess.Popen([*SLOW, *KILL_ARGS, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
    got, want = timeless(out), timeless(uninterrupted)
    differ = {f"{part}.{k}": (a.get(k), b.get(k)) for part, a, b in zip(("history", "summary"), got, want)
              for k in set(a) | set(b) if a.get(k) != b.get(k)}
    assert not differ, (context, {k: (str(a)[:200], str(b)[:200]) for k, (a, b) in differ.items()})
    assert read(out / "run.json")["config"] == read(uninterrupted / "run.json")["config"], context
    assert not list(out.glob(".*.tmp")), context


def test_two_trains_into_one_out_at_once_the_second_is_refused_naming_the_first(capsys, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([*SLOW, *KILL_ARGS, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not (out / "run.json").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        rc, _, err = cli(capsys, "train", *KILL_ARGS, "--out", out, "--overwrite")
        assert rc == 2 and f"in use by process {proc.pid}" in err and "Traceback" not in err
    finally:
        proc.wait(timeout=120)
    assert proc.returncode == 0
    assert read(out / "run.json")["status"] == "completed"


# -- the behaviour claim, at reduced size ---------------------------------------------------------
def test_adam_784_100x4_10_relu_he_reaches_93_percent_on_20k_samples_in_2_epochs(capsys, tmp_path):
    """The full claim (60k samples, 5 epochs, batch 128 → ≥ 97%; measured 97.17%, ~4 s) in reduced
    form. Measured over seeds 0–4: 94.0–95.0% here (10k samples × 2 epochs gives only 91.7–92.9%)."""
    out = tmp_path / "adam"
    rc, stdout, _ = cli(capsys, "train", "--optimizer", "adam", "--lr", "0.001", "--epochs", "2",
                        "--batch-size", "128", "--train-size", "20000", "--hidden", "100,100,100,100",
                        "--activation", "relu", "--init", "he", "-q", "--out", out)
    assert rc == 0
    metrics = read(out / "summary.json")
    assert metrics["status"] == "completed" and metrics["epochs_completed"] == 2
    assert metrics["test_acc"] >= 0.93, stdout
