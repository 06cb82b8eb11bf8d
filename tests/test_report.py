"""The HTML report, built from small fabricated run directories (no training, well under a second).

Checks: self-contained (no http(s) src/href, no script, every image a data URI), every claim with
its ✓/✗ and detail, every figure, the book's numbers, the configuration collapsible, the summary
table, text escaped, unusual directories tolerated, and the command's usage errors (exit 2).
"""

from __future__ import annotations

import functools
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from trainlab.report import NoRunsError, build_html, write_report


@functools.lru_cache(maxsize=None)
def _figure_bytes(fmt: str) -> bytes:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1.5))
    fig.subplots().plot([0, 1, 2], [0.1, 0.5, 0.4])
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=40)
    return buf.getvalue()


def make_run(root: Path, name: str, claims: list[dict], figures: dict[str, tuple[str, ...]],
             book=None, title=None, extra_result=None, summary=None) -> Path:
    d = root / name
    (d / "figures").mkdir(parents=True)
    for fig, formats in figures.items():
        for fmt in formats:
            (d / "figures" / f"{fig}.{fmt}").write_bytes(_figure_bytes(fmt))
    (d / "config.json").write_text(json.dumps({"lr": 0.01, "hidden_sizes": [100] * 6, "name": name}))
    (d / "summary.json").write_text(json.dumps(summary or {}))
    (d / "claims.json").write_text(json.dumps(claims))
    result = {"name": name, "title": title or name.title(), "book_section": "§6.4", "status": "completed",
              "elapsed_s": 12.5, "seeds": 2, "book": book or {}, "n_claims": len(claims),
              "n_passed": sum(c["passed"] for c in claims), "figures": list(figures)}
    result.update(extra_result or {})
    (d / "result.json").write_text(json.dumps(result))
    return d


@pytest.fixture
def runs_dir(tmp_path):
    root = tmp_path / "runs"
    make_run(root, "overfitting",
             [{"name": "weight decay shrinks the train–test gap", "passed": True,
               "detail": "final gap λ=0.1: 0.172 vs λ=0: 0.253", "values": {"gap_with": 0.172}},
              {"name": "without decay train accuracy reaches ≥ 0.99", "passed": False,
               "detail": "final train accuracy 0.913", "values": {}}],
             {"accuracy": ("png", "svg")}, book={"lambda_0.1": {"epoch 200": [0.927, 0.721]}},
             title="Overfitting and weight decay",
             summary={"tables": [{"title": "book vs ours", "columns": ["epoch", "book", "ours"],
                                  "rows": [["200", "0.927 / 0.721", "0.887 / 0.715"]]}]})
    make_run(root, "dropout", [{"name": "dropout <b>p=0.2</b> & shrinks the gap", "passed": True,
                                "detail": "gap 0.138 < 0.252 <script>alert(1)</script>", "values": {}}],
             {"accuracy": ("svg",), "extra": ("png",)}, book={"final_test_acc": 0.5478})
    # a 'trainlab search' directory: result.json only, with its own fields
    (root / "search-2024").mkdir()
    (root / "search-2024" / "result.json").write_text(json.dumps(
        {"name": "search", "title": "Hyperparameter search (book §6.5) on Optuna", "status": "completed",
         "elapsed_s": 3.0, "book": {"best": [{"val_acc": 0.83, "lr": 0.0092}]}}))
    # not runs: a folder without result.json, a stray file
    (root / "notes").mkdir()
    (root / "README.txt").write_text("hello")
    return root


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def parse(text: str) -> list[tuple[str, dict]]:
    p = _Tags()
    p.feed(text)
    return p.tags


