"""Reading IDX files (the MNIST file format), gzip-compressed or raw.

An IDX file is a big-endian int32 magic number (0x0000 + type byte 0x08 for uint8 + the number
of dimensions), one big-endian int32 per dimension, then the uint8 data in C order.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import zlib
from pathlib import Path

import numpy as np

GZIP_MAGIC = b"\x1f\x8b"
IMAGES_MAGIC = 2051  # 0x00000803: uint8, 3 dimensions (N, H, W)
LABELS_MAGIC = 2049  # 0x00000801: uint8, 1 dimension (N,)
DEFAULT_REMEDY = (
    "Re-copy the file, or pass --data-dir pointing to a folder with the four IDX files "
    "(train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
    "t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz])."
)


class DataError(ValueError):
    """A dataset file is missing, corrupt, truncated or not the expected content."""


def _fail(path: str | os.PathLike[str], problem: str, remedy: str) -> DataError:
    """Build a DataError that names the file, the problem and what to do."""
    return DataError(f"{os.fspath(path)}: {problem}. {remedy}")


def find_idx_file(data_dir: str | os.PathLike[str], stem: str,
                  remedy: str = DEFAULT_REMEDY) -> Path:
    """Return `data_dir/stem` or `data_dir/stem.gz` (raw preferred); DataError if neither."""
    folder = Path(data_dir)
    if not folder.is_dir():
        raise _fail(folder, "dataset folder does not exist or is not a directory", remedy)
    for name in (stem, stem + ".gz"):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    raise _fail(folder / stem, f"missing file (looked for {stem} and {stem}.gz)", remedy)


def read_idx_bytes(path: str | os.PathLike[str], remedy: str = DEFAULT_REMEDY) -> bytes:
    """Read a file's content, gunzipping it when it starts with the gzip magic bytes 1f 8b."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise _fail(path, f"cannot be read ({exc.strerror or exc})", remedy) from exc
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise _fail(path, f"corrupt or truncated gzip data ({exc})", remedy) from exc


def parse_idx(data: bytes, path: str | os.PathLike[str], expected_magic: int,
              remedy: str = DEFAULT_REMEDY) -> np.ndarray:
    """Decode IDX bytes into a uint8 array, checking magic number and sizes."""
    if len(data) < 4:
        raise _fail(path, f"too short for an IDX header ({len(data)} bytes)", remedy)
    (magic,) = struct.unpack(">i", data[:4])
    if magic != expected_magic:
        raise _fail(path, f"bad magic number {magic} (expected {expected_magic}); "
                          "not an IDX file of the expected kind", remedy)
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise _fail(path, f"truncated header ({len(data)} bytes, need {header})", remedy)
    dims = struct.unpack(f">{ndim}i", data[4:header])
    if any(d <= 0 for d in dims):
        raise _fail(path, f"invalid dimensions {dims} in header (all must be >= 1)", remedy)
    expected = int(np.prod(dims, dtype=np.int64))
    actual = len(data) - header
    if actual != expected:
        what = "truncated" if actual < expected else "has trailing bytes"
        raise _fail(path, f"{what}: header says {'x'.join(map(str, dims))} = {expected} bytes "
                          f"of data, file has {actual}", remedy)
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def read_idx(path: str | os.PathLike[str], expected_magic: int,
             expected_sha256: str | None = None, remedy: str = DEFAULT_REMEDY) -> np.ndarray:
    """Read and check one IDX file; optionally verify the SHA-256 of the decompressed bytes."""
    data = read_idx_bytes(path, remedy)
    if expected_sha256 is not None:
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected_sha256:
            raise _fail(path, f"checksum mismatch: SHA-256 of the decompressed content is "
                              f"{actual}, expected {expected_sha256}", remedy)
    return parse_idx(data, path, expected_magic, remedy)


def read_images(path: str | os.PathLike[str], expected_sha256: str | None = None,
                remedy: str = DEFAULT_REMEDY) -> np.ndarray:
    """Read an IDX image file into a (N, H, W) uint8 array."""
    return read_idx(path, IMAGES_MAGIC, expected_sha256, remedy)


def read_labels(path: str | os.PathLike[str], expected_sha256: str | None = None,
                remedy: str = DEFAULT_REMEDY) -> np.ndarray:
    """Read an IDX label file into a (N,) uint8 array."""
    return read_idx(path, LABELS_MAGIC, expected_sha256, remedy)
