"""The book's histogram lesson on real MNIST training, measured layer by layer with the training
diagnostics (:mod:`trainlab.diagnostics`) — beyond the book, which draws activation histograms of an
untrained toy (``weight_init_activation_histogram.py``, Figs. 6-10 to 6-14) and never looks at gradients.

784-[100]*5-10, SGD η = 0.1 (torch convention), batch 100, 5 epochs on the first 10,000 MNIST training
images (validation: the last 1,000). Six nets per seed, all drawn from the same normal numbers (so
std 1, std 0.01 and Xavier differ only by the scale), trained on the same batches:

  sigmoid-std1, sigmoid-std0.01, sigmoid-xavier (the book's "Xavier", √(1/n)), sigmoid-xavier-bn
  (batch norm before every sigmoid), relu-he (√(2/n)), relu-std0.01

Every epoch record holds each layer's activation mean/std on a fixed probe batch (the first 500
training images), the saturated fraction (sigmoid: z < 0.01 or z > 0.99) or the dead fraction (ReLU:
0 for every probe image), ‖∂L/∂W‖ of each layer (mean over the epoch's updates) and ‖ΔW‖/‖W‖; the
activation histograms at epoch 0 and at the last epoch are kept as well.

Claims, with thresholds from the variance recursion (stated before measuring; fan-in 100 except the
first layer's 784, MNIST input ‖x‖ ≈ 9.3 per image):
* sigmoid, std 1: |a| has std ≈ 7–10, so P(|a| > ln 99 ≈ 4.6) ≈ 0.5–0.65: claim ≥ 40 % saturated in
  every hidden layer, at initialisation and still after training (nothing pulls the big weights in);
* sigmoid, std 0.01: std(a) ≈ 0.01·9.3 in layer 1 and 0.01·√(100·0.25) = 0.05 after, so std(z) ≈
  0.25·std(a) ≈ 0.023 and 0.0125: claim < 0.03 in every layer, before and after training;
* Xavier (sigmoid) and He (ReLU) keep the spread at initialisation: every layer's std within a factor
  2 of every other's (the recursion keeps E[z²] constant up to the first layer's input scale);
* He + ReLU: few dead units, ≤ 15 % in any layer before and after training (a unit dies only if its
  pre-activation is ≤ 0 on all 500 probe images; measured 0–10 %); ReLU with std 0.01: the deepest
  layer dies in training, ≥ 50 % dead at the end (its pre-activations are ~1e-6, so the first bias
  updates decide their sign for every image, and a negative one never gets a gradient again);
* vanishing gradients in the deep sigmoid net: going back one layer multiplies ‖δ‖ by ≈ √(n·σ_w²·
  E[σ'²]) ≈ √(1·0.05) ≈ 0.22 with Xavier, so ‖∂L/∂W1‖/‖∂L/∂W5‖ ≈ 0.22⁴·(‖x‖/‖z‖ ≈ 1.8) ≈ 4e-3:
  claim < 0.05 over the first epoch; with std 0.01 the factor is ≈ 0.025 per layer: claim < 1e-3;
* … and not with He + ReLU (factor √(n·2/n·½) = 1 per layer, ratio ≈ ‖x‖/‖z‖ ≈ 2.8) or with batch
  norm (it rescales every layer's pre-activations to unit variance): claim ratio ≥ 0.3 for both;
* the nets whose gradients vanish learn nothing in these 5 epochs (sigmoid std 0.01 and Xavier:
  validation accuracy < 0.2, chance is 0.1), those whose gradients flow do (He + ReLU, Xavier + BN:
  ≥ 0.85).
"""

from __future__ import annotations

import numpy as np

from ..model import DTYPES
from .base import Claim, Experiment
from .common import check_train_val, dims, final_stats, train_val_split
from .keys import Choice, Choices, Float, Int, Ints

__all__ = ["EXPERIMENT", "DiagnosticsMnist", "VARIANTS"]

