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
