"""Batch normalisation vs weight scale (book §6.3.2, Figs. 6-18 and 6-19; ``batch_norm_test.py``).

The first 1000 training images; 784-[100]*5-10, ReLU, weights N(0, w²) for 16 scales
w = logspace(0, −4, 16); for each w two nets with the same initial weights (same seeded normals),
one with batch norm and one without, trained by SGD lr 0.01 (book convention) on the same
with-replacement batch of 100 every iteration, 20 "epochs" of 10 iterations. As the book's loop,
train accuracy on all 1000 images is measured at every i % 10 == 0, starting after the first update
(i = 0), so the last record is after update 191 ("epoch 19"); BN in inference mode (running stats).

BN normalises each unit over the mini-batch, x̂ = (x − μ_B) / √(σ²_B + ε), then y = γx̂ + β, so a
layer's output scale no longer depends on w; that is why the BN nets learn at almost every w.
BN uses the book's convention (``bn_convention='book'``: ε 1e-6, running variance starting at 0 and
tracking the biased variance, new-batch weight 0.1), because this experiment reproduces the book's
figure; the claim is about training with batch statistics and should hold with 'torch' too
(``--set bn_convention=torch``).

Curves: one history per (scale, net), labelled ``w=0.0858 bn`` / ``w=0.0858 no-bn``, whose epoch
records hold ``train_acc`` with ``iteration`` = updates done (1, 11, 21, …). No per-update loss is
recorded: without BN the large scales overflow on purpose, which is the finding, not a divergence
of the run.
"""

from __future__ import annotations

import math

import numpy as np

from ..curves import mean_band
from ..layers import ACTIVATIONS, BN_CONVENTIONS
from ..inference import evaluate_many
from ..model import DTYPES, MLP, ModelSpec
from ..optim import CONVENTIONS, OPTIMIZERS, make_optimizer
from ..seeding import spawn_streams
from ..validate import ConfigError
from .base import Claim, Experiment
from .panels import compare_row, comparison_table
from .common import check_train_count, dataset, dims, history
from .keys import Choice, Float, Int, Ints

#: the two nets trained at every scale: key in the summary → label suffix of its history
NETS = {"bn": "bn", "plain": "no-bn"}


def scales(config: dict) -> list[float]:
    return np.logspace(config["scale_start"], config["scale_stop"], int(config["n_scales"])).tolist()


def variant(w: float, net: str) -> str:
    """The history label of one net at one scale: ``w=0.0858 bn`` or ``w=0.0858 no-bn``."""
    return f"w={w:.3g} {NETS[net]}"


