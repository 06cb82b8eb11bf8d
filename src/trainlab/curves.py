"""Curve helpers shared by the experiments: the book's ``smooth_curve`` and mean/band over seeds.

``smooth_curve`` is the book's ``common/util.py`` function: the series is reflected at both ends
(10 points each), convolved with a normalised Kaiser window (length 11, β = 2) in 'valid' mode,
and 5 points are trimmed per side, so the output is as long as the input. The reflection is the
book's, asymmetric as written there: at the start ``x[10], …, x[1]`` (the first point itself is not
repeated), at the end ``x[-1], …, x[-10]`` (the last point is repeated).

``mean_band`` turns per-seed curves into ``{'mean', 'lo', 'hi', 'std', 'n'}`` lists (JSON-ready);
the band is min–max over seeds by default (with few seeds the honest spread), or mean ± std.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["WINDOW_LEN", "KAISER_BETA", "smooth_curve", "mean_band", "final_value", "as_list"]

WINDOW_LEN = 11
KAISER_BETA = 2.0


def smooth_curve(x: Sequence[float]) -> np.ndarray:
    """The book's loss-curve smoother (output length = input length; needs ≥ 11 points).

    Shorter series are returned unchanged (as float arrays): there is nothing to reflect.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"smooth_curve needs a 1-D series, got shape {x.shape}")
    n = WINDOW_LEN
    if x.size < n:
        return x.copy()
    s = np.r_[x[n - 1 : 0 : -1], x, x[-1:-n:-1]]
    w = np.kaiser(n, KAISER_BETA)
    y = np.convolve(w / w.sum(), s, mode="valid")
    return y[5 : len(y) - 5]


def mean_band(curves, band: str = "minmax") -> dict:
    """Mean and band over seeds of equally long curves (rows = seeds), as JSON-ready lists.

    ``band='minmax'``: lo/hi are the min and max over seeds; ``'std'``: mean ∓ one standard deviation.
    NaNs (a diverged run) propagate, so they stay visible.
    """
    a = np.asarray(curves, dtype=np.float64)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        raise ValueError(f"mean_band needs a list of equally long curves, got shape {a.shape}")
    mean = a.mean(axis=0)
    std = a.std(axis=0)
    if band == "minmax":
        lo, hi = a.min(axis=0), a.max(axis=0)
    elif band == "std":
        lo, hi = mean - std, mean + std
    else:
        raise ValueError(f"band must be 'minmax' or 'std', got {band!r}")
    return {"mean": as_list(mean), "lo": as_list(lo), "hi": as_list(hi), "std": as_list(std), "n": int(a.shape[0])}


def final_value(curve, last: int = 1) -> float:
    """The mean of the last ``last`` points of a curve."""
    a = np.asarray(curve, dtype=np.float64)
    return float(a[-last:].mean())


def as_list(a, digits: int | None = 6) -> list:
    """A float list for JSON, rounded to ``digits`` decimals (None: exact). NaN/inf stay floats."""
    a = np.asarray(a, dtype=np.float64)
    if digits is not None:
        a = np.round(a, digits)
    return a.tolist()
