"""SciPy sparse design matrices (CSR, CSC)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from softlogit.data.base import Design, check_finite_values


class SparseDesign(Design):
    """X as a SciPy sparse matrix; products never densify X."""

    is_sparse = True

    def __init__(self, X):
        if X.format not in ("csr", "csc"):
            X = X.tocsr()
        self.X = X
        self.kind = f"sparse-{X.format}"

    @property
    def shape(self):
        return self.X.shape

    @property
    def dtype(self):
        return self.X.dtype

    @property
    def nbytes(self):
        return self.X.data.nbytes + self.X.indices.nbytes + self.X.indptr.nbytes

    def check_finite(self):
        check_finite_values(self.X.data)

    def dot(self, W):
        self.count_pass()
        return np.asarray(self.X @ W.astype(self.dtype, copy=False).T)

    def tdot(self, R):
        self.count_pass()
        return np.asarray(self.X.T @ R.astype(self.dtype, copy=False)).T

    def gram(self, d):
        self.count_pass()
        d = d.astype(self.dtype, copy=False)
        return np.asarray((self.X.T @ sp.diags(d) @ self.X).toarray())

    def wsum_rows(self, d):
        self.count_pass()
        return np.asarray(self.X.T @ d.astype(self.dtype, copy=False)).ravel()

    def take(self, rows):
        Xr = self.X.tocsr()[rows]
        return self._taken(type(self)(Xr.asformat(self.X.format)), Xr.shape[0])

    def column_scale(self):
        self.count_pass()
        mean = np.asarray(self.X.mean(axis=0)).ravel()
        sq = np.asarray(self.X.multiply(self.X).mean(axis=0)).ravel()
        return mean, np.sqrt(np.maximum(sq - mean**2, 0))
