"""Blocked ``Xᵀ diag(d) X`` for Newton's Hessian, one pass over X in cache-sized row blocks.

For each block ``X_b`` of consecutive rows (in order) the block's contribution is computed by
BLAS-3 and added to a float64 accumulator:

.. math::

    Xᵀ \\mathrm{diag}(d) X = Σ_b X_bᵀ \\mathrm{diag}(d_b) X_b = ± Σ_b A_bᵀ A_b,
    \\qquad A_b = \\sqrt{|d_b|} ⊙ X_b

when ``d`` has one sign — the sigmoid weights ``h(1−h) ≥ 0``, the softmax diagonal blocks
``oₖ(1−oₖ) ≥ 0`` and off-diagonal blocks ``−oₖ oₗ ≤ 0`` — so every block is one symmetric
rank-update (BLAS ``dsyrk``: half the flops of ``gemm``); mixed signs take ``gemm``,
``X_bᵀ (d_b ⊙ X_b)``. ``A_b`` is written in column-major (Fortran) order, the layout in
which ``dsyrk`` runs at full speed without a copy, and always in float64 (float32 X is
widened in the same write), so the Gram of float32 X has the float64 accuracy of the
reference. The same blocks give ``Xᵀd = Σ_b A_bᵀ \\sqrt{|d_b|}`` (± as above) and ``Σd`` for
the intercept's row of the Hessian, so the whole (p+1)² block costs one pass.

Why BLAS and not a Numba loop: the Gram is the one product here that is compute-bound
(``p/2`` multiply-adds per element read), where a tuned BLAS-3 kernel is 5–10× faster than a
rank-4 loop (measured on the 2-core AVX2 machine: 10,100 × 101, 3.8 ms for one-thread
``dsyrk`` on the Fortran block against 22–55 ms for the loop on two threads). The blocks are
added in a fixed order, so the result does not depend on Numba's thread count.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import blas

from softlogit.blas_threads import one_blas_thread
from softlogit.kernels.threads import run_chunks

#: Bytes of one scaled float64 block (it stays in the last-level cache while BLAS reads it).
GRAM_BLOCK_BYTES = 4 * 2**20


def _block_rows(p: int) -> int:
    return int(max(256, GRAM_BLOCK_BYTES // max(1, 8 * p)))


#: A Gram over more rows than this is split into row parts (at most ``MAX_GRAM_PARTS``) that
#: the kernels' threads form side by side.
MIN_PART_ROWS = 2048
MAX_GRAM_PARTS = 4


def dense_gram(X: np.ndarray, d: np.ndarray):
    """``(Xᵀ diag(d) X, Xᵀd, Σd)``: the (p, p) float64 Gram (symmetric), (p,) and a float.

    One pass over X in row blocks (module doc). ``d`` is any real vector of length m. The
    rows are cut into ``n = min(MAX_GRAM_PARTS, m // MIN_PART_ROWS)`` consecutive parts
    whose Grams are formed on the kernels' threads (one single-threaded BLAS call each, BLAS
    releases the GIL) and added in part order: ``n`` depends on m alone, so the result does
    not depend on the thread count. (One ``dsyrk`` runs on one core when ``auto`` holds BLAS
    to one thread — and two BLAS threads on a busy two-core machine spun for 0.2 s on a
    10,100 × 101 Gram that takes 3.8 ms on one.)
    """
    d = np.asarray(d, dtype=np.float64)
    m, p = X.shape
    n_parts = max(1, min(MAX_GRAM_PARTS, m // MIN_PART_ROWS))
    edges = [(m * i) // n_parts for i in range(n_parts + 1)]
    grams = np.empty((n_parts, p, p))
    cross = np.empty((n_parts, p))

    def parts(c0, c1):
        for c in range(c0, c1):
            r = slice(edges[c], edges[c + 1])
            g, x = _weighted_grams(X[r], d[r, None], 0, 1)
            grams[c], cross[c] = g[0], x[0]

    if n_parts > 1:
        with one_blas_thread():  # whoever called: an explicit solver="newton" holds no limit
            run_chunks(parts, n_parts)
    else:
        parts(0, 1)
    H, xtd = grams[0], cross[0]
    for c in range(1, n_parts):
        H = H + grams[c]
        xtd = xtd + cross[c]
    return H, xtd, float(d.sum())


def dense_class_grams(X: np.ndarray, Wk: np.ndarray):
    """``(Xᵀ diag(w_k) X (K, p, p), Xᵀ w_k (K, p), Σ w_k (K,))`` for the K columns of
    ``Wk`` (m, K) — the softmax class-diagonal Hessian blocks, weights ``oₖ(1−oₖ) ≥ 0``.

    The classes are spread over the kernels' threads (BLAS releases the GIL); each thread
    walks X in row blocks and, per block (still in cache), updates each of its classes as
    :func:`dense_gram` does for one ``d``. X is read from memory once per thread, and each
    class's sum is in block order whatever the thread count.
    """
    m, p = X.shape
    Wk = np.asarray(Wk, dtype=np.float64)
    K = Wk.shape[1]
    grams = np.empty((K, p, p))
    cross = np.empty((K, p))

    def classes(c0, c1):
        grams[c0:c1], cross[c0:c1] = _weighted_grams(X, Wk, c0, c1)

    run_chunks(classes, K)
    return grams, cross, Wk.sum(axis=0)


def _weighted_grams(X, Wk, c0, c1):
    """``(Xᵀ diag(w_k) X, Xᵀ w_k)`` for the columns ``c0 ≤ k < c1`` of ``Wk``, in one walk
    over X's row blocks: per block, each column of one sign over all rows updates its
    upper triangle by ``dsyrk`` on ``√|w_k| ⊙ X_b``, a mixed-sign column by ``gemm``."""
    m, p = X.shape
    n_cols = c1 - c0
    xtd = np.zeros((n_cols, p))
    if m == 0:
        return np.zeros((n_cols, p, p)), xtd
    H = [np.zeros((p, p), order="F") for _ in range(n_cols)]
    W = Wk[:, c0:c1]
    signs = [1.0 if w.min() >= 0 else (-1.0 if w.max() <= 0 else 0.0) for w in W.T]
    rows = min(m, _block_rows(p))
    buf = np.empty((rows, p), order="F")
    for r0 in range(0, m, rows):
        Xb = X[r0:r0 + rows]
        n = Xb.shape[0]
        A = buf if n == rows else np.empty((n, p), order="F")
        for j, sign in enumerate(signs):
            db = W[r0:r0 + rows, j]
            if sign:
                root = np.sqrt(db * sign)
                np.multiply(Xb, root[:, None], out=A)
                # C := AᵀA + C (upper triangle), in place on the Fortran-ordered accumulator
                H[j] = blas.dsyrk(sign, A, c=H[j], beta=1.0, trans=1, lower=0, overwrite_c=1)
                xtd[j] += sign * (A.T @ root)
            else:
                np.multiply(Xb, db[:, None], out=A)
                H[j] += Xb.T @ A
                xtd[j] += Xb.T @ db
    # exactly symmetric from the upper triangle (gemm's halves differ by rounding)
    return np.stack([np.triu(h) + np.triu(h, 1).T for h in H]), xtd
