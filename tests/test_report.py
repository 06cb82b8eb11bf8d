"""The HTML report, built from fabricated run records of every kind (no training, a few seconds).

The runs are written with RunRecord itself (tests/runs_factory.py): two train runs (one nested two
folders down, diverged and reduced), two experiments (one reduced, with claims, the book's numbers
and a summary table), a search with three trials, and a folder an older trainlab wrote. Checks:
self-contained (no http(s) src/href, no script or link, every image a data URI), what each kind
shows, the reduced badge, statuses, every damaged part a note in its run's section and never a
crash, text escaped, and the command (it lists every run; usage errors exit 2).
"""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
import runs_factory as fab

from trainlab import files
from trainlab.record import RunRecord
from trainlab.report import NoRunsError, build_html, load_run, write_report

CLAIMS = [{"name": "Adam ends below SGD", "passed": True, "detail": "final loss 0.12 < 0.45",
           "values": {"adam": 0.12, "sgd": 0.45}},
          {"name": "AdaGrad is fastest", "passed": False, "detail": "AdaGrad 0.31 vs Adam 0.12", "values": {}}]
TABLE = {"title": "book vs ours", "columns": ["optimizer", "book", "ours"],
         "rows": [["adam", "0.927 / 0.721", 0.9123], ["sgd", "0.811", 0.8034]]}


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    root = tmp_path_factory.mktemp("template") / "runs"
    fab.train_run(root, "train-a", lr=0.01, seed=1)
    fab.train_run(root / "nested" / "deeper", "train-b", lr=0.5, seed=2, status="diverged", reduced=True,
                  message="the loss became NaN at epoch 3; lower --lr", dataset="fashion-mnist")
    fab.experiment_run(root, "optimizer-mnist", claims=CLAIMS, book={"adam": {"loss at 2000": 0.1}},
                       tables=[TABLE], reduced=True, title="Optimizers on MNIST")
    fab.experiment_run(root, "init-mnist", figures=("loss", "accuracy"), title="Weight initialisation")
    fab.search_run(root)
    (root / "old").mkdir()
    (root / "old" / "result.json").write_text(json.dumps({"name": "old", "status": "completed"}))
    (root / "notes").mkdir()  # not a run
    (root / "README.txt").write_text("hello")
    return root


@pytest.fixture
def runs_dir(template, tmp_path):
    return Path(shutil.copytree(template, tmp_path / "runs"))


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


def section(page: str, where: str) -> str:
    """The HTML of the section of the run in folder ``where``."""
    anchor = "run-" + re.sub(r"[^A-Za-z0-9_-]+", "-", where).strip("-")
    start = page.index(f'<section class="run" id="{anchor}">')
    return page[start:page.index("</section>", start)]


def overview_row(page: str, where: str) -> str:
    overview = page.split('<table class="overview">')[1].split("</table>")[0]
    return next(r for r in overview.split("<tr>") if f"<code>{where}</code>" in r)


def test_report_is_self_contained(runs_dir):
    path = write_report(runs_dir)
    assert path == runs_dir / "report.html"
    text = path.read_text(encoding="utf-8")
    tags = parse(text)
    for tag, attrs in tags:
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            assert not re.match(r"\s*(https?:)?//", value, re.I), (tag, key, value[:80])
        assert tag not in ("link", "script", "iframe", "object", "embed"), (tag, attrs)
    imgs = [attrs["src"] for tag, attrs in tags if tag == "img"]
    # train-a, train-b: curves; optimizer-mnist: loss; init-mnist: loss, accuracy; search: val_accuracy
    assert len(imgs) == 6
    assert all(src.startswith("data:image/png;base64,") for src in imgs)  # PNG preferred to SVG
    assert "http://" not in text.replace("http://www.w3.org", "")


def test_every_run_is_listed_whatever_its_kind_and_depth(runs_dir):
    page = build_html(runs_dir)
    overview = page.split('<table class="overview">')[1].split("</table>")[0]
    assert overview.count("<tr>") == 7  # header + 6 runs ('notes' and README.txt are no runs)
    order = [page.index(f'id="run-{a}"') for a in
             ("optimizer-mnist", "init-mnist", "search", "nested-deeper-train-b", "train-a", "old")]
    assert order == sorted(order)  # experiments in the book's order, the search, train runs, old ones
    for where, kind in (("optimizer-mnist", "experiment"), ("search", "search"), ("train-a", "train"),
                        ("nested/deeper/train-b", "train")):
        assert f'<span class="badge kind">{kind}</span>' in overview_row(page, where)
    assert "fashion-mnist" in overview_row(page, "nested/deeper/train-b")
    assert "6 run(s): 2 experiment(s), 1 search(es), 2 train run(s), 1 from an older trainlab" in page


