"""``trainlab search`` and the ``search`` experiment: the book's hyperparameter procedure (§6.5)
automated on Optuna. One concept per module:

* :mod:`.space` — the search space (:class:`Param`, :class:`SpaceError`)
* :mod:`.syntax` — the ``--param NAME=SPEC`` mini-language
* :mod:`.targets` — what a parameter sets in the base run; one trial's model and training config
* :mod:`.config` — :class:`SearchConfig` (its search options declared for the command line)
* :mod:`.tomlfile` — ``--config FILE``
* :mod:`.book` — the book's configuration, numbers, Best-k table and claims
* :mod:`.narrowing` — stage ranges; :mod:`.objective` — one trial; :mod:`.study` — the loop
* :mod:`.numbers` — how every number is printed (three significant figures)
* :mod:`.results`, :mod:`.figures`, :mod:`.optuna_plots`, :mod:`.run` — the run record of a search

Trials run on any executor of :mod:`trainlab.executor`. See README.md here for several machines.
"""

from .book import book_config
from .config import SearchConfig
from .space import Param, SpaceError
from .syntax import parse_param

__all__ = ["Param", "SearchConfig", "SpaceError", "book_config", "parse_param"]
