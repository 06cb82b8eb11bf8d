"""The training instruments without torch: the option grammar (every spec parsed in one place, errors
naming the option), gradient-clipping bookkeeping, early stopping on hand-made metric sequences, and
their wiring into the trainer (the lr in every record, stopping, restoring, resuming exactly)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trainlab.clipping import GradClipper


def test_grad_clipper_records_the_pre_clip_norms_of_the_epoch():
    flat = np.zeros(600)
    clipper = GradClipper(flat, max_norm=1.0)
    rng = np.random.default_rng(1)
    norms = []
    for scale in (3.0, 0.5, 2.0):
        flat[...] = rng.normal(0.0, scale, flat.size)
        norms.append(float(np.sqrt(np.sum(flat**2))))
        clipper()
    stats = clipper.epoch_stats()
    assert stats["grad_norm_max"] == pytest.approx(max(norms), rel=1e-14)
    assert stats["grad_norm_mean"] == pytest.approx(sum(norms) / 3, rel=1e-14)
    assert clipper.epoch_stats() == {}  # reset for the next epoch
    assert stats["grad_norm_max"] > 1.0  # the norms before clipping, not after


def test_grad_clipper_by_value_records_the_norm_and_clamps():
    flat = np.array([3.0, -4.0, 0.5])
    clipper = GradClipper(flat, clip_value=1.0)
    clipper()
    assert flat.tolist() == [1.0, -1.0, 0.5]
    assert clipper.epoch_stats() == {"grad_norm_mean": math.sqrt(25.25), "grad_norm_max": math.sqrt(25.25)}
    with pytest.raises(ValueError, match="exactly one"):
        GradClipper(flat, max_norm=1.0, clip_value=1.0)


# -- the option grammar ---------------------------------------------------------------------------
from trainlab.early_stopping import EarlyStopping  # noqa: E402
from trainlab.instruments import canonical_early_stop, canonical_schedule, parse_early_stop, parse_schedule  # noqa: E402
from trainlab.validate import ConfigError  # noqa: E402

CANONICAL = [
    ("step:30", "step:step_size=30:gamma=0.1"),
    ("step:30:0.5", "step:step_size=30:gamma=0.5"),
    ("STEP:gamma=0.5:step_size=4", "step:step_size=4:gamma=0.5"),
    ("multistep:30,60:0.1", "multistep:milestones=30,60:gamma=0.1"),
    ("multistep:5", "multistep:milestones=5:gamma=0.1"),
    ("exp:0.95", "exp:gamma=0.95"),
    ("cosine:50", "cosine:T_max=50:eta_min=0.0"),
    ("cosine:50:1e-5", "cosine:T_max=50:eta_min=1e-05"),
    ("cosine:t_max=50", "cosine:T_max=50:eta_min=0.0"),
    ("plateau", "plateau:factor=0.1:patience=10:monitor=val_loss:mode=min:threshold=0.0001:threshold_mode=rel:"
                "cooldown=0:min_lr=0.0:eps=1e-08"),
    ("plateau:0.5:3:monitor=val_acc:cooldown=2", "plateau:factor=0.5:patience=3:monitor=val_acc:mode=max:"
                                                 "threshold=0.0001:threshold_mode=rel:cooldown=2:min_lr=0.0:eps=1e-08"),
    ("plateau::2:threshold_mode=ABS:mode=max", "plateau:factor=0.1:patience=2:monitor=val_loss:mode=max:"
                                               "threshold=0.0001:threshold_mode=abs:cooldown=0:min_lr=0.0:eps=1e-08"),
    ("none", None),
    (None, None),
]


@pytest.mark.parametrize("text, canonical", CANONICAL)
def test_schedule_specs_have_one_canonical_form_that_parses_to_itself(text, canonical):
    assert canonical_schedule(text) == canonical
    if canonical is not None:
        assert canonical_schedule(canonical) == canonical
        assert parse_schedule(canonical) == parse_schedule(text)


def test_early_stop_specs():
    assert parse_early_stop("val_loss:5") == {"monitor": "val_loss", "patience": 5, "min_delta": 0.0, "mode": "min",
                                              "restore": False}
    assert parse_early_stop("val_acc:3:restore")["mode"] == "max"
    assert parse_early_stop("val_acc:3:restore")["restore"] is True
    assert canonical_early_stop("val_loss:5:0.001:restore") == "val_loss:patience=5:min_delta=0.001:mode=min:restore=true"
    assert canonical_early_stop("train_loss:2::restore=false") == \
        "train_loss:patience=2:min_delta=0.0:mode=min:restore=false"
    assert canonical_early_stop("val_loss:patience=4:mode=max") == "val_loss:patience=4:min_delta=0.0:mode=max:restore=false"


BAD_SPECS = [
    ("lr_schedule", "warm:3", ["unknown schedule 'warm'", "step, multistep, exp, cosine, plateau"]),
    ("lr_schedule", "step", ["step needs step_size"]),
    ("lr_schedule", "step:0", ["step_size must be an integer >= 1, got '0'"]),
    ("lr_schedule", "step:2.5", ["step_size must be an integer >= 1"]),
    ("lr_schedule", "step:3:-0.1", ["gamma must be a number > 0"]),
    ("lr_schedule", "step:3:0.1:7", ["too many values"]),
    ("lr_schedule", "step:gamma=0.5:3", ["follows a key=value item"]),
    ("lr_schedule", "step:3:size=3", ["step has no parameter 'size'", "step_size, gamma"]),
    ("lr_schedule", "step:3:step_size=4", ["step_size is given twice"]),
    ("lr_schedule", "multistep:30,20", ["milestones must be increasing integers >= 1"]),
    ("lr_schedule", "multistep:0,20", ["milestones must be increasing"]),
    ("lr_schedule", "exp:nan", ["gamma must be a number > 0, got 'nan'"]),
    ("lr_schedule", "cosine:50:-1", ["eta_min must be a number >= 0"]),
    ("lr_schedule", "plateau:1.5", ["factor must be a number in (0, 1)"]),
    ("lr_schedule", "plateau:0.5:-1", ["patience must be an integer >= 0"]),
    ("lr_schedule", "plateau:monitor=test_loss", ["monitor must be one of train_loss, train_acc, val_loss, val_acc"]),
    ("lr_schedule", "plateau:mode=up", ["mode must be one of min, max"]),
    ("lr_schedule", "plateau:threshold_mode=x", ["threshold_mode must be one of rel, abs"]),
    ("lr_schedule", 3, ["must be a text"]),
    ("early_stop", "val_loss", ["val_loss needs patience"]),
    ("early_stop", "val_loss:0", ["patience must be an integer >= 1"]),
    ("early_stop", "val_loss:3:-0.1", ["min_delta must be a number >= 0"]),
    ("early_stop", "test_acc:3", ["the test split must not decide", "validation"]),
    ("early_stop", "accuracy:3", ["unknown metric 'accuracy'", "val_loss"]),
    ("early_stop", "val_loss:3:restore=maybe", ["restore must be true or false"]),
]


@pytest.mark.parametrize("field, text, words", BAD_SPECS, ids=[f"{f}={t}" for f, t, _ in BAD_SPECS])
def test_a_bad_spec_names_its_option_what_is_wrong_and_the_syntax(field, text, words):
    parse = parse_schedule if field == "lr_schedule" else parse_early_stop
    with pytest.raises(ConfigError) as info:
        parse(text)
    assert info.value.field == field
    for w in words:
        assert w in str(info.value), (w, str(info.value))
    if not isinstance(text, int):
        assert str(info.value).startswith(f"{field} {text!r}: ") and "the syntax is" in str(info.value)


# -- early stopping on hand-made sequences --------------------------------------------------------
def _stops_at(values, **kw):
    es = EarlyStopping(**{"monitor": "val_loss", **kw})
    for epoch, v in enumerate(values, start=1):
        if es.update(epoch, v):
            return epoch, es
    return None, es


def test_early_stopping_counts_epochs_without_improvement():
    # best 0.5 at epoch 3; epochs 4, 5, 6 do not improve → stop after epoch 6 with patience 3
    assert _stops_at([1.0, 0.8, 0.5, 0.6, 0.5, 0.7, 0.1], patience=3)[0] == 6
    # an improvement resets the count
    assert _stops_at([1.0, 0.9, 0.95, 0.8, 0.85, 0.9, 0.95], patience=3)[0] == 7
    # min_delta: 0.8 → 0.79 is not an improvement by more than 0.05
    epoch, es = _stops_at([1.0, 0.8, 0.79, 0.78, 0.2], patience=2, min_delta=0.05)
    assert (epoch, es.best_epoch, es.best) == (4, 2, 0.8)
    # an improvement of exactly min_delta is not one (strictly more is needed)
    assert _stops_at([1.0, 0.75, 0.5], patience=1, min_delta=0.25)[0] == 2
    # max mode (accuracies), and NaN is never an improvement
    epoch, es = _stops_at([0.5, 0.7, math.nan, 0.69, 0.71], patience=2, mode="max")
    assert (epoch, es.best_epoch) == (4, 2)
    assert "val_loss did not rise for 2 epochs; stopped after epoch 4 (best val_loss 0.7 at epoch 2)" in es.message()
    # never stopping
    assert _stops_at([3.0, 2.0, 1.0], patience=1)[0] is None


# -- in the trainer -------------------------------------------------------------------------------
from trainlab.checkpoint import CHECKPOINT_NAME, load_checkpoint  # noqa: E402
from trainlab.model import ModelSpec  # noqa: E402
from trainlab.trainer import Data, Trainer, TrainConfig, fit  # noqa: E402


def toy_data(n=230, d=12, k=4, seed=0, val=40, test=60) -> Data:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n + val + test, d)).astype(np.float32)
    t = (x[:, :k] * np.arange(1, k + 1)).argmax(axis=1)
    return Data(x[:n], t[:n], x[n : n + val], t[n : n + val], x[n + val :], t[n + val :])


SPEC = ModelSpec(input_size=12, hidden_sizes=(16, 16), output_size=4)
ITERS = 8  # ceil(230 / 32)


def cfg(**kw) -> TrainConfig:
    base = dict(epochs=3, batch_size=32, optimizer="sgd", optimizer_params={"lr": 0.1}, seed=3)
    base.update(kw)
    return TrainConfig(**base)


def test_every_record_has_the_lr_of_its_last_update():
    _, h = fit(SPEC, toy_data(), cfg())
    assert [r["lr"] for r in h.epochs] == [0.1] * 4  # no schedule: the constant lr
    _, h = fit(SPEC, toy_data(), cfg(epochs=4, lr_schedule="step:2:0.5"))
    assert [r["lr"] for r in h.epochs] == [0.1, 0.1, 0.1, 0.05, 0.05]  # epochs 3, 4 run at 0.05
    _, h = fit(SPEC, toy_data(), cfg(epochs=2, lr_schedule="exp:0.5", schedule_every="iteration"))
    # update k runs at 0.1·0.5^k; the last update of epoch e is update 8e − 1
    assert [r["lr"] for r in h.epochs] == [0.1, 0.1 * 0.5**7, 0.1 * 0.5**15]
    _, h = fit(SPEC, toy_data(), cfg(epochs=3, warmup=2, warmup_factor=0.25))
    assert [r["lr"] for r in h.epochs] == [0.025, 0.025, 0.0625, 0.1]  # LinearLR alone: it reaches 0.1


def test_schedule_every_iteration_steps_after_every_update(monkeypatch):
    seen = []
    tr = Trainer(SPEC, toy_data(), cfg(epochs=2, lr_schedule="cosine:10", schedule_every="iteration", warmup=3))
    step = tr.optimizer.step
    monkeypatch.setattr(tr.optimizer, "step", lambda: (seen.append(tr.optimizer.lr), step())[1])
    tr.train()
    from trainlab.optim import make_optimizer
    from trainlab.schedules import CosineAnnealingLR, LinearLR, SequentialLR

    o = make_optimizer("sgd", (np.zeros(1), np.zeros(1)), lr=0.1)
    s = SequentialLR(o, [LinearLR(o, 1 / 3, 1.0, 3), CosineAnnealingLR(o, 10)], [3])
    expected = []
    for _ in range(2 * ITERS):
        expected.append(o.lr)
        s.step()
    assert seen == expected and len(set(seen)) > 10


def test_clipping_records_the_pre_clip_norms_and_changes_the_run():
    _, plain = fit(SPEC, toy_data(), cfg())
    _, clipped = fit(SPEC, toy_data(), cfg(clip_grad_norm=0.05))
    _, by_value = fit(SPEC, toy_data(), cfg(clip_grad_value=1e-3))
    assert "grad_norm_max" not in plain.epochs[1]  # nothing recorded (or run) unless clipping is on
    for h in (clipped, by_value):
        assert "grad_norm_mean" not in h.epochs[0]  # no update before epoch 0's record
        for r in h.epochs[1:]:
            assert 0 < r["grad_norm_mean"] <= r["grad_norm_max"] and r["grad_norm_max"] > 0.05
        assert h.iter_loss[:1] == plain.iter_loss[:1] and h.iter_loss[1] != plain.iter_loss[1]
    _, loose = fit(SPEC, toy_data(), cfg(clip_grad_norm=1e9))  # never clips: the very same run
    assert loose.iter_loss == plain.iter_loss


class Scripted(Trainer):
    """A trainer whose val_loss after epoch e is ``SCRIPT[e]`` (a hand-made sequence)."""

    script: list[float] = []

    def evaluate(self):
        record = super().evaluate()
        record["val_loss"] = self.script[self.epoch]
        return record


class Weights:
    def __init__(self):
        self.by_epoch = {}

    def on_epoch_end(self, trainer, record):
        self.by_epoch[record["epoch"]] = trainer.model.params.data.copy()


@pytest.mark.parametrize("restore", [False, True])
def test_early_stopping_stops_at_the_right_epoch_and_restores_the_best_weights(restore):
    Scripted.script = [9.0, 1.0, 0.8, 0.5, 0.49, 0.7, 0.485, 0.6, 0.1, 0.1, 0.1]
    weights = Weights()
    spec = "val_loss:3:0.02" + (":restore" if restore else "")
    tr = Scripted(SPEC, toy_data(), cfg(epochs=10, early_stop=spec), callbacks=[weights])
    h = tr.train()
    # best 0.5 at epoch 3 (0.49 and 0.485 do not beat it by more than 0.02): 4, 5, 6 do not improve, stop after 6
    assert h.status == "completed" and h.stopped_epoch == 6 and len(h.epochs) == 7
    assert len(h.iter_loss) == 6 * ITERS
    assert h.message.startswith("early stopping: val_loss did not fall by more than 0.02 for 3 epochs; "
                                "stopped after epoch 6 (best val_loss 0.5 at epoch 3)")
    if restore:
        assert h.restored_epoch == 3 and h.message.endswith("; restored the weights of epoch 3")
        np.testing.assert_array_equal(tr.model.params.data, weights.by_epoch[3])
    else:
        assert h.restored_epoch is None
        np.testing.assert_array_equal(tr.model.params.data, weights.by_epoch[6])


def test_restore_without_an_early_stop_ends_with_the_best_epoch_of_a_full_run():
    Scripted.script = [9.0, 1.0, 0.5, 0.7, 0.8]
    weights = Weights()
    tr = Scripted(SPEC, toy_data(), cfg(epochs=4, early_stop="val_loss:5:restore"), callbacks=[weights])
    h = tr.train()
    assert h.stopped_epoch is None and h.restored_epoch == 2 and h.message == "restored the weights of epoch 2"
    np.testing.assert_array_equal(tr.model.params.data, weights.by_epoch[2])


class StopAt:
    def __init__(self, hook, at):
        self.hook, self.at, self.n = hook, at, 0

    def on_step_end(self, trainer, loss):
        self.n += 1
        if self.hook == "step" and self.n == self.at:
            trainer.stop("enough steps")

    def on_epoch_end(self, trainer, record):
        if self.hook == "epoch" and record["epoch"] == self.at:
            trainer.stop("enough epochs")


def test_a_callback_stops_training_cleanly_after_a_whole_epoch(tmp_path):
    _, h = fit(SPEC, toy_data(), cfg(epochs=5), callbacks=[StopAt("epoch", 2)], out_dir=tmp_path / "a")
    assert (h.status, h.stopped_epoch, h.message, len(h.epochs)) == ("completed", 2, "enough epochs", 3)
    _, h = fit(SPEC, toy_data(), cfg(epochs=5), callbacks=[StopAt("step", ITERS + 3)], out_dir=tmp_path / "b")
    assert (h.stopped_epoch, h.message, len(h.iter_loss)) == (2, "enough steps", 2 * ITERS)  # epoch 2 finishes
    _, meta = load_checkpoint(tmp_path / "b" / CHECKPOINT_NAME)
    assert meta["epoch"] == 2 and meta["history"]["stopped_epoch"] == 2
    # a stopped run stays stopped: resuming it (even with more epochs) trains nothing more
    _, again = fit(SPEC, toy_data(), cfg(epochs=8), out_dir=tmp_path / "b", resume=True)
    assert again.without_times() == h.without_times()


RESUME_CONFIGS = {
    "momentum+warmup+cosine/iteration+clip-norm": dict(
        optimizer="momentum", optimizer_params={"lr": 0.05}, lr_schedule="cosine:20:0.001",
        schedule_every="iteration", warmup=5, clip_grad_norm=0.5),
    "adam+plateau+early-stop-restore": dict(
        optimizer="adam", optimizer_params={"lr": 0.02}, lr_schedule="plateau:0.5:0:threshold=0.05",
        early_stop="val_loss:2:0:restore"),
    "rmsprop+warmup+multistep+clip-value": dict(
        optimizer="rmsprop", optimizer_params={"lr": 0.01}, lr_schedule="multistep:2,4:0.3", warmup=1,
        clip_grad_value=0.05),
}
RESUME_SPEC = SPEC.replace(batch_norm=True, dropout=0.1)


@pytest.mark.parametrize("name", list(RESUME_CONFIGS))
def test_resume_with_instruments_gives_exactly_the_uninterrupted_run(tmp_path, name):
    conf = cfg(epochs=9, **RESUME_CONFIGS[name])
    model_full, full = fit(RESUME_SPEC, toy_data(), conf)
    assert len({r["lr"] for r in full.epochs}) > 1  # the schedule acts within the run
    for split in (1, 4, 7):
        out = tmp_path / f"split{split}"
        fit(RESUME_SPEC, toy_data(), conf.replace(epochs=split), out_dir=out)
        model, resumed = fit(RESUME_SPEC, toy_data(), conf, out_dir=out, resume=True)
        assert resumed.without_times() == full.without_times(), split
        np.testing.assert_array_equal(model.params.data, model_full.params.data)


def test_an_early_stopped_run_killed_mid_epoch_resumes_to_the_same_end(tmp_path):
    conf = cfg(epochs=12, **RESUME_CONFIGS["adam+plateau+early-stop-restore"])
    model_full, full = fit(RESUME_SPEC, toy_data(), conf)
    assert full.stopped_epoch is not None and full.restored_epoch is not None, "the case must stop early"

    class Kill:
        def __init__(self):
            self.n = 0

        def on_step_end(self, trainer, loss):
            self.n += 1
            if self.n == 2 * ITERS + 3:
                raise KeyboardInterrupt

    tr = Trainer(RESUME_SPEC, toy_data(), conf, callbacks=[Kill()], out_dir=tmp_path)
    with pytest.raises(KeyboardInterrupt):
        tr.train()
    model, resumed = fit(RESUME_SPEC, toy_data(), conf, out_dir=tmp_path, resume=True)
    assert resumed.without_times() == full.without_times()
    np.testing.assert_array_equal(model.params.data, model_full.params.data)


CONFIG_ERRORS = [
    (dict(lr_schedule="plateau", schedule_every="iteration"), "schedule_every", "cannot step every iteration"),
    (dict(lr_schedule="plateau", warmup=2), "warmup", "SequentialLR refuses ReduceLROnPlateau"),
    (dict(schedule_every="iteration"), "schedule_every", "no lr_schedule and no warmup"),
    (dict(schedule_every="often"), "schedule_every", "epoch, iteration"),
    (dict(warmup=-1), "warmup", ">= 0"),
    (dict(warmup=2, warmup_factor=0.0), "warmup_factor", "(0, 1]"),
    (dict(warmup_factor=0.5), "warmup_factor", "give warmup > 0 too"),
    (dict(clip_grad_norm=0.0), "clip_grad_norm", "> 0"),
    (dict(clip_grad_value=math.inf), "clip_grad_value", "finite"),
    (dict(clip_grad_norm=1.0, clip_grad_value=1.0), "clip_grad_value", "not both"),
    (dict(lr_schedule="step"), "lr_schedule", "needs step_size"),
    (dict(early_stop="val:3"), "early_stop", "unknown metric"),
]


@pytest.mark.parametrize("kw, field, words", CONFIG_ERRORS, ids=[str(kw) for kw, _, _ in CONFIG_ERRORS])
def test_train_config_refuses_bad_instruments_naming_the_field(kw, field, words):
    with pytest.raises(ConfigError, match=None) as info:
        cfg(**kw)
    assert info.value.field == field and words in str(info.value)


@pytest.mark.parametrize("kw, field", [(dict(early_stop="val_acc:3"), "early_stop"),
                                      (dict(lr_schedule="plateau:monitor=val_acc"), "lr_schedule")])
def test_monitoring_a_split_that_is_not_there_is_refused(kw, field):
    d = toy_data()
    with pytest.raises(ConfigError, match="no validation split") as info:
        Trainer(SPEC, Data(d.x_train, d.t_train), cfg(**kw))
    assert info.value.field == field
    Trainer(SPEC, Data(d.x_train, d.t_train), cfg(early_stop="train_loss:3"))  # the training split is there


def test_resolved_config_holds_the_canonical_specs_and_round_trips():
    c = cfg(lr_schedule="step:2", early_stop="val_loss:3:restore")
    assert c.lr_schedule == "step:step_size=2:gamma=0.1"
    assert c.early_stop == "val_loss:patience=3:min_delta=0.0:mode=min:restore=true"
    assert TrainConfig.from_dict(c.to_dict()) == c


def test_nothing_runs_per_update_unless_clipping_or_a_per_iteration_schedule_is_on():
    for kw in ({}, dict(lr_schedule="step:2", early_stop="val_loss:3", warmup=2)):
        tr = Trainer(SPEC, toy_data(), cfg(**kw))
        assert tr.instruments.wrap_step(tr.optimizer.step) == tr.optimizer.step  # the optimizer's own step
    for kw in (dict(clip_grad_norm=1.0), dict(lr_schedule="exp:0.9", schedule_every="iteration")):
        tr = Trainer(SPEC, toy_data(), cfg(**kw))
        assert tr.instruments.wrap_step(tr.optimizer.step) != tr.optimizer.step


def test_a_checkpoint_from_before_the_instruments_resumes(tmp_path):
    from trainlab.checkpoint import save_checkpoint

    conf = cfg(epochs=4)
    _, full = fit(SPEC, toy_data(), conf)
    fit(SPEC, toy_data(), conf.replace(epochs=2), out_dir=tmp_path)
    arrays, meta = load_checkpoint(tmp_path / CHECKPOINT_NAME)
    del meta["instruments"]  # what an older trainlab wrote
    for key in ("lr_schedule", "schedule_every", "warmup", "warmup_factor", "early_stop", "clip_grad_norm",
                "clip_grad_value"):
        del meta["config"][key]
    for key in ("stopped_epoch", "restored_epoch"):
        del meta["history"][key]
    for r in meta["history"]["epochs"]:
        del r["lr"]
    save_checkpoint(tmp_path / CHECKPOINT_NAME, arrays, meta)
    _, resumed = fit(SPEC, toy_data(), conf, out_dir=tmp_path, resume=True)
    assert resumed.iter_loss == full.iter_loss and resumed.epochs[3:] == full.epochs[3:]
    with pytest.raises(ValueError, match="training.lr_schedule: checkpoint None, now 'step:step_size=2:gamma=0.1'"):
        fit(SPEC, toy_data(), conf.replace(lr_schedule="step:2"), out_dir=tmp_path, resume=True)
