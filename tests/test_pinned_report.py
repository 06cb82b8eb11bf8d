"""Pinned before the refactor: every text the report takes from a run folder is HTML-escaped.

tests/test_report.py checks a claim's name and detail. Here a hostile string, different for every
place, is injected into everything else a run folder can carry: the runs folder's own path, a run
folder's name, the run's name, title, book section, status, message, error, dataset, seeds and
book numbers, the claims' names, details and values, every table title, header and cell of
``summary.json["tables"]`` (strings, lists, key/value cells, a bare non-list row), the
configuration's keys and values, a figure's file name, a search trial's state. The page must show
each one only in its escaped form (``&lt;`` ``&gt;`` ``&amp;`` ``&quot;`` ``&#x27;``, derived by
hand below) and contain no raw ``<script`` and no tag that the report does not write itself.

The run folders are run records (:mod:`trainlab.record`), written with RunRecord itself (the
layout before the refactor, result.json beside config.json, is now an older trainlab's).
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from matplotlib.figure import Figure

from trainlab.record import RunRecord
from trainlab.report import build_html

#: the tags the report writes itself (anything else came from a run directory unescaped)
REPORT_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "h4", "p", "br",
               "code", "table", "thead", "tbody", "tr", "th", "td", "a", "span", "div", "section", "ul",
               "li", "details", "summary", "pre", "figure", "img", "figcaption", "footer"}


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


def _tiny_figure() -> Figure:
    fig = Figure(figsize=(1, 1))
    fig.subplots().plot([0, 1], [0, 1])
    return fig


def _runs_dir(tmp_path: Path) -> tuple[Path, list[str]]:
    """Three fabricated runs; returns the runs folder and every place a hostile string went."""
    root = tmp_path / bad("runs-dir").replace("/", "|")  # a folder name cannot hold '/'
    places: list[str] = []

    def b(where: str) -> str:
        places.append(where)
        return bad(where)

    # run 1: an experiment, every file present
    figure_name = bad("figure-file").replace("/", "|")
    one = RunRecord.create(
        root / "run-one", "experiment", b("result-name"),
        {b("config-key"): b("config-value"), "lr": 0.01, "nested": {b("config-nested-key"): [b("config-list-item")]}},
        title=b("result-title"), book_section=b("book-section"), seeds=[b("seeds-item")],
        shows=b("shows"), description=b("description"),
        data={"name": b("dataset")},
        book={b("book-key"): b("book-value"), "nested": {b("book-nested-key"): [b("book-list-item")]}})
    one.write_figures({figure_name: _tiny_figure()})
    one.write_claims([
        {"name": b("claim-name"), "passed": True, "detail": b("claim-detail"),
         "values": {b("claim-value-key"): b("claim-value"), "list": [b("claim-value-list-item")],
                    "map": {b("claim-value-map-key"): b("claim-value-map-value")}}},
        {"name": b("failed-claim-name"), "passed": False, "detail": b("failed-claim-detail"), "values": {}},
    ])
    one.write_json("summary.json", {"tables": [
        {"title": b("table-title"),
         "columns": [b("column-1"), b("column-2"), b("column-3"), b("column-4")],
         "rows": [[b("cell-text"), 0.5, [b("cell-list-item-1"), b("cell-list-item-2")],
                   {b("cell-map-key"): b("cell-map-value")}],
                  [True, None, b("cell-second-row"), 3],
                  b("bare-row")]},
        {"title": b("second-table-title"), "columns": [b("second-table-column")], "rows": [[b("second-table-cell")]]},
    ]})
    one.finish("completed")

    # run 2: no name (the folder's name is used), crashed with an error, an unknown status
    two = RunRecord.create(root / bad("run-folder").replace("/", "|"), "train", "", {}, title=b("crashed-title"))
    two.finish("crashed", b("message"), error=b("error-text"))
    two.update(status=b("status"))
    places.append("run-folder")

    # run 3: a search whose trial ended in a state named by the search
    three = RunRecord.create(root / "search", "search", "search", {})
    three.child("trials/trial-0000", "trial", "trial-0000", {}, state=b("trial-state")).finish("completed")
    three.finish("completed")
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
    for where in ("result-name", "result-title", "book-section", "crashed-title", "status", "dataset"):
        assert escaped(bad(where)) in overview, where
    # the head line names the run that did not complete by its folder's name, and its status
    head = page.split('<p class="sub">')[1].split("<br>")[0]
    assert ("not completed: " + escaped(bad("run-folder").replace("/", "|")) + " (" + escaped(bad("status")) + ")"
            in head)


def test_a_figure_listed_but_missing_is_reported_escaped(tmp_path):
    root, _ = _runs_dir(tmp_path)
    run = RunRecord.open(root / "run-one")
    run.update(figures=run.manifest["figures"] + [bad("missing-figure")])
    page = build_html(root)
    problem = f"figure {bad('missing-figure')!r} is listed in run.json but missing from figures/"
    assert escaped(problem) in page and bad("missing-figure") not in page