#: label → (activation, init, batch norm)
VARIANTS = {
    "sigmoid-std1": ("sigmoid", 1.0, False),
    "sigmoid-std0.01": ("sigmoid", 0.01, False),
    "sigmoid-xavier": ("sigmoid", "lecun_normal", False),
    "sigmoid-xavier-bn": ("sigmoid", "lecun_normal", True),
    "relu-he": ("relu", "he_normal", False),
    "relu-std0.01": ("relu", 0.01, False),
}
STATS = ("act_mean", "act_std", "saturated", "dead", "zeros", "grad_norm", "update_ratio")


def _listed(a: np.ndarray) -> list:
    """[layer][epoch] as lists, None where there is no value (not NaN: that would read as a divergence)."""
    return [[float(x) if np.isfinite(x) else None for x in row] for row in a]


class DiagnosticsMnist(Experiment):
    name = "diagnostics"
    title = "Per-layer diagnostics of real MNIST training: saturation, collapse, dead units, vanishing gradients"
    book_section = "beyond the book (§6.2.2's histograms, trained)"
    book_script = "— (closest: weight_init_activation_histogram.py, untrained)"
    book_figures = "— (Figs. 6-10 to 6-14 on an untrained toy)"
    shows = ("in training, sigmoid with std 1 stays saturated, std 0.01 stays collapsed, and the deep sigmoid net's "
             "gradients vanish toward the input so it does not learn; He + ReLU and batch norm keep gradients "
             "flowing and learn")
    config = {
        "train_size": Int(10_000, "train on the first N training images", low=1, high=60_000),
        "val_size": Int(1_000, "validate on the last N training images", low=1, high=30_000),
        "hidden_sizes": Ints([100] * 5, "hidden layer widths (the book's five layers of 100)", high=4096,
                             min_len=2, max_len=16),
        "variants": Choices(list(VARIANTS), VARIANTS, "the nets trained (activation, init, batch norm)"),
        "lr": Float(0.1, "SGD's learning rate η", low=0, low_open=True, high=10),
        "batch_size": Int(100, "mini-batch size", low=1, high=60_000),
        "epochs": Int(5, "epochs of every net", low=1, high=1000),
        "probe": Int(500, "the diagnostics' probe batch: the first N training images", low=1, high=10_000),
        "eval_samples": Int(1000, "per-epoch training loss on the first N training images", low=1, high=60_000),
        "saturated_min": Float(0.40, "claim: sigmoid, std 1 keeps at least this fraction saturated in every layer",
                               low=0, high=1),
        "collapsed_std_max": Float(0.03, "claim: sigmoid, std 0.01 keeps every layer's activation std below this",
                                   low=0, low_open=True),
        "spread_ratio_max": Float(2.0, "claim: Xavier and He at initialisation: largest / smallest layer std at "
                                  "most this", low=1),
        "he_dead_max": Float(0.15, "claim: He + ReLU has at most this fraction of dead units in any layer",
                             low=0, high=1),
        "small_dead_min": Float(0.5, "claim: ReLU, std 0.01: at least this fraction of the last layer dead at "
                                "the end", low=0, high=1),
        "vanishing_max": Float(0.05, "claim: sigmoid + Xavier: ‖∂L/∂W1‖ / ‖∂L/∂W_L‖ below this in epoch 1", low=0,
                               low_open=True),
        "flowing_min": Float(0.3, "claim: He + ReLU and batch norm: that ratio at least this", low=0, low_open=True),
        "learned_min": Float(0.85, "claim: the nets whose gradients flow reach this validation accuracy", low=0,
                             high=1),
        "chance_max": Float(0.2, "claim: the nets whose gradients vanish stay below this validation accuracy",
                            low=0, high=1),
        "dtype": Choice("float32", DTYPES, "parameter dtype"),
    }
    #: small enough for any dataset of 600 training images (the tests' own)
    reduced = {"train_size": 400, "val_size": 200, "epochs": 2, "probe": 200, "eval_samples": 400}
    default_seeds = 5
    #: measured: 5 seeds at full size on one core, one BLAS thread, three times on the shared machine: 4.0–6.8 s
    #: each (six nets of 500 updates; 21–28 s in all)
    seed_seconds = 5.0

    def check_config(self, config: dict) -> None:
        check_train_val(config, "train_size", "val_size")

    def run_seed(self, config: dict, seed: int) -> dict:
        from ..model import ModelSpec
        from ..trainer import TrainConfig, fit

        data = train_val_split(config, "train_size", "val_size")
        inputs, classes = dims(config)
        epochs = int(config["epochs"])
        histories = {}
        for label in config["variants"]:
            activation, init, bn = VARIANTS[label]
            spec = ModelSpec(input_size=inputs, hidden_sizes=tuple(config["hidden_sizes"]), output_size=classes,
                             activation=activation, init=init, batch_norm=bn, dtype=config["dtype"])
            train = TrainConfig(epochs=epochs, batch_size=int(config["batch_size"]), optimizer="sgd",
                                optimizer_params={"lr": float(config["lr"])}, seed=int(seed),
                                eval_samples=int(config["eval_samples"]), checkpoint_every=10**9,
                                diagnostics=f"on:probe={config['probe']}:hist=0,{epochs}")
            _, h = fit(spec, data, train)
            histories[label] = h.to_dict()
        return {"histories": histories}

    def summarize(self, config: dict, runs: list[dict]) -> dict:
        depth = len(config["hidden_sizes"])
        hidden = [f"h{i}" for i in range(1, depth + 1)]
        weights = [f"W{i}" for i in range(1, depth + 2)]
        out = {}
        for label in config["variants"]:
            hs = [r["histories"][label] for r in runs]
            v = {"activation": VARIANTS[label][0], "stats": {}}
            for stat in STATS:
                layers = weights if stat in ("grad_norm", "update_ratio") else hidden
                if f"{stat}.{layers[0]}" not in hs[0]["epochs"][-1]:
                    continue
                # [seed, layer, epoch], NaN where an epoch has no value (epoch 0: no update yet)
                a = np.array([[[r.get(f"{stat}.{lay}", np.nan) for r in h["epochs"]] for lay in layers] for h in hs],
                             dtype=float)
                v["stats"][stat] = {"layers": layers, **{k: _listed(f(a, axis=0)) for k, f in
                                                         (("mean", np.mean), ("min", np.min), ("max", np.max))}}
            g = [[h["epochs"][e][f"grad_norm.{weights[0]}"] / h["epochs"][e][f"grad_norm.{weights[-2]}"]
                  if h["epochs"][e][f"grad_norm.{weights[-2]}"] > 0 else None for h in hs] for e in (1, -1)]
            v["grad_ratio_first"] = g[0]
            v["grad_ratio_last"] = g[1]
            v["val_acc"] = final_stats([h["epochs"][-1]["val_acc"] for h in hs])
            v["val_acc_curve"] = np.mean([[r["val_acc"] for r in h["epochs"]] for h in hs], axis=0).tolist()
            out[label] = v
        return {"variants": out, "seeds": len(runs), "hidden": hidden, "weights": weights}

    def claims(self, config: dict, summary: dict, runs: list[dict]) -> list[Claim]:
        from .diagnostics_claims import diagnostics_claims

        return diagnostics_claims(config, summary)

    def figures(self, config: dict, summary: dict, runs: list[dict]) -> dict:
        from .diagnostics_figures import activations_figure, gradients_figure, histograms_figure

        return {"gradients": gradients_figure(config, summary), "activations": activations_figure(config, summary),
                "histograms": histograms_figure(config, runs[0])}


EXPERIMENT = DiagnosticsMnist()
