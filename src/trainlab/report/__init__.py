"""The HTML report: every run under RUNS_DIR in one self-contained ``report.html``.

    from trainlab.report import write_report
    write_report("runs")               # → runs/report.html

It reads only run records (:mod:`trainlab.record`: ``run.json``, ``summary.json``, ``claims.json``,
``figures/``), whatever their kind — experiments, searches, train runs — in RUNS_DIR and in folders
below it, and never retrains. What each kind shows is described in :mod:`.sections`; anything
damaged is a note in that run's section (:mod:`.load`). No external resources, no JavaScript.
The commands (``trainlab report``, ``trainlab run``) build it; the experiment runner does not.
``lang`` (``en``, ``ko``, ``ja``; default: the active language, :mod:`trainlab.i18n`) is the language
of the page's own text; what the runs recorded (claims, captions, names) is shown as recorded.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from .. import files, i18n
from .load import RunView, find_runs, load_run
from .sections import render_page

__all__ = ["write_report", "write_runs_report", "build_html", "load_runs", "find_runs", "load_run", "RunView",
           "NoRunsError", "refresh"]


class NoRunsError(ValueError):
    """RUNS_DIR does not exist or holds no run."""


def load_runs(runs_dir) -> list[RunView]:
    """Every run under ``runs_dir``, read (raises :class:`NoRunsError` if there is none)."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise NoRunsError(f"{runs_dir} is not a folder; expected a folder of runs, each with a run.json, as "
                          f"'trainlab run', 'trainlab train' and 'trainlab search' write them")
    paths = find_runs(runs_dir)
    if not paths:
        raise NoRunsError(f"{runs_dir} holds no run: no folder in it (or below it) has a run.json, as "
                          f"'trainlab run NAME|all', 'trainlab train' and 'trainlab search' write them")
    return [load_run(p, runs_dir) for p in paths]


def _render(runs: list[RunView], runs_dir, lang: str | None = None) -> str:
    from .. import __version__

    generated = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()
    with i18n.using(lang):
        return render_page(runs, str(runs_dir), generated, __version__)


def build_html(runs_dir, lang: str | None = None) -> str:
    """The report page for ``runs_dir`` as a string (raises :class:`NoRunsError` if there is nothing)."""
    return _render(load_runs(runs_dir), runs_dir, lang)


def write_runs_report(runs: list[RunView], runs_dir, out_path=None, lang: str | None = None) -> Path:
    """Write the page of ``runs`` (from :func:`load_runs`) to ``out_path`` (default RUNS_DIR/report.html)."""
    out = Path(out_path) if out_path is not None else Path(runs_dir) / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    files.write_text(out, _render(runs, runs_dir, lang))  # atomic: a reader never sees half a page
    return out


def write_report(runs_dir, out_path=None, lang: str | None = None) -> Path:
    """Write the report for ``runs_dir`` to ``out_path`` (default ``runs_dir/report.html``); returns its path."""
    return write_runs_report(load_runs(runs_dir), runs_dir, out_path, lang)


def refresh(runs_dir, always: bool = False, log=print, lang: str | None = None) -> Path | None:
    """Rewrite ``RUNS_DIR/report.html`` so it shows a run just written there: ``always`` (``trainlab
    run``), or when a report is there already (``train``, ``search`` into a folder of runs). A page
    that cannot be written is said in one line; the runs are complete either way."""
    runs_dir = Path(runs_dir)
    if not always and not (runs_dir / "report.html").is_file():
        return None
    import sys

    try:
        path = write_report(runs_dir, lang=lang)
    except Exception as exc:
        print(f"trainlab: the report could not be written ({type(exc).__name__}: {exc}); "
              f"run 'trainlab report {runs_dir}' to try again", file=sys.stderr)
        return None
    log(f"report: {path}")
    return path
