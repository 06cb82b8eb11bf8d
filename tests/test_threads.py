"""Training processes run with one BLAS thread, on any install: threadpoolctl is a runtime
dependency (it was a test extra, and a plain `pip install .` ran `trainlab run all` with two
2-thread workers on 2 cores: one batch-norm seed took 157 s instead of 14 s)."""

from importlib.metadata import requires

import threadpoolctl

from trainlab.executor import LocalProcesses
from trainlab.threads import one_blas_thread


def test_threadpoolctl_is_a_runtime_dependency():
    plain = [r for r in requires("trainlab") if "extra ==" not in r]
    assert any(r.startswith("threadpoolctl") for r in plain), plain


def _blas_threads(info):
    return [lib["num_threads"] for lib in info if lib["user_api"] == "blas"]


def test_executor_workers_use_one_blas_thread():
    pool = LocalProcesses(2)
    try:
        infos = [f.result(timeout=120) for f in [pool.submit(threadpoolctl.threadpool_info) for _ in range(2)]]
    finally:
        pool.close()
    for info in infos:
        threads = _blas_threads(info)
        assert threads and all(n == 1 for n in threads), info


def test_one_blas_thread_context():
    with one_blas_thread():
        threads = _blas_threads(threadpoolctl.threadpool_info())
    assert threads and all(n == 1 for n in threads)
