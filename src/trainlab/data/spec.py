"""Which data a run trains on: a dataset, an optional training subset and validation split.

``DataSpec`` is recorded in every run (``run.json['data']``) and declares the command-line options
``--dataset``, ``--data-dir``, ``--train-size`` and ``--val-fraction``. ``load(seed)`` returns the
arrays: the first ``train_size`` training samples, a seeded ``val_fraction`` of them held out as
validation (as the book's search does), and the full test set. Arrays are decoded once per process.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..options import integer, number, option
from ..validate import ConfigError, check_choice, from_fields
from .mnist import DATASETS

__all__ = ["DataSpec", "Arrays", "load_arrays"]


@dataclass(frozen=True)
class Arrays:
    """Training, validation (possibly empty) and test arrays, and what they are."""

    x_train: np.ndarray
    t_train: np.ndarray
    x_val: np.ndarray
    t_val: np.ndarray
    x_test: np.ndarray
    t_test: np.ndarray
    input_size: int
    num_classes: int


@functools.lru_cache(maxsize=4)
def load_arrays(data_dir: str | None):
    """((x_train, t_train), (x_test, t_test)) of the bundled MNIST (None) or an IDX folder, once per process."""
    from .mnist import load_mnist

    return load_mnist(data_dir=data_dir)


@dataclass(frozen=True)
class DataSpec:
    """The dataset and how much of it: bundled MNIST by default, or any four-file IDX folder."""

    dataset: str = field(default="mnist", metadata=option(
        "the bundled dataset (ignored with --data-dir)", choices=list(DATASETS)))
    data_dir: str | None = field(default=None, metadata=option(
        "a folder with four IDX files in MNIST's layout (Fashion-MNIST, KMNIST, …) instead of the "
        "bundled MNIST", metavar="DIR"))
    train_size: int | None = field(default=None, metadata=option(
        "train on the first N training samples", parse=integer, metavar="N", none="all"))
    val_fraction: float = field(default=0.0, metadata=option(
        "hold out this fraction of the training samples (seeded) as validation", parse=number, metavar="F"))
    split_seed: int | None = None  # None: the run's seed

    def __post_init__(self):
        object.__setattr__(self, "dataset", check_choice("dataset", self.dataset, DATASETS))
        if self.data_dir is not None:
            object.__setattr__(self, "data_dir", str(Path(self.data_dir).expanduser().resolve()))
        if self.train_size is not None and (not isinstance(self.train_size, (int, np.integer))
                                            or isinstance(self.train_size, bool) or self.train_size < 1):
            raise ConfigError("train_size", f"train_size must be an integer >= 1, got {self.train_size!r}")
        v = self.val_fraction
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 <= v < 1:
            raise ConfigError("val_fraction", f"val_fraction must be a number in [0, 1), got {v!r}")
        if self.split_seed is not None and (not isinstance(self.split_seed, int) or self.split_seed < 0):
            raise ConfigError("split_seed", f"split_seed must be an integer >= 0, got {self.split_seed!r}")

    @property
    def name(self) -> str:
        return self.dataset if self.data_dir is None else Path(self.data_dir).name

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DataSpec":
        return from_fields(cls, d, "data option")

    def load(self, seed: int = 0) -> Arrays:
        """The arrays (raises :class:`~trainlab.data.DataError` for unreadable files, ConfigError for
        a subset/split that the data cannot give)."""
        from .splits import split_train_val

        (x, t), (xt, tt) = load_arrays(self.data_dir)
        try:
            s = split_train_val(x, t, train_size=self.train_size, val_fraction=float(self.val_fraction),
                                rng_or_seed=self.split_seed if self.split_seed is not None else seed)
        except ValueError as exc:
            field_name = "train_size" if str(exc).startswith("train_size") else "val_fraction"
            raise ConfigError(field_name, str(exc)) from None
        num_classes = int(max(t.max(), tt.max())) + 1
        return Arrays(s.x_train, s.t_train, s.x_val, s.t_val, xt, tt, int(np.prod(x.shape[1:])), num_classes)

    def describe(self, arrays: Arrays | None = None) -> dict:
        """What the run record says about the data."""
        d = {"dataset": self.dataset if self.data_dir is None else "idx", "data_dir": self.data_dir,
             "name": self.name, "train_size": self.train_size, "val_fraction": self.val_fraction}
        if arrays is not None:
            d.update(n_train=int(len(arrays.x_train)), n_val=int(len(arrays.x_val)), n_test=int(len(arrays.x_test)),
                     input_size=arrays.input_size, num_classes=arrays.num_classes)
        return d
