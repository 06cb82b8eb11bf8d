"""Narrowing the space between stages, as the book's procedure does by hand (§6.5.3, step 3).

After a stage, take its top trials (``top_fraction`` of the finished trials, by final validation
accuracy; at least two when there are two) and, for each parameter:

* float/int range: the span of the top trials' values (in log space for log parameters), widened by
  ``margin`` × the original span on each side, clipped to the original range (ints rounded outward);
* choice: the choices present among the top trials, in their original order.

With no finished trial the stage's ranges are kept. The result is deterministic.
"""

from __future__ import annotations

import math

from .space import Param

__all__ = ["narrow", "top_trials"]


def top_trials(results: list[dict], fraction: float) -> list[dict]:
    """The best ``fraction`` of the finished trials (``{"params", "value"}``), best first."""
    done = [r for r in results if r.get("value") is not None and math.isfinite(r["value"])]
    done.sort(key=lambda r: (-r["value"], r.get("number", 0)))
    k = max(min(2, len(done)), math.ceil(fraction * len(done)))
    return done[:k]


def _to(p: Param, v: float) -> float:
    return math.log10(v) if p.log else float(v)


def _from(p: Param, v: float) -> float:
    return 10.0 ** v if p.log else v


def narrow_param(p: Param, original: Param, values: list, margin: float) -> Param:
    if p.type == "choice":
        present = set(map(repr, values))
        kept = tuple(c for c in original.choices if repr(c) in present)
        return Param(p.name, "choice", choices=kept or p.choices)
    lo_o, hi_o = _to(original, original.low), _to(original, original.high)
    xs = [_to(original, v) for v in values]
    pad = margin * (hi_o - lo_o)
    lo, hi = max(lo_o, min(xs) - pad), min(hi_o, max(xs) + pad)
    if p.type == "int":
        lo_i = max(original.low, math.floor(_from(original, lo) + 1e-9))
        hi_i = min(original.high, math.ceil(_from(original, hi) - 1e-9))
        if lo_i >= hi_i:  # one value left: keep a range of two so the parameter stays searchable
            hi_i = min(original.high, lo_i + 1)
            lo_i = hi_i - 1
        return Param(p.name, "int", lo_i, hi_i, log=p.log)
    if hi - lo <= 1e-12 * max(1.0, abs(hi_o - lo_o)):
        lo, hi = max(lo_o, lo - 1e-3 * (hi_o - lo_o)), min(hi_o, hi + 1e-3 * (hi_o - lo_o))
    low, high = _from(original, lo), _from(original, hi)
    # keep the exact original bounds where clipped (no 10**log10(x) round-off)
    if lo == lo_o:
        low = original.low
    if hi == hi_o:
        high = original.high
    return Param(p.name, p.type, low, high, log=p.log)


def narrow(space: dict[str, Param], original: dict[str, Param], results: list[dict],
           fraction: float, margin: float) -> tuple[dict[str, Param], list[int]]:
    """``(next_space, numbers of the top trials)`` from one stage's results."""
    top = top_trials(results, fraction)
    if not top:
        return dict(space), []
    out = {}
    for name, p in space.items():
        values = [r["params"][name] for r in top if name in r["params"]]
        out[name] = narrow_param(p, original[name], values, margin) if values else p
    return out, [r.get("number") for r in top]
