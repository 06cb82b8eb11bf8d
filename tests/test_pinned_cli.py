"""Pinned before the refactor: exit codes and run records of ``trainlab train`` on bad data and of
``trainlab run NAME`` when an experiment crashes, through ``trainlab.cli.main``.

Today's codes (HEAD b416152):

* ``train --data-dir DIR`` with a damaged IDX file: a usage error, exit 2, the message
  ``--data-dir: <file>: <problem>. <remedy>``, nothing written (the run folder is not created).
  (The command's docstring says "1 … the data could not be read"; the code gives 2 for --data-dir.)
* ``train`` when the bundled MNIST is damaged (simulated: the bundled folder monkeypatched to a
  copy whose first file fails its SHA-256): one line ``trainlab train: error: …`` on stderr, exit 1,
  nothing written.
* ``run NAME --reduced --workers 1`` when a seed (or the summary) raises: exit 1, ``run.json``
  status "crashed" with the exception as its message and the traceback as ``error``.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest

from trainlab import cli
from trainlab.data import idx, mnist
from trainlab.data.spec import load_arrays
from trainlab.experiments import get


@pytest.fixture
def main(monkeypatch, tmp_path):
    """``trainlab.cli.main``; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("TRAINLAB_CACHE", str(tmp_path / "cache"))  # never the user's cache

    def run(capsys, *argv):
        try:
            code = cli.main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


# -- train on damaged data ------------------------------------------------------------------------------
def _idx(magic: int, *dims: int, data: bytes | None = None) -> bytes:
    n = 1
    for d in dims:
        n *= d
    return struct.pack(f">i{len(dims)}i", magic, *dims) + (bytes(n) if data is None else data)


def _dataset(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "train-images-idx3-ubyte").write_bytes(_idx(idx.IMAGES_MAGIC, 8, 2, 2))
    (folder / "train-labels-idx1-ubyte").write_bytes(_idx(idx.LABELS_MAGIC, 8, data=bytes([0, 1] * 4)))
    (folder / "t10k-images-idx3-ubyte").write_bytes(_idx(idx.IMAGES_MAGIC, 4, 2, 2))
    (folder / "t10k-labels-idx1-ubyte").write_bytes(_idx(idx.LABELS_MAGIC, 4, data=bytes([0, 1] * 2)))
    return folder


@pytest.mark.parametrize("damage, problem", [
    (lambda p: p.write_bytes(p.read_bytes()[:-3]), r"truncated: header says 8x2x2 = 32 bytes of data, file has 29"),
    (lambda p: p.write_bytes(struct.pack(">i", idx.LABELS_MAGIC) + p.read_bytes()[4:]),
     r"bad magic number 2049 \(expected 2051\)"),
], ids=["truncated", "bad-magic"])
def test_train_with_a_damaged_data_dir_is_a_usage_error_exit_2(main, capsys, tmp_path, damage, problem):
    data_dir = _dataset(tmp_path / "ds")
    damage(data_dir / "train-images-idx3-ubyte")
    out = tmp_path / "out"
    code, stdout, stderr = main(capsys, "train", "--data-dir", data_dir, "--out", out, "--epochs", "1", "-q")
    assert code == 2
    assert "usage: trainlab train" in stderr
    assert re.search(rf"trainlab train: error: --data-dir: {re.escape(str(data_dir / 'train-images-idx3-ubyte'))}: "
                     rf"{problem}", stderr), stderr
    assert not out.exists()


def test_train_with_the_bundled_dataset_damaged_exits_1_with_one_line(main, capsys, tmp_path, monkeypatch):
    fake = _dataset(tmp_path / "bundled")  # valid IDX files whose SHA-256 is not MNIST's
    monkeypatch.setattr(mnist, "BUNDLED_DIR", fake)
    load_arrays.cache_clear()  # the bundled arrays may be cached in this process already
    try:
        out = tmp_path / "out"
        code, stdout, stderr = main(capsys, "train", "--out", out, "--epochs", "1", "-q")
    finally:
        load_arrays.cache_clear()
    assert code == 1
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "usage:" not in stderr
    first = mnist.FILES["train_images"]
    assert lines[0].startswith(f"trainlab train: error: {fake / first}: checksum mismatch")
    assert mnist.MNIST_SHA256[first] in lines[0]
    assert not out.exists()


# -- run NAME when the experiment crashes -------------------------------------------------------------
NAME = "optimizer-race"  # no dataset, milliseconds per seed


def _manifest(out: Path) -> dict:
    return json.loads((out / NAME / "run.json").read_text(encoding="utf-8"))


def test_run_exits_1_and_records_crashed_when_a_seed_raises(main, capsys, tmp_path, monkeypatch):
    def crash(config, seed):
        raise RuntimeError(f"pinned crash in seed {seed}")

    monkeypatch.setattr(get(NAME), "run_seed", crash)
    code, stdout, _ = main(capsys, "run", NAME, "--reduced", "--workers", "1", "--out", tmp_path)
    assert code == 1
    m = _manifest(tmp_path)
    assert m["kind"] == "experiment" and m["name"] == NAME and m["reduced"] is True
    assert m["status"] == "crashed"
    assert m["message"] == "RuntimeError: pinned crash in seed 0"
    assert "Traceback" in m["error"] and "pinned crash in seed 0" in m["error"]
    assert "crashed" in stdout
    assert not (tmp_path / NAME / "summary.json").exists() and not (tmp_path / NAME / "seeds").exists()


def test_run_exits_1_and_records_crashed_when_the_summary_raises(main, capsys, tmp_path, monkeypatch):
    def crash(config, runs):
        raise ValueError("pinned crash in summarize")

    monkeypatch.setattr(get(NAME), "summarize", crash)
    code, _, _ = main(capsys, "run", NAME, "--reduced", "--workers", "1", "--out", tmp_path)
    assert code == 1
    m = _manifest(tmp_path)
    assert m["status"] == "crashed" and m["message"] == "ValueError: pinned crash in summarize"
    assert (tmp_path / NAME / "seeds" / "seed-0.json").is_file()  # the seed itself was written


def test_run_exits_0_when_nothing_crashes(main, capsys, tmp_path, monkeypatch):
    """The control for the two tests above (figures skipped: they are not what is pinned here)."""
    monkeypatch.setattr(get(NAME), "figures", lambda config, summary, runs: {})
    code, stdout, _ = main(capsys, "run", NAME, "--reduced", "--workers", "1", "--out", tmp_path)
    assert code == 0
    m = _manifest(tmp_path)
    assert m["status"] == "completed" and m["message"] == ""
    assert m["claims"]["n"] >= 1
