"""Run an experiment (or all of them) and write its run directory (layout in :mod:`.base`).

    run_experiment("init-mnist", seeds=3, out_dir="runs/init-mnist", overrides={"iterations": 500})
    run_all(out_dir="runs", workers=2)

Configuration is resolved in this order: the experiment's ``config``, then its ``reduced``
overrides (``reduced=True``), then the caller's ``overrides`` (``--set key=value``). A key the
experiment does not declare is a ``ValueError`` that lists the valid keys. String values are parsed
as JSON where possible (``lr=0.1`` → 0.1, ``hidden=[50,50]`` → a list, ``name=foo`` → 'foo').

Seeds 0..N−1 (N = ``seeds`` or the experiment's ``default_seeds``) run in this process
(``workers=1``) or in a pool of worker processes, each limited to one BLAS thread so two workers
on two cores do not oversubscribe them. ``run_all`` puts the seeds of *all* experiments into one
pool, so a single-seed experiment does not leave a core idle, and finishes each experiment (summary,
claims, figures, files) as soon as its last seed is back.

A failed claim is a finding: it is written and printed as failed (✗) and the run's status stays
``'completed'``. An exception in ``run_seed``/``summarize``/``claims``/``figures`` makes the status
``'crashed'`` (with the error in ``result.json``); the ``trainlab run`` command then exits with 1.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from ..checkpoint import atomic_write_text
from ..threads import one_blas_thread
from . import get, names
from .base import Claim, Experiment

__all__ = [
    "parse_value",
    "parse_overrides",
    "resolve_config",
    "run_experiment",
    "run_all",
    "write_json",
    "DEFAULT_OUT",
]

#: where ``trainlab run`` writes when ``--out`` is not given
DEFAULT_OUT = Path("runs")

_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
               "NUMEXPR_NUM_THREADS")


# -- configuration ---------------------------------------------------------------------------------
def parse_value(text: Any) -> Any:
    """``'0.1'`` → 0.1, ``'[50,50]'`` → [50, 50], ``'true'`` → True, ``'foo'`` → 'foo' (JSON, else the string)."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_overrides(items: Iterable[str] | Mapping[str, Any] | None) -> dict[str, Any]:
    """``['lr=0.1', 'hidden=[50,50]']`` (or a dict) → ``{'lr': 0.1, 'hidden': [50, 50]}``."""
    if items is None:
        return {}
    if isinstance(items, Mapping):
        return {str(k): parse_value(v) for k, v in items.items()}
    out = {}
    for item in items:
        key, sep, value = str(item).partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--set expects key=value, got {item!r}")
        out[key] = parse_value(value.strip())
    return out


def resolve_config(experiment: Experiment | str, overrides=None, reduced: bool = False) -> dict[str, Any]:
    """The experiment's config, then its reduced overrides (if ``reduced``), then ``overrides``.

    A key the experiment does not declare raises ``ValueError`` naming it and the valid keys. A value
    whose JSON type differs from the declared one (e.g. a string for a number) is also a ``ValueError``.
    """
    exp = get(experiment) if isinstance(experiment, str) else experiment
    config = json.loads(json.dumps(exp.config))  # a deep copy, and proof that it is JSON
    if reduced:
        config.update(json.loads(json.dumps(exp.reduced)))
    overrides = parse_overrides(overrides)
    unknown = [k for k in overrides if k not in config]
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(map(repr, unknown))} for experiment {exp.name!r}; "
                         f"valid keys are: {', '.join(config)}")
    for key, value in overrides.items():
        _check_type(exp.name, key, config[key], value)
        config[key] = value
    return config


