"""Cross-validated C: softlogit's LogisticRegressionCV against scikit-learn's and skglm (issue 10).

Every tool gets the same folds (StratifiedKFold(5, shuffle, seed 0)) and the same grid of Cs
(softlogit's automatic grid on all rows, passed as an explicit list to everyone), and is
scored with neg_log_loss on each test fold. Accuracy is the largest distance of a tool's
fold scores from *reference* scores: each fold fitted alone at each C by softlogit's
proximal Newton (newton-cd) / Newton at tol 1e-10. scikit-learn: ``LogisticRegressionCV``
(saga for L1/elastic net, lbfgs for L2) at its defaults (tol 1e-4, max_iter 100) and, where
noted, tighter. skglm has no CV estimator and no multinomial L1: its
``SparseLogisticRegression(alpha = 1/(C·m_train))`` is warm-started along the same Cs on each
fold (binary L1 only). Compile time (the first call in a process; Numba in softlogit and skglm)
is measured on a tiny problem and reported apart.

    python benchmarks/cv_bench.py [--repeats 3] [--only NAME ...] [--tools TEXT ...]
        [--sklearn-tol TOL ...] [--softlogit-tol TOL ...] [--quick] [--screening] [--counts]
        [--reference-cache DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings

warnings.filterwarnings("ignore", message=".*faster on contiguous arrays")  # skglm's Numba

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import get_scorer
from sklearn.model_selection import StratifiedKFold

import softlogit
from softlogit import LogisticRegression, LogisticRegressionCV

SCORER = get_scorer("neg_log_loss")


# --- problems --------------------------------------------------------------------------------

def correlated(m, p, k_true, n_classes=2, rho=0.5, seed=0):
    """Gaussian columns with pairwise correlation ``rho``, ``k_true`` informative ones."""
    rng = np.random.default_rng(seed)
    X = np.sqrt(1 - rho) * rng.normal(size=(m, p)) + np.sqrt(rho) * rng.normal(size=(m, 1))
    W = np.zeros((n_classes, p))
    W[:, :k_true] = rng.normal(size=(n_classes, k_true))
    Z = X @ W.T
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    u = rng.random(m)[:, None]
    y = (u > np.cumsum(P, axis=1)).sum(axis=1)
    return X, y


def text_like(m, p, per_row, k_true=30, seed=0):
    """Bag-of-words-like CSR: Zipf-distributed word ids, counts, ``k_true`` informative words."""
    rng = np.random.default_rng(seed)
    cols = (rng.zipf(1.2, size=m * per_row) - 1) % p
    rows = np.repeat(np.arange(m), per_row)
    X = sp.csr_matrix((np.ones(m * per_row), (rows, cols)), shape=(m, p))
    X.sum_duplicates()
    X.data = np.log1p(X.data)
    w = np.zeros(p)
    informative = rng.choice(np.arange(10, 2000), size=k_true, replace=False)
    w[informative] = rng.normal(scale=2.0, size=k_true)
    score = X @ w
    y = (rng.random(m) < 1 / (1 + np.exp(-(score - np.median(score))))).astype(int)
    return X, y


PROBLEMS = {
    # the problem: 8000 × 200 binary, correlated columns, 15 true features, L1
    "binary-l1": dict(make=lambda: correlated(8000, 200, 15), rho=1.0),
    "multinomial-en": dict(make=lambda: correlated(5000, 100, 10, n_classes=4), rho=0.5),
    "binary-l2": dict(make=lambda: correlated(8000, 200, 15), rho=0.0),
    "sparse-text-l1": dict(make=lambda: text_like(10000, 100_000, 80), rho=1.0),
}


# --- tools -----------------------------------------------------------------------------------

def softlogit_cv(X, y, Cs, folds, rho, **kw):
    clf = LogisticRegressionCV(Cs=Cs, l1_ratios=(rho,), cv=folds, **kw).fit(X, y)
    return clf.scores_[:, 0, :], clf.C_


def sklearn_cv(X, y, Cs, folds, rho, tol=1e-4, max_iter=100):
    from sklearn.linear_model import LogisticRegressionCV as SkCV

    solver = "lbfgs" if rho == 0 else "saga"
    clf = SkCV(Cs=list(Cs), l1_ratios=(rho,), cv=folds, solver=solver, tol=tol,
               max_iter=max_iter, scoring="neg_log_loss", use_legacy_attributes=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, y)
    return clf.scores_[:, 0, :], clf.C_


def skglm_cv(X, y, Cs, folds, rho, tol=1e-4):
    """skglm along the path on each fold (warm starts), then a refit at the best C."""
    from skglm import SparseLogisticRegression

    scores = np.empty((len(folds), len(Cs)))
    for f, (train, test) in enumerate(folds):
        est = SparseLogisticRegression(alpha=1.0, l1_ratio=rho, tol=tol, warm_start=True)
        for i, C in enumerate(Cs):
            est.set_params(alpha=1.0 / (C * len(train)))
            est.fit(X[train], y[train])
            scores[f, i] = SCORER(_as_softlogit(est, X.shape[1]), X[test], y[test])
    best = Cs[int(np.argmax(scores.mean(axis=0)))]
    SparseLogisticRegression(alpha=1.0 / (best * X.shape[0]), l1_ratio=rho, tol=tol).fit(X, y)
    return scores, best


def _as_softlogit(est, p):
    """skglm's coefficients in a softlogit model, for scoring: skglm 0.5's own predict_proba
    disagreed with its coefficients (scores 0.002–0.2 off at coefficients equal to softlogit's
    to 3e-9; seen on this benchmark), so every tool is scored from (coef_, intercept_)."""
    out = LogisticRegression()
    out.classes_ = np.asarray(est.classes_)
    out.coef_ = np.atleast_2d(np.asarray(est.coef_, dtype=np.float64))
    out.intercept_ = np.atleast_1d(np.asarray(est.intercept_, dtype=np.float64))
    out.n_features_in_ = p
    return out


def reference_scores(X, y, Cs, folds, rho):
    penalty = {0.0: "l2", 1.0: "l1"}.get(rho, "elasticnet")
    solver = "newton" if rho == 0 else "newton-cd"
    if sp.issparse(X) and rho > 0:  # a 100k-column Hessian is out of reach: the screened path
        return np.array([[s for s in _path_scores(X, y, train, test, Cs, rho)]
                         for train, test in folds])
    if len(np.unique(y)) > 2 and rho > 0:  # newton-cd alone hit max_iter=500 at the weakest C
        return _cold_path_scores(X, y, Cs, folds, rho)
    scores = np.empty((len(folds), len(Cs)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for f, (train, test) in enumerate(folds):
            for i, C in enumerate(Cs):
                est = LogisticRegression(penalty=penalty, C=C, solver=solver, tol=1e-10,
                                         l1_ratio=rho if penalty == "elasticnet" else None,
                                         max_iter=500).fit(X[train], y[train])
                scores[f, i] = SCORER(est, X[test], y[test])
    return scores


def _path_scores(X, y, train, test, Cs, rho):
    path = softlogit.regularization_path(X[train], y[train], Cs=Cs, penalty="l1", tol=1e-12,
                                         max_iter=500)
    for i in range(len(Cs)):
        est = LogisticRegression()
        est.classes_, est.coef_, est.intercept_ = np.array([0, 1]), path.coefs[i], \
            path.intercepts[i]
        yield SCORER(_as_softlogit(est, X.shape[1]), X[test], y[test])


def _cold_path_scores(X, y, Cs, folds, rho):
    """Multinomial L1 / elastic net: each (fold, C) fitted alone, cold, by the path machinery at
    that one C (screening, KKT check, its proximal Newton) to tol 1e-10 — newton-cd on its own
    did not converge at the weakest C in 500 iterations (8 min for one fit, 2026-12-02), and the
    path's solver is checked against it on small problems in tests/selection."""
    penalty = {1.0: "l1"}.get(rho, "elasticnet")
    scores = np.empty((len(folds), len(Cs)))
    for f, (train, test) in enumerate(folds):
        for i, C in enumerate(Cs):
            path = softlogit.regularization_path(
                X[train], y[train], Cs=[C], penalty=penalty,
                l1_ratio=None if penalty == "l1" else rho, tol=1e-10, max_iter=500)
            est = LogisticRegression()
            est.classes_, est.coef_, est.intercept_ = np.unique(y), path.coefs[0], \
                path.intercepts[0]
            est.n_features_in_ = X.shape[1]
            scores[f, i] = SCORER(est, X[test], y[test])
    return scores


def timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def compile_times():
    """First-call cost in this process (Numba loading / compiling), on a 200 × 10 problem."""
    X, y = correlated(200, 10, 3)
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    out = {}
    t = time.perf_counter()
    LogisticRegressionCV(Cs=3, l1_ratios=(1.0,), cv=folds).fit(X, y)
    LogisticRegressionCV(Cs=3, l1_ratios=(0.5,), cv=folds).fit(X, np.arange(200) % 3)
    out["softlogit"] = time.perf_counter() - t
    try:
        from skglm import SparseLogisticRegression

        t = time.perf_counter()
        SparseLogisticRegression(alpha=0.01).fit(X, y)
        SparseLogisticRegression(alpha=0.01).fit(sp.csr_matrix(X), y)
        out["skglm"] = time.perf_counter() - t
    except ImportError:
        pass
    return out


def cached_reference(cache, name, X, y, Cs, folds, rho):
    """:func:`reference_scores`, kept in ``cache`` (a folder, or None: always computed) under a
    key of the problem's name, shape, grid and folds, so repeated runs skip the tol-1e-10
    fits (minutes for the multinomial reference)."""
    if cache is None:
        return reference_scores(X, y, Cs, folds, rho)
    import hashlib
    import os

    h = hashlib.sha1(np.asarray(Cs, dtype=np.float64).tobytes())
    h.update(repr((X.shape, rho)).encode())
    for train, _ in folds:
        h.update(np.asarray(train, dtype=np.int64).tobytes())
    path = os.path.join(cache, f"{name}-{h.hexdigest()[:12]}.npy")
    if os.path.exists(path):
        return np.load(path)
    ref = reference_scores(X, y, Cs, folds, rho)
    os.makedirs(cache, exist_ok=True)
    np.save(path, ref)
    return ref


