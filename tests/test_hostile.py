"""Hostile and clumsy input, as a table: each case sets up a folder (often with an earlier run in it),
runs one command, and asserts the exit code, a one-line message without a traceback that says
what was wrong, and that everything that was there before is byte-for-byte intact (a refused
command writes nothing at all).

The audit's cases that need more than one command line live beside their subject, not here:
two processes on one folder (tests/test_cli_train.py, tests/test_search.py), a kill mid-run and
--resume (same), killing a parent with workers (tests/test_orphans.py), a torn or missing search
journal (tests/test_search.py), a lying decode cache and decompression bombs in the loader
(tests/test_data_hostile.py), deterministic SVGs (tests/test_files.py), a damaged run in the
report (tests/test_report.py).
"""

from __future__ import annotations

import errno
import gzip
import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from trainlab.cli import main

SMALL_TRAIN = ["--train-size", "300", "--epochs", "1", "--hidden", "20", "-q"]
SMALL_SEARCH = ["--trials", "2", "--epochs", "2", "--train-size", "200", "--hidden", "20", "-q"]


def write_idx(folder: Path, train_labels=None, images_header=None, bomb: bool = False) -> Path:
    """A four-file IDX set (20x20 images): optionally bad labels, a crafted image header, a gzip bomb."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    n, m = 60, 20
    labels = np.arange(n) % 10 if train_labels is None else np.asarray(train_labels)
    parts = {
        "train-images-idx3-ubyte": struct.pack(">iiii", 2051, n, 20, 20) + rng.integers(0, 256, n * 400, np.uint8).tobytes(),
        "train-labels-idx1-ubyte": struct.pack(">ii", 2049, len(labels)) + labels.astype(np.uint8).tobytes(),
        "t10k-images-idx3-ubyte": struct.pack(">iiii", 2051, m, 20, 20) + rng.integers(0, 256, m * 400, np.uint8).tobytes(),
        "t10k-labels-idx1-ubyte": struct.pack(">ii", 2049, m) + (np.arange(m) % 10).astype(np.uint8).tobytes(),
    }
    if images_header is not None:
        parts["train-images-idx3-ubyte"] = struct.pack(">iiii", 2051, *images_header) + b"\0" * 64
    for name, data in parts.items():
        if bomb and name == "train-images-idx3-ubyte":  # a small file that expands far past its header
            data = struct.pack(">iiii", 2051, n, 20, 20) + b"\0" * (200 << 20)
        (folder / f"{name}.gz").write_bytes(gzip.compress(data, compresslevel=9))
    return folder


def earlier_train(tmp: Path) -> None:
    assert main(["train", *SMALL_TRAIN, "--out", str(tmp / "runs" / "adam")]) == 0


def earlier_experiment(tmp: Path) -> None:
    assert main(["run", "optimizer-race", "--out", str(tmp / "runs")]) == 0


def full_disk(when: str):
    """Set-up: from now on, writing a file whose name is ``when`` fails with ENOSPC."""
    def setup(tmp: Path, monkeypatch) -> None:
        from trainlab import files

        real = files.write_bytes

        def write(path, data):
            if Path(path).name == when:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
            return real(path, data)

        monkeypatch.setattr(files, "write_bytes", write)
    return setup


@dataclass
class Case:
    name: str
    argv: Callable[[Path], list[str]]
    code: int
    words: tuple[str, ...]
    setup: Callable[[Path], None] | None = None  # an earlier run that must stay intact
    patch: Callable | None = None  # (tmp, monkeypatch) after the set-up: the hostile environment
    changes: tuple[str, ...] = ()  # paths (relative to tmp) that the command may write
    strict_json: bool = True
    extra: dict = field(default_factory=dict)


def out(tmp: Path, *parts) -> str:
    return str(tmp.joinpath(*parts))


CASES = [
    # 1. two processes, unique temporaries: see the module doc
    # 4. NaN must not reach JSON, and a run that diverged must say so
    Case("run: a diverging seed is strict JSON, status diverged, exit 1",
         lambda t: ["run", "optimizer-mnist", "--reduced", "--seeds", "1", "--set", "lr_sgd=1e6",
                    "--set", "iterations=60", "--set", "final_window=20", "--out", out(t, "runs")],
         1, ("diverged",), setup=earlier_experiment, changes=("runs/optimizer-mnist", "runs/report.html")),
    Case("run: --set batch_size=0 is refused with its range",
         lambda t: ["run", "overfitting", "--set", "batch_size=0", "--out", out(t, "runs")],
         2, ("batch_size", ">= 1"), setup=earlier_experiment),
    # Adam with eps = 0 and no weight decay divides 0 by 0 at MNIST's border pixels (0 in every image, so
    # their weights' gradient is exactly 0) at its first update: every trial diverges, whatever its lr
    Case("search: every trial diverging is strict JSON, status failed, exit 1",
         lambda t: ["search", *SMALL_SEARCH, "--optimizer", "adam", "--param", "eps=choice:0",
                    "--param", "weight_decay=choice:0", "--out", out(t, "runs", "s")],
         1, ("no trial completed",), setup=earlier_train, changes=("runs/s", "runs/report.html")),
    # 6. --set values are range-checked before any work
    *[Case(f"run: --set {kv} is refused with what is accepted",
           lambda t, kv=kv: ["run", "optimizer-race", "--set", kv, "--out", out(t, "runs")], 2, words,
           setup=earlier_experiment)
      for kv, words in [("contour_step=0", ("contour_step", ">= 0.001")), ("optimizers=[]", ("optimizers", "1 or more")),
                        ("steps=-5", ("steps", ">= 1")), ("lr_sgd=NaN", ("lr_sgd", "finite")),
                        ("convention=foo", ("convention", "torch, book")), ("steps=1.5", ("steps", "integer")),
                        ("steps=1e9", ("steps", "<= 100000"))]],
    # 7. checks that came too late
    Case("search: --epochs 0", lambda t: ["search", "--epochs", "0", "--out", out(t, "s")], 2,
         ("--epochs", "at least 1 epoch")),
    Case("search: --train-size 1", lambda t: ["search", "--train-size", "1", "--out", out(t, "s")], 2,
         ("--train-size",)),
    Case("train: batch norm with batch size 1", lambda t: ["train", *SMALL_TRAIN, "--batch-norm", "--batch-size", "1",
                                                           "--out", out(t, "t")], 2, ("--batch-size", "batch norm")),
    Case("train: a network that cannot fit in memory", lambda t: ["train", "--hidden", "100000,100000",
                                                                  "--out", out(t, "t")], 2, ("--hidden", "GiB")),
    # 8. unwritable output
    Case("train: --out is a file", lambda t: ["train", *SMALL_TRAIN, "--out", out(t, "runs", "adam", "run.json")], 2,
         ("is a file",), setup=earlier_train),
    Case("run: --out is a file", lambda t: ["run", "optimizer-race", "--out", out(t, "runs", "adam", "run.json")], 2,
         ("is a file",), setup=earlier_train),
    Case("search: --out is a file", lambda t: ["search", *SMALL_SEARCH, "--out", out(t, "runs", "adam", "run.json")], 2,
         ("is a file",), setup=earlier_train),
    Case("train --resume on a full disk keeps the last checkpoint",
         lambda t: ["train", *SMALL_TRAIN, "--epochs", "2", "--resume", "--out", out(t, "runs", "adam")], 1,
         ("cannot write", "No space left on device"), setup=earlier_train, patch=full_disk("checkpoint.npz"),
         changes=("runs/adam/run.json", "runs/adam/history.json", "runs/adam/history.csv")),
    Case("run on a full disk: one line, exit 1, the earlier experiment intact",
         lambda t: ["run", "init-mnist", "--reduced", "--seeds", "1", "--out", out(t, "runs")], 1,
         ("cannot write", "No space left on device"), setup=earlier_experiment, patch=full_disk("summary.json"),
         changes=("runs/init-mnist",)),
    # 9. crafted data
    Case("train: an IDX header whose sizes overflow",
         lambda t: ["train", *SMALL_TRAIN, "--data-dir", out(t, "idx"), "--out", out(t, "t")], 2,
         ("--data-dir", "train-images"), setup=lambda t: write_idx(t / "idx", images_header=(2**31 - 1, 2**20, 2**20))),
    Case("train: a gzip that expands past its header",
         lambda t: ["train", *SMALL_TRAIN, "--data-dir", out(t, "idx"), "--out", out(t, "t")], 2,
         ("--data-dir", "train-images"), setup=lambda t: write_idx(t / "idx", bomb=True)),
    Case("train: labels 0–9 and 254 are not 255 classes",
         lambda t: ["train", *SMALL_TRAIN, "--data-dir", out(t, "idx"), "--out", out(t, "t")], 2, ("--data-dir", "254"),
         setup=lambda t: write_idx(t / "idx", train_labels=[*range(10)] * 5 + [254] * 10)),
    # 10. smaller ones
    Case("train: --hidden ''", lambda t: ["train", "--hidden", "", "--out", out(t, "t")], 2, ("--hidden", "'none'")),
    Case("train: --init-value with a named init", lambda t: ["train", "--init-value", "0.1", "--out", out(t, "t")], 2,
         ("--init-value", "does not use it")),
    Case("train: -q -v", lambda t: ["train", "-q", "-v", "--out", out(t, "t")], 2, ("contradict",)),
    Case("train: Adam with eps 0 is blamed on eps", lambda t: ["train", *SMALL_TRAIN, "--eps", "0", "--out", out(t, "t")],
         1, ("eps=0",), changes=("t",)),
    Case("train: a validation split of one sample", lambda t: ["train", "--train-size", "1", "--val-fraction", "0.5",
                                                               "--out", out(t, "t")], 2, ("at least 2 samples",)),
    Case("search --resume with the stored options is accepted; a different one is named",
         lambda t: ["search", *SMALL_SEARCH[:-1], "--trials", "3", "--resume", "--out", out(t, "runs", "s")], 2,
         ("--trials",), setup=lambda t: main(["search", *SMALL_SEARCH, "--out", out(t, "runs", "s")])),
    Case("run: --workers 999 on a 2-core machine", lambda t: ["run", "optimizer-race", "--workers", "999",
                                                             "--out", out(t, "runs")], 2, ("--workers 999", "cores")),
    Case("search: --workers 999", lambda t: ["search", *SMALL_SEARCH, "--workers", "999", "--out", out(t, "s")], 2,
         ("--workers 999", "cores")),
    Case("run: a Dask scheduler that is not there", lambda t: ["run", "optimizer-race", "--dask-scheduler",
                                                              "tcp://127.0.0.1:1", "--out", out(t, "runs")], 2,
         ("tcp://127.0.0.1:1",)),
    # our own
    Case("run: an existing experiment is not replaced", lambda t: ["run", "optimizer-race", "--out", out(t, "runs")],
         2, ("--overwrite",), setup=earlier_experiment),
    Case("train --resume on a search's folder", lambda t: ["train", *SMALL_TRAIN, "--resume", "--out", out(t, "runs", "s")],
         2, ("search",), setup=lambda t: main(["search", *SMALL_SEARCH, "--out", out(t, "runs", "s")])),
    Case("train --overwrite does not touch a folder of other files",
         lambda t: ["train", *SMALL_TRAIN, "--overwrite", "--out", out(t, "notes")], 2, ("not a TrainLab run",),
         setup=lambda t: (t / "notes").mkdir() or (t / "notes" / "todo.txt").write_text("mine")),
    Case("report on a file", lambda t: ["report", out(t, "runs", "adam", "run.json")], 2, ("not a folder",),
         setup=earlier_train),
    Case("compare: a pattern that selects nothing", lambda t: ["compare", out(t, "runs", "adam") + "#nothing*",
                                                              "--out", out(t, "cmp")], 2, ("nothing*",),
         setup=earlier_train),
    Case("search: a log range that starts at 0", lambda t: ["search", "--param", "lr=log:0:1", "--out", out(t, "s")], 2,
         ("lr", "low > 0")),
    Case("search: a --config file that is not there", lambda t: ["search", "--config", out(t, "nope.toml"),
                                                                "--out", out(t, "s")], 2, ("nope.toml",)),
    Case("run: a data folder without the IDX files", lambda t: ["run", "overfitting", "--reduced", "--data-dir",
                                                               out(t, "runs"), "--out", out(t, "r2")], 2,
         ("--data-dir", "missing file"), setup=earlier_train),
    Case("train --resume after run.json was damaged",
         lambda t: ["train", *SMALL_TRAIN, "--resume", "--out", out(t, "runs", "adam")], 2, ("--resume",),
         setup=lambda t: earlier_train(t) or (t / "runs" / "adam" / "run.json").write_text("{torn")),
]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != ".lock" and "cache" not in p.relative_to(root).parts}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_case(case: Case, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    if case.setup is not None:
        case.setup(tmp_path)
    before = _snapshot(tmp_path)
    if case.patch is not None:
        case.patch(tmp_path, monkeypatch)
    capsys.readouterr()
    try:
        code = main(case.argv(tmp_path))
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    err, said = captured.err, captured.out + captured.err
    assert code == case.code, said
    assert "Traceback" not in said, said
    if code == 2:  # a usage error: one line naming what was wrong, after the usage
        assert err.strip().splitlines()[-1].startswith("trainlab "), err
        assert ": error: " in err.strip().splitlines()[-1], err
    for word in case.words:
        assert word in said, (word, said)
    after = _snapshot(tmp_path)
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    allowed = {k for k in changed if any(k == c or k.startswith(c + "/") for c in case.changes)}
    assert changed == allowed, f"changed without leave: {sorted(changed - allowed)}"
    if case.strict_json:
        for p in tmp_path.rglob("*.json"):
            if "cache" in p.parts or p.name == "run.json" and p.read_text().startswith("{torn"):
                continue
            json.loads(p.read_text(), parse_constant=lambda c: pytest.fail(f"{p} holds {c}"))
