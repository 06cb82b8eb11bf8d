"""MNIST (bundled, never downloaded) and other four-file IDX datasets, with a decoded .npy cache.

The first load decodes the IDX files (see :mod:`.idx` for their checks; SHA-256 verified for the
bundled MNIST), checks that the four arrays fit together and that the labels number the classes,
and writes the uint8 arrays as .npy files to a per-user cache, with a ``manifest.json`` written
last that records each array's dtype, shape and SHA-256 and the cache format. The cache key
covers the dataset folder and each file's name, size and mtime, so a changed file invalidates it.

A cache is a convenience, not a source of truth: anyone (a full disk, a killed writer, another
version, a user) may have changed it. Every load verifies it against its manifest (hashing the
~55 MB of MNIST costs tens of milliseconds) and re-checks the arrays; any mismatch, or a missing
or unreadable manifest, means the IDX files are decoded (and checksummed) again and the cache
rewritten. A bad cache is never an error and never trained on; an unwritable one is skipped.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from .. import files
from . import idx

DATASETS: dict[str, str] = {
    "mnist": "bundled MNIST (60,000 train / 10,000 test, 28x28, CC BY-SA 3.0)",
}

FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

MNIST_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

BUNDLED_DIR = Path(__file__).resolve().parent / "mnist"
CACHE_VERSION = "2"  # 2: manifest.json vouches for the arrays
MANIFEST = "manifest.json"
ARRAY_NDIM = {"train_images": 3, "train_labels": 1, "test_images": 3, "test_labels": 1}
LABELS_RULE = "Labels must number the classes 0..K-1, each occurring in the training labels"
BUNDLED_REMEDY = (
    f"Re-copy the file from the MNIST distribution into {BUNDLED_DIR} (or reinstall trainlab), "
    "or pass --data-dir pointing to a folder with the four IDX files."
)

PathLike = str | os.PathLike[str]
Raw = dict[str, np.ndarray]


@dataclass(frozen=True)
class DatasetInfo:
    """Shape facts about a four-file IDX dataset."""

    data_dir: Path
    n_train: int
    n_test: int
    image_shape: tuple[int, int]
    num_classes: int


def bundled_dir() -> Path:
    """Folder holding the bundled MNIST .gz files."""
    return BUNDLED_DIR


def default_cache_dir() -> Path:
    """$TRAINLAB_CACHE, else $XDG_CACHE_HOME/trainlab, else ~/.cache/trainlab."""
    if os.environ.get("TRAINLAB_CACHE"):
        return Path(os.environ["TRAINLAB_CACHE"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "trainlab"
    return Path.home() / ".cache" / "trainlab"


def _is_bundled(data_dir: Path) -> bool:
    """True when data_dir is the bundled MNIST folder (so checksums apply)."""
    try:
        return data_dir.resolve() == bundled_dir().resolve()
    except OSError:
        return False


def _locate(data_dir: Path, remedy: str) -> dict[str, Path]:
    """Find the four IDX files (raw or .gz) in data_dir."""
    return {key: idx.find_idx_file(data_dir, stem, remedy) for key, stem in FILES.items()}


def _cache_key(data_dir: Path, paths: dict[str, Path]) -> str:
    """Hash of the folder identity and each file's name, size and mtime."""
    h = hashlib.sha256(f"v{CACHE_VERSION}|{data_dir.resolve()}".encode())
    for key in sorted(paths):
        st = paths[key].stat()
        h.update(f"|{key}={paths[key].name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:32]


def _check_consistent(raw: Raw, paths: dict[str, Path], remedy: str) -> None:
    """Image and label counts agree; train and test images have the same HxW."""
    for split in ("train", "test"):
        n_img, n_lab = len(raw[f"{split}_images"]), len(raw[f"{split}_labels"])
        if n_img != n_lab:
            raise idx.DataError(
                f"{paths[f'{split}_labels']}: {n_lab} labels but {paths[f'{split}_images']} "
                f"has {n_img} images; the counts must agree. {remedy}")
    if raw["train_images"].shape[1:] != raw["test_images"].shape[1:]:
        raise idx.DataError(
            f"{paths['test_images']}: image size {raw['test_images'].shape[1:]} differs from "
            f"{paths['train_images']} {raw['train_images'].shape[1:]}. {remedy}")


def _spans(values) -> str:
    """Sorted integers as runs: [0, 1, ..., 9, 254] -> '0-9, 254'."""
    values, runs = sorted(int(v) for v in values), []
    for v in values:
        if runs and v == runs[-1][1] + 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def _check_labels(raw: Raw, paths: dict[str, Path], remedy: str) -> None:
    """The labels number the classes: K = max label + 1 over train and test (what the model's
    output size becomes), every class 0..K-1 occurs in training, and no test label is a class
    the training labels never show. Otherwise labels 0..9 plus a stray 254 would silently make
    a 255-class model, and a test-only class could never be predicted."""
    train = np.flatnonzero(np.bincount(raw["train_labels"], minlength=256))
    test = np.flatnonzero(np.bincount(raw["test_labels"], minlength=256))
    unseen = np.setdiff1d(test, train)
    if unseen.size:
        word = "label" if unseen.size == 1 else "labels"
        raise idx.DataError(
            f"{paths['test_labels']}: {word} {_spans(unseen)} never "
            f"{'occurs' if unseen.size == 1 else 'occur'} in the training labels "
            f"({paths['train_labels']} has {_spans(train)}); a model cannot learn a class it never "
            f"sees. {LABELS_RULE}. {remedy}")
    k = int(train[-1]) + 1
    missing = np.setdiff1d(np.arange(k), train)
    if missing.size:
        which = (f"class {_spans(missing)} never occurs" if missing.size == 1
                 else f"classes {_spans(missing)} never occur")
        raise idx.DataError(
            f"{paths['train_labels']}: labels span {train[0]}..{train[-1]} ({train.size} distinct "
            f"values: {_spans(train)}), which makes {k} classes, but {which} in the training "
            f"labels. {LABELS_RULE}. {remedy}")


def _check(raw: Raw, paths: dict[str, Path], remedy: str) -> None:
    """Everything the four arrays must satisfy together (whether decoded or from the cache)."""
    _check_consistent(raw, paths, remedy)
    _check_labels(raw, paths, remedy)


def _decode(paths: dict[str, Path], verify: bool, remedy: str) -> Raw:
    """Decode and check the four IDX files (SHA-256 verified when `verify`)."""
    raw: Raw = {}
    for key, path in paths.items():
        sha = MNIST_SHA256[FILES[key]] if verify else None
        reader = idx.read_images if key.endswith("images") else idx.read_labels
        raw[key] = reader(path, sha, remedy)
    _check(raw, paths, remedy)
    return raw


def _load_npy(path: Path, entry: dict, ndim: int) -> np.ndarray | None:
    """One cached array if its .npy header and bytes match its manifest entry, else None.

    The header (uint8, C order, the rank and the manifest's shape) and the file size are checked
    before the data are read, so a lying file cannot make this allocate more than it holds.
    """
    with open(path, "rb") as f:
        version = npy_format.read_magic(f)
        if version not in ((1, 0), (2, 0)):
            return None
        read_header = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
        shape, fortran_order, dtype = read_header(f)
        n = math.prod(shape) if len(shape) == ndim else -1  # exact: Python integers
        if (dtype != np.uint8 or fortran_order or n < 0 or entry["dtype"] != "uint8"
                or list(shape) != entry["shape"] or os.fstat(f.fileno()).st_size - f.tell() != n):
            return None
        data = np.fromfile(f, dtype=np.uint8, count=n)
    if len(data) != n or hashlib.sha256(data).hexdigest() != entry["sha256"]:
        return None
    return data.reshape(shape)


def _verified(folder: Path) -> Raw | None:
    """The four cached arrays if the manifest (of this CACHE_VERSION) vouches for each one's
    dtype, shape and SHA-256, else None. Never raises: a bad cache is only a reason to decode."""
    try:
        manifest = files.read_json(folder / MANIFEST)
        if manifest["format"] != CACHE_VERSION or sorted(manifest["arrays"]) != sorted(FILES):
            return None
        raw: Raw = {}
        for key, ndim in ARRAY_NDIM.items():
            array = _load_npy(folder / f"{key}.npy", manifest["arrays"][key], ndim)
            if array is None:
                return None
            raw[key] = array
        return raw
    except (OSError, ValueError, EOFError, KeyError, TypeError, AttributeError, MemoryError):
        return None


def _read_cache(folder: Path, paths: dict[str, Path], remedy: str) -> Raw | None:
    """The cached arrays if the manifest vouches for them and they pass the checks, else None."""
    raw = _verified(folder)
    if raw is None:
        return None
    try:
        _check(raw, paths, remedy)
    except idx.DataError:
        return None  # the IDX files are decoded again and tell what is wrong
    return raw


def _write_cache(folder: Path, raw: Raw) -> None:
    """Best-effort cache write: the arrays, then the manifest that vouches for them (each file
    atomically). A cache folder that cannot be written is skipped; the data are in memory."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MANIFEST).unlink(missing_ok=True)  # no manifest while the arrays change
        arrays = {}
        for key, array in raw.items():
            files.write_bytes(folder / f"{key}.npy", lambda f, a=array: np.save(f, a, allow_pickle=False))
            arrays[key] = {"dtype": str(array.dtype), "shape": list(array.shape),
                           "sha256": hashlib.sha256(np.ascontiguousarray(array).data).hexdigest()}
        files.write_json(folder / MANIFEST, {"format": CACHE_VERSION, "arrays": arrays})
    except OSError:
        pass


def cache_path(data_dir: PathLike | None = None, cache_dir: PathLike | None = None) -> Path:
    """Folder where the decoded arrays of data_dir (default: bundled MNIST) are cached."""
    folder = Path(data_dir) if data_dir is not None else bundled_dir()
    paths = _locate(folder, BUNDLED_REMEDY if _is_bundled(folder) else idx.DEFAULT_REMEDY)
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return root / "idx" / _cache_key(folder, paths)


def load_raw(data_dir: PathLike | None = None, cache_dir: PathLike | None = None) -> Raw:
    """The four uint8 arrays (train/test images (N,H,W) and labels (N,)), from a verified cache
    or decoded (and then cached)."""
    folder = Path(data_dir) if data_dir is not None else bundled_dir()
    bundled = _is_bundled(folder)
    remedy = BUNDLED_REMEDY if bundled else idx.DEFAULT_REMEDY
    paths = _locate(folder, remedy)
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache = root / "idx" / _cache_key(folder, paths)
    raw = _read_cache(cache, paths, remedy)
    if raw is None:
        raw = _decode(paths, bundled, remedy)
        _write_cache(cache, raw)
    return raw


def _num_classes(raw: Raw) -> int:
    """max label + 1 over train and test."""
    return int(max(raw["train_labels"].max(), raw["test_labels"].max())) + 1


def dataset_info(data_dir: PathLike | None = None, cache_dir: PathLike | None = None) -> DatasetInfo:
    """Sizes, image shape and number of classes of a dataset (default: bundled MNIST)."""
    raw = load_raw(data_dir, cache_dir)
    h, w = raw["train_images"].shape[1:]
    return DatasetInfo(
        data_dir=Path(data_dir) if data_dir is not None else bundled_dir(),
        n_train=len(raw["train_images"]), n_test=len(raw["test_images"]),
        image_shape=(int(h), int(w)), num_classes=_num_classes(raw))


def _images(x: np.ndarray, normalize: bool, flatten: bool) -> np.ndarray:
    """(N,H,W) uint8 -> float32 [0,1] or uint8, flat (N,H*W) or (N,1,H,W)."""
    n, h, w = x.shape
    x = x.reshape(n, h * w) if flatten else x.reshape(n, 1, h, w)
    if not normalize:
        return x
    return np.divide(x, np.float32(255.0), dtype=np.float32)


def _labels(t: np.ndarray, one_hot: bool, num_classes: int) -> np.ndarray:
    """uint8 labels, or float32 one-hot (N, num_classes)."""
    if not one_hot:
        return t
    out = np.zeros((len(t), num_classes), dtype=np.float32)
    out[np.arange(len(t)), t] = 1.0
    return out


def load_idx_dataset(data_dir: PathLike, normalize: bool = True, flatten: bool = True,
                     one_hot_label: bool = False, cache_dir: PathLike | None = None,
                     ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load a four-file IDX dataset (MNIST layout) as ((x_train, t_train), (x_test, t_test))."""
    raw = load_raw(data_dir, cache_dir)
    k = _num_classes(raw)
    return tuple(  # type: ignore[return-value]
        (_images(raw[f"{s}_images"], normalize, flatten),
         _labels(raw[f"{s}_labels"], one_hot_label, k))
        for s in ("train", "test"))


def load_mnist(normalize: bool = True, flatten: bool = True, one_hot_label: bool = False,
               data_dir: PathLike | None = None, cache_dir: PathLike | None = None,
               ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The book's load_mnist: bundled MNIST, or any IDX dataset in `data_dir`."""
    folder = data_dir if data_dir is not None else bundled_dir()
    return load_idx_dataset(folder, normalize, flatten, one_hot_label, cache_dir)
