"""Proximal Newton with a *kept* model Hessian, for the path's dense L1 / elastic-net solves.

The solvers' ``newton-cd`` forms a new Hessian at every outer iteration. Along a path that was
the largest cost (measured, 8000 × 200, 10 Cs, 5 folds: 338 Hessians for 78 solves, 2.4 of
7.1 s, with the intercept elimination another 0.4 s). Here the model

.. math::  q(d) = ∇fᵀd + ½ dᵀ H d + λ₁ ‖W + d_W‖₁

keeps its ``H`` (and the intercept elimination ``S = H_PP − H_PI H_II⁺ H_IP`` computed from it)
from one outer iteration to the next while the steps keep cutting the optimality measure: a
step with a stale ``H`` that was taken in full (``t = 1``) and shrank ``‖g_opt‖`` at least
:data:`REUSE_RATIO` fold (:data:`SOFTMAX_REUSE_RATIO` for the softmax) keeps ``H``; any other
step (cut by the line search, too little progress, or no descent) forms ``H`` at the new point
— and a stale ``H`` that gives no accepted step is formed afresh and the step retried before
any fallback. With a fresh ``H`` every iteration is ``newton-cd``'s (same sweeps, forcing term,
Armijo rule on ``F``, Lee, Sun & Saunders 2014); with a kept one it is a proximal *chord* step,
which converges linearly at a rate set by how far ``H`` is from ``∇²f`` — hence the progress
test.

Along a path the loss Hessian is also carried from one C to the next (:class:`CarriedHessian`):
each fit starts at the previous answer, where the loss Hessian is the one last formed there,
and only the penalty has changed (λ₂ is added to the loss Hessian afresh). A carried Hessian is
used when the new solve's columns are a subset of the carried ones (rows and columns taken
out); otherwise the first iteration forms one.

The stop is the shared ``‖g_opt‖ ≤ tol·‖g_opt(0)‖`` on the exact float64 gradient, so the answer
meets the same rule as ``newton-cd``'s and the path's KKT check does not depend on which ran.
"""

from __future__ import annotations

import numpy as np

from softlogit.selection import active_set
from softlogit.solvers.iteration import Tracker
from softlogit.solvers.l1 import l1_value
from softlogit.solvers.newton import known_null_space
from softlogit.solvers.newton_cd import (  # newton-cd's own pieces: the same model and rules
    ROUNDING_ULPS, _backtrack, _cd_sweeps, _exact_zeros, _proximal_gradient_step,
    composite_evaluator,
)
from softlogit.solvers.result import optimality_gradient

#: Coordinate-descent sweeps before the model is tried as a linear system on its support.
POLISH_AFTER = 30

#: Steps of one active-set refinement (each an ``O(|A|²)`` update of the support's factor).
ACTIVE_SET_STEPS = 25

#: A kept Hessian stays for the next step while a full step shrank ``‖g_opt‖`` at least this
#: much. A softmax Hessian costs K(K+1)/2 Gram blocks, ~12 gradient passes at K = 4 (measured,
#: multinomial EN 5000 × 100 CV: 0.1 → 0.3 took 1 330 → 870 blocks for 294 → 385 iterations,
#: 3.5–3.9 s → 2.9–3.2 s).
REUSE_RATIO = 0.3
#: The same for the softmax (K > 2 classes), whose Hessian is K(K+1)/2 Gram blocks against one
#: for the binary model, and whose active-set steps got cheaper (f6caf0a, 26214bc): measured,
#: the multinomial CV above, locked, 7 alternated fits, load 2.2–2.5: 0.3 → 0.5 took 760 → 520
#: blocks for 383 → 601 iterations, wall 0.736 → 0.713 s, CPU 0.949 → 0.868 s. (Binary L1
#: CV: 0.5 gave 0.530 against 0.521 s CPU, so the binary model keeps 0.3.)
SOFTMAX_REUSE_RATIO = 0.5


class CarriedHessian:
    """The loss Hessian (no λ₂) last formed on a path, keyed by flat parameter positions of the
    *full* problem (``keys``, sorted), so that a later solve on a subset of those columns can
    take its rows and columns."""

    def __init__(self, keys: np.ndarray, H_loss: np.ndarray):
        self.keys, self.H_loss = keys, H_loss

    def take(self, keys: np.ndarray):
        """The Hessian on ``keys`` (sorted) if they are all carried, else None."""
        pos = np.searchsorted(self.keys, keys)
        if np.any(pos >= len(self.keys)) or np.any(self.keys[np.minimum(pos, len(self.keys) - 1)]
                                                   != keys):
            return None
        return self.H_loss[np.ix_(pos, pos)]


