"""Measure the solvers against scikit-learn on the bundled data sets (not a test: a report).

Run: ``OMP_NUM_THREADS=1 .venv/bin/python tests/solvers/measure_parity.py [--tol 1e-8]``

For each data set (standardised), penalty and solver it prints iterations, wall time (best of
``--repeat``) and the relative objective gap ``(J_ours − J_sklearn) / J_sklearn`` with both
objectives evaluated by :meth:`LinearObjective.objective_value` (negative: ours is lower).
scikit-learn runs lbfgs (L2) or saga (L1, elastic-net) at ``--sk-tol``; saga on digits takes
minutes at a tight tol and is skipped unless ``--digits-saga`` is given.
"""

import argparse
import pathlib
import sys
import time
import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from solvers._problems import load, objective  # noqa: E402

from softlogit.solvers import solve  # noqa: E402

SOLVERS = {"l2": ["auto", "lbfgs", "newton", "newton-cd", "proximal", "sgd"],
           "l1": ["auto", "newton-cd", "proximal"],
           "elasticnet": ["auto", "newton-cd", "proximal"]}


def best_time(fn, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tol", type=float, default=1e-8)
    ap.add_argument("--sk-tol", type=float, default=1e-8)
    ap.add_argument("--C", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--digits-saga", action="store_true")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    print(f"tol={args.tol} sklearn tol={args.sk_tol} C={args.C}")
    for name in ["breast_cancer", "iris", "wine", "digits"]:
        X, y, _ = load(name)
        for penalty in ["l2", "l1", "elasticnet"]:
            ratio = {"l2": 0.0, "l1": 1.0, "elasticnet": 0.5}[penalty]
            obj = objective(name, penalty=penalty, C=args.C,
                            l1_ratio=0.5 if penalty == "elasticnet" else None)
            sk_solver = "lbfgs" if penalty == "l2" else "saga"
            if sk_solver == "saga" and name == "digits" and not args.digits_saga:
                sk_line, J_sk = "sklearn saga: skipped (minutes)", None
            else:
                clf = LogisticRegression(solver=sk_solver, C=args.C, l1_ratio=ratio,
                                         tol=args.sk_tol, max_iter=100000)
                clf, t_sk = best_time(lambda: clf.fit(X, y), args.repeat)
                J_sk = obj.objective_value(obj.pack(clf.coef_, clf.intercept_))
                sk_line = (f"sklearn {sk_solver}: {t_sk * 1e3:8.1f} ms "
                           f"it={int(np.max(clf.n_iter_)):5d}")
            print(f"{name:14s} {penalty:10s} {sk_line}")
            for solver in SOLVERS[penalty]:
                kw = dict(max_iter=300, random_state=0) if solver == "sgd" else dict(max_iter=20000)
                res, t = best_time(lambda: solve(obj, solver, tol=args.tol, **kw), args.repeat)
                J = obj.objective_value(res.params)
                gap = "" if J_sk is None else f"gap {(J - J_sk) / J_sk:+.1e}"
                label = solver + (f"→{res.solver}" if solver == "auto" else "")
                print(f"    {label:20s} {t * 1e3:8.1f} ms it={res.n_iter:5d} "
                      f"{'conv' if res.converged else 'NOT '} J={J:.12f} {gap}")


if __name__ == "__main__":
    main()
