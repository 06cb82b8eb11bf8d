"""Run experiments: resolve every configuration, run all their seeds on one executor (longest
first), and write one run record per experiment as soon as its last seed is back.

    plan = make_plan(["init-mnist"], seeds=3, overrides={"iterations": 500})
    results = run_plan(plan, out_dir="runs", executor=InProcess())

A failed claim is a finding: it is written and printed as failed (✗) and the run completes. A seed
whose curves hold NaN or inf (a learning rate too large) makes the run ``diverged``: the values are
written as null, and a claim "every seed trained without diverging" fails naming them. An exception
anywhere makes the run ``crashed`` with the error in run.json; ``trainlab run`` then exits with 1.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from ..executor import InProcess, make_executor, run_all
from ..files import jsonable
from ..history import histories_to_csv, nonfinite_curves
from ..record import RunExists, RunRecord
from . import get, names
from .base import Claim
from .config import parse_overrides, resolve_config

__all__ = ["Planned", "make_plan", "run_plan", "run_experiment", "run_seed_task", "DEFAULT_OUT"]

#: where ``trainlab run`` writes when ``--out`` is not given
DEFAULT_OUT = Path("runs")


@dataclass
class Planned:
    """One experiment to run: its resolved configuration and number of seeds."""

    name: str
    config: dict
    seeds: int
    reduced: bool = False
    run_dir: Path | None = None  # default: OUT/NAME


def make_plan(selected=None, seeds: int | None = None, overrides=None, reduced: bool = False,
              data_dir=None) -> list[Planned]:
    """Resolve every experiment of ``selected`` (default: all) before anything runs.

    ``overrides`` apply to each experiment that declares the key (all of them for one experiment);
    a key that none declares raises ConfigError naming the valid keys.
    """
    selected = list(selected) if selected is not None else names()
    overrides = parse_overrides(overrides)
    exps = {name: get(name) for name in selected}
    if len(exps) > 1:
        declared = {k for exp in exps.values() for k in exp.config}
        unknown = [k for k in overrides if k not in declared]
        if unknown:
            from ..validate import ConfigError

            raise ConfigError(unknown[0], f"unknown key(s) {', '.join(map(repr, unknown))}: no experiment "
                                          f"declares them; valid keys are: {', '.join(sorted(declared))}")
    plan = []
    for name, exp in exps.items():
        mine = overrides if len(exps) == 1 else {k: v for k, v in overrides.items() if k in exp.config}
        n = exp.default_seeds if seeds is None else seeds
        plan.append(Planned(name, resolve_config(exp, mine, reduced, data_dir), n, reduced))
    return plan


def run_seed_task(name: str, config: dict, seed: int) -> dict:
    """Run one seed of experiment ``name`` (in any process); returns its result and its timing."""
    started_at = time.time()
    start = time.perf_counter()
    result = jsonable(get(name).run_seed(config, seed))
    return {"result": result, "seconds": time.perf_counter() - start, "started_at": started_at}


class ExperimentRun:
    """One experiment's run record while its seeds come back."""

    def __init__(self, planned: Planned, record: RunRecord, progress: bool):
        self.exp = get(planned.name)
        self.name, self.config, self.seeds = planned.name, planned.config, planned.seeds
        self.record, self.progress = record, progress
        self.results: dict[int, dict] = {}
        self.seed_times: dict[int, float] = {}
        self.diverged: dict[int, list[str]] = {}
        self.error: str | None = None
        self.first_start: float | None = None

    def say(self, text: str) -> None:
        if self.progress:
            print(text, flush=True)

    def seed_done(self, seed: int, payload: dict | None, error=None) -> None:
        if error is not None:
            self.seed_times[seed] = 0.0
            self.error = self.error or f"seed {seed}: {error.traceback}"
            self.say(f"[{self.name}] seed {seed} crashed:\n{error.traceback}")
            return
        self.seed_times[seed] = round(payload["seconds"], 3)
        start = payload["started_at"]
        self.first_start = start if self.first_start is None else min(self.first_start, start)
        result = payload["result"]
        self.results[seed] = result
        histories = result.get("histories") or {}
        bad = nonfinite_curves(histories)
        if bad:
            self.diverged[seed] = bad
        self.record.write_json(f"seeds/seed-{seed}.json", result)
        if histories:
            self.record.write_text(f"seeds/seed-{seed}.csv", histories_to_csv(histories))
        note = f" ({', '.join(bad)} diverged)" if bad else ""
        self.say(f"[{self.name}] seed {seed} done in {payload['seconds']:.1f}s{note}")

    @property
    def complete(self) -> bool:
        return len(self.seed_times) == self.seeds

    def _divergence_claim(self) -> Claim:
        where = "; ".join(f"seed {s}: {', '.join(v)}" for s, v in sorted(self.diverged.items()))
        return Claim("every seed trained without diverging", False,
                     f"NaN/inf loss (written as null) in {where}; the claims above include these runs",
                     {"diverged": {str(s): v for s, v in self.diverged.items()}})

    def finish(self) -> dict:
        """Summary, claims, figures and the final run.json; returns the manifest (+ claim details)."""
        exp, config, record = self.exp, self.config, self.record
        runs = [self.results[k] for k in sorted(self.results)]
        claims: list[Claim] = []
        nonfinite: list[str] = []
        if self.error is None:
            try:
                summary = jsonable(exp.summarize(config, runs))
                nonfinite = record.write_json("summary.json", summary)
                claims = list(exp.claims(config, summary, runs))
                if self.diverged:
                    claims.append(self._divergence_claim())
                record.write_claims(claims)
                names = record.write_figures(exp.figures(config, summary, runs))
                record.manifest["figure_captions"] = {n: exp.captions[n] for n in names if n in exp.captions}
            except OSError:  # the disk (full, read-only): not the experiment's fault; the command says it
                raise
            except Exception:
                self.error = traceback.format_exc()
                self.say(f"[{self.name}] crashed while summarising:\n{self.error}")
        if self.error is not None:
            status, message = "crashed", self.error.strip().splitlines()[-1]
        elif self.diverged:
            status = "diverged"
            message = "; ".join(f"seed {s}: {', '.join(v)} diverged" for s, v in sorted(self.diverged.items()))
        else:
            status, message = "completed", ""
        wall = time.time() - self.first_start if self.first_start is not None else 0.0
        fields = {"seed_elapsed_s": [self.seed_times.get(k) for k in range(self.seeds)],
                  "seeds_total_s": round(sum(self.seed_times.values()), 3), "wall_s": round(wall, 3)}
        if nonfinite:
            fields["nonfinite_in_summary"] = nonfinite[:50]
        if self.error is not None:
            fields["error"] = self.error
        record.finish(status, message, **fields)
        result = dict(record.manifest)
        if self.progress:
            self._print(result, claims)
        return {**result, "claim_details": [c.to_dict() for c in claims], "run_dir": str(record.path)}

    def _print(self, result: dict, claims: list[Claim]) -> None:
        head = (f"== {self.name}: {result['title']} ({result.get('book_section', '')}) — {result['status']}, "
                f"{result['wall_s']:.1f}s, {self.seeds} seed(s)")
        if claims:
            head += f", {result['claims']['passed']}/{result['claims']['n']} claims hold"
        print(head)
        for c in claims:
            print("  " + c.line())
        print(f"  → {self.record.path}", flush=True)


