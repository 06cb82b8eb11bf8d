"""The chapter-6 experiments, each declared once in its own module.

``get(name)`` returns the experiment instance; ``names()`` lists them in the book's order.
Each module defines one :class:`~trainlab.experiments.base.Experiment` subclass named ``EXPERIMENT``
(an instance).
"""

from __future__ import annotations

import importlib

from .base import Claim, Experiment

__all__ = ["Claim", "Experiment", "get", "names", "MODULES"]

#: experiment name → module, in the book's order, then the instruments beyond the book
MODULES = {
    "optimizer-race": "optimizer_race",
    "optimizer-mnist": "optimizer_mnist",
    "activation-histograms": "activation_histograms",
    "init-mnist": "init_mnist",
    "batchnorm": "batchnorm",
    "overfitting": "overfitting",
    "dropout": "dropout",
    "ensemble": "ensemble",
    "search": "search_book",
    # beyond the book: the training instruments
    "schedules": "schedules_mnist",
    "early-stopping": "early_stopping_small",
    "diagnostics": "diagnostics_mnist",
}


def names() -> list[str]:
    return list(MODULES)


def get(name: str) -> Experiment:
    if name not in MODULES:
        raise ValueError(f"unknown experiment {name!r}; valid experiments are: {', '.join(MODULES)}, all")
    return importlib.import_module(f".{MODULES[name]}", __package__).EXPERIMENT
