"""A CSC copy of CSR X, built once per design, for the column-parallel products ``Xᵀ D``.

``Xᵀ D`` from CSR rows is a scatter: rows split over threads need one (p, Kp) partial each, to
be zeroed and added every pass (O(threads · p · K) whatever the number of stored entries). From
the CSC copy it is a gather per column (:func:`~softlogit.kernels.gather.gather_chunks`): each
column's sum is complete, columns split over threads in any way give the same bits, and the
only memory per pass is the (m, Kp) coefficient array itself.

Memory: the copy holds X's values in X's dtype, 32-bit row indices (64-bit when ``m ≥ 2³¹``) and
``p + 1`` 64-bit column pointers: ``nnz·(itemsize + 4) + 8(p+1)`` bytes, e.g. 35 MB for
60,000 × 20,000 with 2.9 M stored entries, 118 MB for 200,000 × 100,000 with 9.8 M. While it is
built, a (T, p) table of 64-bit column counts for T ≤ the thread count lives as well.

The build is a counting sort by column, split over row chunks (one per thread): each chunk
counts its entries per column, the counts give every chunk its own write position in every
column, and each chunk then writes its rows' entries in row order. The result is the canonical
CSC (rows ascending within each column) whatever the number of chunks; SciPy's ``tocsc`` does
the same on one thread.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

from softlogit.kernels.gather import gather_chunks
from softlogit.kernels.partition import nnz_bounds, split_by_nnz
from softlogit.kernels.threads import n_threads, run_chunks

_JIT = dict(cache=True, nogil=True, error_model="numpy")

#: Bytes allowed for the build's (T, p) table of column counts.
COUNT_BUDGET_BYTES = 64 * 2**20


@njit(**_JIT)
def _count_chunks(indices, indptr, bounds, counts, c0, c1):
    """``counts[c, j]`` = stored entries of column j in the rows of chunk c."""
    for c in range(c0, c1):
        row = counts[c]
        for nz in range(indptr[bounds[c]], indptr[bounds[c + 1]]):
            row[uint64(indices[nz])] += 1


@njit(**_JIT)
def _fill_chunks(data, indices, indptr, bounds, cursor, cdata, crows, c0, c1):
    """Write the entries of chunk c's rows, in row order, from its positions ``cursor[c]``."""
    for c in range(c0, c1):
        cur = cursor[c]
        for i in range(bounds[c], bounds[c + 1]):
            for nz in range(indptr[i], indptr[i + 1]):
                j = uint64(indices[nz])
                q = cur[j]
                cdata[q] = data[nz]
                crows[q] = i
                cur[j] = q + 1


def csr_to_csc(X):
    """``(data, row indices, column pointers)`` of canonical CSR ``X`` in CSC order."""
    m, p = X.shape
    nnz = X.nnz
    T = max(1, min(n_threads(), nnz // max(1, p), COUNT_BUDGET_BYTES // (8 * max(1, p))))
    row_chunks = split_by_nnz(X.indptr, T)  # any T: the copy does not depend on it
    counts = np.zeros((T, p), np.int64)
    run_chunks(_count_chunks, T, X.indices, X.indptr, row_chunks, counts, work=nnz)
    colptr = np.zeros(p + 1, np.int64)
    np.cumsum(counts.sum(axis=0), out=colptr[1:])
    cursor = colptr[:-1] + (np.cumsum(counts, axis=0) - counts)  # chunk c's first position
    rows = np.empty(nnz, np.int32 if m < 2**31 else np.int64)
    data = np.empty(nnz, X.dtype)
    run_chunks(_fill_chunks, T, X.data, X.indices, X.indptr, row_chunks, cursor, data, rows,
               work=nnz)
    return data, rows, colptr


class Transposed:
    """The CSC arrays of a CSR matrix ``X`` (canonical: rows ascending within each column)."""

    def __init__(self, X):
        self.shape = X.shape
        self.data, self.rows, self.colptr = csr_to_csc(X)
        self._bounds = {}

    @property
    def nbytes(self) -> int:
        """Bytes held by the copy."""
        return self.data.nbytes + self.rows.nbytes + self.colptr.nbytes

    def _bounds_for(self, width):
        if width not in self._bounds:
            self._bounds[width] = nnz_bounds(self.colptr, width)
        return self._bounds[width]

    def tdot_packed(self, D):
        """``Xᵀ D`` (p, Kp) float64 for C-contiguous float64 ``D`` (m, Kp), Kp = 1 or 4·n."""
        m, p = self.shape
        Kp = D.shape[1]
        G = np.empty((p, Kp))
        bounds = self._bounds_for(Kp)
        run_chunks(gather_chunks, len(bounds) - 1, self.data, self.rows, self.colptr, D,
                   bounds, G, work=len(self.data) * Kp)
        return G