def test_reduced_runs_are_marked_in_the_summary_and_their_section(runs_dir):
    page = build_html(runs_dir)
    badge = '<span class="badge reduced"'
    for where in ("optimizer-mnist", "nested/deeper/train-b"):
        assert badge in overview_row(page, where) and badge in section(page, where)
    for where in ("init-mnist", "search", "train-a"):
        assert badge not in overview_row(page, where) and badge not in section(page, where)
    assert "reduced size: optimizer-mnist, nested/deeper/train-b" in page


def test_an_experiment_shows_claims_book_tables_figures_and_config(runs_dir):
    s = section(build_html(runs_dir), "optimizer-mnist")
    assert "<h2>Optimizers on MNIST</h2>" in s
    assert s.count('<li class="ok">') == 1 and s.count('<li class="bad">') == 1
    assert "Adam ends below SGD" in s and "final loss 0.12 &lt; 0.45" in s and "AdaGrad 0.31 vs Adam 0.12" in s
    assert "The book&#x27;s numbers beside ours" in s or "The book's numbers beside ours" in s
    assert "<h4>book vs ours</h4>" in s and "0.927 / 0.721" in s and ">0.9123<" in s and ">0.8034<" in s
    assert "loss at 2000" in s and "adam = 0.12; sgd = 0.45" in s  # the book beside the claims' values
    assert '<span class="pill bad">1/2</span>' in s
    assert "<figcaption>loss</figcaption>" in s
    assert "<summary>Configuration</summary>" in s and "iterations" in s
    assert "status <span class=\"status-ok\">completed</span>" in s and "dataset mnist" in s


def test_a_search_shows_its_trials_best_k_claims_and_figure(runs_dir):
    s = section(build_html(runs_dir), "search")
    assert "3 trial(s): 2 complete, 1 pruned" in s
    summary = files.read_json(runs_dir / "search" / "summary.json")
    best_k = summary["tables"][0]
    assert best_k["title"] == "Best-k" and len(best_k["rows"]) == 2
    assert "<h4>Best-k</h4>" in s
    for row in best_k["rows"]:
        assert f">{row[1]}<" in s
    assert "best validation accuracy &gt;= 0.75" in s and '<span class="pill ok">1/1</span>' in s
    assert "<figcaption>val_accuracy</figcaption>" in s and "<summary>Configuration</summary>" in s


def test_a_train_run_shows_its_final_metrics_curves_and_config(runs_dir):
    page = build_html(runs_dir)
    s = section(page, "train-a")
    summary = files.read_json(runs_dir / "train-a" / "summary.json")
    metrics = s.split('<table class="metrics">')[1].split("</table>")[0]
    for key in ("train_acc", "val_acc", "test_acc", "train_loss", "val_loss", "test_loss"):
        assert f'<td class="num">{summary[key]:.4g}</td>' in metrics, key
    assert metrics.index(f"{summary['train_acc']:.4g}") < metrics.index(f"{summary['test_acc']:.4g}")
    assert f"epochs {summary['epochs_completed']}" in s and f"iterations {summary['iterations']}" in s
    assert f"best validation accuracy {summary['best_val_acc']:.4g} at epoch {summary['best_val_epoch']}" in s
    assert "<figcaption>curves</figcaption>" in s and "<summary>Configuration</summary>" in s
    assert "training" in s and "optimizer" in s
    assert f"test acc {summary['test_acc']:.4g}" in overview_row(page, "train-a")


def test_statuses_are_visible(runs_dir):
    page = build_html(runs_dir)
    s = section(page, "nested/deeper/train-b")
    assert '<span class="status-bad">diverged</span>' in s
    assert "the loss became NaN at epoch 3; lower --lr" in s
    assert '<span class="status-bad">diverged</span>' in overview_row(page, "nested/deeper/train-b")
    assert "not completed: nested/deeper/train-b (diverged)" in page
    for status in ("crashed", "interrupted"):
        rec = RunRecord.open(runs_dir / "train-a")
        rec.update(status=status, message=f"it {status}", error="Traceback <x>")
        page = build_html(runs_dir)
        s = section(page, "train-a")
        assert f'<span class="status-bad">{status}</span>' in s and f"it {status}" in s
        assert "Traceback &lt;x&gt;" in s


