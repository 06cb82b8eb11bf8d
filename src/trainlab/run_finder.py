"""Finding run directories: a folder is a run when it holds a ``run.json`` manifest
(:mod:`trainlab.record` writes and reads them); :func:`find_runs` walks a folder for them, never
looking inside a run (a search's trials are its own, not separate runs).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["MANIFEST", "LEGACY_MANIFEST", "is_run", "is_legacy_run", "find_runs"]

MANIFEST = "run.json"
#: what an older trainlab wrote instead of run.json
LEGACY_MANIFEST = "result.json"


def is_run(path) -> bool:
    """True when ``path`` is a run directory (has a run.json)."""
    return (Path(path) / MANIFEST).is_file()


def is_legacy_run(path) -> bool:
    """True for a folder an older trainlab (< 0.2) wrote: a result.json and no run.json."""
    return (Path(path) / LEGACY_MANIFEST).is_file() and not is_run(path)


def find_runs(root, max_depth: int = 3, match=is_run) -> list[Path]:
    """Folders under ``root`` that ``match`` (default: run directories; ``root`` itself if it
    matches), never looking inside a run."""
    root = Path(root)
    if match(root):
        return [root]
    if is_run(root):
        return []
    found: list[Path] = []

    def walk(folder: Path, depth: int):
        try:
            entries = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        except OSError:
            return
        for p in entries:
            if match(p):
                found.append(p)
            elif depth < max_depth and not is_run(p):
                walk(p, depth + 1)

    walk(root, 1)
    return found
