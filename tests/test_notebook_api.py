"""The notebook-facing API: what ``import trainlab as tl`` offers, ``fit`` on any of the data shapes
a learner has, ``History.plot()`` and the HTML views of a history and a run record (escaped)."""

import math
import re
from html.parser import HTMLParser

import numpy as np
import pytest

import trainlab as tl
from trainlab.record import RunRecord

NOTEBOOK_NAMES = ["fit", "Trainer", "TrainConfig", "ModelSpec", "MLP", "History", "load_mnist", "DataSpec",
                  "Arrays", "Data", "make_optimizer", "make_weight", "run_figure", "overlay_figure",
                  "smooth_curve", "RunRecord", "find_runs", "run_experiment", "experiment_names", "one_blas_thread"]


class _Tags(HTMLParser):
    """Collects start tags and the text; fails on an end tag that closes nothing open."""

    VOID = {"br", "img", "hr", "meta", "input"}

    def __init__(self):
        super().__init__()
        self.stack, self.tags, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, (tag, self.stack)
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def _parse(html: str) -> _Tags:
    p = _Tags()
    p.feed(html)
    p.close()
    assert not p.stack, p.stack
    return p


def test_every_notebook_name_is_exported_and_in_all():
    for name in NOTEBOOK_NAMES:
        assert hasattr(tl, name), name
        assert name in tl.__all__, name
    assert all(hasattr(tl, name) for name in tl.__all__)
    assert len(set(tl.__all__)) == len(tl.__all__)
    assert tl.fit is __import__("trainlab.trainer", fromlist=["fit"]).fit
    assert tl.experiment_names()[0] == "optimizer-race" and "search" in tl.experiment_names()


def _toy(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 6), dtype=np.float32)
    return x, x[:, :3].argmax(axis=1)


SPEC = tl.ModelSpec(input_size=6, hidden_sizes=(16,), output_size=3)
CONFIG = tl.TrainConfig(epochs=2, batch_size=50, optimizer="sgd", optimizer_params={"lr": 0.5})


def test_fit_takes_data_arrays_and_the_books_tuple_alike():
    x, t = _toy()
    xt, tt = _toy(50, seed=1)
    _, a = tl.fit(SPEC, tl.Data(x, t, x_test=xt, t_test=tt), CONFIG)
    _, b = tl.fit(SPEC, ((x, t), (xt, tt)), CONFIG)
    arrays = tl.Arrays(x, t, x[:0], t[:0], xt, tt, 6, 3)  # an empty validation split is left out
    _, c = tl.fit(SPEC, arrays, CONFIG)
    assert a.without_times() == b.without_times() == c.without_times()
    assert "val_acc" not in a.last and "test_acc" in a.last
    with_val = tl.Arrays(x[:150], t[:150], x[150:], t[150:], xt, tt, 6, 3)
    _, d = tl.fit(SPEC, with_val, CONFIG)
    assert {"train_acc", "val_acc", "test_acc"} <= set(d.last)
    with pytest.raises(TypeError, match="load_mnist"):
        tl.fit(SPEC, [x, t], CONFIG)


def test_fit_on_a_dataspec_of_the_bundled_mnist():
    data = tl.DataSpec(train_size=300, val_fraction=0.2).load(seed=0)
    _, h = tl.fit(tl.ModelSpec(hidden_sizes=(20,)), data, tl.TrainConfig(epochs=1, eval_samples=200))
    assert h.status == "completed" and len(h.epochs) == 2 and {"val_acc", "test_acc"} <= set(h.last)


def test_history_plot_is_a_figure_with_loss_and_accuracy_per_split():
    from matplotlib.figure import Figure

    x, t = _toy()
    _, h = tl.fit(SPEC, tl.Data(x[:150], t[:150], x[150:], t[150:]), CONFIG)
    fig = h.plot("toy")
    assert isinstance(fig, Figure)
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_ylabel() == "loss" and acc_ax.get_ylabel() == "accuracy"
    assert {line.get_label() for line in acc_ax.lines} == {"train", "val"}
    assert {"train", "val", "mini-batch (smoothed)"} <= {line.get_label() for line in loss_ax.lines}
    np.testing.assert_allclose(acc_ax.lines[0].get_ydata(), h.metric("train_acc"))
    assert fig._suptitle.get_text() == "toy"


def _history(**kw):
    epochs = [{"epoch": 0, "iteration": 0, "train_loss": 2.3, "train_acc": 0.1, "val_loss": 2.3, "val_acc": 0.12},
              {"epoch": 1, "iteration": 3, "train_loss": 1.0, "train_acc": 0.7, "val_loss": 1.2, "val_acc": 0.61},
              {"epoch": 2, "iteration": 6, "train_loss": 0.5, "train_acc": 0.9, "val_loss": 1.4, "val_acc": 0.58}]
    return tl.History(iter_loss=[2.3, 2.0, 1.5, 1.1, 0.9, 0.6], epochs=epochs, status="completed", **kw)


