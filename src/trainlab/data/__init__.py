"""TrainLab data: bundled MNIST, any four-file IDX dataset, and train/validation splits."""

from .idx import DataError
from .mnist import (
    DATASETS,
    DatasetInfo,
    cache_path,
    dataset_info,
    default_cache_dir,
    load_idx_dataset,
    load_mnist,
)
from .spec import Arrays, DataSpec, load_arrays
from .splits import Splits, split_train_val

__all__ = [
    "Arrays",
    "DATASETS",
    "DataSpec",
    "load_arrays",
    "DataError",
    "DatasetInfo",
    "Splits",
    "cache_path",
    "dataset_info",
    "default_cache_dir",
    "load_idx_dataset",
    "load_mnist",
    "split_train_val",
]
