"""Search hyperparameters the book's way (§6.5), automated on Optuna.

The default is the book's search: 500 MNIST training samples (400 train / 100 validation, a seeded
split), MLP 784-[100]*6-10 with ReLU and He init, SGD, 50 epochs, batch 100, and 100 random trials
of lr = 10^U(-6,-2) and weight decay = 10^U(-8,-4). The objective is the validation accuracy after
the last epoch; the test set is used once, at the end, by the best configuration (retrained with
its trial's seed and the same split, so it reproduces the trial's validation accuracy). Each trial
trains with its own seed derived from --seed and its place in the plan (fresh initial weights and
batch order per trial, as in the book). --data-dir searches on any four-file IDX dataset.

Stages (--stages K) narrow the ranges after each stage around the top trials (--top-fraction of
them; log ranges in log space; a margin of --margin × the original span; clipped to the original
range; choices keep those present among the top trials). Every stage's ranges are printed and
written to stages.json.

Resume: --resume continues a killed search in --out: finished trials are kept and not repeated; a
trial that was running when the search died is recorded as FAIL (fail_reason "interrupted ...") and
its slot runs again. Options given with --resume must have their stored values. A trial whose loss
becomes NaN is recorded as FAIL with its reason and the search goes on. One process at a time
writes a search: a second one on the same --out is refused, naming the first.

Parallel: --workers N runs N trials at once in N local processes (one BLAS thread each).
--dask-scheduler tcp://HOST:PORT runs them on a Dask cluster: the search process asks Optuna for
each trial, ships it to a worker and tells Optuna the result (workers need trainlab installed, and
--data-dir must exist on them). Pruning needs per-epoch reports to the study, which Dask workers
cannot send: --pruner is refused with Dask. Needs: pip install 'trainlab[distributed]'.

Determinism: with the random sampler each stage's trials are drawn up front from the seed, so the
same seed gives the same trials for any --workers, with or without Dask, and after --resume. With
TPE the same seed gives the same trials with one worker; with several, the trials depend on which
finish first. Pruning with several workers also depends on timing.

Outputs (RUN_DIR): the run record (run.json, summary.json, claims.json, figures/, trials/trial-NNNN/
one record per trial with its history), study.journal, trials.json/.csv, stages.json, best.txt (the
Best-k table), test.json. Exit codes: 0 done; 1 no trial completed, or the bundled data is damaged;
2 bad option (nothing written); 130 interrupted (continue with --resume).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from ..cli import UsageError
from ..data import DataSpec
from ..model import ModelSpec
from ..options import add_options, flags, format_hidden, given, integer, number
from ..search.book import book_config
from ..search.config import SearchConfig
from ..search.syntax import PARAM_SYNTAX
from ..trainer import TrainConfig
from ..validate import ConfigError

HELP = "search hyperparameters (the book's random search, TPE, stages, pruning, workers, Dask) on Optuna"

EPILOG = f"""\
examples:
  trainlab search --out runs/book-search                       # the book's 100 trials
  trainlab search --stages 3 --trials 90 --sampler tpe --out runs/tpe3
  trainlab search --pruner hyperband --workers 2 --out runs/hb
  trainlab search --param optimizer=choice:sgd,adam --param dropout=uniform:0:0.5 --out runs/wide
  trainlab search --config my-search.toml --out runs/mine       # TOML: see trainlab.search.tomlfile
  trainlab search --data-dir ~/data/fashion-mnist --out runs/fashion-search
  trainlab search --out runs/book-search --resume               # continue a killed search
  trainlab search --dask-scheduler tcp://10.0.0.5:8786 --out runs/cluster

