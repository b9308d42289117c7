"""Several weighted Gram matrices of ``X̃ = [X | 1]`` in one pass over X.

Every second-order quantity of inference is a sum over samples of per-sample weights times
``x̃ᵢ x̃ᵢᵀ``: the information blocks ``(k, l)`` of the multinomial model use
``wᵢ = sᵢ oᵢₖ(δₖₗ − oᵢₗ)``, the sandwich meat uses ``wᵢ = sᵢ rᵢₖ rᵢₗ``. For L weight vectors

.. math::

    G_l = X̃ᵀ \\mathrm{diag}(w_{·l}) X̃ = Σ_b X̃_bᵀ \\mathrm{diag}(w_{b,l}) X̃_b,\\quad l = 1..L

is accumulated over row blocks ``X_b`` that stay in cache, so X is read once for all L
matrices (no (m × n_params) array is ever formed). Written here rather than as L calls of
``Design.gram`` because that would read X L times (``K(K−1)/2`` times for the softmax).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from softlogit.data.dense import DenseDesign
from softlogit.data.sparse import SparseDesign

#: Bytes of one row block of X̃ (it stays in the last-level cache while BLAS reads it L times).
BLOCK_BYTES = 4 * 2**20


def weighted_grams(design, weights, fit_intercept: bool) -> np.ndarray:
    """``G[l] = X̃ᵀ diag(weights[:, l]) X̃`` for every column l, shape (L, q, q), float64.

    ``q = p + 1`` with an intercept (its row and column last), else ``p``. One pass over X
    (counted on ``design``) for dense NumPy and SciPy sparse designs; other designs are asked
    for ``gram`` and ``wsum_rows`` once per weight vector.
    """
    W = np.asarray(weights, dtype=np.float64)
    if W.ndim == 1:
        W = W[:, None]
    m, p = design.shape
    L = W.shape[1]
    X = getattr(design, "X", None)
    if L == 1 or not isinstance(design, (DenseDesign, SparseDesign)) or X is None:
        # One weight vector: the design's own gram (the fused kernel makes Xᵀd in the same pass).
        return np.stack([_design_gram(design, W[:, l], fit_intercept) for l in range(L)])
    q = p + int(fit_intercept)
    G = np.zeros((L, q, q))
    rows = int(max(256, BLOCK_BYTES // max(1, 8 * q)))
    design.count_pass()
    for r0 in range(0, m, rows):
        Xb = X[r0:r0 + rows]
        Wb = W[r0:r0 + rows]
        if sp.issparse(Xb):
            Xb = Xb.tocsr()
            for l in range(L):
                w = Wb[:, l]
                G[l, :p, :p] += (Xb.T @ Xb.multiply(w[:, None])).toarray()
                if fit_intercept:
                    cross = np.asarray(Xb.T @ w).ravel()
                    G[l, :p, p] += cross
                    G[l, p, :p] += cross
                    G[l, p, p] += w.sum()
            continue
        Xt = np.empty((Xb.shape[0], q))
        Xt[:, :p] = Xb
        if fit_intercept:
            Xt[:, p] = 1.0
        for l in range(L):
            G[l] += Xt.T @ (Wb[:, l:l + 1] * Xt)
    return G


def _design_gram(design, d, fit_intercept):
    """``X̃ᵀ diag(d) X̃`` from the design's ``gram`` and ``wsum_rows`` (one fused pass where
    the design offers it)."""
    p = design.shape[1]
    d = np.asarray(d, dtype=design.dtype)
    block = np.empty((p + int(fit_intercept),) * 2)
    block[:p, :p] = design.gram(d)
    if fit_intercept:
        cross = design.wsum_rows(d)
        block[:p, p] = cross
        block[p, :p] = cross
        block[p, p] = float(np.sum(d, dtype=np.float64))
    return block


def row_quadratic_forms(design, mats, fit_intercept: bool) -> np.ndarray:
    """``out[i, l] = x̃ᵢᵀ M_l x̃ᵢ`` for the (q, q) matrices ``mats[l]``, shape (m, L).

    One pass over X in row blocks: each block computes ``(X̃_b M_l) ⊙ X̃_b`` summed over
    columns. Used for the leverages of HC2/HC3 and Firth's penalty.
    """
    mats = np.asarray(mats, dtype=np.float64)
    L = mats.shape[0]
    m, p = design.shape
    X = getattr(design, "X", None)
    if X is None:
        raise TypeError(f"leverages need a dense or SciPy sparse X; got a {design.kind} design")
    q = p + int(fit_intercept)
    out = np.empty((m, L))
    rows = int(max(256, BLOCK_BYTES // max(1, 8 * q)))
    design.count_pass()
    for r0 in range(0, m, rows):
        Xb = X[r0:r0 + rows]
        if sp.issparse(Xb):
            Xb = Xb.toarray()
        Xt = np.empty((Xb.shape[0], q))
        Xt[:, :p] = Xb
        if fit_intercept:
            Xt[:, p] = 1.0
        for l in range(L):
            out[r0:r0 + len(Xt), l] = np.einsum("ij,ij->i", Xt @ mats[l], Xt)
    return out