def test_an_older_run_folder_is_listed_with_a_note(runs_dir):
    s = section(build_html(runs_dir), "old")
    assert "written by an older trainlab" in s and "run it again" in s
    assert "older trainlab</span>" in s
    only_old = runs_dir / "nested"
    shutil.rmtree(only_old)
    (only_old / "v01").mkdir(parents=True)
    (only_old / "v01" / "result.json").write_text("{}")
    assert "run it again" in build_html(only_old)  # a folder of old runs only: a page, not an error


def _damage(runs_dir: Path, where: str, **manifest) -> None:
    path = runs_dir / where / "run.json"
    m = files.read_json(path)
    m.update(manifest)
    files.write_json(path, m)


@pytest.mark.parametrize("where, damage, note", [
    ("train-a", lambda d: _damage(d, "train-a", figures=5), "run.json: &#x27;figures&#x27; should be a list"),
    ("train-a", lambda d: files.write_json(d / "train-a" / "summary.json", [1, 2]),
     "summary.json is not a JSON object (it holds a list)"),
    ("train-a", lambda d: (d / "train-a" / "summary.json").write_text("{not json"), "summary.json could not be read"),
    ("train-a", lambda d: (d / "train-a" / "run.json").write_text("{not json"), "run.json is unreadable"),
    ("train-a", lambda d: files.write_json(d / "train-a" / "run.json", ["a", "list"]), "is not a JSON object"),
    ("train-a", lambda d: _damage(d, "train-a", elapsed_s="soon", config="lr=1", data=7, reduced="yes"),
     "run.json: &#x27;config&#x27; should be an object"),
    ("optimizer-mnist", lambda d: (d / "optimizer-mnist" / "claims.json").write_text("[oops"),
     "claims.json could not be read"),
    ("optimizer-mnist", lambda d: (d / "optimizer-mnist" / "figures" / "loss.png").unlink() or
     (d / "optimizer-mnist" / "figures" / "loss.svg").unlink(),
     "figure &#x27;loss&#x27; is listed in run.json but missing from figures/"),
    ("optimizer-mnist", lambda d: (d / "optimizer-mnist" / "figures" / "loss.png").write_bytes(b"GIF89a..."),
     "figure loss.png is not a PNG image"),
    ("search", lambda d: (d / "search" / "trials" / "trial-0001" / "run.json").write_text("{"), "1 unreadable"),
    ("init-mnist", lambda d: _damage(d, "init-mnist", kind="spaceship"), "unknown kind &#x27;spaceship&#x27;"),
])
def test_a_damaged_part_is_a_note_in_its_section_never_a_crash(runs_dir, where, damage, note):
    damage(runs_dir)
    page = build_html(runs_dir)
    assert note in section(page, where)
    assert page.count('<section class="run"') == 6  # every other run still shown
    assert "Adam ends below SGD" in page or where == "optimizer-mnist"


@pytest.mark.parametrize("value", [5, "x <y>", None, True, [1, {"a": []}], {"n": "m"}])
def test_any_value_in_any_field_of_run_json_or_summary_is_shown_not_fatal(runs_dir, value):
    """Every field of every kind's run.json and summary.json replaced by a value of another type."""
    cases = [(where, name, key) for where in ("train-a", "optimizer-mnist", "search")
             for name in ("run.json", "summary.json")
             for key in files.read_json(runs_dir / where / name)]
    assert len(cases) > 50
    for where, name, key in cases:
        path = runs_dir / where / name
        original = path.read_bytes()
        data = files.read_json(path)
        data[key] = value
        files.write_json(path, data)
        try:
            page = build_html(runs_dir)
        finally:
            path.write_bytes(original)
        assert page.count('<section class="run"') == 6, (where, name, key)
        assert "could not be shown" not in page and "could not be read: " not in page, (where, name, key)


def test_a_damaged_figure_falls_back_to_the_svg_and_a_listed_one_needs_no_png(runs_dir):
    (runs_dir / "optimizer-mnist" / "figures" / "loss.png").write_bytes(b"not a png")
    view = load_run(runs_dir / "optimizer-mnist", runs_dir)
    assert [(f.name, f.mime) for f in view.figures] == [("loss", "image/svg+xml")]
    _damage(runs_dir, "train-a", figures=5)
    view = load_run(runs_dir / "train-a", runs_dir)
    assert [f.name for f in view.figures] == ["curves"]  # still found in figures/


