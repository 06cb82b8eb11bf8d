"""Run a chapter-6 experiment (or all of them): train, check the book's claims, draw the figures.

Each experiment writes OUT/NAME/: config.json, seeds/seed-K.json, summary.json, claims.json,
figures/*.png and *.svg, result.json. 'all' runs every experiment into OUT/NAME/ and then writes
OUT/report.html. Every claim is printed as ✓ (holds) or ✗ (does not hold) with its numbers; a claim
that does not hold is a finding, not an error: the exit code is 0 when every run completed, 1 if an
experiment crashed, 2 for a usage error.

examples:
  trainlab run optimizer-race                 the toy race, into ./runs/optimizer-race
  trainlab run all                            everything, at full size, then ./runs/report.html
  trainlab run init-mnist --seeds 5 --out /tmp/runs
  trainlab run optimizer-mnist --set iterations=500 --set 'optimizers=["sgd","adam"]'
  trainlab run batchnorm --reduced            the small test-size version (seconds)
  trainlab run all --workers 1                one process (default for 'all': 2 workers)
"""

from __future__ import annotations

import argparse

from ..cli import UsageError

HELP = "run a chapter-6 experiment (or 'all'), check the book's claims and draw its figures"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..experiments import names

    parser.add_argument("name", metavar="NAME|all",
                        help=f"the experiment: {', '.join(names())}, or 'all'")
    parser.add_argument("--seeds", type=_positive_int, default=None, metavar="N",
                        help="run seeds 0..N-1 (default: the experiment's own, e.g. 1 when deterministic)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="runs folder; the experiment goes to DIR/NAME (default: ./runs)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a configuration key (value parsed as JSON where possible: 0.1, "
                             "[50,50], true; else a string); repeatable. With 'all', applies to every "
                             "experiment that declares KEY")
    parser.add_argument("--reduced", action="store_true",
                        help="the reduced (test) size of each experiment: seconds, not minutes")
    parser.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                        help="processes running seeds in parallel, each with one BLAS thread "
                             "(default: 1 for one experiment, 2 for 'all')")


def run(args) -> int:
    from pathlib import Path

    from ..experiments import names
    from ..experiments.runner import DEFAULT_OUT, parse_overrides, run_all, run_experiment

    valid = names()
    if args.name != "all" and args.name not in valid:
        raise UsageError(f"unknown experiment {args.name!r}; valid experiments are: {', '.join(valid)}, all")
    try:
        overrides = parse_overrides(args.overrides)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    out = Path(args.out) if args.out is not None else DEFAULT_OUT
    try:
        if args.name == "all":
            # validate every --set against every experiment before anything runs
            done = run_all(seeds=args.seeds, out_dir=out, overrides=overrides, reduced=args.reduced,
                           workers=args.workers or 2)
            results = list(done["results"].values())
        else:
            from ..experiments.runner import resolve_config
            from ..experiments import get

            resolve_config(get(args.name), overrides, args.reduced)  # usage errors before any output
            results = [run_experiment(args.name, seeds=args.seeds, out_dir=out / args.name, overrides=overrides,
                                      reduced=args.reduced, workers=args.workers or 1)]
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return 0 if all(r["status"] == "completed" for r in results) else 1
