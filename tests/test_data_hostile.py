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


# --- 1. the decoded-data cache is verified, and rebuilt when it lies ----------------------------

def _save(name: str, make):
    """Damage: replace cache/<name>.npy with a valid .npy of make(original array)."""
    def damage(folder: Path, arrays: dict) -> None:
        np.save(folder / f"{name}.npy", make(arrays[name]), allow_pickle=False)
    return damage


def _bytes(name: str, change):
    """Damage: replace the bytes of cache/<name> with change(bytes)."""
    def damage(folder: Path, arrays: dict) -> None:
        (folder / name).write_bytes(change((folder / name).read_bytes()))
    return damage


def _manifest(change):
    """Damage: edit the parsed manifest with change(dict) and write it back."""
    def damage(folder: Path, arrays: dict) -> None:
        m = json.loads((folder / MANIFEST).read_text())
        change(m)
        (folder / MANIFEST).write_text(json.dumps(m))
    return damage


def _forged(folder: Path, arrays: dict) -> None:
    """Labels all class 0 *and* a manifest that vouches for them: the label checks still refuse."""
    zeros = np.zeros_like(arrays["train_labels"])
    np.save(folder / "train_labels.npy", zeros, allow_pickle=False)
    m = json.loads((folder / MANIFEST).read_text())
    m["arrays"]["train_labels"]["sha256"] = hashlib.sha256(zeros.tobytes()).hexdigest()
    (folder / MANIFEST).write_text(json.dumps(m))


def _huge_header(folder: Path, arrays: dict) -> None:
    """A .npy header (and a manifest) claiming 2**40 images: refused from the file size, unread."""
    with open(folder / "train_images.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "|u1", "fortran_order": False, "shape": (2**40, 5, 4)})
        f.write(bytes(400))
    m = json.loads((folder / MANIFEST).read_text())
    m["arrays"]["train_images"]["shape"] = [2**40, 5, 4]
    (folder / MANIFEST).write_text(json.dumps(m))


def _unlink(name: str):
    def damage(folder: Path, arrays: dict) -> None:
        (folder / name).unlink()
    return damage


def _set(entry: dict, **values) -> None:
    entry.update(values)


CACHE_DAMAGE = {
    "labels all one class": _save("train_labels", np.zeros_like),
    "labels shuffled (still 0..9)": _save("train_labels", lambda t: np.roll(t, 1)),
    "test labels of another dtype": _save("test_labels", lambda t: t.astype(np.int64)),
    "images as float32": _save("train_images", lambda x: x.astype(np.float32) / 255),
    "images of another shape": _save("test_images", lambda x: x.reshape(len(x), -1)),
    "images one sample short": _save("train_images", lambda x: x[:-1]),
    "images transposed (Fortran order)": _save("train_images", np.asfortranarray),
    "truncated .npy": _bytes("train_images.npy", lambda b: b[:-7]),
    "garbage .npy": _bytes("test_labels.npy", lambda b: b"garbage"),
    "missing .npy": _unlink("train_labels.npy"),
    "missing manifest": _unlink(MANIFEST),
    "manifest not JSON": _bytes(MANIFEST, lambda b: b[:-5]),
    "manifest a JSON list": _bytes(MANIFEST, lambda b: b"[]"),
    "manifest of another format version": _manifest(lambda m: _set(m, format="0")),
    "manifest hash of other content": _manifest(lambda m: _set(m["arrays"]["test_images"], sha256="0" * 64)),
    "manifest shape disagrees": _manifest(lambda m: _set(m["arrays"]["train_labels"], shape=[21])),
    "manifest dtype disagrees": _manifest(lambda m: _set(m["arrays"]["train_labels"], dtype="int8")),
    "manifest lacks an array": _manifest(lambda m: m["arrays"].pop("test_labels")),
    "forged manifest for one-class labels": _forged,
    "forged manifest for a huge .npy": _huge_header,
}


@pytest.mark.parametrize("damage", CACHE_DAMAGE.values(), ids=CACHE_DAMAGE.keys())
def test_a_damaged_cache_is_rebuilt_and_the_right_data_returned(tmp_path, monkeypatch, damage):
    want = write_dataset(tmp_path / "d")
    cache = tmp_path / "c"
    assert_same(load_raw_arrays(tmp_path / "d", cache), want)
    folder = cache_path(tmp_path / "d", cache)
    damage(folder, want)

    spy = DecodeSpy(monkeypatch)
    assert_same(load_raw_arrays(tmp_path / "d", cache), want)  # never the damaged arrays
    assert len(spy.calls) == 4  # re-decoded from the IDX files ...
    assert_same(load_raw_arrays(tmp_path / "d", cache), want)
    assert len(spy.calls) == 4  # ... and the cache rewritten: the next load trusts it again
    assert dataset_info(tmp_path / "d", cache_dir=cache).num_classes == 10


def test_the_manifest_records_dtype_shape_sha256_and_format(tmp_path):
    want = write_dataset(tmp_path / "d")
    load_raw_arrays(tmp_path / "d", tmp_path / "c")
    folder = cache_path(tmp_path / "d", tmp_path / "c")
    m = json.loads((folder / MANIFEST).read_text())
    assert m["format"] == mnist.CACHE_VERSION
    assert sorted(m["arrays"]) == sorted(KEYS)
    for key in KEYS:
        assert m["arrays"][key] == {"dtype": "uint8", "shape": list(want[key].shape),
                                    "sha256": hashlib.sha256(want[key].tobytes()).hexdigest()}
        assert (folder / f"{key}.npy").is_file()
    assert not list(folder.glob("*.tmp")) and not list(folder.glob(".*"))  # atomic writes, no leftovers


def test_a_cache_that_cannot_be_rewritten_still_gives_the_right_data(tmp_path, monkeypatch):
    want = write_dataset(tmp_path / "d")
    load_raw_arrays(tmp_path / "d", tmp_path / "c")
    folder = cache_path(tmp_path / "d", tmp_path / "c")
    np.save(folder / "train_labels.npy", np.zeros_like(want["train_labels"]))
    (folder / MANIFEST).unlink()
    (folder / MANIFEST).mkdir()  # the manifest can be neither read nor replaced
    for _ in range(2):
        spy = DecodeSpy(monkeypatch)
        assert_same(load_raw_arrays(tmp_path / "d", tmp_path / "c"), want)
        assert len(spy.calls) == 4  # decoded every time, never trusted


@pytest.fixture(scope="module")
def mnist_cache(tmp_path_factory) -> Path:
    """A cache of the bundled MNIST, decoded once for this module."""
    cache = tmp_path_factory.mktemp("mnist-cache")
    load_mnist(normalize=False, cache_dir=cache)
    return cache


def test_a_damaged_bundled_cache_is_rebuilt_from_the_sha256_checked_files(tmp_path, monkeypatch, mnist_cache):
    cache = tmp_path / "c"
    shutil.copytree(mnist_cache, cache)
    folder = cache_path(cache_dir=cache)
    labels = np.load(folder / "train_labels.npy")
    np.save(folder / "train_labels.npy", np.full_like(labels, 1))  # "all ones": a valid .npy, one class

    spy = DecodeSpy(monkeypatch)
    (_, t), (_, tt) = load_mnist(normalize=False, cache_dir=cache)
    np.testing.assert_array_equal(t, labels)
    assert np.bincount(t, minlength=10)[1] == 6742
    assert sorted(spy.calls) == sorted((f"{stem}.gz", mnist.MNIST_SHA256[stem]) for stem in mnist.FILES.values())


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
