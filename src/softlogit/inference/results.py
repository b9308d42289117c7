"""The result of inference on a fitted model, named as statsmodels' results are.

Parameters are in the layout of :mod:`softlogit.inference.model`: for each non-reference class
(the binary model: one), its coefficients then its intercept. Wald statistics use the normal
distribution (``z``), as Stata's and statsmodels' ``logit``/``mlogit`` do.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class LRTest:
    """A likelihood-ratio test: ``statistic = 2 (ℓ_full − ℓ_restricted) ~ χ²(df)``."""

    statistic: float
    df: int
    pvalue: float
    penalized: bool = False


class InferenceResult:
    """Standard errors, tests, intervals and fit statistics of a fitted logit model.

    Built by ``estimator.inference(X, y, …)``; see :mod:`softlogit.inference` for the
    conventions. The attributes follow statsmodels' ``LogitResults``:

    Attributes
    ----------
    params : (n,) estimates; ``names`` (n,) their labels.
    bse, zvalues, pvalues : (n,) Wald standard errors, ``params / bse`` and two-sided p-values.
    llf, llnull : log-likelihood of the fit and of the intercept-only model (Firth fits: the
        penalised log-likelihoods ``ℓ + ½ log det I``, as logistf reports them).
    llr, llr_pvalue : ``2 (llf − llnull)`` and its χ²(df_model) p-value.
    prsquared : McFadden's pseudo-R², ``1 − llf / llnull``.
    aic, bic : ``−2 llf + 2 n`` and ``−2 llf + n log(nobs)``.
    nobs : ``Σ sᵢ`` (frequency weights); df_model : n minus the intercepts;
    df_resid : nobs − n.
    cov_type : the covariance used; separation : a
        :class:`~softlogit.inference.separation.SeparationReport` when the data are separated.
    """

    def __init__(self, *, params, cov, names, llf, llnull, model, cov_type, classes, reference,
                 penalty=None, profile=None, separation=None, notes=()):
        self.params = np.asarray(params, dtype=np.float64)
        self._cov = np.asarray(cov, dtype=np.float64)
        self.names = list(names)
        self.llf = float(llf)
        self.llnull = float(llnull)
        self.model = model
        self.cov_type = cov_type
        self.classes = np.asarray(classes)
        self.reference = reference
        self.penalty = penalty
        self._profile = profile
        self.separation = separation
        self.notes = list(notes)
        self.nobs = float(model.nobs)
        self.n_params = self.params.size
        self.k_constant = model.L if model.fit_intercept else 0
        self.df_model = self.n_params - self.k_constant
        self.df_resid = self.nobs - self.n_params
        self._infinite = (np.zeros(self.n_params, bool) if separation is None
                          else separation.infinite_params(model))

    # --- Wald -----------------------------------------------------------------------------

    def cov_params(self) -> np.ndarray:
        """The (n, n) covariance matrix of ``params``."""
        return self._cov.copy()

    @property
    def bse(self) -> np.ndarray:
        se = np.sqrt(np.clip(np.diag(self._cov), 0.0, None))
        se[self._infinite] = np.nan  # separated: the MLE is infinite, no finite SE applies
        return se

    @property
    def zvalues(self) -> np.ndarray:
        return self.params / self.bse

    @property
    def pvalues(self) -> np.ndarray:
        return 2.0 * stats.norm.sf(np.abs(self.zvalues))

    def conf_int(self, alpha=0.05, method="wald") -> np.ndarray:
        """(n, 2) confidence intervals at level ``1 − alpha``.

        ``method="wald"``: ``params ± z_{1−α/2} · bse``. ``method="profile"``: the profile
        (penalised, for Firth fits) likelihood interval ``{b : 2(ℓ̂ − ℓ_prof(b)) ≤ χ²₁(1−α)}``,
        which stays right where the Wald interval does not (small samples, near separation);
        costs a constrained refit per end point (see :mod:`softlogit.inference.profile`).
        """
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1); got {alpha!r}")
        if method == "wald":
            half = stats.norm.ppf(1 - alpha / 2) * self.bse
            return np.column_stack([self.params - half, self.params + half])
        if method == "profile":
            if self._profile is None:
                raise ValueError("profile intervals need an unpenalised or Firth fit in the "
                                 f"model's own units (this fit: penalty={self.penalty!r})")
            return self._profile.intervals(alpha)
        raise ValueError(f"method must be 'wald' or 'profile'; got {method!r}")

    def odds_ratios(self, alpha=0.05, method="wald") -> np.ndarray:
        """(n, 3): ``exp(params)`` and the exponentiated interval ends (odds ratios; for the
        multinomial model relative-risk ratios against the reference class)."""
        return np.exp(np.column_stack([self.params, self.conf_int(alpha, method)]))

    # --- fit statistics -------------------------------------------------------------------

    @property
    def llr(self) -> float:
        return 2.0 * (self.llf - self.llnull)

    @property
    def llr_pvalue(self) -> float:
        return float(stats.chi2.sf(self.llr, self.df_model)) if self.df_model > 0 else np.nan

    @property
    def prsquared(self) -> float:
        return 1.0 - self.llf / self.llnull

    @property
    def aic(self) -> float:
        return -2.0 * self.llf + 2.0 * self.n_params

    @property
    def bic(self) -> float:
        return -2.0 * self.llf + np.log(self.nobs) * self.n_params

    def transformed(self, T, names) -> "InferenceResult":
        """The result for the parameters ``T β`` (covariance ``T V Tᵀ``), named ``names``.

        For a change of units of the features (``softlogit fit --inference`` undoes its
        standardisation so). Likelihoods and tests are unchanged; profile intervals, margins
        and predictions, which need the model's own units, are not offered on the result.
        """
        T = np.asarray(T, dtype=np.float64)
        other = copy.copy(self)
        other.params = T @ self.params
        other._cov = T @ self._cov @ T.T
        other.names = list(names)
        other.notes = list(self.notes)
        other._profile = None
        other._transformed = True
        return other

    # --- margins and predictions ----------------------------------------------------------

    _transformed = False

    def _check_units(self):
        if self._transformed:
            raise ValueError("this result is in transformed units; compute margins and "
                             "predictions on the estimator's own inference result")

    def marginal_effects(self, at="overall", method="dydx"):
        """Average (or at-a-point) marginal effects with delta-method standard errors; see
        :func:`softlogit.inference.margins.marginal_effects`."""
        from softlogit.inference.margins import marginal_effects

        self._check_units()
        return marginal_effects(self, at=at, method=method)

    def predict_interval(self, X, alpha=0.05):
        """Delta-method intervals on the class probabilities of new rows; see
        :func:`softlogit.inference.margins.predict_interval`."""
        from softlogit.inference.margins import predict_interval

        self._check_units()
        return predict_interval(self, X, alpha=alpha)

    # --- report ---------------------------------------------------------------------------

    def summary(self, alpha=0.05) -> str:
        """A plain-text table of the estimates and the fit statistics (like statsmodels')."""
        from softlogit.inference.summary import format_summary

        return format_summary(self, alpha)

    def __repr__(self) -> str:
        return (f"<InferenceResult: {self.n_params} parameters, nobs={self.nobs:g}, "
                f"cov_type={self.cov_type!r}, llf={self.llf:.6g}>")


def lr_test(full, restricted) -> LRTest:
    """Likelihood-ratio test of a restricted fit nested in a full one.

    ``statistic = 2 (ℓ_full − ℓ_restricted)``, χ² with ``df = n_full − n_restricted``
    parameters. For two Firth fits this is logistf's penalised likelihood-ratio test. Both
    must be :class:`InferenceResult` on the same rows (same ``nobs``); nesting itself (the
    restricted model's features a subset of the full one's) is the caller's to ensure.
    """
    for r in (full, restricted):
        if not isinstance(r, InferenceResult):
            raise TypeError("lr_test takes two InferenceResult objects (estimator.inference(…))")
    if not np.isclose(full.nobs, restricted.nobs, rtol=1e-12):
        raise ValueError(f"the fits are on different data: nobs {full.nobs:g} vs "
                         f"{restricted.nobs:g}")
    if (full.penalty == "firth") != (restricted.penalty == "firth"):
        raise ValueError("compare a Firth fit only with another Firth fit (penalised "
                         "likelihoods are not comparable with plain ones)")
    df = full.n_params - restricted.n_params
    if df <= 0:
        raise ValueError(f"the full model must have more parameters than the restricted one "
                         f"({full.n_params} vs {restricted.n_params})")
    stat = 2.0 * (full.llf - restricted.llf)
    return LRTest(statistic=float(stat), df=int(df),
                  pvalue=float(stats.chi2.sf(max(stat, 0.0), df)),
                  penalized=full.penalty == "firth")
