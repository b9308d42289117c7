"""Running a chunk kernel on several threads (Numba ``nogil`` functions + a thread pool).

Why not ``@njit(parallel=True)``: measured on this project's machine, a ``prange`` kernel takes
~4–6 s of extra compilation per signature (the parfor passes), i.e. about a minute for the
twelve kernel signatures (2 dtypes × dense/sparse × loss/Hessian product …) on a fresh clone.
Serial ``nogil`` kernels compile in ~1 s each and run at the same speed when the chunk ranges
are spread over threads here. The thread count is Numba's (``NUMBA_NUM_THREADS``,
``numba.set_num_threads``), so the usual knobs still apply.

Each kernel has the signature ``kernel(*args, c0, c1)`` and processes chunks ``c0 ≤ c < c1``
into per-chunk partial arrays; which thread runs which chunk never changes the arithmetic.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numba

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def n_threads() -> int:
    """Threads the kernels use: Numba's current setting."""
    return max(1, int(numba.get_num_threads()))


def _get_pool(workers: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size < workers:
            if _pool is not None:
                _pool.shutdown(wait=True)
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="softlogit")
            _pool_size = workers
        return _pool


#: Work (stored entries × lanes, or elements) below which a call runs on the calling thread
#: alone: handing chunks to the pool and waiting for them costs tens of microseconds.
INLINE_WORK = 1 << 17


def run_chunks(kernel, n_chunks: int, *args, work: int | None = None) -> None:
    """Call ``kernel(*args, c0, c1)`` on contiguous ranges of the ``n_chunks`` chunks, in
    parallel (the calling thread takes the first range); all on the calling thread when
    ``work`` is given and below :data:`INLINE_WORK`."""
    t = min(n_threads(), n_chunks)
    if t <= 1 or (work is not None and work < INLINE_WORK):
        kernel(*args, 0, n_chunks)
        return
    edges = [(n_chunks * i) // t for i in range(t + 1)]
    pool = _get_pool(t - 1)
    futures = [pool.submit(kernel, *args, edges[i], edges[i + 1]) for i in range(1, t)]
    kernel(*args, edges[0], edges[1])
    for future in futures:
        future.result()


def reduce_chunks(part_l, part_g, part_b):
    """Add per-chunk partials over the chunk axis: ``(Σ part_l, Σ part_g, Σ part_b)``.

    NumPy reduces in an order fixed by the array shapes alone, never by the thread count.
    """
    return float(part_l.sum()), part_g.sum(axis=0), part_b.sum(axis=0)

