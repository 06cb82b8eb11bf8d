"""Trainer: batching, evaluation, history, callbacks, seed streams, determinism, divergence, resume.

All on a small synthetic task (fast); the MNIST-sized checks are in test_cli_train.py.
"""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest

from trainlab.callbacks import EpochLogger, ProgressBar, progress_callbacks
from trainlab.checkpoint import CHECKPOINT_NAME, load_checkpoint
from trainlab.history import History
from trainlab.model import ModelSpec
from trainlab.trainer import Data, Trainer, TrainConfig, fit


def toy_data(n=230, d=12, k=4, seed=0, val=40, test=60) -> Data:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n + val + test, d)).astype(np.float32)
    t = (x[:, :k] * np.arange(1, k + 1)).argmax(axis=1)
    return Data(x[:n], t[:n], x[n : n + val], t[n : n + val], x[n + val :], t[n + val :])


SPEC = ModelSpec(input_size=12, hidden_sizes=(16, 16), output_size=4)


def cfg(**kw) -> TrainConfig:
    base = dict(epochs=3, batch_size=32, optimizer="adam", optimizer_params={"lr": 1e-2}, seed=3)
    base.update(kw)
    return TrainConfig(**base)


# -- batching -------------------------------------------------------------------------------------
def test_epoch_sampling_sees_every_sample_once_per_epoch_in_a_fresh_order():
    tr = Trainer(SPEC, toy_data(), cfg())
    assert tr.iters_per_epoch == math.ceil(230 / 32) == 8
    first = np.concatenate(list(tr._batches()))
    second = np.concatenate(list(tr._batches()))
    assert sorted(first) == list(range(230)) and sorted(second) == list(range(230))
    assert not np.array_equal(first, second)
    sizes = [len(b) for b in tr._batches()]
    assert sizes == [32] * 7 + [230 - 7 * 32]


def test_replacement_sampling_draws_full_batches_with_replacement_as_the_book():
    tr = Trainer(SPEC, toy_data(), cfg(sampling="replacement"))
    batches = list(tr._batches())
    assert len(batches) == 8 and all(len(b) == 32 for b in batches)
    allidx = np.concatenate(batches)
    assert allidx.min() >= 0 and allidx.max() < 230
    assert len(np.unique(allidx)) < len(allidx)  # repeats: with replacement
    _, h = fit(SPEC, toy_data(), cfg(sampling="replacement", epochs=2))
    assert len(h.iter_loss) == 16


# -- evaluation and history -----------------------------------------------------------------------
def test_history_records_each_split_every_whole_epoch():
    _, h = fit(SPEC, toy_data(), cfg(epochs=4))
    assert [r["epoch"] for r in h.epochs] == [0, 1, 2, 3, 4]
    assert [r["iteration"] for r in h.epochs] == [0, 8, 16, 24, 32]
    for key in ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"):
        assert all(key in r for r in h.epochs)
    assert len(h.iter_loss) == 32 and all(isinstance(v, float) for v in h.iter_loss)
    assert len(h.wall_time) == 5 and h.wall_time == sorted(h.wall_time)
    assert h.status == "completed" and h.message == ""
    assert h.metric("val_acc") == [r["val_acc"] for r in h.epochs]
    assert h.last["train_acc"] > h.epochs[0]["train_acc"]  # it learns
    # JSON (and dict) round trip, CSV one row per epoch
    again = History.from_json(h.to_json())
    assert again == h and History.from_dict(json.loads(json.dumps(h.to_dict()))) == h
    rows = h.to_csv().strip().splitlines()
    assert rows[0].split(",")[:3] == ["epoch", "iteration", "wall_time"] and len(rows) == 6
    assert float(rows[-1].split(",")[rows[0].split(",").index("test_acc")]) == h.last["test_acc"]
    assert "wall_time" not in h.without_times() and "iter_loss" in h.without_times()


def test_missing_splits_are_left_out():
    d = toy_data()
    _, h = fit(SPEC, Data(d.x_train, d.t_train), cfg(epochs=1))
    assert set(h.last) == {"epoch", "iteration", "train_loss", "train_acc", "lr"}


