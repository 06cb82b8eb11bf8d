"""Reading run directories for the report (never retrains, never imports an experiment).

A run directory is any direct subdirectory of RUNS_DIR holding ``result.json`` (the layout of
:mod:`trainlab.experiments.base`, also written by ``trainlab search``). Every other file is optional:
a missing or unreadable file becomes a note in the report, not an exception.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Run", "Figure", "find_runs", "load_run"]

#: figure formats embedded, in order of preference
_IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}


@dataclass
class Figure:
    name: str
    mime: str
    data: bytes

    def data_uri(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


@dataclass
class Run:
    path: Path
    name: str
    result: dict[str, Any]
    config: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    claims: list[dict[str, Any]] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return str(self.result.get("title") or self.name)

    @property
    def n_claims(self) -> int:
        return len(self.claims)

    @property
    def n_passed(self) -> int:
        return sum(bool(c.get("passed")) for c in self.claims)


def _read_json(path: Path, problems: list[str]) -> Any:
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problems.append(f"{path.name} could not be read: {exc}")
        return None


def find_runs(runs_dir: Path) -> list[Path]:
    """Subdirectories of ``runs_dir`` with a result.json: the chapter's experiments in the book's
    order first, then any other run (e.g. a ``trainlab search`` directory) by name."""
    try:
        from ..experiments import names

        order = {name: i for i, name in enumerate(names())}
    except Exception:  # the report must not depend on the experiments importing
        order = {}
    dirs = [p for p in runs_dir.iterdir() if p.is_dir() and (p / "result.json").is_file()]
    return sorted(dirs, key=lambda p: (order.get(p.name, len(order)), p.name))


def load_run(path: Path) -> Run:
    problems: list[str] = []
    result = _read_json(path / "result.json", problems)
    if not isinstance(result, dict):
        if result is not None:
            problems.append("result.json is not a JSON object")
        result = {}
    run = Run(path=path, name=str(result.get("name") or path.name), result=result, problems=problems)
    config = _read_json(path / "config.json", problems)
    run.config = config if isinstance(config, dict) else None
    summary = _read_json(path / "summary.json", problems)
    run.summary = summary if isinstance(summary, dict) else None
    claims = _read_json(path / "claims.json", problems)
    if isinstance(claims, list):
        run.claims = [c for c in claims if isinstance(c, dict)]
    elif isinstance(result.get("claims"), list):  # names and verdicts only
        run.claims = [c for c in result["claims"] if isinstance(c, dict)]
    fig_dir = path / "figures"
    if fig_dir.is_dir():
        by_name: dict[str, dict[str, Path]] = {}
        for p in fig_dir.iterdir():
            if p.is_file() and p.suffix.lower() in _IMAGE_TYPES and not p.name.startswith("."):
                by_name.setdefault(p.stem, {})[p.suffix.lower()] = p
        listed = [str(n) for n in result.get("figures") or [] if str(n) in by_name]
        for stem in listed + sorted(set(by_name) - set(listed)):
            for ext, mime in _IMAGE_TYPES.items():
                if ext in by_name[stem]:
                    try:
                        data = by_name[stem][ext].read_bytes()
                    except OSError as exc:
                        problems.append(f"figure {by_name[stem][ext].name} could not be read: {exc}")
                        continue
                    if data:
                        run.figures.append(Figure(stem, mime, data))
                        break
    for stem in result.get("figures") or []:
        if str(stem) not in {f.name for f in run.figures}:
            problems.append(f"figure {stem!r} is listed in result.json but missing from figures/")
    return run
