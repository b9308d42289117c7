"""``softlogit.regularization_path``: the fits of one data set over a grid of C values."""

from __future__ import annotations

import dataclasses

import numpy as np
from sklearn.utils import check_X_y

from softlogit.selection.path import fit_path, warn_unconverged
from softlogit.selection.screening import STRATEGIES
from softlogit.selection.targets import encode_targets

_PENALTIES = ("l1", "elasticnet", "l2")


def regularization_path(X, y, *, Cs=10, penalty="l1", l1_ratio=None, fit_intercept=True,
                        sample_weight=None, class_weight=None, softmax=False, tol=1e-8,
                        max_iter=100, solver="auto", screening="auto", min_ratio=None,
                        verbose=0):
    """Fit ``LogisticRegression(penalty, C, l1_ratio)`` at every C of a grid, in one sweep.

    The fits run from the strongest penalty (smallest C) to the weakest, each warm-started from
    the previous one; with an L1 term each solve uses only the columns that screening keeps,
    checked against the KKT conditions on all columns afterwards (:mod:`.path`,
    :mod:`.screening`), so every fit is the one on all columns.

    Parameters
    ----------
    X : (m, p) dense float array or SciPy sparse matrix (never densified).
    y : (m,) class labels; two classes give the sigmoid model, more the softmax.
    Cs : int or array of positive floats, default=10
        An int asks for the automatic grid: from ``C₀``, the largest C whose fit has every
        coefficient zero (``ρ / (Σs ‖∇_W J(θ₀)‖_∞)`` at the intercept-only fit ``θ₀``), up to
        ``C₀ / min_ratio`` in log steps (:mod:`.grid`).
    penalty : {"l1", "elasticnet", "l2"}, default="l1"
    l1_ratio : float in [0, 1], the elastic-net ρ (``penalty="elasticnet"`` only).
    fit_intercept, sample_weight, class_weight : as for
        :class:`~softlogit.LogisticRegression`.
    softmax : bool, default=False — fit the K-logit softmax also for two classes.
    tol, max_iter, solver : the solver options of each fit (``tol`` is relative to the
        gradient norm at θ = 0 of the full problem at that C, as for a single fit).
    screening : {"auto", "working-set", "strong", None}, default="auto"
        How columns are chosen for each solve (:mod:`.screening`); None solves on all.
    min_ratio : the grid's ``λ_min / λ_max`` (default 1e-4 if m > p else 1e-2).

    Returns
    -------
    :class:`~softlogit.selection.path.PathResult` (coefficients, intercepts, objective values,
    iterations and active-set sizes per C), with ``info["classes"]``.

    Examples
    --------
    >>> import numpy as np, softlogit
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 20)); y = (X[:, 0] - X[:, 1] > 0).astype(int)
    >>> path = softlogit.regularization_path(X, y, Cs=5, penalty="l1")
    >>> path.coefs.shape, path.n_active.tolist()[0], bool(path.n_active[-1] >= 2)
    ((5, 1, 20), 0, True)
    """
    if penalty not in _PENALTIES:
        raise ValueError(f"penalty must be one of {_PENALTIES}; got {penalty!r}")
    if screening not in STRATEGIES:
        raise ValueError(f"screening must be one of {STRATEGIES}; got {screening!r}")
    if penalty == "elasticnet":
        if l1_ratio is None or not 0 <= l1_ratio <= 1:
            raise ValueError(f"penalty='elasticnet' needs l1_ratio in [0, 1]; got {l1_ratio!r}")
        rho = float(l1_ratio)
    else:
        rho = 1.0 if penalty == "l1" else 0.0
    X, y = check_X_y(X, y, accept_sparse=("csr", "csc"), dtype=(np.float64, np.float32))
    targets = encode_targets(X, y, sample_weight, class_weight, softmax=softmax)
    problem = targets.problem(X, fit_intercept=fit_intercept)
    path = fit_path(problem, Cs, rho, tol=tol, max_iter=max_iter, solver=solver,
                    screening=screening, min_ratio=min_ratio, verbose=verbose)
    warn_unconverged(path)
    return dataclasses.replace(path, info=dict(path.info, classes=targets.classes))
