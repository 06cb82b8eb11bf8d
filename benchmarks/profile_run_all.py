"""Where the time of ``trainlab run all`` goes: per experiment, the share of its seeds' time spent in
training steps, evaluation and the rest, the time of its summary, figures and files, and how busy
each worker was.

    python benchmarks/profile_run_all.py                       # the defaults of 'run all', 2 workers
    python benchmarks/profile_run_all.py --seeds 1 --reduced   # a quick look
    python benchmarks/profile_run_all.py --only dropout --only ensemble --workers 1

It runs the real runner (the same plan, executor and records as ``trainlab run all``, into a
temporary folder) with every seed wrapped in timers: "train" is time inside ``MLP.gradient`` and
``Optimizer.step``; "eval" is time inside the inference path (``MLP.evaluate``/``infer``,
``evaluate_many``/``infer_many``, ``MLP.accuracy``, the trainer's evaluation); "other" is the rest of
the seed (batching, data, Python). In the parent, "summary", "figures" and "files" time each
experiment's summary/claims, figure drawing/saving and JSON/CSV writes. A worker's idle time is the
run's wall time minus the time it spent in seeds. The last line is a JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

CATEGORIES = ("train", "eval")


class _Timers:
    """Exclusive timers: time inside a timed call is not counted again by a timed call it makes."""

    def __init__(self):
        self.total = defaultdict(float)
        self.active: str | None = None

    def wrap(self, owner, name: str, category: str):
        real = getattr(owner, name)
        timers = self

        def timed(*args, **kwargs):
            if timers.active is not None:
                return real(*args, **kwargs)
            timers.active = category
            t0 = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                timers.total[category] += time.perf_counter() - t0
                timers.active = None

        timed.__wrapped__ = real
        setattr(owner, name, timed)


_TIMERS: _Timers | None = None


def _instrument() -> _Timers:
    """Install the timers in this process once (a worker keeps them for every seed it runs)."""
    global _TIMERS
    if _TIMERS is None:
        from trainlab import inference, model, optim, trainer

        t = _Timers()
        t.wrap(model.MLP, "gradient", "train")
        t.wrap(optim.Optimizer, "step", "train")
        for name in ("evaluate", "infer", "accuracy"):
            t.wrap(model.MLP, name, "eval")
        for name in ("evaluate_many", "infer_many"):
            if hasattr(inference, name):
                t.wrap(inference, name, "eval")
        t.wrap(trainer.Trainer, "evaluate", "eval")
        _TIMERS = t
    return _TIMERS


def profiled_seed_task(name: str, config: dict, seed: int) -> dict:
    """``run_seed_task`` with the seed's time split into train / eval / other, and where it ran."""
    from trainlab.experiments.runner import run_seed_task

    timers = _instrument()
    before = dict(timers.total)
    t0 = time.time()
    payload = run_seed_task(name, config, seed)
    payload["profile"] = {"pid": os.getpid(), "start": t0, "end": time.time(),
                          **{c: timers.total[c] - before.get(c, 0.0) for c in CATEGORIES}}
    return payload


def _parent_timers(per_experiment: dict) -> None:
    """Time summaries, figures and file writes in this process, per experiment (by record)."""
    from trainlab.experiments import runner
    from trainlab.record import RunRecord

    def timed(owner, name, category):
        real = getattr(owner, name)

        def wrapper(self, *args, **kwargs):
            t0 = time.perf_counter()
            try:
                return real(self, *args, **kwargs)
            finally:
                key = self.name if isinstance(self, RunRecord) else self.record.name
                per_experiment[key][category] += time.perf_counter() - t0

        setattr(owner, name, wrapper)

    timed(RunRecord, "write_figures", "figures")
    timed(RunRecord, "write_json", "files")
    timed(RunRecord, "write_text", "files")
    timed(runner.ExperimentRun, "finish", "finish")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=None, help="seeds per experiment (default: each one's own)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reduced", action="store_true")
    parser.add_argument("--only", action="append", help="an experiment (repeatable; default all)")
    args = parser.parse_args(argv)

    from trainlab.executor import make_executor
    from trainlab.experiments.runner import make_plan, run_plan

    plan = make_plan(args.only, args.seeds, reduced=args.reduced)
    per = defaultdict(lambda: defaultdict(float))
    _parent_timers(per)
    seeds: dict[str, list[dict]] = defaultdict(list)
    from trainlab.experiments import runner

    real_done = runner.ExperimentRun.seed_done

    def seed_done(self, seed, payload, error=None):
        if payload is not None:
            seeds[self.name].append(payload["profile"] | {"seconds": payload["seconds"]})
        return real_done(self, seed, payload, error)

    runner.ExperimentRun.seed_done = seed_done
    executor = make_executor(args.workers)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.time()
        try:
            run_plan(plan, Path(tmp), executor, progress=False, task=profiled_seed_task)
        finally:
            executor.close()
        wall = time.time() - t0

    rows, out = [], {"wall_s": wall, "workers": args.workers, "experiments": {}, "worker_busy_s": {}}
    busy = defaultdict(float)
    for p in plan:
        s = seeds[p.name]
        total = sum(x["seconds"] for x in s)
        train, ev = sum(x["train"] for x in s), sum(x["eval"] for x in s)
        for x in s:
            busy[x["pid"]] += x["end"] - x["start"]
        parent = per[p.name]
        row = {"seeds": len(s), "seeds_s": total, "train_s": train, "eval_s": ev, "other_s": total - train - ev,
               "finish_s": parent["finish"], "figures_s": parent["figures"], "files_s": parent["files"]}
        out["experiments"][p.name] = row
        rows.append((p.name, row))
    out["worker_busy_s"] = {str(pid): b for pid, b in busy.items()}
    print(f"{'experiment':<22} {'seeds':>5} {'seeds s':>8} {'train':>6} {'eval':>6} {'other':>6} "
          f"{'summary':>8} {'figures':>8} {'files':>6}")
    for name, r in rows:
        pct = lambda v: f"{100 * v / r['seeds_s']:.0f}%" if r["seeds_s"] else "–"
        summary = r["finish_s"] - r["figures_s"] - r["files_s"]
        print(f"{name:<22} {r['seeds']:>5} {r['seeds_s']:>8.1f} {pct(r['train_s']):>6} {pct(r['eval_s']):>6} "
              f"{pct(r['other_s']):>6} {summary:>7.2f}s {r['figures_s']:>7.2f}s {r['files_s']:>5.2f}s")
    total = sum(r["seeds_s"] for _, r in rows)
    print(f"{'all':<22} {sum(r['seeds'] for _, r in rows):>5} {total:>8.1f}   wall {wall:.1f} s on "
          f"{args.workers} worker(s)")
    for pid, b in sorted(busy.items()):
        print(f"worker {pid}: busy {b:.1f} s, idle {wall - b:.1f} s ({100 * (wall - b) / wall:.0f}%)")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
