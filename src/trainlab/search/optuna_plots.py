"""Optuna's own plots of a search's study, drawn with its matplotlib backend beside the book's figures.

    optuna_history      the best validation accuracy so far, trial by trial
    optuna_importances  how much each parameter decides the validation accuracy (PED-ANOVA)
    optuna_slice        each parameter's value against the validation accuracy, one panel each
    optuna_parallel     every trial as a line through its parameters to its validation accuracy
    optuna_contour      the validation accuracy interpolated over each pair of parameters (needs SciPy)

:func:`optuna_figures` returns the figures it could draw and, for each one it did not, why (too
few complete trials, a single parameter, SciPy absent, PED-ANOVA unable to tell the parameters
apart): a small study never fails the search.
Optuna marks these functions experimental; that warning is silenced here only, around the calls,
and the ggplot style they switch on is undone after each (it would restyle every later figure).
"""

from __future__ import annotations

import warnings

__all__ = ["optuna_figures", "CAPTIONS", "NAMES"]

#: what each figure shows, in words (the report's captions)
CAPTIONS = {
    "optuna_history": "Optuna's optimization history: each complete trial's final validation accuracy in "
                      "the order the trials ran, and the best so far (line)",
    "optuna_importances": "Optuna's parameter importances (PED-ANOVA): how much each searched parameter "
                          "decides whether a trial is among the best ones; the importances sum to 1",
    "optuna_slice": "Optuna's slice plot: each complete trial's final validation accuracy against each "
                    "parameter's value (colour: trial number)",
    "optuna_parallel": "Optuna's parallel coordinates: every complete trial as a line through its "
                       "parameter values, coloured by its final validation accuracy",
    "optuna_contour": "Optuna's contour plot: the final validation accuracy interpolated over each pair of "
                      "parameters, the trials as dots",
}
NAMES = tuple(CAPTIONS)
TARGET = "validation accuracy"


def _scipy_missing() -> bool:
    try:
        import scipy  # noqa: F401  (Optuna's contour interpolates with scipy.sparse)
    except ImportError:
        return True
    return False


def _needs(n_complete: int, n_params: int) -> dict[str, str | None]:
    """Why each plot cannot be drawn (None: it can)."""
    few = (f"needs at least 2 complete trials, the study has {n_complete}" if n_complete < 2 else None)
    one = (f"needs at least 2 searched parameters, the search has {n_params}" if n_params < 2 else None)
    return {"optuna_history": few, "optuna_importances": few or one, "optuna_slice": few,
            "optuna_parallel": few or one,
            "optuna_contour": few or one or ("needs SciPy (pip install scipy), which is not installed"
                                             if _scipy_missing() else None)}


def _draw(name: str, study):
    from optuna.importance import PedAnovaImportanceEvaluator
    from optuna.visualization import matplotlib as ov

    if name == "optuna_history":
        return ov.plot_optimization_history(study, target_name=TARGET)
    if name == "optuna_importances":
        # PED-ANOVA needs only NumPy; fANOVA (the default of Optuna < 5) and mean decrease impurity
        # need scikit-learn, which TrainLab does not install. Named here, so the figure does not
        # change with Optuna's default.
        return ov.plot_param_importances(study, evaluator=PedAnovaImportanceEvaluator(), target_name=TARGET)
    if name == "optuna_slice":
        return ov.plot_slice(study, target_name=TARGET)
    if name == "optuna_parallel":
        return ov.plot_parallel_coordinate(study, target_name=TARGET)
    return ov.plot_contour(study, target_name=TARGET)


def _figure(axes):
    """The Figure of what an Optuna plot returns (an Axes or an array of them)."""
    import numpy as np

    return (np.asarray(axes).flat[0] if isinstance(axes, np.ndarray) else axes).figure


def _size(name: str, n_params: int) -> tuple[float, float]:
    """Inches: a slice panel per parameter, wide enough that log axes' tick labels do not overlap;
    a contour grid of n × n panels beyond two parameters; 6.4 × 4.8 (matplotlib's) otherwise."""
    if name == "optuna_slice":
        return 3.6 * n_params + 1.6, 4.8
    if name == "optuna_contour" and n_params > 2:
        return 3.2 * n_params + 1.6, 3.2 * n_params
    return 6.4, 4.8


def optuna_figures(study, n_params: int) -> tuple[dict, dict[str, str]]:
    """``({name: Figure}, {name: why it was not drawn})`` for the plots of :data:`NAMES`.

    ``study``: the search's Optuna study; ``n_params``: how many parameters the search varies."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.exceptions import ExperimentalWarning
    from optuna.trial import TrialState

    n_complete = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    figures, skipped = {}, {}
    for name, why in _needs(n_complete, n_params).items():
        if why:
            skipped[name] = why
            continue
        before = set(plt.get_fignums())
        with matplotlib.rc_context(), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.simplefilter("ignore", ExperimentalWarning)
            try:
                fig = _figure(_draw(name, study))
            except Exception as exc:  # an Optuna plot that cannot be drawn is a reason, not a failed search
                fig, why = None, f"Optuna could not draw it: {type(exc).__name__}: {exc}"
        # PED-ANOVA says so when it cannot tell the parameters apart (every trial tied, say): the
        # bars would all be equal, which is no finding; the warning is the reason
        equal = [str(w.message) for w in caught if "importances will be equal" in str(w.message)]
        if fig is None or equal:
            for number in set(plt.get_fignums()) - before:
                plt.close(number)
            skipped[name] = f"Optuna: {equal[0]}" if fig is not None else why
            continue
        for w in caught:  # any other warning, as it was
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        fig.set_size_inches(*_size(name, n_params))
        figures[name] = fig
    return figures, skipped
