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


def test_tiny_run_prints_every_figure_as_json(capsys):
    try:
        import torch  # noqa: F401
        extra = []
    except ImportError:
        extra = ["--no-torch"]
    assert step_speed.main(["--threads", "1", "--rounds", "1", "--seconds", "0.01", *extra]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    report = json.loads(last)
    one = report["threads"]["1"]
    assert one["matmul_peak_gflops"] > 0
    for name in ("sgd", "adam"):
        entry = one[name]
        assert entry["trainlab_steps_per_s"] > 0 and entry["book_steps_per_s"] > 0
        assert entry["vs_book"] == pytest.approx(entry["trainlab_steps_per_s"] / entry["book_steps_per_s"], rel=0.01)
        if not extra:
            assert entry["vs_torch"] == pytest.approx(
                entry["trainlab_steps_per_s"] / entry["torch_steps_per_s"], rel=0.01)


def test_fraction_of_peak_counts_the_batch_given(capsys, monkeypatch):
    """--batch 64 halves the FLOPs of a step; without torch the run must not import it."""
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    assert step_speed.main(["--threads", "1", "--rounds", "1", "--seconds", "0.01", "--batch", "64",
                            "--no-torch"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    sgd = report["threads"]["1"]["sgd"]
    assert report["step_mflop"] == pytest.approx(step_speed.step_flops(batch=64) / 1e6, abs=0.01)
    assert sgd["trainlab_gflops"] == pytest.approx(
        sgd["trainlab_steps_per_s"] * step_speed.step_flops(batch=64) / 1e9, rel=0.02, abs=0.1)
    assert "torch_steps_per_s" not in sgd


def test_bad_threads_is_a_usage_error():
    with pytest.raises(SystemExit) as exc:
        step_speed.main(["--threads", "two"])
    assert exc.value.code == 2
