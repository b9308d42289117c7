"""Loss, gradient and Hessian-vector products for CSR X (float32/float64 values, int32/int64
indices), in one of two ways chosen from the shape alone (:func:`uses_transpose`).

* **Fused** (narrow X, or few rows): one pass over the rows. A row's stored entries are visited
  twice in a row — once for its logits, once for its gradient update — while they are still in
  L1, and each chunk of rows (balanced by stored entries,
  :func:`~softlogit.kernels.partition.nnz_bounds`) scatters into its own float64 (p, Kp)
  partial, added in chunk order at the end. The partials cost O(chunks · p · K) per pass
  whatever the number of stored entries, so this path is kept for ``p·Kp`` up to
  :data:`FUSED_MAX_WIDTH` and for X that fits one chunk.
* **Two-phase** (wide X): the row pass writes each row's coefficient ``dᵢ = sᵢ ∂ℓᵢ/∂zᵢ``
  (or ``uᵢ = sᵢ Hᵢ tᵢ``) into an (m, Kp) array, and ``Xᵀ D`` is then gathered column by column
  from a CSC copy of X built once per design (:mod:`.transpose`): every column's sum is
  complete, so there are no partials and nothing to reduce, and the result does not depend
  on how the columns are split over threads. The copy costs ``nnz·(itemsize + 4) + 8(p+1)``
  bytes (:attr:`NumbaCSRDesign.transposed_nbytes`).

Coefficients are held transposed and packed, ``Wp`` of shape (p, Kp) (``Kp = 1`` for the
sigmoid, else ``4⌈K/4⌉``, padding lanes zero), so the K logits of one stored entry are one
contiguous read (:mod:`.gather`). ``kind`` selects the loss: 0 sigmoid (``Y`` is y as (m, 1);
the loss kernel reads it as the contiguous (m,) ``y``), 1 softmax with class indices
``y_index``, 2 softmax with probability rows ``Y`` (m, K).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from softlogit.kernels.blocks import (
    binary_rows, softmax_block, softmax_hard_block, softmax_soft_block, sum_fixed,
)
from softlogit.kernels.gather import (
    axpy_run, axpy_run_packed, dot_run, dot_run_packed, gather_chunks,
)
from softlogit.kernels.partition import binary_block_rows, block_rows, n_chunks_for, nnz_bounds
from softlogit.kernels.threads import reduce_chunks, run_chunks
from softlogit.kernels.tiles import packed_width

_JIT = dict(fastmath=False, cache=True, nogil=True, error_model="numpy")

BINARY, SOFTMAX_HARD, SOFTMAX_SOFT = 0, 1, 2

#: Widest ``p·Kp`` (float64 entries of one chunk's gradient partial, 64 KiB: L1/L2-sized) that
#: the fused path takes when X spans several chunks; wider X goes through the CSC copy.
FUSED_MAX_WIDTH = 8192


def lanes(K: int) -> int:
    """Packed width of K logits: 1 for the sigmoid, else ``4⌈K/4⌉``."""
    return 1 if K == 1 else packed_width(K)


def uses_transpose(m: int, p: int, K: int) -> bool:
    """Whether CSR X of shape (m, p) with K logits takes the two-phase path (module docstring):
    when the fused path's partials would be wide and X spans more than one chunk."""
    width = p * lanes(K)
    return width > FUSED_MAX_WIDTH and n_chunks_for(m, width) > 1


