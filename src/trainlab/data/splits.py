"""Training subsets and seeded train/validation splits, as in the book's chapter 6."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Splits:
    """Training and validation arrays; the validation arrays are empty when not requested."""

    x_train: np.ndarray
    t_train: np.ndarray
    x_val: np.ndarray
    t_val: np.ndarray

    @property
    def has_val(self) -> bool:
        """True when there is at least one validation sample."""
        return len(self.x_val) > 0


def _check_train_size(train_size: int | None, n: int) -> int:
    """Validated number of leading samples to keep."""
    if train_size is None:
        return n
    if isinstance(train_size, bool) or not isinstance(train_size, (int, np.integer)):
        raise ValueError(f"train_size must be an integer in 1..{n}, got {train_size!r}")
    if not 1 <= train_size <= n:
        raise ValueError(f"train_size must be in 1..{n} (the number of samples), got {train_size}")
    return int(train_size)


def _check_val_count(val_fraction: float, n: int) -> int:
    """Validated number of validation samples, int(n * val_fraction)."""
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float, np.floating)) \
            or not math.isfinite(val_fraction) or not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be a number in [0, 1), got {val_fraction!r}")
    n_val = int(n * val_fraction)
    if val_fraction > 0 and n < 2:
        raise ValueError(f"val_fraction={val_fraction}: a validation split needs at least 2 samples "
                         f"(1 validation, 1 training), and there is {n}")
    if val_fraction > 0 and not 1 <= n_val <= n - 1:
        raise ValueError(
            f"val_fraction={val_fraction} of {n} samples gives {n_val} validation samples; "
            f"it must leave at least 1 validation and 1 training sample "
            f"(use a value in [{1 / n:.4g}, {(n - 1) / n:.4g}])")
    return n_val


def split_train_val(x: np.ndarray, t: np.ndarray, train_size: int | None = None,
                    val_fraction: float = 0.0,
                    rng_or_seed: int | np.random.Generator | None = 0) -> Splits:
    """Keep the first `train_size` samples, then shuffle (seeded) and hold out
    int(n * val_fraction) as validation, like the book (500 -> 400 train / 100 val)."""
    if len(x) != len(t):
        raise ValueError(f"x and t must have the same length, got {len(x)} and {len(t)}")
    n = _check_train_size(train_size, len(x))
    x, t = x[:n], t[:n]
    n_val = _check_val_count(val_fraction, n)
    if n_val == 0:
        return Splits(x, t, x[:0], t[:0])
    perm = np.random.default_rng(rng_or_seed).permutation(n)
    x, t = x[perm], t[perm]
    return Splits(x[n_val:], t[n_val:], x[:n_val], t[:n_val])
