"""Plain products of dense X for the objective's reference-shaped calls, as one-pass kernels.

``logits`` (``X Wᵀ``), ``Xᵀd`` (``wsum_rows``) and the Hessian block ``Xᵀ diag(d) X``
(``gram``) are computed row by row over the fixed chunks of :mod:`.partition`, with float64
accumulation and partials added in chunk order, like the fused kernels. They replace BLAS calls
that on a shared two-core machine lose most of their time to thread oversubscription
(measured: a 50 000 × 100 ``Xᵀ diag(d) X`` took 0.28 s through blocked BLAS ``syrk``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from softlogit.kernels.blocks import dot1
from softlogit.kernels.threads import run_chunks

_JIT = dict(fastmath=False, cache=True, nogil=True)


@njit(**_JIT)
def logits_chunks(X, W, Z, bounds, c0, c1):
    """``Z[i, k] = Σⱼ X[i, j] W[k, j]`` (accumulated in float64, stored in Z's dtype)."""
    K = W.shape[0]
    for c in range(c0, c1):
        for i in range(bounds[c], bounds[c + 1]):  # rows in order: the prefetcher streams them
            for k in range(K):
                Z[i, k] = dot1(X, i, W, k)


@njit(**_JIT)
def gram_chunks(X, d, bounds, part_h, part_v, part_s, c0, c1):
    """Per chunk: the upper triangle of ``Σᵢ dᵢ xᵢ xᵢᵀ``, and ``Σᵢ dᵢ xᵢ``, ``Σᵢ dᵢ``.

    Rows are taken four at a time (a rank-4 update), so each entry of the (p, p) partial is
    loaded and stored once per four rows; the inner loop over columns is contiguous and
    vectorises. Any sign of ``d`` is fine (no square roots).
    """
    p = X.shape[1]
    for c in range(c0, c1):
        H = part_h[c]
        v = part_v[c]
        total = 0.0
        i = bounds[c]
        end = bounds[c + 1]
        while i + 4 <= end:
            x0 = X[i]
            x1 = X[i + 1]
            x2 = X[i + 2]
            x3 = X[i + 3]
            d0, d1, d2, d3 = float(d[i]), float(d[i + 1]), float(d[i + 2]), float(d[i + 3])
            total += (d0 + d1) + (d2 + d3)
            for a in range(p):
                c0a = d0 * x0[a]
                c1a = d1 * x1[a]
                c2a = d2 * x2[a]
                c3a = d3 * x3[a]
                v[a] += (c0a + c1a) + (c2a + c3a)
                row = H[a]
                for b in range(a, p):
                    row[b] += (c0a * x0[b] + c1a * x1[b]) + (c2a * x2[b] + c3a * x3[b])
            i += 4
        while i < end:
            x0 = X[i]
            d0 = float(d[i])
            total += d0
            for a in range(p):
                c0a = d0 * x0[a]
                v[a] += c0a
                row = H[a]
                for b in range(a, p):
                    row[b] += c0a * x0[b]
            i += 1
        part_s[c] = total


def logits(X, W, bounds):
    """``X Wᵀ`` (m, k) in X's dtype for C-contiguous X and float64 W (k, p)."""
    Z = np.empty((X.shape[0], W.shape[0]), dtype=X.dtype)
    run_chunks(logits_chunks, len(bounds) - 1, X, W, Z, bounds)
    return Z


def gram(X, d, bounds):
    """``(Xᵀ diag(d) X (p, p) symmetric, Xᵀd (p,), Σd)`` in float64, in one pass over X."""
    n, p = len(bounds) - 1, X.shape[1]
    part_h = np.zeros((n, p, p))
    part_v = np.zeros((n, p))
    part_s = np.zeros(n)
    run_chunks(gram_chunks, n, X, d, bounds, part_h, part_v, part_s)
    H = part_h.sum(axis=0)
    H = np.triu(H) + np.triu(H, 1).T
    return H, part_v.sum(axis=0), float(part_s.sum())