def lazy_newton_cd(objective, params0, *, tol, max_iter, reference_norm=None, keys=None,
                   carried: CarriedHessian | None = None, max_sweeps=5000):
    """Minimise ``f + λ₁‖W‖₁`` of a dense :class:`LinearObjective` by proximal Newton with the
    Hessian kept while it works; returns ``(SolverResult, CarriedHessian or None)``.

    ``keys``: the flat positions of this objective's parameters in the full problem (for the
    carried Hessian; None: nothing is carried in or out). ``carried``: the last one formed.
    """
    lam, l2 = float(objective.penalty.l1), float(objective.penalty.l2)
    mask = objective.penalized_mask
    ridge = l2 * mask.astype(np.float64)
    theta = np.array(params0, dtype=np.float64).ravel()
    track = Tracker(objective, "lazy-newton-cd", tol=tol, max_iter=max_iter,
                    reference_norm=reference_norm)
    track.info.update(fallbacks=[], cd_sweeps=0, hessians=0)
    null = known_null_space(objective)
    noise_eps = ROUNDING_ULPS * np.finfo(objective.dtype).eps

    evaluate = composite_evaluator(objective, lam, mask)
    reuse_ratio = REUSE_RATIO if objective.n_logits == 1 else SOFTMAX_REUSE_RATIO

    F, g, opt = evaluate(theta)
    reason = track.record(theta, F, opt)
    H_loss = carried.take(keys) if (carried is not None and keys is not None) else None
    out = carried
    model, fresh = None, False
    while reason is None:
        if H_loss is None:
            H = np.asarray(objective.hessian(theta), dtype=np.float64)
            track.info["hessians"] += 1
            if not np.all(np.isfinite(H)):  # overflow in X's dtype: newton-cd says what to do
                reason = "the model Hessian has non-finite entries"
                track.info["hessian_overflow"] = True
                break
            H_loss = H - np.diag(ridge)
            out = CarriedHessian(keys, H_loss) if keys is not None else None
            model, fresh = None, True
        if model is None:
            model = _ReducedModel(H_loss + np.diag(ridge), mask)
        forcing = min(0.1, np.sqrt(opt / track.rule.reference_norm))
        g_inf = float(np.max(np.abs(optimality_gradient(objective, theta, g))))
        g_red = model.reduced_gradient(g)
        d_W, sweeps, polished = _model_minimiser(model.S, g_red, theta[mask], lam,
                                                 int(max_sweeps), forcing * g_inf,
                                                 carry=model.carry)
        track.info["cd_sweeps"] += int(sweeps)
        track.info["polished"] = track.info.get("polished", 0) + int(polished)
        d = model.full_step(d_W, g)
        if null is not None:  # coordinate moves drift along the softmax's invariant directions
            d -= null @ (null.T @ d)
        decrease = float(g @ d) + l1_value(theta + d, lam, mask) - l1_value(theta, lam, mask)
        step = None
        if decrease < noise_eps * abs(F):
            step = _backtrack(evaluate, theta, F, opt, d, min(decrease, 0.0), noise_eps)
        if step is None and not fresh:  # a kept Hessian failed: form it here and retry
            H_loss = None
            continue
        if step is None:
            step = _proximal_gradient_step(evaluate, objective, theta, F, g, lam, mask,
                                           model.H)
            if step is None:
                track.n_iter += 1
                track.info["line_search_failures"] = 1
                reason = ("line search failed: neither the Newton model nor a proximal "
                          "gradient step decreases the objective")
                break
            track.info["fallbacks"].append(f"iteration {track.n_iter + 1}: proximal gradient")
            H_loss = None
        theta_new, F, g, opt_new = step
        full = np.array_equal(theta_new, theta + d)  # the line search's first trial, t = 1
        if not (full and opt_new <= reuse_ratio * opt):
            H_loss = None  # slow progress: form the Hessian at the new point
        theta, opt, fresh = theta_new, opt_new, False
        theta = _exact_zeros(theta, mask, noise_eps) if lam > 0 else theta
        track.n_iter += 1
        reason = track.record(theta, F, opt)
    if lam > 0:
        theta = _exact_zeros(theta, mask, noise_eps)
    result = track.result(theta.astype(objective.dtype, copy=False), reason)
    return result, out


