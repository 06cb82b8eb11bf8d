"""The docs that ship: the book map is generated (the committed page equals what the experiments
declare)."""

import json
import re
from pathlib import Path

import pytest

from trainlab.book_map import REGENERATE, _cell, book_map_markdown, entries
from trainlab.cli import main
from trainlab.experiments import get, names

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def test_the_committed_book_map_is_the_generated_one():
    committed = (DOCS / "book-map.md").read_text()
    assert committed == book_map_markdown(), (
        f"docs/book-map.md is out of date with the experiments' declarations; regenerate it from the "
        f"repository's root with: {REGENERATE}")


def test_the_book_map_says_what_the_brief_asks_of_every_experiment():
    text = book_map_markdown()
    for e in entries():
        exp = get(e.name)
        section = text.split(f"\n## {e.name}\n", 1)[1].split("\n## ", 1)[0]
        assert f"`{exp.book_script}`" in section and e.section in section and exp.book_figures in section
        assert exp.shows in section and f"{exp.default_seeds} seed" in section and "of one core" in section
        assert f"(reference-numbers.md#{e.name})" in section
        for key, decl in exp.config.items():
            row = next(line for line in section.splitlines() if line.startswith(f"| `{key}` |"))
            assert f"| `{_cell(json.dumps(decl.default, ensure_ascii=False))}` |" in row, row
            assert _cell(decl.help) in row, row
    assert re.search(r"\| `optimizer_compare_naive.py` \| §6\.1\.3–6\.1\.7 \| Figs\. 6-1, 6-2, ", text)


def test_book_map_cells_are_escaped():
    assert _cell("a|b\nc") == "a\\|b c"


def test_list_experiments_prints_the_same_entries_and_the_markdown(capsys):
    assert main(["list", "experiments"]) == 0
    text = capsys.readouterr().out
    for e in entries():
        assert f"  {e.name}: {e.title}" in text and f"{e.script}, {e.section}" in text
    assert main(["list", "experiments", "--markdown"]) == 0
    assert capsys.readouterr().out == book_map_markdown()
    with pytest.raises(SystemExit) as exc:
        main(["list", "optimizers", "--markdown"])
    assert exc.value.code == 2 and "only the experiments" in capsys.readouterr().err
