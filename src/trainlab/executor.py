"""One executor for every parallel job: the seeds of ``trainlab run``, the trials of a search.

A job is a plain importable function called with JSON-able arguments, so it runs the same in this
process, in a local worker process or on a Dask worker, and gives the same numbers everywhere
(each call runs with one BLAS thread: see :mod:`trainlab.threads`).

Every executor has ``capacity`` (jobs running at once), ``shares_files`` (whether its workers see
this machine's files, which a search's pruner needs), ``submit(fn, *args) -> future``,
``wait(futures) -> the finished ones`` (at least one) and ``close()``:

* :class:`InProcess` (``workers=1``): runs the job at ``submit``, in this process.
* :class:`LocalProcesses` (``workers=N``): N worker processes, one BLAS thread each. Workers die
  with their parent: a watchdog thread in each worker exits when the parent process is gone
  (SIGKILL included), and on Linux the kernel sends them SIGKILL when their parent dies.
* :class:`DaskExecutor` (``--dask-scheduler tcp://HOST:PORT``): jobs go to a Dask cluster; its
  workers need trainlab installed (``pip install 'trainlab[distributed]'``).

:func:`run_all` submits a list of jobs longest first (by an estimated cost), keeps at most
``capacity`` in flight, and hands back each result as it comes.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .threads import one_blas_thread

__all__ = ["InProcess", "LocalProcesses", "DaskExecutor", "DaskUnavailable", "make_executor", "connect_dask",
           "run_all", "call_with_one_thread", "JobFailed"]

_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
               "NUMEXPR_NUM_THREADS")


class DaskUnavailable(RuntimeError):
    """dask.distributed is not installed, or the scheduler does not answer."""


class JobFailed(Exception):
    """A job raised: ``traceback`` holds the text of the original error (from any process)."""

    def __init__(self, message: str, traceback_text: str):
        super().__init__(message)
        self.traceback = traceback_text


def call_with_one_thread(fn: Callable, *args) -> Any:
    """``fn(*args)`` with BLAS and OpenMP limited to one thread (the same numbers on every worker)."""
    with one_blas_thread():
        return fn(*args)


# -- in this process ---------------------------------------------------------------------------
class InProcess:
    """Runs each job immediately in this process."""

    capacity = 1
    shares_files = True
    in_process = True

    def submit(self, fn: Callable, *args) -> cf.Future:
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(call_with_one_thread(fn, *args))
        except Exception as exc:  # handed to the caller through the future
            fut.set_exception(exc)
        return fut

    def wait(self, futures) -> list:
        return list(futures)

    def close(self, cancel: bool = False) -> None:
        pass

    def describe(self) -> str:
        return "this process"


# -- local worker processes ----------------------------------------------------------------------
def _watch_parent(parent_pid: int, interval: float = 0.5) -> None:
    """Exit this worker as soon as ``parent_pid`` no longer exists."""
    import time

    while True:
        time.sleep(interval)
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:  # alive, owned by someone else (cannot happen for our parent)
            pass


def _die_with_parent(parent_pid: int) -> None:
    """Worker initialiser: one BLAS thread, and no life after the parent."""
    for var in _THREAD_ENV:
        os.environ[var] = "1"
    one_blas_thread()
    try:  # Linux: SIGKILL this worker when the process that forked it dies
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    # the forking process may be the forkserver, not our parent: watch the real parent too
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True, name="parent-watchdog").start()
    if os.getppid() != parent_pid:
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            os._exit(1)


class LocalProcesses:
    """``workers`` worker processes on this machine, one BLAS thread each."""

    shares_files = True
    in_process = False

    def __init__(self, workers: int):
        import multiprocessing as mp

        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.capacity = workers
        # forkserver (or spawn): never fork a process whose BLAS threads already run
        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        self.pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context(method),
                                           initializer=_die_with_parent, initargs=(os.getpid(),))

    def submit(self, fn: Callable, *args) -> cf.Future:
        return self.pool.submit(fn, *args)

    def wait(self, futures) -> list:
        done, _ = cf.wait(list(futures), return_when=cf.FIRST_COMPLETED)
        return list(done)

    def close(self, cancel: bool = False) -> None:
        if cancel:  # stop now: queued jobs are dropped and running workers ended
            processes = list(getattr(self.pool, "_processes", {}).values())
            self.pool.shutdown(wait=False, cancel_futures=True)
            for p in processes:
                if p.is_alive():
                    p.terminate()
            for p in processes:
                p.join(timeout=5)
        else:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def describe(self) -> str:
        return f"{self.capacity} local processes"


# -- Dask ---------------------------------------------------------------------------------------
def _probe_scheduler(address: str, timeout: float) -> None:
    """Fail fast, in one line, when nothing or something other than a Dask scheduler answers at
    ``address``: a refused connection is known at once (Dask's own client would retry it until the
    timeout), and a server that is not Dask would leave a client that hangs while it closes."""
    import asyncio
    import socket

    from distributed.comm import connect, parse_address
    from distributed.comm.addressing import parse_host_port

    scheme, location = parse_address(address)
    if scheme == "tcp":
        host, port = parse_host_port(location)
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except socket.gaierror:
            raise DaskUnavailable(f"the Dask scheduler address {address}: unknown host {host!r}") from None
        except ConnectionRefusedError:
            raise DaskUnavailable(f"nothing listens at {address} (connection refused); start a scheduler with "
                                  f"'dask scheduler' and workers with 'dask worker {address} --nthreads 1'") from None
        except OSError as exc:
            raise DaskUnavailable(f"the Dask scheduler at {address} does not answer within {timeout:g} s "
                                  f"({exc.strerror or type(exc).__name__})") from None
    try:
        asyncio.get_running_loop()
        return  # inside an event loop (a notebook): let the client report
    except RuntimeError:
        pass

    async def handshake():
        comm = await connect(address, timeout=timeout)
        await comm.close()

    try:
        asyncio.run(asyncio.wait_for(handshake(), timeout + 1.0))
    except (OSError, TimeoutError, asyncio.TimeoutError):
        raise DaskUnavailable(f"the Dask scheduler at {address} does not answer within {timeout:g} s") from None
    except Exception as exc:  # something answered, but not Dask's protocol
        raise DaskUnavailable(f"{address} answers, but not as a Dask scheduler ({type(exc).__name__}); "
                              f"check the address and port (the scheduler's default port is 8786)") from None


def connect_dask(address: str, timeout: float = 5.0):
    """A ``distributed.Client`` connected to ``address``, or :class:`DaskUnavailable` with what to do."""
    try:
        import logging

        from distributed import Client
    except ImportError:
        raise DaskUnavailable("--dask-scheduler needs dask.distributed: pip install 'trainlab[distributed]'") from None
    if not isinstance(address, str) or "://" not in address:
        raise DaskUnavailable(f"--dask-scheduler expects an address like tcp://HOST:8786, got {address!r}")
    quiet = [logging.getLogger(n) for n in ("distributed", "distributed.client", "distributed.comm")]
    levels = [lg.level for lg in quiet]
    for lg in quiet:  # a refused connection is reported by us in one line, not logged as a traceback
        lg.setLevel(logging.CRITICAL)
    try:
        try:
            _probe_scheduler(address, timeout)
        except ValueError as exc:  # an address Dask cannot parse
            raise DaskUnavailable(f"--dask-scheduler expects an address like tcp://HOST:8786, got {address!r} "
                                  f"({exc})") from None
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise DaskUnavailable(f"the Dask scheduler at {address} does not answer within {timeout:g} s "
                              f"({type(exc).__name__}); start one with 'dask scheduler' and workers with "
                              f"'dask worker {address} --nthreads 1'") from None
    finally:
        for lg, level in zip(quiet, levels):
            lg.setLevel(level)
    return client


class DaskExecutor:
    """Jobs on a Dask cluster, as many at once as it has worker threads."""

    shares_files = False
    in_process = False

    def __init__(self, client):
        self.client = client
        self.capacity = max(1, sum(client.nthreads().values()))

    def submit(self, fn: Callable, *args) -> Any:
        return self.client.submit(call_with_one_thread, fn, *args, pure=False)

    def wait(self, futures) -> list:
        from distributed import wait

        with self.client.as_current():
            done, _ = wait(list(futures), return_when="FIRST_COMPLETED")
        return list(done)

    def close(self, cancel: bool = False) -> None:
        self.client.close()

    def describe(self) -> str:
        return f"the Dask cluster at {self.client.scheduler.address} ({self.capacity} worker threads)"


def make_executor(workers: int = 1, dask_scheduler: str | None = None, timeout: float = 5.0):
    """The executor for ``--workers N`` or ``--dask-scheduler ADDR`` (connected and checked)."""
    if dask_scheduler:
        return DaskExecutor(connect_dask(dask_scheduler, timeout))
    if workers <= 1:
        return InProcess()
    return LocalProcesses(workers)


# -- a batch of jobs ------------------------------------------------------------------------------
def run_all(executor, fn: Callable, jobs: Sequence[tuple], costs: Sequence[float] | None = None
            ) -> Iterator[tuple[int, Any, JobFailed | None]]:
    """Run ``fn(*jobs[i])`` for every job; yield ``(i, result, None)`` or ``(i, None, JobFailed)``
    as each finishes. Jobs are started longest first by ``costs`` (ties and no costs: in order),
    at most ``executor.capacity`` at a time, so the longest never starts last on an idle machine."""
    order = sorted(range(len(jobs)), key=lambda i: (-(costs[i] if costs else 0.0), i))
    pending = list(order)
    in_flight: dict[Any, int] = {}
    while pending or in_flight:
        while pending and len(in_flight) < executor.capacity:
            i = pending.pop(0)
            in_flight[executor.submit(fn, *jobs[i])] = i
        for fut in executor.wait(list(in_flight)):
            i = in_flight.pop(fut)
            try:
                yield i, fut.result(), None
            except Exception as exc:  # the job's error, from whichever process ran it
                text = "".join(traceback.format_exception(exc))
                yield i, None, JobFailed(f"{type(exc).__name__}: {exc}", text)
