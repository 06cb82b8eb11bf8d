"""Speed of one training step: TrainLab float32 vs the book's code vs PyTorch, in one process.

A step is forward, backward and the optimizer update of 784-[W]×depth-10 (ReLU, He; by default the
book's 784-[100,100,100,100]-10) on a mini-batch of B real MNIST images, with SGD and with Adam, for:

* ``trainlab``: ``MLP.gradient`` + ``Optimizer.step`` on the flat float32 buffer;
* ``book``: ``benchmarks/book_style.py``, the book's reference code as it is written
  (float64, dicts of arrays, per-key optimizer loops);
* ``book_trainer``: the same, plus what the book's ``Trainer.train_step`` adds to every iteration:
  a second forward pass after the update to record the loss (TrainLab records the loss of the
  forward it already made). Reported beside, not instead of, the equal-work ``book`` figure;
* ``torch``: ``nn.Sequential`` of ``nn.Linear``/``nn.ReLU``, ``F.cross_entropy``, ``torch.optim``,
  float32, with ``torch.set_num_threads`` equal to the BLAS threads of the other two.

Every implementation gets the same pre-drawn batches (no data loading is timed). The machine is
shared and a small step's speed flips between levels for seconds at a time, so the implementations
are timed in interleaved rounds and each figure is the median of its rounds. The float32
matrix-multiply peak (a 1024³ ``sgemm``) is timed in the same rounds, so a cell's share of the peak
compares figures taken under the same load; the step's FLOP count is 2·B·Σ fan_in·fan_out forward,
as much again for dW, and 2·B·fan_in·fan_out for every dx but the input's (TrainLab and torch skip
that one; the book's code computes it and gets no credit for it).

Run: ``python benchmarks/step_speed.py`` (``--threads 1,2``, ``--rounds``, ``--seconds``). A sweep:
``--width 100 --width 1024 --batch 32,128,512`` (each flag repeatable or a comma list; ``--depth``
hidden layers, ``--impls trainlab,torch`` to leave the slow float64 book code out). For every cell
(width × batch), thread count and optimizer it prints TrainLab's and torch's steps/s, their ratio,
TrainLab's GFLOP/s and its share of the peak. The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
import book_style  # noqa: E402

import trainlab as tl  # noqa: E402
from trainlab.data import load_mnist  # noqa: E402

SIZES = (784, 100, 100, 100, 100, 10)
OPTIMIZERS = ("sgd", "adam")
LR = {"sgd": 0.01, "adam": 0.001}  # the book's defaults


def model_sizes(width: int = 100, depth: int = 4) -> tuple[int, ...]:
    """784-[width]×depth-10."""
    return (784, *[width] * depth, 10)


def step_flops(sizes=SIZES, batch=128) -> int:
    """Multiply-adds ×2 of forward, dW and every dx except the input's."""
    mats = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return 2 * batch * (2 * sum(mats) + sum(mats[1:]))


def make_batches(batch: int, count: int, seed: int = 0):
    (x, t), _ = load_mnist(normalize=True, flatten=True)
    rng = np.random.default_rng(seed)
    return [(np.ascontiguousarray(x[idx]), t[idx].astype(np.int64))
            for idx in (rng.integers(0, x.shape[0], batch) for _ in range(count))]


# -- the implementations: each returns a step(x, t) closure ---------------------------------------
def trainlab_step(optimizer: str, sizes=SIZES):
    model = tl.MLP(tl.ModelSpec(sizes[0], sizes[1:-1], sizes[-1], activation="relu", init="he"), rng=0)
    opt = tl.make_optimizer(optimizer, model.params, convention="book", lr=LR[optimizer])

    def step(x, t):
        model.gradient(x, t, check=False)
        opt.step()
    return step


def book_step(optimizer: str, sizes=SIZES, trainer: bool = False):
    """``trainer=True`` adds what ``Trainer.train_step`` does after the update: it recomputes the
    recorded loss with a second forward pass."""
    net = book_style.MultiLayerNet(sizes[0], list(sizes[1:-1]), sizes[-1], np.random.default_rng(0))
    opt = book_style.OPTIMIZERS[optimizer](lr=LR[optimizer])

    def step(x, t):
        opt.update(net.params, net.gradient(x, t))
        if trainer:
            net.loss(x, t)
    return step


