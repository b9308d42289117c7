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


#: The most negative finite float64: shifted logits saturate here instead of becoming −inf.
_NEG_MAX = -1.7976931348623157e308


@njit(cache=True)
def softmax_row(z, e):
    """Shift ``z`` in place to ``s = z − max z``, write ``e^s`` into ``e``.

    Returns ``(lse, rest, top)``: ``top`` the arg-max, ``rest = Σ_{k≠top} e^{s_k}`` (the sum
    without the row maximum's ``e⁰ = 1``) and ``lse = log Σ e^s = log1p(rest)``. Every exponent
    is ≤ 0 (no overflow); ``log1p`` keeps a tiny ``rest`` that ``log(1 + rest)`` would round
    to 0 (a confident row at z = (40, 0) has loss e^{−40}, not 0); a shift beyond the float
    range saturates at the most negative finite value, as in ``softlogit.losses.multinomial``.
    """
    K = z.shape[0]
    top = 0
    for k in range(1, K):
        if z[k] > z[top]:
            top = k
    zmax = z[top]
    rest = 0.0
    for k in range(K):
        z[k] = max(z[k] - zmax, _NEG_MAX)
        e[k] = np.exp(z[k])
        if k != top:
            rest += e[k]
    lse = np.log1p(rest) if rest < 1.0 else np.log(1.0 + rest)
    return lse, rest, top


@njit(cache=True)
def softmax_hard_row(z, e, g, c):
    """Class index target ``c``: ``ℓ = lse(s) − s_c``, ``g = e^s/Σe^s − 1[k = c]`` (into ``g``).

    At the arg-max the probability is ``1/(1+rest)``; ``o − 1`` there is formed as
    ``−rest/(1+rest)`` so that it keeps its digits when ``rest`` is tiny.
    """
    lse, rest, top = softmax_row(z, e)
    total = 1.0 + rest
    for k in range(z.shape[0]):
        g[k] = e[k] / total
    if c == top:
        g[c] = -rest / total
    else:
        g[c] -= 1.0
    return lse - z[c]


@njit(cache=True)
def softmax_soft_row(z, e, g, yrow):
    """Probability-row target: ``ℓ = (Σy) lse(s) − y·s``, ``g = (Σy) softmax(z) − y``.

    At the arg-max, ``(Σy)/(1+rest) − y_top`` is formed as ``(Σy − y_top) − (Σy)·rest/(1+rest)``
    (no cancellation when the row is confident and right).
    """
    lse, rest, top = softmax_row(z, e)
    total = 1.0 + rest
    ysum = 0.0
    ys = 0.0
    for k in range(z.shape[0]):
        ysum += yrow[k]
        if yrow[k] != 0.0:  # 0·(saturated s) stays 0
            ys += yrow[k] * z[k]
    for k in range(z.shape[0]):
        g[k] = (e[k] / total) * ysum - yrow[k]
    g[top] = (ysum - yrow[top]) - ysum * rest / total
    return ysum * lse - ys
