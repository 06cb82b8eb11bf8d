"""Figures and tables several experiments draw: the smoothed loss curves of nets trained on the
same batches (optimizers, initialisations), the book's train/test accuracy panel of §6.4, and a
table of our numbers at the epochs the book's run printed."""

from __future__ import annotations

import numpy as np

from .common import OPTIMIZER_LABELS, OPTIMIZER_MARKERS

__all__ = ["loss_figure", "accuracy_panel", "book_table", "compare_row", "comparison_table", "epoch_rows"]


def loss_figure(config, summary, names, title, ylim=(0, 1), labels=OPTIMIZER_LABELS, markers=OPTIMIZER_MARKERS):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.6), layout="constrained")
    ax = fig.add_subplot(1, 1, 1)
    for name in names:
        s = summary[name]["smoothed"]
        mean = np.asarray(s["mean"], dtype=float)
        x = np.arange(len(mean))
        line, = ax.plot(x, mean, marker=markers.get(name), markevery=100, markersize=5,
                        label=f"{labels.get(name, name)} ({summary[name]['final']:.3f})")
        if s["n"] > 1:
            ax.fill_between(x, s["lo"], s["hi"], color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel("iterations")
    ax.set_ylabel("loss (smoothed)")
    ax.set_ylim(*ylim)
    ax.legend(title="final smoothed loss")
    ax.set_title(title, fontsize=10)
    return fig


def book_table(title: str, book_rows: dict, book_label: str, variants: dict, ours: list, epochs: dict) -> dict:
    """A table: epoch | the book's train/test | ours train/test per variant. ``epochs``: book epoch → our record."""
    def pair(a, b):
        return f"{a:.3f} / {b:.3f}" if a is not None and b is not None else "–"

    rows = []
    for book_epoch, ours_epoch in epochs.items():
        b = book_rows.get(f"epoch {book_epoch}")
        row = [str(book_epoch), pair(*b) if b else "–"]
        for key, _ in ours:
            v = variants.get(key)
            if v is None or ours_epoch >= len(v["epoch"]):
                row.append("–")
                continue
            test = v["test_acc"]["mean"][ours_epoch] if "test_acc" in v else None
            row.append(pair(v["train_acc"]["mean"][ours_epoch], test))
        rows.append(row)
    final = ["final (all 10,000)", "–"]
    for key, _ in ours:
        v = variants.get(key)
        final.append(pair(v["final_train_acc"]["mean"], v["final_test_acc"]["mean"]) if v else "–")
    rows.append(final)
    return {"title": title, "columns": ["epoch", book_label] + [label for _, label in ours], "rows": rows}


def accuracy_panel(ax, variant: dict, title: str, n_seeds: int) -> None:
    """The book's plot: train 'o' and test 's' (markevery 10), ylim (0, 1); band = min–max over seeds."""
    x = variant["epoch"]
    for key, marker, label in (("train_acc", "o", "train"), ("test_acc", "s", "test")):
        if key not in variant:
            continue
        s = variant[key]
        if key == "test_acc":
            label += f" (first {variant['test_curve_samples']} test images)"
        (line,) = ax.plot(x, s["mean"], marker=marker, markevery=10, markersize=4, label=label)
        if n_seeds > 1:
            ax.fill_between(x, s["lo"], s["hi"], color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_ylim(0, 1)
    ax.set_xlabel("epochs")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)


def compare_row(quantity: str, book, source: str, values, tolerance: float, digits: int = 3) -> dict:
    """One row of the book-vs-ours comparison: the book's number, ours over seeds (mean, min–max),
    and whether they agree: the book's number lies within our seeds' range widened by ``tolerance``
    (one unseeded run of the book's code is one draw, so our seeds' spread is the yardstick).
    ``book`` may be a (low, high) range the book states; then the ranges must overlap."""
    import math

    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    lo, hi = (min(vals), max(vals)) if vals else (math.nan, math.nan)
    mean = sum(vals) / len(vals) if vals else math.nan
    if isinstance(book, (list, tuple)):
        b_lo, b_hi = float(book[0]), float(book[1])
        book_text = f"{b_lo:.{digits}g}–{b_hi:.{digits}g}"
    else:
        b_lo = b_hi = float(book)
        book_text = f"{b_lo:.{digits}g}"
    agrees = bool(vals) and b_lo <= hi + tolerance and b_hi >= lo - tolerance
    ours = f"{mean:.{digits}f}" + (f" ({lo:.{digits}f}–{hi:.{digits}f})" if len(vals) > 1 else "")
    return {"quantity": quantity, "book": book_text, "source": source, "ours": ours, "ours_mean": mean,
            "ours_min": lo, "ours_max": hi, "tolerance": tolerance, "agrees": agrees}


def comparison_table(rows: list[dict], seeds: int, note: str = "") -> dict:
    """The comparison as a table for summary.json (the report shows it first)."""
    return {"title": f"The book's numbers beside ours (ours: mean of {seeds} seed(s), range over seeds; "
                     f"'agrees' when the book's number lies within our range ± the stated tolerance)"
                     + (f". {note}" if note else ""),
            "columns": ["quantity", "book", "source", "ours", "agrees?"],
            "rows": [[r["quantity"], r["book"], r["source"], r["ours"],
                      ("✓" if r["agrees"] else "✗") + f" (±{r['tolerance']:g})"] for r in rows],
            "comparison": rows}


def epoch_rows(book_rows: dict, variant: dict, label: str, epochs: dict, tolerance: float = 0.05) -> list[dict]:
    """Comparison rows of train and test accuracy at the epochs the book's run printed:
    ``book_rows`` {"epoch E": [train, test]}, ``epochs`` {book epoch E: our record index}."""
    rows = []
    for book_epoch, i in epochs.items():
        book = book_rows.get(f"epoch {book_epoch}")
        if book is None or i >= len(variant["epoch"]):
            continue
        for split, value in (("train", book[0]), ("test", book[1])):
            band = variant.get(f"{split}_acc")
            if band is None or value is None:
                continue
            where = "" if split == "train" else f" (first {variant['test_curve_samples']} test images)"
            rows.append(compare_row(f"{label}: {split} accuracy at epoch {book_epoch}{where}", value,
                                    "one unseeded run", [band["lo"][i], band["mean"][i], band["hi"][i]], tolerance))
    return rows
