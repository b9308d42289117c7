"""Fused single-pass kernels for dense, C-contiguous X (float32 or float64).

Every kernel visits each row of X once: the row (a few hundred bytes to a few KiB) is read from
memory for its logits and reused from L1 for its gradient contribution, so one
``loss_gradient`` reads X exactly once and writes no (m, k) array. Rows are split into the
fixed chunks of :mod:`softlogit.kernels.partition`; each ``*_chunks`` kernel processes chunks
``c0 ≤ c < c1`` into per-chunk float64 partials (``part_l`` (n,), ``part_g`` (n, k, p),
``part_b`` (n, k)); :mod:`softlogit.kernels.threads` spreads chunk ranges over threads, and the
partials are then added in chunk order (thread-count independent). The public functions at
the bottom of the module do all three steps.

Precision: logits, losses and all sums are float64 for both input dtypes (float32 values are
widened on load); the cost is nil because the kernels are bound by reading X.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from softlogit.kernels.rowloss import (
    binary_row, dot_row, softmax_hard_row, softmax_soft_row,
)
from softlogit.kernels.threads import reduce_chunks, run_chunks

_JIT = dict(fastmath=False, cache=True, nogil=True)


@njit(**_JIT)
def binary_loss_grad_chunks(X, w, b, y, s, bounds, part_l, part_g, part_b, c0, c1):
    """Sigmoid cross-entropy in one pass over X.

    .. math::

        zᵢ = w·xᵢ + b,\\quad L = Σᵢ sᵢ ℓ(zᵢ, yᵢ),\\quad G = Σᵢ sᵢ (hᵢ − yᵢ) xᵢ,
        \\quad g_b = Σᵢ sᵢ (hᵢ − yᵢ)

    Parameters: X (m, p) C-contiguous; w (p,) float64; b float; y, s (m,); bounds (n+1,) chunk
    boundaries. Accumulates ``L``, ``G`` (1, p) and ``g_b`` (1,) per chunk. Rows are taken four
    at a time so that the gradient row ``G`` is loaded and stored once per four rows.
    """
    p = X.shape[1]
    for c in range(c0, c1):
        g = part_g[c, 0]
        lsum = 0.0
        gb = 0.0
        i = bounds[c]
        end = bounds[c + 1]
        while i + 4 <= end:
            x0 = X[i]
            x1 = X[i + 1]
            x2 = X[i + 2]
            x3 = X[i + 3]
            l0, g0 = binary_row(dot_row(x0, w) + b, y[i])
            l1, g1 = binary_row(dot_row(x1, w) + b, y[i + 1])
            l2, g2 = binary_row(dot_row(x2, w) + b, y[i + 2])
            l3, g3 = binary_row(dot_row(x3, w) + b, y[i + 3])
            s0, s1, s2, s3 = s[i], s[i + 1], s[i + 2], s[i + 3]
            lsum += ((s0 * l0 + s1 * l1) + (s2 * l2 + s3 * l3))
            g0 *= s0
            g1 *= s1
            g2 *= s2
            g3 *= s3
            gb += ((g0 + g1) + (g2 + g3))
            for j in range(p):
                g[j] += (g0 * x0[j] + g1 * x1[j]) + (g2 * x2[j] + g3 * x3[j])
            i += 4
        while i < end:
            x0 = X[i]
            l0, g0 = binary_row(dot_row(x0, w) + b, y[i])
            lsum += s[i] * l0
            g0 *= s[i]
            gb += g0
            for j in range(p):
                g[j] += g0 * x0[j]
            i += 1
        part_l[c] = lsum
        part_b[c, 0] = gb


@njit(**_JIT)
def softmax_loss_grad_chunks(X, W, b, y_index, Y, hard, s, bounds, part_l, part_g, part_b,
                            c0, c1):
    """Softmax cross-entropy in one pass over X.

    .. math::

        zᵢ = W xᵢ + b,\\quad L = Σᵢ sᵢ ℓ(zᵢ, yᵢ),\\quad G = Σᵢ sᵢ (oᵢ − yᵢ) xᵢᵀ,
        \\quad g_b = Σᵢ sᵢ (oᵢ − yᵢ),\\quad oᵢ = \\mathrm{softmax}(zᵢ)

    (soft targets: ``(Σy) oᵢ − yᵢ``). ``W`` (K, p) and ``b`` (K,) are float64. Targets are
    ``y_index`` (m,) class indices when ``hard`` else the rows of ``Y`` (m, K); the unused one
    may be empty. Accumulates ``L``, ``G`` (K, p), ``g_b`` (K,) per chunk.
    """
    K, p = W.shape
    for c in range(c0, c1):
        G = part_g[c]
        gb = part_b[c]
        z = np.empty(K)
        e = np.empty(K)
        gz = np.empty(K)
        lsum = 0.0
        for i in range(bounds[c], bounds[c + 1]):
            x = X[i]
            for k in range(K):
                z[k] = dot_row(x, W[k]) + b[k]
            if hard:
                loss = softmax_hard_row(z, e, gz, y_index[i])
            else:
                loss = softmax_soft_row(z, e, gz, Y[i])
            si = s[i]
            lsum += si * loss
            for k in range(K):
                gk = si * gz[k]
                gb[k] += gk
                Gk = G[k]
                for j in range(p):
                    Gk[j] += gk * x[j]
        part_l[c] = lsum


@njit(**_JIT)
def binary_hessp_chunks(X, v, vb, f, s, bounds, part_l, part_g, part_b, c0, c1):
    """Hessian-vector product of the sigmoid loss in one pass over X.

    .. math::

        uᵢ = sᵢ\\, hᵢ(1−hᵢ)\\, (v·xᵢ + v_b),\\qquad \\text{returns } (Σᵢ uᵢ xᵢ,\\; Σᵢ uᵢ)

    ``f`` (m,) holds the factors ``h(1−h)``; ``v`` (p,) float64, ``vb`` float.
    """
    p = X.shape[1]
    for c in range(c0, c1):
        g = part_g[c, 0]
        ub = 0.0
        i = bounds[c]
        end = bounds[c + 1]
        while i + 4 <= end:
            x0 = X[i]
            x1 = X[i + 1]
            x2 = X[i + 2]
            x3 = X[i + 3]
            u0 = s[i] * f[i] * (dot_row(x0, v) + vb)
            u1 = s[i + 1] * f[i + 1] * (dot_row(x1, v) + vb)
            u2 = s[i + 2] * f[i + 2] * (dot_row(x2, v) + vb)
            u3 = s[i + 3] * f[i + 3] * (dot_row(x3, v) + vb)
            ub += (u0 + u1) + (u2 + u3)
            for j in range(p):
                g[j] += (u0 * x0[j] + u1 * x1[j]) + (u2 * x2[j] + u3 * x3[j])
            i += 4
        while i < end:
            x0 = X[i]
            u0 = s[i] * f[i] * (dot_row(x0, v) + vb)
            ub += u0
            for j in range(p):
                g[j] += u0 * x0[j]
            i += 1
        part_b[c, 0] = ub


@njit(**_JIT)
def softmax_hessp_chunks(X, V, vb, O, s, bounds, part_l, part_g, part_b, c0, c1):
    """Hessian-vector product of the softmax loss in one pass over X.

    .. math::

        vᵢ = V xᵢ + v_b,\\quad uᵢₖ = sᵢ\\, oᵢₖ (vᵢₖ − oᵢ·vᵢ),
        \\qquad \\text{returns } (Σᵢ uᵢ xᵢᵀ,\\; Σᵢ uᵢ)

    i.e. ``(diag(o) − o oᵀ) v`` per row without forming a K×K matrix. ``O`` (m, K) holds the
    probabilities; ``V`` (K, p) and ``vb`` (K,) are float64.
    """
    K, p = V.shape
    for c in range(c0, c1):
        G = part_g[c]
        gb = part_b[c]
        t = np.empty(K)
        for i in range(bounds[c], bounds[c + 1]):
            x = X[i]
            o = O[i]
            ov = 0.0
            for k in range(K):
                t[k] = dot_row(x, V[k]) + vb[k]
                ov += o[k] * t[k]
            si = s[i]
            for k in range(K):
                uk = si * o[k] * (t[k] - ov)
                gb[k] += uk
                Gk = G[k]
                for j in range(p):
                    Gk[j] += uk * x[j]


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
    n = len(bounds) - 1
    part_l = np.zeros(n)
    part_g = np.zeros((n, k, p))
    part_b = np.zeros((n, k))
    run_chunks(kernel, n, *args, bounds, part_l, part_g, part_b)
    return reduce_chunks(part_l, part_g, part_b)


def binary_loss_grad(X, w, b, y, s, bounds):
    """``(Σ sᵢℓᵢ, Σ sᵢ(hᵢ−yᵢ)xᵢ (1, p), Σ sᵢ(hᵢ−yᵢ) (1,))`` — see :func:`binary_loss_grad_chunks`."""
    return _run(binary_loss_grad_chunks, bounds, 1, X.shape[1], X, w, b, y, s)


def softmax_loss_grad(X, W, b, y_index, Y, hard, s, bounds):
    """``(Σ sᵢℓᵢ, Σ sᵢgᵢxᵢᵀ (K, p), Σ sᵢgᵢ (K,))`` — see :func:`softmax_loss_grad_chunks`."""
    return _run(softmax_loss_grad_chunks, bounds, W.shape[0], X.shape[1],
                X, W, b, y_index, Y, hard, s)


def binary_hessp(X, v, vb, f, s, bounds):
    """``(Σ uᵢxᵢ (1, p), Σ uᵢ (1,))`` — see :func:`binary_hessp_chunks`."""
    return _run(binary_hessp_chunks, bounds, 1, X.shape[1], X, v, vb, f, s)[1:]


def softmax_hessp(X, V, vb, O, s, bounds):
    """``(Σ uᵢxᵢᵀ (K, p), Σ uᵢ (K,))`` — see :func:`softmax_hessp_chunks`."""
    return _run(softmax_hessp_chunks, bounds, V.shape[0], X.shape[1], X, V, vb, O, s)[1:]


def read_pass(X, bounds):
    """One plain parallel read of C-contiguous X (the bandwidth floor); returns ``Σ X``."""
    n = len(bounds) - 1
    part_l = np.zeros(n)
    run_chunks(read_pass_chunks, n, X, bounds, part_l)
    return float(part_l.sum())
