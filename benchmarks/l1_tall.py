"""L1 and elastic-net on tall dense X: proximal Newton with a row-sampled Hessian (issue 8).

Each tool runs a ladder of its own ``tol`` (loose to tight) until its result reaches a relative
objective gap ≤ 1e-8 on OUR objective (f* from softlogit's exact-Hessian proximal Newton at
tol 1e-11, lowered if anything goes below it); the time of that run is reported with its gap
and, for softlogit, its passes over X. Tools: softlogit ``fit`` (``solver="auto"``, end to
end: it picks proximal Newton with the sampled Hessian here), the solvers alone on a built
objective (``newton-cd`` with the exact and with the sampled Hessian, ``proximal`` = FISTA),
and peers: scikit-learn ``saga`` and, for binary L1, ``liblinear`` and skglm's
``SparseLogisticRegression`` (``alpha = 1/(C·m)``, the same objective).

    python benchmarks/l1_tall.py [--only S2,S6] [--peers] [--skip skglm] [--limit 60]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).parent))
import problems  # noqa: E402

import softlogit  # noqa: E402
from softlogit.objective import LinearObjective  # noqa: E402
from softlogit.solvers import solve  # noqa: E402

LADDER = (1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9)
GAP = 1e-8
#: problem → (penalty, l1_ratio, C): C gives a sparse optimum on each.
SETTINGS = {"S1": ("l1", None, 2e-4), "S2": ("l1", None, 2e-4), "S5": ("l1", None, 1e-3),
            "S6": ("elasticnet", 0.5, 1e-3), "S3": ("l1", None, 2e-4)}


def build(P, penalty, ratio, C):
    loss = "binary" if P.n_classes == 2 else "multinomial"
    y = P.y.astype(float) if loss == "binary" else P.y
    return LinearObjective(P.X, y, loss=loss, n_classes=P.n_classes, penalty=penalty,
                           l1_ratio=ratio, C=C)


def ladder(run, judge, f_star, limit):
    """First tol whose run reaches the gap: (seconds, gap, tol, extra), or the last run."""
    out = None
    for tol in LADDER:
        t0 = time.perf_counter()
        params, extra = run(tol)
        seconds = time.perf_counter() - t0
        gap = (judge(params) - f_star) / abs(f_star)
        out = (seconds, gap, tol, extra)
        if gap <= GAP or seconds > limit:
            return out
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="S2,S6")
    ap.add_argument("--peers", action="store_true", help="also scikit-learn saga/liblinear, skglm")
    ap.add_argument("--skip", default="", help="comma-separated tools to leave out (e.g. skglm)")
    ap.add_argument("--limit", type=float, default=60.0, help="stop a tool's ladder after a "
                    "fit longer than this (seconds)")
    args = ap.parse_args(argv)
    for name in args.only.split(","):
        P = problems.make_suite(name)
        penalty, ratio, C = SETTINGS[name]
        obj = build(P, penalty, ratio, C)
        ref = solve(obj, "newton-cd", tol=1e-11, max_iter=300)
        f_star = obj.objective_value(ref.params)
        nnz = int(np.count_nonzero(obj.unpack(ref.params)[0]))
        print(f"\n{name}: {P.title}; {penalty}"
              f"{f' l1_ratio={ratio}' if ratio else ''}, C={C:g}; optimum has {nnz} of "
              f"{obj.n_features * obj.n_logits} coefficients non-zero")
        rows = []

        def judge(params):
            return obj.objective_value(params)

        def solver_run(solver, **kw):
            def run(tol):
                o = build(P, penalty, ratio, C)
                with threadpool_limits(1, "blas"):
                    r = solve(o, solver, tol=tol, max_iter=1000, **kw)
                return r.params, f"{r.n_iter} it, {r.info['passes']:.1f} passes"
            return run

        def fit_run(tol):
            Est = (softlogit.LogisticRegression if P.n_classes == 2
                   else softlogit.SoftmaxRegression)
            est = Est(penalty=penalty, l1_ratio=ratio, C=C, tol=tol, max_iter=1000).fit(P.X, P.y)
            info = est.fit_report_.info
            return (obj.pack(est.coef_, est.intercept_),
                    f"{info.get('auto_choice')}, {info['passes']:.1f} passes")

        tools = [("softlogit fit (auto)", fit_run),
                 ("newton-cd, sampled Hessian", solver_run("newton-cd", sample_rows="auto")),
                 ("newton-cd, exact Hessian", solver_run("newton-cd")),
                 ("proximal (FISTA)", solver_run("proximal"))]
        if args.peers:
            from sklearn.exceptions import ConvergenceWarning
            from sklearn.linear_model import LogisticRegression as SkLR

            def sk_run(solver):
                def run(tol):
                    # scikit-learn ≥ 1.8 spells the penalty by l1_ratio alone
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", ConvergenceWarning)
                        est = SkLR(l1_ratio=1.0 if ratio is None else ratio, C=C,
                                   solver=solver, tol=tol, max_iter=1000).fit(P.X, P.y)
                    return (obj.pack(est.coef_, est.intercept_),
                            f"{int(np.max(est.n_iter_))} it")
                return run
            tools.append(("scikit-learn saga", sk_run("saga")))
            if P.n_classes == 2 and penalty == "l1":
                tools.append(("scikit-learn liblinear", sk_run("liblinear")))
                try:
                    from skglm import SparseLogisticRegression

                    def skglm_run(tol):
                        est = SparseLogisticRegression(alpha=1 / (C * P.X.shape[0]), tol=tol,
                                                       max_iter=1000).fit(P.X, P.y)
                        return obj.pack(est.coef_, est.intercept_), ""
                    if "skglm" not in args.skip:
                        skglm_run(1e-2)  # compile outside the timing
                    tools.append(("skglm", skglm_run))
                except ImportError:
                    pass
        skip = [t for t in args.skip.split(",") if t]
        for label, run in tools:
            if any(t in label for t in skip):
                print(f"  {label:28s} skipped (--skip)")
                continue
            seconds, gap, tol, extra = ladder(run, judge, f_star, args.limit)
            rows.append((label, seconds, gap, tol, extra))
            print(f"  {label:28s} {seconds:7.2f} s  gap {gap:8.1e}  tol {tol:g}  {extra}",
                  flush=True)
        reached = [r for r in rows if r[2] <= GAP and not r[0].startswith(("softlogit",
                   "newton-cd", "proximal"))]
        if reached:
            best = min(reached, key=lambda r: r[1])
            print(f"  fit / fastest peer to the gap ({best[0]}): {best[1] / rows[0][1]:.1f}×")


if __name__ == "__main__":
    main()
