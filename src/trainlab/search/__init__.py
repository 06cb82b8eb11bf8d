"""``trainlab search``: the book's hyperparameter procedure (§6.5) automated on Optuna.

One concept per module: :mod:`.space` (configuration and search space), :mod:`.narrowing`
(stage ranges), :mod:`.objective` (one trial), :mod:`.study` (storage, samplers, pruners, the
staged loop and resume), :mod:`.parallel` (in-process, local processes, Dask), :mod:`.results`
and :mod:`.figures` (the run directory). See README.md here for running on several machines.
"""

from .space import Param, SearchConfig, SpaceError, book_config, parse_param

__all__ = ["Param", "SearchConfig", "SpaceError", "book_config", "parse_param"]