def test_text_is_escaped(tmp_path):
    hostile = "<script>alert(1)</script>&<b>x</b>\"'"
    safe = hostile.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;") \
        .replace("'", "&#x27;")
    root = tmp_path / "runs"
    fab.train_run(root, "t", title=f"title {hostile}", dataset=f"data {hostile}", status="diverged",
                  message=f"message {hostile}")
    fab.experiment_run(root, "e", title=f"exp {hostile}", book={f"book key {hostile}": f"book value {hostile}"},
                       claims=[{"name": f"claim {hostile}", "passed": False, "detail": f"detail {hostile}",
                                "values": {f"vk {hostile}": f"vv {hostile}"}}],
                       tables=[{"title": f"table {hostile}", "columns": [f"header {hostile}"],
                                "rows": [[f"cell {hostile}"], f"bare row {hostile}"]}],
                       config={f"config key {hostile}": f"config value {hostile}"})
    page = build_html(root)
    for place in ("title", "data", "message", "exp", "book key", "book value", "claim", "detail", "vk", "vv",
                  "table", "header", "cell", "bare row", "config key", "config value"):
        assert f"{place} {safe}" in page, place
    assert "<script" not in page and "<b>" not in page


def test_out_path_and_errors(tmp_path, runs_dir):
    out = write_report(runs_dir, tmp_path / "elsewhere" / "r.html")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert oct(out.stat().st_mode & 0o777) == oct(files.file_mode())  # written through trainlab.files
    with pytest.raises(NoRunsError, match="not a folder"):
        write_report(tmp_path / "missing")
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(NoRunsError, match="run.json"):
        write_report(tmp_path / "empty")
    one = write_report(runs_dir / "train-a", tmp_path / "one.html").read_text(encoding="utf-8")
    assert one.count('<section class="run"') == 1 and "Final metrics" in one  # a run folder itself


@pytest.fixture
def cli_main(monkeypatch):
    """``trainlab.cli.main``; returns the exit code."""
    from trainlab import cli

    def run(*argv):
        try:
            return cli.main([str(a) for a in argv])
        except SystemExit as exc:
            return exc.code

    return run


def test_command(tmp_path, runs_dir, capsys, cli_main):
    assert cli_main("report", runs_dir, "--out", tmp_path / "x.html") == 0
    out = capsys.readouterr().out
    assert (tmp_path / "x.html").exists() and "report:" in out and "(6 run(s))" in out
    for line in ("experiment completed   optimizer-mnist 1/2 claims reduced size",
                 "train      diverged    nested/deeper/train-b reduced size", "search     completed   search"):
        assert line in out, out
    (tmp_path / "empty").mkdir()
    for bad in (tmp_path / "empty", tmp_path / "missing"):
        assert cli_main("report", bad) == 2
        err = capsys.readouterr().err
        assert "run.json" in err and "Traceback" not in err


def test_the_books_numbers_are_a_table_of_quantities_and_figures_have_captions_in_words(tmp_path):
    """One row per quantity (the book's number, its source, ours over seeds, agrees?) comes first; the
    recorded reference dict is one click away; each figure is captioned with its words, not its file name."""
    from trainlab.experiments.panels import compare_row, comparison_table
    from trainlab.record import RunRecord

    from runs_factory import experiment_run

    rows = [compare_row("Adam: loss at iteration 500", 0.07, "one unseeded run", [0.085, 0.103, 0.121], 0.05),
            compare_row("SGD: loss at iteration 1000", 0.18, "one unseeded run", [0.263, 0.304, 0.354], 0.05)]
    assert [r["agrees"] for r in rows] == [True, False]  # 0.07 ≥ 0.085 − 0.05; 0.18 < 0.263 − 0.05
    path = experiment_run(tmp_path, "optimizer-mnist", tables=[comparison_table(rows, 3)],
                          book={"loss_at": {"500": {"Adam": 0.07}}}, figures=("loss",))
    rec = RunRecord.open(path)
    rec.manifest["figure_captions"] = {"loss": "Fig. 6-9: the <smoothed> loss"}
    rec.save()
    page = build_html(tmp_path)
    table = page.index("Adam: loss at iteration 500")
    assert page.index("The book&#x27;s numbers beside ours") < table < page.index("<details><summary>The reference")
    assert "0.103 (0.085–0.121)" in page and "✓ (±0.05)" in page and "✗ (±0.05)" in page
    assert "<figcaption>Fig. 6-9: the &lt;smoothed&gt; loss</figcaption>" in page
