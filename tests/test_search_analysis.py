"""What ``trainlab search`` shows of a finished search: Optuna's own plots (drawn, captioned, or
skipped with a reason, deterministic, without leaking Optuna's style or warnings), the line that
opens the study in optuna-dashboard, numbers with three significant figures, and the book's
claims marked not applicable when the search is not the book's configuration.

Real Optuna studies throughout, tiny: a few trials of 2 epochs on 100 samples.
"""

from __future__ import annotations

import json
import math
import warnings
from html import escape

import matplotlib
import numpy as np
import optuna
import pytest

from trainlab import cli, files
from trainlab.record import RunRecord
from trainlab.search.book import book_config, claims, differences, search_stats
from trainlab.search.numbers import fmt
from trainlab.search.optuna_plots import CAPTIONS, NAMES, optuna_figures
from trainlab.search.space import Param

TINY = ["--train-size", "100", "--hidden", "10", "--epochs", "2", "-q"]
PNG = b"\x89PNG\r\n\x1a\n"


def search(tmp_path, *extra, name="run"):
    out = tmp_path / name
    code = cli.main(["search", "--out", str(out), *TINY, *map(str, extra)])
    return code, out


def scipy_present() -> bool:
    try:
        import scipy  # noqa: F401
    except ImportError:
        return False
    return True