def test_eval_samples_evaluates_the_first_k_of_each_split():
    d = toy_data()
    model, h = fit(SPEC, d, cfg(epochs=1, eval_samples=25))
    last = h.last
    assert last["train_acc"] == pytest.approx(model.accuracy(d.x_train[:25], d.t_train[:25]))
    assert last["test_acc"] == pytest.approx(model.accuracy(d.x_test[:25], d.t_test[:25]))
    assert last["val_loss"] == pytest.approx(model.loss(d.x_val[:25], d.t_val[:25]), rel=1e-5)
    assert (last["train_acc"] * 25) == round(last["train_acc"] * 25)


# -- seeds ----------------------------------------------------------------------------------------
def test_same_seed_gives_a_bit_identical_history_and_another_seed_does_not():
    a = fit(SPEC.replace(dropout=0.2, batch_norm=True), toy_data(), cfg())[1]
    b = fit(SPEC.replace(dropout=0.2, batch_norm=True), toy_data(), cfg())[1]
    c = fit(SPEC.replace(dropout=0.2, batch_norm=True), toy_data(), cfg(seed=4))[1]
    assert a.without_times() == b.without_times()
    assert a.iter_loss != c.iter_loss


def test_dropout_changes_neither_the_initial_weights_nor_the_batch_order():
    plain = Trainer(SPEC, toy_data(), cfg())
    dropped = Trainer(SPEC.replace(dropout=0.5), toy_data(), cfg())
    np.testing.assert_array_equal(plain.model.params.data, dropped.model.params.data)
    for _ in range(3):
        for b1, b2 in zip(plain._batches(), dropped._batches(), strict=True):
            np.testing.assert_array_equal(b1, b2)
    # training with dropout draws masks from its own stream: the batch order after training is
    # still the same as without dropout
    _, h1 = fit(SPEC, toy_data(), cfg(epochs=1))
    tr = Trainer(SPEC.replace(dropout=0.5), toy_data(), cfg(epochs=1))
    tr.train()
    ref = Trainer(SPEC, toy_data(), cfg(epochs=1))
    ref.train()
    np.testing.assert_array_equal(next(tr._batches()), next(ref._batches()))


# -- callbacks and verbosity ---------------------------------------------------------------------
class Spy:
    def __init__(self):
        self.calls = []

    def on_train_begin(self, trainer):
        self.calls.append("begin")

    def on_step_end(self, trainer, loss):
        self.calls.append("step")

    def on_epoch_end(self, trainer, record):
        self.calls.append(("epoch", record["epoch"]))

    def on_train_end(self, trainer):
        self.calls.append("end")


def test_callbacks_are_called_in_order():
    spy = Spy()
    fit(SPEC, toy_data(), cfg(epochs=2), callbacks=[spy])
    assert spy.calls == ["begin", ("epoch", 0)] + ["step"] * 8 + [("epoch", 1)] + ["step"] * 8 + [("epoch", 2), "end"]


def test_progress_bar_shows_epoch_loss_accuracy_and_is_silent_off_a_terminal():
    quiet = io.StringIO()  # not a terminal: tqdm's default disables itself
    fit(SPEC, toy_data(), cfg(epochs=2), callbacks=[ProgressBar(file=quiet)])
    assert quiet.getvalue() == ""
    shown = io.StringIO()
    fit(SPEC, toy_data(), cfg(epochs=2), callbacks=[ProgressBar(file=shown, disable=False)])
    text = shown.getvalue()
    assert "epoch=2/2" in text and "loss=" in text and "acc=" in text and "16/16" in text
    logged = io.StringIO()
    fit(SPEC, toy_data(), cfg(epochs=2), callbacks=[EpochLogger(file=logged)])
    lines = logged.getvalue().strip().splitlines()
    assert len(lines) == 3 and lines[2].startswith("epoch 2 | train loss")


def test_verbosity_levels():
    assert progress_callbacks(0) == []
    assert [type(c) for c in progress_callbacks(1)] == [ProgressBar]
    assert [type(c) for c in progress_callbacks(2)] == [ProgressBar, EpochLogger]
    with pytest.raises(ValueError, match="verbosity"):
        progress_callbacks(5)


