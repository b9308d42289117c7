"""Complete and quasi-complete separation, detected exactly by linear programming.

The maximum-likelihood estimate of a logit model exists iff no non-zero direction ``β`` (in
the contrasts against the reference class, ``β_ref = 0``) satisfies, for every sample i of
positive weight and every class k other than its own ``cᵢ``,

.. math::

    d_{ik}(β) = x̃ᵢᵀ(β_{cᵢ} − β_k) ≥ 0

with at least one inequality strict (Albert & Anderson 1984; the binary case is
``(2yᵢ − 1) x̃ᵢᵀβ ≥ 0``). Along such a direction the likelihood rises forever. One LP
(SciPy's HiGHS) maximises ``Σ d_{ik}`` over the box ``−1 ≤ β ≤ 1``: a positive optimum proves
separation (Konis 2007). A second LP maximises ``min d_{ik}``: positive means *complete*
separation (every sample classified with a margin), zero means *quasi-complete*. The
parameters whose estimates are infinite are those that some such direction moves: for up to
:data:`EXACT_MAX_PARAMS` parameters each is tested by its own pair of LPs (max ±β_j), beyond
that the support of the first LP's direction is reported.

The LP has ``m·(K − 1)`` rows and the n parameters as columns (an m × n sparse matrix):
meant for the data sizes where one does inference, not for 10M rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

#: Up to this many parameters, each parameter's infinity is decided by its own LPs.
EXACT_MAX_PARAMS = 60


@dataclass(frozen=True)
class SeparationReport:
    """What separates the data (see the module docstring).

    Attributes
    ----------
    complete : True for complete separation, False for quasi-complete.
    infinite : (n,) bool, the parameters whose maximum-likelihood estimate is ±infinite.
    direction : (n,) the sign (+1/−1) in which each infinite estimate diverges; 0 where it
        is finite, or where separating directions push it both ways (shown as ±inf).
    n_separated : samples predicted with certainty along the separating direction.
    names : parameter labels; classes, reference: for the messages.
    """

    complete: bool
    infinite: np.ndarray
    direction: np.ndarray
    n_separated: int
    names: tuple
    binary: bool

    def infinite_params(self, model=None) -> np.ndarray:
        return self.infinite.copy()

    def offending(self) -> list[str]:
        """``"name → +inf"`` for each infinite estimate."""
        sign = {1.0: "+", -1.0: "−", 0.0: "±"}
        return [f"{self.names[j]} → {sign[float(self.direction[j])]}inf"
                for j in np.flatnonzero(self.infinite)]

    def short(self) -> str:
        kind = "complete" if self.complete else "quasi-complete"
        return f"{kind} separation: infinite estimates for {', '.join(self.offending())}"

    def message(self) -> str:
        kind = "completely" if self.complete else "quasi-completely"
        return (f"the data are {kind} separated ({self.n_separated} margins are strict along "
                f"the separating direction), so the maximum-likelihood estimates of "
                f"{', '.join(self.offending())} do not exist (their standard errors are "
                "reported as NaN, not as huge numbers). Refit with penalty='firth' (finite, "
                "bias-reduced estimates with profile intervals), use an L2 penalty, or drop "
                "or merge the offending feature(s)")


def detect_separation(X, y, *, sample_weight=None, fit_intercept=True, feature_names=None):
    """Check ``(X, y)`` (any labels) for complete or quasi-complete separation.

    Returns a :class:`SeparationReport` (its ``message()`` says what to do), or None when the
    maximum-likelihood estimate exists. Parameters are named as in ``inference``: for each
    class but the first its features then ``"intercept"`` (the binary model: one block).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array([0, 0, 1, 1])
    >>> detect_separation(X, y).short()
    'complete separation: infinite estimates for x0 → +inf, intercept → −inf'
    """
    from softlogit.inference.model import LogitModel

    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    K = len(classes)
    if K < 2:
        raise ValueError("y has a single class: there is nothing to separate")
    m, p = np.shape(X)
    s = np.ones(m) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    model = LogitModel(X, codes.ravel(), s, K, tuple(range(1, K)), fit_intercept)
    feats = list(feature_names) if feature_names is not None else [f"x{j}" for j in range(p)]
    feats = feats + (["intercept"] if fit_intercept else [])
    names = feats if K == 2 else [f"{classes[k]}:{f}" for k in range(1, K) for f in feats]
    return separation_in(model, names)


def separation_in(model, names=None):
    """A :class:`SeparationReport` when the data of ``model`` (a
    :class:`~softlogit.inference.model.LogitModel` in the contrast space) are separated,
    else None."""
    A = _constraint_matrix(model)
    n = model.n_params
    names = tuple(names) if names is not None else tuple(f"b{j}" for j in range(n))
    scale = max(1.0, float(abs(A).max())) if A.nnz else 1.0
    tol = 1e-7 * scale * max(1, n)
    total = np.asarray(A.sum(axis=0)).ravel()
    # max Σ d  s.t. d = Aβ ≥ 0, −1 ≤ β ≤ 1
    res = _lp(-total, A, n)
    if res is None or -res.fun <= tol:
        return None
    beta = res.x
    d = A @ beta
    n_separated = int(_rows_separated(model, d, tol))
    # complete: max t s.t. Aβ ≥ t, t ≤ 1
    At = sp.hstack([A, -sp.csr_matrix(np.ones((A.shape[0], 1)))]).tocsr()
    c = np.zeros(n + 1)
    c[-1] = -1.0
    rt = linprog(c, A_ub=-At, b_ub=np.zeros(A.shape[0]),
                 bounds=[(-1, 1)] * n + [(None, 1)], method="highs")
    complete = bool(rt.status == 0 and -rt.fun > tol / max(1, n))
    infinite = np.zeros(n, bool)
    direction = np.zeros(n)
    if n <= EXACT_MAX_PARAMS:
        for j in range(n):
            for sign in (1.0, -1.0):
                c = np.zeros(n)
                c[j] = -sign
                r = _lp(c, A, n)
                if r is not None and -r.fun > 1e-7:
                    # pushed both ways: ±inf (the estimate is not determined in the limit)
                    direction[j] = sign if not infinite[j] else 0.0
                    infinite[j] = True
    else:
        big = np.abs(beta) > 1e-7
        infinite[big] = True
        direction[big] = np.sign(beta[big])
    if not infinite.any():
        big = np.abs(beta) > 1e-7
        infinite[big], direction[big] = True, np.sign(beta[big])
    return SeparationReport(complete=complete, infinite=infinite, direction=direction,
                            n_separated=n_separated, names=names, binary=model.K == 2)


def _lp(c, A, n):
    res = linprog(c, A_ub=-A, b_ub=np.zeros(A.shape[0]), bounds=[(-1, 1)] * n, method="highs")
    return res if res.status == 0 else None


def _constraint_matrix(model):
    """Sparse rows ``d_{ik} = x̃ᵢᵀ(β_{cᵢ} − β_k)`` for each sample of positive weight and each
    other class k, as a matrix acting on the flat contrast parameters."""
    X = model.X
    keep = np.flatnonzero(model.s > 0)
    Xt = sp.csr_matrix(X[keep]) if not sp.issparse(X) else X[keep].tocsr()
    if model.fit_intercept:
        Xt = sp.hstack([Xt, np.ones((len(keep), 1))]).tocsr()
    codes = model.codes[keep]
    q, L = model.q, model.L
    blocks = []
    for k in range(model.K):
        rows = np.flatnonzero(codes != k)
        if rows.size == 0:
            continue
        Xk = Xt[rows]
        own = codes[rows]
        parts = []
        for j, cls in enumerate(model.free):
            # coefficient of β_cls in x̃ᵀ(β_own − β_k): +1 where own == cls, −1 where k == cls
            sign = (own == cls).astype(float) - (1.0 if k == cls else 0.0)
            parts.append(sp.diags(sign) @ Xk)
        blocks.append(sp.hstack(parts).tocsr())
    A = sp.vstack(blocks).tocsr() if blocks else sp.csr_matrix((0, L * q))
    A.eliminate_zeros()
    return A


def _rows_separated(model, d, tol):
    """Rows of positive weight with a strictly positive margin against some class."""
    return np.count_nonzero(d > tol)
