"""Search hyperparameters the book's way (§6.5), automated on Optuna.

The default is the book's search: 500 MNIST training samples (400 train / 100 validation, a seeded
split), MLP 784-[100]*6-10 with ReLU and He init, SGD, 50 epochs, batch 100, and 100 random trials
of lr = 10^U(-6,-2) and weight decay = 10^U(-8,-4). The objective is the validation accuracy after
the last epoch; the test set is used once, at the end, by the best configuration (retrained with
its trial's seed and the same split, so it reproduces the trial's validation accuracy). Each trial
trains with its own seed derived from --seed and its place in the plan (fresh initial weights and
batch order per trial, as in the book).

Stages (--stages K) narrow the ranges after each stage around the top trials (--top-fraction of
them; log ranges in log space; a margin of --margin × the original span; clipped to the original
range; choices keep those present among the top trials). Every stage's ranges are printed and
written to stages.json.

Storage: RUN_DIR/study.journal (Optuna JournalStorage, a file log safe across processes and kills).
--resume continues a killed search: finished trials are kept and not repeated; a trial that was
running when the search died is recorded as FAIL (fail_reason "interrupted ...") and its slot runs
again, so the search ends with the requested number of finished trials. A trial whose loss becomes
NaN is recorded as FAIL with its reason (user attr fail_reason) and the search goes on.

Parallel: --workers N runs N trials at once in N local processes (one BLAS thread each).
--dask-scheduler tcp://HOST:PORT runs them on a Dask cluster: the search process asks Optuna for
each trial, ships the whole trial to a worker and tells Optuna the result (no shared storage needed;
workers need trainlab installed). Pruning needs per-epoch reports to the study and is refused with
Dask (--pruner none). Needs: pip install 'trainlab[distributed]'.

Determinism: with the random sampler each stage's trials are drawn up front from the seed, so the
same seed gives the same trials for any --workers, with or without Dask, and after --resume. With
TPE the same seed gives the same trials with one worker; with several, the trials depend on which
finish first. Pruning with several workers also depends on timing.

Outputs (RUN_DIR): search.json, study.journal, trials.json/.csv, stages.json, best.txt (the Best-k
table), test.json, figures/top20_curves.png|svg and figures/scatter.png|svg, config.json,
summary.json, claims.json, result.json. Exit codes: 0 done; 2 bad option (nothing written);
130 interrupted (resume with --resume).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tomllib
from datetime import datetime
from pathlib import Path

from ..checkpoint import atomic_write_text
from ..cli import UsageError
from ..search.space import PARAM_SYNTAX, PRUNERS, SAMPLERS, SearchConfig, SpaceError, book_config, parse_param

HELP = "search hyperparameters (the book's random search, TPE, stages, pruning, workers, Dask) on Optuna"

EPILOG = f"""\
examples:
  trainlab search --out runs/book-search                       # the book's 100 trials
  trainlab search --stages 3 --trials 90 --sampler tpe --out runs/tpe3
  trainlab search --pruner hyperband --workers 2 --out runs/hb
  trainlab search --param optimizer=choice:sgd,adam --param dropout=uniform:0:0.5 --out runs/wide
  trainlab search --config my-search.toml --out runs/mine       # TOML: see trainlab.search.space
  trainlab search --out runs/book-search --resume               # continue a killed search
  trainlab search --dask-scheduler tcp://10.0.0.5:8786 --out runs/cluster