def study_of(values: list[float], params: dict[str, Param], seed: int = 0):
    """An in-memory study with one complete trial per value, parameters drawn at random."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=seed))
    dists = {n: p.distribution() for n, p in params.items()}
    for v in values:
        study.tell(study.ask(dists), v)
    return study


TWO = {"lr": Param("lr", "log", 1e-6, 1e-2), "weight_decay": Param("weight_decay", "log", 1e-8, 1e-4)}


@pytest.fixture(autouse=True)
def close_figures():
    """The figures a test draws itself are closed after it (the command closes its own: tested)."""
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


# -- one formatting function ------------------------------------------------------------------------
@pytest.mark.parametrize("value, text", [
    (5.458199397036847e-06, "5.46e-06"), (0.005267323893082635, "0.00527"), (0.1, "0.100"), (0.025, "0.0250"),
    (1e-6, "1.00e-06"), (0.01, "0.0100"), (0.000304, "0.000304"), (1.0, "1.00"), (12.345, "12.3"),
    (1234.5, "1230"), (1e6, "1.00e+06"), (9.9996, "10.0"), (0.00099996, "0.00100"), (9.99996e-05, "0.000100"),
    (-0.5, "-0.500"), (0.0, "0"), (float("nan"), "nan"), (float("inf"), "inf"), (np.float32(0.5), "0.500"),
    (np.float64(0.825), "0.825"), (64, "64"), (np.int64(7), "7"), (True, "True"), ("sgd", "sgd"), (None, "None")])
def test_fmt_gives_three_significant_figures(value, text):
    assert fmt(value) == text


# -- the book's configuration -------------------------------------------------------------------------
def config_of(*argv):
    from trainlab.commands.search import build_config

    return build_config(cli.build_parser().parse_args(["search", *map(str, argv)]))


def test_the_books_configuration_has_no_differences_whatever_the_seed_or_an_option_set_to_its_value():
    assert differences(book_config()) == []
    assert differences(config_of()) == []
    assert differences(config_of("--seed", "7", "--epochs", "50", "--batch-size", "100", "--trials", "100")) == []


def test_differences_name_each_setting_with_the_books_value():
    got = differences(config_of("--epochs", "3", "--trials", "6", "--stages", "2", "--train-size", "200",
                                "--hidden", "20x2", "--sampler", "tpe", "--param", "lr=log:1e-4:1e-1",
                                "--param", "dropout=uniform:0:0.5"))
    assert got == ["trials 6 (book 100)", "stages 2 (book 1)", "sampler tpe (book random)",
                   "lr ∈ [0.000100, 0.100] (log) (book: lr ∈ [1.00e-06, 0.0100] (log))",
                   "dropout searched, dropout ∈ [0, 0.500] (uniform) (book: not searched)",
                   "hidden sizes 20x2 (book 100x6)", "epochs 3 (book 50)", "train size 200 (book 500)"]


def test_claims_off_the_books_configuration_are_not_applicable_with_the_reason():
    trials = [{"number": i, "state": "COMPLETE", "value": v, "params": {"lr": lr, "weight_decay": 1e-6}}
              for i, (v, lr) in enumerate([(0.9, 5e-3), (0.8, 2e-3), (0.7, 3e-3), (0.6, 4e-3), (0.5, 6e-3),
                                           (0.2, 1e-5)])]
    stats = search_stats(trials)
    book = claims([stats])
    assert [c.line()[0] for c in book] == ["✓", "✓", "✓"]
    assert all("not_applicable" not in c.to_dict() and c.to_dict()["passed"] is True for c in book)
    marked = claims([stats], differs=["epochs 3 (book 50)", "trials 3 (book 100)"])
    for mine, theirs in zip(marked, book):
        d = mine.to_dict()
        assert d["passed"] is None and d["holds_here"] is True and d["detail"] == theirs.detail
        assert d["not_applicable"] == "not the book's configuration: epochs 3 (book 50); trials 3 (book 100)"
        assert mine.line().startswith(f"– {theirs.name}: not applicable (not the book's configuration: epochs 3")
        assert mine.line(reason=False) == f"– {theirs.name}: not applicable; here it would hold: {theirs.detail}"


# -- Optuna's plots on a study ----------------------------------------------------------------------------
def test_optuna_plots_draw_without_leaking_style_or_warnings_and_are_deterministic(tmp_path):
    study = study_of([0.1, 0.5, 0.3, 0.8, 0.2, 0.6], TWO)
    matplotlib.use("Agg")
    rc, filters = dict(matplotlib.rcParams), list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figures, skipped = optuna_figures(study, 2)
        again, _ = optuna_figures(study, 2)
    assert not [w for w in caught if issubclass(w.category, optuna.exceptions.ExperimentalWarning)]
    assert dict(matplotlib.rcParams) == rc  # Optuna's plt.style.use("ggplot") undone
    assert list(warnings.filters) == filters
    drawn = {"optuna_history", "optuna_importances", "optuna_slice", "optuna_parallel"}
    assert set(figures) == drawn | ({"optuna_contour"} if scipy_present() else set())
    assert set(figures) | set(skipped) == set(NAMES) and not set(figures) & set(skipped)
    if not scipy_present():
        assert "SciPy" in skipped["optuna_contour"]
    for name in figures:  # the project's one writer: byte-identical PNG and SVG for the same study
        a = [p.read_bytes() for p in files.save_figure(figures[name], tmp_path / "a", name)]
        b = [p.read_bytes() for p in files.save_figure(again[name], tmp_path / "b", name)]
        assert a[0].startswith(PNG) and a == b, name
        assert CAPTIONS[name]


def test_the_importances_need_no_scikit_learn(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ImportError("No module named 'sklearn' (blocked by the test)")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    figures, skipped = optuna_figures(study_of([0.1, 0.5, 0.3, 0.8], TWO), 2)
    assert "optuna_importances" in figures and "optuna_importances" not in skipped
    labels = [t.get_text() for t in figures["optuna_importances"].axes[0].get_yticklabels()]
    assert sorted(labels) == ["lr", "weight_decay"]


def test_small_studies_skip_the_plots_that_need_more_with_a_reason():
    one_param = {"lr": TWO["lr"]}
    figures, skipped = optuna_figures(study_of([0.1, 0.5, 0.3], one_param), 1)
    assert {"optuna_history", "optuna_slice"} <= set(figures)
    for name in ("optuna_importances", "optuna_parallel", "optuna_contour"):
        assert "needs at least 2 searched parameters, the search has 1" in skipped[name]
    figures, skipped = optuna_figures(study_of([0.4], TWO), 2)
    assert figures == {} and set(skipped) == set(NAMES)
    assert all("needs at least 2 complete trials, the study has 1" in why for why in skipped.values())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Optuna's "importances will be equal" becomes the reason
        same, skipped = optuna_figures(study_of([0.5, 0.5, 0.5], TWO), 2)
    assert {"optuna_history", "optuna_slice"} <= set(same)
    assert "optuna_importances" not in same and "importances will be equal" in skipped["optuna_importances"]


# -- the command ----------------------------------------------------------------------------------------------
def test_a_search_draws_optunas_plots_captions_them_and_says_how_to_open_the_dashboard(tmp_path, capsys):
    import matplotlib.pyplot as plt

    plt.close("all")
    code, out = search(tmp_path, "--trials", 4)
    assert code == 0
    assert plt.get_fignums() == []  # every figure drawn was saved and closed, or closed when skipped
    text = capsys.readouterr().out
    run = RunRecord.open(out)
    paths = run.figure_paths()
    expected = {"best_trials", "scatter", "optuna_history", "optuna_importances", "optuna_slice", "optuna_parallel"}
    assert expected <= set(paths) and set(run.manifest["figures"]) == set(paths)
    for name, by_ext in paths.items():
        png = by_ext[".png"]
        assert png.read_bytes().startswith(PNG)
        image = matplotlib.image.imread(png)
        assert image.ndim == 3 and min(image.shape[:2]) > 200
        assert len(run.manifest["figure_captions"][name]) > 30  # a caption in words for every figure
    skipped = run.manifest["figures_skipped"]
    assert ("optuna_contour" in paths) == scipy_present() == ("optuna_contour" not in skipped)
    for name, why in skipped.items():
        assert f"figure {name} not drawn: {why}" in text
    # the dashboard: one line, the command and the study's journal, which opens as a JournalStorage
    journal = out / "study.journal"
    line = text.rstrip().splitlines()[-1]
    assert line == f"open the study in optuna-dashboard: pip install optuna-dashboard && optuna-dashboard {journal}"
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    storage = JournalStorage(JournalFileBackend(str(journal)))
    assert optuna.get_all_study_names(storage) == ["trainlab-search"]
    assert len(optuna.load_study(study_name="trainlab-search", storage=storage).trials) == 4


def test_a_one_trial_search_records_the_plots_it_skipped_and_why(tmp_path, capsys):
    code, out = search(tmp_path, "--trials", 1)
    assert code == 0
    run = RunRecord.open(out)
    assert run.status == "completed" and "best_trials" in run.figure_paths()
    assert set(run.manifest["figures_skipped"]) == set(NAMES)
    assert all("needs at least 2 complete trials, the study has 1" in why
               for why in run.manifest["figures_skipped"].values())
    assert not set(NAMES) & set(run.figure_paths())
    assert set(run.manifest["figure_captions"]) == set(run.figure_paths())


def test_a_search_off_the_books_configuration_marks_its_claims_everywhere(tmp_path, capsys):
    code, out = search(tmp_path, "--trials", 3, "--seed", 1)
    assert code == 0
    text = capsys.readouterr().out
    reason = "trials 3 (book 100); hidden sizes 10 (book 100x6); epochs 2 (book 50); train size 100 (book 500)"
    # the terminal: the differences once, each claim with – and what the check gave here, never ✗
    assert f"not the book's configuration, so the book's claims are not applicable: {reason}" in text
    lines = [line for line in text.splitlines() if line[:2] in ("✓ ", "✗ ", "– ")]
    assert len(lines) == 4 and all(line.startswith("– ") and ": not applicable; here it would" in line
                                   for line in lines)
    # the results: claims.json, run.json's count, summary.json
    found = json.loads((out / "claims.json").read_text())
    assert all(c["passed"] is None and c["not_applicable"] == f"not the book's configuration: {reason}"
               and isinstance(c["holds_here"], bool) for c in found)
    run = RunRecord.open(out)
    assert run.manifest["claims"] == {"n": 4, "passed": 0, "not_applicable": 4}
    assert run.read_json("summary.json")["not_book_configuration"] == reason.split("; ")
    # the report: a grey – with the reason, no ✗, and the count says so
    assert cli.main(["report", str(tmp_path)]) == 0
    html = (tmp_path / "report.html").read_text()
    assert html.count('<li class="na"><span class="mark" aria-label="not applicable">–</span>') == 4
    assert 'aria-label="fails"' not in html and '<span class="pill bad">' not in html
    assert "not the book&#x27;s configuration: trials 3 (book 100)" in html
    assert "0/0 claims hold (4 more not applicable" in html
    for name, caption in run.manifest["figure_captions"].items():  # every figure captioned in the report
        assert f"<figcaption>{escape(caption)}</figcaption>" in html, name
    for name, why in run.manifest["figures_skipped"].items():
        assert f"{escape(name)} ({escape(why)})" in html
    assert not math.isnan(run.read_json("summary.json")["best"]["val_acc"])
