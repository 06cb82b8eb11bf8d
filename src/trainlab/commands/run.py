"""Run a chapter-6 experiment (or all of them): train, check the book's claims, draw the figures.

Each experiment writes its run record into OUT/NAME/ (run.json, summary.json, claims.json,
seeds/seed-K.json|.csv with every curve, figures/*.png|svg) and OUT/report.html is brought up to
date. Every claim is printed as ✓ (holds) or ✗ (does not hold) with its numbers; a claim that does
not hold is a finding, not an error. An experiment folder that already holds a run is never
replaced without --overwrite. Exit codes: 0 every run completed; 1 an experiment crashed or
diverged; 2 usage error (nothing written); 130 interrupted.

examples:
  trainlab run optimizer-race                 the toy race, into ./runs/optimizer-race
  trainlab run all                            everything at full size, then ./runs/report.html
  trainlab run init-mnist --seeds 5 --out /tmp/runs
  trainlab run optimizer-mnist --set iterations=500 --set 'optimizers=["sgd","adam"]'
  trainlab run batchnorm --reduced            the small test-size version (seconds)
  trainlab run all --data-dir ~/data/fashion-mnist --out runs-fashion   the chapter on another dataset
  trainlab run all --dask-scheduler tcp://10.0.0.5:8786   the seeds on a Dask cluster
  trainlab run optimizer-race --lang ko       the report's own text in Korean (claims stay English)
  trainlab list experiments                   every experiment, its book script and its --set keys
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from .. import i18n
from ..cli import UsageError
from ..options import integer

HELP = "run a chapter-6 experiment (or 'all'), check the book's claims and draw its figures"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..experiments import names

    parser.add_argument("name", metavar="NAME|all", help=f"the experiment: {', '.join(names())}, or 'all'")
    parser.add_argument("--seeds", type=integer, default=None, metavar="N",
                        help="run seeds 0..N-1 (default: the experiment's own)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="runs folder; the experiment goes to DIR/NAME (default: ./runs)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a configuration key (value parsed as JSON where possible: 0.1, "
                             "[50,50], true; else a string); repeatable. With 'all', applies to every "
                             "experiment that declares KEY ('trainlab list experiments' shows the keys)")
    parser.add_argument("--reduced", action="store_true",
                        help="the reduced (test) size of each experiment: seconds, not minutes")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="train on a four-file IDX dataset in MNIST's layout (Fashion-MNIST, KMNIST, …) "
                             "instead of the bundled MNIST")
    parser.add_argument("--overwrite", action="store_true", help="replace runs already in the output folder")
    parser.add_argument("--workers", type=integer, default=None, metavar="N",
                        help="processes running seeds in parallel, one BLAS thread each "
                             "(default: 1 for one experiment, 2 for 'all')")
    parser.add_argument("--dask-scheduler", metavar="tcp://HOST:PORT",
                        help="run the seeds on a Dask cluster (pip install 'trainlab[distributed]'; the "
                             "workers need trainlab, and --data-dir must exist on them)")
    parser.add_argument("--dask-timeout", type=float, default=5.0, metavar="S",
                        help="seconds to wait for the scheduler (default 5)")
    i18n.add_argument(parser)


def check_workers(workers: int | None, dask: str | None) -> None:
    """--workers: at least 1, at most this machine's cores, not with --dask-scheduler."""
    if workers is None:
        return
    cores = os.cpu_count() or 1
    if workers < 1:
        raise UsageError(f"--workers must be an integer >= 1, got {workers}")
    if dask:
        raise UsageError("--workers is for local processes; a Dask run uses as many as the cluster has "
                         "worker threads")
    if workers > cores:
        raise UsageError(f"--workers {workers} is more than this machine's {cores} cores; each worker trains "
                         f"on one core, so use at most {cores}")


def run(args) -> int:
    lang = i18n.from_args(args)  # a bad --lang/TRAINLAB_LANG is a usage error before anything runs
    with i18n.exported(lang):
        return _run(args, lang)


def _run(args, lang: str) -> int:
    from ..data import DataError, load_arrays
    from ..executor import DaskUnavailable, make_executor
    from ..experiments import names
    from ..experiments.runner import DEFAULT_OUT, make_plan, run_plan
    from ..record import RunError
    from ..validate import ConfigError

    if args.name != "all" and args.name not in names():
        raise UsageError(f"unknown experiment {args.name!r}; valid experiments are: {', '.join(names())}, all")
    if args.seeds is not None and args.seeds < 1:
        raise UsageError(f"--seeds must be an integer >= 1, got {args.seeds}")
    check_workers(args.workers, args.dask_scheduler)
    selected = None if args.name == "all" else [args.name]
    try:
        plan = make_plan(selected, args.seeds, args.overrides, args.reduced, args.data_dir)
    except ConfigError as exc:
        raise UsageError(f"--set: {exc}") from None
    if args.data_dir is not None:
        try:  # read (and check) the dataset before anything is written
            load_arrays(plan[0].config.get("data_dir") or str(Path(args.data_dir).expanduser().resolve()))
        except DataError as exc:
            raise UsageError(f"--data-dir: {exc}") from None
    out = Path(args.out) if args.out is not None else DEFAULT_OUT
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out: {out} is a file, not a folder")
    try:
        executor = make_executor(args.workers or (2 if args.name == "all" else 1), args.dask_scheduler,
                                 args.dask_timeout)
    except DaskUnavailable as exc:
        raise UsageError(str(exc)) from None
    print(f"running {', '.join(p.name for p in plan)} on {executor.describe()}", flush=True)
    start = time.perf_counter()
    try:
        results = run_plan(plan, out, executor, overwrite=args.overwrite)
    except RunError as exc:
        raise UsageError(f"--out: {exc}") from None
    except KeyboardInterrupt:
        executor.close(cancel=True)
        raise
    finally:
        executor.close()
    from ..report import refresh

    refresh(out, always=True, lang=lang)
    if len(results) > 1:
        n = sum(r["claims"]["n"] for r in results.values() if r.get("claims"))
        ok = sum(r["claims"]["passed"] for r in results.values() if r.get("claims"))
        bad = [k for k, r in results.items() if r["status"] != "completed"]
        print(f"== all: {len(results)} experiments in {time.perf_counter() - start:.0f} s, {ok}/{n} claims hold"
              + (f"; not completed: {', '.join(bad)}" if bad else ""))
    return 0 if all(r["status"] == "completed" for r in results.values()) else 1
