"""Eight-lane register tiles for the softmax block products, used where the CPU has AVX-512.

The logits as in :mod:`.tiles` (``Z_b = X_b Wp``, classes packed along the lanes), with
:class:`~.simd.F64x8` accumulators: one AVX-512 register holds eight classes, so a 16-class
group is two registers per row instead of four; the update ``G += D_b X_b`` with the lanes
along the columns instead (:func:`update_cm`). The packed width is
``Kp = 8⌈K/8⌉`` for ``K > 4`` (:func:`.tiles.dense_packed_width`); each (row, class) sum is
still one ``llvm.fma`` per column in ascending order (logits) and per row in ascending order
(update), exactly as in the four-lane tiles, so the results are bitwise theirs.

Why only on AVX-512: an eight-lane value is two registers on AVX2, so these tiles' eight to
twelve accumulators would fill or overflow AVX2's sixteen registers and spill; there the
four-lane tiles are used unchanged (:func:`.tiles.wide_lanes` decides, from the CPU Numba compiles for). Nothing here is
an AVX-512 intrinsic: LLVM lowers ``<8 x double>`` for whatever the target is.

* :func:`logits16` — 6 rows × 16 classes (twelve accumulators; then 4 rows, then single
  rows), per column 6 broadcasts, 2 loads of ``Wp``, 12 multiply-adds, and one hint per 6
  elements of the rows :data:`~.tiles.PREFETCH_AHEAD` ahead (the tile's 6 rows ahead are ``6p``
  contiguous elements, so every cache line is asked for);
* :func:`logits8` — 8 rows × 8 classes, the same pattern for a last group of 8 classes;
* :func:`update_cm` — the update from the softmax stage's class-major coefficients, lanes
  along the columns (no padding class in a lane).
"""

from __future__ import annotations

from numba import njit

from softlogit.kernels.simd import (
    fma1, fma4, fma8, load4, load8, prefetch, splat4, splat8, store4, store8, zero8,
)

_INLINE = dict(cache=True, nogil=True, error_model="numpy", inline="always")


@njit(**_INLINE)
def _logits16x6(X, r, Wp, c0, Zp, o, f):
    """Six rows from ``r`` of :func:`logits16` (twelve accumulators), stored at ``Zp.flat[o]``."""
    p = X.shape[1]
    Kp = Wp.shape[1]
    a0 = zero8()
    b0 = zero8()
    a1 = zero8()
    b1 = zero8()
    a2 = zero8()
    b2 = zero8()
    a3 = zero8()
    b3 = zero8()
    a4 = zero8()
    b4 = zero8()
    a5 = zero8()
    b5 = zero8()
    for j in range(p):
        prefetch(X, f + 6 * j)
        w0 = load8(Wp, Kp * j + c0)
        w1 = load8(Wp, Kp * j + c0 + 8)
        x = splat8(X[r, j])
        a0 = fma8(x, w0, a0)
        b0 = fma8(x, w1, b0)
        x = splat8(X[r + 1, j])
        a1 = fma8(x, w0, a1)
        b1 = fma8(x, w1, b1)
        x = splat8(X[r + 2, j])
        a2 = fma8(x, w0, a2)
        b2 = fma8(x, w1, b2)
        x = splat8(X[r + 3, j])
        a3 = fma8(x, w0, a3)
        b3 = fma8(x, w1, b3)
        x = splat8(X[r + 4, j])
        a4 = fma8(x, w0, a4)
        b4 = fma8(x, w1, b4)
        x = splat8(X[r + 5, j])
        a5 = fma8(x, w0, a5)
        b5 = fma8(x, w1, b5)
    store8(Zp, o, a0)
    store8(Zp, o + 8, b0)
    store8(Zp, o + Kp, a1)
    store8(Zp, o + Kp + 8, b1)
    store8(Zp, o + 2 * Kp, a2)
    store8(Zp, o + 2 * Kp + 8, b2)
    store8(Zp, o + 3 * Kp, a3)
    store8(Zp, o + 3 * Kp + 8, b3)
    store8(Zp, o + 4 * Kp, a4)
    store8(Zp, o + 4 * Kp + 8, b4)
    store8(Zp, o + 5 * Kp, a5)
    store8(Zp, o + 5 * Kp + 8, b5)


