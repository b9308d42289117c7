"""The log-likelihood of a fitted linear logit model, in the parameterisation inference uses.

Conventions (stated once for the whole :mod:`softlogit.inference` package)
--------------------------------------------------------------------------

*Classes and free logits.* K classes; ``free`` lists the classes whose logits are parameters,
the others have their logit fixed at 0. The identified multinomial model has
``free = all classes but the reference`` (Stata's base outcome), so its parameters are the
contrasts ``β_k = θ_k − θ_ref``; the binary model is ``K = 2, free = (1,)``. An L2-penalised
softmax fit is identified in all K logits (``free = all``): inference then works there and
maps to contrasts at the end.

*Flat parameters.* ``L = len(free)`` blocks of ``q = p + i`` values: for each free logit its
coefficients then its intercept (``i = 1`` with an intercept) — the objective's layout
(:mod:`softlogit.objective.linear`).

*Scale.* Sums, not means: ``ℓ(β) = Σᵢ sᵢ log oᵢ,cᵢ`` with frequency weights ``sᵢ`` (a weight
of 2 is the row twice), the score ``U = Σᵢ sᵢ (yᵢ − oᵢ)_F ⊗ x̃ᵢ`` and the observed (= expected,
for the canonical logit link) information

.. math::

    I(β) = Σᵢ sᵢ\\, Wᵢ ⊗ x̃ᵢ x̃ᵢᵀ,\\qquad Wᵢ = \\mathrm{diag}(oᵢ,_F) − oᵢ,_F\\, oᵢ,_Fᵀ

(``F`` = the free classes, ``x̃ = (x, 1)``). X is read through its
:class:`~softlogit.data.Design`: the logits cost one pass, the information one pass
(:func:`~softlogit.inference.grams.weighted_grams`), the score one pass.

*Precision.* Inference always computes in float64 (a float32 X is converted once: standard
errors need the digits).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from softlogit.data import as_design
from softlogit.inference.grams import row_quadratic_forms, weighted_grams
from softlogit.losses import log_sigmoid, log_softmax, sigmoid, softmax


class LogitModel:
    """Log-likelihood, score and information of the linear logit model (module docstring).

    Parameters
    ----------
    X : (m, p) dense or SciPy sparse array.
    codes : (m,) class indices in 0..K−1.
    sample_weight : (m,) frequency weights.
    n_classes : K.
    free : the classes whose logits are parameters.
    fit_intercept : whether each logit has an intercept.
    """

    def __init__(self, X, codes, sample_weight, n_classes, free, fit_intercept=True):
        if sp.issparse(X):
            X = X.astype(np.float64).tocsr()
        else:
            X = np.asarray(X, dtype=np.float64)
        values = X.data if sp.issparse(X) else X
        with np.errstate(over="ignore", invalid="ignore"):
            if not np.isfinite(np.sum(values)):  # one sum: finite iff no NaN/inf (or overflow)
                raise ValueError("X contains NaN or infinite values (or values so large that "
                                 "their sum overflows)")
        self.design = as_design(X)
        self.m, self.p = X.shape
        self.codes = np.asarray(codes, dtype=np.intp)
        self.s = np.asarray(sample_weight, dtype=np.float64)
        self.K = int(n_classes)
        self.free = tuple(int(k) for k in free)
        self.L = len(self.free)
        self.fit_intercept = bool(fit_intercept)
        self.q = self.p + int(self.fit_intercept)
        self.n_params = self.L * self.q
        self.nobs = float(self.s.sum())
        self._Y = None

    @property
    def X(self):
        return self.design.X

    def with_free(self, free) -> "LogitModel":
        """The same data with another set of free logits (shares X)."""
        other = object.__new__(LogitModel)
        other.__dict__.update(self.__dict__)
        other.free = tuple(int(k) for k in free)
        other.L = len(other.free)
        other.n_params = other.L * other.q
        return other

    # --- layout -----------------------------------------------------------------------------

    def split(self, beta):
        """``(W (L, p), b (L,) or None)`` views of a flat parameter vector."""
        B = np.asarray(beta, dtype=np.float64).reshape(self.L, self.q)
        return B[:, :self.p], (B[:, self.p] if self.fit_intercept else None)

    # --- the model --------------------------------------------------------------------------

    def logits(self, beta) -> np.ndarray:
        """All K logits (m, K), zeros in the fixed ones; one pass over X."""
        W, b = self.split(beta)
        Zf = np.asarray(self.design.dot(W), dtype=np.float64)
        if b is not None:
            Zf += b
        Z = np.zeros((self.m, self.K))
        Z[:, list(self.free)] = Zf
        return Z

    def loglik(self, Z) -> float:
        """``ℓ = Σᵢ sᵢ log softmax(zᵢ)_{cᵢ}`` from the logits (log-softmax: never −inf)."""
        if self._binary_logit:  # log σ(±z): one logit, no (m, 2) log-sum-exp
            z = Z[:, 1] - Z[:, 0]
            logp = log_sigmoid(np.where(self.codes == 1, z, -z))
        else:
            logp = log_softmax(Z)[np.arange(self.m), self.codes]
        return float(np.dot(self.s, logp))

    def probs(self, Z) -> np.ndarray:
        """Class probabilities (m, K) from the logits (the sigmoid for two classes)."""
        if self._binary_logit:
            O = np.empty_like(Z)
            O[:, 1] = sigmoid(Z[:, 1] - Z[:, 0])
            O[:, 0] = sigmoid(Z[:, 0] - Z[:, 1])
            return O
        return softmax(Z)

    @property
    def _binary_logit(self) -> bool:
        return self.K == 2

    def residuals(self, O) -> np.ndarray:
        """``(yᵢ − oᵢ)`` on the free classes, (m, L)."""
        R = -O[:, list(self.free)]
        for j, k in enumerate(self.free):
            R[self.codes == k, j] += 1.0
        return R

    def scores_sum(self, R) -> np.ndarray:
        """``Σᵢ sᵢ rᵢ ⊗ x̃ᵢ`` (flat), one pass: ``(s ⊙ R)ᵀ X`` and the intercept sums."""
        SR = R * self.s[:, None]
        GW = np.asarray(self.design.tdot(SR), dtype=np.float64).reshape(self.L, self.p)
        if self.fit_intercept:
            return np.column_stack([GW, SR.sum(axis=0)]).ravel()
        return GW.ravel()

    def working_weights(self, O) -> np.ndarray:
        """Per-sample ``Wᵢ = diag(o_F) − o_F o_Fᵀ``, shape (m, L, L)."""
        OF = O[:, list(self.free)]
        Wm = -OF[:, :, None] * OF[:, None, :]
        idx = np.arange(self.L)
        Wm[:, idx, idx] += OF
        return Wm

    def block_matrix(self, pair_weights) -> np.ndarray:
        """``Σᵢ Aᵢ ⊗ x̃ᵢx̃ᵢᵀ`` for symmetric per-sample (m, L, L) ``Aᵢ`` (weights included):
        the L(L+1)/2 distinct blocks in one pass over X."""
        L, q = self.L, self.q
        iu = np.triu_indices(L)
        grams = weighted_grams(self.design, pair_weights[:, iu[0], iu[1]], self.fit_intercept)
        M = np.empty((L * q, L * q))
        for g, (k, l) in enumerate(zip(*iu)):
            M[k * q:(k + 1) * q, l * q:(l + 1) * q] = grams[g]
            if k != l:
                M[l * q:(l + 1) * q, k * q:(k + 1) * q] = grams[g].T
        return M

    def information(self, O) -> np.ndarray:
        """``I = Σᵢ sᵢ Wᵢ ⊗ x̃ᵢx̃ᵢᵀ`` (n_params, n_params), one pass over X."""
        return self.block_matrix(self.working_weights(O) * self.s[:, None, None])

    def row_blocks(self, M) -> np.ndarray:
        """``Qᵢ[k, l] = x̃ᵢᵀ M_{kl} x̃ᵢ`` for a symmetric (n_params, n_params) ``M``, shape
        (m, L, L); one pass over X."""
        L, q = self.L, self.q
        iu = np.triu_indices(L)
        mats = [M[k * q:(k + 1) * q, l * q:(l + 1) * q] for k, l in zip(*iu)]
        vals = row_quadratic_forms(self.design, mats, self.fit_intercept)
        Q = np.empty((self.m, L, L))
        Q[:, iu[0], iu[1]] = vals
        Q[:, iu[1], iu[0]] = vals
        return Q

    # --- Firth's penalty (Jeffreys prior) ---------------------------------------------------

    def firth_terms(self, O, info_inv) -> np.ndarray:
        """The per-sample addition ``gᵢ`` to the residuals that makes Firth's modified score.

        ``∂/∂β ½ log det I(β) = Σᵢ sᵢ gᵢ ⊗ x̃ᵢ`` with

        .. math::

            gᵢ = ½\\, Wᵢ\\,(\\mathrm{diag}(Qᵢ) − 2 Qᵢ oᵢ,_F),\\qquad Qᵢ = Xᵢ I⁻¹ Xᵢᵀ

        (from ``∂oₖ/∂zₗ = oₖ(δₖₗ − oₗ)``); binary: ``gᵢ = hᵢ(½ − pᵢ)`` with the leverage
        ``hᵢ = pᵢ(1−pᵢ) x̃ᵢᵀ I⁻¹ x̃ᵢ`` — Firth (1993); multinomial as Kosmidis & Firth (2011).
        """
        Q = self.row_blocks(info_inv)
        OF = O[:, list(self.free)]
        Wm = self.working_weights(O)
        inner = np.diagonal(Q, axis1=1, axis2=2) - 2.0 * np.einsum("ikl,il->ik", Q, OF)
        return 0.5 * np.einsum("ikl,il->ik", Wm, inner)

    # --- null model -------------------------------------------------------------------------

    def null_loglik(self) -> float:
        """ℓ of the model without features: the class frequencies with an intercept
        (``Σₖ nₖ log(nₖ/n)``), all logits 0 without one."""
        counts = np.bincount(self.codes, weights=self.s, minlength=self.K)
        if not self.fit_intercept:
            return -self.nobs * float(np.log(self.K))
        nz = counts > 0
        return float(np.sum(counts[nz] * np.log(counts[nz] / self.nobs)))
