"""Wall-clock timing and peak-memory sampling, in the benchmark's own process.

Memory method: a background thread samples the process's resident set size (psutil) every
2 ms while a fit runs; "peak extra" is the largest sample minus the RSS just before the fit.
It sees every allocation (NumPy, BLAS, Numba, C++ inside peers) that is touched while
resident, unlike tracemalloc, which sees only Python/NumPy allocations. It can miss a spike
shorter than the sampling interval.
"""

from __future__ import annotations

import gc
import threading
import time

import numpy as np
import psutil

_PROC = psutil.Process()


def rss() -> int:
    return _PROC.memory_info().rss


def collect() -> None:
    """Free the garbage made since the last call, then freeze the survivors.

    A plain ``gc.collect()`` walks every tracked object, and after Numba has compiled the
    kernels there are millions (its typing and IR caches): 0.19 s a call, 20.8 s of a cold
    ``make bench-quick`` (108 calls; cProfile, 2026-12-02). Frozen objects are skipped by later
    collections, so each call walks only what the last fit made. Cycles among frozen objects
    that die later are not freed until :func:`collect_all`.
    """
    gc.collect()
    gc.freeze()


def collect_all() -> None:
    """A full collection, frozen objects included (once per problem: the last problem's X
    must be freed before the next one's memory baseline)."""
    gc.unfreeze()
    collect()


class PeakRSS:
    """Context manager: ``.baseline`` RSS at entry, ``.peak`` largest RSS seen inside."""

    def __init__(self, interval: float = 0.002):
        self.interval = interval
        self.baseline = self.peak = 0
        self._stop = threading.Event()

    def __enter__(self):
        collect()
        self.baseline = self.peak = rss()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss())
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())
        return False

    @property
    def extra(self) -> int:
        return self.peak - self.baseline


def timed(fn, *, memory: bool = True):
    """Run ``fn()`` once; return ``(seconds, result, peak extra RSS bytes or None)``."""
    if memory:
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            out = fn()
            dt = time.perf_counter() - t0
        return dt, out, mem.extra
    collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out, None


def median_time(fn, repeats: int = 7) -> float:
    """Median wall time of ``repeats`` calls of ``fn`` (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))



class TimeLimit(Exception):
    """A fit ran past its wall-clock limit and was stopped."""


class PeerWorker:
    """The peers' fits for one problem, in a separate (spawned) process with a time limit.

    One slow fit (scikit-learn's L-BFGS on unscaled columns ran 472 s on one tol) must not
    hold the shared machine for minutes, and a thread cannot be stopped: the worker process
    is killed at ``limit`` seconds and a fresh one is started for the next fit. It is spawned,
    not forked (a fork inherits OpenMP/TBB thread pools in a broken state: glum deadlocked in
    a forked child), and rebuilds the problem from its seed (:func:`problems.make`), so it
    holds its own copy of X; its RSS baseline is taken after that, like in-process. The
    coefficients come back through a pipe. softlogit is never run this way.
    """

    def __init__(self, name: str, quick: bool, limit: float, sparse_one_blas: bool):
        self.args = (name, quick, sparse_one_blas)
        self.limit = limit
        self.proc = None

    def _start(self):
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, *self.args), daemon=True)
        self.proc.start()
        child.close()
        if self.conn.recv() != "ready":  # the problem is built (not timed)
            raise RuntimeError("the peer worker failed to build the problem")

    def fit(self, tool_name: str, tol: float, memory: bool = True):
        """``(seconds, (W, b, info), peak extra RSS)`` of ``tool_name`` at ``tol``."""
        if self.proc is None or not self.proc.is_alive():
            self._start()
        self.conn.send((tool_name, tol, memory))
        try:
            ready = self.conn.poll(self.limit)
            status, out = self.conn.recv() if ready else ("limit", None)
        except EOFError:
            status, out = "error", f"the worker died (exit code {self.proc.exitcode})"
        if status == "limit":
            self.close()
            raise TimeLimit(f"over the {self.limit:g} s limit per fit")
        if status != "ok":
            self.close()
            raise RuntimeError(out)
        return out

    def close(self):
        if self.proc is not None:
            if self.proc.is_alive():
                self.proc.kill()
            self.proc.join()
            self.conn.close()
            self.proc = None


def _serve(conn, name, quick, sparse_one_blas):
    """Worker loop: build problem ``name``, then answer ``(tool, tol, memory)`` requests."""
    import contextlib

    import peers
    import problems
    import scipy.sparse as sp

    P = problems.make(name, quick=quick)
    tools = {t.name: t for t in peers.peer_tools() if t.fit is not None}
    if isinstance(P.X, np.ndarray) and P.X.dtype == np.float32:
        P64 = problems.Problem(P.name, P.title, P.X.astype(np.float64), P.y, P.loss,
                               P.n_classes, P.C)
        for t in list(tools.values()):
            tools[t.name + " [float64 X]"] = peers.Tool(
                t.name + " [float64 X]", lambda _P, tol, fit=t.fit: fit(P64, tol))
    blas = contextlib.nullcontext()
    if sparse_one_blas and sp.issparse(P.X):
        from threadpoolctl import threadpool_limits

        blas = threadpool_limits(1, user_api="blas")
    conn.send("ready")
    with blas:
        while True:
            try:
                tool, tol, memory = conn.recv()
            except EOFError:
                return
            try:
                fit = tools[tool].fit
                conn.send(("ok", timed(lambda: fit(P, tol), memory=memory)))
            except Exception as exc:  # noqa: BLE001 - reported to the parent
                conn.send(("error", repr(exc)))
