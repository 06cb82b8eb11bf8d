"""What an experiment is: declared configuration keys, a per-seed run, a summary, claims and figures.

An experiment is declared once, as a subclass of :class:`Experiment` with its configuration in
``config`` (``{key: Key}``, :mod:`.keys`: default, help, accepted values; each overridable with
``--set key=value``) and its reduced size for tests in ``reduced``. The runner
(:mod:`trainlab.experiments.runner`) resolves the configuration, runs every seed (on any executor),
and writes the experiment's run record (:mod:`trainlab.record`):

    RUN_DIR/run.json               kind "experiment": resolved config, seeds, status, book section, …
    RUN_DIR/seeds/seed-K.json|.csv what ``run_seed`` returned; its curves under ``"histories"``
                                   ({variant: History dict}), the CSV holds those curves
    RUN_DIR/summary.json, claims.json, figures/NAME.png|.svg

The report and ``trainlab compare`` read only these files, never retrain.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from .keys import Key

__all__ = ["Claim", "Experiment"]


@dataclass
class Claim:
    """One claim of the book, checked on our numbers. ``detail`` says the numbers in words.

    ``not_applicable`` says why the claim does not apply to this run (a search that is not the
    book's configuration, say): the claim is then neither held nor failed — ``passed`` is written
    as ``null``, what the check gave on our numbers as ``holds_here`` — and printed with ``–``."""

    name: str
    passed: bool
    detail: str
    values: dict[str, Any] = field(default_factory=dict)
    not_applicable: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["passed"] = bool(self.passed)
        if self.not_applicable:
            d["holds_here"], d["passed"] = d["passed"], None
        else:
            del d["not_applicable"]  # the claims of every other run keep their shape
        return d

    def line(self, reason: bool = True) -> str:
        """``✓ name: detail``; a claim not applicable says so (and why, unless ``reason`` is False:
        the caller said it once for several claims) and what the check gave here."""
        if self.not_applicable:
            why = f" ({self.not_applicable})" if reason else ""
            here = "would hold" if self.passed else "would not hold"
            return f"– {self.name}: not applicable{why}; here it {here}: {self.detail}"
        return f"{'✓' if self.passed else '✗'} {self.name}: {self.detail}"


class Experiment:
    """Base class. Subclasses set the class attributes and implement the four methods."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    book_section: ClassVar[str] = ""  # e.g. "§6.1.8, Fig. 6-9"
    #: the book's script this reproduces (``optimizer_compare_mnist.py``), its figures, what it shows
    book_script: ClassVar[str] = ""
    book_figures: ClassVar[str] = ""
    shows: ClassVar[str] = ""
    #: what each figure shows, in words, with the book's figure number ({figure name: caption})
    captions: ClassVar[dict[str, str]] = {}
    #: every key, declared: default, help, accepted values (each may be overridden with --set)
    config: ClassVar[dict[str, Key]] = {}
    #: overrides that make the experiment small enough for tests (seconds)
    reduced: ClassVar[dict[str, Any]] = {}
    #: default number of seeds
    default_seeds: ClassVar[int] = 5
    #: seconds one seed takes at full size on one core (for longest-first scheduling and the map)
    seed_seconds: ClassVar[float] = 1.0
    #: seconds the parent spends on the summary and figures once every seed is back; added to each
    #: seed's cost when scheduling, so an experiment with cheap seeds but slow figures starts early
    #: and its figures are drawn while the workers still have seeds to run (not alone at the end)
    finish_seconds: ClassVar[float] = 0.0
    #: whether it trains on a dataset (then ``--data-dir`` applies and the config has ``data_dir``)
    uses_data: ClassVar[bool] = True
    #: the book's / reference run's numbers, shown beside ours in the report (JSON)
    book: ClassVar[dict[str, Any]] = {}

    def defaults(self) -> dict[str, Any]:
        """The declared default of every key."""
        return {k: key.default for k, key in self.config.items()}

    def run_seed(self, config: dict, seed: int) -> dict:
        """Run once with ``seed``; return JSON-serialisable results, curves under ``"histories"``."""
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
