"""One BLAS thread, on demand: a small utility below every layer (kernels, solvers and
selection use it; it imports none of them)."""

from __future__ import annotations

import threading

_lock = threading.Lock()
_controller = []


def one_blas_thread():
    """A context holding BLAS to one thread (threadpoolctl), for BLAS calls made on the
    kernels' threads or beside them: t threads, not t × BLAS's, and OpenBLAS's sums depend on
    its own thread count. One :class:`~threadpoolctl.ThreadpoolController` per process
    (making one costs ~5 ms; a ``limit`` on it ~10 µs)."""
    with _lock:
        if not _controller:
            from threadpoolctl import ThreadpoolController

            _controller.append(ThreadpoolController())
    return _controller[0].limit(limits=1, user_api="blas")
