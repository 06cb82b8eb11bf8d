"""The figures of the ``diagnostics`` experiment (:mod:`.diagnostics_mnist`): the gradient norm of every
layer (vanishing or not) beside the validation accuracy; each layer's activation std, saturated or
dead fraction and update ratio before and after training; and the book's histograms, on real
training, at initialisation and after the last epoch (seed 0)."""

from __future__ import annotations

import numpy as np

__all__ = ["gradients_figure", "activations_figure", "histograms_figure"]

STYLE = {"sigmoid-std1": ("C0", "o"), "sigmoid-std0.01": ("C1", "v"), "sigmoid-xavier": ("C2", "s"),
         "sigmoid-xavier-bn": ("C3", "D"), "relu-he": ("C4", "^"), "relu-std0.01": ("C5", "x")}


def _col(matrix: list, epoch: int) -> np.ndarray:
    return np.array([np.nan if row[epoch] is None else row[epoch] for row in matrix], dtype=float)


def _net(config: dict) -> str:
    return f"784-{'-'.join(map(str, config['hidden_sizes']))}-10, SGD η={config['lr']:g}, batch {config['batch_size']}"


def gradients_figure(config: dict, summary: dict):
    from matplotlib.figure import Figure

    v, n = summary["variants"], summary["seeds"]
    weights = summary["weights"]
    fig = Figure(figsize=(10.2, 4.2), layout="constrained")  # the report's width: 1180 px at 110 dpi
    ax_first, ax_last, ax_acc = fig.subplots(1, 3)
    x = np.arange(1, len(weights) + 1)
    for label, s in v.items():
        color, marker = STYLE.get(label, ("k", "."))
        g = s["stats"]["grad_norm"]
        for ax, epoch in ((ax_first, 1), (ax_last, -1)):
            mean, lo, hi = (_col(g[k], epoch) for k in ("mean", "min", "max"))
            shown = np.where(mean > 0, mean, np.nan)  # a norm of exactly 0 has no place on a log axis
            ax.plot(x, shown, marker=marker, color=color, label=label)
            if n > 1:
                ax.fill_between(x, np.where(lo > 0, lo, np.nan), np.where(hi > 0, hi, np.nan), color=color, alpha=0.12,
                                linewidth=0)
        curve = s["val_acc_curve"]
        ax_acc.plot(range(len(curve)), curve, marker=marker, color=color, markersize=4, label=label)
    for ax, when in ((ax_first, "epoch 1"), (ax_last, f"epoch {config['epochs']}")):
        ax.set_yscale("log")
        ax.set_xticks(x, weights)
        ax.set_xlabel("weight matrix (W1 next to the input)")
        ax.set_ylabel("‖∂L/∂W‖, mean over the epoch's updates")
        ax.set_title(f"gradient norm per layer, {when}", fontsize=10)
        ax.grid(alpha=0.3, which="both")
    ax_acc.set_ylim(0, 1)
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("validation accuracy (mean)")
    ax_acc.set_title("what they learn", fontsize=10)
    ax_acc.grid(alpha=0.3)
    ax_first.legend(fontsize=7)
    fig.suptitle(f"{_net(config)}, {config['train_size']} images; mean of {n} seed(s), band min–max. "
                 f"Falling to the left = vanishing gradients", fontsize=10)
    return fig


