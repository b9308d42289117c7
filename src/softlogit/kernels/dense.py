"""Fused single-pass kernels for dense, C-contiguous X (float32 or float64), in row blocks.

Every kernel visits each row of X once: rows are split into the fixed chunks of
:mod:`softlogit.kernels.partition`, each chunk into consecutive blocks of ``B`` rows
(:func:`~softlogit.kernels.partition.block_rows`, 16–32 KiB of X). For each block
(:mod:`softlogit.kernels.blocks`): the logits go into a float64 buffer; the losses and their
gradient coefficients are computed over the whole buffer in vectorised loops
(:mod:`softlogit.kernels.vecmath`'s ``exp``/``log1p``, no per-row libm call or branch); then
the block's rows, still in L1/L2, receive the gradient update. Binary: one dot product per row,
four rows per load/store of the gradient. Softmax: the block products ``Z_b = X_b Wᵀ`` and
``G += D_bᵀ X_b`` are register-blocked tiles (:mod:`softlogit.kernels.tiles`: 4 rows × 8
classes of partial sums held in vector registers), which do the K·p multiply-adds per row at a multiple of the
throughput of per-class dot products. So one ``loss_gradient`` reads X exactly once and
writes no (m, k) array. Each ``*_chunks`` kernel processes chunks ``c0 ≤ c < c1`` into
per-chunk float64 partials (``part_l`` (n,), ``part_g``, ``part_b`` (n, k));
:mod:`softlogit.kernels.threads` spreads chunk ranges over threads, and the partials are added
in chunk order (thread-count independent). The public functions at the bottom do all three.

Precision: logits, losses and all sums are float64 for both input dtypes (float32 values are
widened exactly on load; the softmax kernels widen a float32 block into a float64 buffer).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from softlogit.kernels.blocks import (
    binary_logits, binary_rows, binary_update, dot1, softmax_hard_packed, softmax_soft_packed,
    sum_fixed,
)
from softlogit.kernels.partition import binary_block_rows, block_rows
from softlogit.kernels.threads import reduce_chunks, run_chunks
from softlogit.kernels.tiles import (
    add_rows, dense_packed_width, packed_logits, packed_update, to_class_major, to_row_major,
    wide_lanes, widened_block,
)
from softlogit.kernels.wide_tiles import update_cm

_JIT = dict(fastmath=False, cache=True, nogil=True, error_model="numpy")


@njit(**_JIT)
def binary_loss_grad_chunks(X, w, b, y, s, B, bounds, part_l, part_g, part_b, c0, c1):
    """Sigmoid cross-entropy in one pass over X, in blocks of ``B`` rows.

    .. math::

        zᵢ = w·xᵢ + b,\\quad L = Σᵢ sᵢ ℓ(zᵢ, yᵢ),\\quad G = Σᵢ sᵢ (hᵢ − yᵢ) xᵢ,
        \\quad g_b = Σᵢ sᵢ (hᵢ − yᵢ)

    Parameters: X (m, p) C-contiguous; w (p,) float64; b float; y, s (m,); bounds (n+1,) chunk
    boundaries. Accumulates ``L``, ``G`` (1, p) and ``g_b`` (1,) per chunk; ``ℓ`` and its
    derivative are :func:`~softlogit.kernels.blocks.binary_rows`'s. Per block: the logits
    (rows in order), the losses and coefficients across the block, then the update while the
    block is in L1/L2. (Interleaving the update of one block with the logits of the next,
    as the kernel did before, measured 0.0–0.2 of the read *slower* at the fitted optimum.)
    """
    W = w.reshape((1, w.shape[0]))
    ahead = max(1, B // 2)  # rows between a row's dot product and its prefetch hints
    z = np.empty(B)
    d = np.empty(B)
    loss = np.empty(B)
    for c in range(c0, c1):
        lsum = 0.0
        gb = 0.0
        g = part_g[c, 0]
        end = bounds[c + 1]
        for r0 in range(bounds[c], end, B):
            n = min(B, end - r0)
            binary_logits(X, r0, n, W, b, z, ahead)
            binary_rows(z, y, s, r0, n, loss, d)
            lsum += sum_fixed(loss, n)
            gb += sum_fixed(d, n)
            binary_update(X, r0, n, d, g)
        part_l[c] = lsum
        part_b[c, 0] = gb


@njit(**_JIT)
def softmax_loss_grad_chunks(X, Wp, b, y_index, Y, hard, s, wide, B, bounds, part_l, part_g,
                            part_b, c0, c1):
    """Softmax cross-entropy in one pass over X, in blocks of ``B`` rows.

    .. math::

        zᵢ = W xᵢ + b,\\quad L = Σᵢ sᵢ ℓ(zᵢ, yᵢ),\\quad G = Σᵢ sᵢ (oᵢ − yᵢ) xᵢᵀ,
        \\quad g_b = Σᵢ sᵢ (oᵢ − yᵢ),\\quad oᵢ = \\mathrm{softmax}(zᵢ)

    (soft targets: ``(Σy) oᵢ − yᵢ``). ``Wp`` (p, Kp) is ``Wᵀ`` packed to ``Kp = 4⌈K/4⌉``
    classes (:mod:`.tiles`), ``b`` (K,) float64. Targets are ``y_index`` (m,) class indices
    when ``hard`` else the rows of ``Y`` (m, K); the unused one may be empty. Per block: the
    logits by register-blocked tiles (:func:`~.tiles.packed_logits`), the K exponentials, the
    loss and the coefficients across the block, read from and written to the packed layout
    (:func:`~.blocks.softmax_hard_packed`, class-major ``D``), the update ``Gp += X_bᵀ D_bᵀ``
    by tiles (:func:`~.tiles.packed_update`). Accumulates ``L``, ``Gᵀ`` packed (p, Kp) and
    ``g_b`` (K,) per chunk. With ``wide`` (AVX-512) the update is
    :func:`~.wide_tiles.update_cm` instead, straight from ``D`` into ``G`` class-major
    (Kp, p) partials; the same sums in the same order, so the same bits either way.
    """
    K = b.shape[0]
    Kp = Wp.shape[1]
    Xw = np.empty((B if X.itemsize != 8 else 0, X.shape[1]))  # float32 rows widened here
    B4 = 4 * (-(-B // 4))  # the transposes work in 4 × 4 squares
    Zp = np.zeros((B4, Kp))
    Dp = np.zeros((B4, Kp))
    Z = np.zeros((Kp, B4))
    D = np.zeros((Kp, B4))
    E = np.empty((K, B))
    top = np.empty(B, np.int64)
    mx = np.empty(B)
    rest = np.empty(B)
    t1 = np.empty(B)
    t2 = np.empty(B)
    loss = np.empty(B)
    gsum = np.zeros(Kp)
    for c in range(c0, c1):
        gsum[:] = 0.0
        lsum = 0.0
        end = bounds[c + 1]
        for r0 in range(bounds[c], end, B):
            n = min(B, end - r0)
            A, a0 = widened_block(X, r0, n, Xw)
            packed_logits(A, a0, n, Wp, Zp, wide)
            if hard:
                softmax_hard_packed(Zp, b, n, y_index[r0:r0 + n], s[r0:r0 + n], Z, E, top, mx,
                                    rest, t1, loss, D)
            else:
                softmax_soft_packed(Zp, b, n, Y[r0:r0 + n], s[r0:r0 + n], Z, E, top, mx, rest,
                                    t1, t2, loss, D)
            lsum += sum_fixed(loss, n)
            if wide:
                for k in range(Kp):  # add_rows's order: four partial sums, as sum_fixed
                    gsum[k] += sum_fixed(D[k], n)
                update_cm(A, a0, n, D, part_g[c], 4 * (-(-K // 4)))  # no all-padding group
            else:
                to_row_major(D, n, Dp)
                add_rows(Dp, n, gsum)
                packed_update(A, a0, n, Dp, part_g[c])
        part_l[c] = lsum
        part_b[c, :] = gsum[:K]


@njit(**_JIT)
def binary_hessp_chunks(X, v, vb, f, s, B, bounds, part_l, part_g, part_b, c0, c1):
    """Hessian-vector product of the sigmoid loss in one pass over X, in blocks of ``B`` rows.

    .. math::

        uᵢ = sᵢ\\, hᵢ(1−hᵢ)\\, (v·xᵢ + v_b),\\qquad \\text{returns } (Σᵢ uᵢ xᵢ,\\; Σᵢ uᵢ)

    ``f`` (m,) holds the factors ``h(1−h)``; ``v`` (p,) float64, ``vb`` float. The stages of
    :func:`binary_loss_grad_chunks` with ``uᵢ`` in place of the loss: the products ``v·xᵢ +
    v_b`` with their hints (:func:`~.blocks.binary_logits`), ``uᵢ`` across the block, then
    the update with its hints (:func:`~.blocks.binary_update`). For rows of at least
    :data:`HESSP_BLOCK_MIN_ROW_BYTES`; the loop of four rows at a time without hints
    (:func:`binary_hessp_rows_chunks`) ran at 0.50–0.69 of the read on S2 (p = 100 float64)
    and 0.57–0.61 on S3 (p = 80), these blocks at 0.82–0.95 and 0.89–1.0 (BENCHMARKS.md,
    "Per-pass speed", sixth session).
    """
    V = v.reshape((1, v.shape[0]))
    ahead = max(1, B // 2)
    u = np.empty(B)
    for c in range(c0, c1):
        g = part_g[c, 0]
        ub = 0.0
        end = bounds[c + 1]
        for r0 in range(bounds[c], end, B):
            n = min(B, end - r0)
            binary_logits(X, r0, n, V, vb, u, ahead)
            for q in range(n):
                u[q] = float(s[r0 + q]) * float(f[r0 + q]) * u[q]
            ub += sum_fixed(u, n)
            binary_update(X, r0, n, u, g)
        part_b[c, 0] = ub


@njit(**_JIT)
def binary_hessp_rows_chunks(X, v, vb, f, s, B, bounds, part_l, part_g, part_b, c0, c1):
    """Hessian-vector product of the sigmoid loss in one pass over X.

    .. math::

        uᵢ = sᵢ\\, hᵢ(1−hᵢ)\\, (v·xᵢ + v_b),\\qquad \\text{returns } (Σᵢ uᵢ xᵢ,\\; Σᵢ uᵢ)

    ``f`` (m,) holds the factors ``h(1−h)``; ``v`` (p,) float64, ``vb`` float. Four rows at a
    time, their dot products then their update while in L1, no hints (``B`` is unused): for
    short rows (below :data:`HESSP_BLOCK_MIN_ROW_BYTES`) this measured faster than the blocks
    of :func:`binary_hessp_chunks`, whose hint loops cost more there than they bring
    (S4, S12, p = 50 float64: blocks 1.04–1.25× slower; S10, 400-byte float32 rows: the same).
    """
    V = v.reshape((1, v.shape[0]))
    p = X.shape[1]
    for c in range(c0, c1):
        g = part_g[c, 0]
        ub = 0.0
        i = bounds[c]
        end = bounds[c + 1]
        while i + 4 <= end:
            u0 = float(s[i]) * float(f[i]) * (dot1(X, i, V, 0) + vb)
            u1 = float(s[i + 1]) * float(f[i + 1]) * (dot1(X, i + 1, V, 0) + vb)
            u2 = float(s[i + 2]) * float(f[i + 2]) * (dot1(X, i + 2, V, 0) + vb)
            u3 = float(s[i + 3]) * float(f[i + 3]) * (dot1(X, i + 3, V, 0) + vb)
            ub += (u0 + u1) + (u2 + u3)
            for j in range(p):
                g[j] += (u0 * X[i, j] + u1 * X[i + 1, j]) + (u2 * X[i + 2, j] + u3 * X[i + 3, j])
            i += 4
        while i < end:
            u0 = float(s[i]) * float(f[i]) * (dot1(X, i, V, 0) + vb)
            ub += u0
            for j in range(p):
                g[j] += u0 * X[i, j]
            i += 1
        part_b[c, 0] = ub


@njit(**_JIT)
def softmax_hessp_chunks(X, Vp, vb, O, s, wide, B, bounds, part_l, part_g, part_b, c0, c1):
    """Hessian-vector product of the softmax loss in one pass over X, in blocks of ``B`` rows.

    .. math::

        vᵢ = V xᵢ + v_b,\\quad uᵢₖ = sᵢ\\, oᵢₖ (vᵢₖ − oᵢ·vᵢ),
        \\qquad \\text{returns } (Σᵢ uᵢ xᵢᵀ,\\; Σᵢ uᵢ)

    i.e. ``(diag(o) − o oᵀ) v`` per row without forming a K×K matrix. ``O`` (m, K) holds the
    probabilities; ``Vp`` (p, Kp) is ``Vᵀ`` packed (:mod:`.tiles`), ``vb`` (K,) float64. The
    block products are the register-blocked tiles of :mod:`.tiles`, as in
    :func:`softmax_loss_grad_chunks`; ``u`` is formed row by row in the packed buffer itself
    (no transcendental function, and the rows of ``O`` are read contiguously). With ``wide``
    (AVX-512) ``u`` is turned class-major (:func:`~.tiles.to_class_major`) for the update of
    :func:`~.wide_tiles.update_cm`, as in :func:`softmax_loss_grad_chunks`: the same sums.
    """
    K = vb.shape[0]
    Kp = Vp.shape[1]
    Xw = np.empty((B if X.itemsize != 8 else 0, X.shape[1]))  # float32 rows widened here
    B4 = 4 * (-(-B // 4))  # the transpose works in 4 × 4 squares
    Tp = np.zeros((B4, Kp))
    U = np.zeros((Kp, B4) if wide else (0, 0))
    for c in range(c0, c1):
        gb = part_b[c]
        end = bounds[c + 1]
        for r0 in range(bounds[c], end, B):
            n = min(B, end - r0)
            A, a0 = widened_block(X, r0, n, Xw)
            packed_logits(A, a0, n, Vp, Tp, wide)
            for i in range(n):
                ov = 0.0
                for k in range(K):
                    Tp[i, k] += vb[k]
                    ov += float(O[r0 + i, k]) * Tp[i, k]
                si = float(s[r0 + i])
                for k in range(K):
                    u = si * float(O[r0 + i, k]) * (Tp[i, k] - ov)
                    Tp[i, k] = u
                    gb[k] += u
            if wide:
                to_class_major(Tp, n, U)
                update_cm(A, a0, n, U, part_g[c], 4 * (-(-K // 4)))
            else:
                packed_update(A, a0, n, Tp, part_g[c])


@njit(**_JIT)
def read_pass_chunks(X, bounds, part_l, c0, c1):
    """Read every element of X once: ``part_l[c] = Σ_{i ∈ chunk c} Σⱼ Xᵢⱼ`` (16 lanes, X's dtype).

    The benchmark's bandwidth floor: the time of this pass is the least any kernel that must
    read X can take on the same machine, in the same run.
    """
    p = X.shape[1]
    for c in range(c0, c1):
        acc = np.zeros(16, X.dtype)
        for i in range(bounds[c], bounds[c + 1]):
            x = X[i]
            j = 0
            while j + 16 <= p:
                for lane in range(16):
                    acc[lane] += x[j + lane]
                j += 16
            while j < p:
                acc[0] += x[j]
                j += 1
        part_l[c] = acc.sum()


# --- drivers: allocate partials, run chunk ranges on threads, add partials in chunk order ----

def _run(kernel, bounds, k, p, *args):
    """Run a binary ``kernel`` over all chunks with blocks of :func:`binary_block_rows` rows;
    add partials."""
    n = len(bounds) - 1
    X = args[0]
    args = args + (binary_block_rows(X.shape[1] * X.dtype.itemsize),)
    part_l = np.zeros(n)
    part_g = np.zeros((n, k, p))
    part_b = np.zeros((n, k))
    run_chunks(kernel, n, *args, bounds, part_l, part_g, part_b)
    return reduce_chunks(part_l, part_g, part_b)


def binary_loss_grad(X, w, b, y, s, bounds):
    """``(Σ sᵢℓᵢ, Σ sᵢ(hᵢ−yᵢ)xᵢ (1, p), Σ sᵢ(hᵢ−yᵢ) (1,))`` — see :func:`binary_loss_grad_chunks`."""
    return _run(binary_loss_grad_chunks, bounds, 1, X.shape[1], X, w, b, y, s)


#: Whether the softmax kernels use the eight-lane tiles (:func:`~.tiles.wide_lanes`: AVX-512).
WIDE = wide_lanes()


def _pack(W):
    """``Wᵀ`` (p, Kp) float64, classes zero-padded to :func:`~.tiles.dense_packed_width`."""
    K, p = W.shape
    Wp = np.zeros((p, dense_packed_width(K, WIDE)))
    Wp[:, :K] = W.T
    return Wp


def _run_packed(kernel, bounds, K, p, *args, class_major=False):
    """:func:`_run` for the packed softmax kernels: partials (n, p, Kp) → G (K, p), or
    (n, Kp, p) when the kernel's update is ``class_major``."""
    n = len(bounds) - 1
    X = args[0]
    args = args + (block_rows(X.shape[1] * X.dtype.itemsize, K, packed=True),)
    Kp = dense_packed_width(K, WIDE)
    part_l = np.zeros(n)
    part_g = np.zeros((n, Kp, p) if class_major else (n, p, Kp))
    part_b = np.zeros((n, K))
    run_chunks(kernel, n, *args, bounds, part_l, part_g, part_b)
    loss, Gp, gb = reduce_chunks(part_l, part_g, part_b)
    return loss, np.ascontiguousarray(Gp[:K] if class_major else Gp[:, :K].T), gb


def softmax_loss_grad(X, W, b, y_index, Y, hard, s, bounds):
    """``(Σ sᵢℓᵢ, Σ sᵢgᵢxᵢᵀ (K, p), Σ sᵢgᵢ (K,))`` — see :func:`softmax_loss_grad_chunks`."""
    K, p = W.shape
    return _run_packed(softmax_loss_grad_chunks, bounds, K, p, X, _pack(W), b, y_index, Y,
                       hard, s, WIDE, class_major=WIDE)


#: Row width (bytes) from which the binary Hessian product runs in blocks with hints
#: (:func:`binary_hessp_chunks`) instead of four rows at a time (:func:`binary_hessp_rows_chunks`):
#: measured faster at 640 and 800 bytes (p = 80, 100 float64), slower at 400 (p = 50 float64)
#: and the same at 400 (p = 100 float32); the threshold lies between.
HESSP_BLOCK_MIN_ROW_BYTES = 512


def binary_hessp(X, v, vb, f, s, bounds):
    """``(Σ uᵢxᵢ (1, p), Σ uᵢ (1,))`` — see :func:`binary_hessp_chunks`."""
    blocked = X.shape[1] * X.dtype.itemsize >= HESSP_BLOCK_MIN_ROW_BYTES
    kernel = binary_hessp_chunks if blocked else binary_hessp_rows_chunks
    return _run(kernel, bounds, 1, X.shape[1], X, v, vb, f, s)[1:]


def softmax_hessp(X, V, vb, O, s, bounds):
    """``(Σ uᵢxᵢᵀ (K, p), Σ uᵢ (K,))`` — see :func:`softmax_hessp_chunks`."""
    K, p = V.shape
    return _run_packed(softmax_hessp_chunks, bounds, K, p, X, _pack(V), vb, O, s, WIDE,
                       class_major=WIDE)[1:]


def read_pass(X, bounds):
    """One plain parallel read of C-contiguous X (the bandwidth floor); returns ``Σ X``."""
    n = len(bounds) - 1
    part_l = np.zeros(n)
    run_chunks(read_pass_chunks, n, X, bounds, part_l)
    return float(part_l.sum())
