"""Proximal Newton for L1 / elastic-net: coordinate descent on the quadratic model (glmnet-style).

Minimises ``F(θ) = f(θ) + λ₁‖W‖₁`` where ``f`` is the smooth part (loss + L2) of the objective.
Each outer iteration is the fixed sequence:

1. *gradient* — ``f``, ``∇f`` and the shared stopping rule on the minimum-norm subgradient
   (:func:`~softlogit.solvers.optimality_gradient`).
2. *model* — the full Hessian ``H = ∇²f(θ)`` (:meth:`LinearObjective.hessian`).
3. *inner solve* — cyclic coordinate descent on the local model

   .. math::  q(d) = ∇fᵀd + ½ dᵀ H d + λ₁ ‖W + d_W‖₁,

   where coordinate ``j`` moves to the soft-threshold of its one-dimensional minimiser,
   ``θⱼ + dⱼ ← S(θⱼ + dⱼ − (∇f + Hd)ⱼ / Hⱼⱼ, λ₁/Hⱼⱼ)``, keeping ``Hd`` up to date (``O(n)``
   per coordinate, compiled with Numba because a Python loop over coordinates is ~100× slower).
   Sweeps stop when every coordinate moved less than ``η·‖g_opt‖∞ / Hⱼⱼ`` with the forcing term
   ``η = min(0.1, √(‖g_opt‖/‖g_opt(0)‖))`` (loose far away, tight near the optimum).
   The unpenalised intercepts ``b`` are first eliminated exactly (:func:`_eliminate_intercepts`):
   for any ``d_W`` the model's best ``d_b`` is ``−H_bb⁺(g_b + H_bW d_W)``, and what is left for
   coordinate descent is the Schur complement ``H_WW − H_Wb H_bb⁺ H_bW`` — the Hessian of the
   *weighted-centred* features. Without this, uncentred features (means ≫ standard deviations)
   are nearly collinear with the intercept column and coordinate descent crawls (seen: 100
   outer iterations without converging on features with mean 100 and std 1).
4. *line search* — backtracking on ``F``: accept ``t`` when
   ``F(θ + t d) ≤ F(θ) + c t Δ`` with ``Δ = ∇fᵀd + λ₁(‖W+d_W‖₁ − ‖W‖₁) < 0``
   (Lee, Sun & Saunders 2014, "Proximal Newton-type methods").

The softmax's invariant directions (:func:`~softlogit.solvers.newton.known_null_space`) are
projected out of ``d``, as in :mod:`~softlogit.solvers.newton`, so the intercepts keep their
sum (zero from a cold start) instead of drifting.

Stop: a Hessian with NaN or infinite entries (it overflowed in X's dtype, e.g. float32 features
of magnitude 1e30) leaves no model to minimise; the solver stops with ``converged=False``,
``info["hessian_overflow"] = True``, a :class:`~softlogit.solvers.warnings.SingularHessianWarning`
and a reason that says what to do (``"auto"`` then falls back to ``"proximal"``).

Fallback: if the model gives no descent (``Δ ≥ 0``) or no step passes the line search, a
proximal-gradient step with backtracking is taken instead, with a
:class:`~softlogit.solvers.warnings.LineSearchWarning`. The full Hessian limits this solver to
moderate ``n_params``; :mod:`~softlogit.solvers.proximal` handles any size.
"""

from __future__ import annotations

import warnings

import numba
import numpy as np

from softlogit.solvers.common import StallDetector, final_params, newton_start, with_verbose
from softlogit.solvers.iteration import Tracker
from softlogit.solvers.newton import hessian_overflow_message, known_null_space
from softlogit.solvers.l1 import l1_value, soft_threshold
from softlogit.solvers.registry import register
from softlogit.solvers.result import grad_norm, optimality_gradient
from softlogit.solvers.subsampled_newton import HessianSampler
from softlogit.solvers.warnings import LineSearchWarning, SingularHessianWarning

