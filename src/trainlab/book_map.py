"""The book map: for every chapter-6 experiment, the book's script, section and figures, what it
shows, its ``--set`` keys with their defaults and its typical runtime — read from the experiments'
declarations (:class:`trainlab.experiments.base.Experiment`), never written by hand.

Two renderings of the same entries: :func:`experiments_text` is ``trainlab list experiments``,
:func:`book_map_markdown` is ``docs/book-map.md`` (``trainlab list experiments --markdown``; a test
checks that the committed file equals it, so the page cannot go stale).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = ["Entry", "KeyRow", "entries", "experiments_text", "book_map_markdown", "REGENERATE", "runtime",
           "section_only"]

#: the command that writes docs/book-map.md (from the repository's root)
REGENERATE = "trainlab list experiments --markdown > docs/book-map.md"


@dataclass(frozen=True)
class KeyRow:
    key: str
    default: str  # JSON
    help: str
    accepts: str


@dataclass(frozen=True)
class Entry:
    name: str
    title: str
    script: str
    section: str
    figures: str
    shows: str
    seeds: int
    seed_seconds: float
    uses_data: bool
    keys: tuple[KeyRow, ...]


def section_only(book_section: str) -> str:
    """``'§6.3.2, Figs. 6-18 and 6-19'`` → ``'§6.3.2'``: an experiment's ``book_section`` names its
    main figure too (the report shows it alone); the map gives the figures their own column."""
    for sep in (", Fig", " Fig"):
        if sep in book_section:
            return book_section.split(sep, 1)[0].rstrip(",; ")
    return book_section


def entries() -> list[Entry]:
    """Every experiment's declarations, in the book's order."""
    from .experiments import get, names

    out = []
    for name in names():
        exp = get(name)
        keys = tuple(KeyRow(key, json.dumps(decl.default, ensure_ascii=False), decl.help, decl.accepts())
                     for key, decl in exp.config.items())
        out.append(Entry(name, exp.title, exp.book_script, section_only(exp.book_section), exp.book_figures, exp.shows,
                         int(exp.default_seeds), float(exp.seed_seconds), bool(exp.uses_data), keys))
    return out


def seconds(s: float) -> str:
    return f"~{s:.0f} s" if s >= 1 else "< 1 s"


def runtime(e: Entry) -> str:
    """The typical runtime in words: seeds by default and one seed's time on one core."""
    seeds = f"{e.seeds} seed{'' if e.seeds == 1 else 's'}"
    return f"{seeds} by default, {seconds(e.seed_seconds)} of one core each"


def experiments_text() -> str:
    """``trainlab list experiments``."""
    lines = ["experiments (trainlab run NAME; --set KEY=VALUE changes a key; the book's script → NAME):"]
    for e in entries():
        lines.append(f"\n  {e.name}: {e.title}")
        lines.append(f"    book: {e.script or '–'}, {e.section}" + (f", {e.figures}" if e.figures else ""))
        if e.shows:
            lines.append(f"    shows: {e.shows}")
        lines.append(f"    seeds: {runtime(e)}" + ("; trains on --data-dir when given" if e.uses_data else ""))
        lines.append("    keys:")
        width = max(len(k.key) for k in e.keys)
        for k in e.keys:
            lines.append(f"      {k.key:<{width}} = {k.default}  — {k.help}; {k.accepts}")
    return "\n".join(lines)


def _cell(text: str) -> str:
    """Text for a Markdown table cell: a '|' would end the cell, a newline the row."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def book_map_markdown() -> str:
    """``docs/book-map.md``."""
    es = entries()
    out = [
        "# Book map: the book's chapter-6 scripts and TrainLab's experiments",
        "",
        f"<!-- Generated from the experiments' declarations; do not edit. Regenerate with: {REGENERATE} -->",
        "",
        "Each experiment reproduces one script of chapter 6 of *Deep Learning from Scratch* over several",
        "seeds, checks the book's claims on the numbers and draws the book's figures. Run one with",
        "`trainlab run NAME` (or `tl.run_experiment(\"NAME\")` in a notebook), all of them with",
        "`trainlab run all`; change a key with `--set KEY=VALUE` (`overrides={KEY: VALUE}` in Python).",
        "The book's numbers and the reference run's that each experiment is compared with are in",
        "[reference-numbers.md](reference-numbers.md). Times are for one seed on one core of a small",
        "machine; `trainlab run` spreads the seeds over its worker processes.",
        "",
        "| book script | section | figures | experiment | seeds × time |",
        "|---|---|---|---|---|",
    ]
    for e in es:
        out.append(f"| `{_cell(e.script or '–')}` | {_cell(e.section)} | {_cell(e.figures or '–')} | "
                   f"[{e.name}](#{e.name}) | {e.seeds} × {seconds(e.seed_seconds)} |")
    for e in es:
        out += ["", f"## {e.name}", "", f"**{e.title}**", ""]
        out.append(f"- book: `{e.script or '–'}`, {e.section}" + (f"; {e.figures}" if e.figures else ""))
        if e.shows:
            out.append(f"- shows: {e.shows}")
        out.append(f"- runtime: {runtime(e)}")
        out.append("- data: " + ("the bundled MNIST, or any IDX dataset with `--data-dir`" if e.uses_data
                                 else "none (no dataset)"))
        out.append(f"- run: `trainlab run {e.name}`")
        out.append(f"- the book's numbers it is compared with: [reference-numbers.md](reference-numbers.md#{e.name})")
        out += ["", "| key | default | meaning | accepts |", "|---|---|---|---|"]
        for k in e.keys:
            out.append(f"| `{_cell(k.key)}` | `{_cell(k.default)}` | {_cell(k.help)} | {_cell(k.accepts)} |")
    return "\n".join(out) + "\n"
