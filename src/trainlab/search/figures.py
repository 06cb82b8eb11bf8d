"""The search's figures: the book's grid of the top trials' curves and a scatter of two parameters with
each stage's box (Optuna's own plots are in :mod:`.optuna_plots`)."""

from __future__ import annotations

__all__ = ["curve_grid", "scatter", "make_figures", "CAPTIONS"]

#: what each figure shows, in words (the report's captions of a search's figures)
CAPTIONS = {
    "best_trials": "The book's Fig. 6-24: the best trials' validation (solid) and train (dashed) accuracy by "
                   "epoch, ranked by final validation accuracy, each titled with its parameters",
    "scatter": "Every trial's final validation accuracy by its two parameters (lr × weight decay when both "
               "are searched), pruned and failed trials as crosses, each stage's ranges as a dashed box",
}


def curve_grid(trials: list[dict], k: int = 20):
    """The book's plot: the top ``k`` trials, five a row (4×5 for 20), validation solid, train
    dashed, ylim (0, 1)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .book import ranked
    from .numbers import fmt
    from .results import format_params

    rows = ranked(trials)[:k]
    n_rows = max(1, -(-len(rows) // 5))  # five a row, as many rows as there are trials to show
    fig, axes = plt.subplots(n_rows, 5, figsize=(10, 2.4 * n_rows + 0.4), sharey=True, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_ylim(0, 1)
        ax.set_xticks([])
        if i % 5:
            ax.tick_params(labelleft=False)
        if i >= len(rows):
            ax.axis("off")
            continue
        t = rows[i]
        x = range(1, len(t["val_curve"]) + 1)
        ax.plot(x, t["val_curve"], "-", lw=1.2)
        ax.plot(x, t["train_curve"], "--", lw=1.0)
        params = "\n".join(format_params({k: v}) for k, v in t["params"].items())
        ax.set_title(f"Best-{i + 1} ({fmt(t['value'])})\n{params}", fontsize=7)
    fig.suptitle("top trials: validation (solid), train (dashed)")
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.03, top=1 - 0.9 / (2.4 * n_rows + 0.4), wspace=0.15,
                        hspace=0.7)
    return fig


def _axes_params(config):
    names = [n for n, p in config.space.items() if p.type != "choice"]
    if "lr" in names and "weight_decay" in names:
        return "lr", "weight_decay"
    return tuple(names[:2]) if len(names) >= 2 else None


def scatter(config, trials: list[dict], stages: list[dict]):
    """Two parameters (lr × weight decay when searched) coloured by validation accuracy, stage boxes drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    pair = _axes_params(config)
    if pair is None:
        return None
    px, py = pair
    fig, ax = plt.subplots(figsize=(7, 5.5))
    pts = [t for t in trials if px in t["params"] and py in t["params"] and not t["interrupted"]]
    done = [t for t in pts if t["state"] == "COMPLETE"]
    other = [t for t in pts if t["state"] != "COMPLETE"]
    if done:
        sc = ax.scatter([t["params"][px] for t in done], [t["params"][py] for t in done],
                        c=[t["value"] for t in done], cmap="viridis", vmin=0, vmax=1, s=28, edgecolors="k",
                        linewidths=0.3)
        fig.colorbar(sc, ax=ax, label="validation accuracy")
    if other:
        ax.scatter([t["params"][px] for t in other], [t["params"][py] for t in other], marker="x", c="grey",
                   s=22, label="pruned / failed")
        ax.legend(loc="lower left", fontsize=8)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, st in enumerate(stages):
        rx, ry = st["ranges"][px], st["ranges"][py]
        ax.add_patch(Rectangle((rx["low"], ry["low"]), rx["high"] - rx["low"], ry["high"] - ry["low"], fill=False,
                               lw=1.5, ls="--", ec=colors[i % len(colors)], label=f"stage {st['stage']}"))
        ax.annotate(f"stage {st['stage']}", (rx["low"], ry["high"]), fontsize=8, color=colors[i % len(colors)],
                    va="bottom")
    if config.space[px].log:
        ax.set_xscale("log")
    if config.space[py].log:
        ax.set_yscale("log")
    ax.set_xlabel(px.replace("_", " "))
    ax.set_ylabel(py.replace("_", " "))
    ax.set_title("trials by validation accuracy, with each stage's ranges")
    return fig


def make_figures(config, trials: list[dict], stages: list[dict], k: int = 20) -> dict:
    """``best_trials`` (the top ``k`` curves) and, when two ranges are searched, ``scatter``."""
    figs = {"best_trials": curve_grid(trials, k)}
    sc = scatter(config, trials, stages)
    if sc is not None:
        figs["scatter"] = sc
    return figs
