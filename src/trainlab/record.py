"""The run record: every run — a ``train``, an experiment, a search, a search trial — is one
directory of the same shape, written and read only here.

    RUN_DIR/
      run.json          the manifest (below); rewritten as the run goes, last at its end
      summary.json      final metrics (train, trial), the experiment's summary, the search's summary
      claims.json       the book's claims checked on our numbers: [{name, passed, detail, values}]
      history.json      train and trial: per-epoch records (:class:`trainlab.history.History`), with
      history.csv       the same records as a table beside it
      seeds/seed-K.json experiment: what seed K returned, its curves under "histories":
      seeds/seed-K.csv  {variant: History}; the CSV holds them all, one row per (variant, epoch)
      trials/trial-NNNN/  search: each trial is a record of kind "trial"
      figures/NAME.png|.svg
      checkpoint.npz    train: what --resume continues from
      .lock             held (an OS lock) by the one process writing the run

The manifest ``run.json``: ``format``, ``kind`` (train | experiment | search | trial), ``name``,
``title``, ``status`` (running | completed | diverged | interrupted | failed | crashed),
``message``, ``reduced`` (a test-size run), ``config`` (fully resolved), ``data`` (the dataset),
``seeds``, ``trainlab_version``, ``command``, ``started``, ``ended``, ``elapsed_s``, and what the
kind adds (``book_section``, ``figures``, ``claims`` {n, passed}, …).

Nothing is lost silently: :meth:`RunRecord.create` refuses a folder that already holds a run unless
``overwrite`` (and then replaces only a run, never a folder of other files), and a second process
that wants the same folder is refused while the first holds its lock, with the holder named.
Files are written through :mod:`trainlab.files` (atomic, 0644 under umask 022, strict JSON).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from . import files
from .lock import LOCK_NAME, DirectoryLock, LockHeld, command_line, now
from .run_finder import LEGACY_MANIFEST, MANIFEST, find_runs, is_legacy_run, is_run

__all__ = [
    "RunRecord",
    "RunError",
    "RunExists",
    "RunLocked",
    "DirectoryLock",
    "find_runs",
    "is_run",
    "is_legacy_run",
    "KINDS",
    "STATUSES",
    "MANIFEST",
    "FORMAT",
]

FORMAT = 1
KINDS = ("train", "experiment", "search", "trial")
STATUSES = ("running", "completed", "diverged", "interrupted", "failed", "crashed")


class RunError(Exception):
    """A run directory that cannot be used as asked (the message says why and what to do)."""


class RunExists(RunError):
    """The folder already holds a run (or other files) and ``overwrite`` was not given."""


class RunLocked(RunError):
    """Another process is writing this run."""


def _lock(folder: Path) -> DirectoryLock:
    try:
        return DirectoryLock(folder).acquire()
    except LockHeld as exc:
        raise RunLocked(str(exc)) from None


def _describe_contents(folder: Path, limit: int = 6) -> str:
    names = sorted(p.name for p in folder.iterdir() if p.name != LOCK_NAME)
    more = f", … ({len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _clear(folder: Path) -> None:
    for p in folder.iterdir():
        if p.name == LOCK_NAME:
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()


class RunRecord:
    """One run directory. Create one with :meth:`create`, open one with :meth:`open`."""

    def __init__(self, path, manifest: dict, lock: DirectoryLock | None = None):
        self.path = Path(path)
        self.manifest = manifest
        self.lock = lock
        self._t0 = time.perf_counter()
        self._elapsed_before = _seconds(manifest.get("elapsed_s")) if manifest.get("status") != "running" else 0.0

    # -- creating -------------------------------------------------------------------------------
    @classmethod
    def create(cls, path, kind: str, name: str, config: dict | None = None, *, overwrite: bool = False,
               resume: bool = False, lock: bool = True, overwrite_flag: str = "--overwrite",
               **fields: Any) -> "RunRecord":
        """Start a run in ``path`` (created if needed) and take its lock.

        An existing run there is an error (:class:`RunExists`) unless ``overwrite`` (it is replaced)
        or ``resume`` (it is continued: same kind required, its files kept). A folder holding other
        files is never touched. ``lock=False`` for a run inside a locked parent (a search's trials).
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise RunExists(f"{path} is a file, not a folder; choose another output folder")
        path.mkdir(parents=True, exist_ok=True)
        held = _lock(path) if lock else None
        try:
            # a killed writer's half-written files are never part of a run (the lock holder alone
            # writes here), and a folder holding only those is as good as empty
            files.remove_temporaries(path)
            previous = cls._existing(path)
            if previous is not None and resume:
                if previous.get("kind") != kind:
                    raise RunExists(f"{path} holds a {previous.get('kind')} run, not a {kind} run; "
                                    f"choose another output folder")
            elif previous is not None:
                if not overwrite:
                    what = f"a {previous.get('kind', 'run')} run '{previous.get('name', path.name)}'"
                    if previous.get("status"):
                        what += f" ({previous['status']}"
                        what += ", reduced size)" if previous.get("reduced") else ")"
                    raise RunExists(f"{path} already holds {what}; add {overwrite_flag} to replace it "
                                    f"(its files: {_describe_contents(path)}), or choose another folder")
                _clear(path)
            elif any(p.name != LOCK_NAME for p in path.iterdir()):
                raise RunExists(f"{path} already holds files that are not a TrainLab run "
                                f"({_describe_contents(path)}); choose an empty or new folder")
            from . import __version__

            manifest = dict(previous) if (previous is not None and resume) else {}
            manifest.update({
                "format": FORMAT, "kind": kind, "name": name, "status": "running", "message": "",
                "trainlab_version": __version__, "command": command_line(),
            })
            manifest.setdefault("title", "")
            manifest.setdefault("reduced", False)
            manifest.setdefault("started", now())
            if config is not None:
                manifest["config"] = config
            manifest.update(fields)
            manifest.pop("ended", None)
            record = cls(path, manifest, held)
            record._elapsed_before = _seconds(previous.get("elapsed_s")) if (previous and resume) else 0.0
            record.save()
            return record
        except BaseException:
            if held is not None:
                held.release()
            raise

    @staticmethod
    def _existing(path: Path) -> dict | None:
        """The manifest of a run already in ``path`` (a damaged one counts as a run), else None."""
        manifest = path / MANIFEST
        if manifest.is_file():
            try:
                data = files.read_json(manifest)
                return data if isinstance(data, dict) else {"name": path.name}
            except (OSError, ValueError):
                return {"name": path.name, "status": "unreadable run.json"}
        for marker in (LEGACY_MANIFEST, "checkpoint.npz", "search.json"):
            if (path / marker).exists():
                return {"name": path.name, "kind": "run", "status": f"made by an older trainlab ({marker})"}
        return None

    def child(self, relative: str, kind: str, name: str, config: dict | None = None, **fields) -> "RunRecord":
        """A run inside this one (a search's trial), covered by this run's lock."""
        return RunRecord.create(self.path / relative, kind, name, config, overwrite=True, lock=False, **fields)

    # -- writing --------------------------------------------------------------------------------
    def save(self) -> None:
        """Rewrite run.json."""
        files.write_json(self.path / MANIFEST, self.manifest)

    def update(self, **fields) -> None:
        self.manifest.update(fields)
        self.save()

    def elapsed(self) -> float:
        return self._elapsed_before + time.perf_counter() - self._t0

    def finish(self, status: str, message: str = "", **fields) -> None:
        """Record how the run ended (status, message, end time, elapsed seconds) and release the lock."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        self.manifest.update(status=status, message=message, ended=now(), elapsed_s=round(self.elapsed(), 3))
        self.manifest.update(fields)
        self.save()
        self.close()

    def close(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.manifest.get("status") == "running":
            if exc_type is KeyboardInterrupt:
                self.finish("interrupted", "interrupted (Ctrl-C or SIGTERM)")
            elif exc_type is not None:
                self.finish("crashed", f"{exc_type.__name__}: {exc}")
        self.close()

    def write_json(self, relative: str, obj) -> list[str]:
        """Write ``obj`` as strict JSON at ``RUN_DIR/relative``; returns where NaN/inf became null."""
        path = self.path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        return files.write_json(path, obj)

    def write_text(self, relative: str, text: str) -> None:
        path = self.path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        files.write_text(path, text)

    def write_history(self, history, stem: str = "history") -> None:
        """``history.json`` and ``history.csv`` (a :class:`~trainlab.history.History` or its dict)."""
        from .history import History

        h = history if isinstance(history, History) else History.from_dict(history)
        self.write_json(f"{stem}.json", h.to_dict())
        self.write_text(f"{stem}.csv", h.to_csv())

    def write_figures(self, figures: dict) -> list[str]:
        """Save each matplotlib figure of ``{name: Figure}`` as PNG and SVG; returns the names."""
        import matplotlib.pyplot as plt

        names = []
        for name, fig in (figures or {}).items():
            try:
                files.save_figure(fig, self.path / "figures", name)
                names.append(name)
            finally:
                plt.close(fig)
        self.manifest["figures"] = sorted(set(self.manifest.get("figures") or []) | set(names),
                                          key=lambda n: (n not in names, names.index(n) if n in names else 0, n))
        return names

    def write_claims(self, claims: list) -> None:
        """claims.json and the manifest's {n, passed}; ``claims`` are Claim objects or dicts."""
        dicts = [c.to_dict() if hasattr(c, "to_dict") else dict(c) for c in claims]
        self.write_json("claims.json", dicts)
        self.manifest["claims"] = {"n": len(dicts), "passed": sum(bool(c.get("passed")) for c in dicts)}
        not_applicable = sum(bool(c.get("not_applicable")) for c in dicts)
        if not_applicable:
            self.manifest["claims"]["not_applicable"] = not_applicable

    # -- reading --------------------------------------------------------------------------------
    @classmethod
    def open(cls, path) -> "RunRecord":
        """Read the run in ``path`` (no lock: reading never blocks a writer)."""
        path = Path(path)
        manifest_path = path / MANIFEST
        if not manifest_path.is_file():
            legacy = " (it was written by trainlab < 0.2; run it again)" if (path / LEGACY_MANIFEST).is_file() else ""
            raise RunError(f"{path} is not a TrainLab run: it has no {MANIFEST}{legacy}")
        try:
            manifest = files.read_json(manifest_path)
        except (OSError, ValueError) as exc:
            raise RunError(f"{manifest_path} is unreadable ({exc})") from None
        if not isinstance(manifest, dict):
            raise RunError(f"{manifest_path} is not a JSON object")
        return cls(path, manifest)

    def __repr__(self) -> str:
        return f"RunRecord({str(self.path)!r}, kind={self.kind!r}, name={self.name!r}, status={self.status!r})"

    def _repr_html_(self) -> str:
        """Jupyter's view: kind, name, status, a few configuration values, final metrics or claims,
        and the run's own curve as a sparkline (:func:`trainlab.notebook.record_html`)."""
        from .notebook import record_html

        return record_html(self)

    @property
    def kind(self) -> str:
        return str(self.manifest.get("kind", ""))

    @property
    def name(self) -> str:
        return str(self.manifest.get("name") or self.path.name)

    @property
    def title(self) -> str:
        return str(self.manifest.get("title") or self.name)

    @property
    def status(self) -> str:
        return str(self.manifest.get("status", "unknown"))

    @property
    def config(self) -> dict:
        c = self.manifest.get("config")
        return c if isinstance(c, dict) else {}

    def read_json(self, relative: str, default=None):
        """A JSON file of the run, or ``default`` when it is absent (an unreadable one raises RunError)."""
        path = self.path / relative
        if not path.is_file():
            return default
        try:
            return files.read_json(path)
        except (OSError, ValueError) as exc:
            raise RunError(f"{path} is unreadable ({exc})") from None

    def figure_paths(self) -> dict[str, dict[str, Path]]:
        """``{name: {".png": path, ".svg": path}}`` of the figures present, listed ones first."""
        folder = self.path / "figures"
        found: dict[str, dict[str, Path]] = {}
        if folder.is_dir():
            for p in sorted(folder.iterdir()):
                if p.is_file() and p.suffix.lower() in (".png", ".svg") and not p.name.startswith("."):
                    found.setdefault(p.stem, {})[p.suffix.lower()] = p
        names = self.manifest.get("figures")
        names = names if isinstance(names, list) else []  # a damaged manifest lists nothing
        listed = [n for n in names if isinstance(n, str) and n in found]
        return {n: found[n] for n in listed + [n for n in found if n not in listed]}

    def children(self) -> list["RunRecord"]:
        """The runs inside this one (a search's trials), in name order."""
        out = []
        for sub in ("trials",):
            folder = self.path / sub
            if folder.is_dir():
                out += [RunRecord.open(p) for p in sorted(folder.iterdir()) if is_run(p)]
        return out

    def histories(self) -> list[tuple[str, dict]]:
        """Every curve of the run as ``(label, History dict)``: the run's own history (train,
        trial), each ``variant/seed-K`` of an experiment, each trial of a search."""
        out: list[tuple[str, dict]] = []
        own = self.read_json("history.json")
        if isinstance(own, dict):
            out.append((self.name, own))
        seeds = self.path / "seeds"
        if seeds.is_dir():
            for p in sorted(seeds.glob("seed-*.json"), key=lambda q: _seed_number(q.stem)):
                data = self.read_json(f"seeds/{p.name}", {})
                curves = data.get("histories") if isinstance(data, dict) else None
                for variant, h in curves.items() if isinstance(curves, dict) else ():
                    if isinstance(h, dict):
                        out.append((f"{variant}/{p.stem}", h))
        if self.kind == "search":
            for child in self.children():
                h = child.read_json("history.json")
                if isinstance(h, dict):
                    out.append((child.name, h))
        return out


def _seconds(value) -> float:
    """``elapsed_s`` of a manifest as a number (0 when absent or damaged: reading a run never fails on it)."""
    try:
        return float(value or 0.0)
    except (TypeError, ValueError):
        return 0.0


def _seed_number(stem: str) -> int:
    try:
        return int(stem.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return 1 << 30
