"""Newton's method on the (Firth-penalised) log-likelihood, with some parameters held fixed.

Used for Firth's fit, for the constrained refits of profile-likelihood intervals and for
logistf's restricted "null" fit. The objective is

.. math::

    ℓ^*(β) = ℓ(β) + [\\tfrac12 \\log\\det I(β)]_{\\text{Firth}}

maximised over the free parameters ``F`` by ``β_F ← β_F + I_{FF}⁻¹ U^*_F`` (Fisher scoring; the
observed information of the logit model is the expected one) with Firth's modified score
``U^* = Σᵢ sᵢ (rᵢ + gᵢ) ⊗ x̃ᵢ`` (:meth:`~softlogit.inference.model.LogitModel.firth_terms`),
steps capped at :data:`MAX_STEP` in each coordinate and halved until ``ℓ^*`` does not fall —
the iteration of R's logistf (Heinze & Schemper 2002). Each iteration reads X about four
times (logits, information, leverages for Firth, score).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Largest change of one parameter in one step (logistf's ``maxstep``).
MAX_STEP = 5.0
MAX_HALVINGS = 30


@dataclass
class Evaluation:
    """ℓ*, the logits, the probabilities and the information at one point."""

    beta: np.ndarray
    value: float
    Z: np.ndarray
    O: np.ndarray
    info: np.ndarray


def evaluate(model, beta, firth: bool) -> Evaluation:
    """ℓ*(β) and what the step needs (two passes over X)."""
    Z = model.logits(beta)
    O = model.probs(Z)
    info = model.information(O)
    value = model.loglik(Z)
    if firth:
        sign, logdet = np.linalg.slogdet(info)
        value += 0.5 * logdet if sign > 0 else -np.inf
    return Evaluation(np.asarray(beta, dtype=np.float64), value, Z, O, info)


def modified_score(model, ev: Evaluation, firth: bool) -> np.ndarray:
    """``U*`` at ``ev``: the score, plus Firth's term when ``firth``."""
    R = model.residuals(ev.O)
    if firth:
        R = R + model.firth_terms(ev.O, np.linalg.inv(ev.info))
    return model.scores_sum(R)


def maximize(model, beta0, *, free=None, firth=False, tol=1e-9, max_iter=200):
    """Maximise ℓ* over ``beta[free]`` from ``beta0`` (the rest held at ``beta0``).

    Returns ``(Evaluation at the maximiser, iterations, converged)``. Converged when the
    largest free step is below ``tol·max(1, |β|∞)`` or the largest free modified score below
    ``tol·nobs``.
    """
    beta = np.array(beta0, dtype=np.float64)
    free = np.ones(beta.size, bool) if free is None else np.asarray(free, bool)
    ev = evaluate(model, beta, firth)
    if not free.any():
        return ev, 0, True
    for it in range(1, max_iter + 1):
        U = modified_score(model, ev, firth)[free]
        if np.max(np.abs(U)) <= tol * max(model.nobs, 1.0):
            return ev, it - 1, True
        step = np.linalg.solve(ev.info[np.ix_(free, free)], U)
        big = np.max(np.abs(step))
        if big > MAX_STEP:
            step *= MAX_STEP / big
        for _ in range(MAX_HALVINGS):
            trial = ev.beta.copy()
            trial[free] += step
            new = evaluate(model, trial, firth)
            if new.value >= ev.value - 1e-12 * abs(ev.value):
                break
            step /= 2.0
        else:
            return ev, it, False
        ev = new
        if np.max(np.abs(step)) <= tol * max(1.0, np.max(np.abs(ev.beta))):
            return ev, it, True
    return ev, max_iter, False
