"""The optimizer race on f(x, y) = x²/20 + y² (book §6.1.3–6.1.7, Fig. 6-8; ``optimizer_compare_naive.py``).

Every optimizer is TrainLab's own (``make_optimizer(..., convention='book')``) stepping a flat
2-element float64 buffer [x, y] with the hand-written gradient (x/10, 2y), from (−7, 2), 30 updates.
The book's four use its learning rates (SGD 0.95, Momentum 0.1, AdaGrad 1.5, Adam 0.3). Two extra
panels: Nesterov at lr 0.1 (Momentum's, so the two are comparable; the JP-fixed update order) and
RMSProp at lr 0.15 (decay 0.99). RMSProp's lr was chosen as the value in {0.05, 0.1, 0.15, 0.2, 0.3}
that gets close to the minimum in 30 steps without oscillating in y (0.1 stops at x ≈ −0.70,
0.2 starts to zig-zag in y); it is a panel, not a claim.

Two figures show the function itself, as the book does before the race: ``surface`` (Fig. 6-1: the
bowl as a 3-D surface and as filled contours) and ``gradient`` (Fig. 6-2: the field −∇f = (−x/10, −2y),
the direction a plain gradient step takes). Each carries its caption in words.

The book's figure plots the 30 positions *before* each update (the final position is not drawn);
our paths include the final position as the 31st point, and the claims use it. Deterministic: one
"seed". The contour is the book's "simple contour" (Z set to 0 where Z > 7) on x ∈ [−10, 10),
y ∈ [−5, 5) with step 0.05 (the book's 0.01 gives the same picture at 25× the points).
"""

from __future__ import annotations

import math

import numpy as np

from ..optim import CONVENTIONS, make_optimizer
from .base import Claim, Experiment
from .panels import compare_row, comparison_table
from .common import OPTIMIZER_LABELS as LABELS
from .common import history
from .keys import Choice, Choices, Float, Floats, Int

BOOK_FOUR = ("sgd", "momentum", "adagrad", "adam")
RACED = ("sgd", "momentum", "adagrad", "adam", "rmsprop", "nesterov")


def gradient(x: float, y: float) -> tuple[float, float]:
    """∇f for f(x, y) = x²/20 + y²."""
    return x / 10.0, 2.0 * y


def f(x, y):
    return x**2 / 20.0 + y**2


