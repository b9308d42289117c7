"""Firth's bias-reduced logistic and multinomial regression (``penalty="firth"``).

Firth (1993): maximising the Jeffreys-penalised likelihood

.. math::

    ℓ^*(β) = ℓ(β) + \\tfrac12 \\log\\det I(β)

removes the O(1/n) bias of the MLE and gives finite estimates on separated data. For the
canonical logit link the modified score is the gradient of ℓ*; for the multinomial model in
baseline-category contrasts this is Kosmidis & Firth (2011)'s bias-reduced estimator (the
Jeffreys prior is invariant under the change of reference class, so so are the fitted
probabilities). Fitted by :func:`~softlogit.inference.maximize.maximize`, as R's logistf.
Inference on a Firth fit uses ``I(β̂)⁻¹`` for the Wald covariance, the penalised likelihoods
for the likelihood-ratio tests, and profile penalised-likelihood intervals — logistf's choices
(Heinze & Schemper 2002). Restricted fits (the null model, the profile) keep the *full*
model's information in the penalty and hold the restricted parameters fixed, as logistf does.
"""

from __future__ import annotations

import numpy as np

from softlogit.inference.maximize import evaluate, maximize
from softlogit.inference.model import LogitModel


def fit_firth(X, codes, sample_weight, n_classes, fit_intercept=True, *, tol=1e-9,
              max_iter=200):
    """Firth's fit in the contrasts against class 0; returns ``(beta, n_iter, converged,
    history)`` with ``beta`` (L·q,) in :mod:`~softlogit.inference.model`'s layout."""
    model = LogitModel(X, codes, sample_weight, n_classes, tuple(range(1, n_classes)),
                       fit_intercept)
    ev, n_iter, converged = maximize(model, np.zeros(model.n_params), firth=True, tol=tol,
                                     max_iter=max_iter)
    return ev.beta, n_iter, converged, ev.value


def log_det_information(info) -> float:
    sign, logdet = np.linalg.slogdet(info)
    return float(logdet) if sign > 0 else -np.inf


def firth_null_loglik(model) -> float:
    """Penalised ℓ* of logistf's null model: every coefficient held at 0, intercepts free."""
    free = np.zeros((model.L, model.q), bool)
    if model.fit_intercept:
        free[:, -1] = True
    if not free.any():
        return evaluate(model, np.zeros(model.n_params), True).value
    ev, _, _ = maximize(model, np.zeros(model.n_params), free=free.ravel(), firth=True)
    return ev.value


def firth_drop_test(result, drop):
    """logistf's penalised likelihood-ratio test that the parameters ``drop`` (indices or
    names) are 0: the restricted fit keeps the full model's penalty (``drop1.logistf``)."""
    from scipy import stats

    from softlogit.inference.results import LRTest

    if result.penalty != "firth":
        raise ValueError("firth_drop_test needs the inference result of a Firth fit")
    idx = [result.names.index(d) if isinstance(d, str) else int(d) for d in np.atleast_1d(drop)]
    beta0 = result.params.copy()
    beta0[idx] = 0.0
    free = np.ones(beta0.size, bool)
    free[idx] = False
    ev, _, _ = maximize(result.model, beta0, free=free, firth=True)
    stat = 2.0 * (result.llf - ev.value)
    return LRTest(statistic=float(stat), df=len(idx),
                  pvalue=float(stats.chi2.sf(max(stat, 0.0), len(idx))), penalized=True)


__all__ = ["fit_firth", "firth_null_loglik", "firth_drop_test", "log_det_information",
           "LogitModel"]
