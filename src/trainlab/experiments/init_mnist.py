"""Weight initialisation on MNIST (book §6.2.4, Fig. 6-15; ``weight_init_compare.py``), plus zero init.

784-[100]*4-10, ReLU, SGD lr 0.01 (book convention), batch 128, 2000 iterations, the same
with-replacement mini-batch for every net each iteration. Inits: std 0.01, the book's "Xavier"
(LeCun-normal, √(1/n)) and He (√(2/n)); every net draws its weights from the same seeded stream, so
the three differ only by the scale (a paired comparison). Plus all-zero weights trained on the same
batches: every hidden unit of a layer gets the same gradient, so they stay identical (here they stay
exactly 0, since ReLU'(0) = 0 gives no gradient at all; only the output bias learns the class prior).

Recorded loss: the book's post-update mini-batch loss (see :mod:`.optimizer_mnist`), smoothed with the book's
``smooth_curve`` per seed, then mean and min–max band over seeds; "final" = mean of the smoothed curve
over the last 100 iterations. No test evaluation: the book's figure and claims are about the
training loss only.
"""

from __future__ import annotations

import numpy as np

from ..layers import ACTIVATIONS
from ..model import DTYPES, MLP, ModelSpec
from ..optim import CONVENTIONS, OPTIMIZERS, make_optimizer
from ..seeding import spawn_streams
from .base import Claim, Experiment
from .common import check_final_window, dataset, dims, smoothed_summary, train_same_batches
from .keys import Bool, Choice, Float, Int, Ints, Mapping
from .panels import compare_row, comparison_table, loss_figure

LABELS = {"std=0.01": "std=0.01", "xavier": "Xavier (LeCun √(1/n))", "he": "He √(2/n)", "zeros": "zeros"}
MARKERS = {"std=0.01": "o", "xavier": "s", "he": "D", "zeros": "x"}
LN10 = float(np.log(10.0))


def _valid_inits(inits: dict) -> str | None:
    from ..init import resolve_init

    for label, init in inits.items():
        try:
            resolve_init(init)
        except (TypeError, ValueError) as exc:
            return f"{label}: {exc}"
    return None


def max_unit_difference(model: MLP) -> float:
    """max over hidden weight matrices W and units j of |W[:, j] − W[:, 0]| (0 ⇔ all units identical)."""
    n = len(model.spec.hidden_sizes)
    return max(float(np.max(np.abs(w - w[:, :1]))) for w in (model.params.view(f"W{i}") for i in range(1, n + 1)))