class BatchNormExperiment(Experiment):
    name = "batchnorm"
    title = "Batch normalisation makes training robust to the initial weight scale"
    book_section = "§6.3.2, Figs. 6-18 and 6-19"
    book_script = "batch_norm_test.py"
    book_figures = "Figs. 6-18 and 6-19"
    shows = ("with batch norm the net learns at almost every initial weight scale; without it only when "
             "the scale happens to be good")
    captions = {
        "grid": ("Fig. 6-19: train accuracy with (solid) and without (dashed) batch norm for 16 initial weight "
                 "scales"),
        "single": "Fig. 6-18: train accuracy with and without batch norm at one initial scale",
        "final_by_scale": "Final train accuracy by initial weight scale, with and without batch norm",
    }
    config = {
        "train_size": Int(1000, "train on the first N training images (accuracy measured on them too)",
                          low=1),
        "hidden_sizes": Ints([100, 100, 100, 100, 100], "hidden layer widths", high=4096, max_len=32),
        "activation": Choice("relu", ACTIVATIONS, "hidden activation"),
        "scale_start": Float(0, "log10 of the first weight std w (0: w = 1)", low=-8, high=2),
        "scale_stop": Float(-4, "log10 of the last weight std w (−4: w = 1e-4)", low=-8, high=2),
        "n_scales": Int(16, "weight scales, log-spaced from 10^scale_start to 10^scale_stop", low=1, high=64),
        "single_panel_index": Int(4, "the scale drawn alone (4: logspace(0, −4, 16)[4] ≈ 0.0858, the KR "
                                     "edition's single figure)", low=0, high=63),
        "bn_convention": Choice("book", BN_CONVENTIONS, "batch-norm convention (the book's: ε 1e-6, running "
                                "variance from 0)"),
        "optimizer": Choice("sgd", OPTIMIZERS, "the optimizer of every net"),
        "lr": Float(0.01, "its learning rate η", low=0, low_open=True),
        "convention": Choice("book", CONVENTIONS, "optimizer convention"),
        "batch_size": Int(100, "mini-batch size, drawn with replacement (≥ 2: batch norm needs two samples)",
                          low=2, high=60_000),
        "epochs": Int(20, "'epochs' of train_size / batch_size updates; accuracy after the first update of each",
                      low=1, high=10_000),
        "win_fraction": Float(0.75, "claim: BN beats no-BN at at least this fraction of the scales (12 of 16)",
                              low=0, low_open=True, high=1),
        "dtype": Choice("float32", DTYPES, "parameter dtype"),
    }
    reduced = {"train_size": 300, "epochs": 6, "n_scales": 4, "single_panel_index": 1, "hidden_sizes": [50, 50, 50]}
    default_seeds = 5
    #: measured once: seed 0 at full size, one core and one BLAS thread: 15.5 s of CPU (20 s wall on the
    #: shared 2-core machine under load)
    seed_seconds = 16.0

    def check_config(self, config: dict) -> None:
        n = int(config["n_scales"])
        if config["single_panel_index"] >= n:
            raise ConfigError("single_panel_index", f"single_panel_index ({config['single_panel_index']}) must be "
                                                    f"less than n_scales ({n})")
        labels = [f"{w:.3g}" for w in scales(config)]
        if len(set(labels)) < n:
            twice = sorted({w for w in labels if labels.count(w) > 1}, key=labels.index)
            raise ConfigError("n_scales", f"n_scales ({n}): the scales from 10^{config['scale_start']:g} to "
                                          f"10^{config['scale_stop']:g} are not distinct to 3 digits (w = "
                                          f"{', '.join(twice)} repeat); widen the range or use fewer scales")
        check_train_count(config, "train_size")

    book = {
        "source": "one unseeded run of the book's code: final (epoch 19) train accuracy, no-BN vs BN "
                  "(docs/reference-numbers.md#batchnorm)",
        "final_train_acc": {
            "1.0": [0.097, 0.42], "0.54": [0.097, 0.50], "0.29": [0.98, 0.63], "0.16": [0.82, 0.76],
            "0.086": [0.24, 0.89], "0.046–0.0040": [0.116, "0.95–1.0"], "2.2e-3": [0.116, 1.0],
            "1.2e-3": [0.117, 0.83], "6.3e-4": [0.116, 0.80], "3.4e-4": [0.116, 0.60], "1.8e-4": [0.117, 0.62],
            "1e-4": [0.116, 0.52],
        },
        "bn_wins": "14 of 16 (no-BN wins at w = 0.29 and 0.16)",
        "claims": "With BN learning is faster in almost every case; without BN training does not progress at "
                  "all unless the initial scale is good; BN makes training robust to the initial weights.",
    }

    def run_seed(self, config: dict, seed: int) -> dict:
        (x, t), _ = dataset(config)
        input_size, classes = dims(config)
        n = int(config["train_size"])
        x, t = x[:n].astype(np.dtype(config["dtype"]), copy=False), t[:n]
        streams = spawn_streams(seed)
        init_seed = int(streams["init"].integers(2**63))
        data_seed = int(streams["data"].integers(2**63))
        b = int(config["batch_size"])
        ipe = max(n // b, 1)
        max_iter = int(config["epochs"]) * ipe
        # every scale draws the same batches (one stream per seed), so all 2 × n_scales nets train in
        # step on each batch and are evaluated together: their first layers are one matrix product
        nets = {}
        for w in scales(config):
            for key, bn in (("bn", True), ("plain", False)):
                spec = ModelSpec(input_size=input_size, hidden_sizes=tuple(config["hidden_sizes"]),
                                 output_size=classes, activation=config["activation"], init=w, batch_norm=bn,
                                 bn_convention=config["bn_convention"], dtype=config["dtype"])
                model = MLP(spec, rng=np.random.default_rng(init_seed))
                nets[variant(w, key)] = (model, make_optimizer(config["optimizer"], model.params, config["convention"],
                                                               lr=config["lr"]))
        rng = np.random.default_rng(data_seed)
        records = {label: [] for label in nets}
        models = [model for model, _ in nets.values()]
        with np.errstate(all="ignore"):
            for i in range(max_iter):
                idx = rng.integers(0, n, size=b)
                xb, tb = x[idx], t[idx]
                for model, opt in nets.values():
                    model.gradient(xb, tb, check=False)
                    opt.step()
                if i % ipe == 0:  # the book's loop: after update i, so "epoch" e is after e·ipe + 1 updates
                    for label, (_, acc) in zip(nets, evaluate_many(models, x, t, check=False)):
                        records[label].append({"epoch": i // ipe, "iteration": i + 1, "train_acc": float(acc)})
        histories = {label: history(epochs=records[label]) for label in nets}
        return {"scales": scales(config), "histories": histories}

    def summarize(self, config: dict, runs: list[dict]) -> dict:
        ws = scales(config)
        per_scale = []
        for w in ws:
            d = {"scale": w}
            for key in NETS:
                curves = [[r["train_acc"] for r in run["histories"][variant(w, key)]["epochs"]] for run in runs]
                finals = [c[-1] for c in curves]
                d[key] = {"curve": mean_band(curves), "final": float(np.mean(finals)), "final_per_seed": finals}
            d["bn_wins"] = d["bn"]["final"] > d["plain"]["final"]
            per_scale.append(d)
        out = {"per_scale": per_scale, "bn_wins": sum(d["bn_wins"] for d in per_scale), "n_scales": len(ws),
               "seeds": len(runs)}
        if len(ws) == 16:  # the book's scales: its run's wins and two scales it printed
            wins = [sum(d["bn"]["final_per_seed"][k] > d["plain"]["final_per_seed"][k] for d in per_scale)
                    for k in range(len(runs))]
            rows = [compare_row("scales (of 16) where BN ends higher", 14, "one unseeded run", wins, 1, digits=2)]
            for i, text in ((2, "0.29"), (4, "0.086")):
                book_plain, book_bn = self.book["final_train_acc"][text]
                d = per_scale[i]
                rows.append(compare_row(f"w={d['scale']:.3g}: final train accuracy without BN", book_plain,
                                        "one unseeded run", d["plain"]["final_per_seed"], 0.1))
                rows.append(compare_row(f"w={d['scale']:.3g}: final train accuracy with BN", book_bn,
                                        "one unseeded run", d["bn"]["final_per_seed"], 0.1))
            out["tables"] = [comparison_table(rows, len(runs))]
        return out

    def claims(self, config: dict, summary: dict, runs: list[dict]) -> list[Claim]:
        n = summary["n_scales"]
        need = math.ceil(float(config["win_fraction"]) * n)
        wins = summary["bn_wins"]
        rows = "; ".join(f"w={d['scale']:.3g}: {d['plain']['final']:.3f} vs {d['bn']['final']:.3f}"
                         for d in summary["per_scale"])
        claims = [Claim(
            f"BN beats no-BN at ≥ {need} of {n} weight scales",
            wins >= need,
            f"BN has the higher final train accuracy (epoch {int(config['epochs']) - 1}, mean of {summary['seeds']} "
            f"seed(s)) at {wins} of {n} scales (book: 14 of 16). No-BN vs BN: {rows}",
            {"bn_wins": wins, "needed": need,
             "final": {f"{d['scale']:.3g}": {"plain": d["plain"]["final"], "bn": d["bn"]["final"]}
                       for d in summary["per_scale"]}},
        )]
        return claims

    def figures(self, config: dict, summary: dict, runs: list[dict]) -> dict:
        from matplotlib.figure import Figure

        per = summary["per_scale"]
        n = len(per)
        cols = math.ceil(math.sqrt(n))
        rows = math.ceil(n / cols)

        def panel(ax, d, legend):
            for key, style, label in (("bn", "-", "Batch Normalization"), ("plain", "--", "Normal (without BN)")):
                c = d[key]["curve"]
                x = np.arange(len(c["mean"]))
                line, = ax.plot(x, c["mean"], style, label=label)
                if c["n"] > 1:
                    ax.fill_between(x, c["lo"], c["hi"], color=line.get_color(), alpha=0.2, linewidth=0)
            ax.set_ylim(0, 1)
            ax.set_xlim(0, len(d["bn"]["curve"]["mean"]) - 1)
            if legend:
                ax.legend(fontsize=6, loc="lower right")

        fig = Figure(figsize=(2.2 * cols, 2.0 * rows))
        fig.subplots_adjust(left=0.07, right=0.99, bottom=0.06, top=0.92, wspace=0.15, hspace=0.45)
        for i, d in enumerate(per):
            ax = fig.add_subplot(rows, cols, i + 1)
            panel(ax, d, legend=i == n - 1)
            ax.set_title(f"W:{d['scale']:.3g}  ({d['plain']['final']:.2f} | {d['bn']['final']:.2f})", fontsize=7)
            ax.tick_params(labelsize=6)
            if i % cols:
                ax.set_yticklabels([])
            else:
                ax.set_ylabel("accuracy", fontsize=7)
            if i < n - cols:
                ax.set_xticklabels([])
            else:
                ax.set_xlabel("epochs", fontsize=7)
        fig.suptitle(f"Train accuracy on {config['train_size']} images, BN (solid) vs no BN (dashed); "
                     f"BN wins at {summary['bn_wins']}/{n} scales (mean of {summary['seeds']} seed(s))", fontsize=8)

        k = int(config["single_panel_index"])
        fig1 = Figure(figsize=(5.5, 4), layout="constrained")
        ax = fig1.add_subplot(1, 1, 1)
        d = per[min(k, n - 1)]
        panel(ax, d, legend=True)
        ax.set_xlabel("epochs")
        ax.set_ylabel("accuracy")
        ax.set_title(f"Training Accuracy, W = {d['scale']:.4g}", fontsize=10)

        fig2 = Figure(figsize=(5.5, 3.8), layout="constrained")
        ax = fig2.add_subplot(1, 1, 1)
        ws = [d["scale"] for d in per]
        for key, style, label in (("bn", "o-", "Batch Normalization"), ("plain", "s--", "Normal (without BN)")):
            ax.semilogx(ws, [d[key]["final"] for d in per], style, markersize=4, label=label)
        ax.set_xlabel("initial weight std w")
        ax.set_ylabel("final train accuracy")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=8)
        ax.set_title("Final train accuracy by weight scale", fontsize=10)
        return {"grid": fig, "single": fig1, "final_by_scale": fig2}


EXPERIMENT = BatchNormExperiment()