def _kind(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "null" if value is None else type(value).__name__


def _check_type(name: str, key: str, declared, value) -> None:
    if declared is None or value is None:
        return
    # a list may be given where the declared value is a list of strings, etc.; only the outer kind counts
    if _kind(declared) != _kind(value):
        raise ValueError(f"bad value for {key!r} of experiment {name!r}: {value!r} is a {_kind(value)}, "
                         f"expected a {_kind(declared)} like {json.dumps(declared)}")


# -- files -------------------------------------------------------------------------------------------
def write_json(path, obj) -> None:
    """Write ``obj`` as indented JSON, atomically (NaN/inf are written as NaN/Infinity)."""
    atomic_write_text(path, json.dumps(_jsonable(obj), indent=1, ensure_ascii=False) + "\n")


def _jsonable(obj):
    """Convert NumPy scalars/arrays and tuples so ``json.dumps`` accepts them."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        np = None
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if np is not None:
        if isinstance(obj, np.ndarray):
            return _jsonable(obj.tolist())
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, np.integer):
            return int(obj)
        if isinstance(obj, np.floating):
            return float(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _prepare_dir(run_dir: Path) -> None:
    """Create the run directory and clear the files a previous run of this layout left there."""
    (run_dir / "seeds").mkdir(parents=True, exist_ok=True)
    (run_dir / "figures").mkdir(parents=True, exist_ok=True)
    for p in list((run_dir / "seeds").glob("seed-*.json")) + list((run_dir / "figures").glob("*.png")) + \
            list((run_dir / "figures").glob("*.svg")):
        p.unlink(missing_ok=True)
    for name in ("summary.json", "claims.json", "result.json"):
        (run_dir / name).unlink(missing_ok=True)


def _version() -> str:
    from .. import __version__

    return __version__


# -- one experiment's parts ---------------------------------------------------------------------------
def _limit_threads() -> None:
    """Worker initialiser: one BLAS/OpenMP thread per process (also for libraries loaded later)."""
    for var in _THREAD_ENV:
        os.environ[var] = "1"
    one_blas_thread()


def _run_seed_task(name: str, config: dict, seed: int) -> tuple[dict, float, float]:
    """Run one seed (in a worker or in this process); returns (result, seconds, wall-clock start)."""
    started_at = time.time()
    start = time.perf_counter()
    result = get(name).run_seed(config, seed)
    return _jsonable(result), time.perf_counter() - start, started_at


class _Run:
    """The state of one experiment's run while its seeds come back."""

    def __init__(self, name: str, seeds: int, run_dir: Path, config: dict, progress: bool):
        self.exp = get(name)
        self.name, self.seeds, self.run_dir, self.config, self.progress = name, seeds, run_dir, config, progress
        self.results: dict[int, dict] = {}
        self.seed_times: dict[int, float] = {}
        self.error: str | None = None
        self.first_start: float | None = None  # wall clock: when its first seed started (in any process)
        _prepare_dir(run_dir)
        write_json(run_dir / "config.json", {**config, "name": name, "seeds": list(range(seeds)),
                                              "trainlab_version": _version()})

    def say(self, text: str) -> None:
        if self.progress:
            print(text, flush=True)

    def seed_done(self, seed: int, result: dict | None, seconds: float, error: str | None = None,
                  started_at: float | None = None) -> None:
        self.seed_times[seed] = round(seconds, 3)
        started_at = time.time() - seconds if started_at is None else started_at
        self.first_start = started_at if self.first_start is None else min(self.first_start, started_at)
        if error is not None:
            self.error = self.error or f"seed {seed}: {error}"
            self.say(f"[{self.name}] seed {seed} crashed after {seconds:.1f}s:\n{error}")
            return
        self.results[seed] = result
        write_json(self.run_dir / "seeds" / f"seed-{seed}.json", result)
        self.say(f"[{self.name}] seed {seed} done in {seconds:.1f}s")

    @property
    def complete(self) -> bool:
        return len(self.seed_times) == self.seeds

    def finish(self) -> dict:
        """Summary, claims, figures and result.json; returns the result (plus the claims and the folder)."""
        exp, config = self.exp, self.config
        runs = [self.results[k] for k in sorted(self.results)]
        claims: list[Claim] = []
        figures_written: list[str] = []
        if self.error is None:
            try:
                summary = _jsonable(exp.summarize(config, runs))
                write_json(self.run_dir / "summary.json", summary)
                claims = list(exp.claims(config, summary, runs))
                write_json(self.run_dir / "claims.json", [c.to_dict() for c in claims])
                figures_written = _save_figures(exp.figures(config, summary, runs), self.run_dir / "figures")
            except Exception:
                self.error = traceback.format_exc()
                self.say(f"[{self.name}] crashed while summarising:\n{self.error}")
        # from its first seed's start to now: in run_all, time spent queued behind other experiments is not counted
        elapsed = time.time() - (self.first_start if self.first_start is not None else time.time())
        result = {
            "name": self.name,
            "title": exp.title,
            "book_section": exp.book_section,
            "status": "completed" if self.error is None else "crashed",
            "elapsed_s": round(elapsed, 3),
            "seeds": self.seeds,
            "seed_elapsed_s": [self.seed_times.get(k) for k in range(self.seeds)],
            "seeds_total_s": round(sum(self.seed_times.values()), 3),
            "book": exp.book,
            "n_claims": len(claims),
            "n_passed": sum(bool(c.passed) for c in claims),
            "claims": [{"name": c.name, "passed": bool(c.passed)} for c in claims],
            "figures": figures_written,
            "trainlab_version": _version(),
        }
        if self.error is not None:
            result["error"] = self.error
        write_json(self.run_dir / "result.json", result)
        if self.progress:
            self._print(result, claims)
        return {**result, "claim_details": [c.to_dict() for c in claims], "run_dir": str(self.run_dir)}

    def _print(self, result: dict, claims: list[Claim]) -> None:
        head = f"== {self.name}: {result['title']} ({result['book_section']}) — {result['status']}, " \
               f"{result['elapsed_s']:.1f}s, {self.seeds} seed(s)"
        if claims:
            head += f", {result['n_passed']}/{result['n_claims']} claims hold"
        print(head)
        for c in claims:
            print("  " + c.line())
        print(f"  → {self.run_dir}", flush=True)


def _save_figures(figures: dict, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    written = []
    for fname, fig in (figures or {}).items():
        try:
            # a figure with a layout engine (constrained/tight) is laid out already; 'tight' bbox would draw it twice
            bbox = None if fig.get_layout_engine() is not None else "tight"
            for ext in ("png", "svg"):
                tmp = folder / f".{fname}.tmp.{ext}"
                fig.savefig(tmp, format=ext, dpi=110 if ext == "png" else None, bbox_inches=bbox)
                os.replace(tmp, folder / f"{fname}.{ext}")
            written.append(fname)
        finally:
            plt.close(fig)
    return written


# -- running ------------------------------------------------------------------------------------------
def _pool(workers: int) -> ProcessPoolExecutor:
    import multiprocessing as mp

    # forkserver/spawn: no fork of a process whose BLAS threads are already running
    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context(method), initializer=_limit_threads)


def _run_sequential(tasks, runs, finished) -> None:
    for name, seed in tasks:
        run = runs[name]
        start = time.perf_counter()
        try:
            result, seconds, started_at = _run_seed_task(name, run.config, seed)
            run.seed_done(seed, result, seconds, started_at=started_at)
        except Exception:
            run.seed_done(seed, None, time.perf_counter() - start, traceback.format_exc())
        if run.complete:
            finished[name] = run.finish()


def _execute(plan: list[tuple[str, int, Path, dict]], workers: int, progress: bool) -> dict[str, dict]:
    """Run every (name, seeds, run_dir, config) of ``plan``; returns {name: result} in plan order."""
    runs = {name: _Run(name, n, run_dir, config, progress) for name, n, run_dir, config in plan}
    finished: dict[str, dict] = {}
    tasks = [(name, seed) for name, n, _, _ in plan for seed in range(n)]
    if workers <= 1 or len(tasks) <= 1:
        with one_blas_thread():  # in this process too: the matrices are small, more threads only contend
            _run_sequential(tasks, runs, finished)
    else:
        # tasks are queued in plan order; each experiment is finished as soon as its last seed is back
        with _pool(min(workers, len(tasks))) as pool:
            pending = {}
            for name, seed in tasks:
                fut = pool.submit(_run_seed_task, name, runs[name].config, seed)
                pending[fut] = (name, seed, time.perf_counter())
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    name, seed, submitted = pending.pop(fut)
                    run = runs[name]
                    try:
                        result, seconds, started_at = fut.result()
                        run.seed_done(seed, result, seconds, started_at=started_at)
                    except Exception as exc:
                        tb = "".join(traceback.format_exception(exc))
                        run.seed_done(seed, None, time.perf_counter() - submitted, tb)
                    if run.complete:
                        finished[name] = run.finish()
    return {name: finished[name] for name, *_ in plan}


def _import_crash(name: str, run_dir: Path, error: str, progress: bool) -> dict:
    """result.json for an experiment whose module failed to import."""
    run_dir.mkdir(parents=True, exist_ok=True)
    result = {"name": name, "title": "", "book_section": "", "status": "crashed", "elapsed_s": 0.0, "seeds": 0,
              "seed_elapsed_s": [], "book": {}, "n_claims": 0, "n_passed": 0, "claims": [], "figures": [],
              "trainlab_version": _version(), "error": error}
    write_json(run_dir / "result.json", result)
    if progress:
        print(f"== {name}: crashed (the experiment failed to import)\n{error}", flush=True)
    return {**result, "claim_details": [], "run_dir": str(run_dir)}


def _seed_count(exp: Experiment, seeds: int | None) -> int:
    n = exp.default_seeds if seeds is None else seeds
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"seeds must be an integer >= 1, got {n!r}")
    return n


