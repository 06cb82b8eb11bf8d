"""Speed of evaluating a whole split: the old evaluation, the inference path, several nets at once.

For k networks 784-[100]×depth-10 (ReLU, He, float32, different seeds) on the first n MNIST test
images, per thread count:

* ``old``: the evaluation before :mod:`trainlab.inference` (each layer's ``forward(·, train=False)``
  on chunks of ``eval_rows``, keeping its caches; the loss from ``SoftmaxCrossEntropy``), net by net;
* ``one_by_one``: ``model.evaluate(x, t)`` net by net (the inference path);
* ``many``: ``evaluate_many(models, x, t)``: one first-layer product X·[W₁ᵃ | … ], then each net.

Timed in interleaved rounds (the machine is shared), each figure the median of its rounds, as
``step_speed.py`` does. Run: ``python benchmarks/eval_speed.py`` (``--threads 1,2``, ``--nets 4,6``,
``--depths 4,6``, ``--rows 10000,2000``, ``--rounds``, ``--seconds``). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

import trainlab as tl
from trainlab.data import load_mnist
from trainlab.losses import SoftmaxCrossEntropy


def old_evaluate(model, x, t):
    """The evaluation as it was: layer.forward(·, False) per chunk, caches kept, then the loss layer."""
    rows = model.spec.eval_rows
    total, correct = 0.0, 0
    for i in range(0, x.shape[0], rows):
        z = x[i : i + rows]
        for layer in model.layers:
            z = layer.forward(z, False)
        total += SoftmaxCrossEntropy().forward(z, t[i : i + rows]) * z.shape[0]
        correct += int(np.count_nonzero(z.argmax(axis=1) == t[i : i + rows]))
    return total / x.shape[0] + model.regularization(), correct / x.shape[0]


def seconds_per_call(fn, seconds: float) -> float:
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return elapsed / n


def measure(models, x, t, rounds: int, seconds: float) -> dict:
    fns = {"old": lambda: [old_evaluate(m, x, t) for m in models],
           "one_by_one": lambda: [m.evaluate(x, t, check=False) for m in models],
           "many": lambda: tl.evaluate_many(models, x, t, check=False)}
    for fn in fns.values():  # warm up: workspaces, BLAS buffers
        fn()
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            times[name].append(seconds_per_call(fn, seconds))
    med = {name: statistics.median(v) for name, v in times.items()}
    return {**{f"{name}_ms": round(v * 1e3, 3) for name, v in med.items()},
            "inference_vs_old": round(med["old"] / med["one_by_one"], 2),
            "many_vs_one_by_one": round(med["one_by_one"] / med["many"], 2),
            "many_vs_old": round(med["old"] / med["many"], 2),
            "spread_ms": {name: [round(min(v) * 1e3, 2), round(max(v) * 1e3, 2)] for name, v in times.items()}}


def ints(text: str, flag: str, parser) -> list[int]:
    try:
        values = [int(s) for s in text.split(",")]
    except ValueError:
        parser.error(f"{flag}: expected comma-separated integers, got {text!r}")
    if any(v < 1 for v in values):
        parser.error(f"{flag}: every value must be >= 1, got {text!r}")
    return values


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--nets", default="4,6", help="networks evaluated together")
    parser.add_argument("--depths", default="4,6", help="hidden layers of 100 units")
    parser.add_argument("--rows", default="10000,2000", help="test images evaluated")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.3)
    args = parser.parse_args(argv)
    threads, nets, depths, rows = (ints(getattr(args, k), f"--{k}", parser)
                                   for k in ("threads", "nets", "depths", "rows"))
    if args.rounds < 1 or args.seconds <= 0:
        parser.error("--rounds must be >= 1 and --seconds > 0")
    _, (x_test, t_test) = load_mnist(normalize=True, flatten=True)
    report = {"rounds": args.rounds, "cells": []}
    print(f"{'threads':>7} {'nets':>4} {'model':>22} {'rows':>6} {'old ms':>8} {'1-by-1 ms':>9} {'many ms':>8} "
          f"{'infer/old':>9} {'many/1-by-1':>11} {'many/old':>8}")
    for n_threads in threads:
        with threadpool_limits(limits=n_threads):
            for depth in depths:
                spec = tl.ModelSpec(784, (100,) * depth, 10)
                for k in nets:
                    models = [tl.MLP(spec, rng=seed) for seed in range(k)]
                    for n in rows:
                        x, t = models[0].check_batch(x_test[:n], t_test[:n])
                        r = measure(models, x, t, args.rounds, args.seconds)
                        cell = {"threads": n_threads, "nets": k, "model": "-".join(map(str, spec.sizes)),
                                "rows": n, **r}
                        report["cells"].append(cell)
                        print(f"{n_threads:>7} {k:>4} {cell['model']:>22} {n:>6} {r['old_ms']:>8.1f} "
                              f"{r['one_by_one_ms']:>9.1f} {r['many_ms']:>8.1f} {r['inference_vs_old']:>8.2f}× "
                              f"{r['many_vs_one_by_one']:>10.2f}× {r['many_vs_old']:>7.2f}×", flush=True)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