def _open_records(plan: list[Planned], out_dir: Path, overwrite: bool, progress: bool) -> dict[str, ExperimentRun]:
    """Every experiment's record, created (and locked) before any seed runs; refuses existing runs."""
    folders = {p.name: p.run_dir or out_dir / p.name for p in plan}
    existing = [str(folders[p.name]) for p in plan if RunRecord._existing(folders[p.name]) is not None]
    if existing and not overwrite:
        raise RunExists(f"{', '.join(existing)} already hold{'s' if len(existing) == 1 else ''} a run; add "
                        f"--overwrite to replace {'it' if len(existing) == 1 else 'them'}, or choose another --out")
    runs: dict[str, ExperimentRun] = {}
    try:
        for p in plan:
            exp = get(p.name)
            record = RunRecord.create(
                folders[p.name], "experiment", p.name, p.config, overwrite=overwrite, reduced=p.reduced,
                title=exp.title, book_section=exp.book_section, book_script=exp.book_script, book=exp.book,
                shows=exp.shows, description=_description(exp),
                seeds=list(range(p.seeds)), data=_data_description(p.config))
            runs[p.name] = ExperimentRun(p, record, progress)
    except BaseException:
        for r in runs.values():
            r.record.finish("crashed", "not started: another experiment's folder could not be used")
        raise
    return runs