@njit(**_INLINE)
def logits16(X, r0, n, Wp, c0, Zp, ahead):
    """``Zp[q, c0:c0+16] = Σⱼ X[r0+q, j] Wp[j, c0:c0+16]`` for ``q < n``."""
    p = X.shape[1]
    Kp = Wp.shape[1]
    q = 0
    while q + 6 <= n:
        _logits16x6(X, r0 + q, Wp, c0, Zp, Kp * q + c0, (r0 + q) * p + ahead)
        q += 6
    while q + 4 <= n:
        r = r0 + q
        a0 = zero8()
        b0 = zero8()
        a1 = zero8()
        b1 = zero8()
        a2 = zero8()
        b2 = zero8()
        a3 = zero8()
        b3 = zero8()
        f = r * p + ahead
        for j in range(p):
            prefetch(X, f + 4 * j)
            w0 = load8(Wp, Kp * j + c0)
            w1 = load8(Wp, Kp * j + c0 + 8)
            x = splat8(X[r, j])
            a0 = fma8(x, w0, a0)
            b0 = fma8(x, w1, b0)
            x = splat8(X[r + 1, j])
            a1 = fma8(x, w0, a1)
            b1 = fma8(x, w1, b1)
            x = splat8(X[r + 2, j])
            a2 = fma8(x, w0, a2)
            b2 = fma8(x, w1, b2)
            x = splat8(X[r + 3, j])
            a3 = fma8(x, w0, a3)
            b3 = fma8(x, w1, b3)
        o = Kp * q + c0
        store8(Zp, o, a0)
        store8(Zp, o + 8, b0)
        store8(Zp, o + Kp, a1)
        store8(Zp, o + Kp + 8, b1)
        store8(Zp, o + 2 * Kp, a2)
        store8(Zp, o + 2 * Kp + 8, b2)
        store8(Zp, o + 3 * Kp, a3)
        store8(Zp, o + 3 * Kp + 8, b3)
        q += 4
    while q < n:
        a0 = zero8()
        b0 = zero8()
        for j in range(p):
            x = splat8(X[r0 + q, j])
            a0 = fma8(x, load8(Wp, Kp * j + c0), a0)
            b0 = fma8(x, load8(Wp, Kp * j + c0 + 8), b0)
        store8(Zp, Kp * q + c0, a0)
        store8(Zp, Kp * q + c0 + 8, b0)
        q += 1


@njit(**_INLINE)
def logits8(X, r0, n, Wp, c0, Zp, ahead):
    """``Zp[q, c0:c0+8] = Σⱼ X[r0+q, j] Wp[j, c0:c0+8]`` for ``q < n``."""
    p = X.shape[1]
    Kp = Wp.shape[1]
    q = 0
    while q + 8 <= n:
        r = r0 + q
        a0 = zero8()
        a1 = zero8()
        a2 = zero8()
        a3 = zero8()
        a4 = zero8()
        a5 = zero8()
        a6 = zero8()
        a7 = zero8()
        f = r * p + ahead
        for j in range(p):
            prefetch(X, f + 8 * j)
            w0 = load8(Wp, Kp * j + c0)
            a0 = fma8(splat8(X[r, j]), w0, a0)
            a1 = fma8(splat8(X[r + 1, j]), w0, a1)
            a2 = fma8(splat8(X[r + 2, j]), w0, a2)
            a3 = fma8(splat8(X[r + 3, j]), w0, a3)
            a4 = fma8(splat8(X[r + 4, j]), w0, a4)
            a5 = fma8(splat8(X[r + 5, j]), w0, a5)
            a6 = fma8(splat8(X[r + 6, j]), w0, a6)
            a7 = fma8(splat8(X[r + 7, j]), w0, a7)
        o = Kp * q + c0
        store8(Zp, o, a0)
        store8(Zp, o + Kp, a1)
        store8(Zp, o + 2 * Kp, a2)
        store8(Zp, o + 3 * Kp, a3)
        store8(Zp, o + 4 * Kp, a4)
        store8(Zp, o + 5 * Kp, a5)
        store8(Zp, o + 6 * Kp, a6)
        store8(Zp, o + 7 * Kp, a7)
        q += 8
    while q < n:
        a0 = zero8()
        for j in range(p):
            a0 = fma8(splat8(X[r0 + q, j]), load8(Wp, Kp * j + c0), a0)
        store8(Zp, Kp * q + c0, a0)
        q += 1


# --- the update from class-major coefficients: lanes along the columns, no padded classes ------


