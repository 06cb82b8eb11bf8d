"""Tests for trainlab.data: bundled MNIST, IDX reading and checks, the .npy cache, splits."""

from __future__ import annotations

import gzip
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from trainlab.data import (
    DATASETS,
    DataError,
    Splits,
    cache_path,
    dataset_info,
    default_cache_dir,
    load_idx_dataset,
    load_mnist,
    split_train_val,
)
from trainlab.data import idx, mnist

STEMS = list(mnist.FILES.values())


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache dir for the whole session, so bundled MNIST is decoded once."""
    return tmp_path_factory.mktemp("trainlab-cache")


@pytest.fixture(autouse=True)
def _isolated_cache(monkeypatch: pytest.MonkeyPatch, shared_cache: Path) -> None:
    """Never touch the user's cache."""
    monkeypatch.setenv("TRAINLAB_CACHE", str(shared_cache))


@pytest.fixture(scope="session")
def mnist_u8(shared_cache: Path):
    """Bundled MNIST as uint8 (decoded and verified once per session)."""
    return load_mnist(normalize=False, cache_dir=shared_cache)


def idx_bytes(magic: int, array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX."""
    header = struct.pack(f">i{array.ndim}i", magic, *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_dataset(folder: Path, n_train: int = 20, n_test: int = 6, hw=(5, 4),
                  classes: int = 10, gz: bool = False, seed: int = 0) -> dict:
    """Write a synthetic four-file IDX dataset; return its arrays."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, *hw), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % classes).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, *hw), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % classes).astype(np.uint8),
    }
    for stem, arr in arrays.items():
        magic = idx.IMAGES_MAGIC if arr.ndim == 3 else idx.LABELS_MAGIC
        data = idx_bytes(magic, arr)
        if gz:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / stem).write_bytes(data)
    return arrays


# --- bundled MNIST -----------------------------------------------------------------------------

def test_bundled_files_present():
    for stem in STEMS:
        assert (mnist.bundled_dir() / f"{stem}.gz").is_file()
    assert "CC BY-SA 3.0" in (mnist.bundled_dir() / "README.md").read_text()
    assert "mnist" in DATASETS


def test_mnist_shapes_dtypes_ranges(mnist_u8, shared_cache):
    (x, t), (xt, tt) = load_mnist(cache_dir=shared_cache)
    assert x.shape == (60000, 784) and x.dtype == np.float32
    assert xt.shape == (10000, 784) and xt.dtype == np.float32
    assert 0.0 <= x.min() and x.max() == 1.0
    assert t.shape == (60000,) and tt.shape == (10000,) and t.dtype == np.uint8
    assert set(np.unique(t)) == set(range(10)) and set(np.unique(tt)) == set(range(10))
    np.testing.assert_array_equal(x[:3], mnist_u8[0][0][:3].astype(np.float32) / 255.0)


def test_mnist_label_histogram(mnist_u8):
    (_, t), (_, tt) = mnist_u8
    counts = np.bincount(t, minlength=10)
    assert counts.sum() == 60000 and counts[1] == 6742
    assert np.bincount(tt, minlength=10).sum() == 10000
    assert t[:5].tolist() == [5, 0, 4, 1, 9]  # original order


def test_mnist_unnormalized_and_unflattened(shared_cache, mnist_u8):
    (x, _), (xt, _) = mnist_u8
    assert x.dtype == np.uint8 and x.max() == 255
    (x4, _), (xt4, _) = load_mnist(flatten=False, normalize=False, cache_dir=shared_cache)
    assert x4.shape == (60000, 1, 28, 28) and xt4.shape == (10000, 1, 28, 28)
    np.testing.assert_array_equal(x4.reshape(60000, 784), x)


def test_mnist_one_hot(shared_cache, mnist_u8):
    (_, t1), (_, tt1) = load_mnist(one_hot_label=True, cache_dir=shared_cache)
    (_, t), _ = mnist_u8
    assert t1.shape == (60000, 10) and t1.dtype == np.float32 and tt1.shape == (10000, 10)
    assert (t1.sum(axis=1) == 1).all()
    np.testing.assert_array_equal(t1.argmax(axis=1), t)


def test_dataset_info_mnist(shared_cache, mnist_u8):
    info = dataset_info(cache_dir=shared_cache)
    assert (info.n_train, info.n_test, info.image_shape, info.num_classes) == (
        60000, 10000, (28, 28), 10)


def test_second_load_uses_cache(shared_cache, mnist_u8, monkeypatch):
    folder = cache_path(cache_dir=shared_cache)
    for key in mnist.FILES:
        assert (folder / f"{key}.npy").is_file()
    assert (folder / mnist.MANIFEST).is_file()  # written last: it vouches for the arrays

    def boom(*args, **kwargs):
        raise AssertionError("IDX decoder called although the cache is warm")

    monkeypatch.setattr(idx, "read_idx", boom)
    (x, t), (xt, tt) = load_mnist(normalize=False, cache_dir=shared_cache)
    for got, want in zip((x, t, xt, tt), (*mnist_u8[0], *mnist_u8[1])):
        np.testing.assert_array_equal(got, want)


