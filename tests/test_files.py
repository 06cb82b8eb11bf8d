"""The one writer: atomic (a failed write leaves the old file and no temporary), ordinary modes,
strict JSON that says where it replaced NaN/inf, NumPy values converted, deterministic figures."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from trainlab import files


def test_a_write_replaces_the_file_and_a_failed_write_keeps_the_old_one(tmp_path):
    path = tmp_path / "summary.json"
    files.write_text(path, "one")
    files.write_text(path, "two")
    assert path.read_text() == "two"

    def half(f):
        f.write(b"{half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        files.write_bytes(path, half)
    assert path.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]  # no temporary left


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_get_the_mode_open_would_give(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        files.write_text(tmp_path / "a.txt", "x")
        files.write_json(tmp_path / "b.json", {"a": 1})
    finally:
        os.umask(old)
    assert {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()} == {"a.txt": mode, "b.json": mode}


def test_json_is_strict_and_says_where_it_replaced_non_finite_numbers(tmp_path):
    path = tmp_path / "s.json"
    found = files.write_json(path, {"loss": [0.5, math.nan], "best": {"acc": math.inf}, "n": np.int64(3),
                                    "a": np.array([1.5, -np.inf], dtype=np.float32), "t": (1, 2), "ok": np.bool_(True)})
    assert found == ["$.loss[1]", "$.best.acc", "$.a[1]"]
    data = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(c))
    assert data == {"loss": [0.5, None], "best": {"acc": None}, "n": 3, "a": [1.5, None], "t": [1, 2], "ok": True}


def test_the_same_figure_gives_the_same_bytes(tmp_path):
    from matplotlib.figure import Figure

    def draw():
        fig = Figure(figsize=(3, 2))
        ax = fig.subplots()
        ax.plot([0, 1, 2], [0.3, 0.1, 0.2], label="a")
        ax.fill_between([0, 1, 2], [0, 0, 0], [0.3, 0.1, 0.2], alpha=0.2)
        ax.legend()
        return fig

    files.save_figure(draw(), tmp_path / "one", "f")
    files.save_figure(draw(), tmp_path / "two", "f")
    for ext in ("png", "svg"):
        assert (tmp_path / "one" / f"f.{ext}").read_bytes() == (tmp_path / "two" / f"f.{ext}").read_bytes(), ext
    assert b"<dc:date>" not in (tmp_path / "one" / "f.svg").read_bytes()


def test_only_the_lock_holder_removes_temporaries_a_kill_left(tmp_path):
    (tmp_path / ".history.json.x1y2.tmp").write_text("{half")
    (tmp_path / "history.json").write_text("{}")
    files.write_text(tmp_path / "other.json", "{}")  # an ordinary write leaves other writers' temporaries
    assert (tmp_path / ".history.json.x1y2.tmp").exists()
    assert [p.name for p in files.remove_temporaries(tmp_path)] == [".history.json.x1y2.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.json", "other.json"]


def test_a_folder_holding_only_a_killed_first_write_is_taken_as_empty(tmp_path):
    """A kill between the temporary file and its rename of a run's first run.json leaves only
    ``.run.json.*.tmp``: a resumed search must be able to start that trial again (it was refused
    as 'files that are not a TrainLab run')."""
    from trainlab.record import RunExists, RunRecord

    folder = tmp_path / "trial-0001"
    folder.mkdir()
    (folder / ".run.json.pbmwq7ez.tmp").write_text('{"kind": "tr')
    record = RunRecord.create(folder, "train", "t")
    record.finish("completed")
    assert sorted(p.name for p in folder.iterdir() if p.name != ".lock") == ["run.json"]
    stranger = tmp_path / "other"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    with pytest.raises(RunExists, match="not a TrainLab run"):
        RunRecord.create(stranger, "train", "t")
