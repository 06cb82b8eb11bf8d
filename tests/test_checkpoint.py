"""Checkpoints: .npz + JSON, no pickle, atomic writes, clear errors; random-generator states."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from trainlab import checkpoint as ck
from trainlab.checkpoint import load_checkpoint, save_checkpoint
from trainlab.seeding import STREAMS, generator_state, set_generator_state, spawn_streams


def sample():
    arrays = {"param/W1": np.arange(6, dtype=np.float32).reshape(2, 3), "optim/t": np.array(7)}
    meta = {"epoch": 3, "history": {"iter_loss": [0.1, float("nan")]}, "name": "ünï"}
    return arrays, meta


def test_round_trip_without_pickle(tmp_path):
    arrays, meta = sample()
    path = tmp_path / "sub" / "checkpoint.npz"
    save_checkpoint(path, arrays, meta)
    got, got_meta = load_checkpoint(path)
    assert set(got) == set(arrays)
    for k in arrays:
        np.testing.assert_array_equal(got[k], arrays[k])
        assert got[k].dtype == arrays[k].dtype
    assert got_meta["epoch"] == 3 and got_meta["name"] == "ünï"
    assert np.isnan(got_meta["history"]["iter_loss"][1])
    with zipfile.ZipFile(path) as z:  # a plain .npz: one .npy per array, the JSON under meta
        assert sorted(z.namelist()) == sorted(f"{k}.npy" for k in [*arrays, "meta"])
    with np.load(path, allow_pickle=False) as z:
        assert json.loads(str(z["meta"]))["epoch"] == 3


def test_object_arrays_and_the_reserved_name_are_refused(tmp_path):
    with pytest.raises(TypeError, match="Python objects"):
        save_checkpoint(tmp_path / "c.npz", {"x": np.array([{}], dtype=object)}, {})
    with pytest.raises(ValueError, match="reserved"):
        save_checkpoint(tmp_path / "c.npz", {"meta": np.zeros(1)}, {})


def test_a_failed_write_leaves_the_previous_checkpoint_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.npz"
    arrays, meta = sample()
    save_checkpoint(path, arrays, meta)
    before = path.read_bytes()

    def broken_savez(f, **payload):
        f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of the write

    monkeypatch.setattr(ck.np, "savez", broken_savez)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {"param/W1": np.zeros(3)}, {"epoch": 4})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.npz"]
    assert load_checkpoint(path)[1]["epoch"] == 3


def test_a_stray_temporary_file_from_a_killed_write_is_ignored_then_removed(tmp_path):
    from trainlab.record import RunRecord

    path = tmp_path / "checkpoint.npz"
    arrays, meta = sample()
    RunRecord.create(tmp_path, "train", "t").finish("interrupted")
    save_checkpoint(path, arrays, meta)
    stray = tmp_path / ".checkpoint.npz.abc123.tmp"  # what SIGKILL during a write leaves
    stray.write_bytes(b"PK\x03\x04 truncated")
    assert load_checkpoint(path)[1]["epoch"] == 3
    save_checkpoint(path, arrays, dict(meta, epoch=4))  # another writer's temporary is not ours to remove
    assert stray.exists() and load_checkpoint(path)[1]["epoch"] == 4
    # the next process to take the run (it holds the folder's lock: nobody else writes there) removes it
    RunRecord.create(tmp_path, "train", "t", resume=True).close()
    assert not stray.exists() and load_checkpoint(path)[1]["epoch"] == 4


@pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04truncated"])
def test_an_unreadable_checkpoint_is_a_clear_error(tmp_path, content):
    path = tmp_path / "checkpoint.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="unreadable.*delete it to start over"):
        load_checkpoint(path)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.npz")


def test_seed_streams_are_independent_reproducible_and_their_state_survives_json():
    a, b = spawn_streams(5), spawn_streams(5)
    assert list(a) == list(STREAMS) == ["init", "data", "dropout"]
    draws = {k: g.random(4) for k, g in a.items()}
    assert len({tuple(v) for v in draws.values()}) == 3
    for k, g in b.items():
        np.testing.assert_array_equal(g.random(4), draws[k])
    state = json.loads(json.dumps(generator_state(a["data"])))
    expected = a["data"].random(3)
    set_generator_state(b["data"], state)
    np.testing.assert_array_equal(b["data"].random(3), expected)
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="seed must be an integer"):
            spawn_streams(bad)
