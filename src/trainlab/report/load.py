"""Reading run records for the report (never retrains, never imports an experiment's code).

A run is any folder with a ``run.json`` (:mod:`trainlab.record`) under RUNS_DIR, nested folders
too, whatever its kind: train, experiment, search, trial. A folder with ``result.json`` and no
``run.json`` was written by trainlab < 0.2; it is listed with a note, not read. Everything inside a
run may be damaged or missing — an unreadable run.json, a summary that is not an object, a
``"figures"`` that is not a list, a figure listed but absent or not an image — and each such thing
becomes a note in that run's section (:attr:`RunView.problems`), never an exception. The notes are
English strings that the page shows in its language (:class:`trainlab.i18n.Note`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import files
from .. import record as rec
from ..i18n import N_, Note

__all__ = ["Figure", "RunView", "find_runs", "load_run", "LEGACY_NOTE"]

#: figure formats embedded, in order of preference, with the bytes each must start with
_IMAGE_TYPES = {".png": ("image/png", b"\x89PNG\r\n\x1a\n"), ".svg": ("image/svg+xml", None)}
#: what a folder written by an older trainlab says
LEGACY_NOTE = N_("written by an older trainlab (result.json, no run.json); run it again")
#: the order of kinds in the report
_KIND_ORDER = {"experiment": 0, "search": 1, "train": 2, "trial": 3}


@dataclass
class Figure:
    name: str
    mime: str
    data: bytes

    def data_uri(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


@dataclass
class RunView:
    """What the report shows of one run; every field already checked for its type."""

    path: Path
    where: str  # the folder relative to RUNS_DIR (shown, and unique: used for anchors)
    kind: str  # train | experiment | search | trial, "" when run.json does not say, "legacy"
    name: str
    title: str
    status: str
    message: str = ""
    error: str = ""
    reduced: bool = False
    dataset: str = ""
    manifest: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    claims: list[dict[str, Any]] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    trials: dict[str, Any] | None = None  # search: {"n": int, "states": {state: count}}
    problems: list[str] = field(default_factory=list)
    anchor: str = ""  # the section's id, unique on the page (set by the page)

    @property
    def legacy(self) -> bool:
        return self.kind == "legacy"

    @property
    def n_claims(self) -> int:
        """The claims that apply (a claim marked ``not_applicable`` neither holds nor fails)."""
        return len(self.claims) - self.n_not_applicable

    @property
    def n_not_applicable(self) -> int:
        return sum(bool(c.get("not_applicable")) for c in self.claims)

    @property
    def n_passed(self) -> int:
        return sum(c.get("passed") is True for c in self.claims)

    @property
    def book(self):
        return self.manifest.get("book")

    @property
    def tables(self) -> list[dict]:
        tables = (self.summary or {}).get("tables")
        return [t for t in tables if isinstance(t, dict)] if isinstance(tables, list) else []

    @property
    def completed(self) -> bool:
        return self.status == "completed"


def _sort_key(runs_dir: Path, path: Path) -> tuple:
    try:
        from ..experiments import MODULES  # a plain table: importing it runs no experiment

        order = {name: i for i, name in enumerate(MODULES)}
    except Exception:  # the report must not depend on the experiments importing
        order = {}
    kind, name = "legacy", path.name
    if rec.is_run(path):
        try:
            manifest = files.read_json(path / rec.MANIFEST)
            if isinstance(manifest, dict):
                kind, name = str(manifest.get("kind")), str(manifest.get("name") or path.name)
        except (OSError, ValueError):
            kind = ""
    return (_KIND_ORDER.get(kind, 4 if kind != "legacy" else 5), order.get(name, len(order)),
            _relative(runs_dir, path))


def find_runs(runs_dir) -> list[Path]:
    """Every run under ``runs_dir`` (:func:`trainlab.run_finder.find_runs`) and every folder an older
    trainlab wrote: experiments in the book's order, then searches, train runs, others, old ones."""
    runs_dir = Path(runs_dir)
    paths = rec.find_runs(runs_dir) + rec.find_runs(runs_dir, match=rec.is_legacy_run)
    return sorted(paths, key=lambda p: _sort_key(runs_dir, p))


def _relative(root: Path, path: Path) -> str:
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        rel = str(path)
    return rel if rel != "." else path.name


def _text(manifest: dict, key: str, problems: list[str], default: str = "") -> str:
    v = manifest.get(key)
    if v is None:
        return default
    if isinstance(v, (dict, list)):
        problems.append(Note(N_("run.json: {key} should be a text, not a {type}"), key=repr(key),
                             type=type(v).__name__))
        return default
    return str(v)


def load_run(path, runs_dir=None) -> RunView:
    """The run in ``path`` as the report shows it; a damaged part is a note, never an exception."""
    path = Path(path)
    where = _relative(Path(runs_dir), path) if runs_dir is not None else path.name
    try:
        return _load(path, where)
    except Exception as exc:  # a damage not foreseen below still only costs this run its details
        return RunView(path, where, "", path.name, path.name, "unreadable",
                       problems=[Note(N_("this run could not be read: {error}"), error=f"{type(exc).__name__}: {exc}")])


