"""One BLAS thread per training process.

The experiments and the search train many small networks at once, one per process and core. A
process that also starts a BLAS thread per core oversubscribes the machine, and OpenBLAS threads
that spin while waiting for work make that catastrophic: on the 2-core machine a batch-norm seed
of ``trainlab run all`` took 157 s instead of 14 s with two 2-thread workers. threadpoolctl limits
the BLAS and OpenMP libraries already loaded in the process, whatever imported them first.
"""

from __future__ import annotations

from threadpoolctl import threadpool_limits

__all__ = ["one_blas_thread"]


def one_blas_thread():
    """Limit BLAS and OpenMP to one thread in this process; use as a context manager, or call
    and keep the limit for the life of the process (a worker initialiser)."""
    return threadpool_limits(limits=1)
