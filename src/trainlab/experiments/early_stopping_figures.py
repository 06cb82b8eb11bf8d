"""The figures of the ``early-stopping`` experiment (:mod:`.early_stopping_small`): accuracy curves of
every variant (early stopping's seeds each to where they stopped), the validation curves the stop
is decided on, and the final test accuracies."""

from __future__ import annotations

import numpy as np

__all__ = ["curves_figure", "finals_figure"]

COLORS = {"none": "C0", "wd": "C1", "early-stop": "C3", "held": "C2"}


def _color(config: dict, label: str) -> str:
    kept = config["train_size"] - config["val_size"]
    return {"none": COLORS["none"], "early-stop": COLORS["early-stop"], f"none-{kept}": COLORS["held"]}.get(
        label, COLORS["wd"])


def curves_figure(config: dict, summary: dict):
    from matplotlib.figure import Figure

    v, n = summary["variants"], summary["seeds"]
    kept = config["train_size"] - config["val_size"]
    held = f"none-{kept}"
    fig = Figure(figsize=(10.2, 4.4), layout="constrained")  # the report's width: 1180 px at 110 dpi
    ax_acc, ax_val = fig.subplots(1, 2)
    metric = "test_acc" if config["curve_test_samples"] > 0 else "train_acc"
    for label, s in v.items():
        color = _color(config, label)
        if label == "early-stop":
            for k, c in enumerate(s["curves"]):
                ax_acc.plot(c["epoch"], c[metric], color=color, linewidth=0.8, alpha=0.8,
                            label=f"early-stop ({n} seeds, ○ restored epoch)" if k == 0 else None)
                r = s["restored_epoch"][k]
                if r is not None:
                    ax_acc.plot([r], [c[metric][c["epoch"].index(r)]], "o", mfc="none", color=color, markersize=6)
            continue
        band = s[metric]
        ax_acc.plot(s["epoch"], band["mean"], color=color, label=f"{label} (mean)")
        if band["n"] > 1:
            ax_acc.fill_between(s["epoch"], band["lo"], band["hi"], color=color, alpha=0.15, linewidth=0)
    what = f"first {config['curve_test_samples']} test images" if metric == "test_acc" else "training images"
    ax_acc.set_title(f"accuracy on the {what} per epoch", fontsize=10)
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy")
    ax_acc.set_ylim(0, 1)
    ax_acc.grid(alpha=0.3)
    ax_acc.legend(fontsize=8, loc="lower right")
    if held in v and "val_loss" in v[held]:
        loss = np.asarray(v[held]["val_loss"], dtype=float)
        acc = np.asarray(v[held]["val_acc"], dtype=float)
        epochs = np.arange(loss.shape[1])
        ax_val.plot(epochs, loss.mean(axis=0), color="C4", label="validation loss (mean)")
        ax_val.fill_between(epochs, loss.min(axis=0), loss.max(axis=0), color="C4", alpha=0.15, linewidth=0)
        ax_val.set_ylabel("validation loss", color="C4")
        twin = ax_val.twinx()
        twin.plot(epochs, acc.mean(axis=0), color="C2", label="validation accuracy (mean)")
        twin.set_ylabel("validation accuracy", color="C2")
        twin.set_ylim(0, 1)
        for k, (r, s) in enumerate(zip(v["early-stop"]["restored_epoch"], v["early-stop"]["stopped_epoch"])):
            if r is not None:
                ax_val.axvline(r, color="C3", linewidth=0.8, alpha=0.7, label="early-stop: restored epoch" if k == 0 else None)
            if s is not None:
                ax_val.axvline(s, color="C3", linewidth=0.8, alpha=0.7, linestyle=":",
                               label="early-stop: stopped" if k == 0 else None)
        ax_val.set_ylim(0, min(float(np.nanmax(loss)), 3.0) * 1.05)
        lines = ax_val.get_legend_handles_labels()
        more = twin.get_legend_handles_labels()
        ax_val.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="center")
        ax_val.set_title(f"{config['val_size']} held-out images, none-{kept} (never stopped)", fontsize=10)
        ax_val.set_xlabel("epoch")
        ax_val.grid(alpha=0.3)
    fig.suptitle(f"{config['train_size']} MNIST images, 784-{'-'.join(map(str, config['hidden_sizes']))}-10, SGD "
                 f"η={config['lr']:g}, {n} seed(s); early stopping: {config['monitor']}, patience {config['patience']}, "
                 f"restore the best epoch", fontsize=10)
    return fig


def finals_figure(config: dict, summary: dict):
    from matplotlib.figure import Figure

    v, n = summary["variants"], summary["seeds"]
    fig = Figure(figsize=(6.8, 4.2), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    labels = list(v)
    for i, label in enumerate(labels):
        f = v[label]["final_test_acc"]
        ax.bar(i, f["mean"], color=_color(config, label), width=0.7)
        ax.plot([i] * len(f["values"]), f["values"], "k.", markersize=4)
        note = f"{f['mean']:.3f}"
        trained = v[label]["epochs_trained"]
        if label == "early-stop":
            note += f"\n{np.mean(trained):.0f} epochs"
        ax.text(i, f["max"] + 0.003, note, ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(labels)), labels)
    lows = min(v[lbl]["final_test_acc"]["min"] for lbl in labels)
    ax.set_ylim(max(0.0, lows - 0.08), min(1.0, max(v[lbl]["final_test_acc"]["max"] for lbl in labels) + 0.06))
    ax.set_ylabel("test accuracy (all 10,000 images)")
    ax.set_title(f"Final test accuracy (bars: mean; dots: {n} seeds)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return fig