def torch_step(optimizer: str, sizes=SIZES):
    import torch
    from torch import nn

    torch.manual_seed(0)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    net = nn.Sequential(*layers)
    opt = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[optimizer](net.parameters(), lr=LR[optimizer])
    loss_fn = nn.functional.cross_entropy
    cache = {}

    def step(x, t):
        key = id(x)
        if key not in cache:  # tensors share the NumPy memory; made once per batch, outside the timing
            cache[key] = (torch.from_numpy(x), torch.from_numpy(t))
        xt, tt = cache[key]
        opt.zero_grad()
        loss_fn(net(xt), tt).backward()
        opt.step()
    return step


IMPLEMENTATIONS = {"trainlab": trainlab_step, "book": book_step,
                   "book_trainer": lambda optimizer, sizes=SIZES: book_step(optimizer, sizes, trainer=True),
                   "torch": torch_step}


def steps_per_second(step, batches, seconds: float) -> float:
    """Steps per second over ``seconds``, after an untimed quarter of that: switching between
    libraries leaves the other one's BLAS/OpenMP threads spinning for a moment. The clock is read
    after every step, so a slow step (a wide net) overshoots ``seconds`` by one step at most."""
    rate, i = 0.0, 0
    for span in (seconds / 4, seconds):
        n, start = 0, time.perf_counter()
        while True:
            x, t = batches[i % len(batches)]
            step(x, t)
            i += 1
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= span:
                rate = n / elapsed
                break
    return rate


def matmul_gflops(seconds: float, size: int = 1024) -> float:
    """GFLOP/s of a float32 size³ matrix product, timed over ``seconds`` after one untimed call."""
    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    a @ b
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        n += 1
    return n * 2 * size**3 / (time.perf_counter() - start) / 1e9


def measure_cell(sizes, batches, rounds: int, seconds: float, impls) -> dict:
    """One (model, batch) cell at the current thread count: per optimizer the median steps/s of each
    implementation over interleaved rounds, with the sgemm peak timed in every round beside them."""
    flops = step_flops(sizes, batches[0][0].shape[0])
    result, peaks = {}, []
    for optimizer in OPTIMIZERS:
        steps = {name: IMPLEMENTATIONS[name](optimizer, sizes) for name in impls}
        for step in steps.values():  # warm up: first-call allocations, optimizer state
            for x, t in batches[:4]:
                step(x, t)
        rates = {name: [] for name in impls}
        for _ in range(rounds):
            peaks.append(matmul_gflops(seconds / 2))
            for name, step in steps.items():
                rates[name].append(steps_per_second(step, batches, seconds))
        med = {name: statistics.median(r) for name, r in rates.items()}
        peak = statistics.median(peaks[-rounds:])
        entry = {f"{name}_steps_per_s": round(v, 1) for name, v in med.items()}
        entry["trainlab_gflops"] = round(med["trainlab"] * flops / 1e9, 1)
        entry["peak_gflops"] = round(peak, 1)
        entry["fraction_of_peak"] = round(med["trainlab"] * flops / 1e9 / peak, 3)
        for base in ("book", "book_trainer"):
            if base in med:
                entry[f"vs_{base}"] = round(med["trainlab"] / med[base], 2)
        if "torch" in med:
            entry["vs_torch"] = round(med["trainlab"] / med["torch"], 2)
            entry["torch_gflops"] = round(med["torch"] * flops / 1e9, 1)
        entry["spread"] = {name: [round(min(r), 1), round(max(r), 1)] for name, r in rates.items()}
        result[optimizer] = entry
    result["matmul_peak_gflops"] = round(statistics.median(peaks), 1)
    return result


def measure(threads: int, rounds: int, seconds: float, batches, impls, sizes=SIZES) -> dict:
    """One cell at ``threads`` BLAS (and torch) threads."""
    if "torch" in impls:
        import torch

        torch.set_num_threads(threads)
    with threadpool_limits(limits=threads):
        return measure_cell(sizes, batches, rounds, seconds, impls)


