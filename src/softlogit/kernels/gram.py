"""Blocked ``Xᵀ diag(d) X`` for Newton's Hessian, one pass over X in cache-sized row blocks.

For each block ``X_b`` of consecutive rows (in order) the block's contribution is computed by
BLAS and added to a float64 accumulator:

.. math::

    Xᵀ \\mathrm{diag}(d) X = Σ_b X_bᵀ \\mathrm{diag}(d_b) X_b

When every ``d ≥ 0`` (the sigmoid weights ``h(1−h)``, the softmax diagonal blocks
``oₖ(1−oₖ)``) the block term is the symmetric rank-update ``A_bᵀ A_b`` with
``A_b = √d_b ⊙ X_b`` (BLAS ``syrk``: half the flops of ``gemm``); otherwise (the softmax
off-diagonal blocks ``−oₖ oₗ``) it is ``X_bᵀ (d_b ⊙ X_b)`` by ``gemm``. The only temporary is
one scaled block. BLAS threads inside each block product; the blocks are added in a fixed
order, so the result does not depend on Numba's thread count.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import blas

#: Bytes of one scaled block (it stays in the last-level cache while BLAS reads it).
GRAM_BLOCK_BYTES = 8 * 2**20


def _block_rows(p: int, itemsize: int) -> int:
    return int(max(256, GRAM_BLOCK_BYTES // max(1, p * itemsize)))


def dense_gram(X: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``Xᵀ diag(d) X`` (p, p) in X's dtype, accumulated over row blocks in float64."""
    m, p = X.shape
    d = np.asarray(d, dtype=X.dtype)
    rows = _block_rows(p, X.dtype.itemsize)
    H = np.zeros((p, p), dtype=np.float64)
    symmetric = bool(np.all(d >= 0))
    syrk = blas.dsyrk if X.dtype == np.float64 else blas.ssyrk
    for r0 in range(0, m, rows):
        Xb = X[r0:r0 + rows]
        db = d[r0:r0 + rows]
        if symmetric:
            A = np.sqrt(db)[:, None] * Xb
            # syrk with trans=1 returns the upper triangle of Aᵀ A (A in Fortran view: no copy).
            H += syrk(1.0, A.T, trans=0, lower=0) if A.flags.c_contiguous else syrk(1.0, A, trans=1)
        else:
            H += Xb.T @ (db[:, None] * Xb)
    if symmetric:
        H = np.triu(H) + np.triu(H, 1).T
    return H.astype(X.dtype, copy=False)
