"""Sums over one run of stored sparse entries: the inner loops of every CSR/CSC kernel.

A *run* is the stored entries ``a ≤ nz < e`` of one row of CSR X (or one column of its CSC
copy): values ``vals[nz]`` at positions ``idx[nz]``. Two operations cover all the kernels:

* a gather ``Σ_nz vals[nz] · M[idx[nz], :]`` — a row's logits (``M = Wᵀ``) or, over the CSC
  copy, one column of ``Xᵀ D`` (``M = D``, the per-row coefficients);
* a scatter ``M[idx[nz], :] += vals[nz] · u`` — a row's gradient update into a partial.

With one logit the sums are scalar, taken in four interleaved partial sums added as
``(s₀+s₁)+(s₂+s₃)`` (the loop-carried dependency would otherwise be one add latency per
stored entry). With K logits the rows of ``M`` are packed to ``Kp = 4⌈K/4⌉`` float64 lanes
(:func:`~softlogit.kernels.tiles.packed_width`; padding lanes carry zeros) and summed as
:class:`~softlogit.kernels.simd.F64x4` vectors, two stored entries at a time in separate
accumulators. Every sum has a fixed order (a function of the run alone), so results never
depend on the thread count.

Positions, and the entry counter ``nz`` itself, are unsigned (``uint64``) when they index an
array: it drops Numba's negative-index wraparound (a compare and an add per load). Casting the
positions alone measured ~15–25 % of the gather's time; the counter as well took the one-logit
gather from 1.15 to 0.77 ns per stored entry (one thread, S11, AVX-512 machine; SciPy's
``X @ w``: 0.88). Keep every counter arithmetic in ``uint64`` (``nz + U4``): Numba widens a
mix of ``uint64`` and ``int64`` to float64. Positions are valid by construction (CSR/CSC in
canonical form, checked by SciPy).
"""

from __future__ import annotations

from numba import njit, uint64

from softlogit.kernels.simd import fma4, load4, splat4, store4, zero4

_JIT = dict(cache=True, nogil=True, error_model="numpy")

U1 = uint64(1)
U2 = uint64(2)
U3 = uint64(3)
U4 = uint64(4)


@njit(**_JIT)
def dot_run(vals, idx, a, e, v):
    """``Σ_{a≤nz<e} vals[nz] · v[idx[nz]]`` in float64 (``v`` 1-D)."""
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    nz = uint64(a)
    end = uint64(e)
    while nz + U4 <= end:
        s0 += vals[nz] * v[uint64(idx[nz])]
        s1 += vals[nz + U1] * v[uint64(idx[nz + U1])]
        s2 += vals[nz + U2] * v[uint64(idx[nz + U2])]
        s3 += vals[nz + U3] * v[uint64(idx[nz + U3])]
        nz += U4
    while nz < end:
        s0 += vals[nz] * v[uint64(idx[nz])]
        nz += U1
    return (s0 + s1) + (s2 + s3)


@njit(**_JIT)
def dot_run_packed(vals, idx, a, e, M, out, off):
    """``out.flat[off + c] = Σ_{a≤nz<e} vals[nz] · M[idx[nz], c]`` for every lane ``c < Kp``.

    ``M`` is (n, Kp) C-contiguous float64 with ``Kp`` a multiple of 4; ``out`` any
    C-contiguous float64 array with ``off + Kp ≤ out.size``. Eight lanes at a time (four when
    ``Kp`` is not a multiple of 8, for the last group).
    """
    Kp = M.shape[1]
    one = splat4(1.0)
    end = uint64(e)
    c0 = 0
    while c0 + 8 <= Kp:
        a0 = zero4()
        a1 = zero4()
        b0 = zero4()
        b1 = zero4()
        nz = uint64(a)
        while nz + U2 <= end:
            x0 = splat4(vals[nz])
            x1 = splat4(vals[nz + U1])
            o0 = int(idx[nz]) * Kp + c0
            o1 = int(idx[nz + U1]) * Kp + c0
            a0 = fma4(x0, load4(M, o0), a0)
            a1 = fma4(x0, load4(M, o0 + 4), a1)
            b0 = fma4(x1, load4(M, o1), b0)
            b1 = fma4(x1, load4(M, o1 + 4), b1)
            nz += U2
        if nz < end:
            x0 = splat4(vals[nz])
            o0 = int(idx[nz]) * Kp + c0
            a0 = fma4(x0, load4(M, o0), a0)
            a1 = fma4(x0, load4(M, o0 + 4), a1)
        store4(out, off + c0, fma4(a0, one, b0))  # a + b with one rounding
        store4(out, off + c0 + 4, fma4(a1, one, b1))
        c0 += 8
    if c0 < Kp:
        a0 = zero4()
        b0 = zero4()
        nz = uint64(a)
        while nz + U2 <= end:
            a0 = fma4(splat4(vals[nz]), load4(M, int(idx[nz]) * Kp + c0), a0)
            b0 = fma4(splat4(vals[nz + U1]), load4(M, int(idx[nz + U1]) * Kp + c0), b0)
            nz += U2
        if nz < end:
            a0 = fma4(splat4(vals[nz]), load4(M, int(idx[nz]) * Kp + c0), a0)
        store4(out, off + c0, fma4(a0, one, b0))


@njit(**_JIT)
def axpy_run(vals, idx, a, e, u, g):
    """``g[idx[nz]] += vals[nz] · u`` for ``a ≤ nz < e`` (``g`` 1-D float64)."""
    for nz in range(uint64(a), uint64(e)):
        j = uint64(idx[nz])
        g[j] += vals[nz] * u
    return 0


@njit(**_JIT)
def axpy_run_packed(vals, idx, a, e, U, off, G):
    """``G[idx[nz], c] += vals[nz] · U.flat[off + c]`` for ``a ≤ nz < e`` and every ``c < Kp``.

    ``G`` is (n, Kp) C-contiguous float64 (``Kp`` a multiple of 4); ``U`` any C-contiguous
    float64 array holding the Kp coefficients of the run at ``off``.
    """
    Kp = G.shape[1]
    for c0 in range(0, Kp, 4):
        u = load4(U, off + c0)
        for nz in range(uint64(a), uint64(e)):
            o = int(idx[nz]) * Kp + c0
            store4(G, o, fma4(splat4(vals[nz]), u, load4(G, o)))
    return 0


@njit(**_JIT)
def gather_chunks(vals, idx, ptr, M, bounds, out, c0, c1):
    """``out[r, :] = Σ_{ptr[r]≤nz<ptr[r+1]} vals[nz] · M[idx[nz], :]`` for the runs ``r`` of
    chunks ``c0 ≤ c < c1`` (``bounds`` over runs).

    Over CSR X with ``M = Wᵀ`` packed: the logits ``X Wᵀ``. Over the CSC copy with ``M = D``:
    ``Xᵀ D``, one column per run, each a complete sum (no partials to reduce). ``M`` and ``out``
    are C-contiguous float64 of equal width: 1 (scalar sums) or a multiple of 4 (packed lanes).
    """
    width = M.shape[1]
    if width == 1:
        v = M.reshape(M.shape[0])
        o = out.reshape(out.shape[0])
        for c in range(c0, c1):
            for r in range(bounds[c], bounds[c + 1]):
                o[r] = dot_run(vals, idx, ptr[r], ptr[r + 1], v)
    else:
        for c in range(c0, c1):
            for r in range(bounds[c], bounds[c + 1]):
                dot_run_packed(vals, idx, ptr[r], ptr[r + 1], M, out, r * width)
