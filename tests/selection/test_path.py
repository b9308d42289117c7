"""Regularisation paths: each fit equals the single fit at its C; the grid's start is exact;
a wide sparse L1 path never densifies X."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.svm import l1_min_c

import softlogit
from softlogit import LogisticRegression
from softlogit.selection.grid import c_zero, max_gradient, null_params
from softlogit.selection.targets import encode_targets


def _correlated(m, p, k_true, n_classes=2, seed=0):
    rng = np.random.default_rng(seed)
    X = 0.6 * rng.normal(size=(m, p)) + 0.8 * rng.normal(size=(m, 1))  # correlated columns
    W = np.zeros((n_classes, p))
    W[:, :k_true] = rng.normal(scale=1.5, size=(n_classes, k_true))
    Z = X @ W.T
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    y = np.array([rng.choice(n_classes, p=row) for row in P])
    return X, y


CASES = {
    "binary-l1": dict(penalty="l1", l1_ratio=None, n_classes=2, solver="newton-cd"),
    "multinomial-elasticnet": dict(penalty="elasticnet", l1_ratio=0.5, n_classes=3,
                                   solver="newton-cd"),
    "binary-l2": dict(penalty="l2", l1_ratio=None, n_classes=2, solver="newton"),
}


@pytest.mark.parametrize("screening", ["auto", "strong", "working-set"])
@pytest.mark.parametrize("case", CASES)
def test_path_fit_equals_single_fit(case, screening):
    """At every C the path's objective is within 1e-9 of a cold single fit at tol 1e-10."""
    spec = CASES[case]
    X, y = _correlated(300, 12, 4, spec["n_classes"])
    path = softlogit.regularization_path(X, y, Cs=6, penalty=spec["penalty"],
                                         l1_ratio=spec["l1_ratio"], tol=1e-10, max_iter=200,
                                         screening=screening)
    assert path.converged.all()
    for i, C in enumerate(path.Cs):
        est = LogisticRegression(penalty=spec["penalty"], C=C, l1_ratio=spec["l1_ratio"],
                                 solver=spec["solver"], tol=1e-10, max_iter=500).fit(X, y)
        obj = est.objective_for(X, y)
        single = obj.objective_value(obj.pack(est.coef_, est.intercept_))
        along = obj.objective_value(obj.pack(path.coefs[i], path.intercepts[i]))
        assert abs(along - single) <= 1e-9, (C, along - single)
        assert abs(path.objectives[i] - along) <= 1e-12
        assert path.n_active[i] == np.count_nonzero(np.any(path.coefs[i] != 0, axis=0))
    if spec["penalty"] != "l2":
        assert path.n_active[0] == 0 and path.n_active[-1] > 0  # the grid starts all-zero


def test_c_zero_matches_scikit_learn_l1_min_c():
    """Without an intercept, C₀ is scikit-learn's ``l1_min_c(loss="log")`` (computed by them)."""
    X, y = _correlated(200, 15, 3)
    targets = encode_targets(X, y)
    problem = targets.problem(X, fit_intercept=False)
    gmax, _ = max_gradient(problem, null_params(problem))
    assert c_zero(problem, 1.0, gmax) == pytest.approx(
        l1_min_c(X, y, loss="log", fit_intercept=False), rel=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_c_zero_is_where_the_first_coefficient_enters(n_classes):
    """Single fits (not the path code): all zero just below C₀, not all zero just above."""
    X, y = _correlated(200, 8, 3, n_classes)
    path = softlogit.regularization_path(X, y, Cs=1, penalty="l1")
    C0 = path.C_zero
    assert path.Cs[0] == pytest.approx(C0)
    below = LogisticRegression(penalty="l1", C=C0 * (1 - 1e-6), solver="newton-cd",
                               tol=1e-10).fit(X, y)
    above = LogisticRegression(penalty="l1", C=C0 * 1.01, solver="newton-cd",
                               tol=1e-10).fit(X, y)
    assert np.count_nonzero(below.coef_) == 0
    assert np.count_nonzero(above.coef_) > 0


def test_wide_sparse_l1_path_never_densifies():
    """A text-like problem, 1500 × 100 000 CSR (≈ 60 words a row): the L1 path's peak memory
    stays far below one dense (m, p) array, and no sparse matrix is made dense."""
    rng = np.random.default_rng(0)
    m, p, per_row = 1500, 100_000, 60
    cols = rng.zipf(1.3, size=m * per_row) % p  # a few frequent words, a long tail
    rows = np.repeat(np.arange(m), per_row)
    X = sp.csr_matrix((np.ones(m * per_row), (rows, cols)), shape=(m, p))
    X.sum_duplicates()
    w = np.zeros(p)
    w[:20] = rng.normal(scale=2.0, size=20)
    score = X @ w + 0.3 * rng.normal(size=m)
    y = (score > np.median(score)).astype(int)

    dense_bytes = m * p * 8
    original = sp.csr_matrix.toarray

    def refuse(self, *args, **kwargs):
        if self.shape[0] == m or self.shape[1] == p:
            raise AssertionError(f"densified a {self.shape} sparse matrix")
        return original(self, *args, **kwargs)

    tracemalloc.start()
    try:
        sp.csr_matrix.toarray = refuse
        sp.csc_matrix.toarray = refuse
        path = softlogit.regularization_path(X, y, Cs=4, penalty="l1", min_ratio=0.1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        sp.csr_matrix.toarray = original
        sp.csc_matrix.toarray = original
    assert path.coefs.shape == (4, 1, p)
    assert path.converged.all()
    assert 0 < path.n_active[-1] < 1000 and path.n_screened.max() < 2000
    assert peak < dense_bytes / 20, f"peak {peak / 1e6:.0f} MB vs dense {dense_bytes / 1e6:.0f} MB"
