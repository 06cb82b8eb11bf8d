"""Hostile or clumsy data: a lying decode cache, IDX headers that overflow or exceed their file,
gzip bombs, and label files whose values do not number the classes 0..K-1.

Every case here was accepted (or crashed in NumPy, or ate memory) before the data hardening.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
import struct
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from trainlab.data import DataError, cache_path, dataset_info, load_idx_dataset, load_mnist
from trainlab.data import idx, mnist

REMEDY = re.escape(idx.DEFAULT_REMEDY)
MANIFEST = "manifest.json"
KEYS = list(mnist.FILES)  # train_images, train_labels, test_images, test_labels


@pytest.fixture(autouse=True)
def _isolated_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Never touch the user's cache."""
    monkeypatch.setenv("TRAINLAB_CACHE", str(tmp_path / "env-cache"))


def idx_bytes(magic: int, array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX."""
    return struct.pack(f">i{array.ndim}i", magic, *array.shape) + np.ascontiguousarray(array, np.uint8).tobytes()


def write_dataset(folder: Path, train_labels=None, test_labels=None, hw=(5, 4), seed: int = 0) -> dict:
    """A four-file raw IDX dataset (default labels: 20 train 0..9 twice, 6 test 0..5); returns
    its arrays keyed like the cache (train_images, train_labels, test_images, test_labels)."""
    rng = np.random.default_rng(seed)
    t = np.asarray(np.arange(20) % 10 if train_labels is None else train_labels, np.uint8)
    tt = np.asarray(np.arange(6) if test_labels is None else test_labels, np.uint8)
    arrays = {"train_images": rng.integers(0, 256, (len(t), *hw), dtype=np.uint8), "train_labels": t,
              "test_images": rng.integers(0, 256, (len(tt), *hw), dtype=np.uint8), "test_labels": tt}
    folder.mkdir(parents=True, exist_ok=True)
    for key, arr in arrays.items():
        magic = idx.IMAGES_MAGIC if arr.ndim == 3 else idx.LABELS_MAGIC
        (folder / mnist.FILES[key]).write_bytes(idx_bytes(magic, arr))
    return arrays


def load_raw_arrays(folder: Path, cache: Path) -> dict:
    """The four uint8 arrays as load_idx_dataset returns them, keyed like the cache."""
    (x, t), (xt, tt) = load_idx_dataset(folder, normalize=False, flatten=False, cache_dir=cache)
    return {"train_images": x[:, 0], "train_labels": t, "test_images": xt[:, 0], "test_labels": tt}


def assert_same(got: dict, want: dict) -> None:
    for key in KEYS:
        assert got[key].dtype == np.uint8 and got[key].shape == want[key].shape, key
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)


class DecodeSpy:
    """Counts IDX decodes (idx.read_idx calls) and the SHA-256 each was asked to verify."""

    def __init__(self, monkeypatch):
        self.calls: list[tuple[str, str | None]] = []
        real = idx.read_idx

        def spy(path, expected_magic, expected_sha256=None, remedy=idx.DEFAULT_REMEDY):
            self.calls.append((Path(path).name, expected_sha256))
            return real(path, expected_magic, expected_sha256, remedy)

        monkeypatch.setattr(idx, "read_idx", spy)


# --- 2. IDX headers that overflow or exceed their file -------------------------------------------

def _header(magic: int, *dims: int) -> bytes:
    return struct.pack(f">i{len(dims)}i", magic, *dims)


def _reject(path: Path, reader, problem: str, max_mb: float = 4.0) -> None:
    """reader(path) raises DataError '<path>: <problem>. <remedy>' without allocating max_mb."""
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as err:
            reader(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert re.fullmatch(rf"{re.escape(str(path))}: {problem}\. {REMEDY}", str(err.value), re.S), str(err.value)
    assert peak < max_mb * 2**20, f"peak {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize("dims, product", [
    ((2**21, 2**21, 2**22), 2**64),  # wraps to 0 in int64: NumPy's reshape raised a ValueError
    ((2**31 - 1,) * 3, (2**31 - 1) ** 3),
    ((2**20, 2**21, 2**22 + 1), 2**41 * (2**22 + 1)),  # wraps to 2**41 in int64
], ids=["wraps-to-zero", "int32-max-cubed", "wraps-to-positive"])
def test_a_header_whose_size_overflows_int64_is_rejected(tmp_path, dims, product):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(_header(idx.IMAGES_MAGIC, *dims))
    shape = "x".join(map(str, dims))
    _reject(path, idx.read_images, rf"header declares {shape} = {product} bytes of data, which overflows "
                                   rf"a 64-bit size; the header is corrupt")


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
def test_a_header_beyond_the_size_cap_is_rejected(tmp_path, gz):
    dims = (60000, 60000, 60000)
    data = _header(idx.IMAGES_MAGIC, *dims) + bytes(100)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(gzip.compress(data) if gz else data)
    _reject(path, idx.read_images, rf"header declares 60000x60000x60000 = {60000**3} bytes of data, more than "
                                   rf"the {idx.MAX_DATA_BYTES} bytes this reader accepts; the header is corrupt")


def test_a_raw_file_shorter_than_its_header_says_is_rejected_before_reading(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(_header(idx.LABELS_MAGIC, 2**31 - 1) + bytes(10))
    _reject(path, idx.read_labels, r"truncated: header says 2147483647 = 2147483647 bytes of data, file has 10")


def test_a_gzip_file_too_small_for_its_header_is_rejected_before_decompressing(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(_header(idx.IMAGES_MAGIC, 60000, 28, 28) + bytes(1000)))
    size = path.stat().st_size
    _reject(path, idx.read_images, rf"truncated: header says 60000x28x28 = 47040000 bytes of data, more than a "
                                   rf"{size}-byte gzip file can hold \(deflate expands at most 1032-fold\)")


# --- 3. decompression bombs and oversized files ---------------------------------------------------

@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    """A header declaring 10x28x28 images, then 200 MiB of zeros, gzip-compressed (about 200 KB)."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31, 9, zlib.Z_RLE)  # wbits 31: gzip container
    zeros = bytes(2**20)
    parts = [c.compress(_header(idx.IMAGES_MAGIC, 10, 28, 28))]
    parts += [c.compress(zeros) for _ in range(200)]
    path = tmp_path_factory.mktemp("bomb") / "train-images-idx3-ubyte.gz"
    path.write_bytes(b"".join(parts) + c.flush())
    assert path.stat().st_size < 1_000_000
    return path


def test_a_gzip_bomb_is_rejected_without_decompressing_it(bomb):
    _reject(bomb, idx.read_images, r"has trailing bytes: its decompressed content is larger than its header says "
                                   r"\(10x28x28 = 7840 bytes of data after the 16-byte header\); stopped reading "
                                   r"at byte \d+")


def test_a_gzip_bomb_in_a_dataset_folder_names_the_file_and_caches_nothing(tmp_path, bomb):
    write_dataset(tmp_path / "d")
    (tmp_path / "d" / "train-images-idx3-ubyte").unlink()
    shutil.copy(bomb, tmp_path / "d" / "train-images-idx3-ubyte.gz")
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: has trailing bytes: its decompressed"):
        load_idx_dataset(tmp_path / "d", cache_dir=tmp_path / "c")
    assert not list((tmp_path / "c").rglob("*.npy"))


def test_a_huge_raw_file_is_rejected_without_reading_it(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte"
    with open(path, "wb") as f:  # 1 GiB, sparse: 8 header bytes + 4 labels + zeros
        f.write(_header(idx.LABELS_MAGIC, 4) + bytes([0, 1, 2, 3]))
        f.truncate(2**30)
    _reject(path, idx.read_labels, rf"has trailing bytes: header says 4 = 4 bytes of data, file has {2**30 - 8}")


def test_a_gzip_with_an_honest_header_still_loads_and_its_crc_is_checked(tmp_path):
    data = _header(idx.LABELS_MAGIC, 6) + bytes(range(6))
    path = tmp_path / "l.gz"
    path.write_bytes(gzip.compress(data))
    np.testing.assert_array_equal(idx.read_labels(path), np.arange(6))
    assert idx.read_labels(path).flags.writeable
    damaged = bytearray(path.read_bytes())
    damaged[-8] ^= 0xFF  # CRC-32
    path.write_bytes(bytes(damaged))
    _reject(path, idx.read_labels, r"corrupt or truncated gzip data \(.+\)")


# --- 4. labels must number the classes 0..K-1, all present in training ----------------------------

LABEL_CASES = {
    "254 beside 0..9": (
        [*range(10), 254] * 2, range(10), "train-labels-idx1-ubyte",
        r"labels span 0\.\.254 \(11 distinct values: 0-9, 254\), which makes 255 classes, but classes "
        r"10-253 never occur in the training labels"),
    "class 2 missing from training": (
        [0, 1, 3, 0, 1, 3], [0, 1, 3], "train-labels-idx1-ubyte",
        r"labels span 0\.\.3 \(3 distinct values: 0-1, 3\), which makes 4 classes, but class 2 never occurs in "
        r"the training labels"),
    "classes missing at the start": (
        [5, 6, 7], [5, 6], "train-labels-idx1-ubyte",
        r"labels span 5\.\.7 \(3 distinct values: 5-7\), which makes 8 classes, but classes 0-4 never occur "
        r"in the training labels"),
    "test label beyond training": (
        [0, 1, 2] * 3, [0, 1, 3], "t10k-labels-idx1-ubyte",
        r"label 3 never occurs in the training labels \(.*train-labels-idx1-ubyte has 0-2\); a model cannot "
        r"learn a class it never sees"),
    "test label in a training gap": (
        [0, 1, 3, 4], [2, 4], "t10k-labels-idx1-ubyte",
        r"label 2 never occurs in the training labels \(.*train-labels-idx1-ubyte has 0-1, 3-4\); a model "
        r"cannot learn a class it never sees"),
    "test labels 200 and 254": (
        list(range(10)) * 2, [1, 200, 254, 254], "t10k-labels-idx1-ubyte",
        r"labels 200, 254 never occur in the training labels \(.*train-labels-idx1-ubyte has 0-9\); a model "
        r"cannot learn a class it never sees"),
}


@pytest.mark.parametrize("train, test, bad_file, problem", LABEL_CASES.values(), ids=LABEL_CASES.keys())
def test_labels_that_do_not_number_the_classes_are_rejected(tmp_path, train, test, bad_file, problem):
    write_dataset(tmp_path / "d", train_labels=train, test_labels=test)
    path = tmp_path / "d" / bad_file
    with pytest.raises(DataError) as err:
        load_idx_dataset(tmp_path / "d", cache_dir=tmp_path / "c")
    assert re.fullmatch(rf"{re.escape(str(path))}: {problem}\. Labels must number the classes 0\.\.K-1, each "
                        rf"occurring in the training labels\. {REMEDY}", str(err.value)), str(err.value)
    assert not list((tmp_path / "c").rglob("*.npy"))  # nothing cached
    with pytest.raises(DataError):
        dataset_info(tmp_path / "d", cache_dir=tmp_path / "c")


@pytest.mark.parametrize("train, test, classes", [
    ([0, 1, 2] * 2, [0], 3),       # a small test set need not hold every class
    ([1, 0] * 3, [1, 1], 2),
    (list(range(256)), [255, 0], 256),  # every uint8 value is a class
])
def test_labels_that_number_the_classes_load(tmp_path, train, test, classes):
    write_dataset(tmp_path / "d", train_labels=train, test_labels=test)
    assert dataset_info(tmp_path / "d", cache_dir=tmp_path / "c").num_classes == classes
    (_, t1), (_, tt1) = load_idx_dataset(tmp_path / "d", one_hot_label=True, cache_dir=tmp_path / "c")
    assert t1.shape == (len(train), classes) and tt1.shape == (len(test), classes)
