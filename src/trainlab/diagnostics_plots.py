"""Figures of the per-layer diagnostics (:mod:`trainlab.diagnostics`) of history dicts.

* :func:`diagnostics_figure` — one run: four heat maps, layers (input side on top) × epochs:
  activation std, the saturated (sigmoid, tanh) or dead (ReLU) fraction (0 to 1), the gradient norm
  of every W and the update/weight ratio of every W over the epoch; the colours of the three
  unbounded ones are on a log scale when their values span a decade or more. Cells are written out
  when there are few enough to read.
* :func:`histogram_figure` — one run: the activation histograms of the chosen epochs (rows) for every
  hidden layer (columns), as the book draws them at initialisation.
* :func:`compare_figures` — several runs: per-layer gradient-norm curves and saturated/dead curves,
  one small panel per layer, one line per run (``trainlab compare``).

Everything is read from the epoch records' keys (``act_std.h1``, ``grad_norm.W2``, …), so a history
whose ``diagnostics`` field was stripped (``trainlab compare`` keeps only numbers) still draws.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["diagnosed_layers", "matrix", "fraction_stat", "diagnostics_figure", "histogram_figure", "compare_figures",
           "last_values", "COMPARE_FIGURES"]

#: the figures :func:`compare_figures` can draw, by name
COMPARE_FIGURES = ("diagnostics_grad_norm", "diagnostics_saturation")
_ANNOTATE_CELLS = 160  # write every cell's value when a heat map has at most this many


def _layer_number(name: str) -> int:
    try:
        return int(name.lstrip("hWb"))
    except ValueError:
        return 1 << 30


def diagnosed_layers(history: dict) -> tuple[list[str], list[str]]:
    """``(hidden, weights)``: the hidden layers (``h1`` …) and weight matrices (``W1`` …) that the
    history's epoch records have statistics of (both empty without diagnostics)."""
    hidden, weights = set(), set()
    for r in history.get("epochs") or []:
        for k in r:
            stat, _, layer = k.partition(".")
            if stat == "act_std":
                hidden.add(layer)
            elif stat in ("grad_norm", "update_ratio") and layer.startswith("W"):
                weights.add(layer)
    return sorted(hidden, key=_layer_number), sorted(weights, key=_layer_number)


def fraction_stat(history: dict) -> tuple[str | None, str]:
    """The key of the squashing statistic the history has (``dead`` for ReLU, ``saturated`` for
    sigmoid and tanh) and its label."""
    keys = {k.partition(".")[0] for r in history.get("epochs") or [] for k in r}
    if "dead" in keys:
        return "dead", "dead units (0 for every probe sample)"
    if "saturated" in keys:
        return "saturated", "saturated activations"
    return None, ""


