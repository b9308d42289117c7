"""The proximal-Newton model Hessian of a path's screened solves, formed by BLAS ``syrk``.

Along an L1 path almost all the time went into forming ``H = X̃ᵀ diag(d) X̃`` on the screened
columns (measured, 8000 × 200, 10 Cs, 5 folds: 12 of 20 s in the row kernel of
the rank-4 Numba row kernel the dense designs used then). The Hessian here only builds the *model* that the
coordinate descent minimises: the gradient, the line search and the stopping rule use the exact
float64 objective, so a model Hessian rounded to float32 changes where the solver stops by
nothing but the extra outer iteration it may cost (the answer still meets the same
``‖g_opt‖ ≤ tol·‖g_opt(0)‖``). Single precision halves the bytes and doubles the SIMD width of
the rank update; together with BLAS's blocked ``syrk`` (one thread: the path's folds are the
parallel unit) it forms the 6400 × 201 Hessian in ~15 ms against ~80 ms for the row kernel on
two threads (same shared machine).

Formula (binary; for the softmax each block ``(k, l)`` with ``w_kl = oₖ(δₖₗ − oₗ)``):

.. math::  H = \\frac{1}{Σs} Ãᵀ Ã + λ_2 \\mathrm{diag}(\\text{mask}), \\quad
           Ã = \\sqrt{s ⊙ h(1−h)} ⊙ [X | 1]

(row-scaled; blocks whose weights can be negative use ``X̃ᵀ (w ⊙ X̃)`` by ``gemm``).
"""

from __future__ import annotations

import functools

import numpy as np

from softlogit.objective import LinearObjective

#: Features beyond this magnitude would overflow a float32 Hessian (``x² · m``): such columns
#: keep the float64 Hessian of :class:`LinearObjective`.
FLOAT32_SAFE_MAX = 1e15
#: The float32 copy of X̃ is made only up to this size; a larger X keeps the parent's Hessian
#: (no extra half-copy of a big X in memory).
FLOAT32_COPY_MAX_BYTES = 1 << 28


