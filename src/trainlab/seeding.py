"""One seed, split into independent random streams with ``numpy.random.SeedSequence``.

Streams: ``init`` (initial weights), ``data`` (mini-batch order), ``dropout`` (dropout masks).
Because each has its own stream, turning dropout on does not change the initial weights or the
batch order, and the same seed always gives the same run.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STREAMS", "spawn_streams", "generator_state", "set_generator_state"]

STREAMS = ("init", "data", "dropout")


def spawn_streams(seed: int) -> dict[str, np.random.Generator]:
    """``{'init': Generator, 'data': Generator, 'dropout': Generator}`` from one integer seed."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    children = np.random.SeedSequence(int(seed)).spawn(len(STREAMS))
    return {name: np.random.Generator(np.random.PCG64(child)) for name, child in zip(STREAMS, children)}


def generator_state(rng: np.random.Generator) -> dict:
    """The JSON-serialisable state of a generator (PCG64 state holds plain Python ints)."""
    return rng.bit_generator.state


def set_generator_state(rng: np.random.Generator, state: dict) -> None:
    rng.bit_generator.state = state
