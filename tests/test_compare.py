"""``trainlab compare`` on fabricated run records (tests/runs_factory.py, written with RunRecord).

Checks: a train run, two seeds of an experiment and a search trial overlaid — one PNG+SVG per
shared metric with every curve in its legend, labels prefixed with the run's name, the table of
final (last finite) and best values equal to the histories', the configuration keys that differ;
labels made unique for two runs of the same name; a single run's labels left alone; escaping of
every label, header and cell of compare.html; the usage errors (exit 2, what exists named, nothing
written, no traceback); an output folder reused by a later comparison.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
import runs_factory as fab

from trainlab import files
from trainlab.compare import flatten


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    root = tmp_path_factory.mktemp("template") / "runs"
    fab.train_run(root, "train-a", lr=0.01, seed=1, top=0.95)
    fab.experiment_run(root, "optimizer-mnist", config={"iterations": 20, "lr": 0.05, "data_dir": None},
                       reduced=True)
    fab.search_run(root)
    (root / "old").mkdir()
    (root / "old" / "result.json").write_text("{}")
    return root


@pytest.fixture
def runs(template, tmp_path):
    return Path(shutil.copytree(template, tmp_path / "runs"))


@pytest.fixture
def cli_main(monkeypatch, capsys):
    """``trainlab.cli.main``; returns (exit code, stdout, stderr)."""
    from trainlab import cli

    def run(*argv):
        try:
            code = cli.main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def legend(svg: Path) -> list[str]:
    """The texts of an SVG that matplotlib drew (it writes each as a comment)."""
    return re.findall(r"<!-- (.*?) -->", svg.read_text(encoding="utf-8"))


def history(run: Path, label: str) -> dict:
    if (run / "history.json").is_file():
        return files.read_json(run / "history.json")
    if label.startswith("trial-"):
        return files.read_json(run / "trials" / label / "history.json")
    variant, seed = label.split("/")
    return files.read_json(run / "seeds" / f"{seed}.json")["histories"][variant]


def test_a_train_run_two_experiment_seeds_and_a_search_trial(runs, tmp_path, cli_main):
    out = tmp_path / "cmp"
    code, stdout, err = cli_main("compare", runs / "train-a", f"{runs}/optimizer-mnist#adam/*",
                                 f"{runs}/search#trial-0000", "--out", out)
    assert code == 0, err
    assert f"compare: {out / 'compare.html'} (4 curve(s) from 3 run(s); iter_loss, train_loss, train_acc)" in stdout
    table = files.read_json(out / "compare.json")
    labels = ["train-a", "optimizer-mnist: adam/seed-0", "optimizer-mnist: adam/seed-1", "search: trial-0000"]
    assert [c["label"] for c in table["curves"]] == labels
    assert [c["kind"] for c in table["curves"]] == ["train", "experiment", "experiment", "trial"]
    # the metrics all four share: the experiment has no validation split, the trial no test split
    assert table["metrics"] == ["iter_loss", "train_loss", "train_acc"]
    for m in table["metrics"]:
        assert (out / f"{m}.png").read_bytes().startswith(b"\x89PNG") and (out / f"{m}.svg").is_file()
        texts = legend(out / f"{m}.svg")
        assert all(label in texts for label in labels), (m, texts)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["compare.html", "compare.json"] + [f"{m}.{e}" for m in table["metrics"] for e in ("png", "svg")])
    # final = last value, best = max accuracy / min loss, each with its epoch, equal to the histories
    for c in table["curves"]:
        h = history(runs / {"train": "train-a", "experiment": "optimizer-mnist", "trial": "search"}[c["kind"]],
                    c["curve"])
        epochs = h["epochs"]
        acc, loss = c["values"]["train_acc"], c["values"]["train_loss"]
        assert (acc["final"], acc["final_at"]) == (epochs[-1]["train_acc"], epochs[-1]["epoch"])
        best = max(epochs, key=lambda r: r["train_acc"])
        assert (acc["best"], acc["best_at"]) == (best["train_acc"], best["epoch"])
        best = min(epochs, key=lambda r: r["train_loss"])
        assert (loss["best"], loss["best_at"]) == (best["train_loss"], best["epoch"])
        assert c["values"]["iter_loss"]["final_at"] == len(h["iter_loss"])
    # the configuration keys that differ, each owner's value; keys only some set are apart
    assert table["configs"] == ["train-a", "optimizer-mnist", "search: trial-0000"]
    differ = table["config_differences"]
    assert differ["lr"] == {"optimizer-mnist": 0.05, "search: trial-0000": 0.01}
    assert differ["training.epochs"] == {"train-a": 4, "search: trial-0000": 3}
    assert "iterations" not in differ and table["config_set_by_some"]["iterations"] == {"optimizer-mnist": 20}
    assert "configuration keys that differ: " in stdout and "training.epochs" in stdout
    page = (out / "compare.html").read_text(encoding="utf-8")
    assert page.count("<img ") == 3 and 'src="data:image/png;base64,' in page
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org", "")
    assert "<td><code>training.epochs</code></td>" in page and '<span class="badge reduced"' in page


def test_default_metrics_are_those_every_curve_has_and_metric_selects(runs, tmp_path, cli_main):
    code, _, err = cli_main("compare", runs / "train-a", f"{runs}/search#trial-000[02]", "--out", tmp_path / "a")
    assert code == 0, err
    assert files.read_json(tmp_path / "a" / "compare.json")["metrics"] == [
        "iter_loss", "train_loss", "val_loss", "train_acc", "val_acc"]
    code, _, err = cli_main("compare", runs / "train-a", f"{runs}/search#trial-000[02]", "--metric", "val_acc",
                            "--metric", "train_loss,val_acc", "--out", tmp_path / "b")
    assert code == 0, err
    table = files.read_json(tmp_path / "b" / "compare.json")
    assert table["metrics"] == ["val_acc", "train_loss"]
    assert sorted(p.name for p in (tmp_path / "b").glob("*.png")) == ["train_loss.png", "val_acc.png"]


def test_a_single_run_keeps_its_labels_and_has_one_configuration(runs, tmp_path, cli_main):
    out = tmp_path / "one"
    assert cli_main("compare", f"{runs}/optimizer-mnist#*/seed-0", "--out", out)[0] == 0
    table = files.read_json(out / "compare.json")
    assert [c["label"] for c in table["curves"]] == ["sgd/seed-0", "adam/seed-0"]
    assert table["configs"] == ["optimizer-mnist"] and table["config_differences"] == {}
    assert "Every curve comes from one configuration" in (out / "compare.html").read_text(encoding="utf-8")


def test_two_runs_of_the_same_name_get_readable_unique_labels(tmp_path, cli_main):
    fab.train_run(tmp_path / "first", "run", lr=0.01)
    fab.train_run(tmp_path / "second", "run", lr=0.1)
    out = tmp_path / "cmp"
    assert cli_main("compare", tmp_path / "first" / "run", tmp_path / "second" / "run", "--out", out)[0] == 0
    table = files.read_json(out / "compare.json")
    assert [c["label"] for c in table["curves"]] == ["first/run", "second/run"]
    assert table["config_differences"] == {"training.lr": {"first/run": 0.01, "second/run": 0.1}}


def test_the_final_value_is_the_last_finite_one(tmp_path, cli_main):
    rec_dir = fab.train_run(tmp_path, "diverged", status="diverged")
    h = fab.history(4, 0.9, 0, diverge_at=3)
    from trainlab.record import RunRecord

    RunRecord.open(rec_dir).write_history(h)  # val_loss is NaN (null) from epoch 3 on
    assert files.read_json(rec_dir / "history.json")["epochs"][3]["val_loss"] is None
    fab.train_run(tmp_path, "fine")
    out = tmp_path / "cmp"
    assert cli_main("compare", rec_dir, tmp_path / "fine", "--metric", "val_loss", "--out", out)[0] == 0
    v = files.read_json(out / "compare.json")["curves"][0]["values"]["val_loss"]
    assert v["final_at"] == 2 and v["final"] == h["epochs"][2]["val_loss"]
    assert math.isfinite(v["best"]) and v["best_at"] <= 2


def test_flatten():
    assert flatten({"a": {"b": 1, "c": [1, 2]}, "d": None, "e": {}}) == {"a.b": 1, "a.c": [1, 2], "d": None, "e": {}}


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)


def test_every_label_header_and_cell_is_escaped(tmp_path, cli_main):
    hostile = "<script>alert(1)</script>&<b>x</b>\"'"
    safe = hostile.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;") \
        .replace("'", "&#x27;")
    folder = hostile.replace("/", "|")
    fab.train_run(tmp_path, f"t {folder}", title=f"title {hostile}")
    fab.experiment_run(tmp_path, f"e {folder}", variants=(f"variant {folder}",), seeds=1, title=f"exp {hostile}",
                       config={f"key {hostile}": f"value {hostile}", "lr": 0.1})
    out = tmp_path / "cmp"
    code, _, err = cli_main("compare", tmp_path / f"t {folder}", tmp_path / f"e {folder}", "--metric", "train_acc",
                            "--out", out)
    assert code == 0, err
    page = (out / "compare.html").read_text(encoding="utf-8")
    for text in (f"t {safe.replace('/', '|')}", f"variant {safe.replace('/', '|')}/seed-0", f"title {safe}",
                 f"exp {safe}", f"key {safe}", f"value {safe}"):
        assert text in page, text
    assert "<script" not in page and "<b>" not in page
    parser = _Tags()
    parser.feed(page)
    assert parser.tags <= {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "p", "br",
                           "code", "table", "thead", "tbody", "tr", "th", "td", "span", "div", "section",
                           "details", "summary", "figure", "img", "figcaption", "footer"}, parser.tags
    assert json.loads((out / "compare.json").read_text())["curves"][1]["label"] == \
        f"e {folder}: variant {folder}/seed-0"


def test_labels_matplotlib_would_misread_are_drawn_verbatim(tmp_path, cli_main):
    fab.train_run(tmp_path, "_hidden")
    fab.experiment_run(tmp_path, "e", variants=(r"$\frac$",), seeds=1, figures=())
    out = tmp_path / "cmp"
    code, _, err = cli_main("compare", tmp_path / "_hidden", tmp_path / "e", "--metric", "train_acc", "--out", out)
    assert code == 0, err  # an unbalanced mathtext '$\frac$' would raise while drawing
    texts = legend(out / "train_acc.svg")
    assert " _hidden" in texts and r"e: $\frac$/seed-0" in texts, texts  # shown as typed


@pytest.mark.parametrize("args, words", [
    (["missing"], ["missing: no such folder"]),
    (["notes"], ["is not a TrainLab run", "run.json"]),
    (["old"], ["trainlab < 0.2", "run it again"]),
    (["."], ["is not a TrainLab run", "the runs inside it: optimizer-mnist, search, train-a"]),
    (["optimizer-mnist#rmsprop/*"], ["selects no curve", "sgd/seed-0, adam/seed-0, sgd/seed-1, adam/seed-1"]),
    (["search#trial-9*"], ["selects no curve", "trial-0000, trial-0001, trial-0002"]),
    (["train-a", "--metric", "accuracy"], ["unknown metric 'accuracy'", "test_acc (1 of 1 curves)"]),
    (["search#trial-0000", "--metric", "test_acc"], ["no selected curve has 'test_acc'", "val_acc (1 of 1"]),
    (["train-a", "--out", "train-a/README"], ["is a file"]),
    (["train-a", "--out", "search"], ["is a run folder"]),
    (["train-a", "--out", "train-a/figures"], ["inside the run"]),
    (["train-a", "--out", "notes"], ["holds other files"]),
])
def test_usage_errors_exit_2_and_say_what_exists(runs, cli_main, monkeypatch, args, words):
    (runs / "notes").mkdir()
    (runs / "notes" / "todo.txt").write_text("x")
    (runs / "train-a" / "README").write_text("x")
    monkeypatch.chdir(runs)
    before = sorted(str(p) for p in runs.rglob("*"))
    code, out, err = cli_main("compare", *args)
    assert code == 2, (out, err)
    assert "Traceback" not in err
    for w in words:
        assert w in err, (w, err)
    assert sorted(str(p) for p in runs.rglob("*")) == before  # nothing written


def test_default_out_and_a_folder_reused_by_a_later_comparison(runs, cli_main, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, stdout, _ = cli_main("compare", runs / "train-a", runs / "search", "--metric", "val_acc,train_acc")
    assert code == 0
    made = [p for p in tmp_path.iterdir() if p.name.startswith("compare-")]
    assert len(made) == 1 and re.fullmatch(r"compare-\d{8}-\d{6}", made[0].name)
    assert f"{made[0].name}/compare.html" in stdout
    assert (made[0] / "val_acc.png").is_file()
    # again into the same folder with one metric: the other metrics' figures are removed
    assert cli_main("compare", runs / "train-a", "--metric", "test_acc", "--out", made[0])[0] == 0
    assert sorted(p.name for p in made[0].iterdir()) == ["compare.html", "compare.json", "test_acc.png",
                                                         "test_acc.svg"]


def test_a_folder_name_with_a_hash(tmp_path, cli_main):
    fab.experiment_run(tmp_path / "v#2", "exp", seeds=1, figures=())
    out = tmp_path / "cmp"
    assert cli_main("compare", tmp_path / "v#2" / "exp", "--metric", "test_acc", "--out", out)[0] == 0
    assert cli_main("compare", f"{tmp_path / 'v#2' / 'exp'}#adam/*", "--metric", "test_acc", "--out", out)[0] == 0
    assert [c["label"] for c in files.read_json(out / "compare.json")["curves"]] == ["adam/seed-0"]


def test_a_run_without_curves_or_with_an_unreadable_history_is_a_usage_error(tmp_path, cli_main, monkeypatch):
    from trainlab.record import RunRecord

    monkeypatch.chdir(tmp_path)

    RunRecord.create(tmp_path / "empty", "experiment", "empty", {}).finish("crashed", "seed 0 raised")
    code, _, err = cli_main("compare", tmp_path / "empty")
    assert code == 2 and "has no curves" in err and "Traceback" not in err
    run = fab.train_run(tmp_path, "t")
    (run / "history.json").write_text("{not json")
    code, _, err = cli_main("compare", run)
    assert code == 2 and "history.json is unreadable" in err and "Traceback" not in err
    assert not list(tmp_path.glob("compare-*"))
