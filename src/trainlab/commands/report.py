"""Write the HTML report from existing runs (never retrains).

RUNS_DIR is searched for runs — folders with a run.json, as 'trainlab run', 'trainlab train' and
'trainlab search' write them, nested folders too (not inside a run) — whatever their kind. The
report is one self-contained HTML file: a summary table of every run (kind, dataset, status,
claims, a "reduced size" badge for test-size runs), then per run its claims ✓/✗ with their
numbers, the book's numbers beside ours, a train run's final metrics, a search's trials, the
figures and the configuration. No external resources, no JavaScript. A damaged file is a note in
its run's section; a folder written by an older trainlab (result.json) is listed with a note.
--lang (or TRAINLAB_LANG) writes the page's own text in Korean or Japanese; the runs' claims and
captions are shown as recorded (English).
"""

from __future__ import annotations

import argparse

from .. import i18n

HELP = "write the self-contained HTML report of every run under a folder"

EPILOG = """\
examples:
  trainlab report runs                      # → runs/report.html
  trainlab report runs --out /tmp/ch6.html
  trainlab report .                         # every run below the current folder
  trainlab report runs --lang ko            # the page in Korean (ja: Japanese)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.add_argument("runs_dir", metavar="RUNS_DIR",
                        help="folder holding runs (each a folder with run.json), at any depth up to 3")
    parser.add_argument("--out", metavar="FILE", default=None,
                        help="where to write the report (default RUNS_DIR/report.html)")
    i18n.add_argument(parser)


def run(args) -> int:
    from ..cli import UsageError
    from ..report import NoRunsError, load_runs, write_runs_report

    lang = i18n.from_args(args)
    try:
        runs = load_runs(args.runs_dir)
    except NoRunsError as exc:
        raise UsageError(str(exc)) from None
    path = write_runs_report(runs, args.runs_dir, args.out, lang)
    for r in runs:
        notes = (" reduced size" if r.reduced else "") + (f" ({len(r.problems)} note(s))" if r.problems else "")
        claims = f" {r.n_passed}/{r.n_claims} claims" if r.n_claims else ""
        print(f"  {r.kind or '?':<10} {r.status:<11} {r.where}{claims}{notes}")
    print(f"report: {path} ({len(runs)} run(s))")
    return 0