def test_history_html_is_a_compact_table_of_the_last_and_best_metrics():
    html = _history()._repr_html_()
    p = _parse(html)
    text = " ".join(p.text)
    assert "completed" in text and "2 epochs, 6 updates" in text
    rows = re.findall(r"<tr>(.*?)</tr>", html.split("<tbody>")[1])
    assert len(rows) == 2  # train and validation: no test split in this history
    cells = [re.sub("<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", rows[1])]
    assert cells == ["validation", "1.4", "0.58", "0.61 (epoch 1)"]
    assert p.tags.count("svg") == 1 and "validation accuracy per epoch" in text


def test_history_html_escapes_and_survives_nan_and_no_epochs():
    h = _history(message="<script>alert('x')</script> & more")
    h.epochs[-1]["val_acc"] = math.nan
    html = h._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp; more" in html
    _parse(html)
    assert re.search(r">nan<", html)
    bare = tl.History(iter_loss=[2.0, 1.0, float("inf")], status="diverged")._repr_html_()
    assert "diverged" in bare and "last mini-batch loss 1" in bare and "<table" not in bare
    assert tl.History()._repr_html_().count("<svg") == 0  # nothing to draw: no empty sparkline


def test_sparkline_leaves_gaps_for_non_finite_values():
    from trainlab.notebook import sparkline_svg

    svg = sparkline_svg([1.0, 2.0, None, 3.0, 4.0, math.nan, 5.0], label="a<b")
    assert svg.count("<polyline") == 2 and "a&lt;b" in svg  # a lone point after the gap draws no line
    assert sparkline_svg([1.0]) == "" and sparkline_svg([]) == ""
    flat = sparkline_svg([0.5, 0.5, 0.5])
    assert "<polyline" in flat and "nan" not in flat


def test_record_card_of_a_train_run(tmp_path):
    rec = RunRecord.create(tmp_path / "run<1>", "train", "run<1>",
                           {"model": {"hidden_sizes": [100, 100, 100], "init": "he"},
                            "training": {"optimizer": "sgd", "optimizer_params": {"lr": 0.01}, "epochs": 2},
                            "data": {"data_dir": "/secret/place", "train_size": 300}},
                           title="sgd & friends <b>")
    rec.write_history(_history())
    rec.write_json("summary.json", {"final": _history().last})
    rec.finish("completed")
    card = RunRecord.open(tmp_path / "run<1>")
    html = card._repr_html_()
    p = _parse(html)
    text = " ".join(p.text)
    assert "sgd &amp; friends &lt;b&gt;" in html and "run&lt;1&gt;" in html and "<b>\n" not in html
    for expected in ("optimizer", "lr", "0.01", "epochs", "hidden_sizes", "100 × 3", "train_size"):
        assert expected in text, expected
    assert "/secret/place" not in text  # data_dir is not a highlight
    assert "final accuracy" in text and "0.58" in text and p.tags.count("svg") == 1
    assert repr(card) == f"RunRecord({str(tmp_path / 'run<1>')!r}, kind='train', name='run<1>', status='completed')"


def test_record_card_of_an_experiment_shows_claims_and_figures(tmp_path):
    rec = tl.run_experiment("optimizer-race", out_dir=tmp_path / "race")
    assert isinstance(rec, RunRecord) and rec.status == "completed" and rec.kind == "experiment"
    html = rec._repr_html_()
    text = " ".join(_parse(html).text)
    assert "claims: 7 of 7 hold" in text and "✓ SGD zig-zags" in text
    assert "figures: surface, gradient, paths, distance" in text
    assert "convention" in text and "§6.1.3" in text
    with pytest.raises(Exception, match="already holds"):
        tl.run_experiment("optimizer-race", out_dir=tmp_path / "race")
    assert tl.run_experiment("optimizer-race", out_dir=tmp_path / "race", overwrite=True,
                             overrides={"steps": 5}).config["steps"] == 5


def test_record_card_of_a_damaged_run_still_renders(tmp_path):
    rec = RunRecord.create(tmp_path / "bad", "search", "bad", {"trials": 3})
    rec.finish("crashed", "boom <here>")
    (tmp_path / "bad" / "summary.json").write_text("{not json")
    (tmp_path / "bad" / "claims.json").write_text('[1, {"name": "x", "passed": true}]')
    html = RunRecord.open(tmp_path / "bad")._repr_html_()
    text = " ".join(_parse(html).text)
    assert "crashed" in text and "boom <here>" in text and "claims: 1 of 1 hold" in text


def test_the_race_draws_the_function_and_its_gradient_field_with_captions():
    from trainlab.experiments import optimizer_race as race

    surface = race.surface_figure()
    ax3, ax = surface.axes[:2]
    assert ax3.name == "3d" and ax3.get_zlabel() == "f(x, y)" and ax3.collections, "a 3-D surface"
    filled = next(c for c in ax.collections if getattr(c, "filled", False))
    assert filled.levels[0] == 0.0 and filled.levels[1] == 0.25  # the contours of f from its minimum up
    gradient = race.gradient_figure()
    quiver = next(c for c in gradient.axes[0].collections if type(c).__name__ == "Quiver")
    X, Y = quiver.X, quiver.Y
    np.testing.assert_allclose(quiver.U, -X / 10.0)
    np.testing.assert_allclose(quiver.V, -2.0 * Y)
    for fig, words in ((surface, "valley"), (gradient, "zig-zag")):
        captions = [t.get_text() for t in fig.texts]
        assert any(words in c and len(c.split()) > 20 for c in captions), captions