{PARAM_SYNTAX}
"""

#: options that shape the search; with --resume they come from RUN_DIR/search.json
SHAPING = ("config", "param", "trials", "stages", "trials_per_stage", "sampler", "pruner", "seed",
           "top_fraction", "margin", "epochs", "train_size", "val_fraction", "batch_size", "hidden", "optimizer")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    s = parser.add_argument_group("search")
    s.add_argument("--config", metavar="FILE", help="TOML search configuration ([search] [model] [training] [data] [space.NAME])")
    s.add_argument("--param", action="append", metavar="NAME=SPEC", help="add/replace a search parameter (see below)")
    s.add_argument("--trials", type=int, help="total number of trials (default 100)")
    s.add_argument("--stages", type=int, help="number of narrowing stages (default 1)")
    s.add_argument("--trials-per-stage", type=int, help="trials per stage (default: --trials / --stages)")
    s.add_argument("--sampler", choices=SAMPLERS, help="random (the book's, default) or tpe; both seeded")
    s.add_argument("--pruner", choices=PRUNERS, help="early abandonment of poor trials (default none)")
    s.add_argument("--seed", type=int, help="sampler and training seed (default 0)")
    s.add_argument("--top-fraction", type=float, help="fraction of a stage's trials the next ranges enclose (default 0.2)")
    s.add_argument("--margin", type=float, help="margin around the top trials, as a fraction of the original span (default 0.1)")
    b = parser.add_argument_group("base run (default: the book's)")
    b.add_argument("--epochs", type=int, help="epochs per trial (default 50)")
    b.add_argument("--train-size", type=int, help="MNIST training samples used (default 500)")
    b.add_argument("--val-fraction", type=float, help="share of them held out for validation (default 0.2)")
    b.add_argument("--batch-size", type=int, help="mini-batch size (default 100)")
    b.add_argument("--hidden", help="hidden layers, e.g. 100x6 or 100-50 (default 100x6)")
    b.add_argument("--optimizer", help="base optimizer (default sgd)")
    r = parser.add_argument_group("running")
    r.add_argument("--out", metavar="DIR", help="run directory (default runs/search-<time>)")
    r.add_argument("--resume", action="store_true", help="continue the search in --out")
    r.add_argument("--workers", type=int, default=1, help="trials run at once in local processes (default 1)")
    r.add_argument("--dask-scheduler", metavar="tcp://HOST:PORT", help="run the trials on a Dask cluster")
    r.add_argument("--dask-timeout", type=float, default=5.0, help="seconds to wait for the scheduler (default 5)")
    r.add_argument("-q", "--quiet", action="store_true", help="no line per trial")


def build_config(args) -> SearchConfig:
    """The book's search, overlaid with --config, the command-line options and --param."""
    from ..search.space import parse_hidden

    config = book_config()
    if args.config:
        try:
            with open(args.config, "rb") as f:
                config.merge_toml(tomllib.load(f))
        except OSError as exc:
            raise SpaceError(f"--config {args.config}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SpaceError(f"--config {args.config}: not valid TOML ({exc})") from None
    for key in ("trials", "stages", "trials_per_stage", "sampler", "pruner", "seed", "top_fraction", "margin"):
        if getattr(args, key) is not None:
            setattr(config, key, getattr(args, key))
    if args.trials_per_stage is not None and args.trials is None:
        config.trials = args.trials_per_stage * config.stages
    for key, section in (("epochs", "training"), ("batch_size", "training"), ("optimizer", "training"),
                         ("train_size", "data"), ("val_fraction", "data")):
        if getattr(args, key) is not None:
            getattr(config, section)[key] = getattr(args, key)
    if args.hidden is not None:
        config.model["hidden_sizes"] = list(parse_hidden(args.hidden))
    for text in args.param or ():
        p = parse_param(text)
        config.space[p.name] = p
    config.validate()
    return config


PID_FILE = "search.pid"


def _running_pid(out: Path) -> int | None:
    """The process id of a search still running in ``out`` (from search.pid), else None."""
    try:
        pid = int((out / PID_FILE).read_text())
    except (OSError, ValueError):
        return None
    if pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    try:  # a reused process id that is not a search
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if cmdline and b"search" not in cmdline:
            return None
    except OSError:
        pass
    return pid


def _remove_stale_lock(out: Path) -> None:
    """A search killed while writing the journal leaves Optuna's lock file; nobody else holds it
    (checked through search.pid), so remove it rather than wait for Optuna's 30 s grace period."""
    from ..search.study import JOURNAL_NAME

    lock = out / f"{JOURNAL_NAME}.lock"
    if lock.is_symlink() or lock.exists():
        lock.unlink(missing_ok=True)
        print(f"resume: removed the journal lock left by the stopped search ({lock.name})")


def run(args) -> int:
    from ..search.parallel import DaskExecutor, DaskUnavailable, InProcess, LocalProcesses, connect_dask

    t0 = time.perf_counter()
    if args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
    out = Path(args.out) if args.out else Path("runs") / f"search-{datetime.now():%Y%m%d-%H%M%S}"
    if args.resume:
        if not args.out:
            raise UsageError("--resume needs --out, the run directory of the search to continue")
        given = [f"--{k.replace('_', '-')}" for k in SHAPING if getattr(args, k) not in (None, False)]
        if given:
            raise UsageError(f"--resume takes the search's options from {out}/search.json; "
                             f"drop {', '.join(given)}")
        try:
            config = SearchConfig.from_dict(json.loads((out / "search.json").read_text()))
            config.validate()
        except FileNotFoundError:
            raise UsageError(f"--resume: no search to continue in {out} (no search.json)") from None
        except (ValueError, SpaceError) as exc:
            raise UsageError(f"--resume: {out}/search.json is unusable ({exc})") from None
        pid = _running_pid(out)
        if pid is not None:
            raise UsageError(f"the search in {out} is still running (process {pid}); stop it before --resume")
    else:
        try:
            config = build_config(args)
        except SpaceError as exc:
            raise UsageError(str(exc)) from None
        if out.exists() and any(out.iterdir()):
            raise UsageError(f"{out} already holds files; continue it with --resume or choose another --out")
    client = None
    if args.dask_scheduler and args.workers > 1:
        raise UsageError("--workers is for local processes; a Dask search runs as many trials at once as "
                         "the cluster has worker threads")
    if args.dask_scheduler:
        if config.pruner != "none":
            raise UsageError("pruning needs every epoch reported to the study, which Dask workers do not reach "
                             "(no shared storage); use --pruner none with --dask-scheduler")
        try:
            client = connect_dask(args.dask_scheduler, timeout=args.dask_timeout)
        except DaskUnavailable as exc:
            raise UsageError(str(exc)) from None
    # everything is checked: from here on the run directory is written
    out.mkdir(parents=True, exist_ok=True)
    if not args.resume:
        atomic_write_text(out / "search.json", json.dumps(config.to_dict(), indent=1))
    else:
        _remove_stale_lock(out)
    atomic_write_text(out / PID_FILE, str(os.getpid()))
    if client is not None:
        executor = DaskExecutor(client)
    elif args.workers > 1:
        executor = LocalProcesses(args.workers)
    else:
        executor = InProcess()
    return _search(config, out, executor, args, t0)


def _search(config, out: Path, executor, args, t0) -> int:
    from ..search.figures import make_figures
    from ..search.objective import retrain_and_test
    from ..search.results import best_k_lines, make_claims, summarize, write_experiment, write_trials
    from ..search.study import Search

    say = print
    where = (f"Dask at {args.dask_scheduler} ({executor.capacity} threads)" if args.dask_scheduler
             else f"{executor.capacity} local process(es)" if executor.capacity > 1 else "this process")
    say(f"search: {config.total_trials} trials, {config.stages} stage(s), {config.sampler} sampler, "
        f"pruner {config.pruner}, seed {config.seed}, on {where}; run directory {out}")
    try:
        search = Search(config, out, executor, log=say, verbose=not args.quiet)
        if args.resume:
            fixed = search.repair()
            if fixed:
                say(f"resume: trial(s) {fixed} were running when the search stopped; marked failed, run again")
        t_search = time.perf_counter()
        trials = search.run()
        search_s = time.perf_counter() - t_search
    except KeyboardInterrupt:
        print(f"interrupted; continue with: trainlab search --out {out} --resume", file=sys.stderr)
        return 130
    finally:
        executor.close()
        (out / PID_FILE).unlink(missing_ok=True)
    write_trials(out, trials, search.stages)
    lines = best_k_lines(trials)
    say("\n".join(lines[:5]) if lines else "no trial completed")
    test = None
    if lines:
        best = summarize(config, trials, search.stages, None, {})["best"]
        previous = out / "test.json"
        if previous.exists() and json.loads(previous.read_text()).get("params") == best["params"]:
            test = json.loads(previous.read_text())  # evaluated once already
        else:
            test = retrain_and_test(config, best["params"], best["train_seed"])
            test["trial"] = best["number"]
            atomic_write_text(previous, json.dumps(test, indent=1))
        say(f"best configuration (trial {best['number']}) retrained: val acc {test['val_acc']:.3f}, "
            f"test acc {test['test_acc']:.3f} (evaluated once on {test['n_test']} test samples)")
    summary = summarize(config, trials, search.stages, test,
                        {"search_seconds": round(search_s, 2), "workers": executor.capacity,
                         "executor": type(executor).__name__})
    for name, rng in summary["good_ranges"].items():
        say(f"good range ({summary['good_ranges_from']}): {name} {rng}")
    say(f"epochs trained: {summary['epochs_trained']} of {summary['epochs_full_search']} "
        f"({100 * summary['epoch_fraction']:.0f}%); {summary['states']}; search time {search_s:.1f} s")
    claims = make_claims(config, trials, summary)
    for c in claims:
        say(c.line())
    write_experiment(out, config, summary, claims, make_figures(config, trials, search.stages),
                     time.perf_counter() - t0, "completed" if lines else "failed")
    say(f"wrote {out}")
    return 0 if lines else 1
