"""The docs that ship: the book map is generated (the committed page equals what the experiments
declare), the reference numbers hold every number the report cites, and nothing a user reads points
at a file they cannot open."""

import json
import re
from pathlib import Path

import pytest

from trainlab.book_map import REGENERATE, _cell, book_map_markdown, entries
from trainlab.cli import main
from trainlab.experiments import get, names
from trainlab.search.book import BOOK as SEARCH_BOOK

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
REFERENCE = DOCS / "reference-numbers.md"


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


def _numbers(value):
    """Every number inside a book dict (not those written inside its strings)."""
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield float(value)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _numbers(v)


def _numbers_in(text: str) -> set[float]:
    found = re.findall(r"[−-]?\d+(?:\.\d+)?(?:e[−-]?\d+)?", text)
    return {float(n.replace("−", "-")) for n in found}


def _section(text: str, name: str) -> str:
    assert f"\n## {name}\n" in text, f"docs/reference-numbers.md has no section '## {name}'"
    return text.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]


#: the experiments that put the book's numbers beside ours (the instrument experiments go beyond
#: the book and have none)
WITH_BOOK_NUMBERS = [name for name in names() if get(name).book]


def test_the_book_numbers_cover_the_books_nine_experiments():
    assert len(WITH_BOOK_NUMBERS) == 9, WITH_BOOK_NUMBERS
    assert not {"schedules", "early-stopping", "diagnostics"} & set(WITH_BOOK_NUMBERS)


@pytest.mark.parametrize("name", WITH_BOOK_NUMBERS)
def test_every_number_the_report_cites_is_in_the_reference_page_with_its_source(name):
    text = REFERENCE.read_text()
    section = _section(text, name)
    book = SEARCH_BOOK if name == "search" else get(name).book
    assert f"docs/reference-numbers.md#{name}" in book["source"], book["source"]
    assert "**Source:" in section
    missing = sorted({v for v in _numbers(book) if v not in _numbers_in(section)})
    assert not missing, f"{name}: numbers of its book dict missing from docs/reference-numbers.md: {missing}"


def test_the_search_experiment_cites_the_search_commands_numbers():
    assert get("search").book == SEARCH_BOOK


#: files a reader of the package or the docs cannot open
UNREACHABLE = re.compile(r"book-ch06|torch-vs-book\.md|/work/|shared/reference|JP-notebook")


def _shipped_texts():
    for path in sorted((ROOT / "src" / "trainlab").rglob("*")):
        if path.suffix in (".py", ".md", ".toml") and "egg-info" not in str(path):
            yield path
    yield from sorted(DOCS.glob("*.md"))
    yield ROOT / "README.md"
    yield from sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_nothing_shipped_points_at_a_file_a_user_cannot_open():
    hits = []
    for path in _shipped_texts():
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if UNREACHABLE.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()[:100]}")
    assert not hits, "\n".join(hits)


def test_docs_links_resolve_and_the_readme_points_at_the_docs():
    for page in [*DOCS.glob("*.md"), ROOT / "README.md"]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"
    index = (DOCS / "README.md").read_text()
    for page in DOCS.glob("*.md"):
        if page.name != "README.md":
            assert f"]({page.name})" in index, f"docs/README.md does not list {page.name}"
    readme = (ROOT / "README.md").read_text()
    assert "](docs/README.md)" in readme and "](notebooks/chapter6_tour.ipynb)" in readme
    assert "trainlab list experiments" in readme