def run(name, repeats, quick, tools=None, sklearn_tols=(), softlogit_tols=(), cache=None):
    spec = PROBLEMS[name]
    X, y = spec["make"]()
    if quick:
        X, y = X[: X.shape[0] // 4], y[: X.shape[0] // 4]
    rho = spec["rho"]
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    grid = LogisticRegressionCV(Cs=10, l1_ratios=(rho,))
    Cs = grid._grid(*_validated(X, y, grid), [rho])
    ref = cached_reference(cache, name, X, y, Cs, folds, rho)
    ref_best = Cs[int(np.argmax(ref.mean(axis=0)))]
    rows = []

    def record(tool, fn):
        if tools and not any(t in tool for t in tools):
            return
        seconds, (scores, C) = timed(fn, repeats)
        err = float(np.max(np.abs(scores - ref)))
        rows.append((tool, seconds, err, C, C == ref_best))
        print(f"  {tool:<44} {seconds:8.2f} s   max|score−ref| {err:.1e}   C_ {C:.4g}"
              f"{'' if C == ref_best else '  (≠ reference choice)'}", flush=True)

    shape = f"{X.shape[0]}×{X.shape[1]}" + (" CSR" if sp.issparse(X) else "")
    print(f"{name}: {shape}, K={len(np.unique(y))}, l1_ratio={rho}, 10 Cs "
          f"{Cs[0]:.3g}…{Cs[-1]:.3g}, 5 folds; reference choice C={ref_best:.4g}", flush=True)
    record("softlogit LogisticRegressionCV", lambda: softlogit_cv(X, y, Cs, folds, rho))
    record("softlogit, n_jobs=2", lambda: softlogit_cv(X, y, Cs, folds, rho, n_jobs=2))
    for tol in softlogit_tols:  # softlogit loosened towards the peers' accuracy
        record(f"softlogit, tol={tol:g}", lambda t=tol: softlogit_cv(X, y, Cs, folds, rho, tol=t))
    if rho > 0:  # the path's solver before lazy_newton_cd (2026-12-02), same run
        record("softlogit, solver=newton-cd",
               lambda: softlogit_cv(X, y, Cs, folds, rho, solver="newton-cd"))
    if rho > 0:
        for screening in ("strong", None):
            record(f"softlogit, screening={screening}",
                   lambda s=screening: softlogit_cv(X, y, Cs, folds, rho, screening=s))
    solver = "lbfgs" if rho == 0 else "saga"
    record(f"scikit-learn LogisticRegressionCV({solver})",
           lambda: sklearn_cv(X, y, Cs, folds, rho))
    for tol in sklearn_tols:  # scikit-learn tightened towards softlogit's accuracy
        record(f"scikit-learn LogisticRegressionCV({solver}, tol={tol:g}, max_iter=1000)",
               lambda t=tol: sklearn_cv(X, y, Cs, folds, rho, tol=t, max_iter=1000))
    if rho == 1.0 and len(np.unique(y)) == 2:
        record("skglm SparseLogisticRegression path", lambda: skglm_cv(X, y, Cs, folds, rho))
    return rows


def screening_comparison():
    """One path per screening rule on 3000 × 200 (correlated), on a coarse and a fine grid."""
    X, y = correlated(3000, 200, 15)
    softlogit.regularization_path(X[:300], y[:300], Cs=3)  # compile / load first
    for n, ratio in [(10, 1e-4), (50, 1e-2)]:
        for screening in ("working-set", "strong", None):
            t = time.perf_counter()
            path = softlogit.regularization_path(X, y, Cs=n, penalty="l1", screening=screening,
                                                 min_ratio=ratio)
            print(f"  {n} Cs, min_ratio {ratio:g}, screening={screening}: "
                  f"{time.perf_counter() - t:.2f} s, {path.n_screened.mean():.1f} columns a "
                  f"solve, {path.n_active.mean():.1f} active", flush=True)


def hessian_counts(names):
    """Model Hessians (``hessian.weighted_gram`` blocks) and solver iterations of softlogit's
    CV on each problem, per path solver: counts, not timings (no lock needed)."""
    from softlogit.selection import hessian

    calls, real = [0], hessian.weighted_gram
    hessian.weighted_gram = lambda *a: calls.__setitem__(0, calls[0] + 1) or real(*a)
    for name in names:
        spec = PROBLEMS[name]
        X, y = spec["make"]()
        rho = spec["rho"]
        folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
        grid = LogisticRegressionCV(Cs=10, l1_ratios=(rho,))
        Cs = grid._grid(*_validated(X, y, grid), [rho])
        for solver in ("auto", "newton-cd") if len(np.unique(y)) == 2 else ("auto",):
            calls[0] = 0
            clf = LogisticRegressionCV(Cs=Cs, l1_ratios=(rho,), cv=folds, solver=solver).fit(X, y)
            print(f"  {name} solver={solver}: {calls[0]} Hessian blocks, "
                  f"{int(clf.n_iter_.sum())} iterations", flush=True)


def _validated(X, y, est):
    from softlogit.selection.targets import encode_targets

    return X, encode_targets(X, y)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=None, choices=sorted(PROBLEMS))
    parser.add_argument("--quick", action="store_true", help="a quarter of the rows")
    parser.add_argument("--tools", nargs="*", default=None,
                        help="only the tools whose row name contains one of these strings")
    parser.add_argument("--sklearn-tol", nargs="*", type=float, default=[],
                        help="extra scikit-learn rows at these tol (max_iter=1000)")
    parser.add_argument("--softlogit-tol", nargs="*", type=float, default=[],
                        help="extra softlogit rows at these tol")
    parser.add_argument("--skip-compile", action="store_true",
                        help="no compile-time row (only for runs without skglm rows)")
    parser.add_argument("--screening", action="store_true",
                        help="only compare the screening rules along one path")
    parser.add_argument("--reference-cache", default=None, metavar="DIR",
                        help="keep the reference scores in DIR between runs")
    parser.add_argument("--counts", action="store_true",
                        help="only count softlogit's Hessians and iterations (no timing)")
    args = parser.parse_args(argv)
    if args.counts:
        hessian_counts(args.only or ["binary-l1", "multinomial-en"])
        return 0
    if args.screening:
        screening_comparison()
        return 0
    if not args.skip_compile:
        print("compile / first-call time:",
              {k: round(v, 2) for k, v in compile_times().items()}, flush=True)
    for name in args.only or PROBLEMS:
        run(name, args.repeats, args.quick, args.tools, args.sklearn_tol, args.softlogit_tol,
            args.reference_cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