def test_report_is_self_contained(runs_dir):
    path = write_report(runs_dir)
    assert path == runs_dir / "report.html"
    text = path.read_text(encoding="utf-8")
    tags = parse(text)
    for tag, attrs in tags:
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            assert not re.match(r"\s*(https?:)?//", value, re.I), (tag, key, value[:80])
        if tag == "link":
            pytest.fail(f"external stylesheet/link: {attrs}")
    assert not any(tag == "script" for tag, _ in tags)
    imgs = [attrs["src"] for tag, attrs in tags if tag == "img"]
    assert len(imgs) == 3  # overfitting/accuracy (PNG preferred), dropout/accuracy (SVG), dropout/extra
    assert all(src.startswith("data:image/") and ";base64," in src for src in imgs)
    assert sum(src.startswith("data:image/png") for src in imgs) == 2
    assert sum(src.startswith("data:image/svg+xml") for src in imgs) == 1
    assert "http://" not in text.replace("http://www.w3.org", "")  # only SVG namespaces, inside data URIs


def test_report_has_claims_figures_book_config(runs_dir):
    text = build_html(runs_dir)
    # summary table: one row per run with passed/total and time
    overview = text.split('<table class="overview">')[1].split("</table>")[0]
    assert overview.count("<tr>") == 4  # header + 3 runs
    assert "1/2" in overview and "1/1" in overview and "12.5 s" in overview
    # order: the book's experiments first, then other runs
    assert text.index('id="run-overfitting"') < text.index('id="run-dropout"') < text.index('id="run-search"')
    # each claim with its mark and detail
    assert "weight decay shrinks the train–test gap" in text and "final gap λ=0.1: 0.172 vs λ=0: 0.253" in text
    assert text.count('<li class="ok">') == 2 and text.count('<li class="bad">') == 1
    assert "✓" in text and "✗" in text
    # figures with captions, the book's numbers and our table, the configuration collapsible
    assert "<figcaption>accuracy</figcaption>" in text and "<figcaption>extra</figcaption>" in text
    assert "0.927" in text and "0.721" in text and "0.5478" in text and "0.887 / 0.715" in text
    assert text.count("<summary>Configuration</summary>") == 2  # the search dir has no config.json
    assert "Hyperparameter search (book §6.5) on Optuna" in text
    assert "notes" not in re.sub(r"<[^>]+>", "", text).split()  # folders without result.json are skipped


def test_text_is_escaped(runs_dir):
    text = build_html(runs_dir)
    assert "<script>" not in text and "<b>p=0.2</b>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "dropout &lt;b&gt;p=0.2&lt;/b&gt; &amp; shrinks the gap" in text


def test_damaged_run_directory_is_reported_not_fatal(runs_dir):
    (runs_dir / "dropout" / "claims.json").write_text("{not json")
    (runs_dir / "overfitting" / "figures" / "accuracy.png").unlink()
    (runs_dir / "overfitting" / "figures" / "accuracy.svg").unlink()
    crashed = make_run(runs_dir, "ensemble", [], {}, extra_result={"status": "crashed", "error": "Trace <x>"})
    assert crashed.exists()
    text = build_html(runs_dir)
    assert "claims.json could not be read" in text
    assert "figure &#x27;accuracy&#x27; is listed in result.json but missing" in text
    assert "Trace &lt;x&gt;" in text and "crashed" in text


def test_out_path_and_errors(tmp_path, runs_dir):
    out = write_report(runs_dir, tmp_path / "elsewhere" / "r.html")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    with pytest.raises(NoRunsError, match="not a directory"):
        write_report(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoRunsError, match="result.json"):
        write_report(tmp_path / "empty")


def test_command(tmp_path, runs_dir, capsys):
    from trainlab.cli import main

    assert main(["report", str(runs_dir), "--out", str(tmp_path / "x.html")]) == 0
    assert (tmp_path / "x.html").exists() and "report:" in capsys.readouterr().out
    (tmp_path / "empty").mkdir()
    for bad in (tmp_path / "empty", tmp_path / "missing"):
        with pytest.raises(SystemExit) as exc:
            main(["report", str(bad)])
        assert exc.value.code == 2
        assert "result.json" in capsys.readouterr().err
