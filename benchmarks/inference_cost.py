"""Cost of ``estimator.inference`` against one Newton iteration on the same data (issue 9).

    python benchmarks/inference_cost.py                 # 1,000,000 × 100 float64, binary
    python benchmarks/inference_cost.py --classes 3 --rows 300000

One Newton iteration is timed as the solver runs it: ``solve(objective, "newton",
max_iter=1)`` from 0.9·θ* (a point near the optimum, not θ = 0 where the transcendental
functions are cheap): a loss+gradient pass, the Hessian, the Cholesky solve and the line search.
Inference is ``est.inference(X, y)`` for each ``cov_type`` asked (validation included). Each is
the median of ``--repeat`` runs; passes over X are read from the designs' counters.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=100)
    ap.add_argument("--classes", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cov-types", default="nonrobust,HC1")
    args = ap.parse_args(argv)

    import softlogit
    from softlogit.solvers import solve

    rng = np.random.default_rng(0)
    m, p, K = args.rows, args.features, args.classes
    X = rng.standard_normal((m, p))
    W = rng.normal(scale=0.3, size=(K - 1, p))
    Z = np.column_stack([np.zeros(m), X @ W.T])
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = (rng.random(m)[:, None] > np.cumsum(P, axis=1)).sum(axis=1)
    est = softlogit.LogisticRegression(penalty=None, solver="newton", tol=1e-8).fit(X, y)
    objective = est.objective_for(X, y)
    theta = objective.pack(est.coef_, est.intercept_) * 0.9

    print(f"X: {m:,} × {p} float64 ({X.nbytes / 2**20:,.0f} MiB), K = {K}; "
          f"fit: {est.n_iter_[0]} Newton iterations")
    times = {}
    for inner in ("cholesky", "auto"):
        def newton_iteration():
            return solve(objective, "newton", theta, max_iter=1, tol=1e-300, inner=inner)

        times[inner], res = _time(newton_iteration, args.repeat, lambda r: r)
        print(f"one Newton iteration, inner={inner} ({res.info.get('inner_solver')}): "
              f"{times[inner]:.3f} s ({res.info.get('passes')} passes over X)")
    t_newton = times["cholesky"]
    for cov_type in args.cov_types.split(","):
        t_inf, _ = _time(lambda: est.inference(X, y, cov_type=cov_type), args.repeat,
                         lambda r: None)
        res = est.inference(X, y, cov_type=cov_type)
        print(f"inference cov_type={cov_type}: {t_inf:.3f} s = {t_inf / t_newton:.2f}× one "
              f"Newton-Cholesky iteration, {t_inf / times['auto']:.2f}× the auto-inner one "
              f"({res.model.design.passes:g} passes over X in the result's design; "
              f"{res.n_params} parameters)")


def _time(fn, repeat, passes):
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), passes(result)


if __name__ == "__main__":
    main()
