"""Dask benchmark (issue 11): softlogit's Dask design against dask-ml on one LocalCluster.

``.venv/bin/python benchmarks/dask_bench.py [--rows 1000000] [--cols 50] [--chunk-rows 100000]``

Set-up: ``LocalCluster(n_workers=2, threads_per_worker=1)`` (worker processes); X (float64) is
generated on the workers and persisted there, its row blocks dealt round-robin to the workers
(:func:`balanced`: an equal share each), as are the targets; neither tool pays for data
loading in its timings. Before the fits, :func:`round_costs` times one round over the placed
chunks: an empty round (one task per worker, as a pass runs now), the same as one task per
chunk (the executor before), and one gradient pass.

*Same objective.* dask-ml's ``LogisticRegression`` (dask-glm) minimises
``Σᵢ ℓᵢ + (1/(2C)) ‖β‖²`` with its intercept inside β (penalised). softlogit (scikit-learn's
scaling) minimises ``C Σᵢ ℓᵢ + ½‖w‖²`` (divided by ``C·m``), the intercept never penalised.
With ``fit_intercept=False`` for both the two objectives have the same minimiser, so the data
are generated without an intercept and both tools fit without one. Every fit's coefficients are
scored on softlogit's in-memory objective; the gap is ``(f − f*)/|f*|`` with ``f*`` from
softlogit's Newton at ``tol=1e-12``.

For each tool a ladder of its own ``tol`` runs from loose to tight; the first run reaching
``gap ≤ --gap`` is timed (median of ``--repeats``). Also reported: passes over X and tasks per
pass (softlogit), the peak RSS of each worker during the fit above its RSS with the data
persisted (sampled every 50 ms), the work-stealing requests during the timed fits, the in-memory single-machine fit (softlogit and scikit-learn,
on this process's cores) as the "is a cluster worth it" baseline, and softmax (K = 5) and L1
timings for softlogit alone (dask-ml has neither).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time

import numpy as np


def rss_of_this_process() -> int:
    import psutil

    return psutil.Process(os.getpid()).memory_info().rss


def steal_requests(client) -> int:
    """How many tasks the scheduler's work stealing has tried to move so far."""
    return client.run_on_scheduler(
        lambda dask_scheduler: dask_scheduler.extensions["stealing"].count)


class WorkerMemory:
    """Sample every worker's RSS in a background thread; ``peak_above(base)`` per worker."""

    def __init__(self, client, period=0.05):
        self.client, self.period = client, period
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()

    def sample(self) -> dict[str, int]:
        return self.client.run(rss_of_this_process)

    def __enter__(self):
        self.peaks = self.sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            for w, r in self.sample().items():
                self.peaks[w] = max(self.peaks.get(w, 0), r)
            time.sleep(self.period)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def balanced(client, a):
    """``a`` persisted with its row blocks dealt round-robin to the workers (block i on
    worker i mod n), so each worker holds an equal share whatever the scheduler would have
    chosen (it put 6/4 or 7/3 of the 10 blocks on one worker in earlier runs)."""
    import dask.array as da
    import distributed

    workers = sorted(client.scheduler_info()["workers"])
    blocks = a.to_delayed().ravel()
    futures = [client.compute(b, workers=[workers[i % len(workers)]], allow_other_workers=False)
               for i, b in enumerate(blocks)]
    distributed.wait(futures)
    parts = [da.from_delayed(f, shape=(r, a.shape[1]), dtype=a.dtype)
             for f, r in zip(futures, a.chunks[0])]
    out = client.persist(da.concatenate(parts, axis=0))
    distributed.wait(out)
    return out


def fetch_blocks(client, a):
    """The persisted dask array ``a`` in this process, without moving its blocks."""
    import dask.core
    import distributed

    futures = {f.key: f for f in distributed.futures_of(a)}
    keys = list(dask.core.flatten(a.__dask_keys__()))
    return np.concatenate(client.gather([futures[k] for k in keys]))


def blocks_per_worker(client, a) -> dict:
    import distributed

    counts: dict = {}
    for workers in client.who_has(distributed.futures_of(a)).values():
        for w in workers:
            counts[w] = counts.get(w, 0) + 1
    return counts


def nothing(chunk):
    """An empty task: what a round costs without reading X."""
    return 0.0


