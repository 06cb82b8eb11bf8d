"""Checkpoints: one ``.npz`` file (no pickle), written atomically.

It holds the parameters, BN running statistics, optimizer state (keys ``param/…``,
``buffer/…``, ``optim/…``) and a JSON document under ``meta`` (epoch, history, configuration,
random-generator states). It is written to a temporary file in the same folder and renamed over
the old one, so a run killed at any moment leaves either the previous or the new checkpoint
(plus, at worst, a stray ``.checkpoint.npz.*.tmp`` file, which the next save removes; the same
holds for :func:`atomic_write_text`).
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["save_checkpoint", "load_checkpoint", "atomic_write_text", "CHECKPOINT_NAME"]

CHECKPOINT_NAME = "checkpoint.npz"


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and ``os.replace``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _remove_stale_temporaries(path)


def _remove_stale_temporaries(path: Path) -> None:
    """Remove ``.NAME.*.tmp`` files that a process killed mid-write left beside ``path``."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)


def save_checkpoint(path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Atomically write ``arrays`` and the JSON-serialisable ``meta`` to ``path`` (.npz)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    if "meta" in payload:
        raise ValueError("'meta' is reserved for the JSON document; rename that array")
    for k, v in payload.items():
        if v.dtype.hasobject:
            raise TypeError(f"checkpoint array {k!r} holds Python objects; only numeric arrays are stored")
    payload["meta"] = np.array(json.dumps(meta, allow_nan=True))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    _remove_stale_temporaries(path)


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (best effort: not every platform can open a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_checkpoint(path) -> tuple[dict[str, np.ndarray], dict]:
    """``(arrays, meta)`` from a checkpoint written by :func:`save_checkpoint`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files if k != "meta"}
            meta = json.loads(str(z["meta"]))
    except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"checkpoint {path} is unreadable ({exc}); delete it to start over") from exc
    return arrays, meta
