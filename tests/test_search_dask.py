"""trainlab search on a real dask.distributed LocalCluster (loopback, 2 worker processes), and the
refusals that need no cluster: --pruner with Dask, a scheduler that is not there.
"""

from __future__ import annotations

import json
import time

import pytest

from trainlab import cli
from trainlab.record import RunRecord

distributed = pytest.importorskip("distributed")

TINY = ["--train-size", "200", "--hidden", "20x2", "--epochs", "3", "-q", "--trials", "6", "--stages", "2"]


def main(argv):
    return cli.main([str(a) for a in argv])


@pytest.fixture(scope="module")
def cluster():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, host="127.0.0.1")
    yield cluster
    cluster.close()


@pytest.mark.slow
def test_search_on_a_dask_cluster_matches_the_local_search(tmp_path, cluster):
    out = tmp_path / "dask"
    assert main(["search", "--out", out, "--dask-scheduler", cluster.scheduler_address, *TINY]) == 0
    assert main(["search", "--out", tmp_path / "local", *TINY]) == 0
    remote = json.loads((out / "trials.json").read_text())
    local = json.loads((tmp_path / "local" / "trials.json").read_text())
    assert len(remote) == 6 and all(r["state"] == "COMPLETE" for r in remote)
    key = lambda rows: [(r["stage"], r["params"], r["value"], r["val_curve"]) for r in rows]
    assert key(remote) == key(local)  # the random sampler's trials do not depend on where they run
    summary = json.loads((out / "summary.json").read_text())
    assert summary["executor"] == "DaskExecutor" and summary["workers"] == 2
    run = RunRecord.open(out)
    assert run.kind == "search" and run.status == "completed" and "Dask" in run.manifest["executor"]
    assert len(run.children()) == 6 and len(run.histories()) == 6


def test_pruner_is_refused_with_dask(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["search", "--out", tmp_path / "x", "--dask-scheduler", "tcp://127.0.0.1:1", "--pruner", "median",
              *TINY])
    assert exc.value.code == 2 and "--pruner none" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("timeout", [[], ["--dask-timeout", "1"]], ids=["default-timeout", "timeout-1"])
def test_scheduler_that_does_not_answer_exits_2_quickly_in_one_line(tmp_path, capsys, timeout):
    t0 = time.perf_counter()
    with pytest.raises(SystemExit) as exc:
        main(["search", "--out", tmp_path / "x", "--dask-scheduler", "tcp://127.0.0.1:9", *timeout, *TINY])
    assert exc.value.code == 2
    assert time.perf_counter() - t0 < 6 and not (tmp_path / "x").exists()
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.rstrip().splitlines()[-1].startswith("trainlab search: error: ")
    assert "tcp://127.0.0.1:9" in err and "connection refused" in err


def test_a_server_that_is_not_a_dask_scheduler_exits_2_in_one_line(tmp_path, capsys):
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def answer_garbage():  # like an HTTP server on the wrong port
        for _ in range(4):
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n" * 8)
            conn.close()

    threading.Thread(target=answer_garbage, daemon=True).start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(SystemExit) as exc:
            main(["search", "--out", tmp_path / "x", "--dask-scheduler", f"tcp://127.0.0.1:{port}", *TINY])
    finally:
        server.close()
    assert exc.value.code == 2 and time.perf_counter() - t0 < 6 and not (tmp_path / "x").exists()
    err = capsys.readouterr().err
    assert "Traceback" not in err and "not as a Dask scheduler" in err.rstrip().splitlines()[-1]
