"""Pinned before the refactor: every IDX check raises ``DataError`` with a message that names the
file, the problem and what to do.

Only the checks that tests/test_data.py does not already cover: a file too short for a magic
number, a truncated header, non-positive dimensions, and a damaged gzip stream other than a
truncated one (CRC mismatch; garbage where the deflate data should be). Already covered there:
bad magic, truncated data, trailing bytes, truncated gzip, checksum mismatch of the bundled files.
"""

from __future__ import annotations

import gzip
import re
import struct

import pytest

from trainlab.data import DataError, load_idx_dataset
from trainlab.data import idx

REMEDY = re.escape(idx.DEFAULT_REMEDY)


def _write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _message(excinfo) -> str:
    return str(excinfo.value)


@pytest.mark.parametrize("size", [0, 1, 3])
def test_too_short_for_a_magic_number(tmp_path, size):
    path = _write(tmp_path, "train-labels-idx1-ubyte", b"\x00" * size)
    with pytest.raises(DataError) as err:
        idx.read_labels(path)
    assert re.fullmatch(rf"{re.escape(str(path))}: too short for an IDX header \({size} bytes\)\. {REMEDY}",
                        _message(err))


@pytest.mark.parametrize("reader, magic, size, need", [
    (idx.read_labels, idx.LABELS_MAGIC, 4, 8),    # magic only: 1 dimension missing
    (idx.read_labels, idx.LABELS_MAGIC, 7, 8),
    (idx.read_images, idx.IMAGES_MAGIC, 12, 16),  # magic + 2 of 3 dimensions
])
def test_truncated_header(tmp_path, reader, magic, size, need):
    head = struct.pack(">iiii", magic, 5, 5, 5)[:size]
    path = _write(tmp_path, "f-idx", head)
    with pytest.raises(DataError) as err:
        reader(path)
    assert re.fullmatch(rf"{re.escape(str(path))}: truncated header \({size} bytes, need {need}\)\. {REMEDY}",
                        _message(err))


@pytest.mark.parametrize("reader, magic, dims", [
    (idx.read_images, idx.IMAGES_MAGIC, (0, 28, 28)),
    (idx.read_images, idx.IMAGES_MAGIC, (3, 28, -1)),
    (idx.read_labels, idx.LABELS_MAGIC, (0,)),
    (idx.read_labels, idx.LABELS_MAGIC, (-5,)),
])
def test_non_positive_dimensions(tmp_path, reader, magic, dims):
    path = _write(tmp_path, "f-idx", struct.pack(f">i{len(dims)}i", magic, *dims) + b"\x00" * 16)
    with pytest.raises(DataError) as err:
        reader(path)
    assert re.fullmatch(rf"{re.escape(str(path))}: invalid dimensions {re.escape(str(dims))} in header "
                        rf"\(all must be >= 1\)\. {REMEDY}", _message(err))


def _labels_gz(n: int = 6) -> bytes:
    return gzip.compress(struct.pack(">ii", idx.LABELS_MAGIC, n) + bytes(range(n)), mtime=0)


def test_gzip_with_a_wrong_crc(tmp_path):
    data = bytearray(_labels_gz())
    data[-8] ^= 0xFF  # the CRC-32 of the trailer: the stream inflates, the check fails
    path = _write(tmp_path, "train-labels-idx1-ubyte.gz", bytes(data))
    with pytest.raises(DataError) as err:
        idx.read_labels(path)
    assert re.fullmatch(rf"{re.escape(str(path))}: corrupt or truncated gzip data \(.+\)\. {REMEDY}",
                        _message(err), re.S)


def test_gzip_with_garbage_instead_of_deflate_data(tmp_path):
    data = bytearray(_labels_gz())
    data[10:-8] = b"\xff" * (len(data) - 18)  # keep the 10-byte header and the trailer
    path = _write(tmp_path, "train-labels-idx1-ubyte.gz", bytes(data))
    with pytest.raises(DataError) as err:
        idx.read_labels(path)
    assert re.fullmatch(rf"{re.escape(str(path))}: corrupt or truncated gzip data \(.+\)\. {REMEDY}",
                        _message(err), re.S)


def test_the_same_header_errors_surface_from_a_dataset_folder(tmp_path):
    """Through ``load_idx_dataset`` (what --data-dir uses): the first damaged file is named."""
    folder = tmp_path / "ds"
    folder.mkdir()
    _write(folder, "train-images-idx3-ubyte", struct.pack(">iiii", idx.IMAGES_MAGIC, 2, 2, 2) + bytes(8))
    _write(folder, "train-labels-idx1-ubyte", struct.pack(">ii", idx.LABELS_MAGIC, 0))
    _write(folder, "t10k-images-idx3-ubyte", struct.pack(">iiii", idx.IMAGES_MAGIC, 1, 2, 2) + bytes(4))
    _write(folder, "t10k-labels-idx1-ubyte", struct.pack(">ii", idx.LABELS_MAGIC, 1) + bytes(1))
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte: invalid dimensions \(0,\) in header"):
        load_idx_dataset(folder, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").rglob("*.npy"))
