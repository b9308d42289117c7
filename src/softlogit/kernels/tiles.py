"""Register-blocked block products for the softmax kernels: ``Z_b = X_b W`` and ``G += X_bᵀ D_b``.

The classes are held *packed*: coefficients ``Wp`` and gradient ``Gp`` as (p, Kp) and the
block's logits ``Zp`` and coefficients ``Dp`` as (B, Kp), with ``Kp = 4⌈K/4⌉`` (the padding
lanes are zero and stay zero). A row of X times ``Wp`` is then a sum of ``x_j · Wp[j, :]``,
i.e. broadcast-and-multiply-add over whole class vectors, with no horizontal sum and no
remainder loop over the columns.

* :func:`packed_logits` — tiles of 4 rows × 8 classes (eight :class:`~.simd.F64x4`
  accumulators) run over the columns: per column 4 broadcasts of ``x`` and 2 loads of ``Wp``
  feed 8 vector multiply-adds (the older dot-product kernel did 5 loads per 4 multiply-adds,
  plus a horizontal sum and a scalar remainder per row and class).
* :func:`packed_update` — tiles of 4 columns × 8 classes of ``Gp`` held in registers over the
  block's rows: per row 4 broadcasts of ``x`` and 2 loads of ``Dp`` feed 8 multiply-adds, and
  ``Gp`` is loaded and stored once per block.

When ``Kp ≡ 4 (mod 8)`` the last 12 classes are one tile of 3 rows (columns) × 12 classes (nine
accumulators), and ``Kp = 4`` takes tiles of 8 rows (logits) or 8 columns (update) × 4 classes
(eight accumulators): a 4 × 4 tile has only four independent multiply-add chains, too few to
hide their latency (in cache, K = 3, p = 50, one thread, loaded machine: logits 17.8 → 13.4 ns a
row, update 17.1 → 13.1–16.7; one ``loss_gradient`` on S6 1.09× faster). Every sum runs in a
fixed order (columns ascending, rows ascending) with one rounding per multiply-add
(``llvm.fma``): results depend only on the shapes and the block partition.

Where Numba compiles for AVX-512 (:func:`wide_lanes`), ``K > 4`` takes the eight-lane tiles
of :mod:`.wide_tiles` instead (``Kp = 8⌈K/8⌉``, :func:`dense_packed_width`; same sums in the
same order, so bitwise the same results): :func:`packed_logits` chooses by its ``wide``
argument, and the update there is :func:`~.wide_tiles.update_cm`.

The logits tiles read X from memory and ask for it :data:`PREFETCH_AHEAD` elements ahead
(:func:`prefetch`, one hint per tile row and column; the ``Kp = 4`` tile one per cache
line): their eight or nine multiply-add chains
fill the out-of-order window, so without the hints only a few cache misses were in flight and
each block's read of X stalled the arithmetic. Hints never change a result. ``X`` may be
float32 or float64 (widened exactly); everything else is float64 and C-contiguous.
"""

from __future__ import annotations

from numba import njit, types
from numba.core import config
from numba.extending import overload

from softlogit.kernels import wide_tiles
from softlogit.kernels.simd import (
    add4, fma4, halves_hi4, halves_lo4, load4, prefetch, splat4, store4, unpack_hi4, unpack_lo4,
    zero4,
)

_JIT = dict(cache=True, nogil=True, error_model="numpy")
_INLINE = dict(_JIT, inline="always")

#: How far ahead of the element a logits tile multiplies it asks for X (elements: 8 KiB of
#: float64, ~16 rows of S6, ~10 of S7). Measured (BENCHMARKS.md, issue 8, fourth session):
#: without it the compute-dense tile keeps too few misses in flight and the hardware
#: prefetcher alone does not run far enough ahead, so every block's read stalled the tile.
PREFETCH_AHEAD = 1024


