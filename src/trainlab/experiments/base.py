"""What an experiment is: a declared configuration, a per-seed run, a summary, claims and figures.

An experiment is declared once, as a subclass of :class:`Experiment` with its configuration in
``config`` (a flat dict of JSON values, overridable with ``--set key=value``) and its reduced
size for tests in ``reduced``. The shared runner (:mod:`trainlab.experiments.runner`) resolves the
configuration, runs every seed, and writes the run directory:

    RUN_DIR/
      config.json        the fully resolved configuration (+ experiment name, seeds, version)
      seeds/seed-<k>.json   what ``run_seed`` returned for seed k (histories, curves)
      summary.json       what ``summarize`` returned (means, bands, final metrics)
      claims.json        the list of claims, each {name, passed, detail, values}
      figures/<name>.png and .svg
      result.json        {name, title, status, elapsed_s, book: the book's numbers, claims summary}

The report reads only these files, never retrains.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

__all__ = ["Claim", "Experiment"]


@dataclass
class Claim:
    """One claim of the book, checked on our numbers. ``detail`` says the numbers in words."""

    name: str
    passed: bool
    detail: str
    values: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["passed"] = bool(self.passed)
        return d

    def line(self) -> str:
        return f"{'✓' if self.passed else '✗'} {self.name}: {self.detail}"


class Experiment:
    """Base class. Subclasses set the class attributes and implement the four methods."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    book_section: ClassVar[str] = ""  # e.g. "§6.1.8, Fig. 6-9"
    #: the fully declared configuration; every key may be overridden with --set key=value
    config: ClassVar[dict[str, Any]] = {}
    #: overrides that make the experiment small enough for tests (seconds)
    reduced: ClassVar[dict[str, Any]] = {}
    #: default number of seeds (5 where that costs seconds)
    default_seeds: ClassVar[int] = 5
    #: the book's / reference run's numbers, shown beside ours in the report (free-form, JSON)
    book: ClassVar[dict[str, Any]] = {}

    def run_seed(self, config: dict, seed: int) -> dict:
        """Run once with ``seed``; return JSON-serialisable results (histories, curves)."""
        raise NotImplementedError

    def summarize(self, config: dict, runs: list[dict]) -> dict:
        """Combine the per-seed results: means, spreads, final metrics (JSON-serialisable)."""
        raise NotImplementedError

    def claims(self, config: dict, summary: dict, runs: list[dict]) -> list[Claim]:
        """The book's claims as named checks on ``summary`` (a failed claim stays failed)."""
        raise NotImplementedError

    def figures(self, config: dict, summary: dict, runs: list[dict]) -> dict:
        """``{name: matplotlib Figure}``; the runner saves each as PNG and SVG and closes it."""
        raise NotImplementedError