def matrix(history: dict, stat: str, layers: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(epochs, values[layer, epoch])`` of one statistic; NaN where a record lacks it."""
    records = history.get("epochs") or []
    epochs = np.array([r.get("epoch", i) for i, r in enumerate(records)], dtype=float)
    values = np.full((len(layers), len(records)), np.nan)
    for j, r in enumerate(records):
        for i, layer in enumerate(layers):
            v = r.get(f"{stat}.{layer}")
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                values[i, j] = v
    return epochs, values


def _heat(fig, ax, epochs, values, layers, title, log=False, vmin=None, vmax=None, cmap="viridis"):
    from matplotlib.colors import LogNorm, Normalize

    finite = values[np.isfinite(values)]
    positive = finite[finite > 0]
    if log and positive.size and positive.max() > 10 * positive.min():  # a log scale only over a decade or more
        norm = LogNorm(vmin=positive.min(), vmax=positive.max())
        values = np.where(values > 0, values, np.nan)
    else:
        norm = Normalize(vmin=vmin if vmin is not None else (finite.min() if finite.size else 0.0),
                         vmax=vmax if vmax is not None else (finite.max() if finite.size else 1.0))
    ax.set_facecolor("0.92")  # no value: epoch 0 has no update yet
    x_edges = np.concatenate([epochs - 0.5, [epochs[-1] + 0.5]]) if len(epochs) else np.array([0.0, 1.0])
    y_edges = np.arange(len(layers) + 1) - 0.5
    mesh = ax.pcolormesh(x_edges, y_edges, np.ma.masked_invalid(values), cmap=cmap, norm=norm)
    ax.set_yticks(range(len(layers)), layers, fontsize=8)
    ax.set_ylim(len(layers) - 0.5, -0.5)  # the input side on top
    ax.set_xlabel("epoch", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(title, fontsize=9)
    if values.size and values.size <= _ANNOTATE_CELLS and len(epochs) <= 21:
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                v = values[i, j]
                if math.isfinite(v):
                    r, g, b, _ = mesh.cmap(norm(v))
                    ax.text(epochs[j], i, f"{v:.2g}", ha="center", va="center", fontsize=6,
                            color="black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white")
    fig.colorbar(mesh, ax=ax, shrink=0.9, pad=0.02).ax.tick_params(labelsize=7, which="both")


def diagnostics_figure(history: dict, title: str = ""):
    """The four heat maps of one run's diagnostics (None when the history has none)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    hidden, weights = diagnosed_layers(history)
    if not hidden and not weights:
        return None
    rows = max(len(hidden), len(weights))
    fig = Figure(figsize=(10.2, 2.6 + 0.7 * rows), layout="constrained")  # the report's width: 1180 px at 110 dpi
    axes = fig.subplots(2, 2).ravel()
    stat, label = fraction_stat(history)
    # colours on a log scale where the values span a decade or more
    panels = [("act_std", hidden, "activation std on the probe batch", dict(log=True)),
              (stat, hidden, f"{label}: fraction", dict(vmin=0.0, vmax=1.0, cmap="magma_r")),
              ("grad_norm", weights, "‖∂L/∂W‖, mean over the epoch's updates", dict(log=True, cmap="cividis")),
              ("update_ratio", weights, "update ratio ‖ΔW‖/‖W‖ over the epoch", dict(log=True, cmap="plasma"))]
    for ax, (key, layers, text, kw) in zip(axes, panels):
        if key is None or not layers:
            ax.set_axis_off()
            ax.text(0.5, 0.5, "not recorded", ha="center", va="center", transform=ax.transAxes, color="0.5")
            continue
        epochs, values = matrix(history, key, layers)
        _heat(fig, ax, epochs, values, layers, text, **kw)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    meta = history.get("diagnostics") if isinstance(history.get("diagnostics"), dict) else {}
    what = f"{meta.get('activation', '')} net, {meta.get('probe_samples', '?')} probe samples".strip(", ")
    if meta.get("saturated"):
        what += f"; saturated: {meta['saturated']}"
    fig.suptitle((f"{title}\n" if title else "") + f"Per-layer diagnostics — {what}", fontsize=10)
    return fig


def histogram_figure(history: dict, title: str = ""):
    """The activation histograms of the chosen epochs (None when none were recorded)."""
    from matplotlib.figure import Figure

    meta = history.get("diagnostics")
    hists = meta.get("histograms") if isinstance(meta, dict) else None
    if not isinstance(hists, dict) or not hists:
        return None
    epochs = sorted(hists, key=int)
    layers = sorted({layer for e in epochs for layer in hists[e]}, key=_layer_number)
    fig = Figure(figsize=(2.2 * len(layers) + 0.6, 1.7 * len(epochs) + 0.8))
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.08, top=0.86, wspace=0.3, hspace=0.55)
    for r, epoch in enumerate(epochs):
        for c, layer in enumerate(layers):
            ax = fig.add_subplot(len(epochs), len(layers), r * len(layers) + c + 1)
            h = hists[epoch].get(layer)
            if not isinstance(h, dict):
                ax.set_axis_off()
                continue
            lo, hi = (v if isinstance(v, (int, float)) else 0.0 for v in h["range"])
            counts = np.asarray(h["counts"], dtype=float)
            ax.stairs(counts, np.linspace(lo, hi, len(counts) + 1), fill=True, color=f"C{r}")
            ax.tick_params(labelsize=6)
            ax.set_yticks([])
            if "zeros" in h:
                ax.text(0.97, 0.93, f"{h['zeros']:.0%} zeros", transform=ax.transAxes, ha="right", va="top", fontsize=6)
            if r == 0:
                ax.set_title(f"layer {layer}", fontsize=8)
            if c == 0:
                ax.set_ylabel(f"epoch {epoch}", fontsize=8)
    act = meta.get("activation", "")
    extra = " (exact zeros left out, counted in the corner)" if act == "relu" else ""
    fig.suptitle((f"{title}\n" if title else "") + f"{act} activations of the probe batch{extra}", fontsize=9)
    return fig