class OptimizerRace(Experiment):
    name = "optimizer-race"
    title = "Optimizer race on f(x, y) = x²/20 + y²"
    book_section = "§6.1.3–6.1.7, Fig. 6-8"
    book_script = "optimizer_compare_naive.py"
    book_figures = "Figs. 6-1, 6-2, 6-3 to 6-8"
    shows = ("the bowl f(x, y) = x²/20 + y² and its gradient field, then each optimizer's path on it from "
             "(−7, 2): SGD zig-zags, Momentum rolls, AdaGrad shrinks its steps, Adam sways less")
    captions = {
        "paths": ("Fig. 6-8: each optimizer's path on f(x, y) = x²/20 + y² from (−7, 2) — SGD zig-zags across "
                  "the valley, Momentum rolls like a ball, AdaGrad's steps shrink, Adam sways less than Momentum"),
        "distance": "Distance to the minimum after each step, per optimizer (log scale)",
        "surface": "Fig. 6-1: the function f(x, y) = x²/20 + y², a long shallow valley along x",
        "gradient": ("Fig. 6-2: the field −∇f — the arrows point across the valley, not at the minimum, which is"
                     " why SGD zig-zags"),
    }
    config = {
        "start": Floats([-7.0, 2.0], "start point (x, y)", low=-1e3, high=1e3, min_len=2, max_len=2),
        "steps": Int(30, "updates per optimizer", low=1, high=100_000),
        "optimizers": Choices(list(RACED), RACED, "the optimizers raced, one panel each"),
        "lr_sgd": Float(0.95, "SGD's learning rate η (the book's)", low=0, low_open=True),
        "lr_momentum": Float(0.1, "Momentum's η (the book's)", low=0, low_open=True),
        "lr_adagrad": Float(1.5, "AdaGrad's η (the book's)", low=0, low_open=True),
        "lr_adam": Float(0.3, "Adam's η (the book's)", low=0, low_open=True),
        "lr_rmsprop": Float(0.15, "RMSProp's η (an extra panel)", low=0, low_open=True),
        "lr_nesterov": Float(0.1, "Nesterov's η (an extra panel, Momentum's η)", low=0, low_open=True),
        "convention": Choice("book", CONVENTIONS, "optimizer convention"),
        "decimals": Int(3, "decimals to which final positions must equal the reference code's", low=0, high=12),
        "contour_step": Float(0.05, "grid step of the contour plot (the book's is 0.01)", low=0.001, high=1.0),
    }
    reduced: dict = {}  # already instant
    default_seeds = 1  # deterministic: more seeds would repeat the same numbers
    seed_seconds = 0.1
    finish_seconds = 4.5  # the paths, surface and gradient-field figures (4.8 s in run all)
    uses_data = False
    book = {
        "source": "the book's code run by hand; deterministic (docs/reference-numbers.md#optimizer-race)",
        "lr": {"SGD": 0.95, "Momentum": 0.1, "AdaGrad": 1.5, "Adam": 0.3},
        "final_position": {"SGD": [-0.350, 0.085], "Momentum": [0.896, 0.088], "AdaGrad": [-0.120, 0.000],
                           "Adam": [0.136, 0.318], "Nesterov (lr 0.1, JP order)": [0.690, -0.0007]},
        "first_step": {"SGD": [-6.335, -1.8], "Momentum": [-6.93, 1.6], "AdaGrad": [-5.5, 0.5],
                       "Adam": [-6.7, 1.7]},
        "claims": "SGD zig-zags; Momentum rolls like a ball; AdaGrad moves a lot in y first, then shrinks its "
                  "steps and reaches the minimum efficiently; Adam sways less than Momentum; AdaGrad looks best "
                  "here, but no method is best everywhere.",
    }
    reference = {"sgd": (-0.350, 0.085), "momentum": (0.896, 0.088), "adagrad": (-0.120, 0.000),
                 "adam": (0.136, 0.318), "nesterov": (0.690, -0.0007)}

    def run_seed(self, config: dict, seed: int) -> dict:
        paths = {}
        for name in config["optimizers"]:
            data = np.array(config["start"], dtype=np.float64)
            grad = np.zeros(2)
            opt = make_optimizer(name, (data, grad), config["convention"], lr=config[f"lr_{name}"])
            path = [data.tolist()]
            with np.errstate(all="ignore"):
                for _ in range(int(config["steps"])):
                    grad[:] = gradient(data[0], data[1])
                    opt.step()
                    path.append(data.tolist())
            paths[name] = path
        # the "loss" of each update: f at the position the update starts from
        return {"paths": paths, "histories": {name: history(iter_loss=[f(*q) for q in path[:-1]])
                                              for name, path in paths.items()}}

    def summarize(self, config: dict, runs: list[dict]) -> dict:
        paths = runs[0]["paths"]
        out = {}
        for name, path in paths.items():
            p = np.array(path)
            y_flips = int(np.count_nonzero(np.sign(p[1:, 1]) * np.sign(p[:-1, 1]) < 0))
            out[name] = {
                "lr": config[f"lr_{name}"],
                "final": p[-1].tolist(),
                "first_step": p[1].tolist(),
                "distance_to_minimum": float(np.hypot(*p[-1])),
                "final_f": float(f(*p[-1])),
                "y_sign_changes": y_flips,
                "steps": len(p) - 1,
                "path_length": float(np.sum(np.hypot(*np.diff(p, axis=0).T))),
            }
        rows = []
        for name, ref in self.reference.items():
            if name in out and config[f"lr_{name}"] == (0.1 if name == "nesterov" else self.config[f"lr_{name}"].default):
                for axis, i in (("x", 0), ("y", 1)):
                    rows.append(compare_row(f"{LABELS[name]}: final {axis} after {config['steps']} steps", ref[i],
                                            "the book's code, run (deterministic)", [out[name]["final"][i]],
                                            0.5 * 10 ** -int(config["decimals"]), digits=int(config["decimals"])))
        return {"optimizers": out, "tables": [comparison_table(rows, 1)] if rows else []}

    def claims(self, config: dict, summary: dict, runs: list[dict]) -> list[Claim]:
        s = summary["optimizers"]
        d = int(config["decimals"])
        claims = []
        for name, ref in self.reference.items():
            if name not in s:
                continue
            if name == "nesterov" and config["lr_nesterov"] != 0.1:
                continue  # the reference is for lr 0.1 only
            if name != "nesterov" and config[f"lr_{name}"] != self.config[f"lr_{name}"].default:
                continue  # the reference holds for the book's learning rate only
            ours = s[name]["final"]
            ok = all(round(a, d) == round(b, d) or abs(a - b) < 0.5 * 10**-d for a, b in zip(ours, ref))
            claims.append(Claim(
                f"{LABELS[name]} ends where the reference code ends",
                ok,
                f"ours ({ours[0]:.{d}f}, {ours[1]:.{d}f}) vs reference ({ref[0]:.{d}f}, {ref[1]:.{d}f}) "
                f"after {s[name]['steps']} steps at lr {s[name]['lr']}, to {d} decimals",
                {"ours": ours, "reference": list(ref), "decimals": d},
            ))
        if "sgd" in s:
            flips, steps = s["sgd"]["y_sign_changes"], s["sgd"]["steps"]
            claims.append(Claim(
                "SGD zig-zags",
                flips > steps / 2,
                f"y changes sign at {flips} of {steps} steps (claim: more than half)",
                {"y_sign_changes": flips, "steps": steps},
            ))
        four = [n for n in BOOK_FOUR if n in s]
        if len(four) == 4:
            dist = {n: s[n]["distance_to_minimum"] for n in four}
            best = min(dist, key=dist.get)
            claims.append(Claim(
                "AdaGrad ends closest to the minimum of the four",
                best == "adagrad",
                "distance to (0, 0) after the last step: " + ", ".join(f"{LABELS[n]} {v:.3f}" for n, v in dist.items()),
                {"distance": dist},
            ))
        return claims

    def figures(self, config: dict, summary: dict, runs: list[dict]) -> dict:
        from matplotlib.figure import Figure

        paths = runs[0]["paths"]
        step = float(config["contour_step"])
        xs, ys = np.arange(-10, 10, step), np.arange(-5, 5, step)
        X, Y = np.meshgrid(xs, ys)
        Z = f(X, Y)
        Z[Z > 7] = 0  # the book's "simple contour"
        n = len(paths)
        cols = 3 if n > 4 else 2
        rows = math.ceil(n / cols)
        fig = Figure(figsize=(4.2 * cols, 3.4 * rows), layout="constrained")
        for i, (name, path) in enumerate(paths.items()):
            ax = fig.add_subplot(rows, cols, i + 1)
            p = np.array(path)
            ax.contour(X, Y, Z, levels=10, linewidths=0.7)
            ax.plot(p[:, 0], p[:, 1], "o-", color="red", markersize=3, linewidth=1)
            ax.plot(0, 0, "+", color="black", markersize=10)
            ax.set_xlim(-10, 10)
            ax.set_ylim(-10, 10)
            fx, fy = p[-1]
            extra = "" if name in BOOK_FOUR else " (not in the book's figure)"
            ax.set_title(f"{LABELS[name]} lr={config[f'lr_{name}']}{extra}\nends ({fx:.3f}, {fy:.3f})", fontsize=9)
            ax.set_xlabel("x")
            ax.set_ylabel("y")
        fig.suptitle(f"f(x,y) = x²/20 + y² from {tuple(config['start'])}, {config['steps']} steps "
                     f"('{config['convention']}' optimizers)")

        fig2 = Figure(figsize=(6.4, 4.2), layout="constrained")
        ax = fig2.add_subplot(1, 1, 1)
        for name, path in paths.items():
            p = np.array(path)
            ax.semilogy(np.hypot(p[:, 0], p[:, 1]) + 1e-300, label=LABELS[name],
                        linestyle="-" if name in BOOK_FOUR else "--")
        ax.set_xlabel("step")
        ax.set_ylabel("distance to the minimum (0, 0)")
        ax.set_ylim(1e-4, 20)
        ax.legend()
        ax.set_title("Distance to the minimum per step")
        return {"surface": surface_figure(), "gradient": gradient_figure(), "paths": fig, "distance": fig2}


