"""Plain products of dense X for the objective's reference-shaped calls, as one-pass kernels.

``logits`` (``X Wᵀ``) is computed row by row over the fixed chunks of :mod:`.partition`, with
float64 accumulation, like the fused kernels: a memory-bound product that BLAS ``gemm`` would
run on its own thread pool beside the kernels'. ``target_sums`` (``Xᵀs`` and ``Xᵀ(s ⊙ T)``,
what the gradient at any constant logits is made of) is the same kind of pass. The
compute-bound Hessian block ``Xᵀ diag(d) X`` is BLAS's (:mod:`.gram`).
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


def logits(X, W, bounds):
    """``X Wᵀ`` (m, k) in X's dtype for C-contiguous X and float64 W (k, p)."""
    Z = np.empty((X.shape[0], W.shape[0]), dtype=X.dtype)
    run_chunks(logits_chunks, len(bounds) - 1, X, W, Z, bounds)
    return Z


@njit(**_JIT)
def target_sums_chunks(X, s, T, labels, G, N, bounds, c0, c1):
    """Per chunk c: ``G[c, 0] = Σᵢ sᵢ xᵢ``, ``G[c, 1 + k] = Σᵢ sᵢ tᵢₖ xᵢ`` and
    ``N[c, k] = Σᵢ sᵢ tᵢₖ`` (float64).

    ``tᵢₖ`` is ``T[i, k]`` for float targets T (m, K′), or the one-hot row of ``labels[i]``
    when T has no columns (then only ``G[c, 1 + labels[i]]`` is touched: one multiply-add
    per element instead of K).
    """
    p = X.shape[1]
    Kt = T.shape[1]
    hard = Kt == 0
    for c in range(c0, c1):
        # chunk-local accumulators: LLVM vectorises the row loops over them (no aliasing
        # with X to rule out, as for slices of G)
        a = np.zeros(p)
        C = np.zeros((G.shape[1] - 1, p))
        for i in range(bounds[c], bounds[c + 1]):
            # no row is skipped, whatever sᵢ: row 0 multiplies every entry (a finiteness proof)
            si = np.float64(s[i])
            if hard:
                k = labels[i]
                N[c, k] += si
                ck = C[k]
                for j in range(p):
                    x = np.float64(X[i, j])
                    a[j] += si * x
                    ck[j] += si * x
            elif Kt == 1:  # binary: both sums in one sweep of the row
                t = si * np.float64(T[i, 0])
                N[c, 0] += t
                c0_ = C[0]
                for j in range(p):
                    x = np.float64(X[i, j])
                    a[j] += si * x
                    c0_[j] += t * x
            else:
                for j in range(p):
                    a[j] += si * np.float64(X[i, j])
                for k in range(Kt):
                    t = si * np.float64(T[i, k])
                    N[c, k] += t
                    if t != 0.0:
                        ck = C[k]
                        for j in range(p):
                            ck[j] += t * np.float64(X[i, j])
        G[c, 0] = a
        G[c, 1:] = C


def target_sums(X, s, T, labels, n_rows_out, bounds):
    """``(Σᵢ sᵢ xᵢ (p,), Σᵢ sᵢ tᵢₖ xᵢ (n_rows_out, p), Σᵢ sᵢ tᵢₖ (n_rows_out,))`` for
    C-contiguous X (one pass, rows in order over the fixed chunks, chunk partials added in
    chunk order)."""
    n_chunks = len(bounds) - 1
    G = np.zeros((n_chunks, 1 + n_rows_out, X.shape[1]))
    N = np.zeros((n_chunks, n_rows_out))
    run_chunks(target_sums_chunks, n_chunks, X, s, T, labels, G, N, bounds)
    total = G.sum(axis=0)
    return total[0], total[1:], N.sum(axis=0)
