"""Inference for a fitted estimator: from ``coef_``/``intercept_`` and the data to an
:class:`~softlogit.inference.results.InferenceResult`.

*Which covariance, by penalty* (the decision this module documents):

- ``penalty=None`` (or ``C=inf``): the maximum-likelihood fit; ``V = I(β̂)⁻¹`` — what
  statsmodels, Stata and R report. This is the inference to use for p-values.
- ``penalty="firth"``: ``V = I(β̂)⁻¹`` at Firth's estimate, the log-likelihoods penalised
  (``ℓ + ½ log det I``) — what R's logistf reports.
- ``penalty="l2"``: the estimate is shrunk, so Wald tests against 0 are conservative and
  intervals are not those of the MLE. The covariance is the inverse *penalised* Hessian
  ``(I(β̂) + (1/C)·diag(mask))⁻¹`` — the Laplace approximation of the posterior under the
  Gaussian prior the penalty is — and a :class:`PenalizedInferenceWarning` says so; refit with
  ``penalty=None`` for classical inference.
- ``"l1"``/``"elasticnet"``: refused (the estimate's distribution is not normal at zero).

*Cost.* The logits (one pass over X), the information (one fused pass: all Hessian blocks of
every class pair at once, :func:`~softlogit.inference.grams.weighted_grams`), plus one pass
for the HC0/HC1 meat, two for HC2/HC3; on a 10M × 100 dense float64 X (8 GB) that is two
passes for ``cov_type="nonrobust"``, about the cost of one Newton iteration, and the only
new memory is (m × K) for the probabilities. The separation LP is solved only for problems of
at most :data:`LP_MAX_ENTRIES` entries (m·n), or when the fit itself found the data separable.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.utils.validation import check_is_fitted

from softlogit.inference.covariance import check_cov_type, sandwich
from softlogit.inference.model import LogitModel
from softlogit.inference.results import InferenceResult

#: The separation LP is run when m·n_params is at most this (or when the fit found separation).
LP_MAX_ENTRIES = 5_000_000


class PenalizedInferenceWarning(UserWarning):
    """Inference on a penalised (L2) fit: the covariance is the inverse penalised Hessian."""


def inference_for(est, X, y, *, cov_type="nonrobust", groups=None, sample_weight=None,
                  reference=None, feature_names=None) -> InferenceResult:
    """The :class:`InferenceResult` of the fitted ``est`` on ``(X, y)`` (see the module
    docstring); ``reference`` is the base class of the contrasts (default ``classes_[0]``)."""
    check_is_fitted(est)
    from softlogit.estimators.base import _is_dask

    if _is_dask(X):  # the same statistics, summed on the workers (one pass each)
        from softlogit.backends.dask.inference import inference_for as on_dask

        return on_dask(est, X, y, cov_type=cov_type, groups=groups, sample_weight=sample_weight,
                       reference=reference, feature_names=feature_names)
    X, classes, codes, Y, sw = est._prepare(X, y, sample_weight, fitted_classes=est.classes_)
    if Y is not None:
        raise ValueError("inference needs class labels, not soft (probability) targets")
    K = len(classes)
    ref = _reference_index(classes, reference)
    groups = check_cov_type(cov_type, groups, X.shape[0])
    penalty = _penalty_kind(est)
    free = tuple(k for k in range(K) if k != ref)
    model = LogitModel(X, codes, sw, K, free, est.fit_intercept)
    beta_fit, A = _contrasts(est, ref, model)
    names = _names(est, classes, ref, model, feature_names)
    notes = []

    separation = None
    if penalty in (None, "separable"):
        from softlogit.inference.separation import separation_in

        if penalty == "separable" or model.m * model.n_params <= LP_MAX_ENTRIES:
            separation = separation_in(model, names)
            if separation is not None:
                warnings.warn(separation.message(), _separation_warning(), stacklevel=3)
                notes.append(separation.short())
        elif penalty is None:
            notes.append(f"separation not checked (m·n > {LP_MAX_ENTRIES:g})")

    fit_model, C = fit_space(est, penalty, A, model)
    Z = fit_model.logits(beta_fit)
    O = fit_model.probs(Z)
    info = penalized_information(fit_model.information(O), fit_model, A, C, notes)
    bread_inv = _inverse(info, model)
    cov = bread_inv if cov_type == "nonrobust" else sandwich(fit_model, O, bread_inv, cov_type,
                                                             groups)
    if A is not None:
        beta = A @ beta_fit
        cov = A @ cov @ A.T
    else:
        beta = beta_fit

    llf = model.loglik(Z)
    llnull = model.null_loglik()
    profile = None
    if penalty == "firth":
        from softlogit.inference.firth import firth_null_loglik, log_det_information

        llf += log_det_information(info) / 2.0
        llnull = firth_null_loglik(model)
        notes.append("Firth's penalised fit: llf and llnull are penalised log-likelihoods")
    if penalty in (None, "firth"):
        from softlogit.inference.profile import ProfileLikelihood

        profile = ProfileLikelihood(model, beta, firth=penalty == "firth")
    if cov_type != "nonrobust":
        notes.append(_cov_note(cov_type, groups))
    return InferenceResult(params=beta, cov=cov, names=names,
                           llf=llf, llnull=llnull, model=model, cov_type=cov_type,
                           classes=classes, reference=classes[ref],
                           penalty=None if penalty == "separable" else penalty,
                           profile=profile, separation=separation, notes=notes)


def fit_space(est, penalty, A, model):
    """``(fit_model, C)``: the model in the fit's parameters (an L2 softmax fit: all K logits)
    and the L2 ``C`` (``None`` without the penalty)."""
    if penalty == "l2" and A is not None:  # softmax with L2: identified in all K logits
        return model.with_free(range(model.K)), float(est.C)
    return model, (float(est.C) if penalty == "l2" else None)


def penalized_information(info, fit_model, A, C, notes, stacklevel=4):
    """The bread ``I + (1/C)·diag(mask)`` of an L2 fit (``info`` itself when ``C`` is None),
    with its warning and note."""
    if C is not None:
        mask = np.ones((fit_model.L, fit_model.q), bool)
        if fit_model.fit_intercept:
            mask[:, -1] = False
        info = info + np.diag(mask.ravel() / C)
        if A is not None and fit_model.fit_intercept:
            # The intercepts are not penalised, so adding one constant to every class's
            # intercept leaves the fit unchanged: a null direction u of the Hessian. Adding
            # u uᵀ makes it invertible without changing A V Aᵀ (A u = 0: contrasts are
            # estimable), i.e. the contrasts' covariance from any generalised inverse.
            u = (~mask).ravel() / np.sqrt(fit_model.L)
            info = info + np.outer(u, u)
        warnings.warn(
            f"inference on an L2-penalised fit (C={C:g}): the estimates are shrunk towards 0 "
            "and the covariance is the inverse penalised Hessian (the Gaussian-prior posterior "
            "approximation), not the MLE's; refit with penalty=None for classical p-values",
            PenalizedInferenceWarning, stacklevel=stacklevel)
        notes.append(f"L2-penalised fit (C={C:g}): covariance = inverse penalised Hessian")
    return info


def _reference_index(classes, reference) -> int:
    if reference is None:
        return 0
    hits = np.flatnonzero(np.asarray(classes) == reference)
    if hits.size != 1:
        raise ValueError(f"reference={reference!r} is not one of the classes "
                         f"{list(np.asarray(classes).tolist())}")
    return int(hits[0])


def _penalty_kind(est):
    """None (MLE), "l2", "firth" or "separable" (the fit's own C = 1e4 refit)."""
    if est.fit_report_.info.get("separable"):
        return "separable"
    if est.penalty == "firth":
        return "firth"
    if est.penalty is None or est.C == np.inf:
        return None
    if est.penalty == "l2":
        return "l2"
    raise ValueError(f"inference is not available for penalty={est.penalty!r}: an L1 estimate "
                     "is not normally distributed near zero; refit with penalty=None (or "
                     "penalty='firth' on small or separated data)")


def _contrasts(est, ref, model):
    """``(parameters of the fit's space, A)``: A (n × K·q) maps all-K-logit parameters to the
    contrasts against ``ref``; None when the fit's parameters already are the contrasts."""
    coef = np.asarray(est.coef_, dtype=np.float64)
    b = np.asarray(est.intercept_, dtype=np.float64)
    theta = np.column_stack([coef, b]) if model.fit_intercept else coef
    if theta.shape[0] == 1:  # the sigmoid model: the log-odds of classes_[1] vs classes_[0]
        return (theta[0] if ref == 0 else -theta[0]), None
    K, q = theta.shape
    A = np.zeros((model.n_params, K * q))
    eye = np.eye(q)
    for j, k in enumerate(model.free):
        A[j * q:(j + 1) * q, k * q:(k + 1) * q] = eye
        A[j * q:(j + 1) * q, ref * q:(ref + 1) * q] = -eye
    if est.penalty == "l2" and est.C != np.inf and not est.fit_report_.info.get("separable"):
        return theta.ravel(), A
    return A @ theta.ravel(), None


def _inverse(info, model):
    """``I⁻¹`` by Cholesky; a singular information names the cause.

    Singular means: the Cholesky factorisation fails, or the information scaled to unit
    diagonal has an eigenvalue below ``1e-10`` (collinearity up to rounding)."""
    d = np.sqrt(np.clip(np.diag(info), 1e-300, None))
    try:
        chol = np.linalg.cholesky(info)
        if np.linalg.eigvalsh(info / d[:, None] / d[None, :])[0] < 1e-10:
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        raise ValueError("the information matrix is singular: some features are collinear "
                         "(or constant, with an intercept) on these rows; drop them") from None
    inv_chol = np.linalg.solve(chol, np.eye(len(info)))
    return inv_chol.T @ inv_chol


def _names(est, classes, ref, model, names=None):
    if names is not None and len(names) != model.p:
        raise ValueError(f"feature_names has {len(names)} names for {model.p} features")
    if names is None:
        names = getattr(est, "feature_names_in_", None)
    features = [str(n) for n in names] if names is not None else [f"x{j}" for j in
                                                                   range(model.p)]
    if model.fit_intercept:
        features = features + ["intercept"]
    if model.K == 2:
        return features
    return [f"{classes[k]}:{f}" for k in model.free for f in features]


def _cov_note(cov_type, groups):
    if cov_type == "cluster":
        ways = "two-way" if groups.shape[1] == 2 else "one-way"
        G = ", ".join(str(int(groups[:, j].max()) + 1) for j in range(groups.shape[1]))
        return f"cluster-robust covariance ({ways}, CR1; clusters: {G})"
    return f"heteroskedasticity-robust covariance ({cov_type})"


def _separation_warning():
    from softlogit.estimators.warnings import SeparationWarning

    return SeparationWarning
