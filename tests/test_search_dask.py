"""trainlab search on a real dask.distributed LocalCluster (loopback, 2 worker processes)."""

from __future__ import annotations

import json
import time

import pytest

from trainlab.cli import main

distributed = pytest.importorskip("distributed")

TINY = ["--train-size", "200", "--hidden", "20x2", "--epochs", "3", "-q", "--trials", "6", "--stages", "2"]


@pytest.fixture(scope="module")
def cluster():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, host="127.0.0.1")
    yield cluster
    cluster.close()


@pytest.mark.slow
def test_search_on_a_dask_cluster_matches_the_local_search(tmp_path, cluster):
    out = tmp_path / "dask"
    assert main(["search", "--out", str(out), "--dask-scheduler", cluster.scheduler_address, *TINY]) == 0
    assert main(["search", "--out", str(tmp_path / "local"), *TINY]) == 0
    remote = json.loads((out / "trials.json").read_text())
    local = json.loads((tmp_path / "local" / "trials.json").read_text())
    assert len(remote) == 6 and all(r["state"] == "COMPLETE" for r in remote)
    key = lambda rows: [(r["stage"], r["params"], r["value"], r["val_curve"]) for r in rows]
    assert key(remote) == key(local)  # the random sampler's trials do not depend on where they run
    summary = json.loads((out / "summary.json").read_text())
    assert summary["executor"] == "DaskExecutor" and summary["workers"] == 2
    assert (out / "result.json").exists()


def test_pruner_is_refused_with_dask(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["search", "--out", str(tmp_path / "x"), "--dask-scheduler", "tcp://127.0.0.1:1",
              "--pruner", "median", *TINY])
    assert exc.value.code == 2 and "--pruner none" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_scheduler_that_does_not_answer_exits_2_quickly(tmp_path, capsys):
    t0 = time.perf_counter()
    with pytest.raises(SystemExit) as exc:
        main(["search", "--out", str(tmp_path / "x"), "--dask-scheduler", "tcp://127.0.0.1:9",
              "--dask-timeout", "1", *TINY])
    assert exc.value.code == 2
    assert "does not answer" in capsys.readouterr().err
    assert time.perf_counter() - t0 < 15 and not (tmp_path / "x").exists()
