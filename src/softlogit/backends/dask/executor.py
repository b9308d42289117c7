"""Where the chunks live and how a pass runs over them: a distributed cluster or this process.

:class:`ClusterExecutor` keeps every chunk as a future on the workers of a
``distributed.Client``; a pass is ONE task per worker (:func:`run_chunks`), which runs the task
function over every chunk that worker holds, in chunk order, and returns their small results
together; the parameters travel inside the tasks (arrays over :data:`SCATTER_MIN_BYTES` are
scattered once per pass); no graph is rebuilt. A round then costs one submit per worker and one
gather: measured on the benchmark's cluster (BENCHMARKS.md, Dask), an empty round took about
a fifth of the time of the earlier one-task-per-chunk round. :class:`LocalExecutor` is the
fallback when no ``Client`` is active: the chunks are computed once with Dask's default
scheduler into this process, and a pass calls the same task functions on them in order (the
kernels then use their own threads).

*Tasks stay with their chunks.* Each worker's task is restricted to that worker
(``workers=[holder]``, found once with ``who_has`` and remembered; a chunk with copies on
several workers goes to the least-loaded holder, :func:`_spread`). Without that, Dask's work
stealing moves a task to an idle worker whenever the holder looks busy, and the thief then
fetches the chunks — a second copy of those rows, which stays there while later tasks follow
it: measured on a loaded machine, 4 steals in one fit and a worker peaking at 3.25 × its share
of X (BENCHMARKS.md, Dask). If a holder dies, its pinned task would wait for it forever: the
wait below resubmits it unrestricted (the scheduler recomputes the lost chunks on a survivor)
and forgets the placement.

*Fixed-order reduction.* Sums are added on the client in chunk order, from every chunk's
result, so the answer never depends on which worker finished first nor on which worker holds
which chunk. Only results whose gathering would cost more than :data:`GATHER_MAX_BYTES` (e.g.
the (p, p) Hessian of many chunks) are added on their worker first, in chunk order, and the
workers' partial sums then in the order of their first chunks (fixed for a given placement).
"""

from __future__ import annotations

import functools

import numpy as np

from softlogit.backends.dask import chunk as tasks

#: Gather per-chunk results to the client while their total size stays below this.
GATHER_MAX_BYTES = 16 * 2**20
#: Parameter arrays larger than this are scattered to the workers once per pass (broadcast)
#: instead of travelling inside every task.
SCATTER_MIN_BYTES = 1 * 2**20


#: While a pass waits, check this often (seconds) that the cluster still has workers (with none
#: left the scheduler would wait for new ones forever) and that pinned tasks' workers are alive.
WAIT_POLL_S = 2.0


class ClusterLostError(RuntimeError):
    """The cluster could not finish a pass (workers lost, cluster shut down)."""


def current_client():
    """The active ``distributed.Client``, or ``None`` (distributed absent or no client)."""
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        return get_client()
    except ValueError:
        return None


def executor_for(client=None):
    """A :class:`ClusterExecutor` on ``client`` (default: the active one) or a
    :class:`LocalExecutor` when there is none."""
    client = client if client is not None else current_client()
    return ClusterExecutor(client) if client is not None else LocalExecutor()


def _nbytes(result) -> int:
    if isinstance(result, tuple):
        return sum(_nbytes(r) for r in result)
    return int(getattr(result, "nbytes", 8))


def _sum_in_order(parts):
    total = parts[0]
    for part in parts[1:]:
        total = tasks.add(total, part)
    return total


class LocalExecutor:
    """Chunks in this process; passes run in chunk order (module docstring)."""

    kind = "local"
    tasks_last_pass = 0

    def materialize(self, delayed_chunks, near=None):
        import dask

        return list(dask.compute(*delayed_chunks, scheduler="threads"))

    def map(self, fn, chunks, *extra, reduce=False, **params):
        self.tasks_last_pass = 0  # no tasks: calls in this process
        columns = list(zip(chunks, *extra)) if extra else [(c,) for c in chunks]
        return [fn(*args, **params) for args in columns]

    def gather(self, results):
        return list(results)

    def reduce_sum(self, results):
        return _sum_in_order(list(results))

    def describe(self) -> dict:
        return {"scheduler": "local (no distributed Client)", "workers": 1}


class PinnedPass(list):
    """The futures of one pass, each task's worker, and for each a callable submitting it
    again without a restriction."""

    def __init__(self, futures, workers, redo):
        super().__init__(futures)
        self.workers, self.redo = workers, redo


class WorkerPass(PinnedPass):
    """A pass as one task per worker: ``groups[j]`` are the chunk indices (ascending) that
    task ``j`` processed; each task's result is the list of its chunks' results (or one
    :class:`PartialSum`)."""

    def __init__(self, futures, workers, redo, groups, n_chunks):
        super().__init__(futures, workers, redo)
        self.groups, self.n_chunks = groups, n_chunks


class PartialSum:
    """A worker's chunks' results already added (in chunk order): returned instead of the
    list when the list would be larger than its share of :data:`GATHER_MAX_BYTES`."""

    def __init__(self, value):
        self.value = value


