"""The chapter-6 tour (notebooks/chapter6_tour.ipynb): committed without outputs, a markdown cell per
book section, only the public API, and run end to end in its fast mode in a real Jupyter kernel with no
cell erroring and a figure in every section.

nbclient, nbformat and ipykernel are test requirements (``pip install -e '.[test]'``): where they are
missing this test fails rather than skips, since the set-up installs them.
"""

import ast
import json
import os
import re
import sys
import time
from pathlib import Path

import nbclient
import nbformat

import trainlab as tl

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "chapter6_tour.ipynb"
SECTIONS = {"6.1": "Updating the parameters", "6.2": "The initial weights", "6.3": "Batch normalisation",
            "6.4": "Overfitting", "6.5": "Searching for hyperparameters"}
FAST_LINE = re.compile(r"^FAST = (True|False)\b.*$", re.M)


def _read():
    return nbformat.read(NOTEBOOK, as_version=4)


def _code(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _sections(nb) -> dict[str, list]:
    """The cells of each book section: its '## 6.x' heading and every cell up to the next '## '."""
    out, current = {}, None
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            m = re.match(r"## (6\.\d) ", cell.source)
            current = m.group(1) if m else None
            if current:
                out[current] = []
        if current:
            out[current].append(cell)
    return out


def test_the_notebook_is_valid_and_committed_without_outputs():
    nb = _read()
    nbformat.validate(nb)
    for cell in _code(nb):
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
    assert nb.metadata.kernelspec.name == "python3"


def test_a_markdown_cell_per_book_section_with_code_under_it():
    nb = _read()
    headings = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## ")]
    for number, title in SECTIONS.items():
        assert any(h.startswith(f"## {number} {title}") for h in headings), (number, headings)
    sections = _sections(nb)
    for number in SECTIONS:
        cells = sections[number]
        assert any(c.cell_type == "code" for c in cells), number
        assert any(c.cell_type == "markdown" and "What to look at" in c.source for c in cells), number


def test_the_first_code_cell_holds_the_fast_switch():
    first = _code(_read())[0].source
    assert FAST_LINE.search(first) and FAST_LINE.search(first).group(1) == "True"


def test_only_the_public_api():
    """The notebook imports trainlab only as ``tl`` and uses only names of ``tl.__all__``."""
    used = set()
    for cell in _code(_read()):
        source = "\n".join(line for line in cell.source.splitlines() if not line.startswith("%"))
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("trainlab") or (alias.name, alias.asname) == ("trainlab", "tl")
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("trainlab"), node.module
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "tl":
                used.add(node.attr)
    assert used, "the notebook uses nothing of trainlab"
    assert used <= set(tl.__all__) | {"__version__"}, used - set(tl.__all__)


def _kernel(tmp_path, monkeypatch) -> str:
    """A kernelspec for this very interpreter, with this checkout of trainlab on its path."""
    spec = tmp_path / "jupyter" / "kernels" / "trainlab-tour"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "trainlab tour test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    src = str(Path(tl.__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p))
    return "trainlab-tour"


def test_the_notebook_runs_end_to_end_in_fast_mode(tmp_path, monkeypatch):
    nb = _read()
    first = _code(nb)[0]
    first.source, n = FAST_LINE.subn("FAST = True  # set by the test", first.source)
    assert n == 1
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name=_kernel(tmp_path, monkeypatch),
                                     resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    seconds = time.perf_counter() - start
    print(f"chapter6_tour.ipynb ran in {seconds:.1f} s (fast mode)")
    for cell in _code(nb):
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.source[:80]
        streams = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == "stderr")
        assert "Traceback" not in streams and "Warning" not in streams, streams
    for number, cells in _sections(nb).items():
        images = [o for c in cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
        assert images, f"section {number} shows no figure"
    printed = "".join(o.get("text", "") for c in _code(nb) for o in c.outputs if o.output_type == "stream")
    for line in ("sgd       ends at (-0.350, 0.085)", "adagrad   ends at (-0.120, 0.000)",
                 "adam      ends at (0.136, 0.318)"):
        assert line in printed  # the book's code's end points (docs/reference-numbers.md)
    cards = [o["data"]["text/html"] for c in _code(nb) for o in c.outputs if "text/html" in o.get("data", {})]
    assert any("claims: 7 of 7 hold" in h for h in cards) and any("History" in h for h in cards)
    assert seconds < 600
