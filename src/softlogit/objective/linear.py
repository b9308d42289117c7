"""The linear model on a cross-entropy loss: parameters → logits → penalised mean loss.

Conventions (stated here once; every other module refers to this docstring)
---------------------------------------------------------------------------

*Logits.* ``k`` logit columns: ``k = 1`` for the binary loss, ``k = K`` for the softmax.
``z_i = W x_i + b`` with ``W`` of shape (k, p) (the layout of ``coef_``) and ``b`` of shape (k,).

*Flat parameters.* Solvers see one flat vector ``θ`` of length ``k·(p + i)`` where ``i = 1``
when the model has an intercept. Its C-order reshape to (k, p + i) holds, in row j, the
coefficients of logit j followed by its intercept: ``θ.reshape(k, p + i) = [W | b]``.

*Objective.* With sample weights ``s`` (default 1) and the penalty strengths of
:mod:`softlogit.objective.penalty`:

.. math::

    J(θ) = \\frac{1}{Σs} Σᵢ sᵢ ℓ(zᵢ, yᵢ) + \\frac{λ_2}{2}‖W‖² \\;[+ λ_1 ‖W‖_1]

    ∇_W J = \\frac{1}{Σs} Gᵀ X + λ_2 W,   ∇_b J = \\frac{1}{Σs} Σᵢ sᵢ gᵢ,
    \\quad gᵢ = ∂ℓ/∂zᵢ,\\; G = [sᵢ gᵢ]ᵢ

    ∇² J = \\frac{1}{Σs} Σᵢ sᵢ\\, Hᵢ ⊗ \\tilde xᵢ \\tilde xᵢᵀ + λ_2 \\mathrm{diag}(\\text{mask}),
    \\quad \\tilde x = (x, 1)

(class index outer, as in the flat layout; ``mask`` is 1 on coefficients, 0 on intercepts).
The smooth part (loss + L2) is what :meth:`loss`, :meth:`loss_gradient`,
:meth:`hessian_product` and :meth:`hessian` return. The L1 term is non-smooth: it is exposed as
``penalty.l1`` and :meth:`objective_value`, and handled by the proximal solvers.
The intercept is never penalised.

*Dtype.* Logits, gradients and Hessians are computed in X's dtype (float32 stays float32); the
loss is returned as a Python float.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from softlogit.data import Design, as_design
from softlogit.losses import get_loss
from softlogit.objective.penalty import make_penalty


#: How many data terms :meth:`LinearObjective.loss_gradient` keeps (θ = 0 and a cold start).
KEPT_DATA_TERMS = 2
#: A class whose share of the total weight is at most this has no null-model start.
NULL_CLASS_FLOOR = 1e-10


class LinearObjective:
    """Penalised mean cross-entropy of a linear model (see the module docstring).

    Parameters
    ----------
    X : array of shape (m, p), dense (float32/float64, C or F order) or SciPy sparse, or a
        :class:`~softlogit.data.Design`.
    y : targets: binary (m,) in [0, 1]; softmax (m,) class indices or (m, K) probability rows.
    loss : ``"binary"`` or ``"multinomial"``.
    n_classes : number of classes K (softmax only; inferred from ``y`` when omitted).
    fit_intercept : whether the model has an (unpenalised) intercept.
    sample_weight : (m,) non-negative weights, default all 1.
    penalty, C, l1_ratio : scikit-learn's regularisation (see :mod:`~softlogit.objective.penalty`).
    backend : ``"auto"`` (fast kernels where registered) or ``"reference"`` (plain NumPy/SciPy).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]); y = np.array([0.0, 1.0, 1.0])
    >>> obj = LinearObjective(X, y, loss="binary", penalty=None)
    >>> round(obj.loss(obj.zeros()), 12) == round(float(np.log(2)), 12)
    True
    """

    #: ``(params, y, sample_weight, (loss_sum, GW, Gb))`` of the last data terms, newest last
    #: (at most :data:`KEPT_DATA_TERMS`; see :meth:`loss_gradient`).
    _data_terms: tuple = ()

    def __init__(self, X, y, *, loss="binary", n_classes=None, fit_intercept=True,
                 sample_weight=None, penalty="l2", C=1.0, l1_ratio=None, backend="auto"):
        self.loss_fn = get_loss(loss)
        given_design = isinstance(X, Design)
        X = _check_X(X)
        self.design: Design = as_design(X, backend=backend)
        if not given_design:
            self.design.defer_finite_check()
        m, p = self.design.shape
        if self.design.samples_on_device:  # targets and weights are checked and kept with X
            self.n_classes, self.y, self.sample_weight, self.sw_sum = self.design.place_samples(
                self.loss_fn.name, y, n_classes, sample_weight)
            self._finish_init(fit_intercept, penalty, C, l1_ratio, p)
            return
        y = np.asarray(y)
        if y.ndim == 0 or y.shape[0] != m:
            raise ValueError(f"X has {m} rows but y has {y.shape[0] if y.ndim else 'no'} rows "
                             f"(shape {y.shape})")
        if n_classes is None:
            n_classes = _infer_n_classes(loss, y)
        self.n_classes = int(n_classes)
        self.y = self.loss_fn.check_targets(y, self.n_classes)
        if self.y.dtype.kind == "f":
            self.y = self.y.astype(self.dtype, copy=False)
        self.sample_weight = _check_sample_weight(sample_weight, m, self.dtype)
        self.sw_sum = float(self.sample_weight.sum(dtype=np.float64))
        self._finish_init(fit_intercept, penalty, C, l1_ratio, p)

    def _finish_init(self, fit_intercept, penalty, C, l1_ratio, p):
        self.fit_intercept = bool(fit_intercept)
        self.penalty = make_penalty(penalty, C, l1_ratio, self.sw_sum)
        self.n_logits = self.loss_fn.n_logits(self.n_classes)
        self.n_features = p
        self.n_params = self.n_logits * (p + self.fit_intercept)

    # --- layout ----------------------------------------------------------------------------

    @property
    def dtype(self) -> np.dtype:
        return self.design.dtype

    @property
    def n_samples(self) -> int:
        return self.design.shape[0]

    def zeros(self) -> np.ndarray:
        """The all-zero parameter vector (the cold start)."""
        return np.zeros(self.n_params, dtype=self.dtype)

    def unpack(self, params):
        """Views ``(W (k, p), b (k,) or None)`` of a flat parameter vector."""
        P = np.asarray(params).reshape(self.n_logits, self.n_features + self.fit_intercept)
        p = self.n_features
        return P[:, :p], (P[:, p] if self.fit_intercept else None)

    def pack(self, W, b=None) -> np.ndarray:
        """The flat parameter vector of ``W`` (k, p) and ``b`` (k,)."""
        W = np.asarray(W).reshape(self.n_logits, self.n_features)
        if self.fit_intercept:
            b = np.zeros(self.n_logits) if b is None else np.asarray(b).reshape(self.n_logits)
            return np.column_stack([W, b]).astype(self.dtype, copy=False).ravel()
        return W.astype(self.dtype, copy=False).ravel()

    @property
    def penalized_mask(self) -> np.ndarray:
        """Boolean mask over the flat parameters: True for coefficients, False for intercepts."""
        mask = np.ones((self.n_logits, self.n_features + self.fit_intercept), dtype=bool)
        if self.fit_intercept:
            mask[:, -1] = False
        return mask.ravel()

    # --- values and gradients --------------------------------------------------------------

    def logits(self, params) -> np.ndarray:
        """``z = X Wᵀ + b``: shape (m,) for the binary loss, (m, K) for the softmax."""
        W, b = self.unpack(params)
        Z = self.design.dot(W)
        if b is not None:
            Z += b.astype(Z.dtype, copy=False)
        return Z[:, 0] if self.n_logits == 1 else Z

    def _penalty_l2(self, W) -> tuple[float, np.ndarray | float]:
        lam = self.penalty.l2
        if lam == 0.0:
            return 0.0, 0.0
        return 0.5 * lam * float(np.vdot(W, W)), lam * W

    def loss(self, params) -> float:
        """Smooth objective value ``(1/Σs) Σ sᵢ ℓᵢ + (λ₂/2)‖W‖²``."""
        W, b = self.unpack(params)
        fused = self.design.fused_loss(self.loss_fn.name, W, b, self.y, self.sample_weight)
        if fused is not None:
            return float(fused) / self.sw_sum + self._penalty_l2(W)[0]
        losses = self.loss_fn.loss(self.logits(params), self.y)
        return float(np.dot(self.sample_weight, losses)) / self.sw_sum + self._penalty_l2(W)[0]

    def loss_gradient(self, params) -> tuple[float, np.ndarray]:
        """Smooth objective and its gradient (flat, X's dtype), from one pass over X.

        The data terms of the last two calls are kept: asked again at the same ``params`` (the
        stopping rule's reference gradient at 0 and a solver's cold start, or a line search
        returning to its start), the answer costs no pass. The penalty term is recomputed
        every call, so a changed :attr:`penalty` (a regularisation path) is always honoured.
        """
        W, b = self.unpack(params)
        loss_sum, GW, Gb = self._data_term(params, W, b)
        pen, pen_grad = self._penalty_l2(W)
        grad_W = GW / self.sw_sum + pen_grad
        grad_b = Gb / self.sw_sum if self.fit_intercept else None
        return float(loss_sum) / self.sw_sum + pen, self.pack(grad_W, grad_b)

    def _data_term(self, params, W, b):
        """``(Σᵢ sᵢ ℓᵢ, Gᵀ X, Σᵢ Gᵢ)`` at ``params`` — one pass over X, or the kept last one.

        The key is an exact copy of ``params`` together with the identities of ``y`` and
        ``sample_weight``. The kept arrays are never handed out: :meth:`loss_gradient` derives
        new ones from them.
        """
        s = self.sample_weight
        key = np.array(params, copy=True)
        for kept in self._data_terms:
            if (kept[0].shape == key.shape and kept[1] is self.y and kept[2] is s
                    and np.array_equal(kept[0], key)):
                return kept[3]
        fused = self.design.fused_loss_gradient(self.loss_fn.name, W, b, self.y, s)
        if fused is not None:
            loss_sum, GW, Gb = fused
        else:
            losses, g = self.loss_fn.loss_gradient(self.logits(params), self.y)
            loss_sum = float(np.dot(s, losses))
            G = (g * s) if g.ndim == 1 else (g * s[:, None])
            G = G.reshape(self.n_samples, self.n_logits)
            GW = self.design.tdot(G)
            Gb = G.sum(axis=0)
        self._keep_data_term(key, (loss_sum, GW, Gb))
        return loss_sum, GW, Gb

    def forget_data_terms(self) -> None:
        """Drop the kept data terms: the next :meth:`loss_gradient` makes its pass (a timing
        loop at one θ, e.g. ``benchmarks/per_pass.py``)."""
        self._data_terms = ()

    def _keep_data_term(self, key, term):
        self._data_terms = (self._data_terms + ((key, self.y, self.sample_weight, term),))[
            -KEPT_DATA_TERMS:]

    def gradient(self, params) -> np.ndarray:
        """Gradient of the smooth objective (flat)."""
        return self.loss_gradient(params)[1]

    def null_start(self) -> np.ndarray | None:
        """The null model θ₀ — intercepts only, the optimum of J over them — as a cold start;
        its data term and that of θ = 0 are kept (:meth:`loss_gradient` answers both
        without a pass), from one pass over X. ``None`` where there is no such start: no
        intercept (nothing is read), or a class without weight (at most
        ``NULL_CLASS_FLOOR`` of the total; the pass is made and θ = 0's term kept).

        With ``W = 0`` every row has the same logits ``c``, so the data term is linear in
        sums over X (:meth:`~softlogit.data.Design.target_sums`: ``a = Xᵀs``,
        ``Cₖ = Xᵀ(s ⊙ tₖ)``) and in the class totals ``Nₖ = Σᵢ sᵢ tᵢₖ``, ``S = Σs``:

        .. math::

            \\text{binary: } Σᵢ sᵢℓᵢ = S\\,\\log(1+e^{c}) − c N,\\quad
            Gᵀ X = σ(c)\\,a − C,\\quad Σᵢ sᵢgᵢ = σ(c) S − N

            \\text{softmax: } Σᵢ sᵢℓᵢ = S \\operatorname{lse}(c) − Σₖ cₖ Nₖ,\\quad
            (Gᵀ X)ₖ = πₖ(c)\\,a − Cₖ,\\quad (Σᵢ sᵢgᵢ)ₖ = πₖ(c) S − Nₖ

        (``π = softmax``; for the softmax, S and a are ``Σₖ Nₖ`` and ``Σₖ Cₖ``: the losses
        weight each row's log-sum-exp by its target mass ``Σₖ yᵢₖ``, 1 up to the 1e-6 that soft
        rows are allowed). The intercept gradient vanishes at ``c = log(N/(S − N))`` (binary)
        and ``cₖ = log Nₖ − mean(log N)`` (softmax): θ₀. W stays 0, so the L2 term is 0
        there and ``J(θ₀) ≤ J(0)``; on imbalanced classes (S5 of the suite: 2 % positives,
        intercept ≈ −3.9) a Newton method starting at θ₀ saves the steps it would spend
        walking the intercept out from 0.
        """
        if not (self.fit_intercept and self.n_samples):
            return None
        S = self.sw_sum
        binary = self.loss_fn.name == "binary"
        a, C, N = self.design.target_sums(self.sample_weight, self.y, self.n_classes)
        if not binary:
            # the losses weight row i's log-sum-exp by Σₖ yᵢₖ (soft rows sum to 1 within
            # 1e-6, not exactly): Σₖ Nₖ and Σₖ Cₖ in place of S and a are exact
            S, a = float(N.sum()), C.sum(axis=0)
        rest = S - N[0] if binary else 0.0
        theta0 = None
        tiny = NULL_CLASS_FLOOR * S  # below it a class counts as absent (rounding of S − N)
        if np.all(N > tiny) and (rest > tiny or not binary):  # else an optimum at −∞
            c_null = np.log(N) - (np.log(rest) if binary else np.log(N).mean())
            theta0 = self.pack(np.zeros((self.n_logits, self.n_features)), c_null)
        for theta in (self.zeros(), theta0):  # θ = 0's term is kept either way
            if theta is None:
                break
            c = np.asarray(self.unpack(theta)[1], dtype=np.float64)
            if binary:
                pi = 1.0 / (1.0 + np.exp(-c))
                loss_sum = S * float(np.logaddexp(0.0, c[0])) - float(c[0] * N[0])
            else:
                lse = float(np.logaddexp.reduce(c))
                pi = np.exp(c - lse)
                loss_sum = S * lse - float(c @ N)
            GW = pi[:, None] * a[None, :] - C
            Gb = pi * S - N
            self._keep_data_term(np.array(theta, copy=True), (loss_sum, GW, Gb))
        return None if theta0 is None else np.asarray(theta0, dtype=np.float64)

    def objective_value(self, params) -> float:
        """The full objective, L1 term included (what proximal solvers minimise)."""
        value = self.loss(params)
        if self.penalty.l1:
            W, _ = self.unpack(params)
            value += self.penalty.l1 * float(np.abs(W).sum())
        return value

    # --- second order ----------------------------------------------------------------------

    def hessian_operator(self, params, factors=None):
        """Return ``v ↦ ∇²J(θ) v``, with the logit-Hessian factors computed once at ``θ``
        (or given: :meth:`hessian_factors` of the same ``params``).

        Each product costs two passes over X (``X Vᵀ`` then ``Uᵀ X``) or one fused pass.
        """
        if factors is None:
            factors = self.hessian_factors(params)
        s = self.sample_weight
        lam = self.penalty.l2

        def hessp(v):
            V, Vb = self.unpack(v)
            fused = self.design.fused_hessian_product(self.loss_fn.name, factors, V, Vb, s)
            if fused is not None:
                HW, Hb = fused
            else:
                U = self.design.dot(V)
                if Vb is not None:
                    U += Vb.astype(U.dtype, copy=False)
                U = U[:, 0] if self.n_logits == 1 else U
                HU = self.loss_fn.hessian_logit_product(factors, U)
                HU = (HU * s) if HU.ndim == 1 else (HU * s[:, None])
                HU = HU.reshape(self.n_samples, self.n_logits)
                HW, Hb = self.design.tdot(HU), HU.sum(axis=0)
            return self.pack(HW / self.sw_sum + lam * V,
                             Hb / self.sw_sum if self.fit_intercept else None)

        return hessp

    def class_hessian_blocks(self, params, factors=None) -> np.ndarray:
        """The K diagonal blocks ``∇²_{θₖθₖ} J`` (K, q, q) in float64, from one pass over X.

        Block k is ``(1/Σs) X̃ᵀ diag(s ⊙ oₖ(1−oₖ)) X̃ + λ₂ diag(maskₖ)`` (binary: the whole
        Hessian), the class-diagonal part of :meth:`hessian` — what a block-Jacobi
        preconditioner inverts.
        """
        if factors is None:
            factors = self.hessian_factors(params)
        k_out, p, i = self.n_logits, self.n_features, int(self.fit_intercept)
        scale = np.asarray(self.sample_weight, dtype=np.float64) / self.sw_sum
        Wk = np.column_stack([np.asarray(self.loss_fn.hessian_block_weights(factors, k, k),
                                         dtype=np.float64) * scale for k in range(k_out)])
        grams, cross, sums = self.design.class_grams(Wk)
        q = p + i
        B = np.zeros((k_out, q, q))
        B[:, :p, :p] = grams
        if i:
            B[:, :p, p] = cross
            B[:, p, :p] = cross
            B[:, p, p] = sums
        if self.penalty.l2:
            idx = np.arange(p)
            B[:, idx, idx] += self.penalty.l2
        return B

    def hessian_factors(self, params):
        """The logit-Hessian factors at ``θ``: the design's own (kept with X) or the loss's
        (one pass over X), to share between :meth:`hessian_operator` and
        :meth:`class_hessian_blocks`."""
        W, b = self.unpack(params)
        factors = self.design.fused_hessian_factors(self.loss_fn.name, W, b)
        if factors is None:
            factors = self.loss_fn.hessian_factors(self.logits(params))
        return factors

    def hessian_product(self, params, v) -> np.ndarray:
        """``∇²J(θ) v`` for one vector ``v`` (use :meth:`hessian_operator` for many)."""
        return self.hessian_operator(params)(v)

    def hessian(self, params) -> np.ndarray:
        """The full Hessian of the smooth objective, shape (n_params, n_params).

        Block (k, l) of the logit Hessian contributes ``(1/Σs) X̃ᵀ diag(s ⊙ w_kl) X̃`` with
        ``X̃ = [X | 1]`` and ``w_kl = oₖ(δₖₗ − oₗ)`` (binary: ``h(1−h)``); computed for k ≤ l
        only, the rest by symmetry.
        """
        factors = self.hessian_factors(params)
        s = self.sample_weight
        fused = self.design.fused_hessian(self.loss_fn.name, factors, s, self.fit_intercept)
        if fused is not None:
            H = np.asarray(fused, dtype=self.dtype) / self.sw_sum
            if self.penalty.l2:
                H[np.diag_indices_from(H)] += self.penalty.l2 * self.penalized_mask
            return H
        k_out, p, i = self.n_logits, self.n_features, int(self.fit_intercept)
        q = p + i
        H = np.zeros((k_out * q, k_out * q), dtype=self.dtype)
        for k in range(k_out):
            for l in range(k, k_out):
                d = self.loss_fn.hessian_block_weights(factors, k, l) * s / self.sw_sum
                block = np.empty((q, q), dtype=self.dtype)
                block[:p, :p] = self.design.gram(d)
                if i:
                    cross = self.design.wsum_rows(d)
                    block[:p, p] = cross
                    block[p, :p] = cross
                    block[p, p] = d.sum()
                H[k * q:(k + 1) * q, l * q:(l + 1) * q] = block
                if l != k:
                    H[l * q:(l + 1) * q, k * q:(k + 1) * q] = block.T
        if self.penalty.l2:
            H[np.diag_indices_from(H)] += self.penalty.l2 * self.penalized_mask
        return H


def _check_X(X):
    """Accept a dense float array (kept in its dtype and order) or SciPy sparse CSR/CSC."""
    if isinstance(X, Design):
        return X
    if sp.issparse(X):
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
    else:
        X = np.asarray(X)
        if X.dtype not in (np.float32, np.float64):
            if X.dtype.kind not in "iub":
                raise ValueError(f"X must be numeric; got dtype {X.dtype}")
            X = X.astype(np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-dimensional (m, p); got {X.ndim} dimensions")
    if X.shape[0] == 0:
        raise ValueError("X has no rows")
    return X


def _infer_n_classes(loss, y) -> int:
    if loss == "binary":
        return 2
    if y.ndim == 2:
        return y.shape[1]
    if y.size == 0 or y.dtype.kind not in "iuf":
        raise ValueError("cannot infer the number of classes; pass n_classes")
    return int(np.max(y)) + 1 if np.max(y) >= 1 else 2


def _check_sample_weight(sample_weight, m, dtype):
    if sample_weight is None:
        return np.ones(m, dtype=dtype)
    s = np.asarray(sample_weight, dtype=np.float64)
    if s.ndim == 0:
        s = np.full(m, float(s))
    if s.shape != (m,):
        raise ValueError(f"sample_weight has shape {s.shape}; expected ({m},)")
    if not np.all(np.isfinite(s)):
        raise ValueError("sample_weight contains NaN or infinite values")
    if (s < 0).any():
        raise ValueError("sample_weight must be non-negative")
    if s.sum() <= 0:
        raise ValueError("sample_weight sums to zero")
    return s.astype(dtype)
