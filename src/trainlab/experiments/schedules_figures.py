"""The figures of the ``schedules`` experiment (:mod:`.schedules_mnist`): per optimizer, the η of
every update, the smoothed mini-batch loss and the validation loss per epoch of each schedule; and
the final validation losses side by side, with every seed."""

from __future__ import annotations

import math

import numpy as np

from ..curves import smooth_curve
from .common import OPTIMIZER_LABELS

__all__ = ["lr_curves", "curves_figure", "final_figure"]

COLORS = {"constant": "C0", "step": "C1", "cosine": "C2", "warmup-cosine": "C3"}


def lr_curves(config: dict) -> dict:
    """The η of every update of each net of a seed, computed by the trainer's own instruments on a
    dummy buffer (a schedule depends on neither the data nor the seed)."""
    from ..instruments import Instruments
    from ..optim import make_optimizer
    from ..trainer import TrainConfig
    from .schedules_mnist import schedule_options, variants

    per_epoch = math.ceil(int(config["train_size"]) / int(config["batch_size"]))
    out = {}
    for label, _, lr, schedule in variants(config):
        train = TrainConfig(epochs=int(config["epochs"]), optimizer="sgd", optimizer_params={"lr": lr},
                            **schedule_options(schedule, config, per_epoch))
        sgd = make_optimizer("sgd", (np.zeros(1), np.zeros(1)), lr=lr)
        instruments = Instruments(train, sgd, None, {"train": None, "val": None})
        step = instruments.wrap_step(sgd.step)
        lrs = []
        for epoch in range(1, int(config["epochs"]) + 1):
            for _ in range(per_epoch):
                lrs.append(sgd.lr)
                step()
            instruments.end_epoch({"epoch": epoch}, dict)
        out[label] = lrs
    return out


def _groups(config: dict, summary: dict) -> list[tuple[str, list[str]]]:
    """(panel title, labels) per optimizer, then the control."""
    v = summary["variants"]
    groups = [(f"{OPTIMIZER_LABELS[o]}, η₀ = {config[f'lr_{o}']:g}" + (f", μ = {config['momentum']:g}" if o == "momentum"
                                                                      else ""),
               [f"{o}-{s}" for s in config["schedules"]]) for o in config["optimizers"]]
    if config["control_lr"] is not None:
        lr = config["control_lr"]
        groups.append((f"control: SGD, η₀ = {lr:g}", [f"sgd-lr{lr:g}-{s}" for s in ("constant", "cosine")]))
    return [(title, [lbl for lbl in labels if lbl in v]) for title, labels in groups]


def curves_figure(config: dict, summary: dict, runs: list[dict]):
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from .schedules_mnist import LABELS

    v, groups = summary["variants"], _groups(config, summary)
    lrs = lr_curves(config)
    per_epoch = math.ceil(int(config["train_size"]) / int(config["batch_size"]))
    fig = Figure(figsize=(min(10.2, 3.6 * len(groups)), 9), layout="constrained")  # the report's width
    axes = fig.subplots(3, len(groups), squeeze=False)
    for col, (title, labels) in enumerate(groups):
        ax_lr, ax_batch, ax_val = axes[:, col]
        for label in labels:
            s = v[label]
            color, name = COLORS[s["schedule"]], LABELS[s["schedule"]]
            x_upd = np.arange(1, len(lrs[label]) + 1) / per_epoch
            ax_lr.plot(x_upd, lrs[label], color=color, label=name)
            losses = np.array([smooth_curve(r["histories"][label]["iter_loss"]) for r in runs])
            ax_batch.plot(np.arange(1, losses.shape[1] + 1) / per_epoch, losses.mean(axis=0), color=color,
                          linewidth=0.9, label=name)
            band = s["val_loss"]
            epochs = np.arange(len(band["mean"]))
            ax_val.plot(epochs[1:], band["mean"][1:], "o-", color=color, markersize=3,
                        label=f"{name} ({s['final_val_loss']['mean']:.4f})")
            if band["n"] > 1:
                ax_val.fill_between(epochs[1:], band["lo"][1:], band["hi"][1:], color=color, alpha=0.15, linewidth=0)
        ax_lr.set_title(title, fontsize=10)
        ax_lr.set_ylabel("learning rate η")
        ax_batch.set_ylabel("mini-batch loss (smoothed, mean of seeds)")
        ax_batch.set_yscale("log")
        ax_val.set_ylabel("validation loss")
        ax_val.legend(fontsize=7, title="final (mean)", title_fontsize=7)
        ax_lr.legend(fontsize=7)
        for ax in (ax_lr, ax_batch, ax_val):
            ax.set_xlabel("epoch")
            ax.grid(alpha=0.3)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(f"784-{'-'.join(map(str, config['hidden_sizes']))}-10 ReLU/He, {config['train_size']} images, "
                 f"batch {config['batch_size']}, {config['epochs']} epochs; validation: {config['val_size']} held-out "
                 f"images, mean of {summary['seeds']} seed(s), band min–max", fontsize=10)
    return fig


def final_figure(config: dict, summary: dict):
    from matplotlib.figure import Figure

    from .schedules_mnist import LABELS

    v, groups = summary["variants"], _groups(config, summary)
    fig = Figure(figsize=(min(10.2, 2.0 + 0.8 * sum(len(labels) for _, labels in groups)), 4.2), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    x, ticks, names = 0.0, [], []
    for title, labels in groups:
        start = x
        for label in labels:
            s = v[label]
            f = s["final_val_loss"]
            ax.bar(x, f["mean"], color=COLORS[s["schedule"]], width=0.8)
            ax.plot([x] * len(f["values"]), f["values"], "k.", markersize=4)
            ax.text(x, f["max"], f"{f['mean']:.3f}", ha="center", va="bottom", fontsize=7)
            ticks.append(x)
            names.append(LABELS[s["schedule"]])
            x += 1
        ax.text((start + x - 1) / 2, -0.16, title, transform=ax.get_xaxis_transform(), ha="center", va="top",
                fontsize=8)
        x += 0.6
    ax.set_xticks(ticks, names, rotation=30, ha="right", fontsize=7)
    lows = [min(v[lbl]["final_val_loss"]["min"] for lbl in labels) for _, labels in groups if labels]
    highs = [max(v[lbl]["final_val_loss"]["max"] for lbl in labels) for _, labels in groups if labels]
    ax.set_ylim(max(0.0, min(lows) * 0.8), max(highs) * 1.08)
    ax.set_ylabel("final validation loss")
    ax.set_title(f"Validation loss after {config['epochs']} epochs (bars: mean; dots: the {summary['seeds']} seeds)",
                 fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return fig
