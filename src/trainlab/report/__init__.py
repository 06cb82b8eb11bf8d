"""The HTML report: every run directory under RUNS_DIR in one self-contained ``report.html``.

    from trainlab.report import write_report
    write_report("runs")               # → runs/report.html

It reads only run directories (``RUNS_DIR/<name>/`` with result.json and, if present, config.json,
summary.json, claims.json and figures/*.png|svg; see :mod:`trainlab.experiments.base`) and never
retrains. Any subdirectory with a result.json is shown, so ``trainlab search`` run directories appear
too. The page has a summary table (experiment, claims passed/total, time), then per run: each claim
✓/✗ with its numbers, the book's numbers beside ours (``result.json['book']``, the claims' values and
any ``summary.json['tables']``: ``[{title, columns, rows}]``), the figures embedded as data URIs
(PNG preferred, else SVG) and the configuration (collapsible). No external resources, no JavaScript.
"""

from __future__ import annotations

import datetime as _dt
import os
import tempfile
from pathlib import Path

from .html import render_page
from .load import Run, find_runs, load_run

__all__ = ["write_report", "build_html", "find_runs", "load_run", "Run", "NoRunsError"]


class NoRunsError(ValueError):
    """RUNS_DIR does not exist or holds no run directory."""


def build_html(runs_dir) -> str:
    """The report page for ``runs_dir`` as a string (raises :class:`NoRunsError` if there is nothing)."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise NoRunsError(f"{runs_dir} is not a directory; expected a runs directory written by "
                          f"'trainlab run' (one subdirectory per experiment, each with result.json)")
    dirs = find_runs(runs_dir)
    if not dirs:
        raise NoRunsError(f"{runs_dir} holds no run directory: expected subdirectories with a result.json, "
                          f"as written by 'trainlab run NAME|all' or 'trainlab search'")
    from .. import __version__

    runs = [load_run(d) for d in dirs]
    generated = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()
    return render_page(runs, str(runs_dir), generated, __version__)


def write_report(runs_dir, out_path=None) -> Path:
    """Write the report for ``runs_dir`` to ``out_path`` (default ``runs_dir/report.html``); returns its path."""
    text = build_html(runs_dir)
    out = Path(out_path) if out_path is not None else Path(runs_dir) / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:  # UTF-8 whatever the locale, and atomic: a reader never sees half a page
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