SURFACE_CAPTION = ("f(x, y) = x²/20 + y² is a bowl 20 times flatter along x than along y: its contours are "
                   "ellipses about 4.5 times longer in x than in y, and the minimum (0, 0) lies at the bottom of a "
                   "long, shallow valley running along the x-axis.")
GRADIENT_CAPTION = ("The arrows are −∇f = (−x/10, −2y), the direction a plain gradient step takes. Away from the "
                    "x-axis they point mostly across the valley (toward y = 0), not at the minimum (0, 0); along "
                    "the valley floor they are short. Stepping along them overshoots in y and crawls in x: the "
                    "zig-zag of SGD.")


def _captioned(fig, caption: str) -> None:
    """The caption under the axes, in words (the layout leaves the bottom of the figure for it)."""
    fig.get_layout_engine().set(rect=(0, 0.16, 1, 0.84))
    fig.text(0.5, 0.02, caption, ha="center", va="bottom", fontsize=8.5, wrap=True)


def surface_figure():
    """Book Fig. 6-1: the bowl f(x, y) as a 3-D surface (left) and as filled contours (right)."""
    from matplotlib.figure import Figure

    xs, ys = np.linspace(-10, 10, 81), np.linspace(-10, 10, 81)
    X, Y = np.meshgrid(xs, ys)
    Z = f(X, Y)
    fig = Figure(figsize=(10.5, 5.0), layout="constrained")
    ax3 = fig.add_subplot(1, 2, 1, projection="3d")
    ax3.plot_surface(X, Y, Z, cmap="viridis", rstride=2, cstride=2, linewidth=0, antialiased=True,
                     rasterized=True)  # 1,600 patches: an image in the SVG, not 1,600 paths
    ax3.set_xlabel("x")
    ax3.set_ylabel("y")
    ax3.set_zlabel("f(x, y)")
    ax3.view_init(elev=30, azim=-60)
    ax3.set_title("f as a surface", fontsize=10)
    ax = fig.add_subplot(1, 2, 2)
    levels = [0.25 * 2**k for k in range(10)]  # doubling levels: the ellipses' shape at every height
    filled = ax.contourf(X, Y, Z, levels=[0.0] + levels, cmap="viridis", extend="max")
    ax.contour(X, Y, Z, levels=levels, colors="white", linewidths=0.5)
    ax.plot(0, 0, "+", color="red", markersize=12, markeredgewidth=2)
    ax.set_aspect("equal")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("f as filled contours (minimum +)", fontsize=10)
    fig.colorbar(filled, ax=ax, shrink=0.8, label="f(x, y)")
    fig.suptitle("f(x, y) = x²/20 + y²")
    _captioned(fig, SURFACE_CAPTION)
    return fig


