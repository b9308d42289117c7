"""Row-block pieces of the fused kernels: logits into a buffer, the losses over the buffer.

Every kernel processes a chunk of rows in consecutive *blocks* of ``B`` rows (``B`` from
:func:`softlogit.kernels.partition.block_rows`, a function of the row width only): (1) the
block's logits go into a small float64 buffer (binary: :func:`binary_logits`; softmax: the
register-blocked tiles of :mod:`.tiles`); (2) the losses, the transcendental functions
(:mod:`.vecmath`) and the gradient coefficients are computed over the whole buffer in loops
without branches or calls, which LLVM vectorises; (3) the gradient update re-reads the block's
rows from L1/L2 (binary: :func:`binary_update`). The softmax buffers are laid out (K, B), so that each step runs across the
rows of the block, the K exponentials included.

Stability is that of :mod:`softlogit.losses` (the per-row formulas are the same as those of
the former per-row kernels, now written as selects): finite for every finite logit, no overflow. All sums
over the block are taken in a fixed order (:func:`sum_fixed`), so results are independent of the
thread count.
"""

from __future__ import annotations

from numba import njit

from softlogit.kernels.tiles import prefetch, to_class_major
from softlogit.kernels.vecmath import exp_scalar, log1p_inv_scalar, log1p_scalar

_VEC = dict(cache=True, fastmath={"contract"}, nogil=True, error_model="numpy")
# reassoc for the dot products alone (SIMD partial sums; no nnan/ninf flags).
_DOT = dict(cache=True, fastmath={"reassoc", "contract"}, nogil=True)

#: The most negative finite float64: shifted logits saturate here instead of becoming −inf.
NEG_MAX = -1.7976931348623157e308


@njit(**_DOT)
def dot1(X, i, W, k):
    """``X[i]·W[k]`` in float64 (float32 ``X`` is widened on load).

    Helpers take whole arrays and row indices, never row views: a view costs Numba two atomic
    reference-count updates, measured as the dominant cost of a per-row loop here.
    """
    acc = 0.0
    for j in range(W.shape[1]):
        acc += X[i, j] * W[k, j]
    return acc


@njit(**_VEC)
def sum_fixed(a, n):
    """``Σ_{i<n} aᵢ`` in four interleaved partial sums, then ``(s₀+s₁)+(s₂+s₃)``: a fixed
    order (the same on every machine and thread count) with four-fold instruction parallelism."""
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    i = 0
    while i + 4 <= n:
        s0 += a[i]
        s1 += a[i + 1]
        s2 += a[i + 2]
        s3 += a[i + 3]
        i += 4
    while i < n:
        s0 += a[i]
        i += 1
    return (s0 + s1) + (s2 + s3)


