"""How the search prints a number: three significant figures, everywhere (:func:`fmt`).

Every number ``trainlab search`` prints or writes as text — ranges, parameters, accuracies,
narrowing stages, times, the claims' measured numbers, the Best-k table — goes through
:func:`fmt`, so ``5.458199397036847e-06`` is ``5.46e-06`` and ``0.1`` is ``0.100`` wherever it
appears. Integers (counts, batch sizes, epochs) and strings are printed as they are.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["fmt", "FIGURES"]

#: significant figures of every number the search prints
FIGURES = 3


def fmt(v, figures: int = FIGURES) -> str:
    """``v`` with ``figures`` significant figures, trailing zeros kept (``0.100``, ``1.00e-06``).

    Fixed notation from 1e-4 up to 1e6 (``0.000304``, ``12.3``, ``1230``), scientific outside it
    (``5.46e-06``); NaN and infinities as ``nan``, ``inf``, ``-inf``; zero as ``0``. Integers,
    booleans and anything that is not a real number are printed with ``str``."""
    if isinstance(v, (bool, numbers.Integral)) or not isinstance(v, numbers.Real):
        return str(v)
    v = float(v)
    if not math.isfinite(v):
        return str(v)
    if v == 0:
        return "0"
    rounded = float(f"{v:.{figures - 1}e}")  # rounding first: 9.9996 is 10.0, not 9.100
    exponent = math.floor(math.log10(abs(rounded)))
    if -4 <= exponent < 6:
        return f"{rounded:.{max(0, figures - 1 - exponent)}f}"
    return f"{rounded:.{figures - 1}e}"
