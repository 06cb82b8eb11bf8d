"""Overlay the training curves of any runs: train runs, experiment variants and seeds, search trials.

A RUN is a run folder; add #PATTERN to select its curves by label (shell-style: * ? [..]): a train
run's curve is its own name, an experiment's are VARIANT/seed-K, a search's are its trial names.
Each metric (--metric, default: every metric the selected curves share) gets one figure, and a
table of each curve's final value (the last finite one) and best value (the largest accuracy,
the smallest loss). Curves recorded with diagnostics (train --diagnostics) also get per-layer
figures: gradient norms, and dead (ReLU) or saturated (sigmoid, tanh) fractions. The configuration
keys that differ between the compared runs are listed.

Writes into --out (default ./compare-YYYYmmdd-HHMMSS): compare.html (self-contained, like the
report), METRIC.png and METRIC.svg per metric (and diagnostics_grad_norm, diagnostics_saturation
when there are diagnostics), compare.json (the tables). Exit codes: 0 written;
2 a missing or non-run folder, a pattern that selects nothing, an unknown metric (each says what
exists), an unusable --out.
"""

from __future__ import annotations

import argparse

from .. import i18n

HELP = "overlay the curves of any runs (train, experiment variants and seeds, search trials)"

EPILOG = """\
examples:
  trainlab compare runs/adam runs/sgd                        two train runs, every shared metric
  trainlab compare 'runs/optimizer-mnist#adam/*' runs/adam   an experiment's Adam seeds and a train run
  trainlab compare 'runs/init-mnist#*/seed-0' --metric test_acc
  trainlab compare 'runs/search#trial-000[1-3]' --metric val_acc --metric val_loss --out cmp
  trainlab compare runs/adam runs/sgd --lang ja              the page and figures in Japanese
metrics: iter_loss, train_loss, val_loss, test_loss, train_acc, val_acc, test_acc
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.add_argument("runs", nargs="+", metavar="RUN[#PATTERN]",
                        help="a run folder, optionally with #PATTERN selecting its curves by label")
    parser.add_argument("--metric", action="append", default=None, metavar="METRIC",
                        help="a metric to draw (repeatable, or comma-separated; default: every metric the "
                             "selected curves share)")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="output folder (default: ./compare-YYYYmmdd-HHMMSS)")
    i18n.add_argument(parser)


def run(args) -> int:
    from pathlib import Path

    from ..cli import UsageError
    from ..compare import (CompareError, choose_metrics, default_out, open_sources, prepare_out, select_curves,
                           write_compare)

    lang = i18n.from_args(args)
    try:
        sources = open_sources(args.runs)
        curves = select_curves(sources)
        metrics = choose_metrics(curves, args.metric)
        out = Path(args.out) if args.out is not None else default_out()
        previous = prepare_out(out, sources)
    except CompareError as exc:
        raise UsageError(str(exc)) from None
    with i18n.using(lang):
        table = write_compare(out, sources, curves, metrics, previous)
    print(f"compare: {out / 'compare.html'} ({len(curves)} curve(s) from "
          f"{len({r['path'] for r in table['runs']})} run(s); {', '.join(metrics)})")
    if table["diagnostics"]["figures"]:
        print(f"  per-layer diagnostics: {', '.join(table['diagnostics']['figures'])}")
    differing = table["config_differences"]
    if differing:
        print(f"  configuration keys that differ: {', '.join(list(differing)[:12])}"
              + (f", … ({len(differing) - 12} more)" if len(differing) > 12 else ""))
    return 0