@njit(**_VEC)
def binary_logits(X, r0, n, W, b, z, ahead):
    """``z[q] = W[0]·X[r0+q] + b`` for ``q < n``: one dot product per row, rows strictly in order,
    each row's cache lines ``ahead`` rows further on asked for (:func:`~.tiles.prefetch`).

    In order matters: reading the block's rows one after the other is the one access pattern
    the hardware prefetcher streams at the speed of a plain read (dot products of four rows at
    once sharing the loads of ``W`` measured 0.55–0.72 of the read against 0.73–0.83 for this,
    two threads at the fitted optimum; see BENCHMARKS.md, "Per-pass speed"). ``W`` is (1, p).

    Why the hints: the loss and update stages read no new memory, so the hardware stream
    stalls while they run and restarts at the next block. With ``ahead`` = half a block
    (``B // 2`` rows, 8 KiB at the usual 16 KiB blocks), the next block's first half is
    already on its way while this block's losses and update are computed (measured 0.85–1.0
    of the time without, p = 50 float64 and p = 100 float32; one block ahead measured less
    steady). A hint past the end of X is harmless (a prefetch never faults) and changes no
    result.
    """
    p = X.shape[1]
    step = max(1, 64 // X.itemsize)  # one hint per 64-byte cache line
    for q in range(n):
        r = r0 + q
        f = (r + ahead) * p
        for j in range(0, p, step):
            prefetch(X, f + j)
        z[q] = dot1(X, r, W, 0) + b


@njit(**_VEC)
def binary_update(X, r0, n, d, g):
    """``g += Σ_{q<n} d[q] X[r0+q]``: four rows per load/store of ``g`` (rows ascending; each
    four as ``(d₀x₀ + d₁x₁) + (d₂x₂ + d₃x₃)``), then the last ``n mod 4`` rows one by one.

    Called right after the block's logits and losses, so its rows are still in L1/L2. Each
    four rows also ask for the cache lines of the four rows ``n`` further on (the next
    block's, :func:`~.tiles.prefetch`): this stage reads no new memory, and with hints only in
    :func:`binary_logits` (half a block ahead) the memory stream idled while it ran. Measured
    at the fitted optimum on the AVX-512 machine, four locked in-process runs at load 5
    (BENCHMARKS.md, "Per-pass speed", sixth session): S3 0.87–0.93 of the time; S1, S2, S5,
    S12 0.94–0.98 of the process CPU time (wall times scattered, 0.80–1.10); S4 and S10
    unchanged (0.98–1.03). Hints here alone, without those of the logits stage, were
    1.04–1.16× slower. A hint changes no result and never faults.
    """
    p = X.shape[1]
    step = max(1, 64 // X.itemsize)  # one hint per 64-byte cache line
    i = 0
    while i + 4 <= n:
        r = r0 + i
        f = (r + n) * p
        for j in range(0, 4 * p, step):
            prefetch(X, f + j)
        d0, d1, d2, d3 = d[i], d[i + 1], d[i + 2], d[i + 3]
        for j in range(p):
            g[j] += (d0 * X[r, j] + d1 * X[r + 1, j]) + (d2 * X[r + 2, j] + d3 * X[r + 3, j])
        i += 4
    for q in range(i, n):
        r = r0 + q
        d0 = d[q]
        for j in range(p):
            g[j] += d0 * X[r, j]


@njit(**_VEC)
def binary_rows(z, y, s, r0, n, loss, d):
    """Sigmoid cross-entropy over a block of logits ``z`` (n,), targets ``y[r0+i] ∈ [0, 1]``.

    .. math::

        ℓ = (1−y)\\max(z,0) + y\\max(−z,0) + \\log(1+e),\\quad e = e^{−|z|},\\qquad
        ∂ℓ/∂z = \\begin{cases} (1−y) − q & z ≥ 0 \\\\ q − y & z < 0\\end{cases},\\quad
        q = \\frac{e}{1+e}

    A sum of non-negative terms (no cancellation), ``e ≤ 1`` (no overflow), and ``q = σ(−|z|)``
    instead of ``1 − σ(z)`` (which rounds to 0 for z > 37). One reciprocal ``1 ⊘ (1 ⊕ e)``
    serves both ``q = e·(1/(1+e))`` and ``log1p``'s correction term
    (:func:`~softlogit.kernels.vecmath.log1p_inv_scalar`): one vector division fewer per four
    rows, measured 1–6 % faster at the fitted optimum (BENCHMARKS.md, "Per-pass speed"). Writes
    ``loss[i] = sᵢℓᵢ`` and ``d[i] = sᵢ ∂ℓᵢ/∂zᵢ`` for ``i < n``, reading ``y[r0+i]`` and
    ``s[r0+i]`` (any float dtype): whole arrays and an offset, not slices, since a slice costs
    two atomic reference-count updates per block.
    """
    for i in range(n):
        zi = z[i]
        e = exp_scalar(-abs(zi))
        u = 1.0 + e
        inv = 1.0 / u
        q = e * inv
        yi = float(y[r0 + i])
        si = float(s[r0 + i])
        pos = zi >= 0.0
        li = (1.0 - yi) * max(zi, 0.0) + yi * max(-zi, 0.0) + log1p_inv_scalar(e, u, inv)
        gi = ((1.0 - yi) - q) if pos else (q - yi)
        loss[i] = si * li
        d[i] = si * gi


@njit(**_VEC)
def softmax_block(Z, E, n, top, rest, lse):
    """Shift, exponentiate and log-sum-exp a block of softmax logits ``Z`` (K, B), in place.

    For each row ``i < n`` (a column of the buffers):
    ``Z[k, i] ← s_k = max(z_k − max z, NEG_MAX)`` (every exponent ≤ 0: no overflow; a shift
    beyond the float range saturates instead of becoming −inf), ``E[k, i] = e^{s_k}``,
    ``top[i]`` the first arg-max, ``rest[i] = Σ_{k≠top} e^{s_k}`` (the sum without the
    maximum's ``e⁰ = 1``) and ``lse[i] = log1p(rest)``: ``log1p`` keeps a tiny ``rest`` that
    ``log(1 + rest)`` would round to 0. All loops run across the rows of the block.
    """
    K = Z.shape[0]
    Z0 = Z[0]
    for i in range(n):
        top[i] = 0
        rest[i] = Z0[i]  # the running maximum, for now
    for k in range(1, K):
        Zk = Z[k]
        for i in range(n):
            better = Zk[i] > rest[i]
            top[i] = k if better else top[i]
            rest[i] = Zk[i] if better else rest[i]
    for k in range(K):
        Zk = Z[k]
        Ek = E[k]
        for i in range(n):
            sk = max(Zk[i] - rest[i], NEG_MAX)
            Zk[i] = sk
            Ek[i] = exp_scalar(sk)
    for i in range(n):
        rest[i] = 0.0
    for k in range(K):
        Ek = E[k]
        for i in range(n):
            rest[i] += Ek[i] if top[i] != k else 0.0
    for i in range(n):
        lse[i] = log1p_scalar(rest[i])


@njit(**_VEC)
def softmax_hard_block(Z, E, n, c, s, top, rest, lse, loss, D):
    """Class-index targets ``c`` (n,): ``ℓ = lse − s_c``, ``∂ℓ/∂z_k = e^{s_k}/(1+rest) − 1[k=c]``.

    After :func:`softmax_block`. At the arg-max the probability is ``1/(1+rest)``, so ``o − 1``
    there is formed as ``−rest/(1+rest)`` (it keeps its digits when ``rest`` is tiny). Writes
    ``loss[i] = sᵢℓᵢ`` and ``D[k, i] = sᵢ ∂ℓᵢ/∂z_k``; ``rest`` and ``lse`` are overwritten.
    """
    K = Z.shape[0]
    for i in range(n):
        loss[i] = lse[i]
        inv = 1.0 / (1.0 + rest[i])
        lse[i] = inv  # from here on: 1/(1+rest)
        rest[i] = rest[i] * inv  # and rest/(1+rest), the arg-max's 1 − o
    for k in range(K):
        Zk = Z[k]
        Ek = E[k]
        Dk = D[k]
        for i in range(n):
            hit = c[i] == k
            loss[i] = (loss[i] - Zk[i]) if hit else loss[i]
            o = Ek[i] * lse[i]
            g = (-rest[i] if top[i] == k else o - 1.0) if hit else o
            Dk[i] = float(s[i]) * g
    for i in range(n):
        loss[i] = float(s[i]) * loss[i]


@njit(**_VEC)
def softmax_soft_block(Z, E, n, Y, s, top, rest, lse, loss, D):
    """Probability-row targets ``Y`` (n, K): ``ℓ = (Σy) lse − y·s``, ``∂ℓ/∂z = (Σy) o − y``.

    After :func:`softmax_block`. At the arg-max, ``(Σy)/(1+rest) − y_top`` is formed as
    ``(Σy − y_top) − (Σy)·rest/(1+rest)`` (no cancellation when the row is confident and
    right); ``0·s`` for a saturated ``s`` is skipped (it stays 0). Writes ``loss[i] = sᵢℓᵢ`` and
    ``D[k, i] = sᵢ ∂ℓᵢ/∂z_k``; ``rest``, ``lse`` and ``E`` are overwritten.
    """
    K = Z.shape[0]
    for i in range(n):
        inv = 1.0 / (1.0 + rest[i])
        rest[i] = rest[i] * inv
        loss[i] = lse[i]
        lse[i] = inv
    ysum = D[K]  # spare rows of D: Σy and y·s per row
    ys = D[K + 1]
    for i in range(n):
        ysum[i] = 0.0
        ys[i] = 0.0
    for k in range(K):
        Zk = Z[k]
        for i in range(n):
            yk = float(Y[i, k])
            ysum[i] += yk
            ys[i] += (yk * Zk[i]) if yk != 0.0 else 0.0
    for k in range(K):
        Ek = E[k]
        Dk = D[k]
        for i in range(n):
            yk = float(Y[i, k])
            g = ((ysum[i] - yk) - ysum[i] * rest[i]) if top[i] == k else (Ek[i] * lse[i]) * ysum[i] - yk
            Dk[i] = float(s[i]) * g
    for i in range(n):
        loss[i] = float(s[i]) * (ysum[i] * loss[i] - ys[i])


# --- the dense kernels' softmax stage: packed logits in, packed coefficients out ---------------
#
# The register tiles of :mod:`.tiles` produce the block's logits row-major, (B, Kp). The
# functions below turn them class-major with vector shuffles (:func:`~.tiles.to_class_major`),
# run across the rows of the block and write the coefficients class-major (the caller turns
# them back, :func:`~.tiles.to_row_major`, for the four-lane update tiles); they fuse the
# passes of :func:`softmax_block` and :func:`softmax_hard_block`: the target's logit and the sum
# of the non-maximal exponentials are gathered inside the loop that exponentiates. The
# arithmetic, and its order, is that of the (K, B) functions above. (Until this session the
# transposes were folded element by element into the first and last loops, as strided scalar
# loads and stores: at S6's and S7's optima the shuffles made the whole ``loss_gradient``
# 1.3–1.6× faster, bitwise the same; BENCHMARKS.md, sixth session.)


@njit(**_VEC)
def _bias_argmax(Z, b, n, top, mx):
    """``Z[k, i] += b[k]``; ``mx[i] = max_k Z[k, i]``, ``top[i]`` its first index (Z class-major)."""
    K = b.shape[0]
    b0 = b[0]
    Z0 = Z[0]
    for i in range(n):
        v = Z0[i] + b0
        Z0[i] = v
        mx[i] = v
        top[i] = 0
    for k in range(1, K):
        bk = b[k]
        Zk = Z[k]
        for i in range(n):
            v = Zk[i] + bk
            Zk[i] = v
            better = v > mx[i]
            top[i] = k if better else top[i]
            mx[i] = v if better else mx[i]


@njit(**_VEC)
def softmax_hard_packed(Zp, b, n, c, s, Z, E, top, mx, rest, zc, loss, D):
    """Softmax cross-entropy of a block with class-index targets, packed layout in and out.

    .. math::

        s_k = \\max(z_k + b_k − \\max_j z_j, \\mathrm{NEG\\_MAX}),\\quad
        r = Σ_{k≠\\mathrm{top}} e^{s_k},\\quad ℓ = \\log1p(r) − s_c,\\quad
        ∂ℓ/∂z_k = \\frac{e^{s_k}}{1+r} − 1[k=c]

    (the arg-max's ``o − 1`` as ``−r/(1+r)``), the formulas of :func:`softmax_block` and
    :func:`softmax_hard_block`. ``Zp`` (B4, Kp) holds the block's logits without the intercept
    ``b`` (K,), with ``B4 = 4⌈B/4⌉``; ``c`` (n,) the class indices, ``s`` (n,) the weights.
    Writes ``loss[i] = sᵢℓᵢ`` and ``D[k, i] = sᵢ ∂ℓᵢ/∂z_k`` for ``k < K``, ``i < n``,
    class-major: ``D`` (Kp, B4), whose padding rows ``k ≥ K`` must stay zero (the update takes
    them as the padding classes; the four-lane path turns ``D`` back into the tiles' ``Dp`` by
    :func:`~.tiles.to_row_major`). ``Z`` (Kp, B4), ``E`` (K, B), ``top`` (B,) int64 and ``mx``,
    ``rest``, ``zc`` (B,) are scratch.
    """
    K = b.shape[0]
    to_class_major(Zp, n, Z)
    _bias_argmax(Z, b, n, top, mx)
    for i in range(n):
        rest[i] = 0.0
        zc[i] = 0.0
    for k in range(K):
        Zk = Z[k]
        Ek = E[k]
        for i in range(n):
            sk = max(Zk[i] - mx[i], NEG_MAX)
            e = exp_scalar(sk)
            Ek[i] = e
            rest[i] += e if top[i] != k else 0.0
            zc[i] += sk if c[i] == k else 0.0
    for i in range(n):
        r = rest[i]
        inv = 1.0 / (1.0 + r)
        loss[i] = float(s[i]) * (log1p_scalar(r) - zc[i])
        mx[i] = inv  # from here on: 1/(1+r)
        rest[i] = r * inv  # and r/(1+r), the arg-max's 1 − o
    for k in range(K):
        Ek = E[k]
        Dk = D[k]
        for i in range(n):
            o = Ek[i] * mx[i]
            g = (-rest[i] if top[i] == k else o - 1.0) if c[i] == k else o
            Dk[i] = float(s[i]) * g


@njit(**_VEC)
def softmax_soft_packed(Zp, b, n, Y, s, Z, E, top, mx, rest, ysum, ys, loss, D):
    """Softmax cross-entropy of a block with probability-row targets ``Y`` (n, K), packed
    layout in and out: ``ℓ = (Σy) log1p(r) − y·s``, ``∂ℓ/∂z = (Σy) o − y`` (the arg-max's as
    ``(Σy − y_top) − (Σy) r/(1+r)``; ``0·s`` skipped), the formulas of :func:`softmax_block`
    and :func:`softmax_soft_block`. Arguments as :func:`softmax_hard_packed`'s (``D`` and the
    shapes included), with scratch ``ysum``, ``ys`` (B,) instead of ``zc``.
    """
    K = b.shape[0]
    to_class_major(Zp, n, Z)
    _bias_argmax(Z, b, n, top, mx)
    for i in range(n):
        rest[i] = 0.0
        ysum[i] = 0.0
        ys[i] = 0.0
    for k in range(K):
        Zk = Z[k]
        Ek = E[k]
        for i in range(n):
            sk = max(Zk[i] - mx[i], NEG_MAX)
            e = exp_scalar(sk)
            Ek[i] = e
            rest[i] += e if top[i] != k else 0.0
            yk = float(Y[i, k])
            ysum[i] += yk
            ys[i] += (yk * sk) if yk != 0.0 else 0.0
    for i in range(n):
        r = rest[i]
        inv = 1.0 / (1.0 + r)
        loss[i] = float(s[i]) * (ysum[i] * log1p_scalar(r) - ys[i])
        mx[i] = inv
        rest[i] = r * inv
    for k in range(K):
        Ek = E[k]
        Dk = D[k]
        for i in range(n):
            yk = float(Y[i, k])
            g = ((ysum[i] - yk) - ysum[i] * rest[i]) if top[i] == k else (Ek[i] * mx[i]) * ysum[i] - yk
            Dk[i] = float(s[i]) * g
