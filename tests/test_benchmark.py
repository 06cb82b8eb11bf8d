"""The speed benchmark compares equal work: its book-style baseline computes what TrainLab's book
convention computes, its FLOP count is the hand count, and a tiny run prints the JSON it promises."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import book_style  # noqa: E402
import step_speed  # noqa: E402

import trainlab as tl  # noqa: E402

SIZES = (20, 16, 12, 5)


def twin_models():
    """A book-style net and a float64 TrainLab MLP holding the same weights."""
    rng = np.random.default_rng(0)
    book = book_style.MultiLayerNet(SIZES[0], list(SIZES[1:-1]), SIZES[-1], rng)
    for key in book.params:  # non-zero biases so their gradients and updates are exercised
        if key.startswith("b"):
            book.params[key] += rng.normal(size=book.params[key].shape)
    ours = tl.MLP(tl.ModelSpec(SIZES[0], SIZES[1:-1], SIZES[-1], dtype="float64"), rng=1)
    for key, value in book.params.items():
        ours.params.view(key)[...] = value
    x = rng.random((32, SIZES[0])).astype(np.float32)
    t = rng.integers(0, SIZES[-1], 32)
    return book, ours, x, t


def test_book_style_gradients_equal_trainlab():
    book, ours, x, t = twin_models()
    grads = book.gradient(x, t)
    ours.gradient(x, t)
    for key, g in grads.items():
        np.testing.assert_allclose(ours.params.grad_view(key), g, rtol=1e-12, atol=1e-15, err_msg=key)


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_book_style_updates_equal_trainlab_book_convention(name):
    book, ours, x, t = twin_models()
    opt_book = book_style.OPTIMIZERS[name](lr=0.01)
    opt_ours = tl.make_optimizer(name, ours.params, convention="book", lr=0.01)
    for _ in range(3):
        opt_book.update(book.params, book.gradient(x, t))
        ours.gradient(x, t)
        opt_ours.step()
    for key, value in book.params.items():
        np.testing.assert_allclose(ours.params.view(key), value, rtol=1e-12, atol=1e-14, err_msg=key)


def test_step_flops_is_the_hand_count():
    # forward 2·128·(784·100 + 3·100·100 + 100·10) = 28,006,400; dW the same; dx of layers 2–5
    # 2·128·(3·100·100 + 100·10) = 7,936,000
    assert step_speed.step_flops() == 2 * 28_006_400 + 7_936_000


def test_step_flops_by_hand_for_the_wide_cell():
    # 784-[1024]×4-10: forward Σ fan_in·fan_out = 784·1024 + 3·1024² + 1024·10 = 3,958,784 multiply-adds
    # per sample; dW as much again; dx of layers 2–5: 3·1024² + 1024·10 = 3,155,968. At batch 512:
    # 2·512·(2·3,958,784 + 3,155,968) = 11,339,300,864 FLOP
    assert step_speed.model_sizes(1024, 4) == (784, 1024, 1024, 1024, 1024, 10)
    assert step_speed.step_flops(step_speed.model_sizes(1024, 4), 512) == 11_339_300_864
    assert step_speed.model_sizes() == step_speed.SIZES


def _torch_args():
    try:
        import torch  # noqa: F401
        return []
    except ImportError:
        return ["--no-torch"]


def _run(capsys, *args) -> dict:
    assert step_speed.main(["--threads", "1", "--rounds", "1", "--seconds", "0.01", *args]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_tiny_run_prints_every_figure_as_json(capsys):
    extra = _torch_args()
    report = _run(capsys, *extra)
    assert [(c["width"], c["batch"], c["model"]) for c in report["cells"]] == [(100, 128, "784-100-100-100-100-10")]
    one = report["cells"][0]["threads"]["1"]
    assert one["matmul_peak_gflops"] > 0
    for name in ("sgd", "adam"):
        entry = one[name]
        assert entry["trainlab_steps_per_s"] > 0 and entry["book_steps_per_s"] > 0
        assert entry["vs_book"] == pytest.approx(entry["trainlab_steps_per_s"] / entry["book_steps_per_s"], rel=0.01)
        assert entry["fraction_of_peak"] == pytest.approx(entry["trainlab_gflops"] / entry["peak_gflops"], rel=0.02)
        if not extra:
            assert entry["vs_torch"] == pytest.approx(
                entry["trainlab_steps_per_s"] / entry["torch_steps_per_s"], rel=0.01)


def test_fraction_of_peak_counts_the_batch_given(capsys, monkeypatch):
    """--batch 64 halves the FLOPs of a step; without torch the run must not import it."""
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    report = _run(capsys, "--batch", "64", "--no-torch")
    cell = report["cells"][0]
    sgd = cell["threads"]["1"]["sgd"]
    assert cell["step_mflop"] == pytest.approx(step_speed.step_flops(batch=64) / 1e6, abs=0.01)
    assert sgd["trainlab_gflops"] == pytest.approx(
        sgd["trainlab_steps_per_s"] * step_speed.step_flops(batch=64) / 1e9, rel=0.02, abs=0.1)
    assert "torch_steps_per_s" not in sgd


def test_width_and_batch_sweep_reports_every_cell(capsys):
    """--width repeatable, --batch a comma list, --depth, --impls: one JSON cell per width × batch,
    each with every thread count and optimizer, FLOPs counted for that cell's model and batch."""
    extra = _torch_args()
    impls = "trainlab" + ("" if extra else ",torch")
    report = _run(capsys, "--width", "8", "--width", "16", "--batch", "4,8", "--depth", "2", "--impls", impls, *extra)
    assert report["depth"] == 2 and report["impls"] == impls.split(",")
    cells = report["cells"]
    assert [(c["width"], c["batch"]) for c in cells] == [(8, 4), (8, 8), (16, 4), (16, 8)]
    for c in cells:
        sizes = (784, c["width"], c["width"], 10)
        assert c["model"] == "-".join(map(str, sizes))
        assert c["step_mflop"] == pytest.approx(step_speed.step_flops(sizes, c["batch"]) / 1e6, abs=0.01)
        one = c["threads"]["1"]
        for name in ("sgd", "adam"):
            e = one[name]
            assert "book_steps_per_s" not in e  # left out by --impls
            assert e["trainlab_gflops"] == pytest.approx(  # rounded to 0.1
                e["trainlab_steps_per_s"] * step_speed.step_flops(sizes, c["batch"]) / 1e9, rel=0.02, abs=0.06)
            assert e["peak_gflops"] > 0
            if not extra:
                assert e["torch_steps_per_s"] > 0
                assert e["vs_torch"] == pytest.approx(e["trainlab_steps_per_s"] / e["torch_steps_per_s"], rel=0.01)
    # (16, 8) by hand: 2·8·(2·(12,544 + 256 + 160) + 256 + 160) = 16·26,336 = 421,376 FLOP
    assert cells[3]["step_mflop"] == pytest.approx(0.42, abs=0.005)
    assert step_speed.step_flops((784, 16, 16, 10), 8) == 421_376


