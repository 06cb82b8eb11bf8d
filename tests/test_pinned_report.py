"""Pinned before the refactor: every text the report takes from a run directory is HTML-escaped.

tests/test_report.py checks a claim's name and detail. Here a hostile string, different for every
place, is injected into everything else a run directory can carry: the runs folder's own path, a
run folder's name, the result's name, title, book section, status, error, seeds and book numbers,
the claims' names, details and values, every table title, header and cell of
``summary.json["tables"]`` (strings, lists, key/value cells, a bare non-list row), the
configuration's keys and values, and a figure's file name. The page must show each one only in its
escaped form (``&lt;`` ``&gt;`` ``&amp;`` ``&quot;`` ``&#x27;``, derived by hand below) and contain
no raw ``<script`` and no tag that the report does not write itself.

The run folders have the layout the report reads today (``result.json`` beside config.json,
summary.json, claims.json and figures/).
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

from trainlab.report import build_html

#: the tags the report writes itself (anything else came from a run directory unescaped)
REPORT_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "h4", "p", "br",
               "code", "table", "thead", "tbody", "tr", "th", "td", "a", "span", "div", "section", "ul",
               "li", "details", "summary", "pre", "figure", "img", "figcaption", "footer"}

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def bad(where: str) -> str:
    """A string that breaks out of text and of both kinds of quoted attribute, unique per place."""
    return f"<script>alert('{where}')</script>\"&amp;<b>{where}</b>'"


def escaped(text: str) -> str:
    """HTML escaping with quotes, written out: & first, then < > " '."""
    for raw, ent in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;")):
        text = text.replace(raw, ent)
    return text


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj), encoding="utf-8")


def _runs_dir(tmp_path: Path) -> tuple[Path, list[str]]:
    """Two fabricated runs; returns the runs folder and every place a hostile string went."""
    root = tmp_path / bad("runs-dir").replace("/", "|")  # a folder name cannot hold '/'
    places: list[str] = []

    def b(where: str) -> str:
        places.append(where)
        return bad(where)

    # run 1: named by its result.json, every file present
    one = root / "run-one"
    (one / "figures").mkdir(parents=True)
    figure_name = bad("figure-file").replace("/", "|")
    (one / "figures" / f"{figure_name}.png").write_bytes(PNG)
    _write_json(one / "result.json", {
        "name": b("result-name"), "title": b("result-title"), "book_section": b("book-section"),
        "status": "completed", "elapsed_s": 1.5, "seeds": [b("seeds-item")],
        "book": {b("book-key"): b("book-value"), "nested": {b("book-nested-key"): [b("book-list-item")]}},
        "figures": [figure_name],
    })
    _write_json(one / "claims.json", [
        {"name": b("claim-name"), "passed": True, "detail": b("claim-detail"),
         "values": {b("claim-value-key"): b("claim-value"), "list": [b("claim-value-list-item")],
                    "map": {b("claim-value-map-key"): b("claim-value-map-value")}}},
        {"name": b("failed-claim-name"), "passed": False, "detail": b("failed-claim-detail"), "values": {}},
    ])
    _write_json(one / "summary.json", {"tables": [
        {"title": b("table-title"),
         "columns": [b("column-1"), b("column-2"), b("column-3"), b("column-4")],
         "rows": [[b("cell-text"), 0.5, [b("cell-list-item-1"), b("cell-list-item-2")],
                   {b("cell-map-key"): b("cell-map-value")}],
                  [True, None, b("cell-second-row"), 3],
                  b("bare-row")]},
        {"title": b("second-table-title"), "columns": [b("second-table-column")], "rows": [[b("second-table-cell")]]},
    ]})
    _write_json(one / "config.json", {b("config-key"): b("config-value"), "lr": 0.01,
                                      "nested": {b("config-nested-key"): [b("config-list-item")]}})

    # run 2: no name in result.json (the folder's name is used), crashed with an error
    two = root / bad("run-folder").replace("/", "|")
    two.mkdir()
    places.append("run-folder")
    _write_json(two / "result.json", {"title": b("crashed-title"), "status": b("status"),
                                      "error": b("error-text"), "elapsed_s": 0.1})
    places.append("runs-dir")
    places.append("figure-file")
    return root, places


def test_every_text_from_a_run_directory_is_escaped(tmp_path):
    root, places = _runs_dir(tmp_path)
    page = build_html(root)
    for where in places:
        raw = bad(where)
        if where in ("runs-dir", "run-folder", "figure-file"):
            raw = raw.replace("/", "|")
        assert escaped(raw) in page, f"{where}: not shown escaped"
        assert raw not in page, f"{where}: shown raw"
    assert "<script" not in page.lower()
    assert "<b>" not in page
    parser = _Tags()
    parser.feed(page)
    assert parser.tags <= REPORT_TAGS, parser.tags - REPORT_TAGS


def test_names_in_the_overview_and_the_crashed_list_are_escaped(tmp_path):
    root, _ = _runs_dir(tmp_path)
    page = build_html(root)
    overview = page.split('<table class="overview">')[1].split("</table>")[0]
    for where in ("result-name", "result-title", "book-section", "crashed-title", "status"):
        assert escaped(bad(where)) in overview, where
    # the head line names the run that did not complete by its folder's name
    head = page.split('<p class="sub">')[1].split("<br>")[0]
    assert "crashed: " + escaped(bad("run-folder").replace("/", "|")) in head


def test_a_figure_listed_but_missing_is_reported_escaped(tmp_path):
    root, _ = _runs_dir(tmp_path)
    result = json.loads((root / "run-one" / "result.json").read_text(encoding="utf-8"))
    result["figures"].append(bad("missing-figure"))
    _write_json(root / "run-one" / "result.json", result)
    page = build_html(root)
    problem = f"figure {bad('missing-figure')!r} is listed in result.json but missing from figures/"
    assert escaped(problem) in page and bad("missing-figure") not in page
