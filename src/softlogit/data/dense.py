"""Dense NumPy design matrices (the reference backend)."""

from __future__ import annotations

import numpy as np

from softlogit.data.base import Design, check_finite_values


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

    def take(self, rows):
        Xr = self.X[rows]
        return self._taken(type(self)(Xr), Xr.shape[0])

    def column_scale(self):
        self.count_pass()
        return self.X.mean(axis=0), self.X.std(axis=0)
