"""Pinned before the application-layer refactor: what the trainer records and how it draws batches.

1. The per-epoch record is the returned model's own ``loss``/``accuracy`` in evaluation mode, for a
   model with dropout, batch norm and weight decay (where training mode would give other numbers).

   Compared EXACTLY (``==``), not to float32 rounding. Why exact equality holds today: both paths run
   the same float32 forward pass on the same array (the arrays passed in are already float32, so
   ``check_batch`` keeps them without a copy and the trainer evaluates a view of that very buffer in
   one chunk, since every split is smaller than ``ModelSpec.eval_rows``); the loss is the same
   Python float ``L`` (a double); the trainer then computes ``(L·n)/n + R`` while ``model.loss``
   computes ``L + R``. Every split size here is a power of two, and multiplying and dividing a
   double by 2^k is exact, so the two are bit-identical. Any difference is therefore a real
   change (training-mode evaluation, a missing weight-decay term, a different split), not round-off.

3. ``sampling="replacement"`` draws each batch with replacement: observed through the training loop
   (a spy on ``model.gradient`` reads back the row index that every input row carries in column 0),
   so it pins what the trainer's batch generator feeds to the model, whatever it is called.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from trainlab.model import ModelSpec
from trainlab.trainer import Data, Trainer, TrainConfig, fit

D, K = 6, 3  # features, classes


def _split(rng, n):
    x = rng.standard_normal((n, D)).astype(np.float32)
    t = rng.integers(0, K, n)
    return x, t


def _data(n_train=64, n_val=32, n_test=32, seed=0) -> Data:
    rng = np.random.default_rng(seed)
    x, t = _split(rng, n_train)
    xv, tv = _split(rng, n_val)
    xt, tt = _split(rng, n_test)
    return Data(x, t, xv, tv, xt, tt)


def _spec(dropout_convention="inverted", bn_convention="torch") -> ModelSpec:
    return ModelSpec(input_size=D, hidden_sizes=(8, 8), output_size=K, batch_norm=True,
                     bn_convention=bn_convention, dropout=0.3, dropout_convention=dropout_convention,
                     weight_decay=0.01)


def _config(**kw) -> TrainConfig:
    base = dict(epochs=2, batch_size=16, optimizer="sgd", optimizer_params={"lr": 0.1}, seed=1)
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.parametrize("dropout_convention, bn_convention", [("inverted", "torch"), ("classic", "book")])
def test_final_epoch_record_is_the_returned_models_eval_loss_and_accuracy(dropout_convention, bn_convention):
    data = _data()
    spec = _spec(dropout_convention, bn_convention)
    model, history = fit(spec, data, _config())
    assert history.status == "completed"
    last = history.epochs[-1]
    assert last["epoch"] == 2 and len(history.epochs) == 3  # epoch 0 (before training), 1, 2
    for split, x, t in (("train", data.x_train, data.t_train), ("val", data.x_val, data.t_val),
                        ("test", data.x_test, data.t_test)):
        assert last[f"{split}_loss"] == model.loss(x, t), split
        assert last[f"{split}_acc"] == model.accuracy(x, t), split
    # the comparison can fail: the model has a decay term, and training mode (batch statistics,
    # dropout masks) gives another loss; computed last because it moves the BN running statistics
    assert model.regularization() > 0
    assert model.loss(data.x_train, data.t_train, train=True) != last["train_loss"]


def test_eval_samples_record_is_the_models_eval_loss_on_the_first_k_rows():
    data = _data()
    model, history = fit(_spec(), data, _config(eval_samples=16))
    last = history.epochs[-1]
    for split, x, t in (("train", data.x_train, data.t_train), ("val", data.x_val, data.t_val),
                        ("test", data.x_test, data.t_test)):
        assert last[f"{split}_loss"] == model.loss(x[:16], t[:16]), split
        assert last[f"{split}_acc"] == model.accuracy(x[:16], t[:16]), split
        assert last[f"{split}_loss"] != model.loss(x, t), split  # really only the first 16


# -- sampling with replacement, seen by the model ------------------------------------------------
def _indexed_data(n: int) -> Data:
    """Row i carries i in column 0 (exact in float32), so a batch tells which rows it holds."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((n, D)).astype(np.float32)
    x[:, 0] = np.arange(n, dtype=np.float32)
    return Data(x, rng.integers(0, K, n))


def _batches_seen(n: int, batch_size: int, epochs: int, sampling: str) -> tuple[list[np.ndarray], int]:
    spec = ModelSpec(input_size=D, hidden_sizes=(4,), output_size=K)
    trainer = Trainer(spec, _indexed_data(n), _config(epochs=epochs, batch_size=batch_size, sampling=sampling,
                                                       optimizer_params={"lr": 1e-3}))
    seen: list[np.ndarray] = []
    gradient = trainer.model.gradient

    def spy(x, t, **kw):
        seen.append(np.asarray(x[:, 0]).astype(np.int64))
        return gradient(x, t, **kw)

    trainer.model.gradient = spy
    history = trainer.train()
    assert history.status == "completed"
    return seen, trainer.iters_per_epoch


def test_replacement_sampling_draws_every_index_with_duplicates_within_an_epoch():
    n, b, epochs = 10, 4, 60
    batches, per_epoch = _batches_seen(n, b, epochs, "replacement")
    assert per_epoch == math.ceil(n / b) == 3
    assert len(batches) == epochs * per_epoch
    assert all(len(batch) == b for batch in batches)  # always full batches, no short last one
    drawn = np.concatenate(batches)
    assert drawn.min() >= 0 and drawn.max() <= n - 1
    assert set(drawn.tolist()) == set(range(n))  # every index, the first and the last included
    for e in range(epochs):  # 12 draws of 10 indices: a repeat in every epoch (pigeonhole)
        epoch = np.concatenate(batches[e * per_epoch:(e + 1) * per_epoch])
        assert len(np.unique(epoch)) < len(epoch), e


def test_replacement_sampling_repeats_even_when_batches_tile_the_set():
    # n = 8, batch 4: 8 draws per epoch, so a repeat is not forced; without replacement there would
    # be none, with replacement an epoch has no repeat with probability 8!/8^8 ≈ 0.24%
    n, b, epochs = 8, 4, 40
    batches, per_epoch = _batches_seen(n, b, epochs, "replacement")
    epochs_with_repeats = sum(
        len(np.unique(np.concatenate(batches[e * per_epoch:(e + 1) * per_epoch]))) < n for e in range(epochs))
    assert epochs_with_repeats > epochs // 2
    assert set(np.concatenate(batches).tolist()) == set(range(n))


def test_epoch_sampling_seen_the_same_way_has_no_repeats():
    """The control for the spy: with ``sampling='epoch'`` every epoch is a permutation."""
    n, b, epochs = 10, 4, 5
    batches, per_epoch = _batches_seen(n, b, epochs, "epoch")
    assert [len(batch) for batch in batches[:per_epoch]] == [4, 4, 2]
    for e in range(epochs):
        epoch = np.concatenate(batches[e * per_epoch:(e + 1) * per_epoch])
        assert sorted(epoch.tolist()) == list(range(n))