def packed_width(K: int) -> int:
    """``Kp = 4⌈K/4⌉``: the packed class width."""
    return 4 * (-(-K // 4))


def wide_lanes() -> bool:
    """Whether the CPU Numba compiles for has AVX-512 (``avx512f``), so that the eight-lane tiles
    of :mod:`.wide_tiles` fit its 32 vector registers (Numba's own choice of features:
    ``NUMBA_CPU_FEATURES`` if set, else the host's)."""
    feats = config.CPU_FEATURES
    if feats is None:
        import llvmlite.binding as llvm

        feats = llvm.get_host_cpu_features().flatten()
    return "+avx512f" in feats.split(",")


def dense_packed_width(K: int, wide: bool) -> int:
    """The packed width of the dense softmax kernels: :func:`packed_width` for the four-lane
    tiles (and for ``K ≤ 4`` always), ``8⌈K/8⌉`` for the eight-lane ones (``wide``)."""
    return packed_width(K) if (K <= 4 or not wide) else 8 * (-(-K // 8))


@njit(**_INLINE)
def _logits8(X, r0, n, Wp, c0, Zp):
    """``Zp[q, c0:c0+8] = Σⱼ X[r0+q, j] Wp[j, c0:c0+8]`` for ``q < n``."""
    p = X.shape[1]
    Kp = Wp.shape[1]
    q = 0
    while q + 4 <= n:
        r = r0 + q
        a0 = zero4()
        b0 = zero4()
        a1 = zero4()
        b1 = zero4()
        a2 = zero4()
        b2 = zero4()
        a3 = zero4()
        b3 = zero4()
        f = r * p + PREFETCH_AHEAD
        for j in range(p):
            prefetch(X, f + j)
            prefetch(X, f + p + j)
            prefetch(X, f + 2 * p + j)
            prefetch(X, f + 3 * p + j)
            w0 = load4(Wp, Kp * j + c0)
            w1 = load4(Wp, Kp * j + c0 + 4)
            x = splat4(X[r, j])
            a0 = fma4(x, w0, a0)
            b0 = fma4(x, w1, b0)
            x = splat4(X[r + 1, j])
            a1 = fma4(x, w0, a1)
            b1 = fma4(x, w1, b1)
            x = splat4(X[r + 2, j])
            a2 = fma4(x, w0, a2)
            b2 = fma4(x, w1, b2)
            x = splat4(X[r + 3, j])
            a3 = fma4(x, w0, a3)
            b3 = fma4(x, w1, b3)
        o = Kp * q + c0
        store4(Zp, o, a0)
        store4(Zp, o + 4, b0)
        store4(Zp, o + Kp, a1)
        store4(Zp, o + Kp + 4, b1)
        store4(Zp, o + 2 * Kp, a2)
        store4(Zp, o + 2 * Kp + 4, b2)
        store4(Zp, o + 3 * Kp, a3)
        store4(Zp, o + 3 * Kp + 4, b3)
        q += 4
    while q < n:
        a0 = zero4()
        b0 = zero4()
        for j in range(p):
            x = splat4(X[r0 + q, j])
            a0 = fma4(x, load4(Wp, Kp * j + c0), a0)
            b0 = fma4(x, load4(Wp, Kp * j + c0 + 4), b0)
        store4(Zp, Kp * q + c0, a0)
        store4(Zp, Kp * q + c0 + 4, b0)
        q += 1


@njit(**_INLINE)
def _update8(X, r0, n, Dp, c0, Gp):
    """``Gp[j, c0:c0+8] += Σ_{q<n} X[r0+q, j] Dp[q, c0:c0+8]``."""
    p = X.shape[1]
    Kp = Gp.shape[1]
    j = 0
    while j + 4 <= p:
        o = Kp * j + c0
        a0 = load4(Gp, o)
        b0 = load4(Gp, o + 4)
        a1 = load4(Gp, o + Kp)
        b1 = load4(Gp, o + Kp + 4)
        a2 = load4(Gp, o + 2 * Kp)
        b2 = load4(Gp, o + 2 * Kp + 4)
        a3 = load4(Gp, o + 3 * Kp)
        b3 = load4(Gp, o + 3 * Kp + 4)
        for q in range(n):
            r = r0 + q
            d0 = load4(Dp, Kp * q + c0)
            d1 = load4(Dp, Kp * q + c0 + 4)
            x = splat4(X[r, j])
            a0 = fma4(x, d0, a0)
            b0 = fma4(x, d1, b0)
            x = splat4(X[r, j + 1])
            a1 = fma4(x, d0, a1)
            b1 = fma4(x, d1, b1)
            x = splat4(X[r, j + 2])
            a2 = fma4(x, d0, a2)
            b2 = fma4(x, d1, b2)
            x = splat4(X[r, j + 3])
            a3 = fma4(x, d0, a3)
            b3 = fma4(x, d1, b3)
        store4(Gp, o, a0)
        store4(Gp, o + 4, b0)
        store4(Gp, o + Kp, a1)
        store4(Gp, o + Kp + 4, b1)
        store4(Gp, o + 2 * Kp, a2)
        store4(Gp, o + 2 * Kp + 4, b2)
        store4(Gp, o + 3 * Kp, a3)
        store4(Gp, o + 3 * Kp + 4, b3)
        j += 4
    while j < p:
        o = Kp * j + c0
        a0 = load4(Gp, o)
        b0 = load4(Gp, o + 4)
        for q in range(n):
            x = splat4(X[r0 + q, j])
            a0 = fma4(x, load4(Dp, Kp * q + c0), a0)
            b0 = fma4(x, load4(Dp, Kp * q + c0 + 4), b0)
        store4(Gp, o, a0)
        store4(Gp, o + 4, b0)
        j += 1


@njit(**_INLINE)
def _logits12(X, r0, n, Wp, c0, Zp):
    """``Zp[q, c0:c0+12] = Σⱼ X[r0+q, j] Wp[j, c0:c0+12]`` for ``q < n``: tiles of 3 rows ×
    12 classes (nine accumulators, enough independent multiply-adds to hide their latency,
    which a 4-class tile's four cannot)."""
    p = X.shape[1]
    Kp = Wp.shape[1]
    q = 0
    while q + 3 <= n:
        r = r0 + q
        a0 = zero4()
        b0 = zero4()
        c0_ = zero4()
        a1 = zero4()
        b1 = zero4()
        c1_ = zero4()
        a2 = zero4()
        b2 = zero4()
        c2_ = zero4()
        f = r * p + PREFETCH_AHEAD
        for j in range(p):
            prefetch(X, f + j)
            prefetch(X, f + p + j)
            prefetch(X, f + 2 * p + j)
            w0 = load4(Wp, Kp * j + c0)
            w1 = load4(Wp, Kp * j + c0 + 4)
            w2 = load4(Wp, Kp * j + c0 + 8)
            x = splat4(X[r, j])
            a0 = fma4(x, w0, a0)
            b0 = fma4(x, w1, b0)
            c0_ = fma4(x, w2, c0_)
            x = splat4(X[r + 1, j])
            a1 = fma4(x, w0, a1)
            b1 = fma4(x, w1, b1)
            c1_ = fma4(x, w2, c1_)
            x = splat4(X[r + 2, j])
            a2 = fma4(x, w0, a2)
            b2 = fma4(x, w1, b2)
            c2_ = fma4(x, w2, c2_)
        o = Kp * q + c0
        store4(Zp, o, a0)
        store4(Zp, o + 4, b0)
        store4(Zp, o + 8, c0_)
        store4(Zp, o + Kp, a1)
        store4(Zp, o + Kp + 4, b1)
        store4(Zp, o + Kp + 8, c1_)
        store4(Zp, o + 2 * Kp, a2)
        store4(Zp, o + 2 * Kp + 4, b2)
        store4(Zp, o + 2 * Kp + 8, c2_)
        q += 3
    while q < n:
        a0 = zero4()
        b0 = zero4()
        c0_ = zero4()
        for j in range(p):
            x = splat4(X[r0 + q, j])
            a0 = fma4(x, load4(Wp, Kp * j + c0), a0)
            b0 = fma4(x, load4(Wp, Kp * j + c0 + 4), b0)
            c0_ = fma4(x, load4(Wp, Kp * j + c0 + 8), c0_)
        o = Kp * q + c0
        store4(Zp, o, a0)
        store4(Zp, o + 4, b0)
        store4(Zp, o + 8, c0_)
        q += 1


@njit(**_INLINE)
def _update12(X, r0, n, Dp, c0, Gp):
    """``Gp[j, c0:c0+12] += Σ_{q<n} X[r0+q, j] Dp[q, c0:c0+12]``: tiles of 3 columns × 12
    classes (nine accumulators)."""
    p = X.shape[1]
    Kp = Gp.shape[1]
    j = 0
    while j + 3 <= p:
        o = Kp * j + c0
        a0 = load4(Gp, o)
        b0 = load4(Gp, o + 4)
        c0_ = load4(Gp, o + 8)
        a1 = load4(Gp, o + Kp)
        b1 = load4(Gp, o + Kp + 4)
        c1_ = load4(Gp, o + Kp + 8)
        a2 = load4(Gp, o + 2 * Kp)
        b2 = load4(Gp, o + 2 * Kp + 4)
        c2_ = load4(Gp, o + 2 * Kp + 8)
        for q in range(n):
            r = r0 + q
            d0 = load4(Dp, Kp * q + c0)
            d1 = load4(Dp, Kp * q + c0 + 4)
            d2 = load4(Dp, Kp * q + c0 + 8)
            x = splat4(X[r, j])
            a0 = fma4(x, d0, a0)
            b0 = fma4(x, d1, b0)
            c0_ = fma4(x, d2, c0_)
            x = splat4(X[r, j + 1])
            a1 = fma4(x, d0, a1)
            b1 = fma4(x, d1, b1)
            c1_ = fma4(x, d2, c1_)
            x = splat4(X[r, j + 2])
            a2 = fma4(x, d0, a2)
            b2 = fma4(x, d1, b2)
            c2_ = fma4(x, d2, c2_)
        store4(Gp, o, a0)
        store4(Gp, o + 4, b0)
        store4(Gp, o + 8, c0_)
        store4(Gp, o + Kp, a1)
        store4(Gp, o + Kp + 4, b1)
        store4(Gp, o + Kp + 8, c1_)
        store4(Gp, o + 2 * Kp, a2)
        store4(Gp, o + 2 * Kp + 4, b2)
        store4(Gp, o + 2 * Kp + 8, c2_)
        j += 3
    while j < p:
        o = Kp * j + c0
        a0 = load4(Gp, o)
        b0 = load4(Gp, o + 4)
        c0_ = load4(Gp, o + 8)
        for q in range(n):
            x = splat4(X[r0 + q, j])
            a0 = fma4(x, load4(Dp, Kp * q + c0), a0)
            b0 = fma4(x, load4(Dp, Kp * q + c0 + 4), b0)
            c0_ = fma4(x, load4(Dp, Kp * q + c0 + 8), c0_)
        store4(Gp, o, a0)
        store4(Gp, o + 4, b0)
        store4(Gp, o + 8, c0_)
        j += 1


@njit(**_INLINE)
def _logits4(X, r0, n, Wp, Zp):
    """``Zp[q, 0:4] = Σⱼ X[r0+q, j] Wp[j, 0:4]`` for ``q < n`` when ``Kp = 4``: tiles of 8 rows
    (eight accumulators; a 4-row tile's four chains wait on the multiply-add latency). The
    hints stream one cache line per column: the tile's 8 rows ahead are ``8p`` contiguous
    elements, one line of 8 per step ``j`` (a hint per row and column, as the wider tiles
    give, would take as many load slots as the eight broadcasts; measured 1.09× faster per
    ``loss_gradient`` on S6 than the 4 × 4 tile, BENCHMARKS.md)."""
    p = X.shape[1]
    q = 0
    while q + 8 <= n:
        r = r0 + q
        f = r * p + PREFETCH_AHEAD
        a0 = zero4()
        a1 = zero4()
        a2 = zero4()
        a3 = zero4()
        a4 = zero4()
        a5 = zero4()
        a6 = zero4()
        a7 = zero4()
        for j in range(p):
            prefetch(X, f + 8 * j)
            w0 = load4(Wp, 4 * j)
            a0 = fma4(splat4(X[r, j]), w0, a0)
            a1 = fma4(splat4(X[r + 1, j]), w0, a1)
            a2 = fma4(splat4(X[r + 2, j]), w0, a2)
            a3 = fma4(splat4(X[r + 3, j]), w0, a3)
            a4 = fma4(splat4(X[r + 4, j]), w0, a4)
            a5 = fma4(splat4(X[r + 5, j]), w0, a5)
            a6 = fma4(splat4(X[r + 6, j]), w0, a6)
            a7 = fma4(splat4(X[r + 7, j]), w0, a7)
        _store8(Zp, 4 * q, a0, a1, a2, a3, a4, a5, a6, a7)
        q += 8
    while q < n:
        a0 = zero4()
        for j in range(p):
            a0 = fma4(splat4(X[r0 + q, j]), load4(Wp, 4 * j), a0)
        store4(Zp, 4 * q, a0)
        q += 1


@njit(**_INLINE)
def _store8(A, o, a0, a1, a2, a3, a4, a5, a6, a7):
    """``A[o : o + 32] = a0 … a7``: one 8 × 4 tile's eight 4-lane accumulators, in order."""
    store4(A, o, a0)
    store4(A, o + 4, a1)
    store4(A, o + 8, a2)
    store4(A, o + 12, a3)
    store4(A, o + 16, a4)
    store4(A, o + 20, a5)
    store4(A, o + 24, a6)
    store4(A, o + 28, a7)


@njit(**_INLINE)
def _update4(X, r0, n, Dp, Gp):
    """``Gp[j, 0:4] += Σ_{q<n} X[r0+q, j] Dp[q, 0:4]`` when ``Kp = 4``: tiles of 8 columns
    (eight accumulators, as :func:`_logits4`)."""
    p = X.shape[1]
    j = 0
    while j + 8 <= p:
        o = 4 * j
        a0 = load4(Gp, o)
        a1 = load4(Gp, o + 4)
        a2 = load4(Gp, o + 8)
        a3 = load4(Gp, o + 12)
        a4 = load4(Gp, o + 16)
        a5 = load4(Gp, o + 20)
        a6 = load4(Gp, o + 24)
        a7 = load4(Gp, o + 28)
        for q in range(n):
            r = r0 + q
            d0 = load4(Dp, 4 * q)
            a0 = fma4(splat4(X[r, j]), d0, a0)
            a1 = fma4(splat4(X[r, j + 1]), d0, a1)
            a2 = fma4(splat4(X[r, j + 2]), d0, a2)
            a3 = fma4(splat4(X[r, j + 3]), d0, a3)
            a4 = fma4(splat4(X[r, j + 4]), d0, a4)
            a5 = fma4(splat4(X[r, j + 5]), d0, a5)
            a6 = fma4(splat4(X[r, j + 6]), d0, a6)
            a7 = fma4(splat4(X[r, j + 7]), d0, a7)
        _store8(Gp, o, a0, a1, a2, a3, a4, a5, a6, a7)
        j += 8
    while j < p:
        o = 4 * j
        a0 = load4(Gp, o)
        for q in range(n):
            a0 = fma4(splat4(X[r0 + q, j]), load4(Dp, 4 * q), a0)
        store4(Gp, o, a0)
        j += 1


@njit(**_JIT)
def packed_logits(X, r0, n, Wp, Zp, wide=False):
    """``Zp[q, :] = X[r0+q] Wp`` for ``q < n`` (Wp (p, Kp), Zp (B, Kp)): 8-class tiles, the
    last 12 classes as one 12-class tile when ``Kp ≡ 4 (mod 8)``, a 4-class tile when
    ``Kp = 4``; with ``wide`` (``Kp`` a multiple of 8 then, or 4) the eight-lane tiles of
    :mod:`.wide_tiles`, 16-class groups and a last 8-class one."""
    Kp = Wp.shape[1]
    c0 = 0
    if wide and Kp != 4:
        while c0 + 16 <= Kp:
            wide_tiles.logits16(X, r0, n, Wp, c0, Zp, PREFETCH_AHEAD)
            c0 += 16
        if c0 < Kp:
            wide_tiles.logits8(X, r0, n, Wp, c0, Zp, PREFETCH_AHEAD)
        return
    while c0 + 8 <= Kp and Kp - c0 != 12:
        _logits8(X, r0, n, Wp, c0, Zp)
        c0 += 8
    if Kp - c0 == 12:
        _logits12(X, r0, n, Wp, c0, Zp)
    elif c0 < Kp:
        _logits4(X, r0, n, Wp, Zp)


@njit(**_JIT)
def packed_update(X, r0, n, Dp, Gp):
    """``Gp += X[r0:r0+n]ᵀ Dp[:n]`` (Dp (B, Kp), Gp (p, Kp)), rows in ascending order; the
    four-lane class groups of :func:`packed_logits` (the AVX-512 path updates by
    :func:`~.wide_tiles.update_cm` instead)."""
    Kp = Gp.shape[1]
    c0 = 0
    while c0 + 8 <= Kp and Kp - c0 != 12:
        _update8(X, r0, n, Dp, c0, Gp)
        c0 += 8
    if Kp - c0 == 12:
        _update12(X, r0, n, Dp, c0, Gp)
    elif c0 < Kp:
        _update4(X, r0, n, Dp, Gp)


@njit(**_JIT)
def add_rows(Dp, n, out):
    """``out[:Kp] += Σ_{i<n} Dp[i]`` (Dp (B, Kp), out (Kp,)) in the order of
    :func:`~softlogit.kernels.blocks.sum_fixed`, four classes per vector: rows ``i ≡ 0, 1, 2, 3
    (mod 4)`` into four partial sums (the rows past the last multiple of four into the first),
    then ``(s₀+s₁)+(s₂+s₃)``."""
    Kp = Dp.shape[1]
    c0 = 0
    while c0 < Kp:
        s0 = zero4()
        s1 = zero4()
        s2 = zero4()
        s3 = zero4()
        i = 0
        while i + 4 <= n:
            s0 = add4(s0, load4(Dp, Kp * i + c0))
            s1 = add4(s1, load4(Dp, Kp * (i + 1) + c0))
            s2 = add4(s2, load4(Dp, Kp * (i + 2) + c0))
            s3 = add4(s3, load4(Dp, Kp * (i + 3) + c0))
            i += 4
        while i < n:
            s0 = add4(s0, load4(Dp, Kp * i + c0))
            i += 1
        store4(out, c0, add4(load4(out, c0), add4(add4(s0, s1), add4(s2, s3))))
        c0 += 4


def widened_block(X, r0, n, Xw):
    """``(A, a0)`` with ``A[a0 + q] = X[r0 + q]`` in float64 for ``q < n`` (compiled only)."""
    raise NotImplementedError("only callable from compiled kernels")


@overload(widened_block, jit_options=dict(cache=True, nogil=True))
def _widened_block(X, r0, n, Xw):
    """float64 X is used in place; float32 rows are widened (exactly) into the block buffer
    ``Xw`` (B, p) first, in one vectorised copy: the tiles then broadcast float64 values
    (a float32 broadcast costs a conversion per multiply-add group, measured 1.6× slower)."""
    if X.dtype == types.float64:
        return lambda X, r0, n, Xw: (X, r0)

    def widen(X, r0, n, Xw):
        p = X.shape[1]
        for q in range(n):
            for j in range(p):
                Xw[q, j] = X[r0 + q, j]
        return Xw, 0

    return widen


@njit(**_INLINE)
def _transpose4(a0, a1, a2, a3):
    """The 4 × 4 transpose of the rows ``a0 … a3`` (eight shuffles)."""
    t0 = unpack_lo4(a0, a1)
    t1 = unpack_hi4(a0, a1)
    t2 = unpack_lo4(a2, a3)
    t3 = unpack_hi4(a2, a3)
    return halves_lo4(t0, t2), halves_lo4(t1, t3), halves_hi4(t0, t2), halves_hi4(t1, t3)


@njit(**_INLINE)
def _transpose_square(src, so, ss, dst, do, ds):
    """The 4 × 4 square of ``src`` at flat offset ``so`` (rows ``ss`` apart), transposed into
    ``dst`` at ``do`` (rows ``ds`` apart): both block transposes below are this square."""
    r0, r1, r2, r3 = _transpose4(load4(src, so), load4(src, so + ss), load4(src, so + 2 * ss),
                                 load4(src, so + 3 * ss))
    store4(dst, do, r0)
    store4(dst, do + ds, r1)
    store4(dst, do + 2 * ds, r2)
    store4(dst, do + 3 * ds, r3)


@njit(**_JIT)
def to_class_major(Zp, n, Z):
    """``Z[k, i] = Zp[i, k]`` for every lane ``k < Kp`` and ``i < 4⌈n/4⌉`` (Zp (≥ 4⌈n/4⌉, Kp),
    Z (Kp, ≥ 4⌈n/4⌉)), in 4 × 4 squares of vector shuffles.

    Why: the softmax stage runs across the rows of a block, the tiles along its classes; the
    element-by-element transposes folded into the stage's first and last loops (strided
    scalar loads and stores) measured about half of the whole stage in cache (K = 10, Kp = 16,
    B = 40: 11.4 of 23 ns a row), and more at a real optimum (1.3–1.6× per ``loss_gradient``,
    BENCHMARKS.md). Plain ``<4 x double>`` shuffles: AVX2 and AVX-512 alike. Rows past ``n``
    (up to the next multiple of 4) are copied too, whatever they hold; nothing reads them.
    """
    Kp = Zp.shape[1]
    Bz = Z.shape[1]
    for i in range(0, n, 4):
        for c in range(0, Kp, 4):
            _transpose_square(Zp, Kp * i + c, Kp, Z, Bz * c + i, Bz)


@njit(**_JIT)
def to_row_major(D, n, Dp):
    """``Dp[i, k] = D[k, i]``: the inverse of :func:`to_class_major` (same shapes, roles swapped)."""
    Kp = Dp.shape[1]
    Bz = D.shape[1]
    for i in range(0, n, 4):
        for c in range(0, Kp, 4):
            _transpose_square(D, Bz * c + i, Bz, Dp, Kp * i + c, Kp)
