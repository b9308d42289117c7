"""Marginal effects and prediction intervals, with delta-method standard errors.

*Marginal effects* of feature j on the probability of class k (contrast parameters, ``β_ref = 0``;
the binary model has the one probability ``p = P(classes_[1])``):

.. math::

    \\frac{∂p_k}{∂x_j} = p_k\\,(β_{kj} − Σ_l p_l β_{lj})   \\quad(\\text{binary: } p(1−p)β_j)

``method``: ``"dydx"`` that; ``"eyex"`` ``dydx · x_j / p_k``; ``"dyex"`` ``dydx · x_j``;
``"eydx"`` ``dydx / p_k``. ``at``: ``"overall"`` averages the per-row effects (weighted by
``s``; Stata's ``margins, dydx(*)``), ``"mean"``/``"median"``/``"zero"`` evaluate them at the
column means/medians/zeros — statsmodels' ``get_margeff`` conventions. Standard errors:
``J V Jᵀ`` with ``J`` the Jacobian of the effects in the parameters by central differences
(2n evaluations; one pass over X each for ``"overall"``, in row blocks).

*Prediction intervals* on probabilities: ``se(p_k) = √(g_kᵀ V g_k)`` with
``∂p_k/∂β_l = p_k(δ_kl − p_l) x̃`` (binary ``p(1−p) x̃``), the interval ``p ± z·se`` clipped to
[0, 1] — the delta method on the probability scale, for binary and multinomial models.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import stats

METHODS = ("dydx", "eyex", "dyex", "eydx")
ATS = ("overall", "mean", "median", "zero")


@dataclass(frozen=True)
class MarginalEffects:
    """Effects (p, C) for the p features and C outcomes (binary: 1, multinomial: K classes),
    with delta-method ``bse``; ``names`` the features, ``classes`` the outcomes."""

    effects: np.ndarray
    bse: np.ndarray
    names: list
    classes: list
    at: str
    method: str

    @property
    def zvalues(self):
        return self.effects / self.bse

    @property
    def pvalues(self):
        return 2 * stats.norm.sf(np.abs(self.zvalues))

    def conf_int(self, alpha=0.05):
        """(p, C, 2) Wald intervals of the effects."""
        half = stats.norm.ppf(1 - alpha / 2) * self.bse
        return np.stack([self.effects - half, self.effects + half], axis=-1)


@dataclass(frozen=True)
class PredictionInterval:
    """``proba`` (m, K) with ``se``, ``lower``, ``upper`` of the same shape."""

    proba: np.ndarray
    se: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def _dense(X):
    return X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)


def _probabilities(model, beta, X):
    W, b = model.split(beta)
    Zf = np.asarray(X @ W.T, dtype=np.float64)
    if b is not None:
        Zf = Zf + b
    Z = np.zeros((Zf.shape[0], model.K))
    Z[:, list(model.free)] = Zf
    return model.probs(Z)


#: Rows per block in the marginal effects (the per-row (rows, K, p) effects stay small).
ROWS_PER_BLOCK = 8192


def _effects(model, beta, X, weights, method):
    """(p, C) effects at rows X averaged with ``weights`` (module docstring), in row blocks."""
    E = sum(_block_effects(model, beta, X[r:r + ROWS_PER_BLOCK], weights[r:r + ROWS_PER_BLOCK],
                           method) for r in range(0, X.shape[0], ROWS_PER_BLOCK))
    E = E / weights.sum()
    if model.K == 2 and model.free == (1,):
        E = E[1:]
    return E.T


def _block_effects(model, beta, X, weights, method):
    """``Σᵢ wᵢ ∂pᵢ/∂xᵢ`` (K, p) over one block of rows."""
    O = _probabilities(model, beta, X)
    W, _ = model.split(beta)
    full = np.zeros((model.K, model.p))
    full[list(model.free)] = W
    # dp_k/dx_j = p_k (β_kj − Σ_l p_l β_lj), for every row: (m, K, p)
    mean_beta = O @ full
    D = O[:, :, None] * (full[None, :, :] - mean_beta[:, None, :])
    x = X[:, None, :]
    if method == "eyex":
        D = D * x / O[:, :, None]
    elif method == "dyex":
        D = D * x
    elif method == "eydx":
        D = D / O[:, :, None]
    return np.tensordot(weights, D, axes=(0, 0))


def marginal_effects(result, at="overall", method="dydx") -> MarginalEffects:
    """Marginal effects of a fitted model with delta-method SEs (module docstring)."""
    if at not in ATS:
        raise ValueError(f"at must be one of {', '.join(ATS)}; got {at!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    model = result.model
    X = _dense(model.X)
    s = model.s
    if at == "overall":
        rows, weights = X, s
    elif at == "mean":
        rows, weights = (s @ X / s.sum())[None, :], np.ones(1)
    elif at == "median":
        rows, weights = np.median(X, axis=0)[None, :], np.ones(1)
    else:
        rows, weights = np.zeros((1, model.p)), np.ones(1)
    beta = result.params
    E = _effects(model, beta, rows, weights, method)
    J = np.empty((E.size, beta.size))
    for j in range(beta.size):
        h = 1e-6 * max(1.0, abs(beta[j]))
        up, dn = beta.copy(), beta.copy()
        up[j] += h
        dn[j] -= h
        J[:, j] = (_effects(model, up, rows, weights, method)
                   - _effects(model, dn, rows, weights, method)).ravel() / (2 * h)
    V = result.cov_params()
    bse = np.sqrt(np.clip(np.einsum("ij,jk,ik->i", J, V, J), 0, None)).reshape(E.shape)
    feats = [n.split(":", 1)[-1] for n in result.names[:model.p]]
    classes = ([result.classes[1]] if model.K == 2 and model.free == (1,)
               else list(result.classes))
    return MarginalEffects(E, bse, feats, classes, at, method)


def predict_interval(result, X, alpha=0.05) -> PredictionInterval:
    """Delta-method intervals on the class probabilities of the rows ``X`` (m, p)."""
    model = result.model
    X = _dense(X)
    if X.ndim != 2 or X.shape[1] != model.p:
        raise ValueError(f"X has {X.shape[-1] if X.ndim else 0} features; the model has "
                         f"{model.p}")
    O = _probabilities(model, result.params, X)
    m, q, L = X.shape[0], model.q, model.L
    Xt = np.column_stack([X, np.ones(m)]) if model.fit_intercept else X
    V = result.cov_params().reshape(L, q, L, q)
    # Q[i, l, l'] = x̃ᵢᵀ V_{l l'} x̃ᵢ
    Q = np.einsum("ia,lamb,ib->ilm", Xt, V, Xt)
    OF = O[:, list(model.free)]
    # a[i, k, l] = ∂p_k/∂z_l = p_k(δ_kl − p_l) for the free logits l
    a = -O[:, :, None] * OF[:, None, :]
    for j, k in enumerate(model.free):
        a[:, k, j] += O[:, k]
    var = np.einsum("ikl,ilm,ikm->ik", a, Q, a)
    se = np.sqrt(np.clip(var, 0, None))
    half = stats.norm.ppf(1 - alpha / 2) * se
    return PredictionInterval(O, se, np.clip(O - half, 0, 1), np.clip(O + half, 0, 1))