# -- divergence -----------------------------------------------------------------------------------
def test_divergence_stops_with_a_message_and_keeps_the_history(tmp_path):
    bad = cfg(epochs=5, optimizer="sgd", optimizer_params={"lr": 1e6})
    _, h = fit(SPEC, toy_data(), bad, out_dir=tmp_path)
    assert h.status == "diverged"
    assert "loss became" in h.message and "learning rate" in h.message and "lr=1e+06" in h.message
    assert all(math.isfinite(v) for v in h.iter_loss)
    assert len(h.epochs) >= 1 and len(h.iter_loss) < 5 * 8
    # the checkpoint holds the last good epoch, never NaN parameters
    arrays, meta = load_checkpoint(tmp_path / CHECKPOINT_NAME)
    assert meta["epoch"] == len(h.epochs) - 1
    assert all(np.isfinite(v).all() for k, v in arrays.items() if k.startswith("param/"))


def test_bn_with_a_last_batch_of_one_sample_is_refused_up_front():
    with pytest.raises(ValueError, match="batch_size=32 leaves a last mini-batch of 1"):
        Trainer(SPEC.replace(batch_norm=True), toy_data(n=225), cfg())


# -- checkpoints and resume -----------------------------------------------------------------------
RESUME_SPEC = SPEC.replace(batch_norm=True, dropout=0.1)


@pytest.mark.parametrize("optimizer", ["adam", "momentum", "rmsprop"])
def test_resume_from_a_checkpoint_gives_exactly_the_uninterrupted_history(tmp_path, optimizer):
    conf = cfg(epochs=4, optimizer=optimizer, optimizer_params={"lr": 1e-2})
    model_full, full = fit(RESUME_SPEC, toy_data(), conf)
    fit(RESUME_SPEC, toy_data(), conf.replace(epochs=2), out_dir=tmp_path)
    model, resumed = fit(RESUME_SPEC, toy_data(), conf, out_dir=tmp_path, resume=True)
    assert resumed.without_times() == full.without_times()
    np.testing.assert_array_equal(model.params.data, model_full.params.data)
    assert resumed.wall_time == sorted(resumed.wall_time)


class KillAt:
    """Raises KeyboardInterrupt at update number ``at`` (counting across the run)."""

    def __init__(self, at):
        self.at, self.n = at, 0

    def on_step_end(self, trainer, loss):
        self.n += 1
        if self.n == self.at:
            raise KeyboardInterrupt


def test_interrupted_mid_epoch_then_resumed_matches_the_uninterrupted_run(tmp_path):
    conf = cfg(epochs=4)
    _, full = fit(RESUME_SPEC, toy_data(), conf)
    tr = Trainer(RESUME_SPEC, toy_data(), conf, callbacks=[KillAt(8 * 2 + 3)], out_dir=tmp_path)
    with pytest.raises(KeyboardInterrupt):
        tr.train()
    assert tr.history.status == "interrupted"
    assert "checkpoint holds epoch 2" in tr.history.message
    _, meta = load_checkpoint(tmp_path / CHECKPOINT_NAME)
    assert meta["epoch"] == 2  # the mid-epoch state was not written
    _, resumed = fit(RESUME_SPEC, toy_data(), conf, out_dir=tmp_path, resume=True)
    assert resumed.without_times() == full.without_times()


def test_resume_refuses_other_options_naming_them(tmp_path):
    fit(SPEC, toy_data(), cfg(epochs=1), out_dir=tmp_path)
    with pytest.raises(ValueError, match=r"training.optimizer_params.*|training.batch_size"):
        fit(SPEC, toy_data(), cfg(epochs=2, batch_size=16), out_dir=tmp_path, resume=True)
    with pytest.raises(ValueError, match=r"model.dropout: checkpoint 0.0, now 0.5"):
        fit(SPEC.replace(dropout=0.5), toy_data(), cfg(epochs=2), out_dir=tmp_path, resume=True)
    # epochs may grow; and a completed run resumed with the same epochs is a no-op
    _, h = fit(SPEC, toy_data(), cfg(epochs=1), out_dir=tmp_path, resume=True)
    assert h.status == "completed" and len(h.epochs) == 2


def test_resume_without_a_checkpoint_starts_from_scratch(tmp_path):
    _, a = fit(SPEC, toy_data(), cfg(epochs=1), out_dir=tmp_path / "new", resume=True)
    _, b = fit(SPEC, toy_data(), cfg(epochs=1))
    assert a.without_times() == b.without_times()