def activations_figure(config: dict, summary: dict):
    from matplotlib.figure import Figure

    v, n = summary["variants"], summary["seeds"]
    fig = Figure(figsize=(10.2, 4.4), layout="constrained")
    ax_std, ax_frac, ax_upd = fig.subplots(1, 3)
    for label, s in v.items():
        color, marker = STYLE.get(label, ("k", "."))
        stats = s["stats"]
        x = np.arange(1, len(stats["act_std"]["layers"]) + 1)
        for epoch, style, tag in ((0, "--", "init"), (-1, "-", "trained")):
            ax_std.plot(x, _col(stats["act_std"]["mean"], epoch), style, marker=marker, color=color,
                        label=f"{label}" if epoch == -1 else None)
            frac = "dead" if "dead" in stats else "saturated"
            ax_frac.plot(x, _col(stats[frac]["mean"], epoch), style, marker=marker, color=color,
                         label=f"{label} ({frac})" if epoch == -1 else None)
        w = stats["update_ratio"]
        xw = np.arange(1, len(w["layers"]) + 1)
        ratio = _col(w["mean"], 1)
        ax_upd.plot(xw, np.where(ratio > 0, ratio, np.nan), marker=marker, color=color, label=label)
    ax_std.set_yscale("log")
    ax_std.set_ylabel("activation std on the probe batch")
    ax_std.set_title("std (dashed: init, solid: trained)", fontsize=9)
    ax_frac.set_ylabel("fraction")
    ax_frac.set_ylim(-0.02, 1.02)
    ax_frac.set_title("saturated (sigmoid) / dead (ReLU)", fontsize=9)
    ax_upd.set_yscale("log")
    ax_upd.set_ylabel("‖ΔW‖ / ‖W‖ over epoch 1")
    ax_upd.set_title("update-to-weight ratio, epoch 1", fontsize=9)
    for ax in (ax_std, ax_frac):
        ax.set_xlabel("hidden layer")
        ax.set_xticks(x)
    ax_upd.set_xlabel("weight matrix")
    ax_upd.set_xticks(xw, w["layers"])
    for ax in (ax_std, ax_frac, ax_upd):
        ax.grid(alpha=0.3)
    ax_frac.legend(fontsize=7)
    fig.suptitle(f"{_net(config)}: each hidden layer on the first {config['probe']} training images, mean of {n} "
                 f"seed(s)\nsaturated: z < 0.01 or z > 0.99; dead: 0 for every probe image", fontsize=9)
    return fig


def histograms_figure(config: dict, run: dict):
    """Rows: the variants; columns: the hidden layers; outline: at initialisation, filled: trained."""
    from matplotlib.figure import Figure

    histories = run["histories"]
    labels = list(histories)
    first = histories[labels[0]]["diagnostics"]
    layers = first["hidden"]
    fig = Figure(figsize=(min(10.2, 1.8 * len(layers) + 1.2), 1.45 * len(labels) + 0.9))
    fig.subplots_adjust(left=0.1, right=0.99, bottom=0.05, top=0.9, wspace=0.25, hspace=0.6)
    for r, label in enumerate(labels):
        hists = histories[label]["diagnostics"]["histograms"]
        epochs = sorted(hists, key=int)
        color = STYLE.get(label, ("k", "."))[0]
        for c, layer in enumerate(layers):
            ax = fig.add_subplot(len(labels), len(layers), r * len(layers) + c + 1)
            for k, epoch in enumerate((epochs[0], epochs[-1])):
                h = hists[epoch][layer]
                lo, hi = (v if isinstance(v, (int, float)) else 0.0 for v in h["range"])
                edges = np.linspace(lo, hi, len(h["counts"]) + 1)
                ax.stairs(h["counts"], edges, fill=k == 1, color=color, alpha=0.55 if k == 1 else 1.0,
                          linewidth=1.0)
            ax.set_yticks([])
            ax.tick_params(labelsize=5)
            if "zeros" in hists[epochs[-1]][layer]:
                ax.text(0.97, 0.92, f"{hists[epochs[0]][layer]['zeros']:.0%}→{hists[epochs[-1]][layer]['zeros']:.0%} 0s",
                        transform=ax.transAxes, ha="right", va="top", fontsize=5)
            if r == 0:
                ax.set_title(f"layer {layer}", fontsize=8)
            if c == 0:
                ax.set_ylabel(label, fontsize=6.5)
    fig.suptitle(f"Activations of the probe batch (seed 0): outline at initialisation, filled after epoch "
                 f"{config['epochs']}; ReLU: exact zeros left out (their share in the corner)", fontsize=9)
    return fig
