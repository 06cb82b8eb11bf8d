"""A search configuration file (``trainlab search --config FILE``), in TOML::

    [search]                  # trials, stages, trials_per_stage, sampler, pruner, seed, top_fraction, margin
    trials = 100
    [model]                   # ModelSpec fields
    hidden_sizes = [100, 100, 100, 100, 100, 100]
    [training]                # TrainConfig fields; optimizer hyperparameters in optimizer_params
    epochs = 50
    [data]                    # DataSpec fields: train_size, val_fraction, split_seed, data_dir
    train_size = 500
    val_fraction = 0.2
    [space.lr]                # one table per searched option (trainlab.search.space)
    type = "log"
    low = 1e-6
    high = 1e-2

Each section overlays the configuration it is merged into (the book's, by default); a ``[space]``
table replaces the whole space. Errors are :class:`~trainlab.search.space.SpaceError` with field
``"config"`` (values are checked later by :meth:`SearchConfig.validate`).
"""

from __future__ import annotations

import tomllib

from .config import SEARCH_KEYS, SearchConfig
from .space import Param, SpaceError

__all__ = ["load_toml", "merge_toml", "SECTIONS"]

SECTIONS = ("search", "model", "training", "data", "space")


def load_toml(path) -> dict:
    """The parsed file; SpaceError('config') when it cannot be read or is not TOML."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise SpaceError("config", f"{path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpaceError("config", f"{path}: not valid TOML ({exc})") from None


def merge_toml(config: SearchConfig, doc: dict) -> None:
    """Overlay a parsed document on ``config`` (in place)."""
    extra = set(doc) - set(SECTIONS)
    if extra:
        raise SpaceError("config", f"unknown section(s) {sorted(extra)} in the configuration; "
                                   f"accepted: {list(SECTIONS)}")
    for section in SECTIONS:
        if section in doc and not isinstance(doc[section], dict):
            raise SpaceError("config", f"[{section}] must be a table, got {doc[section]!r}")
    for k, v in doc.get("search", {}).items():
        if k not in SEARCH_KEYS:
            raise SpaceError("config", f"unknown [search] option {k!r}; accepted: {list(SEARCH_KEYS)}")
        setattr(config, k, v)
    for section in ("model", "training", "data"):
        target = getattr(config, section)
        for k, v in doc.get(section, {}).items():
            target[k] = dict(v) if (section == "training" and k == "optimizer_params") else v
    if "space" in doc:
        config.space = {n: Param.from_dict(n, p) for n, p in doc["space"].items()}