def int_list(values, flag: str, parser) -> list[int]:
    """``--flag 1,2 --flag 3`` → [1, 2, 3]; anything but positive integers is a usage error."""
    out = []
    for value in values:
        try:
            out += [int(s) for s in str(value).split(",")]
        except ValueError:
            parser.error(f"{flag}: expected comma-separated integers such as 1,2, got {value!r}")
    if not out or any(v < 1 for v in out):
        parser.error(f"{flag}: every value must be an integer >= 1, got {values!r}")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2", help="BLAS/torch thread counts to measure (default 1,2)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds (median taken)")
    parser.add_argument("--seconds", type=float, default=0.6, help="seconds per implementation per round")
    parser.add_argument("--width", action="append", metavar="W",
                        help="hidden width, repeatable or a comma list (default 100)")
    parser.add_argument("--batch", action="append", metavar="B",
                        help="mini-batch size, repeatable or a comma list (default 128)")
    parser.add_argument("--depth", type=int, default=4, help="hidden layers (default 4)")
    parser.add_argument("--impls", default=None,
                        help="comma list of implementations to time, trainlab always among them "
                             f"(default: all of {', '.join(IMPLEMENTATIONS)})")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch (when it is not installed)")
    args = parser.parse_args(argv)
    threads = int_list([args.threads], "--threads", parser)
    widths = int_list(args.width or ["100"], "--width", parser)
    batch_sizes = int_list(args.batch or ["128"], "--batch", parser)
    if args.rounds < 1 or args.seconds <= 0 or args.depth < 0:
        parser.error("--rounds must be >= 1, --seconds > 0 and --depth >= 0")
    impls = list(IMPLEMENTATIONS) if args.impls is None else [s.strip() for s in args.impls.split(",")]
    unknown = sorted(set(impls) - set(IMPLEMENTATIONS))
    if unknown:
        parser.error(f"--impls: unknown {', '.join(unknown)}; known: {', '.join(IMPLEMENTATIONS)}")
    impls = ["trainlab"] + [name for name in IMPLEMENTATIONS if name in impls and name != "trainlab"]
    if args.no_torch:
        impls = [name for name in impls if name != "torch"]
    elif "torch" in impls:
        try:
            import torch  # noqa: F401
        except ImportError:
            parser.error("PyTorch is not installed: pip install torch==2.13.0, or pass --no-torch")

    cells = [(w, b) for w in widths for b in batch_sizes]
    print(f"{len(cells)} cell(s) of 784-[W]×{args.depth}-10 × batch; {os.cpu_count()} CPUs; median of "
          f"{args.rounds} interleaved rounds of {args.seconds:g} s; the 1024³ sgemm peak timed in every round",
          flush=True)
    report = {"depth": args.depth, "rounds": args.rounds, "seconds": args.seconds, "impls": impls, "cells": []}
    batches = {b: make_batches(b, max(8, min(64, 8192 // b))) for b in batch_sizes}
    for w, b in cells:
        sizes = model_sizes(w, args.depth)
        report["cells"].append({"width": w, "batch": b, "model": "-".join(map(str, sizes)),
                                "step_mflop": round(step_flops(sizes, b) / 1e6, 2), "threads": {}})
    others = [name for name in impls if name != "trainlab"]
    ratios = [f"vs_{name}" for name in others]
    for n in threads:
        print(f"\n{n} thread(s)")
        print(f"  {'width':>5} {'batch':>5} {'opt':<5} " + " ".join(f"{name + ' st/s':>16}" for name in impls)
              + "".join(f"{k.replace('_', ' '):>17}" for k in ratios)
              + f" {'GFLOP/s':>8} {'peak':>6} {'of peak':>8}")
        for cell in report["cells"]:
            sizes = model_sizes(cell["width"], args.depth)
            r = measure(n, args.rounds, args.seconds, batches[cell["batch"]], impls, sizes)
            cell["threads"][str(n)] = r
            for optimizer in OPTIMIZERS:
                e = r[optimizer]
                print(f"  {cell['width']:>5} {cell['batch']:>5} {optimizer:<5} "
                      + " ".join(f"{e[name + '_steps_per_s']:>16.1f}" for name in impls)
                      + "".join(f"{e[k]:>16.2f}×" for k in ratios)
                      + f" {e['trainlab_gflops']:>8.1f} {e['peak_gflops']:>6.1f} {e['fraction_of_peak']:>8.0%}",
                      flush=True)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