def round_costs(client, X, y, repeats=20):
    """Median seconds of one round over the placed chunks: empty (``nothing``), one gradient
    pass, and for comparison the empty round as a task per chunk (``client.map`` pinned to
    each chunk's worker + gather: the executor before one-task-per-worker)."""
    import softlogit
    from softlogit.backends.dask.estimator import prepare

    design = prepare(softlogit.LogisticRegression(fit_intercept=False), X, y, None).design
    ex = design.executor
    W = np.zeros((1, X.shape[1]))
    holders = ex._holders(design.chunks)

    def per_chunk():
        futures = []
        for w in sorted(set(holders)):
            idx = [i for i, h in enumerate(holders) if h == w]
            futures += client.map(nothing, [design.chunks[i] for i in idx], pure=False,
                                  workers=[w], allow_other_workers=False)
        return sum(client.gather(futures))

    runs = {
        "empty round (one task per worker)": lambda: ex.reduce_sum(
            ex.map(nothing, design.chunks, reduce=True)),
        "empty round (one task per chunk, the old executor)": per_chunk,
        "gradient round": lambda: design.fused_loss_gradient(
            "binary", W, None, design.targets, design.weights),
    }
    out = {}
    for name, run in runs.items():
        run()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        out[name] = {"median_ms": 1e3 * statistics.median(times), "min_ms": 1e3 * min(times)}
    out["tasks_per_round"] = ex.tasks_last_pass
    out["chunks"] = design.n_chunks
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=50)
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--gap", type=float, default=1e-8, help="target relative objective gap")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--tools", default="",
                        help="comma-separated substrings: time only the binary rows whose "
                             "name contains one (default: all)")
    parser.add_argument("--no-alone", action="store_true",
                        help="skip the softmax and L1 timings (softlogit alone)")
    args = parser.parse_args(argv)

    import dask
    import dask.array as da
    import distributed
    import sklearn.linear_model as sklm
    from dask_ml.linear_model import LogisticRegression as DaskMLLogistic

    import softlogit
    from softlogit.objective import LinearObjective

    m, p, C = args.rows, args.cols, args.C
    results = {"rows": m, "cols": p, "chunk_rows": args.chunk_rows, "C": C, "gap": args.gap}
    dask.config.set({"distributed.worker.multiprocessing-method": "fork"})
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        rs = da.random.RandomState(0)
        X = balanced(client, rs.normal(size=(m, p), chunks=(args.chunk_rows, p))
                     .astype(np.float64))
        w_true = np.random.default_rng(1).normal(size=p) / np.sqrt(p) * 2
        noise = rs.logistic(size=m, chunks=args.chunk_rows)
        z = X @ w_true
        y = ((z + noise) > 0).astype(np.float64)
        y5 = da.argmax(X[:, :5] * 2 + rs.gumbel(size=(m, 5), chunks=(args.chunk_rows, 5)),
                       axis=1)
        X, y, y5 = client.persist([X, y, y5])
        distributed.wait([X, y, y5])
        share = X.nbytes / 2
        results["bytes_X"] = int(X.nbytes)

        # Warm-up (workers load the compiled kernels; dask-ml's first graph): not timed.
        small = X[: args.chunk_rows], y[: args.chunk_rows]
        for kwargs in ({"solver": "lbfgs"}, {"solver": "newton"}, {"penalty": "l1"}):
            softlogit.LogisticRegression(fit_intercept=False, **kwargs).fit(*small)
        softlogit.LogisticRegression(solver="newton").fit(small[0], y5[: args.chunk_rows])
        DaskMLLogistic(fit_intercept=False, solver="lbfgs", max_iter=3).fit(*small)

        # In-memory baseline and the reference optimum f*, on this process.
        # Fetched block by block: ``client.compute(X)`` would concatenate the blocks on one
        # worker, and the active memory manager then keeps that worker's copies and drops
        # the others — every later fit (either tool's) would run with X on one worker.
        Xn, yn, y5n = (fetch_blocks(client, a) for a in (X, y, y5))
        results["blocks_per_worker"] = blocks_per_worker(client, X)
        print("blocks of X per worker", results["blocks_per_worker"], flush=True)
        objective = LinearObjective(Xn, yn, loss="binary", fit_intercept=False, penalty="l2",
                                    C=C)
        ref = softlogit.LogisticRegression(C=C, fit_intercept=False, solver="newton",
                                           tol=1e-12, max_iter=200).fit(Xn, yn)
        f_star = objective.objective_value(objective.pack(ref.coef_))

        def gap(coef):
            return (objective.objective_value(objective.pack(np.asarray(coef).reshape(1, p)))
                    - f_star) / abs(f_star)

        def timed(fit, coef_of):
            times, out = [], None
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                out = fit()
                times.append(time.perf_counter() - t0)
            return statistics.median(times), gap(coef_of(out)), out

        tools = {
            "softlogit-dask auto": (
                lambda tol: softlogit.LogisticRegression(C=C, fit_intercept=False,
                                                         tol=tol).fit(X, y),
                lambda est: est.coef_),
            "softlogit-dask newton": (
                lambda tol: softlogit.LogisticRegression(C=C, fit_intercept=False,
                                                         solver="newton", tol=tol).fit(X, y),
                lambda est: est.coef_),
            "softlogit-dask lbfgs": (
                lambda tol: softlogit.LogisticRegression(C=C, fit_intercept=False,
                                                         solver="lbfgs", tol=tol,
                                                         max_iter=500).fit(X, y),
                lambda est: est.coef_),
            "dask-ml lbfgs": (
                lambda tol: DaskMLLogistic(C=C, fit_intercept=False, solver="lbfgs", tol=tol,
                                           max_iter=500).fit(X, y),
                lambda est: est.coef_),
            "dask-ml newton": (
                lambda tol: DaskMLLogistic(C=C, fit_intercept=False, solver="newton",
                                           tol=tol, max_iter=50).fit(X, y),
                lambda est: est.coef_),
            "in-memory softlogit (auto)": (
                lambda tol: softlogit.LogisticRegression(C=C, fit_intercept=False,
                                                         tol=tol).fit(Xn, yn),
                lambda est: est.coef_),
            "in-memory scikit-learn lbfgs": (
                lambda tol: sklm.LogisticRegression(C=C, fit_intercept=False, tol=tol,
                                                    max_iter=1000).fit(Xn, yn),
                lambda est: est.coef_),
        }
        results["rounds"] = round_costs(client, X, y)
        print("round costs", json.dumps(results["rounds"]), flush=True)

        rows = {}
        wanted = [t.strip() for t in args.tools.split(",") if t.strip()]
        for name, (make, coef_of) in tools.items():
            if wanted and not any(w in name for w in wanted):
                continue
            reached = None
            for tol in (1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-10):
                t0 = time.perf_counter()
                est = make(tol)
                once = time.perf_counter() - t0
                g = gap(coef_of(est))
                reached = (tol, once, g)
                if g <= args.gap:
                    break
            tol = reached[0]
            cluster_fit = "in-memory" not in name
            if cluster_fit:
                steals = steal_requests(client)
                with WorkerMemory(client) as mem:
                    base = dict(mem.peaks)
                    t, g, est = timed(lambda: make(tol), coef_of)
                extra = {w: mem.peaks[w] - base[w] for w in base}
                steals = steal_requests(client) - steals
            else:
                t, g, est = timed(lambda: make(tol), coef_of)
                extra = None
            row = {"tol": tol, "time_s": t, "gap": g, "reached": g <= args.gap}
            if extra is not None:
                row["steal_requests"] = steals  # tasks the scheduler moved off their chunk
                row["peak_worker_extra_bytes"] = int(max(extra.values()))
                # the worker holds its share of X already; the fit's peak is that plus the extra
                row["peak_worker_over_share"] = 1 + max(extra.values()) / share
            info = getattr(getattr(est, "fit_report_", None), "info", None)
            if info and "dask" in info:
                row["passes"] = info["passes"]
                row["tasks_per_pass"] = info["dask"]["tasks_per_pass"]
                row["rounds"] = info["dask"]["rounds"]
                row["solver"] = est.fit_report_.solver
                row["n_iter"] = int(est.n_iter_[0])
            rows[name] = row
            print(name, json.dumps(row), flush=True)
        results["binary"] = rows

        # softmax (K = 5) and L1, softlogit alone.
        alone = {}
        for name, make in {} if args.no_alone else {
            "softmax K=5 (auto)": lambda: softlogit.LogisticRegression(C=C, tol=1e-8).fit(X, y5),
            "softmax K=5 in memory": lambda: softlogit.LogisticRegression(C=C, tol=1e-8)
            .fit(Xn, y5n),
            "L1 C=0.01 (auto)": lambda: softlogit.LogisticRegression(penalty="l1", C=0.01,
                                                                     tol=1e-8).fit(X, y),
            "L1 C=0.01 in memory": lambda: softlogit.LogisticRegression(penalty="l1", C=0.01,
                                                                        tol=1e-8).fit(Xn, yn),
        }.items():
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                est = make()
                times.append(time.perf_counter() - t0)
            info = est.fit_report_.info
            alone[name] = {"time_s": statistics.median(times), "solver": est.fit_report_.solver,
                           "rounds": info.get("dask", {}).get("rounds"),
                           "n_iter": int(est.n_iter_[0]), "passes": info.get("passes"),
                           "converged": bool(est.fit_report_.converged)}
            print(name, json.dumps(alone[name]), flush=True)
        results["alone"] = alone
        results["cluster"] = {"workers": 2, "threads_per_worker": 1,
                              "worker_share_bytes": int(share)}
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return results


if __name__ == "__main__":
    main()