@njit(**_JIT)
def csr_loss_grad_chunks(data, indices, indptr, Wp, bp, kind, y_index, Y, y, s, B, bounds,
                         Dout, part_l, part_g, part_b, c0, c1):
    """Cross-entropy and its per-row coefficients in one pass over CSR X.

    .. math::

        zᵢ = W xᵢ + b,\\quad L = Σᵢ sᵢ ℓ(zᵢ, yᵢ),\\quad dᵢ = sᵢ ∂ℓ/∂zᵢ,
        \\quad g_b = Σᵢ dᵢ,\\quad G = Σᵢ dᵢ xᵢᵀ

    Rows go in blocks of ``B``: the block's logits into a (K, B) buffer, the losses over the
    buffer (:mod:`softlogit.kernels.blocks`, vectorised), then per row either the scatter
    ``Gᵀ += xᵢ dᵢᵀ`` into the chunk's partial ``part_g[c]`` (fused path: ``part_g`` has one
    (p, Kp) slab per chunk) or ``Dout[i] = dᵢ`` (two-phase path: ``part_g`` is empty). Per
    chunk: ``part_l[c] = Σ sᵢℓᵢ`` and ``part_b[c] = Σ dᵢ``, rows in order.
    """
    p, Kp = Wp.shape
    K = bp.shape[0]
    fused = part_g.shape[0] > 0
    Z = np.empty((K, B))
    E = np.empty((K, B))
    D = np.empty((K + 2, B))
    ZB = np.empty((B, Kp))
    DB = np.zeros((B, Kp))
    top = np.empty(B, np.int64)
    rest = np.empty(B)
    lse = np.empty(B)
    loss = np.empty(B)
    w = Wp.reshape(p * Kp)
    z0 = Z[0]  # views taken once: a view per block costs two atomic reference-count updates
    d0 = D[0]
    for c in range(c0, c1):
        lsum = 0.0
        end = bounds[c + 1]
        for r0 in range(bounds[c], end, B):
            n = min(B, end - r0)
            if kind == BINARY:
                for i in range(n):
                    z0[i] = bp[0] + dot_run(data, indices, indptr[r0 + i], indptr[r0 + i + 1],
                                            w)
                binary_rows(z0, y, s, r0, n, loss, d0)
            else:
                for i in range(n):
                    dot_run_packed(data, indices, indptr[r0 + i], indptr[r0 + i + 1], Wp, ZB,
                                   i * Kp)
                    for k in range(K):
                        Z[k, i] = ZB[i, k] + bp[k]
                softmax_block(Z, E, n, top, rest, lse)
                if kind == SOFTMAX_HARD:
                    softmax_hard_block(Z, E, n, y_index[r0:r0 + n], s[r0:r0 + n], top, rest,
                                       lse, loss, D)
                else:
                    softmax_soft_block(Z, E, n, Y[r0:r0 + n], s[r0:r0 + n], top, rest, lse,
                                       loss, D)
            lsum += sum_fixed(loss, n)
            for k in range(K):
                part_b[c, k] += sum_fixed(D[k], n)
            if fused:
                Gc = part_g[c]
                if kind == BINARY:
                    g = Gc.reshape(p)
                    for i in range(n):
                        axpy_run(data, indices, indptr[r0 + i], indptr[r0 + i + 1], d0[i], g)
                else:
                    for i in range(n):
                        for k in range(K):
                            DB[i, k] = D[k, i]
                        axpy_run_packed(data, indices, indptr[r0 + i], indptr[r0 + i + 1], DB,
                                        i * Kp, Gc)
            else:
                for i in range(n):
                    for k in range(K):
                        Dout[r0 + i, k] = D[k, i]
                    for k in range(K, Kp):
                        Dout[r0 + i, k] = 0.0
        part_l[c] = lsum


@njit(**_JIT)
def csr_hessp_chunks(data, indices, indptr, Vp, vb, kind, F, s, bounds, Uout, part_g, part_b,
                     c0, c1):
    """Per-row Hessian coefficients of a Hessian-vector product in one pass over CSR X.

    .. math::

        tᵢ = V xᵢ + v_b,\\quad uᵢ = sᵢ Hᵢ tᵢ,\\qquad Σᵢ uᵢ xᵢᵀ,\\; Σᵢ uᵢ

    with ``Hᵢ tᵢ = fᵢ tᵢ`` for the sigmoid (``F`` (m, 1) holds ``h(1−h)``) and
    ``oᵢ ⊙ (tᵢ − oᵢ·tᵢ)`` for the softmax (``F`` (m, K) holds the probabilities). As in
    :func:`csr_loss_grad_chunks`, ``uᵢ`` is scattered into the chunk's partial (fused) or
    written to ``Uout[i]`` (two-phase); ``part_b[c] = Σ uᵢ`` over the chunk's rows in order.
    """
    p, Kp = Vp.shape
    K = vb.shape[0]
    fused = part_g.shape[0] > 0
    v = Vp.reshape(p * Kp)
    t = np.empty(Kp)
    u = np.zeros(Kp)
    for c in range(c0, c1):
        gb = part_b[c]
        for i in range(bounds[c], bounds[c + 1]):
            start, stop = indptr[i], indptr[i + 1]
            si = float(s[i])
            if kind == BINARY:
                u[0] = si * float(F[i, 0]) * (vb[0] + dot_run(data, indices, start, stop, v))
            else:
                dot_run_packed(data, indices, start, stop, Vp, t, 0)
                ot = 0.0
                for k in range(K):
                    t[k] += vb[k]
                    ot += F[i, k] * t[k]
                for k in range(K):
                    u[k] = si * F[i, k] * (t[k] - ot)
            for k in range(K):
                gb[k] += u[k]
            if fused:
                if kind == BINARY:
                    axpy_run(data, indices, start, stop, u[0], part_g[c].reshape(p))
                else:
                    axpy_run_packed(data, indices, start, stop, u, 0, part_g[c])
            else:
                for k in range(Kp):
                    Uout[i, k] = u[k]


