"""Per-row cross-entropy pieces shared by the dense and sparse kernels (inlined by LLVM).

They reproduce, for one row and in float64, the stable formulas of
:mod:`softlogit.losses.binary` and :mod:`softlogit.losses.multinomial`. The kernels are compiled
with ``fastmath=False``: fast-math would let LLVM assume no inf/NaN and rewrite the
expressions, which breaks the tricks below (:func:`dot_row` is the one, reassociation-only,
exception).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, fastmath={"reassoc"})
def dot_row(x, w):
    """``Σⱼ xⱼ wⱼ`` accumulated in float64 (float32 ``x`` is widened on load).

    The one exception to ``fastmath=False``: this pure multiply-add reduction carries LLVM's
    ``reassoc`` flag alone, so that it is vectorised (SIMD partial sums, 3–5× faster here).
    It sets no ``nnan``/``ninf``/``afn`` flag, contains no exp/log/max/branch, and the flags are
    per instruction, so none of the stability code it is inlined into is affected. The order of
    the partial sums is fixed at compile time: results still do not depend on the thread count.
    """
    acc = 0.0
    for j in range(x.shape[0]):
        acc += x[j] * w[j]
    return acc


@njit(cache=True)
def binary_row(z, y):
    """Loss and gradient of the sigmoid cross-entropy at logit ``z``, target ``y ∈ [0, 1]``.

    ``ℓ = (1−y)max(z,0) + y max(−z,0) + log1p(e)``, ``e = e^{−|z|}`` (a sum of non-negative
    terms: no cancellation, no overflow); ``∂ℓ/∂z = (1−y) − q`` for ``z ≥ 0`` else ``q − y``
    with ``q = e/(1+e) = σ(−|z|)`` (never ``1 − σ(z)``, which rounds to 0 for z > 37).
    """
    e = np.exp(-abs(z))  # e ∈ (0, 1]: cannot overflow
    q = e / (1.0 + e)
    loss = (1.0 - y) * max(z, 0.0) + y * max(-z, 0.0) + np.log1p(e)
    grad = ((1.0 - y) - q) if z >= 0.0 else (q - y)
    return loss, grad


@njit(cache=True)
def softmax_row(z, e):
    """Shift ``z`` in place to ``s = z − max z``, write ``e^s`` into ``e``; return ``log Σ e^s``.

    Every exponent is ≤ 0 (no overflow) and the sum holds at least one ``e⁰ = 1``, so the log
    is in [0, log K].
    """
    K = z.shape[0]
    zmax = z[0]
    for k in range(1, K):
        if z[k] > zmax:
            zmax = z[k]
    total = 0.0
    for k in range(K):
        z[k] -= zmax
        e[k] = np.exp(z[k])
        total += e[k]
    return np.log(total), total


@njit(cache=True)
def softmax_hard_row(z, e, g, c):
    """Class index target ``c``: ``ℓ = lse(s) − s_c``, ``g = e^s/Σe^s − 1[k = c]`` (into ``g``)."""
    lse, total = softmax_row(z, e)
    for k in range(z.shape[0]):
        g[k] = e[k] / total
    g[c] -= 1.0
    return lse - z[c]


@njit(cache=True)
def softmax_soft_row(z, e, g, yrow):
    """Probability-row target: ``ℓ = (Σy) lse(s) − y·s``, ``g = (Σy) softmax(z) − y``."""
    lse, total = softmax_row(z, e)
    ysum = 0.0
    ys = 0.0
    for k in range(z.shape[0]):
        ysum += yrow[k]
        ys += yrow[k] * z[k]
    for k in range(z.shape[0]):
        g[k] = (e[k] / total) * ysum - yrow[k]
    return ysum * lse - ys