class ModelHessianObjective(LinearObjective):
    """A dense :class:`LinearObjective` whose :meth:`hessian` is the float32 BLAS model Hessian.

    Everything else (loss, gradient, Hessian products) is the parent's, in X's dtype.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tilde_box = [None]  # shared by shallow copies (the path's objective per C)

    def hessian(self, params) -> np.ndarray:
        Xt = self._float32_design()
        if Xt is None:
            return super().hessian(params)
        k_out, q = self.n_logits, Xt.shape[1]
        # The weights come from the exact float64 logits: float32 logits moved where the
        # solver stops by ~1e-7 (scikit-learn's sample-weight equivalence check failed).
        factors = self.hessian_factors(params)
        s = np.asarray(self.sample_weight, dtype=np.float64) / self.sw_sum
        H = np.empty((k_out * q, k_out * q))
        pairs = [(k, l) for k in range(k_out) for l in range(k, k_out)]

        def weight(k, l):
            return np.asarray(self.loss_fn.hessian_block_weights(factors, k, l),
                              dtype=np.float64) * s

        # each block's weights are made by the thread that uses them: K(K+1)/2 m-vectors
        # held at once would be (K+1)/2 times the factors themselves
        weights = [functools.partial(weight, k, l) for k, l in pairs]
        self.design.count_pass(len(pairs))
        costs = [1.0 if k == l else 2.0 for k, l in pairs]  # o(1−o) ≥ 0: syrk; −oₖoₗ: gemm
        for (k, l), block in zip(pairs, gram_blocks(Xt, weights, costs)):
            H[k * q:(k + 1) * q, l * q:(l + 1) * q] = block
            if l != k:
                H[l * q:(l + 1) * q, k * q:(k + 1) * q] = block.T
        if self.penalty.l2:
            H[np.diag_indices_from(H)] += self.penalty.l2 * self.penalized_mask
        return H.astype(self.dtype, copy=False)

    def _float32_design(self):
        """``X̃ = [X | 1]`` as a float32 Fortran array, made once; None where X is sparse, not
        an in-memory array, too big to copy, or too large in magnitude for float32."""
        box = self._tilde_box
        if box[0] is None:
            X = getattr(self.design, "X", None)
            box[0] = False
            if (isinstance(X, np.ndarray) and X.ndim == 2
                    and X.shape[0] * (X.shape[1] + 1) * 4 <= FLOAT32_COPY_MAX_BYTES):
                m, p = X.shape
                Xt = np.empty((m, p + self.fit_intercept), dtype=np.float32, order="F")
                Xt[:, :p] = X
                if self.fit_intercept:
                    Xt[:, p] = 1.0
                if not Xt.size or max(Xt.max(), -Xt.min()) <= FLOAT32_SAFE_MAX:
                    box[0] = Xt
        return box[0] if box[0] is not False else None


def gram_blocks(Xt: np.ndarray, weights, costs=None) -> list:
    """``[weighted_gram(Xt, w) for w in weights]``, shared out over the kernels' threads
    (:func:`softlogit.kernels.threads.run_chunks`) with BLAS held to one thread meanwhile
    (on one thread too: OpenBLAS's result depends on its own thread count). A weight may be
    given as a function of no arguments that returns it (made by the thread that uses it);
    ``costs`` then says which blocks cost a ``gemm`` (2.0) rather than a ``syrk`` (1.0).

    The softmax Hessian's K(K+1)/2 blocks are independent products on one shared ``X̃``; on one
    thread they were the largest cost of a multinomial elastic-net CV (measured, 5000 × 100,
    K = 4: 750 blocks, 0.40 of 1.3 s), while the kernels' other threads waited. Each block is
    computed whole by one thread, so the result does not depend on the thread count; blocks go
    to threads greedily, the costliest first (a ``gemm`` block costs about two ``syrk`` ones).
    Measured (2 threads, Zen 5, load 2.4): the 4000 × 101, K = 4 Hessian 9.2 → 6.1 ms.
    """
    from softlogit.blas_threads import one_blas_thread
    from softlogit.kernels.threads import n_threads, run_chunks

    def vector(i):
        w = weights[i]
        return w() if callable(w) else w

    t = min(n_threads(), len(weights))
    if t <= 1:
        with one_blas_thread():
            return [weighted_gram(Xt, vector(i)) for i in range(len(weights))]
    cost = costs if costs is not None else [1.0 if np.all(w >= 0) else 2.0 for w in weights]
    load, share = [0.0] * t, [[] for _ in range(t)]
    for i in sorted(range(len(weights)), key=lambda i: -cost[i]):
        j = int(np.argmin(load))
        share[j].append(i)
        load[j] += cost[i]
    out = [None] * len(weights)

    def run(c0, c1):
        for c in range(c0, c1):
            for i in share[c]:
                out[i] = weighted_gram(Xt, vector(i))

    with one_blas_thread():  # t threads, not t × BLAS's
        run_chunks(run, t)
    return out




def weighted_gram(Xt: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``X̃ᵀ diag(w) X̃`` (q, q) in float64 from a float32 Fortran ``X̃`` (m, q).

    ``w ≥ 0``: ``ÃᵀÃ`` with ``Ã = √w ⊙ X̃`` (NumPy's matmul calls BLAS ``ssyrk`` for a matrix
    times its own transpose, and mirrors the triangle); otherwise ``X̃ᵀ(w ⊙ X̃)`` (``sgemm``).
    NumPy's matmul rather than SciPy's ``blas`` wrappers: it releases the GIL, and its BLAS
    was 4–25 % faster here (measured, one thread, Zen 5: 4000 × 101 ``syrk`` 0.54 against
    0.58 ms, ``gemm`` 0.82 against 0.92 ms; 6400 × 201 ``syrk`` 2.78 against 3.04 ms).
    """
    if np.all(w >= 0):
        A = np.sqrt(w).astype(np.float32)[:, None] * Xt  # Fortran order kept
        return (A.T @ A).astype(np.float64)
    B = w.astype(np.float32)[:, None] * Xt
    return (Xt.T @ B).astype(np.float64)
