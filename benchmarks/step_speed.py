"""Speed of one training step: TrainLab float32 vs the book's code vs PyTorch, in one process.

A step is forward, backward and the optimizer update of 784-[100,100,100,100]-10 (ReLU, He) on a
mini-batch of 128 real MNIST images, with SGD and with Adam, for:

* ``trainlab``: ``MLP.gradient`` + ``Optimizer.step`` on the flat float32 buffer;
* ``book``: ``benchmarks/book_style.py``, the reference code as book-ch06.md describes it
  (float64, dicts of arrays, per-key optimizer loops);
* ``book_trainer``: the same, plus what the book's ``Trainer.train_step`` adds to every iteration:
  a second forward pass after the update to record the loss (TrainLab records the loss of the
  forward it already made). Reported beside, not instead of, the equal-work ``book`` figure;
* ``torch``: ``nn.Sequential`` of ``nn.Linear``/``nn.ReLU``, ``F.cross_entropy``, ``torch.optim``,
  float32, with ``torch.set_num_threads`` equal to the BLAS threads of the other two.

Every implementation gets the same pre-drawn batches (no data loading is timed). The machine is
shared and a small step's speed flips between levels for seconds at a time, so the three are timed
in interleaved rounds and each figure is the median of its rounds. The float32 matrix-multiply
peak (a 1024³ ``sgemm``, best of its rounds) is measured in the same run; the step's FLOP count
is 2·B·Σ fan_in·fan_out forward, as much again for dW, and 2·B·fan_in·fan_out for every dx but the
input's (TrainLab and torch skip that one; the book's code computes it and gets no credit for it).

Run: ``python benchmarks/step_speed.py`` (``--threads 1,2``, ``--rounds``, ``--seconds``).
The last line printed is one JSON object with every figure.
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


def step_flops(sizes=SIZES, batch=128) -> int:
    """Multiply-adds ×2 of forward, dW and every dx except the input's."""
    mats = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return 2 * batch * (2 * sum(mats) + sum(mats[1:]))


def make_batches(batch: int, count: int, seed: int = 0):
    (x, t), _ = load_mnist(normalize=True, flatten=True)
    rng = np.random.default_rng(seed)
    return [(np.ascontiguousarray(x[idx]), t[idx].astype(np.int64))
            for idx in (rng.integers(0, x.shape[0], batch) for _ in range(count))]


# -- the three implementations: each returns a step(x, t) closure ---------------------------------
def trainlab_step(optimizer: str):
    model = tl.MLP(tl.ModelSpec(SIZES[0], SIZES[1:-1], SIZES[-1], activation="relu", init="he"), rng=0)
    opt = tl.make_optimizer(optimizer, model.params, convention="book", lr=LR[optimizer])

    def step(x, t):
        model.gradient(x, t, check=False)
        opt.step()
    return step


def book_step(optimizer: str, trainer: bool = False):
    """``trainer=True`` adds what ``Trainer.train_step`` does after the update: it recomputes the
    recorded loss with a second forward pass."""
    net = book_style.MultiLayerNet(SIZES[0], list(SIZES[1:-1]), SIZES[-1], np.random.default_rng(0))
    opt = book_style.OPTIMIZERS[optimizer](lr=LR[optimizer])

    def step(x, t):
        opt.update(net.params, net.gradient(x, t))
        if trainer:
            net.loss(x, t)
    return step


def torch_step(optimizer: str):
    import torch
    from torch import nn

    torch.manual_seed(0)
    layers = []
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(SIZES) - 2:
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
                   "book_trainer": lambda optimizer: book_step(optimizer, trainer=True), "torch": torch_step}


def steps_per_second(step, batches, seconds: float) -> float:
    """Steps per second over ``seconds``, after an untimed quarter of that: switching between
    libraries leaves the other one's BLAS/OpenMP threads spinning for a moment."""
    rate = 0.0
    for span in (seconds / 4, seconds):
        n, start = 0, time.perf_counter()
        while True:
            for x, t in batches[:16]:
                step(x, t)
            n += 16
            elapsed = time.perf_counter() - start
            batches = batches[16:] + batches[:16]
            if elapsed >= span:
                rate = n / elapsed
                break
    return rate


