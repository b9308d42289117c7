"""Covariance matrices of the estimates: model-based, heteroskedasticity-robust, clustered.

All in the conventions of :mod:`softlogit.inference.model`. With the bread
``B = I(β̂) + P`` (``P`` the L2 penalty's Hessian ``(1/C)·diag(mask)``, zero without one):

- ``"nonrobust"``: ``V = B⁻¹`` (the inverse observed information).
- ``"HC0"`` … ``"HC3"``: the sandwich ``V = c · B⁻¹ M B⁻¹`` with
  ``M = Σᵢ sᵢ (řᵢ ⊗ x̃ᵢ)(řᵢ ⊗ x̃ᵢ)ᵀ``. ``ř = r = y − o`` for HC0 and HC1
  (``c = n/(n − k)`` for HC1, ``n = Σs``, ``k`` parameters). HC2 and HC3 use the GLM
  leverages of ``W^½ X̃ B⁻¹ X̃ᵀ W^½``: per sample the (L × L) block ``Mᵢ = Wᵢ Qᵢ``,
  ``Qᵢ = Xᵢ B⁻¹ Xᵢᵀ``, and ``ř = (I − Mᵢ)^{-1/2} r`` (HC2) or ``(I − Mᵢ)^{-1} r`` (HC3) —
  for the binary model ``r/√(1−hᵢ)`` and ``r/(1−hᵢ)`` with ``hᵢ = wᵢ x̃ᵢᵀ B⁻¹ x̃ᵢ``. (Not
  silently HC0, as statsmodels' Logit is: statsmodels #7798.)
- ``"cluster"``: ``M = Σ_g S_g S_gᵀ`` with the cluster score sums ``S_g``, CR1 scaled by
  ``G/(G−1)·(n−1)/(n−k)``; two-way groups (an (m, 2) array) as Cameron, Gelbach & Miller
  (2011): ``V₁ + V₂ − V₁₂``, each with its own CR1 factor (as statsmodels).

Cost: one pass over X for the meat of HC0/HC1, two for HC2/HC3 (the leverages first), one
sparse-indicator product for the cluster sums; never an (m × n_params) array.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

COV_TYPES = ("nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster")


def check_cov_type(cov_type, groups, m):
    """Validate ``cov_type`` and ``groups``; returns groups as an (m, g) integer array or None."""
    if cov_type not in COV_TYPES:
        raise ValueError(f"cov_type must be one of {', '.join(COV_TYPES)}; got {cov_type!r}")
    if cov_type != "cluster":
        if groups is not None:
            raise ValueError(f"groups are only used with cov_type='cluster', not {cov_type!r}")
        return None
    if groups is None:
        raise ValueError("cov_type='cluster' needs groups: one label per row (or two columns "
                         "for two-way clustering)")
    g = np.asarray(groups)
    if g.ndim == 1:
        g = g[:, None]
    if g.ndim != 2 or g.shape[0] != m or g.shape[1] not in (1, 2):
        raise ValueError(f"groups must have shape ({m},) or ({m}, 2); got {np.shape(groups)}")
    codes = np.column_stack([np.unique(g[:, j], return_inverse=True)[1].ravel()
                             for j in range(g.shape[1])])
    for j in range(codes.shape[1]):
        if codes[:, j].max() < 1:
            raise ValueError("cluster-robust covariance needs at least two clusters")
    return codes


def sandwich(model, O, bread_inv, cov_type, groups=None) -> np.ndarray:
    """The robust covariance ``c · B⁻¹ M B⁻¹`` of the module docstring."""
    R = model.residuals(O)
    n, k = model.nobs, model.n_params
    if cov_type == "cluster":
        if groups.shape[1] == 1:
            return _cr1(model, R, groups[:, 0], bread_inv)
        both = np.unique(groups, axis=0, return_inverse=True)[1].ravel()
        return (_cr1(model, R, groups[:, 0], bread_inv) + _cr1(model, R, groups[:, 1], bread_inv)
                - _cr1(model, R, both, bread_inv))
    if cov_type in ("HC2", "HC3"):
        R = _leverage_adjusted(model, O, R, bread_inv, 0.5 if cov_type == "HC2" else 1.0)
    meat = model.block_matrix(R[:, :, None] * R[:, None, :] * model.s[:, None, None])
    V = bread_inv @ meat @ bread_inv
    if cov_type == "HC1":
        V *= n / (n - k)
    return V


def _leverage_adjusted(model, O, R, bread_inv, power):
    """``ř = (I − WᵢQᵢ)^{-power} rᵢ`` (module docstring), per sample."""
    Q = model.row_blocks(bread_inv)
    Wm = model.working_weights(O)
    if model.L == 1:
        h = Wm[:, 0, 0] * Q[:, 0, 0]
        return R / (1.0 - h)[:, None] ** power
    if power == 1.0:
        A = np.eye(model.L)[None] - Wm @ Q
        return np.linalg.solve(A, R[:, :, None])[:, :, 0]
    # (I − WQ)^{-½} = W^½ (I − H)^{-½} W^{+½} with the symmetric H = W^½ Q W^½; W^{+½} is the
    # pseudo-inverse root (W is singular in the all-K-logits space, where r lies in its range).
    ew, Uw = np.linalg.eigh(Wm)
    ew = np.clip(ew, 0.0, None)
    tiny = ew <= 1e-14 * np.maximum(ew.max(axis=1, keepdims=True), 1e-300)
    root = np.sqrt(ew)
    inv_root = np.where(tiny, 0.0, 1.0 / np.where(tiny, 1.0, root))
    W_half = (Uw * root[:, None, :]) @ np.swapaxes(Uw, 1, 2)
    W_ihalf = (Uw * inv_root[:, None, :]) @ np.swapaxes(Uw, 1, 2)
    H = W_half @ Q @ W_half
    eh, Uh = np.linalg.eigh(H)
    f = (1.0 - eh) ** -0.5
    F = (Uh * f[:, None, :]) @ np.swapaxes(Uh, 1, 2)
    return (W_half @ F @ W_ihalf @ R[:, :, None])[:, :, 0]


def _cr1(model, R, cluster, bread_inv):
    """One-way CR1: ``G/(G−1)·(n−1)/(n−k) · B⁻¹ (Σ_g S_g S_gᵀ) B⁻¹``."""
    n, k = model.nobs, model.n_params
    G = int(cluster.max()) + 1
    L, q, p = model.L, model.q, model.p
    SR = R * model.s[:, None]
    # Row g·L + l of A sums s_i r_il over cluster g: A @ X̃ gives every S_g in one product.
    rows = (cluster[:, None] * L + np.arange(L)[None, :]).ravel()
    cols = np.repeat(np.arange(model.m), L)
    A = sp.csr_matrix((SR.ravel(), (rows, cols)), shape=(G * L, model.m))
    model.design.count_pass()
    S = np.empty((G * L, q))
    S[:, :p] = np.asarray((A @ model.X).toarray() if sp.issparse(model.X) else A @ model.X)
    if model.fit_intercept:
        S[:, p] = np.asarray(A.sum(axis=1)).ravel()
    S = S.reshape(G, L * q)
    factor = G / (G - 1) * (n - 1) / (n - k)
    return factor * (bread_inv @ (S.T @ S) @ bread_inv)
