"""How many CPU threads the heavy array work uses (PyTorch's ``torch.set_num_threads``).

On the CPU the parallel work is NumPy's: its BLAS (matrix products, the bulk of a training step)
runs a thread pool. The library cannot resize that pool by itself, so both functions go through
``threadpoolctl``, an optional dependency (``pip install 'tinygrad-rnn[threads]'``):

* with it, ``get_num_threads()`` reports the BLAS pool's size and ``set_num_threads(n)`` resizes
  every BLAS and OpenMP pool in the process, until the next call;
* without it, ``get_num_threads()`` returns ``os.cpu_count()`` (what OpenBLAS and MKL start with
  unless ``OMP_NUM_THREADS`` and the like say otherwise: a best guess, not a measurement) and
  ``set_num_threads`` raises ImportError naming ``threadpoolctl``. Setting ``OMP_NUM_THREADS``,
  ``OPENBLAS_NUM_THREADS`` or ``MKL_NUM_THREADS`` before starting Python works either way.

On a GPU the array work runs on the device; these settings only affect host-side NumPy.
"""
from __future__ import annotations

import numbers
import os

__all__ = ["get_num_threads", "set_num_threads", "one_thread_for_small_matrices"]

_limiter = None     # threadpoolctl's handle on the current limits (kept so they stay in force)


def _threadpoolctl(what):
    try:
        import threadpoolctl
    except ImportError as e:
        raise ImportError(f"{what} needs the optional package threadpoolctl to resize NumPy's BLAS "
                          f"thread pool: pip install threadpoolctl (or the 'threads' extra of "
                          f"tinygrad-rnn), or set OMP_NUM_THREADS before starting Python") from e
    return threadpoolctl


def get_num_threads() -> int:
    """The number of threads NumPy's BLAS uses (``os.cpu_count()`` without threadpoolctl)."""
    try:
        tpc = _threadpoolctl("get_num_threads")
    except ImportError:
        return os.cpu_count() or 1
    pools = tpc.threadpool_info()
    blas = [p["num_threads"] for p in pools if p.get("user_api") == "blas"]
    counts = blas or [p["num_threads"] for p in pools]
    return max(counts) if counts else (os.cpu_count() or 1)


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in NumPy's BLAS (and any OpenMP pool) from now on; needs threadpoolctl."""
    global _limiter
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(n).__name__}")
    if n < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    _limiter = _threadpoolctl("set_num_threads").threadpool_limits(limits=int(n))


# set by the user before Python started: then the examples leave the thread count alone
_USER_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def one_thread_for_small_matrices() -> int:
    """What the examples whose matrices are small (a few dozen rows: the sequence examples) call
    first. On such matrices a second BLAS thread saves less than it costs to wake it and wait for
    it, and on a machine busy with other work, where that thread waits for a core, small recurrent
    steps were measured 10 to 30 times slower with two threads than with one (an RNN step 88 ms
    against 3). So: one thread, unless the user chose a count (``OMP_NUM_THREADS``,
    ``OPENBLAS_NUM_THREADS`` or ``MKL_NUM_THREADS`` is set) or threadpoolctl is not installed.
    Returns the count in force."""
    if not any(os.environ.get(v) for v in _USER_THREAD_VARIABLES):
        try:
            set_num_threads(1)
        except ImportError:
            pass
    return get_num_threads()
