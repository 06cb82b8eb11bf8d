"""Checkpoints: one ``.npz`` file (no pickle), written atomically.

It holds the parameters, BN running statistics, optimizer state (keys ``param/…``,
``buffer/…``, ``optim/…``) and a JSON document under ``meta`` (epoch, history, configuration,
random-generator states; NaN is allowed there: the history of a diverged run keeps its NaN loss).
It is written atomically (:mod:`trainlab.files`), so a run killed at any moment leaves either the
previous or the new checkpoint.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from . import files

__all__ = ["save_checkpoint", "load_checkpoint", "CHECKPOINT_NAME"]

CHECKPOINT_NAME = "checkpoint.npz"


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
    files.write_bytes(path, lambda f: np.savez(f, **payload))


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