def test_default_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("TRAINLAB_CACHE", str(tmp_path / "a"))
    assert default_cache_dir() == tmp_path / "a"
    monkeypatch.delenv("TRAINLAB_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x" / "trainlab"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert default_cache_dir() == tmp_path / "h" / ".cache" / "trainlab"


def test_default_cache_used_when_no_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINLAB_CACHE", str(tmp_path / "env-cache"))
    write_dataset(tmp_path / "ds")
    load_idx_dataset(tmp_path / "ds")
    assert list((tmp_path / "env-cache" / "idx").glob("*/train_images.npy"))


# --- any IDX dataset via data_dir --------------------------------------------------------------

@pytest.mark.parametrize("gz", [False, True])
def test_data_dir_synthetic(tmp_path, gz):
    arrays = write_dataset(tmp_path / "fashion", gz=gz)
    (x, t), (xt, tt) = load_mnist(data_dir=tmp_path / "fashion", cache_dir=tmp_path / "c")
    assert x.shape == (20, 20) and x.dtype == np.float32 and xt.shape == (6, 20)
    np.testing.assert_array_equal(x, arrays["train-images-idx3-ubyte"].reshape(20, 20).astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(t, arrays["train-labels-idx1-ubyte"])
    (x4, t1), _ = load_idx_dataset(tmp_path / "fashion", flatten=False, one_hot_label=True,
                                   cache_dir=tmp_path / "c")
    assert x4.shape == (20, 1, 5, 4) and t1.shape == (20, 10)
    info = dataset_info(tmp_path / "fashion", cache_dir=tmp_path / "c")
    assert info.image_shape == (5, 4) and info.num_classes == 10 and info.n_train == 20


def test_gzip_detected_by_magic_not_name(tmp_path):
    write_dataset(tmp_path / "d", gz=True)
    for stem in STEMS:  # gzip content under the raw name
        (tmp_path / "d" / f"{stem}.gz").rename(tmp_path / "d" / stem)
    (x, _), _ = load_idx_dataset(tmp_path / "d", cache_dir=tmp_path / "c")
    assert x.shape == (20, 20)


def test_num_classes_from_labels(tmp_path):
    write_dataset(tmp_path / "d", classes=3)
    info = dataset_info(tmp_path / "d", cache_dir=tmp_path / "c")
    assert info.num_classes == 3
    (_, t1), _ = load_idx_dataset(tmp_path / "d", one_hot_label=True, cache_dir=tmp_path / "c")
    assert t1.shape == (20, 3)


def test_changed_file_invalidates_cache(tmp_path):
    write_dataset(tmp_path / "d", seed=0)
    (x0, _), _ = load_idx_dataset(tmp_path / "d", normalize=False, cache_dir=tmp_path / "c")
    new = write_dataset(tmp_path / "d", n_train=30, seed=1)
    (x1, _), _ = load_idx_dataset(tmp_path / "d", normalize=False, cache_dir=tmp_path / "c")
    assert x1.shape == (30, 20) and not np.array_equal(x0[:20], x1[:20])
    np.testing.assert_array_equal(x1, new["train-images-idx3-ubyte"].reshape(30, 20))


def test_unwritable_cache_falls_back_to_memory(tmp_path):
    write_dataset(tmp_path / "d")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache dir should be")
    (x, _), _ = load_idx_dataset(tmp_path / "d", cache_dir=blocker)
    assert x.shape == (20, 20)
    (x2, _), _ = load_idx_dataset(tmp_path / "d", normalize=False, cache_dir=blocker)
    x2[0, 0] = 7  # in-memory arrays are writable


def test_corrupt_cache_is_rebuilt(tmp_path):
    write_dataset(tmp_path / "d")
    load_idx_dataset(tmp_path / "d", cache_dir=tmp_path / "c")
    npy = cache_path(tmp_path / "d", tmp_path / "c") / "train_images.npy"
    npy.write_bytes(b"garbage")
    (x, _), _ = load_idx_dataset(tmp_path / "d", cache_dir=tmp_path / "c")
    assert x.shape == (20, 20)


# --- errors ------------------------------------------------------------------------------------

def test_bad_magic(tmp_path):
    write_dataset(tmp_path / "d")
    path = tmp_path / "d" / "train-labels-idx1-ubyte"
    data = bytearray(path.read_bytes())
    data[3] = 0x03  # 2051 in a label file
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte.*magic number 2051.*2049"):
        load_idx_dataset(tmp_path / "d", cache_dir=tmp_path / "c")


def test_truncated_raw_file(tmp_path):
    write_dataset(tmp_path / "d")
    path = tmp_path / "d" / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte: truncated.*--data-dir"):
        load_idx_dataset(tmp_path / "d", cache_dir=tmp_path / "c")


def test_truncated_gzip_file(tmp_path):
    write_dataset(tmp_path / "d", gz=True)
    path = tmp_path / "d" / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: corrupt or truncated"):
        load_idx_dataset(tmp_path / "d", cache_dir=tmp_path / "c")


def test_trailing_bytes(tmp_path):
    write_dataset(tmp_path / "d")
    path = tmp_path / "d" / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(DataError, match="trailing bytes"):
        load_idx_dataset(tmp_path / "d", cache_dir=tmp_path / "c")


def test_count_mismatch(tmp_path):
    write_dataset(tmp_path / "d")
    labels = np.zeros(19, dtype=np.uint8)
    (tmp_path / "d" / "train-labels-idx1-ubyte").write_bytes(idx_bytes(idx.LABELS_MAGIC, labels))
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte: 19 labels.*20 images"):
        load_idx_dataset(tmp_path / "d", cache_dir=tmp_path / "c")


def test_missing_file_and_dir(tmp_path):
    write_dataset(tmp_path / "d")
    (tmp_path / "d" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte: missing file.*--data-dir"):
        load_idx_dataset(tmp_path / "d", cache_dir=tmp_path / "c")
    with pytest.raises(DataError, match="does not exist"):
        load_mnist(data_dir=tmp_path / "nowhere", cache_dir=tmp_path / "c")
    assert issubclass(DataError, ValueError)


def test_checksum_mismatch_bundled(tmp_path, monkeypatch):
    fake = tmp_path / "bundled"
    fake.mkdir()
    for stem in STEMS:
        shutil.copy(mnist.bundled_dir() / f"{stem}.gz", fake / f"{stem}.gz")
    path = fake / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(gzip.decompress(path.read_bytes()))
    data[-1] = (data[-1] + 1) % 10  # still a valid IDX file, wrong content
    path.write_bytes(gzip.compress(bytes(data)))
    monkeypatch.setattr(mnist, "BUNDLED_DIR", fake)
    with pytest.raises(DataError) as err:
        load_mnist(cache_dir=tmp_path / "c")
    msg = str(err.value)
    assert "t10k-labels-idx1-ubyte.gz" in msg and "checksum mismatch" in msg
    assert mnist.MNIST_SHA256["t10k-labels-idx1-ubyte"] in msg
    assert not list((tmp_path / "c").glob("idx/*/*.npy"))  # nothing cached


# --- splits ------------------------------------------------------------------------------------

def make_xy(n: int = 1000):
    return np.arange(n * 3, dtype=np.float32).reshape(n, 3), np.arange(n) % 10


def test_book_split_400_100():
    x, t = make_xy()
    s = split_train_val(x, t, train_size=500, val_fraction=0.2, rng_or_seed=0)
    assert isinstance(s, Splits) and s.has_val
    assert len(s.x_train) == len(s.t_train) == 400 and len(s.x_val) == len(s.t_val) == 100
    ids_train, ids_val = s.x_train[:, 0] // 3, s.x_val[:, 0] // 3
    assert not set(ids_train) & set(ids_val)
    assert set(ids_train) | set(ids_val) == set(range(500))  # the first 500 samples
    np.testing.assert_array_equal(s.t_train, ids_train.astype(int) % 10)  # pairs kept


def test_split_seeded_deterministic():
    x, t = make_xy()
    a = split_train_val(x, t, 500, 0.2, rng_or_seed=7)
    b = split_train_val(x, t, 500, 0.2, rng_or_seed=np.random.default_rng(7))
    c = split_train_val(x, t, 500, 0.2, rng_or_seed=8)
    np.testing.assert_array_equal(a.x_val, b.x_val)
    assert not np.array_equal(a.x_val, c.x_val)


def test_split_without_validation_keeps_order():
    x, t = make_xy()
    s = split_train_val(x, t, train_size=300)
    np.testing.assert_array_equal(s.x_train, x[:300])
    assert not s.has_val and s.x_val.shape == (0, 3) and s.t_val.shape == (0,)
    assert len(split_train_val(x, t).x_train) == 1000
    with pytest.raises(Exception):
        s.x_train = x  # frozen


@pytest.mark.parametrize("kwargs, match", [
    ({"train_size": 0}, r"train_size must be in 1\.\.1000.*got 0"),
    ({"train_size": 1001}, r"train_size.*got 1001"),
    ({"train_size": 2.5}, r"train_size must be an integer"),
    ({"val_fraction": 1.0}, r"val_fraction must be a number in \[0, 1\), got 1\.0"),
    ({"val_fraction": -0.1}, r"val_fraction"),
    ({"val_fraction": float("nan")}, r"val_fraction"),
    ({"train_size": 3, "val_fraction": 0.2}, r"val_fraction=0\.2 of 3 samples gives 0"),
    ({"train_size": 1, "val_fraction": 0.9}, r"needs at least 2 samples \(1 validation, 1 training\), and there is 1"),
    ({"train_size": 2, "val_fraction": 0.2}, r"at least 1 validation and 1 training"),
])
def test_split_bad_arguments(kwargs, match):
    x, t = make_xy()
    with pytest.raises(ValueError, match=match):
        split_train_val(x, t, **kwargs)


def test_split_length_mismatch():
    x, t = make_xy()
    with pytest.raises(ValueError, match="same length"):
        split_train_val(x, t[:-1])