{PARAM_SYNTAX}
"""

#: the base run's options, declared on the library's classes (defaults shown: the book's)
BASE = {"training": (TrainConfig, ("epochs", "batch_size", "optimizer")),
        "model": (ModelSpec, ("hidden_sizes",)),
        "data": (DataSpec, ("data_dir", "train_size", "val_fraction"))}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    book = book_config()
    s = parser.add_argument_group("search")
    s.add_argument("--config", metavar="FILE", help="TOML search configuration ([search] [model] [training] [data] "
                                                    "[space.NAME])")
    s.add_argument("--param", action="append", metavar="NAME=SPEC", help="add/replace a search parameter (see below)")
    add_options(s, SearchConfig, prefix="search.")
    b = parser.add_argument_group("base run (default: the book's)")
    for section, (cls, names) in BASE.items():
        add_options(b, cls, prefix=f"{section}.", only=names, defaults=getattr(book, section))
    r = parser.add_argument_group("running")
    r.add_argument("--out", metavar="DIR", help="run directory (default runs/search-<time>)")
    r.add_argument("--resume", action="store_true", help="continue the search in --out")
    r.add_argument("--overwrite", action="store_true", help="replace the search already in --out")
    r.add_argument("--workers", type=integer, metavar="N", help="trials run at once in local processes (default 1)")
    r.add_argument("--dask-scheduler", metavar="tcp://HOST:PORT", help="run the trials on a Dask cluster")
    r.add_argument("--dask-timeout", type=number, default=5.0, metavar="S",
                   help="seconds to wait for the scheduler (default 5)")
    r.add_argument("-q", "--quiet", action="store_true", help="no line per trial")


# -- the configuration from the options ---------------------------------------------------------------
def _changes(args) -> list[tuple[str, str, object]]:
    """Every option given that shapes the search, in the order it applies: ``(flag, what, value)``."""
    out = []
    if args.config:
        out.append((f"--config {args.config}", "config", args.config))
    for f, v in given(args, SearchConfig, prefix="search.").items():
        out.append((flags(SearchConfig)[f], "search." + f, v))
    for section, (cls, names) in BASE.items():
        for f, v in given(args, cls, prefix=f"{section}.").items():
            if f in names:
                out.append((flags(cls)[f], f"{section}.{f}", v))
    for text in args.param or ():
        out.append(("--param", "param", text))
    return out


def _apply(config: SearchConfig, what: str, value, args) -> None:
    from ..search.syntax import parse_param
    from ..search.tomlfile import load_toml, merge_toml

    section, _, name = what.partition(".")
    if what == "config":
        merge_toml(config, load_toml(value))
    elif what == "param":
        p = parse_param(value)
        config.space[p.name] = p
    elif section == "search":
        setattr(config, name, value)
        if name == "trials_per_stage" and getattr(args, "search.trials", None) is None:
            config.trials = value * config.stages
    elif section == "model":
        config.model[name] = list(value)
    elif section == "data" and name == "data_dir":
        config.data[name] = DataSpec(data_dir=value).data_dir
    else:
        getattr(config, section)[name] = value


def _usage(exc: ConfigError, changes, args) -> UsageError:
    """The error naming the option that set the bad value (the TOML file when none on the command line did)."""
    field, param = exc.field, getattr(exc, "param", None)
    typed = [flag for flag, what, value in changes
             if what.rpartition(".")[2] == field
             or (what == "param" and field == "space" and value.partition("=")[0].strip() == param)]
    if field == "config" or (not typed and args.config):
        return UsageError(f"--config {args.config}: {exc}")
    if not typed:  # the book's value, wrong for these data (--train-size 500 of a 60-sample dataset, say)
        known = {**flags(SearchConfig), **{f: flag for cls, names in BASE.values()
                                           for f, flag in flags(cls).items() if f in names}}
        typed = [known[field]] if field in known else []
    return UsageError(f"{typed[-1]}: {exc}" if typed else str(exc))


def build_config(args, base: SearchConfig | None = None) -> SearchConfig:
    """The book's search (or ``base``), overlaid with --config, the options and --param; checked."""
    config = (base or book_config()).copy()
    changes = _changes(args)
    try:
        for _, what, value in changes:
            _apply(config, what, value, args)
        config.validate()
    except ConfigError as exc:
        raise _usage(exc, changes, args) from None
    return config


def _show(value) -> str:
    return format_hidden(value) if isinstance(value, (list, tuple)) else str(value)


