"""Every file TrainLab writes goes through here: atomic, ordinary file modes, strict JSON.

* **Atomic.** A file is written to a temporary file with a unique name in the same folder,
  flushed and fsynced, then renamed over the target (``os.replace``) and the folder fsynced.
  A reader, a kill or a full disk therefore leaves either the old file or the new one, never half
  of one; on an error the temporary file is removed and the old file is untouched.
* **Modes.** The permissions ``open()`` would give: 0666 less the umask (0644 under the usual
  umask 022), not ``mkstemp``'s private 0600, so classmates on a shared server can read results.
* **Strict JSON.** NaN and ±inf are not JSON (``JSON.parse`` in a browser rejects them). They are
  written as ``null``; :func:`write_json` returns where it replaced them, so the caller can record
  why (a diverged seed, say). NumPy scalars and arrays, tuples and paths become JSON values.
* **Deterministic figures.** :func:`save_figure` writes PNG and SVG with no date and fixed SVG ids,
  so the same run draws byte-identical files.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

__all__ = [
    "write_bytes",
    "write_text",
    "write_json",
    "read_json",
    "jsonable",
    "strict_json",
    "save_figure",
    "file_mode",
    "remove_temporaries",
    "TEMP_SUFFIX",
]

TEMP_SUFFIX = ".tmp"


def _umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux), else swapped back."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def file_mode() -> int:
    """The mode a plain ``open(path, 'w')`` gives a new file: 0o666 & ~umask."""
    return 0o666 & ~_umask()


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (best effort: not every platform can open a folder)."""
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


def write_bytes(path, data: bytes | Callable[[IO[bytes]], None]) -> Path:
    """Atomically write ``data`` (bytes, or a function that writes into a binary file) to ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def write_text(path, text: str) -> Path:
    """Atomically write ``text`` as UTF-8 (whatever the locale)."""
    return write_bytes(path, text.encode("utf-8"))


def jsonable(obj: Any) -> Any:
    """``obj`` with NumPy scalars/arrays, tuples, sets and paths turned into JSON types."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return [jsonable(v) for v in sorted(obj, key=repr)]
    if isinstance(obj, Path):
        return str(obj)
    module = type(obj).__module__
    if module == "numpy":
        import numpy as np

        if isinstance(obj, np.ndarray):
            return jsonable(obj.tolist())
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, np.integer):
            return int(obj)
        if isinstance(obj, np.floating):
            return float(obj)
    return obj


def strict_json(obj: Any, _where: str = "$") -> tuple[Any, list[str]]:
    """``(copy of obj with every NaN/±inf replaced by None, the JSON paths of those values)``."""
    found: list[str] = []

    def walk(v, where):
        if isinstance(v, float) and not math.isfinite(v):
            found.append(where)
            return None
        if isinstance(v, dict):
            return {k: walk(x, f"{where}.{k}") for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x, f"{where}[{i}]") for i, x in enumerate(v)]
        return v

    return walk(jsonable(obj), _where), found


def write_json(path, obj: Any, indent: int | None = 1) -> list[str]:
    """Atomically write ``obj`` as strict JSON; returns the paths of non-finite numbers written as null."""
    clean, found = strict_json(obj)
    text = json.dumps(clean, indent=indent, ensure_ascii=False, allow_nan=False)
    write_text(path, text + "\n")
    return found


def read_json(path) -> Any:
    """Parse a JSON file as UTF-8."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def save_figure(fig, folder, name: str, formats=("png", "svg"), dpi: int = 110) -> list[Path]:
    """Write ``fig`` as ``folder/name.png`` and ``.svg`` atomically and reproducibly; closes nothing.

    A figure with a layout engine (constrained/tight) is laid out already; ``bbox_inches='tight'``
    would draw it twice, so it is only used for figures without one.
    """
    import matplotlib

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bbox = None if fig.get_layout_engine() is not None else "tight"
    written = []
    # fixed SVG element ids and no date: the same figure gives the same bytes
    with matplotlib.rc_context({"svg.hashsalt": "trainlab"}):
        for ext in formats:
            metadata = {"Date": None} if ext == "svg" else None
            written.append(write_bytes(folder / f"{name}.{ext}", lambda f, ext=ext, metadata=metadata: fig.savefig(
                f, format=ext, dpi=dpi if ext == "png" else None, bbox_inches=bbox, metadata=metadata)))
    return written


def remove_temporaries(folder) -> list[Path]:
    """Remove ``.*.tmp`` files that a killed writer left in ``folder``.

    Only safe for the holder of the folder's lock (:mod:`trainlab.record`): nobody else writes there.
    """
    removed = []
    for p in Path(folder).glob(f".*{TEMP_SUFFIX}"):
        try:
            p.unlink()
            removed.append(p)
        except OSError:
            pass
    return removed
