"""What ``--diagnostics`` costs per epoch: the same training with and without it, timed alike.

Each case trains a net on the first N MNIST training images (batch 100, SGD lr 0.1, the trainer's
evaluation of the training split and of the 10,000 test images after every epoch, as ``trainlab
train`` does) for a few epochs, once with ``diagnostics=None`` and once with ``diagnostics=SPEC``;
an epoch's time is the process CPU time of ``Trainer.train()`` divided by the epochs (its updates,
its evaluations and, when on, the diagnostics; CPU rather than wall time because the machine is
shared). The two are run in interleaved rounds on one BLAS thread; the ratio is the median over
the rounds of each round's with/without ratio (its range is printed: on a shared machine single
rounds scatter by ±10 %), the times the medians over the rounds. Also timed: the diagnostics alone, i.e. the per-update
gradient norms (a wrapped step minus the step) and one probe forward with its statistics.

Cases: 784-100-100-10 (ReLU) on 10,000 images, the same with light evaluation (``eval_samples``
1000, so the updates dominate: the worst case for the ratio), and 784-[100]*6-10 (sigmoid).

Run: ``python benchmarks/diagnostics_overhead.py`` (``--rounds``, ``--epochs``, ``--spec``). The last
line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from threadpoolctl import threadpool_limits

from trainlab.data import load_arrays
from trainlab.model import ModelSpec
from trainlab.trainer import Data, Trainer, TrainConfig

CASES = {
    "784-100-100-10 relu, 10k images, full evaluation": dict(hidden=(100, 100), activation="relu", n=10_000,
                                                             eval_samples=None),
    "784-100-100-10 relu, 10k images, eval on 1000": dict(hidden=(100, 100), activation="relu", n=10_000,
                                                          eval_samples=1000),
    "784-[100]*6-10 sigmoid, 10k images, full evaluation": dict(hidden=(100,) * 6, activation="sigmoid",
                                                                n=10_000, eval_samples=None),
}


def epoch_time(case: dict, epochs: int, diagnostics: str | None, seed: int) -> float:
    """CPU seconds per epoch of one training (its epoch-0 evaluation spread over the epochs)."""
    (x, t), (xt, tt) = load_arrays(None)
    n = case["n"]
    spec = ModelSpec(784, case["hidden"], 10, activation=case["activation"],
                     init="he" if case["activation"] == "relu" else "xavier")
    config = TrainConfig(epochs=epochs, batch_size=100, optimizer="sgd", optimizer_params={"lr": 0.1}, seed=seed,
                         eval_samples=case["eval_samples"], diagnostics=diagnostics)
    trainer = Trainer(spec, Data(x[:n], t[:n], x_test=xt, t_test=tt), config)
    start = time.process_time()
    trainer.train()
    return (time.process_time() - start) / epochs


def parts(case: dict, spec_text: str, repeats: int = 200) -> dict:
    """Seconds of the diagnostics alone: per update (the norms) and per epoch (probe and statistics)."""
    (x, t), _ = load_arrays(None)
    spec = ModelSpec(784, case["hidden"], 10, activation=case["activation"])
    tr = Trainer(spec, Data(x[:1000], t[:1000]), TrainConfig(optimizer="sgd", diagnostics=spec_text))
    tr.model.gradient(x[:100], t[:100])
    noop = tr.diagnostics.wrap_step(lambda: None)
    start = time.perf_counter()
    for _ in range(repeats):
        noop()
    per_update = (time.perf_counter() - start) / repeats
    record = {"epoch": 1}
    start = time.perf_counter()
    for _ in range(20):
        tr.diagnostics.end_epoch(dict(record), tr.history)
    return {"per_update_s": per_update, "per_epoch_probe_s": (time.perf_counter() - start) / 20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--spec", default="on", help="the diagnostics spec timed (default: on)")
    args = parser.parse_args()
    out = {"spec": args.spec, "rounds": args.rounds, "epochs": args.epochs, "threads": 1, "cases": {}}
    with threadpool_limits(1):
        for name, case in CASES.items():
            off, on = [], []
            for r in range(args.rounds):  # interleaved: a slow spell of the machine hits both
                off.append(epoch_time(case, args.epochs, None, r))
                on.append(epoch_time(case, args.epochs, args.spec, r))
            m_off, m_on = statistics.median(off), statistics.median(on)
            ratios = sorted(b / a for a, b in zip(off, on))  # paired: each round's two runs side by side
            alone = parts(case, args.spec)
            steps = -(-case["n"] // 100)
            out["cases"][name] = {"epoch_s_without": m_off, "epoch_s_with": m_on,
                                  "ratio": statistics.median(ratios), "ratio_per_round": ratios,
                                  "updates_per_epoch": steps, **alone,
                                  "diagnostics_share_of_epoch": (alone["per_update_s"] * steps
                                                                 + alone["per_epoch_probe_s"]) / m_off}
            print(f"{name}: epoch {m_off:.3f} s without, {m_on:.3f} s with diagnostics -> ratio "
                  f"{statistics.median(ratios):.3f} (rounds {ratios[0]:.3f}–{ratios[-1]:.3f}); "
                  f"alone: {alone['per_update_s'] * 1e6:.1f} us per update, "
                  f"{alone['per_epoch_probe_s'] * 1e3:.1f} ms per epoch "
                  f"({out['cases'][name]['diagnostics_share_of_epoch']:.1%} of an epoch)", flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
