"""Batch normalisation vs weight scale (book §6.3.2, Figs. 6-18 and 6-19; ``batch_norm_test.py``).

The first 1000 MNIST training images; 784-[100]*5-10, ReLU, weights N(0, w²) for 16 scales
w = logspace(0, −4, 16); for each w two nets with the same initial weights (same seeded normals),
one with batch norm and one without, trained by SGD lr 0.01 (book convention) on the same
with-replacement batch of 100 every iteration, 20 "epochs" of 10 iterations. As the book's loop,
train accuracy on all 1000 images is measured at every i % 10 == 0, starting after the first update
(i = 0), so the last record is after update 191 ("epoch 19"); BN in inference mode (running stats).

BN uses the book's convention (``bn_convention='book'``: ε 1e-6, running variance starting at 0 and
tracking the biased variance, new-batch weight 0.1), because this experiment reproduces the book's
figure; the claim is about training with batch statistics and should hold with 'torch' too
(``--set bn_convention=torch``).
"""

from __future__ import annotations

import math

import numpy as np

from ..model import MLP, ModelSpec
from ..optim import make_optimizer
from ..seeding import spawn_streams
from .base import Claim, Experiment
from ..curves import mean_band
from .optimizer_mnist import mnist


def scales(config: dict) -> list[float]:
    return np.logspace(config["scale_start"], config["scale_stop"], int(config["n_scales"])).tolist()


class BatchNormExperiment(Experiment):
    name = "batchnorm"
    title = "Batch normalisation makes training robust to the initial weight scale"
    book_section = "§6.3.2, Figs. 6-18 and 6-19"
    config = {
        "train_size": 1000,
        "hidden_sizes": [100, 100, 100, 100, 100],
        "activation": "relu",
        "scale_start": 0,
        "scale_stop": -4,
        "n_scales": 16,
        "single_panel_index": 4,  # logspace(0, -4, 16)[4] ≈ 0.0858, the KR edition's single figure
        "bn_convention": "book",
        "optimizer": "sgd",
        "lr": 0.01,
        "convention": "book",
        "batch_size": 100,
        "epochs": 20,
        "win_fraction": 0.75,  # claim: BN beats no-BN at ≥ this fraction of the scales (12 of 16)
        "dtype": "float32",
    }
    reduced = {"train_size": 300, "epochs": 6, "n_scales": 4, "single_panel_index": 1, "hidden_sizes": [50, 50, 50]}
    default_seeds = 3  # ~15 s of one core per seed (32 nets); 3 seeds within the run-all budget
    book = {
        "source": "JP-notebook run (one unseeded run), final (epoch 19) train accuracy, no-BN vs BN",
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
        (x, t), _ = mnist()
        n = int(config["train_size"])
        x, t = x[:n].astype(np.dtype(config["dtype"]), copy=False), t[:n]
        streams = spawn_streams(seed)
        init_seed = int(streams["init"].integers(2**63))
        data_seed = int(streams["data"].integers(2**63))
        b = int(config["batch_size"])
        ipe = max(n // b, 1)
        max_iter = int(config["epochs"]) * ipe
        curves = {"bn": [], "plain": []}
        for w in scales(config):
            nets = {}
            for key, bn in (("bn", True), ("plain", False)):
                spec = ModelSpec(hidden_sizes=tuple(config["hidden_sizes"]), activation=config["activation"], init=w,
                                 batch_norm=bn, bn_convention=config["bn_convention"], dtype=config["dtype"])
                model = MLP(spec, rng=np.random.default_rng(init_seed))
                nets[key] = (model, make_optimizer(config["optimizer"], model.params, config["convention"],
                                                   lr=config["lr"]))
            rng = np.random.default_rng(data_seed)  # the same batches at every scale, too
            acc = {key: [] for key in nets}
            with np.errstate(all="ignore"):
                for i in range(max_iter):
                    idx = rng.integers(0, n, size=b)
                    xb, tb = x[idx], t[idx]
                    for key, (model, opt) in nets.items():
                        model.gradient(xb, tb, check=False)
                        opt.step()
                    if i % ipe == 0:
                        for key, (model, _) in nets.items():
                            acc[key].append(model.accuracy(x, t))
            for key in nets:
                curves[key].append(acc[key])
        return {"scales": scales(config), "train_acc": curves}

    def summarize(self, config: dict, runs: list[dict]) -> dict:
        ws = runs[0]["scales"]
        per_scale = []
        for i, w in enumerate(ws):
            d = {"scale": w}
            for key in ("bn", "plain"):
                band = mean_band([r["train_acc"][key][i] for r in runs])
                finals = [r["train_acc"][key][i][-1] for r in runs]
                d[key] = {"curve": band, "final": float(np.mean(finals)), "final_per_seed": finals}
            d["bn_wins"] = d["bn"]["final"] > d["plain"]["final"]
            per_scale.append(d)
        return {"per_scale": per_scale, "bn_wins": sum(d["bn_wins"] for d in per_scale), "n_scales": len(ws),
                "seeds": len(runs)}

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