def _stored(stored: SearchConfig, what: str, value) -> str:
    """How the stored search set what an option sets."""
    section, _, name = what.partition(".")
    if what == "param":
        p = stored.space.get(str(value).partition("=")[0].strip())
        return p.describe() if p is not None else "not searched"
    v = getattr(stored, name) if section == "search" else getattr(stored, section).get(name)
    return "not set" if v is None else _show(v)


def _resumed_config(args, out: Path) -> SearchConfig:
    """The stored configuration of the search in ``out``; any option given must have its stored value."""
    from ..record import RunError, RunRecord

    try:
        record = RunRecord.open(out)
    except RunError as exc:
        raise UsageError(f"--resume: no search to continue in {out} ({exc})") from None
    if record.kind != "search":
        raise UsageError(f"--resume: {out} holds a {record.kind or 'unknown'} run, not a search")
    try:
        stored = SearchConfig.from_dict(record.config)
        stored.validate()
    except (ConfigError, TypeError, ValueError) as exc:
        raise UsageError(f"--resume: {out}/run.json holds an unusable search configuration ({exc})") from None
    build_config(args, stored)  # given values must be valid on their own
    differ = []
    for flag, what, value in _changes(args):
        alone = stored.copy()
        _apply(alone, what, value, args)
        if alone.to_dict() != stored.to_dict():
            differ.append(flag if what == "config" else f"{flag} {_show(value)} (stored: {_stored(stored, what, value)})")
    if differ:
        raise UsageError("--resume: these options differ from the stored search's: " + ", ".join(differ)
                         + f"; resume with the stored options (see {out}/run.json) or drop them, or use another --out")
    return stored


# -- the command ----------------------------------------------------------------------------------------
def run(args) -> int:
    from ..data import DataError
    from ..executor import DaskUnavailable, make_executor
    from ..record import RunError
    from ..search.run import SearchRun, open_record
    from .run import check_workers

    if args.resume and not args.out:
        raise UsageError("--resume needs --out, the run directory of the search to continue")
    if args.resume and args.overwrite:
        raise UsageError("--resume continues the search in --out and --overwrite replaces it: give one of them")
    out = Path(args.out) if args.out else Path("runs") / f"search-{datetime.now():%Y%m%d-%H%M%S}"
    config = _resumed_config(args, out) if args.resume else build_config(args)
    check_workers(args.workers, args.dask_scheduler)
    if args.dask_timeout <= 0:
        raise UsageError(f"--dask-timeout must be > 0 seconds, got {args.dask_timeout:g}")
    if args.dask_scheduler and config.pruner != "none":
        raise UsageError("pruning needs every epoch reported to the study, which Dask workers do not reach "
                         "(no shared storage); use --pruner none with --dask-scheduler")
    try:  # read (and check) the data before anything is written
        arrays = config.data_spec().load()
    except ConfigError as exc:
        raise _usage(exc, _changes(args), args) from None
    except DataError as exc:
        if config.data.get("data_dir") is not None:
            raise UsageError(f"--data-dir: {exc}") from None
        print(f"trainlab search: error: {exc}", file=sys.stderr)  # the bundled data is damaged
        return 1
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out: {out} is a file, not a folder")
    try:
        executor = make_executor(args.workers or 1, args.dask_scheduler, args.dask_timeout)
    except DaskUnavailable as exc:
        raise UsageError(str(exc)) from None
    try:
        try:
            record = open_record(out, config, arrays, resume=args.resume, overwrite=args.overwrite)
        except RunError as exc:
            hint = "; or add --resume to continue it" if "already holds a search" in str(exc) else ""
            raise UsageError(f"--out: {exc}{hint}") from None
        code = SearchRun(config, record, executor, arrays, verbose=not args.quiet).run(resume=args.resume)
        from ..report import refresh

        refresh(out.parent)  # a report of the folder of runs this search joined shows it too
        return code
    except KeyboardInterrupt:
        executor.close(cancel=True)
        print(f"interrupted; continue with: trainlab search --out {out} --resume", file=sys.stderr)
        return 130
    finally:
        executor.close()
