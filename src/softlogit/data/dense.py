"""Dense NumPy design matrices (the reference backend)."""

from __future__ import annotations

import numpy as np

from softlogit.data.base import Design, check_finite_values

#: Bytes of the (rows, K·p) float64 block that :meth:`DenseDesign.class_grams` forms at once.
CLASS_GRAM_BLOCK_BYTES = 1 << 22


class DenseDesign(Design):
    """X as a dense float32/float64 NumPy array, C- or F-ordered, kept as given (no copy)."""

    kind = "dense"

    def __init__(self, X: np.ndarray):
        self.X = X

    @property
    def shape(self):
        return self.X.shape

    @property
    def dtype(self):
        return self.X.dtype

    @property
    def nbytes(self):
        return self.X.nbytes

    def dot(self, W):
        self.count_pass()
        return self.X @ W.astype(self.dtype, copy=False).T

    def tdot(self, R):
        self.count_pass()
        return (self.X.T @ R.astype(self.dtype, copy=False)).T

    def check_finite(self):
        check_finite_values(self.X)

    def gram(self, d):
        self.count_pass()
        d = d.astype(self.dtype, copy=False)
        return self.X.T @ (self.X * d[:, None])

    def wsum_rows(self, d):
        self.count_pass()
        return self.X.T @ d.astype(self.dtype, copy=False)

    def class_grams(self, Wk):
        """All K blocks from one read of X, a block of rows at a time: with
        ``Aᵢ = (w_{i1} xᵢ, …, w_{iK} xᵢ)`` (one row of K·p values), ``Σᵢ Aᵢᵀ xᵢ`` stacks the K
        weighted Gram matrices, one GEMM per row block (2·K·p² flops a row: the same work as K
        ``syrk`` calls, but X is read once, not K times)."""
        self.count_pass()
        m, p = self.X.shape
        Wk = np.asarray(Wk, dtype=np.float64)
        K = Wk.shape[1]
        rows = max(8, CLASS_GRAM_BLOCK_BYTES // max(1, 8 * K * p))
        grams = np.zeros((K * p, p))
        cross = np.zeros((K, p))
        for r0 in range(0, m, rows):
            Xb = np.asarray(self.X[r0:r0 + rows], dtype=np.float64)
            Wb = Wk[r0:r0 + rows]
            grams += (Wb[:, :, None] * Xb[:, None, :]).reshape(len(Xb), K * p).T @ Xb
            cross += Wb.T @ Xb
        return grams.reshape(K, p, p), cross, Wk.sum(axis=0)

    def take(self, rows):
        Xr = self.X[rows]
        return self._taken(type(self)(Xr), Xr.shape[0])

    def column_scale(self):
        self.count_pass()
        return self.X.mean(axis=0), self.X.std(axis=0)