class InitMnist(Experiment):
    name = "init-mnist"
    title = "Weight initialisation on MNIST: std 0.01 vs Xavier vs He (and zeros)"
    book_section = "§6.2.4, Fig. 6-15"
    book_script = "weight_init_compare.py"
    book_figures = "Fig. 6-15"
    shows = "on MNIST std 0.01 does not learn at all; Xavier and He both learn, He faster; all-zero weights stay symmetric"
    captions = {
        "loss": ("Fig. 6-15: the smoothed loss on MNIST with initial std 0.01, Xavier and He (and all zeros) — "
                 "std 0.01 does not learn, He learns fastest"),
    }
    config = {
        "hidden_sizes": Ints([100, 100, 100, 100], "hidden layer widths", high=4096, max_len=32),
        "activation": Choice("relu", ACTIVATIONS, "hidden activation"),
        "inits": Mapping({"std=0.01": 0.01, "xavier": "lecun_normal", "he": "he_normal"},
                         "label → initialiser (a name or a std); the claims use std=0.01, xavier and he",
                         validator=_valid_inits),
        "zero_init": Bool(True, "also train all-zero weights (the symmetry claim)"),
        "optimizer": Choice("sgd", OPTIMIZERS, "the one optimizer every net uses"),
        "lr": Float(0.01, "its learning rate η", low=0, low_open=True),
        "convention": Choice("book", CONVENTIONS, "optimizer convention"),
        "batch_size": Int(128, "mini-batch size (the same batch for every net)", low=1, high=60_000),
        "iterations": Int(2000, "training iterations", low=1, high=200_000),
        "recorded_loss": Choice("post", ("pre", "post"), "mini-batch loss before the update, or after it "
                                "on the same batch (the book's)"),
        "final_window": Int(100, "iterations averaged for the 'final' smoothed loss", low=1),
        "compare_at": Int(500, "claim: He has the lower smoothed loss at this iteration", low=0),
        "stuck_tolerance": Float(0.05, "claim: std 0.01's final loss is within this of ln 10", low=0, low_open=True),
        "learned_below": Float(0.5, "claim: Xavier and He end below this loss", low=0, low_open=True),
        "dtype": Choice("float32", DTYPES, "parameter dtype"),
    }
    reduced = {"iterations": 300, "compare_at": 200, "hidden_sizes": [50, 50, 50, 50]}
    default_seeds = 5
    #: run all in a fresh venv, quiet 2-core machine: 17–18 s per seed
    seed_seconds = 17.0

    def check_config(self, config: dict) -> None:
        check_final_window(config)

    book = {
        "source": "one unseeded run of the book's code: post-update loss on the current batch "
                  "(docs/reference-numbers.md#init-mnist)",
        "loss_at": {
            "std=0.01": "2.30 throughout",
            "Xavier": {"0": 2.30, "100": 2.23, "500": 1.06, "1000": 0.36, "1800-1900": "0.2–0.4"},
            "He": {"0": 2.45, "100": 1.56, "500": 0.34, "1000": 0.21, "1800-1900": "0.17–0.29"},
        },
        "claims": "std=0.01 does not learn at all (tiny forward values and gradients); Xavier and He both learn, "
                  "He faster. All-zero (or equal) weights fail: symmetric units stay identical.",
    }

    def run_seed(self, config: dict, seed: int) -> dict:
        (x, t), _ = dataset(config)
        x = x.astype(np.dtype(config["dtype"]), copy=False)
        input_size, classes = dims(config)
        streams = spawn_streams(seed)
        init_seed = int(streams["init"].integers(2**63))
        inits = dict(config["inits"])
        if config["zero_init"]:
            inits["zeros"] = "zeros"
        nets = {}
        for key, init in inits.items():
            spec = ModelSpec(input_size=input_size, hidden_sizes=tuple(config["hidden_sizes"]), output_size=classes,
                             activation=config["activation"], init=init, dtype=config["dtype"])
            model = MLP(spec, rng=np.random.default_rng(init_seed))  # the same normals, scaled per init
            nets[key] = (model, make_optimizer(config["optimizer"], model.params, config["convention"], lr=config["lr"]))
        histories = train_same_batches(nets, x, t, int(config["iterations"]), int(config["batch_size"]),
                                       streams["data"], config["recorded_loss"])
        out = {"histories": histories,
               "max_unit_difference": {k: max_unit_difference(m) for k, (m, _) in nets.items()}}
        if "zeros" in nets:
            out["zeros_max_abs_hidden_weight"] = float(max(
                np.max(np.abs(nets["zeros"][0].params.view(f"W{i}"))) for i in range(1, len(config["hidden_sizes"]) + 1)))
        return out

    def summarize(self, config: dict, runs: list[dict]) -> dict:
        names = list(runs[0]["histories"])
        it = int(config["iterations"])
        at = tuple(sorted({i for i in (0, 100, int(config["compare_at"]), 1000, 1900) if i < it}))
        per = smoothed_summary(runs, names, window=int(config["final_window"]), at=at)
        for name in names:
            per[name]["max_unit_difference"] = max(r["max_unit_difference"][name] for r in runs)
        out = {"inits": per, "seeds": len(runs)}
        if "zeros_max_abs_hidden_weight" in runs[0]:
            out["zeros_max_abs_hidden_weight"] = max(r["zeros_max_abs_hidden_weight"] for r in runs)
        rows = []
        for key, label in (("xavier", "Xavier"), ("he", "He")):
            for i in (500, 1000):
                band = per.get(key, {}).get("smoothed")
                if band and i < len(band["mean"]):
                    rows.append(compare_row(f"{label}: loss at iteration {i}", self.book["loss_at"][label][str(i)],
                                            "one unseeded run, raw batch loss",
                                            [band["lo"][i], band["mean"][i], band["hi"][i]], 0.1))
        if "std=0.01" in per:
            rows.append(compare_row("std 0.01: final loss", 2.30, "one unseeded run (\"2.30 throughout\")",
                                    per["std=0.01"]["final_per_seed"], 0.01, digits=2))
        if rows:
            out["tables"] = [comparison_table(rows, len(runs), "Ours is the smoothed loss, the book's one batch's "
                                              "loss, hence ±0.1")]
        return out

    def claims(self, config: dict, summary: dict, runs: list[dict]) -> list[Claim]:
        s = summary["inits"]
        claims = []
        window = int(config["final_window"])
        if all(k in s for k in ("std=0.01", "xavier", "he")):
            tol, below = float(config["stuck_tolerance"]), float(config["learned_below"])
            f = {k: s[k]["final"] for k in ("std=0.01", "xavier", "he")}
            claims.append(Claim(
                f"std 0.01 stays near 2.30 while Xavier and He fall below {below}",
                abs(f["std=0.01"] - LN10) < tol and f["xavier"] < below and f["he"] < below,
                f"final smoothed loss (last {window} iterations, mean of {summary['seeds']} seed(s)): std=0.01 "
                f"{f['std=0.01']:.3f} (claim within {tol} of ln 10 = {LN10:.3f}), Xavier {f['xavier']:.3f}, "
                f"He {f['he']:.3f} (claim < {below}; book 0.2–0.4 and 0.17–0.29)",
                {"final": f},
            ))
            k = str(int(config["compare_at"]))
            if k in s["he"]["at"]:
                he, xa = s["he"]["at"][k], s["xavier"]["at"][k]
                claims.append(Claim(
                    f"He learns faster than Xavier (lower smoothed loss at iteration {k})",
                    he < xa,
                    f"smoothed loss at iteration {k}: He {he:.3f}, Xavier {xa:.3f} "
                    f"(book at 500: He 0.34, Xavier 1.06)",
                    {"he": he, "xavier": xa, "iteration": int(k)},
                ))
        if "zeros" in s:
            d = s["zeros"]["max_unit_difference"]
            claims.append(Claim(
                "Zero init stays symmetric: all hidden units of a layer remain identical",
                d == 0.0,
                f"after {config['iterations']} iterations, max over layers and units of |W[:,j] − W[:,0]| = {d:g} "
                f"(all seeds); largest |hidden weight| {summary.get('zeros_max_abs_hidden_weight', float('nan')):g}; "
                f"final smoothed loss {s['zeros']['final']:.3f}",
                {"max_unit_difference": d, "final": s["zeros"]["final"]},
            ))
        return claims

    def figures(self, config: dict, summary: dict, runs: list[dict]) -> dict:
        s = summary["inits"]
        fig = loss_figure(config, s, list(s),
                          f"784-{'-'.join(map(str, config['hidden_sizes']))}-10 ReLU, SGD lr {config['lr']}, "
                          f"batch {config['batch_size']}, same batches;\nmean of {summary['seeds']} seed(s), band min–max",
                          ylim=(0, 2.5), labels=LABELS, markers=MARKERS)
        return {"loss": fig}


EXPERIMENT = InitMnist()
