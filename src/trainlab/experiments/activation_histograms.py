"""Activation distributions by initialisation (book §6.2.2–6.2.3, Figs. 6-10 to 6-14;
``weight_init_activation_histogram.py``).

Toy (the book's): 1000×100 N(0,1) input through 5 layers of 100 nodes, no bias, a = x·W, z = act(a),
for every {sigmoid, tanh, ReLU} × {std 1, std 0.01, LeCun, Glorot, He}; weights come from
``trainlab.init`` (``make_weight``). The book's "Xavier" (std √(1/n)) is LeCun-normal; Glorot-normal
(√(2/(n_in+n_out)), here also √(1/100) because n_in = n_out) is the real Xavier. Histograms: 30 bins,
range (0, 1) for sigmoid (the book's), (−1, 1) for tanh, (0, max over the cell's layers) for ReLU, where
exact zeros (half of all ReLU outputs) are left out of the histogram and reported as a fraction
instead (the book's ReLU figures zoom past that spike with xlim (0.1, 1)). Figures show seed 0;
statistics are means over seeds.

The same statistics on the real network: ``MLP`` 784-[100]*5-10 at initialisation (biases 0), forward
(inference) on the first 1000 MNIST training images, the std of every hidden activation layer, for
each activation × init.

Claim thresholds come from the math (fan-in 100, N(0,1) input), stated before measuring:
* sigmoid, std 1: a has std ≈ √(100·E[z²]) ≈ 7 (≈ 10 in layer 1), so P(z within 0.01 of 0 or 1) =
  P(|a| > ln 99 ≈ 4.6) ≈ 0.52 (0.65 in layer 1); claim ≥ 40% in every layer (a uniform spread gives 2%).
* sigmoid, std 0.01: std(z) ≈ 0.25·std(a) = 0.025 in layer 1 (N(0,1) input), ≈ 0.0125 after; claim
  std < 0.03 in every layer and mean within 0.01 of 0.5.
* ReLU: each layer multiplies E[z²] by n·σ²/2: He (σ² = 2/n) → 1, constant; claim std(layer 5)/std(layer 1)
  in [0.5, 2]. LeCun (σ² = 1/n) → ½ per layer, std ×0.71, ratio 0.25 after four layers; claim < 0.5.
  std 0.01 → 0.005 per layer, std ×0.071, ratio 2.5e-5; claim < 1e-3 (layer-5 std ≈ 1.5e-6).

Nothing is trained, so a seed records no curves (no ``histories``, no seeds/seed-K.csv): its
seeds/seed-K.json holds the toy's per-layer statistics and histograms and the real MLP's layer stds.
The real MLP's input size and classes come from the dataset (``--data-dir`` works; the claims and
keys still say "MNIST", the book's).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from ..init import ALIASES, BOOK_ALIASES, INITIALIZERS, make_weight
from ..layers import ACTIVATIONS
from ..model import DTYPES, MLP, ModelSpec
from ..validate import ConfigError
from .base import Claim, Experiment
from .common import check_train_count, dataset, dims
from .keys import Choice, Choices, Float, Floats, Int, Ints, Key

#: the activations the toy computes by hand (:func:`_act`)
TOY_ACTIVATIONS = ("sigmoid", "tanh", "relu")
INIT_NAMES = tuple(INITIALIZERS) + tuple(ALIASES) + tuple(BOOK_ALIASES)

INIT_LABELS = {"1.0": "std 1", "0.01": "std 0.01", "lecun_normal": "LeCun (book's \"Xavier\")",
               "glorot_normal": "Glorot (Xavier)", "he_normal": "He"}


def _act(name: str, a: np.ndarray) -> np.ndarray:
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-a))
    if name == "tanh":
        return np.tanh(a)
    if name == "relu":
        return np.maximum(a, 0.0)
    raise ValueError(f"unknown activation {name!r}; valid: sigmoid, tanh, relu")


def _init_key(init) -> str:
    return str(float(init)) if isinstance(init, (int, float)) else str(init)


@dataclass(frozen=True)
class InitList(Key):
    """Distinct initialisers, each a std (a number) or a name of :mod:`trainlab.init`: a mixed list,
    which none of the key types of :mod:`.keys` declares. A std is kept as a float (1 is '1.0')."""

    def accepts(self) -> str:
        return (f"a list of {self.min_len} to {self.max_len} distinct initialisers, each a std > 0 and "
                f"<= {self.high:g} or a name ({', '.join(INIT_NAMES)})")

    def check(self, name: str, value):
        def good(v) -> bool:
            if isinstance(v, str):
                return v.lower() in INIT_NAMES
            return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and 0 < v <= self.high

        ok = isinstance(value, (list, tuple)) and self.min_len <= len(value) <= self.max_len and all(map(good, value))
        out = [v.lower() if isinstance(v, str) else float(v) for v in value] if ok else []
        if not ok or len({_init_key(v) for v in out}) < len(out):
            raise ConfigError(name, f"bad value for {name!r}: {json.dumps(value, default=repr)}; expected "
                                    f"{self.accepts()} ({self.help}; default {json.dumps(self.default)})")
        return out


def _stats(act: str, z: np.ndarray, bins: int, hist_range) -> dict:
    d = {"std": float(z.std()), "mean": float(z.mean())}
    if act == "sigmoid":
        d["frac_near_ends"] = float(np.mean((z < 0.01) | (z > 0.99)))
    elif act == "tanh":
        d["frac_near_ends"] = float(np.mean(np.abs(z) > 0.99))
    else:
        d["frac_zero"] = float(np.mean(z == 0))
    values = z[z > 0] if act == "relu" else z
    counts, _ = np.histogram(values, bins=bins, range=hist_range)
    d["hist"] = counts.tolist()
    d["hist_range"] = [float(hist_range[0]), float(hist_range[1])]
    return d


def mlp_layer_stds(model: MLP, x: np.ndarray) -> list[float]:
    """Std of the output of every hidden activation layer of ``model`` on ``x`` (inference mode)."""
    acts = tuple(ACTIVATIONS.values())
    out = []
    for layer in model.layers:
        x = layer.forward(x, False)
        if isinstance(layer, acts):
            out.append(float(np.std(x, dtype=np.float64)))
    return out


class ActivationHistograms(Experiment):
    name = "activation-histograms"
    title = "Hidden-layer activation distributions by initialisation"
    book_section = "§6.2.2–6.2.3, Figs. 6-10 to 6-14"
    book_script = "weight_init_activation_histogram.py"
    book_figures = "Figs. 6-10 to 6-14"
    shows = ("with std 1 sigmoid activations pile up at 0 and 1, with std 0.01 they crowd at 0.5; Xavier suits "
             "sigmoid/tanh and He keeps ReLU's spread the same in every layer")
    captions = {
        "histograms_sigmoid": ("Figs. 6-10 to 6-12: sigmoid activations of a 5-layer net by initial weight scale"
                               " — std 1 piles them at 0 and 1, std 0.01 at 0.5, Xavier keeps a spread"),
        "histograms_tanh": "The same with tanh (the book's remark after Fig. 6-12): Xavier gives bell shapes",
        "histograms_relu": ("Fig. 6-14: ReLU activations — std 0.01 collapses them, Xavier shrinks them with "
                            "depth, He keeps the same spread in every layer"),
        "mnist_layer_std": ("The spread of every hidden layer of the real MNIST network at initialisation, by "
                            "initialiser"),
    }
    config = {
        "samples": Int(1000, "rows of the toy's N(0, 1) input", low=1, high=100_000),
        "nodes": Int(100, "nodes of every toy layer (fan-in = fan-out)", low=1, high=4096),
        "layers": Int(5, "toy layers (the claims compare the last with the first)", low=2, high=50),
        "activations": Choices(["sigmoid", "tanh", "relu"], TOY_ACTIVATIONS, "the activations, one figure each"),
        "inits": InitList([1.0, 0.01, "lecun_normal", "glorot_normal", "he_normal"],
                          "the weight initialisers, one row each; the claims use 1.0, 0.01, lecun_normal and "
                          "he_normal", "inits", high=1000, max_len=16),
        "bins": Int(30, "histogram bins", low=1, high=1000),
        "dtype": Choice("float64", DTYPES, "dtype of the toy's input and weights"),
        "sigmoid_pileup_min": Float(0.40, "claim: sigmoid, std 1: at least this fraction within 0.01 of 0 or 1 "
                                    "in every layer", low=0, high=1),
        "sigmoid_small_std_max": Float(0.03, "claim: sigmoid, std 0.01: every layer's std below this", low=0,
                                       low_open=True, high=0.5),
        "he_ratio_range": Floats([0.5, 2.0], "claim: ReLU, He: std(last layer) / std(first) within [low, high]",
                                 low=0, low_open=True, high=1000, min_len=2, max_len=2),
        "lecun_ratio_max": Float(0.5, "claim: ReLU, LeCun: std(last) / std(first) below this", low=0,
                                 low_open=True, high=1000),
        "small_ratio_max": Float(1e-3, "claim: ReLU, std 0.01: std(last) / std(first) below this", low=0,
                                 low_open=True, high=1000),
        "mnist_samples": Int(1000, "training images fed to the real MLP at initialisation", low=1),
        "mnist_hidden_sizes": Ints([100, 100, 100, 100, 100], "the real MLP's hidden layer widths", high=4096,
                                   min_len=2, max_len=32),
    }
    reduced = {"samples": 300, "mnist_samples": 200}
    default_seeds = 5  # well under a second per seed
    #: measured once: seed 0 at full size, one core and one BLAS thread: 0.35 s of CPU (0.44 s wall)
    seed_seconds = 0.4
    #: its figures (a histogram grid per activation and initialisation) take ~18 s in the parent
    #: (run all in a fresh venv: 20.5 s from start to finish with 2 s of seeds)
    finish_seconds = 18.0

    def check_config(self, config: dict) -> None:
        lo, hi = config["he_ratio_range"]
        if lo >= hi:
            raise ConfigError("he_ratio_range", f"he_ratio_range [{lo:g}, {hi:g}] must have low < high")
        check_train_count(config, "mnist_samples")

    book = {
        "source": "the book's text and figures; the script prints no numbers "
                  "(docs/reference-numbers.md#activation-histograms)",
        "claims": "sigmoid std 1: activations pile up at 0 and 1 (gradient vanishing); std 0.01: concentrated "
                  "near 0.5 (limited expressiveness); Xavier: wider spread, tanh gives a bell shape; ReLU: "
                  "std 0.01 tiny activations, Xavier's skew toward 0 grows with depth, He keeps the same spread "
                  "in every layer. Recommendation: He for ReLU, Xavier for sigmoid/tanh.",
    }

    def run_seed(self, config: dict, seed: int) -> dict:
        rng = np.random.default_rng(seed)
        dtype = np.dtype(config["dtype"])
        n, nodes, depth, bins = int(config["samples"]), int(config["nodes"]), int(config["layers"]), int(config["bins"])
        x0 = rng.standard_normal((n, nodes)).astype(dtype)
        toy = {}
        with np.errstate(over="ignore"):
            for act in config["activations"]:
                toy[act] = {}
                for init in config["inits"]:
                    x, zs = x0, []
                    for _ in range(depth):
                        w = make_weight(init, rng, (nodes, nodes)).astype(dtype)
                        x = _act(act, x @ w)
                        zs.append(x)
                    if act == "sigmoid":
                        rng_ = (0.0, 1.0)
                    elif act == "tanh":
                        rng_ = (-1.0, 1.0)
                    else:
                        top = max(float(z.max()) for z in zs)
                        rng_ = (0.0, top if top > 0 else 1.0)
                    toy[act][_init_key(init)] = [_stats(act, z, bins, rng_) for z in zs]
        (xm, _), _ = dataset(config)
        xm = xm[: int(config["mnist_samples"])]
        input_size, classes = dims(config)
        real = {}
        for act in config["activations"]:
            real[act] = {}
            for init in config["inits"]:
                spec = ModelSpec(input_size=input_size, hidden_sizes=tuple(config["mnist_hidden_sizes"]),
                                 output_size=classes, activation=act, init=init)
                with np.errstate(over="ignore"):
                    real[act][_init_key(init)] = mlp_layer_stds(MLP(spec, rng=rng), xm)
        return {"toy": toy, "mnist_std": real}

    def summarize(self, config: dict, runs: list[dict]) -> dict:
        toy, real = {}, {}
        for act in config["activations"]:
            toy[act], real[act] = {}, {}
            for init in map(_init_key, config["inits"]):
                layers = []
                for li in range(int(config["layers"])):
                    per = [r["toy"][act][init][li] for r in runs]
                    d = {}
                    for key in ("std", "mean", "frac_near_ends", "frac_zero"):
                        if key in per[0]:
                            vals = [p[key] for p in per]
                            d[key] = float(np.mean(vals))
                            d[f"{key}_min"], d[f"{key}_max"] = float(np.min(vals)), float(np.max(vals))
                    layers.append(d)
                stds = [layer["std"] for layer in layers]
                toy[act][init] = {"layers": layers, "std_ratio_last_first": stds[-1] / stds[0] if stds[0] else None}
                m = np.array([r["mnist_std"][act][init] for r in runs])
                ms = m.mean(axis=0)
                real[act][init] = {"std": ms.tolist(), "std_min": m.min(axis=0).tolist(),
                                   "std_max": m.max(axis=0).tolist(),
                                   "std_ratio_last_first": float(ms[-1] / ms[0]) if ms[0] else None}
        return {"toy": toy, "mnist": real, "seeds": len(runs)}

    def claims(self, config: dict, summary: dict, runs: list[dict]) -> list[Claim]:
        toy, real = summary["toy"], summary["mnist"]
        claims = []

        def have(act, init):
            return act in toy and init in toy[act]

        if have("sigmoid", "1.0"):
            fr = [layer["frac_near_ends_min"] for layer in toy["sigmoid"]["1.0"]["layers"]]
            x = float(config["sigmoid_pileup_min"])
            claims.append(Claim(
                "Sigmoid, std 1: activations pile up at 0 and 1 in every layer",
                min(fr) >= x,
                f"fraction within 0.01 of 0 or 1, per layer (min over seeds): {', '.join(f'{v:.0%}' for v in fr)} "
                f"(claim ≥ {x:.0%}; math ≈ 65% in layer 1, ≈ 52% after; a uniform spread gives 2%)",
                {"frac_near_ends": fr, "threshold": x},
            ))
        if have("sigmoid", "0.01"):
            layers = toy["sigmoid"]["0.01"]["layers"]
            sd = [layer["std_max"] for layer in layers]
            mean = [layer["mean"] for layer in layers]
            x = float(config["sigmoid_small_std_max"])
            claims.append(Claim(
                "Sigmoid, std 0.01: activations concentrate near 0.5",
                max(sd) < x and all(abs(m - 0.5) < 0.01 for m in mean),
                f"per-layer std (max over seeds): {', '.join(f'{v:.4f}' for v in sd)}; means "
                f"{', '.join(f'{v:.3f}' for v in mean)} (claim std < {x} and |mean − 0.5| < 0.01; math ≈ 0.025 "
                f"in layer 1, ≈ 0.0125 after)",
                {"std": sd, "mean": mean, "threshold": x},
            ))
        if have("relu", "he_normal"):
            r = toy["relu"]["he_normal"]["std_ratio_last_first"]
            lo, hi = config["he_ratio_range"]
            sd = [layer["std"] for layer in toy["relu"]["he_normal"]["layers"]]
            claims.append(Claim(
                "ReLU, He: the spread stays the same in every layer",
                lo <= r <= hi,
                f"per-layer std {', '.join(f'{v:.3f}' for v in sd)}; layer 5 / layer 1 = {r:.2f} "
                f"(claim in [{lo}, {hi}]; math 1)",
                {"std": sd, "ratio": r},
            ))
        if have("relu", "0.01"):
            r = toy["relu"]["0.01"]["std_ratio_last_first"]
            sd = [layer["std"] for layer in toy["relu"]["0.01"]["layers"]]
            x = float(config["small_ratio_max"])
            claims.append(Claim(
                "ReLU, std 0.01: activations collapse toward 0 with depth",
                r < x,
                f"per-layer std {', '.join(f'{v:.2g}' for v in sd)}; layer 5 / layer 1 = {r:.2g} "
                f"(claim < {x:g}; math 0.0707⁴ = 2.5e-5)",
                {"std": sd, "ratio": r},
            ))
        if have("relu", "lecun_normal"):
            r = toy["relu"]["lecun_normal"]["std_ratio_last_first"]
            sd = [layer["std"] for layer in toy["relu"]["lecun_normal"]["layers"]]
            x = float(config["lecun_ratio_max"])
            claims.append(Claim(
                "ReLU, LeCun (the book's \"Xavier\"): the spread shrinks with depth",
                r < x,
                f"per-layer std {', '.join(f'{v:.3f}' for v in sd)}; layer 5 / layer 1 = {r:.2f} "
                f"(claim < {x}; math 0.707⁴ = 0.25)",
                {"std": sd, "ratio": r},
            ))
        if "relu" in real and "he_normal" in real["relu"] and "0.01" in real["relu"]:
            rh = real["relu"]["he_normal"]["std_ratio_last_first"]
            rs = real["relu"]["0.01"]["std_ratio_last_first"]
            lo, hi = config["he_ratio_range"]
            x = float(config["small_ratio_max"])
            claims.append(Claim(
                "The same on the real MLP with MNIST input: He keeps the spread, std 0.01 collapses",
                lo <= rh <= hi and rs < x,
                f"784-{'-'.join(map(str, config['mnist_hidden_sizes']))}-10 at init, {config['mnist_samples']} "
                f"MNIST images: layer-5/layer-1 std He {rh:.2f} (claim in [{lo}, {hi}]), std 0.01 {rs:.2g} "
                f"(claim < {x:g})",
                {"he_ratio": rh, "std001_ratio": rs},
            ))
        return claims

    def figures(self, config: dict, summary: dict, runs: list[dict]) -> dict:
        from matplotlib.figure import Figure

        figs = {}
        toy0 = runs[0]["toy"]
        inits = [_init_key(i) for i in config["inits"]]
        depth = int(config["layers"])
        for act in config["activations"]:
            # a fixed grid (no layout engine): laying out 25 axes with constraints costs seconds per save
            fig = Figure(figsize=(2.3 * depth, 1.75 * len(inits)))
            fig.subplots_adjust(left=0.06, right=0.99, bottom=0.04, top=0.93, wspace=0.25, hspace=0.35)
            for r, init in enumerate(inits):
                for li in range(depth):
                    ax = fig.add_subplot(len(inits), depth, r * depth + li + 1)
                    d = toy0[act][init][li]
                    lo, hi = d["hist_range"]
                    edges = np.linspace(lo, hi, len(d["hist"]) + 1)
                    ax.stairs(d["hist"], edges, fill=True, color=f"C{r}")
                    ax.tick_params(labelsize=6)
                    ax.set_xticks([lo, (lo + hi) / 2, hi])
                    if li > 0:
                        ax.set_yticks([])  # y ticks on the first histogram of a row only, as the book
                    if r == 0:
                        ax.set_title(f"{li + 1}-layer", fontsize=8)
                    if li == 0:
                        ax.set_ylabel(INIT_LABELS.get(init, init), fontsize=7)
                    note = f"std {d['std']:.2g}"
                    if "frac_zero" in d:
                        note += f"\n{d['frac_zero']:.0%} zeros"
                    ax.text(0.97, 0.95, note, transform=ax.transAxes, ha="right", va="top", fontsize=6)
            extra = " (exact zeros left out)" if act == "relu" else ""
            fig.suptitle(f"{act}: activations of 5 layers of 100 nodes, N(0,1) input, seed 0{extra}", fontsize=9)
            figs[f"histograms_{act}"] = fig
        real = summary["mnist"]
        fig = Figure(figsize=(4 * len(config["activations"]), 3.6), layout="constrained")
        for i, act in enumerate(config["activations"]):
            ax = fig.add_subplot(1, len(config["activations"]), i + 1)
            for init in inits:
                s = real[act][init]
                layers = np.arange(1, len(s["std"]) + 1)
                ax.semilogy(layers, s["std"], "o-", markersize=3, label=INIT_LABELS.get(init, init))
            ax.set_xlabel("hidden layer")
            ax.set_ylabel("activation std")
            ax.set_title(act, fontsize=9)
            ax.set_xticks(layers)
            if i == 0:
                ax.legend(fontsize=7)
        fig.suptitle(f"Real MLP 784-{'-'.join(map(str, config['mnist_hidden_sizes']))}-10 at initialisation, "
                     f"{config['mnist_samples']} MNIST images (mean of {summary['seeds']} seed(s))", fontsize=9)
        figs["mnist_layer_std"] = fig
        return figs


EXPERIMENT = ActivationHistograms()