def _description(exp) -> str:
    """The experiment module's docstring: what it runs, why, and where its claims' thresholds come
    from (the report shows it; the report never imports an experiment)."""
    import inspect
    import sys

    return inspect.cleandoc(sys.modules[type(exp).__module__].__doc__ or "")


def _data_description(config: dict) -> dict | None:
    if "data_dir" not in config:
        return None
    d = config["data_dir"]
    return {"dataset": "mnist" if d is None else "idx", "data_dir": d, "name": "mnist" if d is None else Path(d).name}


def seed_cost(exp, reduced: bool = False) -> float:
    """A seed's scheduling cost: its seconds plus the parent's summary-and-figures seconds, so that
    an experiment whose figures are slow starts early enough for them to overlap other seeds."""
    return (float(exp.seed_seconds) + float(exp.finish_seconds)) * (0.1 if reduced else 1.0)


def run_plan(plan: list[Planned], out_dir=DEFAULT_OUT, executor=None, overwrite: bool = False,
             progress: bool = True, task=None) -> dict[str, dict]:
    """Run every seed of every planned experiment on ``executor`` (default: this process), longest
    first; each experiment's record is finished when its last seed is back. Returns {name: result}.
    ``task`` replaces :func:`run_seed_task` (same arguments and result; the profiler wraps it)."""
    out_dir = Path(out_dir)
    executor = executor or InProcess()
    runs = _open_records(plan, out_dir, overwrite, progress)
    jobs, costs = [], []
    for p in plan:
        exp = get(p.name)
        for seed in range(p.seeds):
            jobs.append((p.name, p.config, seed))
            costs.append(seed_cost(exp, p.reduced))
    finished: dict[str, dict] = {}
    try:
        for i, payload, error in run_all(executor, task or run_seed_task, jobs, costs):
            name, _, seed = jobs[i]
            run = runs[name]
            run.seed_done(seed, payload, error)
            if run.complete:
                finished[name] = run.finish()
    except BaseException as exc:  # Ctrl-C/SIGTERM, a full disk: every unfinished record says so if it can
        for name, run in runs.items():
            if name not in finished:
                try:
                    run.record.finish("interrupted" if isinstance(exc, KeyboardInterrupt) else "crashed",
                                      f"stopped after {len(run.results)} of {run.seeds} seed(s): "
                                      f"{type(exc).__name__}: {exc}")
                except OSError:
                    run.record.close()
        raise
    return {p.name: finished[p.name] for p in plan}


def run_experiment(name: str, seeds: int | None = None, out_dir=None, overrides=None, reduced: bool = False,
                   workers: int = 1, progress: bool = True, overwrite: bool = False, data_dir=None) -> dict:
    """Run experiment ``name`` into ``out_dir`` (default ``runs/<name>``) with ``workers`` processes."""
    plan = make_plan([name], seeds, overrides, reduced, data_dir)
    plan[0].run_dir = Path(out_dir) if out_dir is not None else DEFAULT_OUT / name
    executor = make_executor(workers)
    try:
        return run_plan(plan, plan[0].run_dir.parent, executor, overwrite, progress)[name]
    finally:
        executor.close()