ARMIJO_C = 1e-4
MAX_HALVINGS = 40
#: Coordinate-descent sweeps allowed per outer iteration.
MAX_SWEEPS = 200
#: |ΔF| below this many ulps of |F| counts as "unchanged to rounding" in the line search.
ROUNDING_ULPS = 64


@register("newton-cd", penalties=("l1", "elasticnet", "l2", None), sparse=True,
          description="proximal Newton: coordinate descent on the exact quadratic model")
def newton_cd(objective, params0=None, *, tol=1e-4, max_iter=100, callback=None,
              reference_norm=None, verbose=0, max_sweeps=MAX_SWEEPS, sample_rows=None,
              random_state=None, **_ignored):
    """Minimise ``f + λ₁‖W‖₁`` by proximal Newton; returns a :class:`SolverResult`.

    Parameters
    ----------
    objective : :class:`~softlogit.objective.LinearObjective`, any penalty.
    params0 : flat start vector (warm start), default zeros.
    tol, max_iter, callback, reference_norm, verbose : the shared solver options.
    max_sweeps : coordinate-descent sweeps per outer iteration.
    sample_rows : ``None`` (the exact Hessian), ``"auto"`` or a number of rows: the model's
        Hessian from a random row sample that grows when progress stalls, exactly as in
        :mod:`~softlogit.solvers.subsampled_newton` (``"auto"``: its first sample size, the
        exact Hessian when X is too short for a sample to save anything). The gradient, the
        line search and the stopping rule stay exact, so the optimum is the same.
    random_state : the row samples' seed (``None`` → 0), as in sub-sampled Newton.

    Examples
    --------
    >>> import numpy as np
    >>> from softlogit.objective import LinearObjective
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 4)); y = (X[:, 0] > 0).astype(float)
    >>> obj = LinearObjective(X, y, loss="binary", penalty="l1", C=0.1)
    >>> res = newton_cd(obj, tol=1e-8)
    >>> res.converged, int(np.count_nonzero(obj.unpack(res.params)[0]))
    (True, 1)
    """
    lam = float(objective.penalty.l1)
    mask = objective.penalized_mask
    passes0 = objective.design.passes  # the null start's pass is the solver's
    theta = newton_start(objective, params0, int(max_iter))
    track = Tracker(objective, "newton-cd", tol=tol, max_iter=max_iter,
                    callback=with_verbose(callback, verbose, "newton-cd"),
                    reference_norm=reference_norm, passes0=passes0)
    stall = StallDetector()
    track.info.update(fallbacks=[], cd_sweeps=0)
    null = known_null_space(objective)
    noise_eps = ROUNDING_ULPS * np.finfo(objective.dtype).eps

    evaluate = composite_evaluator(objective, lam, mask)
    sampler = HessianSampler.for_objective(objective, sample_rows, random_state)
    if sampler is not None:
        track.info["sample_rows"] = []
    F, g, opt = evaluate(theta)
    reason = track.record(theta, F, opt)
    while reason is None:
        # model: exact (or row-sampled) Hessian; inner solve: coordinate descent
        model = objective if sampler is None else sampler.draw(track.info["sample_rows"])
        H = np.asarray(model.hessian(theta), dtype=np.float64)
        if not np.all(np.isfinite(H)):  # overflow in X's dtype: no model to minimise
            reason = hessian_overflow_message("Hessian", objective.dtype)
            track.info["hessian_overflow"] = True
            track.info["fallbacks"].append(f"iteration {track.n_iter + 1}: {reason}")
            warnings.warn(f"newton-cd, iteration {track.n_iter + 1}: {reason}",
                          SingularHessianWarning, stacklevel=3)
            break
        forcing = min(0.1, np.sqrt(opt / track.rule.reference_norm))
        g_inf = float(np.max(np.abs(optimality_gradient(objective, theta, g))))
        S, g_red, recover = _eliminate_intercepts(H, g, mask)
        d_W = np.zeros(len(g_red))
        sweeps = _cd_sweeps(S, g_red, theta[mask], lam, np.ones(len(g_red), dtype=bool), d_W,
                            np.zeros_like(d_W), int(max_sweeps), forcing * g_inf)
        d = recover(d_W)
        track.info["cd_sweeps"] += int(sweeps)
        if null is not None:  # coordinate moves drift along the softmax's invariant directions
            d -= null @ (null.T @ d)
        decrease = float(g @ d) + l1_value(theta + d, lam, mask) - l1_value(theta, lam, mask)
        # line search on F
        step = None
        if decrease < noise_eps * abs(F):  # a "non-negative" Δ within rounding still gets tried
            step = _backtrack(evaluate, theta, F, opt, d, min(decrease, 0.0), noise_eps)
        if step is None:
            step = _proximal_gradient_step(evaluate, objective, theta, F, g, lam, mask, H)
            if step is None:
                track.n_iter += 1
                track.info["line_search_failures"] = 1
                # In exact arithmetic a small enough proximal-gradient step always
                # decreases F, so this is the rounding floor of X's precision.
                reason = ("line search failed: neither the Newton model nor a proximal "
                          "gradient step decreases the objective within its "
                          f"{np.dtype(objective.dtype).name} precision (rounding floor)")
                break
            message = ("the Newton model gave no descent step; took a proximal gradient "
                       "step instead")
            track.info["fallbacks"].append(f"iteration {track.n_iter + 1}: {message}")
            if len(track.info["fallbacks"]) == 1:
                warnings.warn(f"newton-cd, iteration {track.n_iter + 1}: {message}",
                              LineSearchWarning, stacklevel=3)
        theta, F, g, opt = step
        theta = _exact_zeros(theta, mask, noise_eps) if lam > 0 else theta
        # check (and grow the Hessian's sample when progress per pass stalls)
        track.n_iter += 1
        old_opt = track.grad_norms[-1]
        reason = track.record(theta, F, opt)
        reason = reason or stall.update(F, opt)
        if sampler is not None:
            sampler.observe(opt / old_opt if old_opt > 0 else 0.0)
    if lam > 0:
        theta = _exact_zeros(theta, mask, noise_eps)
    return track.result(final_params(objective, theta), reason)


