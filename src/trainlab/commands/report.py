"""Write the HTML report from existing run directories (never retrains).

RUNS_DIR holds one subdirectory per run (each with result.json, and config.json, summary.json,
claims.json, figures/ as 'trainlab run' and 'trainlab search' write them). The report is one
self-contained HTML file: figures embedded, every claim with ✓/✗ and its numbers, the book's numbers
beside ours, the configuration of each run; no external resources, no JavaScript.
"""

from __future__ import annotations

import argparse

HELP = "write the self-contained HTML report from existing run directories"

EPILOG = """\
examples:
  trainlab report runs                      # → runs/report.html
  trainlab report runs --out /tmp/ch6.html
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.add_argument("runs_dir", metavar="RUNS_DIR",
                        help="folder with one run directory per experiment (as written by 'trainlab run')")
    parser.add_argument("--out", metavar="FILE", default=None,
                        help="where to write the report (default RUNS_DIR/report.html)")


def run(args) -> int:
    from ..cli import UsageError
    from ..report import NoRunsError, write_report

    try:
        path = write_report(args.runs_dir, args.out)
    except NoRunsError as exc:
        raise UsageError(str(exc)) from None
    print(f"report: {path}")
    return 0
