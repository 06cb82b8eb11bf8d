"""Where trials run: in the search process, in N local processes, or on a Dask cluster.

Every executor has ``capacity`` (trials in flight), ``reports`` (whether workers report epochs to
the study themselves, which pruning needs), ``submit(task) -> future`` and ``wait(futures)`` (the
finished ones). The search process always asks and tells (ask-and-tell interface), so which
trials run and how they are recorded do not depend on the executor.

* :class:`InProcess` (``--workers 1``): runs the trial at ``submit``; reports through the parent's trial.
* :class:`LocalProcesses` (``--workers N``): a spawn-context process pool; each worker opens the
  study's journal file (same machine) to report epochs and ask the pruner.
* :class:`DaskExecutor` (``--dask-scheduler``): ``client.submit(evaluate, task)``; the workers get
  the whole task and return the whole result, so they need neither the journal nor a shared
  filesystem. Without reports there is no pruning (the command refuses ``--pruner`` with Dask).
  ``dask.distributed`` is imported only here (``pip install 'trainlab[distributed]'``).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing

from .objective import evaluate

__all__ = ["InProcess", "LocalProcesses", "DaskExecutor", "connect_dask", "DaskUnavailable"]


class InProcess:
    capacity = 1
    in_process = True
    reports = True

    def __init__(self):
        self.reporter_factory = None  # set by the search: task -> reporter

    def submit(self, task):
        fut = cf.Future()
        try:
            fut.set_result(evaluate(task, self.reporter_factory(task) if self.reporter_factory else None))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(exc)
        return fut

    def wait(self, futures):
        return list(futures)

    def close(self):
        pass


class LocalProcesses:
    reports = True

    def __init__(self, workers: int):
        self.capacity = workers
        self.pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, task):
        return self.pool.submit(evaluate, task)

    def wait(self, futures):
        done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
        return list(done)

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


class DaskUnavailable(RuntimeError):
    """dask.distributed is not installed or the scheduler does not answer."""


def connect_dask(address: str, timeout: float = 5.0):
    """A ``distributed.Client`` connected to ``address`` (checked before anything is written)."""
    try:
        from distributed import Client
    except ImportError:
        raise DaskUnavailable("--dask-scheduler needs dask.distributed: pip install 'trainlab[distributed]'") from None
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise DaskUnavailable(f"the Dask scheduler at {address} does not answer within {timeout:g} s ({exc}); "
                              f"start one with 'dask scheduler' and workers with 'dask worker {address}'") from None
    return client


class DaskExecutor:
    reports = False

    def __init__(self, client):
        self.client = client
        self.capacity = max(1, sum(client.nthreads().values()))

    def submit(self, task):
        return self.client.submit(evaluate, task, pure=False)

    def wait(self, futures):
        from distributed import wait

        with self.client.as_current():
            done, _ = wait(list(futures), return_when="FIRST_COMPLETED")
        return list(done)

    def close(self):
        self.client.close()