@njit(**_INLINE)
def _cm24(X, r0, n, D, G, k, j):
    """``G[k:k+4, j:j+24] += D[k:k+4, :n] X[r0:r0+n, j:j+24]`` (twelve accumulators)."""
    p = X.shape[1]
    Bd = D.shape[1]
    a0 = load8(G, k * p + j)
    b0 = load8(G, k * p + j + 8)
    c0 = load8(G, k * p + j + 16)
    a1 = load8(G, (k + 1) * p + j)
    b1 = load8(G, (k + 1) * p + j + 8)
    c1 = load8(G, (k + 1) * p + j + 16)
    a2 = load8(G, (k + 2) * p + j)
    b2 = load8(G, (k + 2) * p + j + 8)
    c2 = load8(G, (k + 2) * p + j + 16)
    a3 = load8(G, (k + 3) * p + j)
    b3 = load8(G, (k + 3) * p + j + 8)
    c3 = load8(G, (k + 3) * p + j + 16)
    for q in range(n):
        o = (r0 + q) * p + j
        x0 = load8(X, o)
        x1 = load8(X, o + 8)
        x2 = load8(X, o + 16)
        d = splat8(D[k, q])
        a0 = fma8(d, x0, a0)
        b0 = fma8(d, x1, b0)
        c0 = fma8(d, x2, c0)
        d = splat8(D[k + 1, q])
        a1 = fma8(d, x0, a1)
        b1 = fma8(d, x1, b1)
        c1 = fma8(d, x2, c1)
        d = splat8(D[k + 2, q])
        a2 = fma8(d, x0, a2)
        b2 = fma8(d, x1, b2)
        c2 = fma8(d, x2, c2)
        d = splat8(D[k + 3, q])
        a3 = fma8(d, x0, a3)
        b3 = fma8(d, x1, b3)
        c3 = fma8(d, x2, c3)
    store8(G, k * p + j, a0)
    store8(G, k * p + j + 8, b0)
    store8(G, k * p + j + 16, c0)
    store8(G, (k + 1) * p + j, a1)
    store8(G, (k + 1) * p + j + 8, b1)
    store8(G, (k + 1) * p + j + 16, c1)
    store8(G, (k + 2) * p + j, a2)
    store8(G, (k + 2) * p + j + 8, b2)
    store8(G, (k + 2) * p + j + 16, c2)
    store8(G, (k + 3) * p + j, a3)
    store8(G, (k + 3) * p + j + 8, b3)
    store8(G, (k + 3) * p + j + 16, c3)


@njit(**_INLINE)
def update_cm(X, r0, n, D, G, K):
    """``G[k, j] += Σ_{q<n} D[k, q] X[r0+q, j]`` for every ``k < Kp``, ``j < p``: the block's
    gradient update from class-major coefficients ``D`` (Kp, ≥ n) into a class-major partial
    ``G`` (Kp, p), ``Kp`` a multiple of 4.

    .. math:: G \\mathrel{+}= D_b X_b

    The lanes run along the columns (contiguous in both X and G), so no lane holds a padding
    class: per row ``⌈p/8⌉`` multiply-adds per class instead of ``p·Kp/8`` (K = 10, p = 100:
    150, the classes taken in fours, instead of 200; K = 3, p = 50: 25 instead of 50 four-lane ones), and ``D`` is used
    as the softmax stage writes it, without the transpose back. Tiles of 4 classes × 24
    columns (twelve accumulators; per row 3 loads of X, 4 broadcasts of D, 12 multiply-adds),
    then 8 and 4 columns, then single columns (:func:`~.simd.fma1`). Each ``G[k, j]`` is one
    ``llvm.fma`` per row in ascending order, as in :func:`~.tiles.packed_update`: bitwise the
    same sums.
    """
    p = X.shape[1]
    for k in range(0, K, 4):
        j = 0
        while j + 24 <= p:
            _cm24(X, r0, n, D, G, k, j)
            j += 24
        while j + 8 <= p:
            a0 = load8(G, k * p + j)
            a1 = load8(G, (k + 1) * p + j)
            a2 = load8(G, (k + 2) * p + j)
            a3 = load8(G, (k + 3) * p + j)
            for q in range(n):
                x = load8(X, (r0 + q) * p + j)
                a0 = fma8(splat8(D[k, q]), x, a0)
                a1 = fma8(splat8(D[k + 1, q]), x, a1)
                a2 = fma8(splat8(D[k + 2, q]), x, a2)
                a3 = fma8(splat8(D[k + 3, q]), x, a3)
            store8(G, k * p + j, a0)
            store8(G, (k + 1) * p + j, a1)
            store8(G, (k + 2) * p + j, a2)
            store8(G, (k + 3) * p + j, a3)
            j += 8
        if j + 4 <= p:
            a0 = load4(G, k * p + j)
            a1 = load4(G, (k + 1) * p + j)
            a2 = load4(G, (k + 2) * p + j)
            a3 = load4(G, (k + 3) * p + j)
            for q in range(n):
                x = load4(X, (r0 + q) * p + j)
                a0 = fma4(splat4(D[k, q]), x, a0)
                a1 = fma4(splat4(D[k + 1, q]), x, a1)
                a2 = fma4(splat4(D[k + 2, q]), x, a2)
                a3 = fma4(splat4(D[k + 3, q]), x, a3)
            store4(G, k * p + j, a0)
            store4(G, (k + 1) * p + j, a1)
            store4(G, (k + 2) * p + j, a2)
            store4(G, (k + 3) * p + j, a3)
            j += 4
        while j < p:
            s0 = G[k, j]
            s1 = G[k + 1, j]
            s2 = G[k + 2, j]
            s3 = G[k + 3, j]
            for q in range(n):
                x = float(X[r0 + q, j])
                s0 = fma1(D[k, q], x, s0)
                s1 = fma1(D[k + 1, q], x, s1)
                s2 = fma1(D[k + 2, q], x, s2)
                s3 = fma1(D[k + 3, q], x, s3)
            G[k, j] = s0
            G[k + 1, j] = s1
            G[k + 2, j] = s2
            G[k + 3, j] = s3
            j += 1
