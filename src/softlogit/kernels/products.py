"""Plain products of dense X for the objective's reference-shaped calls, as one-pass kernels.

``logits`` (``X Wᵀ``) is computed row by row over the fixed chunks of :mod:`.partition`, with
float64 accumulation, like the fused kernels: a memory-bound product that BLAS ``gemm`` would
run on its own thread pool beside the kernels'. The compute-bound Hessian block
``Xᵀ diag(d) X`` is BLAS's (:mod:`.gram`).
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