def composite_evaluator(objective, lam, mask):
    """``x ↦ (F(x), ∇f(x), ‖g_opt(x)‖)`` with ``F = f + λ₁‖W_mask‖₁``: one pass over X a call
    (``g_opt``: :func:`~softlogit.solvers.optimality_gradient`, the stopping rule's measure)."""
    def evaluate(x):
        value, grad = objective.loss_gradient(x)
        grad = np.asarray(grad, dtype=np.float64)
        F = float(value) + l1_value(x, lam, mask)
        return F, grad, grad_norm(optimality_gradient(objective, x, grad))
    return evaluate


def _exact_zeros(theta, mask, noise_eps):
    """``theta`` with penalised coordinates below rounding (``noise_eps · max|θ|``) set to 0.

    A coefficient that the soft-threshold sends to zero lands at ``θ + t·d``, which rounds to
    ±1e-16 rather than 0 (with a line-search step, or duplicated columns on CSR data): an L1
    fit's zeros should be exact, as scikit-learn's are. The objective moves by rounding only.
    """
    if not mask.any():
        return theta
    residue = mask & (np.abs(theta) <= noise_eps * np.max(np.abs(theta[mask])))
    return np.where(residue, 0.0, theta) if residue.any() else theta


def _eliminate_intercepts(H, g, mask):
    """Reduce the quadratic model ``gᵀd + ½dᵀHd`` to the penalised coordinates.

    With ``P`` the penalised (coefficient) and ``I`` the unpenalised (intercept) coordinates,
    minimising over ``d_I`` for fixed ``d_P`` gives ``d_I = −H_II⁺ (g_I + H_IP d_P)`` and leaves

    .. math::  S = H_PP − H_PI H_II⁺ H_IP,   g̃ = g_P − H_PI H_II⁺ g_I.

    ``H_II`` is singular for the softmax (the all-intercepts-equal direction), but ``g_I`` and
    the columns of ``H_IP`` are orthogonal to that null vector, so the pseudo-inverse gives the
    exact minimiser. Returns ``(S, g̃, recover)`` with ``recover(d_P)`` the full step.
    """
    if mask.all():
        return H, g, lambda d_P: d_P
    P, I = np.flatnonzero(mask), np.flatnonzero(~mask)
    H_II_pinv = np.linalg.pinv(H[np.ix_(I, I)], hermitian=True)
    H_PI = H[np.ix_(P, I)]
    M = H_PI @ H_II_pinv
    S = H[np.ix_(P, P)] - M @ H_PI.T
    g_red = g[P] - M @ g[I]

    def recover(d_P):
        d = np.empty(len(g))
        d[P] = d_P
        d[I] = -H_II_pinv @ (g[I] + H_PI.T @ d_P)
        return d

    return np.ascontiguousarray(S), g_red, recover


