"""Which columns to solve on at the next C: screening rules and the KKT check.

At a fit with L1 strength ``λ`` a coefficient ``w_{kj}`` that is zero satisfies the KKT
condition ``|∂J/∂w_{kj}| ≤ λ``; a column ``j`` can stay out of a solve only if this holds for
every class ``k``. Its *score* is ``c_j = max_k |∂_{kj} J|`` (the smooth gradient; at
``w_{·j} = 0`` the L2 term adds nothing).

Two strategies choose the columns of the next solve from the scores at the previous C; both are
made safe by the same check afterwards (:func:`kkt_violations`: any zero column with
``c_j > λ`` at the new fit is added and the fit resolved from where it stopped), so the result
is the fit on all columns whichever strategy runs:

- ``"strong"`` — the sequential strong rule (Tibshirani et al. 2012, "Strong rules for
  discarding predictors in lasso-type problems", JRSS-B 74(2), eq. 7): keep ``j`` when
  ``c_j ≥ 2λ_new − λ_old`` or ``w_{·j} ≠ 0``. It assumes ``c_j(λ)`` is 1-Lipschitz in ``λ``;
  violations are rare and caught by the check.
- ``"working-set"`` — a fixed-size set, as in celer/skglm (Massias, Gramfort & Salmon 2018,
  "Celer", ICML): the non-zero columns plus the best-scored others, ``max(WS_MIN, 2·|active|)``
  in all; on a violation the size doubles.
- ``"auto"`` — at each C, whichever of the two starts with fewer columns.

Which wins depends on the grid's spacing (measured, 3000 × 200, correlated columns, one path,
shared 2-core machine): on glmnet's fine grid (50 Cs over two decades, λ falls 9 % a step) the
strong rule kept 32 columns a solve on average against the working set's 50 and took 13.3 s
against 24.2 s (no screening: 85 s); on a coarse grid (10 Cs over four decades, λ falls 64 % a
step) ``2λ_new − λ_old < 0`` and the strong rule keeps every column (37 s, no better than no
screening, 31 s) while the working set solved on 126 of 200 columns on average (28 s). The
working set's fixed size does not shrink with the step; the strong rule's bound does.
"""

from __future__ import annotations

import numpy as np

STRATEGIES = ("auto", "strong", "working-set", None)
#: The smallest working set (columns).
WS_MIN = 10


def column_scores(problem, grad) -> np.ndarray:
    """``c_j = max_k |∂J/∂w_{kj}|`` from the full flat gradient, shape (p,)."""
    W, _ = problem.unpack(grad)
    return np.max(np.abs(W), axis=0)


def active_columns(problem, params) -> np.ndarray:
    """Boolean (p,): the columns with a non-zero coefficient in some class."""
    W, _ = problem.unpack(params)
    return np.any(W != 0, axis=0)


def initial_columns(strategy, scores, active, lam_new, lam_old):
    """``(strategy used, sorted column indices)`` to solve on first at the L1 strength
    ``lam_new`` (``"auto"`` resolves to the strategy with fewer columns)."""
    if strategy == "auto":
        strong = _initial("strong", scores, active, lam_new, lam_old)
        ws = _initial("working-set", scores, active, lam_new, lam_old)
        return ("strong", strong) if len(strong) <= len(ws) else ("working-set", ws)
    return strategy, _initial(strategy, scores, active, lam_new, lam_old)


def _initial(strategy, scores, active, lam_new, lam_old) -> np.ndarray:
    if strategy == "strong":
        keep = active | (scores >= 2.0 * lam_new - lam_old)
        return np.flatnonzero(keep)
    if strategy == "working-set":
        size = max(WS_MIN, 2 * int(active.sum()))
        return _best_scored(scores, active, size)
    raise ValueError(f"screening must be one of {STRATEGIES}; got {strategy!r}")


def grown_columns(strategy, columns, violations, scores, active) -> np.ndarray:
    """The columns of the resolve after a KKT check found ``violations`` (indices)."""
    if strategy == "working-set":
        size = 2 * len(columns)
        must = np.zeros(len(scores), dtype=bool)
        must[columns] = True
        must[violations] = True
        must |= active
        return _best_scored(scores, must, max(size, int(must.sum())))
    return np.union1d(columns, violations)


def kkt_violations(scores, columns, lam) -> np.ndarray:
    """Columns outside ``columns`` whose zero coefficients break ``c_j ≤ λ``."""
    outside = np.ones(len(scores), dtype=bool)
    outside[columns] = False
    return np.flatnonzero(outside & (scores > lam))


def _best_scored(scores, must, size) -> np.ndarray:
    """``must`` columns plus the highest-scored others, ``size`` columns in all (sorted)."""
    size = min(int(size), len(scores))
    ranked = np.where(must, np.inf, scores)
    if size >= len(scores):
        return np.arange(len(scores))
    chosen = np.argpartition(-ranked, size - 1)[:size]
    return np.sort(chosen)
