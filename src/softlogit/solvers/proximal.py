"""Accelerated proximal gradient (FISTA) with backtracking and function-value restarts.

Minimises ``F(θ) = f(θ) + λ₁‖W‖₁`` (``f`` = loss + L2, the intercept never penalised) using
only gradients, so it scales to any number of parameters and any data backend. Each iteration:

1. *proximal step* from the extrapolated point ``y``:
   ``x⁺ = S(y − ∇f(y)/L, λ₁/L)`` (:func:`~softlogit.solvers.l1.soft_threshold`), with ``L``
   doubled until the quadratic upper bound holds,
   ``f(x⁺) ≤ f(y) + ∇f(y)ᵀ(x⁺−y) + (L/2)‖x⁺−y‖²``, then shrunk by ``L_SHRINK`` for the
   next iteration (so the step also grows back where the curvature is lower).
2. *restart* — if ``F(x⁺) > F(x)`` the momentum is hurting: it is reset (``t = 1``) and the
   proximal step is retaken from ``x`` itself, which keeps ``F`` monotone (O'Donoghue &
   Candès 2015, "Adaptive restart for accelerated gradient schemes").
3. *momentum* — ``t⁺ = (1 + √(1 + 4t²))/2``, ``y = x⁺ + ((t − 1)/t⁺)(x⁺ − x)``
   (Beck & Teboulle 2009).
4. *check* — the shared stopping rule on the minimum-norm subgradient at ``x⁺``.

Two loss/gradient evaluations per iteration (at ``x⁺`` and at ``y``). Penalties: any.
"""

from __future__ import annotations

import numpy as np

from softlogit.solvers.common import final_params, initial_params, with_verbose
from softlogit.solvers.iteration import Tracker
from softlogit.solvers.l1 import l1_value, soft_threshold
from softlogit.solvers.registry import register
from softlogit.solvers.result import grad_norm, optimality_gradient

#: Factor applied to L after each accepted step (lets the step size grow again).
L_SHRINK = 0.8
MAX_DOUBLINGS = 60
#: Slack in the upper-bound test, in ulps of |f|: rounding must not inflate L near the optimum.
ROUNDING_ULPS = 64


@register("proximal", penalties=("l1", "elasticnet", "l2", None),
          description="accelerated proximal gradient (FISTA) with backtracking and restarts")
def proximal(objective, params0=None, *, tol=1e-4, max_iter=5000, callback=None,
             reference_norm=None, verbose=0, **_ignored):
    """Minimise ``f + λ₁‖W‖₁`` by FISTA with restarts; returns a :class:`SolverResult`.

    Parameters
    ----------
    objective : :class:`~softlogit.objective.LinearObjective`, any penalty.
    params0 : flat start vector (warm start), default zeros.
    tol, max_iter, callback, reference_norm, verbose : the shared solver options.

    Examples
    --------
    >>> import numpy as np
    >>> from softlogit.objective import LinearObjective
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 4)); y = (X[:, 0] > 0).astype(float)
    >>> obj = LinearObjective(X, y, loss="binary", penalty="l1", C=0.1)
    >>> res = proximal(obj, tol=1e-8)
    >>> res.converged, int(np.count_nonzero(obj.unpack(res.params)[0]))
    (True, 1)
    """
    lam = float(objective.penalty.l1)
    mask = objective.penalized_mask
    noise = ROUNDING_ULPS * np.finfo(objective.dtype).eps

    def fun_grad(x):
        value, grad = objective.loss_gradient(x)
        return float(value), np.asarray(grad, dtype=np.float64)

    x = initial_params(objective, params0)
    track = Tracker(objective, "proximal", tol=tol, max_iter=max_iter,
                    callback=with_verbose(callback, verbose, "proximal"),
                    reference_norm=reference_norm)
    track.info.update(restarts=0)
    f_x, g_x = fun_grad(x)
    F_x = f_x + l1_value(x, lam, mask)
    reason = track.record(x, F_x, _opt_norm(objective, x, g_x))
    L = _initial_lipschitz(fun_grad, x, g_x)
    y, f_y, g_y, t, extrapolated = x, f_x, g_x, 1.0, False
    while reason is None:
        # proximal step from y (backtracking on L)
        step = _prox_step(fun_grad, y, f_y, g_y, L, lam, mask, noise)
        if step is not None and extrapolated and step[1] + l1_value(step[0], lam, mask) > F_x:
            # restart: the momentum increased F; retake the step from x without it
            track.info["restarts"] += 1
            t = 1.0
            step = _prox_step(fun_grad, x, f_x, g_x, step[3], lam, mask, noise)
        if step is None:
            reason = "line search failed: no step size satisfies the quadratic upper bound"
            break
        x_new, f_new, g_new, L = step
        # momentum
        t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        beta = (t - 1.0) / t_new
        extrapolated = beta > 0.0
        if extrapolated:
            y = x_new + beta * (x_new - x)
            f_y, g_y = fun_grad(y)
        else:
            y, f_y, g_y = x_new, f_new, g_new
        t = t_new
        x, f_x, g_x = x_new, f_new, g_new
        F_x = f_x + l1_value(x, lam, mask)
        L *= L_SHRINK
        # check
        track.n_iter += 1
        reason = track.record(x, F_x, _opt_norm(objective, x, g_x))
    track.info["lipschitz_estimate"] = float(L)
    return track.result(final_params(objective, x), reason)


def _opt_norm(objective, x, g):
    return grad_norm(optimality_gradient(objective, x, g))


def _initial_lipschitz(fun_grad, x, g):
    """Curvature along the gradient from one probe: ``‖∇f(x + εd) − ∇f(x)‖ / ‖εd‖``."""
    g_norm = grad_norm(g)
    if g_norm == 0.0:
        return 1.0
    eps = 1e-3 / g_norm
    _, g_probe = fun_grad(x - eps * g)
    return max(grad_norm(g_probe - g) / (eps * g_norm), 1e-8)


def _prox_step(fun_grad, y, f_y, g_y, L, lam, mask, noise):
    """``x⁺ = prox(y − ∇f(y)/L)`` with L doubled until the quadratic bound holds."""
    slack = noise * max(abs(f_y), 1e-300)
    for _ in range(MAX_DOUBLINGS):
        x_new = soft_threshold(y - g_y / L, lam / L, mask)
        f_new, g_new = fun_grad(x_new)
        diff = x_new - y
        if np.isfinite(f_new) and \
                f_new <= f_y + float(g_y @ diff) + 0.5 * L * float(diff @ diff) + slack:
            return x_new, f_new, g_new, L
        L *= 2.0
    return None
