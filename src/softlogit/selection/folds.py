"""One cross-validation task — a path on a fold's training rows, scored on its test rows — and
running the tasks in parallel without oversubscribing the kernels' threads.

Parallelism. The tasks run in threads (joblib's threading backend): the fused kernels and the
coordinate-descent sweeps are compiled Numba code working on shared, read-only X, so threads need
no copies and no worker start-up (a process pool pays ~1 s per worker to import and load the
compiled kernels, more than a whole path on 8000 × 200). Each worker thread sets its own Numba
thread count (Numba's setting is per thread) so that ``workers × kernel threads`` never exceeds
the cores, and BLAS is held to one thread while the workers run (threadpoolctl): otherwise
each of ``n_jobs`` workers would start ``cores`` threads of each kind.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from softlogit.selection import scoring
from softlogit.selection.path import fit_path


@dataclass(frozen=True)
class FoldResult:
    """Scores and coefficients of one (fold, l1_ratio) path: arrays over the Cs."""

    scores: np.ndarray      # (n_Cs,)
    params: np.ndarray      # (n_Cs, k, p + fit_intercept)
    n_iter: np.ndarray      # (n_Cs,)
    n_active: np.ndarray    # (n_Cs,)
    converged: np.ndarray   # (n_Cs,)


def run_fold(X, targets, train, test, Cs, l1_ratio, scorer, scoring_estimator, *, fit_intercept,
             path_options) -> FoldResult:
    """Fit the path on ``train`` rows and score every C on ``test`` rows (``scorer``: a
    scikit-learn scorer, or the name ``"neg_log_loss"`` for :mod:`.scoring`'s fast path)."""
    problem = targets.problem(X, train, fit_intercept=fit_intercept)
    path = fit_path(problem, Cs, l1_ratio, **path_options)
    X_test, y_test = X[test], targets.classes[targets.codes[test]]
    weight = None if targets.sample_weight is None else targets.sample_weight[test]
    if isinstance(scorer, str) and scorer == scoring.NAME:  # every C in one product
        scores = scoring.neg_log_loss_path(X_test, targets.codes[test], path.coefs,
                                           path.intercepts, weight)
    else:
        extra = {} if weight is None else {"sample_weight": weight}
        scores = np.array([scorer(scoring_estimator(path.coefs[i], path.intercepts[i]),
                                  X_test, y_test, **extra) for i in range(len(path.Cs))])
    params = path.coefs if not fit_intercept else np.concatenate(
        [path.coefs, path.intercepts[:, :, None]], axis=2)
    return FoldResult(scores, params, path.n_iter, path.n_active, path.converged)


def n_workers(n_jobs, n_tasks: int) -> int:
    """Worker threads for ``n_tasks``: joblib's meaning of ``n_jobs`` (None → 1, −1 → all cores),
    capped by the tasks and the cores."""
    cores = os.cpu_count() or 1
    if n_jobs is None:
        return 1
    n_jobs = int(n_jobs)
    if n_jobs < 0:
        n_jobs = max(1, cores + 1 + n_jobs)
    return max(1, min(n_jobs, n_tasks, cores))


def run_parallel(tasks, n_jobs) -> list:
    """Call each zero-argument ``task``; in ``n_workers`` threads, results in task order."""
    workers = n_workers(n_jobs, len(tasks))
    if workers == 1:
        return [task() for task in tasks]
    import numba
    from joblib import Parallel, delayed
    from threadpoolctl import threadpool_limits

    kernel_threads = max(1, int(numba.get_num_threads()) // workers)

    def limited(task):
        numba.set_num_threads(kernel_threads)  # per thread: this worker's kernels only
        return task()

    with threadpool_limits(limits=1, user_api="blas"):
        return Parallel(n_jobs=workers, backend="threading")(delayed(limited)(t) for t in tasks)