def _model_minimiser(S, g, theta, lam, max_sweeps, tol, carry=None):
    """Minimise ``gᵀd + ½dᵀSd + λ‖θ + d‖₁`` over d; returns ``(d, sweeps, polished)``.

    Coordinate descent (``newton-cd``'s sweeps) in rounds of :data:`POLISH_AFTER`, then twice,
    four times … as many sweeps; after each round that has not met ``tol``, the support
    and signs the sweeps found are refined by an active-set method on the model
    (:func:`_active_set`: exact solves on a support, a step to the first sign change, the worst
    violators added), whose answer is accepted only if it is the model's minimiser — the signs
    hold on the support and every zero coordinate meets ``|(g + Sd)ⱼ| ≤ λ``. Otherwise the
    sweeps go on from the active set's last iterate (never a worse model value than theirs).
    On ill-conditioned models (the softmax at weak penalties: measured 96 000 sweeps for 21
    outer iterations of one C, 57 of 73 s of a path) the sweeps crawl where a few
    factorisations of the support's block are exact.
    """
    n = len(g)
    d, Sd = np.zeros(n), np.zeros(n)
    every = np.ones(n, dtype=bool)
    sweeps, rounds = 0, min(POLISH_AFTER, max_sweeps)
    while sweeps < max_sweeps:
        done = _cd_sweeps(S, g, theta, lam, every, d, Sd, rounds, tol)
        sweeps += done
        if done < rounds or sweeps >= max_sweeps:
            break
        exact, refined = _active_set(S, g, theta, lam, d, carry=carry)
        if exact:
            return refined, sweeps, True
        if refined is not d:  # the sweeps resume from the refined iterate
            d = refined
            Sd = S @ d
        rounds = min(2 * rounds, max_sweeps - sweeps)  # geometric: polishes cost O(|A|³)
    return d, sweeps, False


def _model_value(S, g, theta, lam, d):
    return float(g @ d + 0.5 * d @ (S @ d) + lam * np.abs(theta + d).sum())


def _active_set(S, g, theta, lam, d, max_steps=ACTIVE_SET_STEPS, carry=None):
    """Refine the model iterate ``d`` by an active-set method; returns ``(exact, d)``.

    With support ``A`` and signs ``σ`` (those of ``θ + d``), the model restricted to them is a
    quadratic with minimiser ``S_AA d_A = −(g + S d)_A|_{d_A=0} − λσ`` (``θⱼ + dⱼ = 0`` off
    ``A``). If some sign of that minimiser differs from ``σ``, the iterate moves towards it up
    to the first coordinate that reaches zero, which leaves ``A`` (the model falls along the
    segment, since the signs hold on it); otherwise the iterate is that minimiser, and the
    zero coordinates with ``|(g + Sd)ⱼ| > λ`` join ``A`` with the sign that lowers the model.
    ``exact`` is True when no coordinate violates (the model's minimiser, checked as in
    :func:`_model_minimiser`); the returned ``d`` is never worse in model value than the one
    given (else the given one is returned). Compiled, with the factor of ``S_AA`` updated as
    coordinates join and leave (:mod:`.active_set`); ``carry``: the factor the last refinement
    on this ``S`` ended with (an :class:`~.active_set.FactorCarry`, updated).
    """
    exact, out = active_set.refine_from(S, g, theta, lam, d, max_steps, carry)
    return bool(exact), (out if exact or not np.array_equal(out, d) else d)


class _ReducedModel:
    """The quadratic model ``gᵀd + ½dᵀHd`` with the unpenalised coordinates (intercepts)
    eliminated, as in :func:`softlogit.solvers.newton_cd._eliminate_intercepts`, but with the
    ``H``-only part (``H_II⁺``, ``M = H_PI H_II⁺`` and the Schur complement
    ``S = H_PP − M H_IP``) computed once and kept with ``H``; per gradient only
    ``g̃ = g_P − M g_I`` and the recovery ``d_I = −H_II⁺ (g_I + H_IP d_P)`` are new."""

    def __init__(self, H, mask):
        self.H = H
        self.carry = active_set.FactorCarry()  # the active set's factor, for this S only
        self.P, self.I = np.flatnonzero(mask), np.flatnonzero(~mask)
        if not len(self.I):
            self.S = np.ascontiguousarray(H)
            return
        self.H_II_pinv = np.linalg.pinv(H[np.ix_(self.I, self.I)], hermitian=True)
        self.H_PI = H[np.ix_(self.P, self.I)]
        self.M = self.H_PI @ self.H_II_pinv
        self.S = np.ascontiguousarray(H[np.ix_(self.P, self.P)] - self.M @ self.H_PI.T)

    def reduced_gradient(self, g):
        if not len(self.I):
            return g
        return g[self.P] - self.M @ g[self.I]

    def full_step(self, d_P, g):
        if not len(self.I):
            return d_P
        d = np.empty(len(g))
        d[self.P] = d_P
        d[self.I] = -self.H_II_pinv @ (g[self.I] + self.H_PI.T @ d_P)
        return d
