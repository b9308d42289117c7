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


class PeakRSS:
    """Context manager: ``.baseline`` RSS at entry, ``.peak`` largest RSS seen inside."""

    def __init__(self, interval: float = 0.002):
        self.interval = interval
        self.baseline = self.peak = 0
        self._stop = threading.Event()

    def __enter__(self):
        gc.collect()
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
    gc.collect()
    if memory:
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            out = fn()
            dt = time.perf_counter() - t0
        return dt, out, mem.extra
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
