"""Shared data and scikit-learn reference fits for the solver tests (cached: fit once)."""

from __future__ import annotations

import functools
import os
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn import datasets
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from softlogit.objective import LinearObjective

#: The objective's backend ("auto": fused kernels where registered; "reference": NumPy/SciPy).
BACKEND = os.environ.get("SOFTLOGIT_TEST_BACKEND", "auto")

BUNDLED = {
    "breast_cancer": datasets.load_breast_cancer,
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "digits": datasets.load_digits,
}


@functools.lru_cache(maxsize=None)
def load(name):
    """Standardised (X, y, loss) of a bundled or generated data set."""
    if name in BUNDLED:
        X, y = BUNDLED[name](return_X_y=True)
    elif name == "generated-binary":
        X, y = datasets.make_classification(n_samples=400, n_features=20, n_informative=8,
                                            random_state=0)
    elif name == "generated-multi":
        X, y = datasets.make_classification(n_samples=500, n_features=15, n_informative=8,
                                            n_redundant=0, n_classes=4, random_state=1)
    else:
        raise KeyError(name)
    X = StandardScaler().fit_transform(X)
    loss = "binary" if len(np.unique(y)) == 2 else "multinomial"
    X.setflags(write=False)
    return X, y, loss


@functools.lru_cache(maxsize=None)
def sparse_problem(loss="binary", seed=0):
    """A sparse CSR problem (density 10 %) with labels from a planted linear model."""
    rng = np.random.default_rng(seed)
    X = sp.random(600, 40, density=0.1, format="csr", random_state=rng) * 3.0
    K = 2 if loss == "binary" else 3
    W = rng.normal(size=(K, 40))
    y = np.argmax(X @ W.T + rng.gumbel(size=(600, K)), axis=1)
    return X.tocsr(), y, loss


def objective(name, penalty="l2", C=1.0, l1_ratio=None, dtype=np.float64, sparse=False,
              fit_intercept=True):
    X, y, loss = load(name)
    X = X.astype(dtype)
    if sparse:
        X = sp.csr_matrix(X)
    return LinearObjective(X, y, loss=loss, penalty=penalty, C=C, l1_ratio=l1_ratio,
                           fit_intercept=fit_intercept, backend=BACKEND)


@functools.lru_cache(maxsize=None)
def sklearn_reference(name, penalty="l2", C=1.0, l1_ratio=None, saga_tol=1e-10):
    """scikit-learn's (coef_, intercept_) on the same objective, converged tightly.

    scikit-learn ≥ 1.8 spells the penalty through ``l1_ratio`` (0: L2, 1: L1) and
    ``C = inf`` (none); it fits the multinomial model for more than two classes. SAGA (the
    only scikit-learn solver for multinomial L1) needs minutes on digits at a tight ``tol``:
    the large bundled sets use a looser ``saga_tol`` and a one-sided comparison.
    """
    X, y, _ = load(name) if not name.startswith("sparse") else sparse_problem(name[7:])
    if penalty in ("l2", None):
        kw = dict(solver="lbfgs", l1_ratio=0.0, C=np.inf if penalty is None else C,
                  tol=1e-12, max_iter=20000)
    else:
        ratio = 1.0 if penalty == "l1" else l1_ratio
        kw = dict(solver="saga", l1_ratio=ratio, C=C, tol=saga_tol, max_iter=50000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = LogisticRegression(**kw).fit(X, y)
    return clf.coef_, clf.intercept_


def pack_reference(obj, coef, intercept):
    return obj.pack(coef, intercept)




@functools.lru_cache(maxsize=None)
def newton_cd_solution(name, penalty, l1_ratio=None, C=0.5):
    """Our proximal Newton solution at tol 1e-10, computed once per session (it is checked
    against the optimality conditions in test_newton_cd and against FISTA in test_proximal)."""
    from softlogit.solvers import solve

    return solve(objective(name, penalty=penalty, l1_ratio=l1_ratio, C=C), "newton-cd",
                 tol=1e-10)


def bounded_factor(monkeypatch, limit=1000):
    """Count Cholesky attempts; fail loudly instead of spinning if they are not bounded."""
    from softlogit.solvers import newton as newton_mod
    calls = []
    real = newton_mod._factor

    def counting(H):
        calls.append(1)
        if len(calls) > limit:
            raise RuntimeError(f"more than {limit} Cholesky attempts in one fit: unbounded loop")
        return real(H)

    monkeypatch.setattr(newton_mod, "_factor", counting)
    return calls