def run_experiment(name: str, seeds: int | None = None, out_dir=None, overrides=None, reduced: bool = False,
                   workers: int = 1, progress: bool = True) -> dict:
    """Run experiment ``name`` into ``out_dir`` (default ``runs/<name>``); returns its result.

    The result is result.json's content plus ``claim_details`` (each claim's dict) and ``run_dir``.
    Raises ``ValueError`` for an unknown name, key or a bad value before anything is written.
    """
    exp = get(name)
    config = resolve_config(exp, overrides, reduced)
    n = _seed_count(exp, seeds)
    run_dir = Path(out_dir) if out_dir is not None else DEFAULT_OUT / name
    return _execute([(name, n, run_dir, config)], int(workers), progress)[name]


def run_all(seeds: int | None = None, out_dir=None, overrides=None, reduced: bool = False, workers: int = 2,
            progress: bool = True, only: Iterable[str] | None = None) -> dict:
    """Run every experiment (or those in ``only``) into ``OUT/<name>/``, then write ``OUT/report.html``.

    ``overrides`` apply to each experiment that declares the key; a key no experiment declares is a
    ``ValueError``. Returns ``{'results': {name: result}, 'report': path or None, 'elapsed_s': s}``.
    The report is written if :mod:`trainlab.report` exists (``write_report(runs_dir) -> path``).
    """
    start = time.perf_counter()
    out = Path(out_dir) if out_dir is not None else DEFAULT_OUT
    selected = list(only) if only is not None else names()
    overrides = parse_overrides(overrides)
    exps, broken = {}, {}
    for name in selected:
        try:
            exps[name] = get(name)
        except ValueError:
            raise
        except Exception:  # a module that does not import is that experiment's crash, not everyone's
            broken[name] = traceback.format_exc()
    declared = {key for exp in exps.values() for key in exp.config}
    unknown = [k for k in overrides if k not in declared]
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(map(repr, unknown))}: no experiment declares them; "
                         f"valid keys are: {', '.join(sorted(declared))}")
    plan = []
    for name, exp in exps.items():
        mine = {k: v for k, v in overrides.items() if k in exp.config}
        plan.append((name, _seed_count(exp, seeds), out / name, resolve_config(exp, mine, reduced)))
    executed = _execute(plan, int(workers), progress)
    results = {}
    for name in selected:
        if name in broken:
            results[name] = _import_crash(name, out / name, broken[name], progress)
        else:
            results[name] = executed[name]
    report = None
    try:
        from ..report import write_report
    except ModuleNotFoundError as exc:  # no report module (yet): the runs are still complete
        if exc.name not in ("trainlab.report",):
            print(f"the report module failed to import: {exc}", file=sys.stderr)
        write_report = None
    except Exception:
        print(f"the report module failed to import:\n{traceback.format_exc()}", file=sys.stderr)
        write_report = None
    if write_report is not None:
        try:
            report = str(write_report(out))
            if progress:
                print(f"report: {report}", flush=True)
        except Exception:
            print(f"writing the report failed:\n{traceback.format_exc()}", file=sys.stderr)
    elapsed = time.perf_counter() - start
    if progress:
        n_claims = sum(r["n_claims"] for r in results.values())
        n_passed = sum(r["n_passed"] for r in results.values())
        crashed = [n for n, r in results.items() if r["status"] != "completed"]
        print(f"== all: {len(results)} experiments in {elapsed:.1f}s, {n_passed}/{n_claims} claims hold"
              + (f", crashed: {', '.join(crashed)}" if crashed else ""), flush=True)
    return {"results": results, "report": report, "elapsed_s": round(elapsed, 3)}

