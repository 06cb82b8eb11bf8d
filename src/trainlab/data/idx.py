"""Reading IDX files (the MNIST file format), gzip-compressed or raw, without trusting the header.

An IDX file is a big-endian int32 magic number (0x0000 + type byte 0x08 for uint8 + the number
of dimensions), one big-endian int32 per dimension, then the uint8 data in C order.

A dataset folder may hold anything, so every failure is a :class:`DataError`
``"<file>: <problem>. <remedy>"``, never a NumPy traceback or an exhausted memory. In order:

* the magic number (a label file where images are expected, a file of another kind), a complete
  header, every dimension >= 1;
* the declared data size, the product of the dimensions computed exactly (a crafted header cannot
  wrap around int64), is at most :data:`MAX_DATA_BYTES`;
* the declared size fits in the file: a raw file's size is compared before any data is read; a
  gzip file cannot expand more than deflate's 1032-fold, which bounds what its header may claim;
* the content is exactly as long as declared: gzip data are decompressed as a stream into a
  buffer of the declared size and reading stops at the first byte beyond it, so a decompression
  bomb (a small file expanding to gigabytes) costs no more memory than its header claims;
* the gzip stream itself (CRC, truncation), and the SHA-256 of the decompressed content when the
  caller knows it (the bundled MNIST).
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

GZIP_MAGIC = b"\x1f\x8b"
IMAGES_MAGIC = 2051  # 0x00000803: uint8, 3 dimensions (N, H, W)
LABELS_MAGIC = 2049  # 0x00000801: uint8, 1 dimension (N,)
MAX_DATA_BYTES = 2**31  # 2 GiB of uint8 (8 GiB as float32): more than any MNIST-layout dataset
DEFLATE_MAX_RATIO = 1032  # a deflate stream never expands more than this (258-byte matches, 2 bits each)
CHUNK = 2**20  # bytes read (and decompressed) at a time
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


class _Stream:
    """The decompressed content of a raw or gzip file (told apart by the magic bytes 1f 8b), read
    in bounded pieces: it counts and optionally hashes what it returns, and turns read and
    decompression errors into DataError."""

    def __init__(self, file: BinaryIO, path, remedy: str, sha256: bool):
        self.path, self.remedy, self.consumed = path, remedy, 0
        self.size = os.fstat(file.fileno()).st_size
        self.gzip = file.read(2) == GZIP_MAGIC
        file.seek(0)
        self.file: BinaryIO = gzip.GzipFile(fileobj=file, mode="rb") if self.gzip else file
        self.hash = hashlib.sha256() if sha256 else None

    def _error(self, exc: Exception) -> DataError:
        if self.gzip and isinstance(exc, (OSError, EOFError, zlib.error)):
            return _fail(self.path, f"corrupt or truncated gzip data ({exc})", self.remedy)
        return _fail(self.path, f"cannot be read ({getattr(exc, 'strerror', None) or exc})", self.remedy)

    def readinto(self, buffer: memoryview) -> int:
        """Fill `buffer` (fewer bytes only at the end of the content); returns the count."""
        done = 0
        try:
            while done < len(buffer):
                n = self.file.readinto(buffer[done:done + CHUNK])
                if not n:
                    break
                done += n
        except (OSError, EOFError, zlib.error) as exc:
            raise self._error(exc) from exc
        if self.hash is not None:
            self.hash.update(buffer[:done])
        self.consumed += done
        return done

    def read(self, n: int) -> bytes:
        """Up to `n` bytes (`n` small)."""
        buffer = bytearray(n)
        return bytes(buffer[:self.readinto(memoryview(buffer))])


def _shape(dims: tuple[int, ...]) -> str:
    return "x".join(map(str, dims))


def _check_size(stream: _Stream, dims: tuple[int, ...], header: int) -> int:
    """The declared number of data bytes, refused when it overflows, exceeds the cap or cannot
    fit in the file (checked before any data is read)."""
    path, remedy, n = stream.path, stream.remedy, math.prod(dims)  # exact: Python integers
    says = f"header declares {_shape(dims)} = {n} bytes of data"
    if n >= 2**63:
        raise _fail(path, f"{says}, which overflows a 64-bit size; the header is corrupt", remedy)
    if n > MAX_DATA_BYTES:
        raise _fail(path, f"{says}, more than the {MAX_DATA_BYTES} bytes this reader accepts; "
                          "the header is corrupt", remedy)
    says = f"header says {_shape(dims)} = {n} bytes of data"
    if not stream.gzip and stream.size - header != n:
        what = "truncated" if stream.size - header < n else "has trailing bytes"
        raise _fail(path, f"{what}: {says}, file has {stream.size - header}", remedy)
    if stream.gzip and header + n > DEFLATE_MAX_RATIO * stream.size:
        raise _fail(path, f"truncated: {says}, more than a {stream.size}-byte gzip file can hold "
                          f"(deflate expands at most {DEFLATE_MAX_RATIO}-fold)", remedy)
    return n


def _read_data(stream: _Stream, dims: tuple[int, ...], header: int) -> np.ndarray:
    """Exactly the declared data bytes as a writable uint8 array; nothing may follow them."""
    n = _check_size(stream, dims, header)
    try:
        data = np.empty(n, dtype=np.uint8)
    except MemoryError:
        raise _fail(stream.path, f"not enough memory for the {_shape(dims)} = {n} bytes of data "
                                 "its header declares", stream.remedy) from None
    got = stream.readinto(memoryview(data))
    if got < n:
        raise _fail(stream.path, f"truncated: header says {_shape(dims)} = {n} bytes of data, "
                                 f"file has {got}", stream.remedy)
    if stream.read(1):  # for gzip this also reaches the end of the stream, where the CRC is checked
        raise _fail(stream.path, f"has trailing bytes: its decompressed content is larger than its "
                                 f"header says ({_shape(dims)} = {n} bytes of data after the "
                                 f"{header}-byte header); stopped reading at byte {stream.consumed}",
                    stream.remedy)
    return data.reshape(dims)


def read_idx(path: str | os.PathLike[str], expected_magic: int,
             expected_sha256: str | None = None, remedy: str = DEFAULT_REMEDY) -> np.ndarray:
    """Read and check one IDX file (see the module docstring for every check); optionally verify
    the SHA-256 of the decompressed bytes. Returns a writable uint8 array."""
    try:
        file = open(path, "rb")
    except OSError as exc:
        raise _fail(path, f"cannot be read ({exc.strerror or exc})", remedy) from exc
    with file:
        try:
            stream = _Stream(file, path, remedy, sha256=expected_sha256 is not None)
        except OSError as exc:
            raise _fail(path, f"cannot be read ({exc.strerror or exc})", remedy) from exc
        head = stream.read(4)
        if len(head) < 4:
            raise _fail(path, f"too short for an IDX header ({len(head)} bytes)", remedy)
        (magic,) = struct.unpack(">i", head)
        if magic != expected_magic:
            raise _fail(path, f"bad magic number {magic} (expected {expected_magic}); "
                              "not an IDX file of the expected kind", remedy)
        ndim = magic & 0xFF
        header = 4 + 4 * ndim
        raw_dims = stream.read(4 * ndim)
        if len(raw_dims) < 4 * ndim:
            raise _fail(path, f"truncated header ({4 + len(raw_dims)} bytes, need {header})", remedy)
        dims = struct.unpack(f">{ndim}i", raw_dims)
        if any(d <= 0 for d in dims):
            raise _fail(path, f"invalid dimensions {dims} in header (all must be >= 1)", remedy)
        array = _read_data(stream, dims, header)
    if expected_sha256 is not None:
        actual = stream.hash.hexdigest()
        if actual != expected_sha256:
            raise _fail(path, f"checksum mismatch: SHA-256 of the decompressed content is "
                              f"{actual}, expected {expected_sha256}", remedy)
    return array


def read_images(path: str | os.PathLike[str], expected_sha256: str | None = None,
                remedy: str = DEFAULT_REMEDY) -> np.ndarray:
    """Read an IDX image file into a (N, H, W) uint8 array."""
    return read_idx(path, IMAGES_MAGIC, expected_sha256, remedy)


def read_labels(path: str | os.PathLike[str], expected_sha256: str | None = None,
                remedy: str = DEFAULT_REMEDY) -> np.ndarray:
    """Read an IDX label file into a (N,) uint8 array."""
    return read_idx(path, LABELS_MAGIC, expected_sha256, remedy)