def pack(W, K):
    """``Wᵀ`` of a (K, p) float64 W as the C-contiguous (p, Kp) array the kernels read."""
    p = W.shape[1]
    Wp = np.zeros((p, lanes(K)))
    Wp[:, :K] = W.T
    return Wp


def _run(kernel, X, transpose, K, bounds, *args):
    """Run a row kernel on its chunks, then form ``(Σ part_l, G (K, p), Σ part_b)``."""
    m, p = X.shape
    n = len(bounds) - 1
    Kp = lanes(K)
    part_l = np.zeros(n)
    part_b = np.zeros((n, K))
    if transpose is None:
        part_g = np.zeros((n, p, Kp))
        out = np.empty((0, Kp))
    else:
        part_g = np.empty((0, p, Kp))
        out = np.empty((m, Kp))
    run_chunks(kernel, n, X.data, X.indices, X.indptr, *args, bounds, out,
               *((part_l,) if kernel is csr_loss_grad_chunks else ()), part_g, part_b,
               work=X.nnz * Kp)
    if transpose is None:
        _, Gt, gb = reduce_chunks(part_l, part_g, part_b)
    else:
        Gt = transpose.tdot_packed(out)
        gb = part_b.sum(axis=0)
    return float(part_l.sum()), np.ascontiguousarray(Gt[:, :K].T), gb


def row_bounds_for(indptr, p, K, transpose):
    """The fixed row chunks of a kernel call: by the partial's width when fused, by ``K``
    (the per-chunk sums alone) when two-phase."""
    return nnz_bounds(indptr, K if transpose is not None else p * lanes(K))


def csr_loss_grad(X, W, b, kind, y_index, Y, s, transpose=None):
    """``(Σ sᵢℓᵢ, Σ sᵢgᵢxᵢᵀ (K, p), Σ sᵢgᵢ (K,))`` for CSR ``X`` and float64 ``W`` (K, p),
    ``b`` (K,) — see :func:`csr_loss_grad_chunks`; ``transpose`` (a
    :class:`~.transpose.Transposed`) selects the two-phase path."""
    K, p = W.shape
    row_bytes = int(X.nnz // max(1, X.shape[0])) * 12 + 8 * K
    # the sigmoid's loss loop runs 4 or 8 rows per vector: blocks of a multiple of 8 rows
    B = binary_block_rows(row_bytes) if K == 1 else block_rows(row_bytes, K)
    bounds = row_bounds_for(X.indptr, p, K, transpose)
    # the sigmoid's targets as a contiguous (m,) array: a strided column (Y[:, 0]) would keep
    # LLVM from vectorising the loss loop (measured ~1 ms of S11's 4 ms row pass)
    y = np.ascontiguousarray(Y[:, 0]) if kind == BINARY else np.empty(0, Y.dtype)
    return _run(csr_loss_grad_chunks, X, transpose, K, bounds,
                pack(W, K), b, kind, y_index, Y, y, s, B)


def csr_hessp(X, V, vb, kind, F, s, transpose=None):
    """``(Σ uᵢxᵢᵀ (K, p), Σ uᵢ (K,))`` for CSR ``X`` — see :func:`csr_hessp_chunks`."""
    K, p = V.shape
    bounds = row_bounds_for(X.indptr, p, K, transpose)
    return _run(csr_hessp_chunks, X, transpose, K, bounds, pack(V, K), vb, kind, F, s)[1:]


def csr_logits(X, W):
    """``X Wᵀ`` (m, K) in X's dtype for CSR X and float64 W (K, p): one gather per row."""
    K = W.shape[0]
    m = X.shape[0]
    bounds = nnz_bounds(X.indptr, K)
    Z = np.empty((m, lanes(K)))
    run_chunks(gather_chunks, len(bounds) - 1, X.data, X.indices, X.indptr, pack(W, K),
               bounds, Z, work=X.nnz * lanes(K))
    return np.ascontiguousarray(Z[:, :K], dtype=X.dtype)