def _load(path: Path, where: str) -> RunView:
    if not rec.is_run(path):
        return RunView(path, where, "legacy", path.name, path.name, "–", problems=[Note(LEGACY_NOTE)])
    try:
        record = rec.RunRecord.open(path)
    except Exception as exc:  # RunError: unreadable or not an object; anything else: still a note
        return RunView(path, where, "", path.name, path.name, "unreadable", problems=[str(exc)])
    m, problems = record.manifest, []
    kind = _text(m, "kind", problems)
    if kind not in rec.KINDS:
        problems.append(Note(N_("run.json: unknown kind {kind} (expected one of {kinds})"), kind=repr(m.get("kind")),
                             kinds=", ".join(rec.KINDS)))
        kind = ""
    name = _text(m, "name", problems) or path.name
    view = RunView(path, where, kind, name, _text(m, "title", problems) or name,
                   _text(m, "status", problems, "unknown"), message=_text(m, "message", problems),
                   error=_text(m, "error", problems), manifest=m, problems=problems)
    reduced = m.get("reduced")
    if reduced is not None and not isinstance(reduced, bool):
        problems.append(Note(N_("run.json: 'reduced' should be true or false, got {value}"), value=repr(reduced)))
    view.reduced = reduced is True
    data = m.get("data")
    if isinstance(data, dict):
        view.dataset = str(data.get("name") or data.get("dataset") or "")
    elif data is not None:
        problems.append(Note(N_("run.json: {key} should be an object, got {type}"), key="'data'",
                             type=type(data).__name__))
    config = m.get("config")
    if isinstance(config, dict):
        view.config = config
    elif config is not None:
        problems.append(Note(N_("run.json: {key} should be an object, got {type}"), key="'config'",
                             type=type(config).__name__))
    view.summary = _object(record, "summary.json", problems)
    if view.summary is not None and not isinstance(view.summary.get("tables", []), list):
        problems.append(Note(N_("summary.json: 'tables' should be a list of {shape}; not shown"),
                             shape="{title, columns, rows}"))
    view.claims = _claims(record, problems)
    view.figures = _figures(record, problems)
    if kind == "search":
        view.trials = _trials(record, view.summary, problems)
    return view


def _object(record: rec.RunRecord, relative: str, problems: list[str]) -> dict | None:
    try:
        value = record.read_json(relative)
    except rec.RunError as exc:
        problems.append(Note(N_("{file} could not be read: {error}"), file=relative, error=str(exc)))
        return None
    if value is not None and not isinstance(value, dict):
        problems.append(Note(N_("{file} is not a JSON object (it holds a {type}); its numbers are not shown"),
                             file=relative, type=type(value).__name__))
        return None
    return value


def _claims(record: rec.RunRecord, problems: list[str]) -> list[dict]:
    try:
        claims = record.read_json("claims.json")
    except rec.RunError as exc:
        problems.append(Note(N_("{file} could not be read: {error}"), file="claims.json", error=str(exc)))
        return []
    if claims is None:
        counted = record.manifest.get("claims")
        if isinstance(counted, dict) and counted.get("n"):
            problems.append(Note(N_("claims.json is missing, though run.json counts {n} claim(s)"),
                                 n=repr(counted.get("n"))))
        return []
    if not isinstance(claims, list):
        problems.append(Note(N_("claims.json is not a list of claims (it holds a {type})"), type=type(claims).__name__))
        return []
    good = [c for c in claims if isinstance(c, dict)]
    if len(good) < len(claims):
        problems.append(Note(N_("claims.json: {n} entry(ies) are not claims and are left out"),
                             n=len(claims) - len(good)))
    return good


def _figures(record: rec.RunRecord, problems: list[str]) -> list[Figure]:
    listed = record.manifest.get("figures")
    if listed is not None and not (isinstance(listed, list) and all(isinstance(n, str) for n in listed)):
        problems.append(Note(N_("run.json: 'figures' should be a list of names, got {value}"),
                             value=repr(listed)[:250]))
    try:
        paths = record.figure_paths()
    except OSError as exc:
        problems.append(Note(N_("figures/ could not be listed: {error}"), error=str(exc)))
        return []
    figures = []
    for name, by_ext in paths.items():
        for ext, (mime, magic) in _IMAGE_TYPES.items():
            p = by_ext.get(ext)
            if p is None:
                continue
            try:
                data = p.read_bytes()
            except OSError as exc:
                problems.append(Note(N_("figure {file} could not be read: {error}"), file=p.name, error=str(exc)))
                continue
            if not data or (magic and not data.startswith(magic)) or (magic is None and b"<svg" not in data[:4096]):
                problems.append(Note(N_("figure {file} is empty"), file=p.name) if not data else
                                Note(N_("figure {file} is not a {format} image"), file=p.name, format=ext[1:].upper()))
                continue
            figures.append(Figure(name, mime, data))
            break
    for name in listed if isinstance(listed, list) else []:
        if isinstance(name, str) and name not in paths:
            problems.append(Note(N_("figure {name} is listed in run.json but missing from figures/"), name=repr(name)))
    return figures


def _trials(record: rec.RunRecord, summary: dict | None, problems: list[str]) -> dict | None:
    """A search's trials: how many, and how many ended in each state (its trial records, else its summary)."""
    states: dict[str, int] = {}
    folder = record.path / "trials"
    for p in sorted(folder.iterdir()) if folder.is_dir() else ():
        if not rec.is_run(p):
            continue
        try:
            m = rec.RunRecord.open(p).manifest
            state = m.get("state") if isinstance(m.get("state"), str) else str(m.get("status", "unknown"))
        except Exception:
            state = "unreadable"
        states[state.lower()] = states.get(state.lower(), 0) + 1
    if states:
        return {"n": sum(states.values()), "states": states}
    summary = summary or {}
    counted = summary.get("states")
    if isinstance(counted, dict) and all(isinstance(v, int) for v in counted.values()):
        n = summary.get("n_trials")
        return {"n": n if isinstance(n, int) else sum(counted.values()),
                "states": {str(k).lower(): v for k, v in counted.items()}}
    if record.path.joinpath("trials").exists():
        problems.append(Note(N_("trials/ holds no readable trial record")))
    return None