def run_chunks(fn, chunks, extras, params, reduce, max_bytes):
    """On a worker: ``fn(chunk, *extra, **params)`` for each of its chunks, in chunk order.

    Returns the list of results; with ``reduce`` and results totalling more than ``max_bytes``,
    their sum in chunk order as a :class:`PartialSum` (so a (p, p) Hessian per chunk is never
    held, nor sent, once per chunk)."""
    out, total, size = [], None, 0
    for i, chunk in enumerate(chunks):
        result = fn(chunk, *(e[i] for e in extras), **params)
        if total is not None:
            total = tasks.add(total, result)
            continue
        out.append(result)
        size += _nbytes(result)
        if reduce and size > max_bytes:
            total, out = _sum_in_order(out), None
    return PartialSum(total) if total is not None else out


class ClusterExecutor:
    """Chunks as futures on a ``distributed`` cluster (module docstring)."""

    kind = "distributed"

    def __init__(self, client):
        self.client = client
        #: Tasks submitted by the latest :meth:`map` (one per worker holding chunks).
        self.tasks_last_pass = 0
        self._where: dict = {}  # chunk key -> the worker holding it

    def materialize(self, delayed_chunks, near=None):
        """Compute the chunk objects on the workers; return their futures (persisted there),
        once they are all in memory (so the first pass already knows where each one is).

        ``near``: the dask array X, one column chunk. When X is persisted each chunk is built
        on the worker holding its X block (pinned as the passes are — a stolen build would
        copy the block to the thief and keep both), so the chunk is the block itself."""
        from distributed import futures_of

        delayed_chunks = list(delayed_chunks)
        holders = [None] * len(delayed_chunks)
        if near is not None:
            persisted = {f.key: f for f in futures_of(near)}
            keys = [k for row in near.__dask_keys__() for k in row]
            if len(keys) == len(delayed_chunks) and all(k in persisted for k in keys):
                who = self.client.who_has([persisted[k] for k in keys])
                holders = _spread([who.get(k) for k in keys])
        if any(h is None for h in holders):
            futures = self.client.compute(delayed_chunks)
        else:
            futures = PinnedPass(
                [self.client.compute(d, workers=[h], allow_other_workers=False)
                 for d, h in zip(delayed_chunks, holders)], holders,
                [functools.partial(self.client.compute, d) for d in delayed_chunks])
        self.gather_none(futures)
        return list(futures)

    def gather_none(self, futures):
        """Wait for ``futures`` without fetching them (errors as :meth:`gather` raises them)."""
        try:
            self._wait(futures)
            for f in futures:
                if f.status == "error":
                    f.result()  # raises the task's own exception
        except ClusterLostError:
            raise
        except Exception as exc:  # noqa: BLE001 — re-raised below with what it means
            _raise_lost(exc)

    def _broadcast(self, params):
        out = {}
        for key, value in params.items():
            if isinstance(value, np.ndarray) and value.nbytes >= SCATTER_MIN_BYTES:
                value = self.client.scatter(value, broadcast=True, hash=False)
            out[key] = value
        return out

    def _holders(self, chunks):
        """The worker holding each chunk future (``None`` where unknown)."""
        keys = [getattr(c, "key", None) for c in chunks]
        # who_has takes the futures (given bare keys, distributed 2026 answers {})
        unknown = [c for c, k in zip(chunks, keys) if k is not None and k not in self._where]
        if unknown:
            who = self.client.who_has(unknown)
            for c, worker in zip(unknown, _spread([who.get(c.key) for c in unknown])):
                if worker is not None:
                    self._where[c.key] = worker
        return [self._where.get(k) for k in keys]

    def map(self, fn, chunks, *extra, reduce=False, **params):
        """``fn(chunk, *extra_i, **params)`` for every chunk, as ONE task per worker that
        runs over all the chunks that worker holds (in chunk order) and returns their small
        results together (module docstring). The parameters travel inside the tasks. Returns
        a :class:`WorkerPass`; :meth:`gather` gives the results in chunk order.

        ``reduce``: the results will only be summed (:meth:`reduce_sum`), so a worker whose
        results would be large adds them itself. (No task result is an input of another task
        — the Hessian factors are kept inside the chunks — so a task lost with its worker is
        only ever resubmitted, never recomputed there.)"""
        params = self._broadcast(params)
        holders = self._holders(chunks)
        by_worker: dict = {}
        for i, h in enumerate(holders):
            by_worker.setdefault(h, []).append(i)
        placed = sorted((w for w in by_worker if w is not None), key=str)
        # chunks whose holder is unknown (plain values): one unrestricted task each
        groups = [by_worker[w] for w in placed] + [[i] for i in by_worker.get(None, [])]
        workers = placed + [None] * len(by_worker.get(None, []))
        max_bytes = GATHER_MAX_BYTES // max(1, len(groups))
        futures, redo = [], []
        for idx, worker in zip(groups, workers):
            args = (fn, [chunks[i] for i in idx], [[e[i] for i in idx] for e in extra],
                    params, bool(reduce), max_bytes)
            submit = functools.partial(self.client.submit, run_chunks, *args, pure=False)
            redo.append(submit)
            futures.append(submit() if worker is None else
                           submit(workers=[worker], allow_other_workers=False))
        self.tasks_last_pass = len(futures)
        return WorkerPass(futures, workers, redo, groups, len(chunks))

    def _wait(self, futures):
        """Wait for ``futures`` (in place: a task pinned to a worker that has left is
        resubmitted anywhere); a cluster without workers is an error, not a hang."""
        from distributed import wait

        while True:
            try:
                wait(list(futures), timeout=WAIT_POLL_S)
                return
            except TimeoutError:
                # nthreads() asks the scheduler now; scheduler_info() may answer from a cache
                # without per-worker entries (distributed 2026: seen empty under load).
                workers = self.client.nthreads()
                if not workers:
                    raise ClusterLostError(
                        "the Dask cluster has no workers left; a pass over the data cannot "
                        "finish — restart the fit on a cluster with workers") from None
                if isinstance(futures, PinnedPass):
                    self._unpin_lost(futures, set(workers))

    def _unpin_lost(self, futures: PinnedPass, alive):
        for i, f in enumerate(futures):
            if futures.workers[i] is not None and not f.done() \
                    and futures.workers[i] not in alive:
                f.cancel()
                futures[i] = futures.redo[i]()
                futures.workers[i] = None
                self._where.clear()  # chunks have moved: look them up again next pass

    def _fetch(self, futures):
        """The results of the tasks of ``futures`` (one gather, after they are all done)."""
        try:
            self._wait(futures)
            return self.client.gather(list(futures))
        except ClusterLostError:
            raise
        except Exception as exc:  # noqa: BLE001 — re-raised below with what it means
            _raise_lost(exc)

    def gather(self, futures):
        """The per-chunk results of a pass, in chunk order."""
        if not isinstance(futures, WorkerPass):
            return self._fetch(futures if isinstance(futures, PinnedPass) else list(futures))
        out = [None] * futures.n_chunks
        for idx, part in zip(futures.groups, self._fetch(futures)):
            if isinstance(part, PartialSum):
                raise TypeError("a pass mapped with reduce=True can only be summed")
            for i, r in zip(idx, part):
                out[i] = r
        return out

    def reduce_sum(self, futures):
        """The sum of the per-chunk results, in a fixed order: chunk order when every
        worker sent its chunks' results; else (large results, added on the workers in chunk
        order) the workers' partial sums in the order of their first chunks."""
        if not isinstance(futures, WorkerPass):
            return _sum_in_order(self._fetch(futures))
        parts = self._fetch(futures)
        if not any(isinstance(p, PartialSum) for p in parts):
            out = [None] * futures.n_chunks
            for idx, part in zip(futures.groups, parts):
                for i, r in zip(idx, part):
                    out[i] = r
            return _sum_in_order(out)
        order = sorted(range(len(parts)), key=lambda j: futures.groups[j][0])
        return _sum_in_order([parts[j].value if isinstance(parts[j], PartialSum)
                              else _sum_in_order(parts[j]) for j in order])

    def describe(self) -> dict:
        """Workers, threads and memory of the cluster (for reports)."""
        info = self.client.scheduler_info()
        workers = info.get("workers", {})
        return {
            "scheduler": info.get("address", str(self.client.scheduler.address)),
            "workers": len(workers),
            "threads": sum(int(w.get("nthreads", 0)) for w in workers.values()),
            "memory_bytes": sum(int(w.get("memory_limit", 0) or 0) for w in workers.values()),
        }


def _spread(holders_of):
    """One worker per chunk from the workers holding a copy of it (``None`` where none):
    in chunk order, the holder with the fewest chunks chosen so far (ties: by name).

    Copies are common — computing X into the client concatenates its blocks on one worker,
    which keeps copies of them all for a while — and taking, say, the first holder by name
    would then put every chunk, and all the work, on that one worker."""
    load: dict = {}
    out = []
    for workers in holders_of:
        if not workers:
            out.append(None)
            continue
        best = min(sorted(workers, key=str), key=lambda w: load.get(w, 0))
        load[best] = load.get(best, 0) + 1
        out.append(best)
    return out


def _raise_lost(exc):
    """Known cluster failures become one clear :class:`ClusterLostError`; errors raised by a
    task (bad data found on a worker) pass through unchanged."""
    name = type(exc).__name__
    if name in ("KilledWorker", "CancelledError", "FutureCancelledError", "CommClosedError",
                "FutureLostError") or "lost" in str(exc).lower() and "worker" in str(exc).lower():
        raise ClusterLostError(
            f"the Dask cluster could not finish a pass over the data ({name}: {exc}); workers "
            "holding chunks died repeatedly or the cluster shut down — restart the fit on a "
            "healthy cluster") from exc
    raise exc