def gradient_figure():
    """Book Fig. 6-2: the field −∇f = (−x/10, −2y) on a grid, over the contours of f."""
    from matplotlib.figure import Figure

    xs, ys = np.linspace(-10, 10, 21), np.linspace(-5, 5, 11)
    X, Y = np.meshgrid(xs, ys)
    gx, gy = gradient(X, Y)
    fig = Figure(figsize=(8.0, 5.2), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    cx, cy = np.meshgrid(np.linspace(-10, 10, 201), np.linspace(-5, 5, 101))
    ax.contour(cx, cy, f(cx, cy), levels=[0.25 * 2**k for k in range(9)], colors="0.75", linewidths=0.6)
    # drawn to scale (a tenth of their length, so the longest fits one grid step): the lengths are the point
    arrows = ax.quiver(X, Y, -gx, -gy, np.hypot(gx, gy), cmap="viridis", angles="xy", scale_units="xy",
                       scale=10.0, width=0.004)
    fig.colorbar(arrows, ax=ax, shrink=0.8, label="|∇f|")
    ax.plot(0, 0, "+", color="red", markersize=12, markeredgewidth=2)
    ax.set_xlim(-10.5, 10.5)
    ax.set_ylim(-5.5, 5.5)
    ax.set_aspect("equal")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("−∇f(x, y), arrows at 1/10 of their length")
    _captioned(fig, GRADIENT_CAPTION)
    return fig


EXPERIMENT = OptimizerRace()
