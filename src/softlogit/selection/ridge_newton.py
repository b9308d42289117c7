"""Newton's method along an L2 path (binary model): formed Hessian, Cholesky steps, and the
Hessian carried from one C to the next.

Along an L2 path only the ridge ``λ₂`` changes from one fit to the next, and each fit starts at
the previous answer θ, so the loss part of the Hessian at the start is the one the previous fit
last formed, ``∇²f(θ)`` — only ``λ₂ I`` is new. The first Newton step at each C therefore costs
a gradient and a Cholesky factorisation, no pass for a Hessian. Steps:

.. math::  (∇²f(θ) + λ_2 \\mathrm{diag}(\\text{mask}))\\, d = −∇J(θ), \\qquad θ ← θ + t d

with Armijo backtracking on ``J`` (``t`` halved until ``J(θ+td) ≤ J(θ) + c t ∇Jᵀd``); the
Hessian is formed again only when a step fell short (a cut step, or ``‖∇J‖`` shrunk by less than
:data:`REUSE_RATIO`); while it is kept, its factor is corrected by the fit's secant pairs
(:func:`_corrected_direction`). The Hessian is the objective's own (for dense X the float32 BLAS
model of :mod:`.hessian`); the stop is the shared ``‖∇J‖ ≤ tol·‖∇J(0)‖`` on the exact float64
gradient. Before this, the path's L2 fits ran L-BFGS: 21 gradient passes a C (measured, 8000 ×
200, 10 Cs, 5 folds).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

from softlogit.solvers.iteration import Tracker
from softlogit.solvers.result import grad_norm

ARMIJO_C = 1e-4
MAX_HALVINGS = 40
#: A Hessian is kept for the next step while a full step cut ``‖∇J‖`` at least this much (a
#: gradient costs a pass, a Hessian ~5 passes here); the secant pairs make up for its staleness
#: (without them it was kept only while a step cut ``‖∇J‖`` twentyfold).
REUSE_RATIO = 0.5
#: Secant pairs kept for the correction of the kept factor.
QN_MEMORY = 8


class RidgeCarry:
    """What one fit of a path hands to the next: the loss Hessian ``∇²f`` last formed (no
    ridge), and the loss value and gradient (no ridge) at the fit's answer ``theta``. The next
    fit starts at ``theta``, so its first objective and gradient are these plus its own ridge
    term — no pass over X."""

    def __init__(self, H_loss, theta, value, grad):
        self.H_loss, self.theta, self.value, self.grad = H_loss, theta, value, grad


def ridge_newton(objective, params0, *, tol, max_iter, reference_norm=None, loss_hessian=None,
                 carried: RidgeCarry | None = None):
    """Minimise the smooth (loss + L2) binary objective by Newton from ``params0``.

    ``loss_hessian``: ``∇²f`` without the ridge at ``params0`` (or near it), reused for the
    first step; ``carried``: the last fit's :class:`RidgeCarry` (its Hessian, and its loss and
    gradient when ``params0`` is its answer). Returns ``(SolverResult, RidgeCarry)``.
    """
    if objective.n_logits != 1:
        raise ValueError("ridge_newton fits the binary (one-logit) model only")
    ridge = float(objective.penalty.l2) * objective.penalized_mask.astype(np.float64)
    theta = np.array(params0, dtype=np.float64).ravel()
    track = Tracker(objective, "ridge-newton", tol=tol, max_iter=max_iter,
                    reference_norm=reference_norm)
    track.info["hessians"] = 0

    def evaluate(x):
        value, grad = objective.loss_gradient(x)
        grad = np.asarray(grad, dtype=np.float64)
        return float(value), grad, grad_norm(grad)

    if carried is not None and loss_hessian is None:
        loss_hessian = carried.H_loss
    if carried is not None and np.array_equal(carried.theta, theta):
        # J = f + ½ Σ ridgeⱼ θⱼ², ∇J = ∇f + ridge ⊙ θ: the new ridge on the carried f, ∇f
        F = carried.value + 0.5 * float(ridge @ (theta * theta))
        g = carried.grad + ridge * theta
        opt = grad_norm(g)
    else:
        F, g, opt = evaluate(theta)
    reason = track.record(theta, F, opt)
    H_loss = formed = loss_hessian
    factor = None  # Cholesky of H_loss + diag(ridge), kept with H_loss
    fresh = False  # whether H_loss was formed at the current θ
    pairs = []  # secant pairs (s, y, 1/yᵀs) since the factor was made
    noise = 64 * np.finfo(np.float64).eps
    while reason is None:
        if H_loss is None:
            H_loss = np.asarray(objective.hessian(theta), dtype=np.float64)
            H_loss[np.diag_indices_from(H_loss)] -= ridge
            formed, fresh, factor = H_loss, True, None
            track.info["hessians"] += 1
        if factor is None:
            factor, pairs = _factor(H_loss, ridge), []
        d = _corrected_direction(factor, pairs, g)
        slope = float(g @ d)
        step, t = None, 1.0
        for _ in range(MAX_HALVINGS if slope < 0 else 0):
            trial = theta + t * d
            F_t, g_t, opt_t = evaluate(trial)
            if np.isfinite(F_t) and (F_t <= F + ARMIJO_C * t * slope
                                     or (abs(F_t - F) <= noise * abs(F) and opt_t < opt)):
                step = trial, F_t, g_t, opt_t  # (or flat to rounding with a smaller gradient)
                break
            t *= 0.5
        if step is None:
            if not fresh:  # a Hessian from an earlier point: form it here and retry
                H_loss = factor = None
                continue
            track.n_iter += 1
            reason = "line search failed: the Newton direction gives no decrease"
            break
        track.n_iter += 1
        if not (t == 1.0 and step[3] <= REUSE_RATIO * opt):
            H_loss = factor = None  # slow progress: form the Hessian at the new point
        else:
            s_k, y_k = step[0] - theta, step[2] - g
            sy = float(s_k @ y_k)
            if sy > 1e-12 * float(s_k @ s_k) * max(1.0, float(y_k @ y_k)) ** 0.5:
                pairs = (pairs + [(s_k, y_k, 1.0 / sy)])[-QN_MEMORY:]
        theta, F, g, opt = step
        fresh = False
        reason = track.record(theta, F, opt)
    result = track.result(theta.astype(objective.dtype, copy=False), reason)
    loss_value = F - 0.5 * float(ridge @ (theta * theta))
    return result, RidgeCarry(formed, theta.copy(), loss_value, g - ridge * theta)


def _factor(H_loss, ridge):
    """``H_loss + diag(ridge)``: its Cholesky factor, or the matrix itself if it is not
    positive definite (then :func:`_newton_direction` solves by least squares)."""
    A = H_loss.copy()
    A[np.diag_indices_from(A)] += ridge
    try:
        return cho_factor(A, lower=False, check_finite=False)
    except LinAlgError:
        return A


def _corrected_direction(factor, pairs, g):
    """``−B⁻¹ g`` where ``B`` is the kept ``H_loss + diag(ridge)`` updated by the secant pairs
    ``(s, y)`` of this fit's steps (BFGS): L-BFGS's two-loop recursion with the kept factor's
    solve as its initial inverse, so a stale Hessian still gives superlinear steps.

    .. math::  q ← g;\\ αᵢ = ρᵢ sᵢᵀq,\\ q ← q − αᵢ yᵢ \\ (\\text{newest first});\\
               r = B_0^{-1} q;\\ r ← r + sᵢ(αᵢ − ρᵢ yᵢᵀ r) \\ (\\text{oldest first});\\ d = −r
    """
    if not pairs:
        return _newton_direction(factor, g)
    q = g.copy()
    alphas = []
    for s_k, y_k, rho in reversed(pairs):
        a = rho * float(s_k @ q)
        alphas.append(a)
        q -= a * y_k
    r = -_newton_direction(factor, q)
    for (s_k, y_k, rho), a in zip(pairs, reversed(alphas)):
        r += s_k * (a - rho * float(y_k @ r))
    return -r


def _newton_direction(factor, g):
    """``−(H_loss + diag(ridge))⁻¹ g`` from :func:`_factor`'s answer."""
    if isinstance(factor, tuple):
        return -cho_solve(factor, g, check_finite=False)
    return -np.linalg.lstsq(factor, g, rcond=None)[0]