@pytest.mark.parametrize("args", [["--threads", "two"], ["--width", "0"], ["--width", "1o0"], ["--batch", "-4"],
                                  ["--impls", "trainlab,jax"], ["--depth", "-1"]])
def test_bad_flags_are_usage_errors(args):
    with pytest.raises(SystemExit) as exc:
        step_speed.main(args)
    assert exc.value.code == 2


def test_eval_speed_baseline_is_todays_evaluation_and_prints_json(capsys):
    """eval_speed's 'old' path computes what the inference path computes (so the timings compare
    equal work), and a tiny run prints every figure as JSON."""
    import eval_speed

    model = tl.MLP(tl.ModelSpec(784, (100, 100), 10), rng=0)
    rng = np.random.default_rng(1)
    x, t = model.check_batch(rng.random((300, 784), dtype=np.float32), rng.integers(0, 10, 300))
    assert eval_speed.old_evaluate(model, x, t) == model.evaluate(x, t)
    assert eval_speed.main(["--threads", "1", "--nets", "2", "--depths", "1", "--rows", "50", "--rounds", "1",
                            "--seconds", "0.01"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    (cell,) = report["cells"]
    assert (cell["threads"], cell["nets"], cell["model"], cell["rows"]) == (1, 2, "784-100-10", 50)
    assert cell["many_vs_one_by_one"] == pytest.approx(cell["one_by_one_ms"] / cell["many_ms"], rel=0.05)
    assert cell["inference_vs_old"] == pytest.approx(cell["old_ms"] / cell["one_by_one_ms"], rel=0.05)
