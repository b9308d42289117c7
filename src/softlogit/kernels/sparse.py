"""Fused single-pass kernels for CSR X (float32 or float64 values, int32 or int64 indices).

Row i's stored entries are visited twice in a row — once for its logits, once for its gradient
contribution — while they are still in L1, so one ``loss_gradient`` reads X once. Coefficients
are held transposed, ``Wᵀ`` of shape (p, K), so the K logits of one stored entry are one
contiguous read and its K gradient updates one contiguous write. Chunks (balanced by stored
entries, :func:`~softlogit.kernels.partition.nnz_bounds`) each own a float64 (p, K) partial,
added in chunk order at the end.

``kind`` selects the loss: 0 sigmoid (``Y`` is y as (m, 1)), 1 softmax with class indices
``y_index``, 2 softmax with probability rows ``Y`` (m, K).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from softlogit.kernels.blocks import (
    binary_block, softmax_block, softmax_hard_block, softmax_soft_block, sum_fixed,
)
from softlogit.kernels.partition import block_rows
from softlogit.kernels.threads import reduce_chunks, run_chunks

_JIT = dict(fastmath=False, cache=True, nogil=True, error_model="numpy")

BINARY, SOFTMAX_HARD, SOFTMAX_SOFT = 0, 1, 2


@njit(cache=True)
def _row_logits(data, indices, start, stop, Wt, b, z):
    """``zₖ = bₖ + Σ_{stored j} x_j Wt[j, k]`` for one CSR row (entries start..stop)."""
    K = z.shape[0]
    for k in range(K):
        z[k] = b[k]
    for nz in range(start, stop):
        xv = data[nz]
        wrow = Wt[indices[nz]]
        for k in range(K):
            z[k] += xv * wrow[k]


@njit(cache=True)
def _row_scatter(data, indices, start, stop, u, Gt):
    """``Gt[j, :] += x_j u`` for the stored entries of one CSR row."""
    K = u.shape[0]
    for nz in range(start, stop):
        xv = data[nz]
        grow = Gt[indices[nz]]
        for k in range(K):
            grow[k] += xv * u[k]


@njit(**_JIT)
def csr_loss_grad_chunks(data, indices, indptr, Wt, b, kind, y_index, Y, s, B, bounds,
                         part_l, part_g, part_b, c0, c1):
    """Cross-entropy, gradient and intercept gradient in one pass over CSR X.

    .. math::

        zᵢ = W xᵢ + b,\\quad L = Σᵢ sᵢ ℓ(zᵢ, yᵢ),\\quad G = Σᵢ sᵢ gᵢ xᵢᵀ,\\quad g_b = Σᵢ sᵢ gᵢ,
        \\quad gᵢ = ∂ℓ/∂zᵢ

    ``Wt`` (p, K) float64 is Wᵀ. Rows go in blocks of ``B``: the block's logits into a (K, B)
    buffer, the losses over the buffer (:mod:`softlogit.kernels.blocks`, vectorised), then the
    block's entries scatter their updates. Accumulates ``L``, ``Gᵀ`` (p, K), ``g_b`` (K,) per
    chunk.
    """
    K = Wt.shape[1]
    Z = np.empty((K, B))
    E = np.empty((K, B))
    D = np.empty((K + 2, B))
    top = np.empty(B, np.int64)
    rest = np.empty(B)
    lse = np.empty(B)
    loss = np.empty(B)
    for c in range(c0, c1):
        Gt = part_g[c]
        gb = part_b[c]
        lsum = 0.0
        end = bounds[c + 1]
        for r0 in range(bounds[c], end, B):
            n = min(B, end - r0)
            for i in range(n):
                for k in range(K):
                    Z[k, i] = b[k]
                for nz in range(indptr[r0 + i], indptr[r0 + i + 1]):
                    xv = data[nz]
                    jcol = indices[nz]
                    for k in range(K):
                        Z[k, i] += xv * Wt[jcol, k]
            if kind == BINARY:
                binary_block(Z[0], Y[r0:r0 + n, 0], s[r0:r0 + n], n, loss, D[0])
            else:
                softmax_block(Z, E, n, top, rest, lse)
                if kind == SOFTMAX_HARD:
                    softmax_hard_block(Z, E, n, y_index[r0:r0 + n], s[r0:r0 + n], top, rest,
                                       lse, loss, D)
                else:
                    softmax_soft_block(Z, E, n, Y[r0:r0 + n], s[r0:r0 + n], top, rest, lse,
                                       loss, D)
            lsum += sum_fixed(loss, n)
            for k in range(K):
                gb[k] += sum_fixed(D[k], n)
            for i in range(n):
                for nz in range(indptr[r0 + i], indptr[r0 + i + 1]):
                    xv = data[nz]
                    jcol = indices[nz]
                    for k in range(K):
                        Gt[jcol, k] += xv * D[k, i]
        part_l[c] = lsum


@njit(**_JIT)
def csr_hessp_chunks(data, indices, indptr, Vt, vb, kind, F, s, bounds, part_l, part_g, part_b,
                     c0, c1):
    """Hessian-vector product in one pass over CSR X.

    .. math::

        tᵢ = V xᵢ + v_b,\\quad uᵢ = sᵢ Hᵢ tᵢ,\\qquad \\text{returns } (Σᵢ uᵢ xᵢᵀ,\\; Σᵢ uᵢ)

    with ``Hᵢ tᵢ = fᵢ tᵢ`` for the sigmoid (``F`` (m, 1) holds ``h(1−h)``) and
    ``oᵢ ⊙ (tᵢ − oᵢ·tᵢ)`` for the softmax (``F`` (m, K) holds the probabilities).
    """
    K = Vt.shape[1]
    for c in range(c0, c1):
        Gt = part_g[c]
        gb = part_b[c]
        t = np.empty(K)
        u = np.empty(K)
        for i in range(bounds[c], bounds[c + 1]):
            start, stop = indptr[i], indptr[i + 1]
            _row_logits(data, indices, start, stop, Vt, vb, t)
            si = s[i]
            if kind == BINARY:
                u[0] = si * F[i, 0] * t[0]
            else:
                ot = 0.0
                for k in range(K):
                    ot += F[i, k] * t[k]
                for k in range(K):
                    u[k] = si * F[i, k] * (t[k] - ot)
            for k in range(K):
                gb[k] += u[k]
            _row_scatter(data, indices, start, stop, u, Gt)


def _run(kernel, bounds, p, K, *args):
    n = len(bounds) - 1
    part_l = np.zeros(n)
    part_g = np.zeros((n, p, K))
    part_b = np.zeros((n, K))
    run_chunks(kernel, n, *args, bounds, part_l, part_g, part_b)
    loss, Gt, gb = reduce_chunks(part_l, part_g, part_b)
    return loss, np.ascontiguousarray(Gt.T), gb


def csr_loss_grad(X, Wt, b, kind, y_index, Y, s, bounds):
    """``(Σ sᵢℓᵢ, Σ sᵢgᵢxᵢᵀ (K, p), Σ sᵢgᵢ (K,))`` for CSR ``X`` — see
    :func:`csr_loss_grad_chunks`."""
    K = Wt.shape[1]
    B = block_rows(int(X.nnz // max(1, X.shape[0])) * 12 + 8 * K, K)
    return _run(csr_loss_grad_chunks, bounds, X.shape[1], K,
                X.data, X.indices, X.indptr, Wt, b, kind, y_index, Y, s, B)


def csr_hessp(X, Vt, vb, kind, F, s, bounds):
    """``(Σ uᵢxᵢᵀ (K, p), Σ uᵢ (K,))`` for CSR ``X`` — see :func:`csr_hessp_chunks`."""
    return _run(csr_hessp_chunks, bounds, X.shape[1], Vt.shape[1],
                X.data, X.indices, X.indptr, Vt, vb, kind, F, s)[1:]