def _backtrack(evaluate, theta, F, opt, d, decrease, noise_eps):
    """Armijo backtracking on F along d; a rounding-flat F with a smaller optimality measure
    also passes (see :mod:`~softlogit.solvers.linesearch`)."""
    t = 1.0
    for _ in range(MAX_HALVINGS):
        trial = theta + t * d
        F_t, g_t, opt_t = evaluate(trial)
        if np.isfinite(F_t):
            if F_t <= F + ARMIJO_C * t * decrease and (decrease < 0 or F_t < F):
                return trial, F_t, g_t, opt_t
            if abs(F_t - F) <= noise_eps * abs(F) and opt_t < opt:
                return trial, F_t, g_t, opt_t
        t *= 0.5
    return None


def _proximal_gradient_step(evaluate, objective, theta, F, g, lam, mask, H):
    """One proximal-gradient step ``prox(θ − ∇f/L)`` with ``L`` doubled until ``F`` decreases.

    The start ``L = max diag H`` is the largest curvature along a coordinate.
    """
    L = max(float(np.max(np.diag(H))), 1e-12)
    for _ in range(MAX_HALVINGS):
        trial = soft_threshold(theta - g / L, lam / L, mask)
        F_t, g_t, opt_t = evaluate(trial)
        if np.isfinite(F_t) and F_t < F:
            return trial, F_t, g_t, opt_t
        L *= 2.0
    return None


# nogil: the sweeps touch only their own arrays, so a path's folds run in parallel threads
@numba.njit(cache=True, nogil=True)
def _cd_sweeps(H, g, theta, lam, mask, d, Hd, max_sweeps, tol):  # pragma: no cover - compiled
    """Cyclic coordinate descent on ``gᵀd + ½dᵀHd + λ Σ_mask |θ + d|``; updates d, Hd in place.

    Stops after the first sweep where every ``Hⱼⱼ |Δdⱼ| ≤ tol``; returns the sweeps done.
    """
    n = g.shape[0]
    for sweep in range(max_sweeps):
        largest = 0.0
        for j in range(n):
            a = H[j, j]
            if a <= 0.0:
                continue
            u = theta[j] + d[j]
            z = u - (g[j] + Hd[j]) / a
            if mask[j]:
                cut = lam / a
                if z > cut:
                    z -= cut
                elif z < -cut:
                    z += cut
                else:
                    z = 0.0
            delta = z - u
            if delta != 0.0:
                d[j] += delta
                for i in range(n):
                    Hd[i] += delta * H[j, i]  # H is symmetric: row j is contiguous
                change = a * abs(delta)
                if change > largest:
                    largest = change
        if largest <= tol:
            return sweep + 1
    return max_sweeps