def _small_multiples(curves, stat_of, layers_of, ylabel, log):
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    layers = sorted({layer for _, h in curves for layer in layers_of(h)}, key=_layer_number)
    ncols = min(4, len(layers))
    nrows = math.ceil(len(layers) / ncols)
    fig = Figure(figsize=(3.2 * ncols + 1.8, 2.6 * nrows + 0.6), layout="constrained")
    # one y scale for every layer: a norm that shrinks toward the input shows as such
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)).ravel()
    for ax, layer in zip(axes, layers):
        for k, (label, h) in enumerate(curves):
            stat = stat_of(h)
            if stat is None:
                continue
            epochs, values = matrix(h, stat, [layer])
            ok = np.isfinite(values[0])
            if ok.any():
                ax.plot(epochs[ok], values[0][ok], color=f"C{k % 10}", linewidth=1.2,
                        marker="o" if ok.sum() <= 25 else None, markersize=2.5, label=label)
        if log and ax.lines and all((np.asarray(line.get_ydata()) > 0).all() for line in ax.lines):
            ax.set_yscale("log")
        ax.set_title(f"layer {layer}", fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7, which="both")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in axes[len(layers):]:
        ax.set_axis_off()
    for ax in axes[::ncols]:
        ax.set_ylabel(ylabel, fontsize=8)
    for ax in axes[max(0, len(layers) - ncols):len(layers)]:
        ax.set_xlabel("epoch", fontsize=8)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside right upper", fontsize=7)
    return fig


def last_values(figure: str, curves: list[tuple[str, dict]]) -> dict:
    """``{label: {"stat", "values": {layer: last finite value or None}}}`` of what ``figure`` (one of
    :data:`COMPARE_FIGURES`) draws, for the curves that have it."""
    rows = {}
    for label, h in curves:
        hidden, weights = diagnosed_layers(h)
        stat, layers = ("grad_norm", weights) if figure == "diagnostics_grad_norm" else (fraction_stat(h)[0], hidden)
        if stat is None or not layers:
            continue
        _, values = matrix(h, stat, layers)
        rows[label] = {"stat": stat, "values": {
            layer: (float(v[np.isfinite(v)][-1]) if np.isfinite(v).any() else None) for layer, v in zip(layers, values)}}
    return rows


def compare_figures(curves: list[tuple[str, dict]]) -> dict:
    """``{name: Figure}`` for the curves (``(label, history)``) that have diagnostics: gradient norms
    per W, and the dead (ReLU) or saturated (sigmoid, tanh) fraction per hidden layer."""
    having = [(label, h) for label, h in curves if any(diagnosed_layers(h))]
    out = {}
    if any(diagnosed_layers(h)[1] for _, h in having):
        fig = _small_multiples(having, lambda h: "grad_norm", lambda h: diagnosed_layers(h)[1],
                               "‖∂L/∂W‖ (epoch mean)", log=True)
        fig.suptitle("Gradient norm of every weight matrix per epoch (W1 is next to the input)", fontsize=10)
        out["diagnostics_grad_norm"] = fig
    if any(fraction_stat(h)[0] for _, h in having):
        fig = _small_multiples(having, lambda h: fraction_stat(h)[0], lambda h: diagnosed_layers(h)[0],
                               "dead (ReLU) / saturated fraction", log=False)
        fig.suptitle("Dead units (ReLU: 0 for every probe sample) or saturated activations (sigmoid, tanh)",
                     fontsize=10)
        out["diagnostics_saturation"] = fig
    return out