def matmul_gflops(rounds: int, seconds: float) -> float:
    rng = np.random.default_rng(0)
    a = rng.random((1024, 1024), dtype=np.float32)
    b = rng.random((1024, 1024), dtype=np.float32)
    best = 0.0
    for _ in range(rounds):
        a @ b
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            a @ b
            n += 1
        best = max(best, n * 2 * 1024**3 / (time.perf_counter() - start) / 1e9)
    return best


def measure(threads: int, rounds: int, seconds: float, batches, impls) -> dict:
    if "torch" in impls:
        import torch

        torch.set_num_threads(threads)
    flops = step_flops(batch=batches[0][0].shape[0])
    with threadpool_limits(limits=threads):
        peak = matmul_gflops(rounds, seconds)
        result = {"matmul_peak_gflops": round(peak, 1)}
        for optimizer in OPTIMIZERS:
            steps = {name: IMPLEMENTATIONS[name](optimizer) for name in impls}
            for step in steps.values():  # warm up: first-call allocations, optimizer state
                for x, t in batches[:8]:
                    step(x, t)
            rates = {name: [] for name in impls}
            for _ in range(rounds):
                for name, step in steps.items():
                    rates[name].append(steps_per_second(step, batches, seconds))
            med = {name: statistics.median(r) for name, r in rates.items()}
            entry = {f"{name}_steps_per_s": round(v, 1) for name, v in med.items()}
            entry["trainlab_gflops"] = round(med["trainlab"] * flops / 1e9, 1)
            entry["fraction_of_peak"] = round(med["trainlab"] * flops / 1e9 / peak, 3)
            for base in ("book", "book_trainer"):
                if base in med:
                    entry[f"vs_{base}"] = round(med["trainlab"] / med[base], 2)
            if "torch" in med:
                entry["vs_torch"] = round(med["trainlab"] / med["torch"], 2)
            entry["spread"] = {name: [round(min(r), 1), round(max(r), 1)] for name, r in rates.items()}
            result[optimizer] = entry
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2", help="BLAS/torch thread counts to measure (default 1,2)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds (median taken)")
    parser.add_argument("--seconds", type=float, default=0.6, help="seconds per implementation per round")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch (when it is not installed)")
    args = parser.parse_args(argv)
    try:
        threads = [int(s) for s in args.threads.split(",")]
    except ValueError:
        parser.error(f"--threads: expected comma-separated integers such as 1,2, got {args.threads!r}")
    if any(n < 1 for n in threads) or args.rounds < 1 or args.seconds <= 0 or args.batch < 1:
        parser.error("--threads, --rounds and --batch must be >= 1 and --seconds > 0")
    impls = ["trainlab", "book", "book_trainer"] + ([] if args.no_torch else ["torch"])
    if not args.no_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            parser.error("PyTorch is not installed: pip install torch==2.13.0, or pass --no-torch")

    batches = make_batches(args.batch, 64)
    flops = step_flops(batch=args.batch)
    print(f"one step of {'-'.join(map(str, SIZES))}, batch {args.batch}: {flops / 1e6:.1f} MFLOP "
          f"(forward, dW, dx); {os.cpu_count()} CPUs; median of {args.rounds} interleaved rounds "
          f"of {args.seconds:g} s", flush=True)
    report = {"model": "-".join(map(str, SIZES)), "batch": args.batch, "step_mflop": round(flops / 1e6, 2),
              "rounds": args.rounds, "threads": {}}
    for n in threads:
        r = measure(n, args.rounds, args.seconds, batches, impls)
        report["threads"][str(n)] = r
        print(f"\n{n} thread(s): float32 matmul peak {r['matmul_peak_gflops']:.1f} GFLOP/s")
        ratios = [k for k in ("vs_book", "vs_book_trainer", "vs_torch") if k in r[OPTIMIZERS[0]]]
        print(f"  {'steps/s':<9} " + " ".join(f"{name:>12}" for name in impls)
              + " ".join(f"{k.replace('_', ' '):>16}" for k in ratios) + f" {'of peak':>8}")
        for optimizer in OPTIMIZERS:
            e = r[optimizer]
            print(f"  {optimizer:<9} " + " ".join(f"{e[name + '_steps_per_s']:>12.0f}" for name in impls)
                  + " ".join(f"{e[k]:>15.2f}×" for k in ratios) + f" {e['fraction_of_peak']:>8.0%}", flush=True)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
