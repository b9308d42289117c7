"""Proximal Newton with an *implicit* Hessian, for the path's sparse binary L1 / elastic-net solves.

The solvers' ``newton-cd`` forms the Hessian of the screened problem, ``O(|S|²)`` memory and a
``Xᵀ diag(w) X`` per outer iteration; beyond 2 000 parameters the path fell back to FISTA,
which on text-like data (2 000–6 300 active words at the weakest penalties) hit ``max_iter``.
Here coordinate descent on the same quadratic model never forms ``H``.

The intercept is eliminated exactly, as ``newton-cd`` does with the formed Hessian (uncentred
word counts are nearly collinear with the intercept, and plain CD on both crawls: measured,
hundreds of sweeps a step). With the Hessian weights ``w = s ⊙ h(1−h)/Σs``, ``W = Σwᵢ`` and the
weighted column means ``μ = Xᵀw / W``, the reduced model is the Schur complement

.. math::  S = Σᵢ wᵢ (xᵢ − μ)(xᵢ − μ)ᵀ + λ_2 I,  \\qquad  g̃ = g_W − μ g_b,

and with ``u = X_S d`` (kept up to date, sparse) and ``T = Σᵢ wᵢ uᵢ = W μᵀd`` coordinate ``j``
needs only

.. math::  (g̃ + S d)_j = g̃_j + Σ_{i: x_{ij} ≠ 0} wᵢ x_{ij} uᵢ − μ_j T + λ_2 d_j, \\qquad
           S_{jj} = Σᵢ wᵢ x_{ij}² − W μ_j² + λ_2

(the centring never densifies a column: it enters through the scalar ``T``, updated by
``δ W μ_j`` in O(1) when ``d_j`` moves by ``δ``), ``O(nnz(x_j))`` from a CSC column — glmnet's
covariance-free update (Friedman, Hastie & Tibshirani 2010, "Regularization paths for GLMs via
coordinate descent", J. Stat. Softw. 33(1), §3), so a sweep costs one pass over the screened
columns and memory stays ``O(m + |S|)``. The intercept's step is then
``d_b = −(g_b + T)/W``.

Each outer iteration: gradient and the shared stopping rule on the minimum-norm subgradient;
sweeps until every coordinate moved less than ``η‖g_opt‖∞ / H_jj`` (forcing term
``η = min(0.1, √(‖g_opt‖/‖g_opt(0)‖))``, as in ``newton-cd``); Armijo backtracking on ``F``
(Lee, Sun & Saunders 2014). The answer meets the same ``‖g_opt‖ ≤ tol·‖g_opt(0)‖`` as every
solver, so the path's KKT check and its tests do not depend on which solver ran.
"""

from __future__ import annotations

import numba
import numpy as np

from softlogit.solvers.iteration import Tracker
from softlogit.solvers.l1 import l1_value
from softlogit.solvers.newton_cd import _backtrack  # the same Armijo rule as newton-cd
from softlogit.solvers.result import grad_norm, optimality_gradient

MAX_SWEEPS = 1000


def implicit_newton_cd(objective, X_csc, params0, *, tol, max_iter, reference_norm=None,
                       max_sweeps=MAX_SWEEPS):
    """Minimise ``f + λ₁‖W‖₁`` of a *binary* :class:`LinearObjective` whose X is ``X_csc``
    (the same matrix, column-compressed); returns a :class:`SolverResult` ("implicit-newton-cd")."""
    if objective.n_logits != 1:
        raise ValueError("implicit_newton_cd fits the binary (one-logit) model only")
    lam, l2 = float(objective.penalty.l1), float(objective.penalty.l2)
    mask = objective.penalized_mask
    p, fit_b = objective.n_features, objective.fit_intercept
    theta = np.array(params0, dtype=np.float64).ravel()
    track = Tracker(objective, "implicit-newton-cd", tol=tol, max_iter=max_iter,
                    reference_norm=reference_norm)
    track.info["cd_sweeps"] = 0
    indptr = np.asarray(X_csc.indptr, dtype=np.int64)
    indices = np.asarray(X_csc.indices, dtype=np.int64)
    data = np.asarray(X_csc.data, dtype=np.float64)
    s = np.asarray(objective.sample_weight, dtype=np.float64) / objective.sw_sum
    noise = 64 * np.finfo(np.float64).eps

    def evaluate(x):
        value, grad = objective.loss_gradient(x)
        grad = np.asarray(grad, dtype=np.float64)
        return float(value) + l1_value(x, lam, mask), grad, grad_norm(
            optimality_gradient(objective, x, grad))

    F, g, opt = evaluate(theta)
    reason = track.record(theta, F, opt)
    while reason is None:
        factors = objective.hessian_factors(theta)
        w = np.asarray(objective.loss_fn.hessian_block_weights(factors, 0, 0),
                       dtype=np.float64) * s
        forcing = min(0.1, np.sqrt(opt / track.rule.reference_norm))
        g_inf = float(np.max(np.abs(optimality_gradient(objective, theta, g))))
        d = np.zeros(p + fit_b)
        u = np.zeros(len(w))
        sweeps = _sweeps(indptr, indices, data, w, g, theta, lam, l2, fit_b, d, u,
                         int(max_sweeps), forcing * g_inf)
        objective.design.count_pass(float(sweeps))  # a sweep reads the screened columns once
        track.info["cd_sweeps"] += int(sweeps)
        decrease = float(g @ d) + l1_value(theta + d, lam, mask) - l1_value(theta, lam, mask)
        step = _backtrack(evaluate, theta, F, opt, d, min(decrease, 0.0), noise)
        if step is None:
            track.n_iter += 1
            reason = "line search failed: the Newton model gives no descent step"
            break
        theta, F, g, opt = step
        track.n_iter += 1
        reason = track.record(theta, F, opt)
    if lam > 0:  # exact zeros: coefficients the soft-threshold zeroed land at ±rounding
        W = theta[:p]
        theta[:p] = np.where(np.abs(W) <= noise * max(np.max(np.abs(W), initial=0.0), 1e-300),
                             0.0, W)
    return track.result(theta.astype(objective.dtype, copy=False), reason)


@numba.njit(cache=True, nogil=True)
def _sweeps(indptr, indices, data, w, g, theta, lam, l2, fit_b, d, u, max_sweeps,
            tol):  # pragma: no cover - compiled
    """Cyclic CD on the model with the intercept eliminated (module docstring); updates
    ``d`` (its last entry the intercept's step) and ``u = X_S d_W`` in place; returns sweeps."""
    p = indptr.shape[0] - 1
    m = w.shape[0]
    w_sum = 0.0
    if fit_b:
        for i in range(m):
            w_sum += w[i]
    mu = np.zeros(p)
    curv = np.empty(p)
    for j in range(p):
        a = 0.0
        c = 0.0
        for k in range(indptr[j], indptr[j + 1]):
            x = data[k]
            wx = w[indices[k]] * x
            a += wx * x
            c += wx
        if fit_b and w_sum > 0.0:
            mu[j] = c / w_sum
            centred = a - w_sum * mu[j] * mu[j]
            a = centred if centred > 1e-12 * a else 0.0  # a constant column: nothing to fit
        curv[j] = a + l2 if a > 0.0 else 0.0
    g_b = g[p] if fit_b else 0.0
    T = 0.0  # Σᵢ wᵢ uᵢ
    for sweep in range(max_sweeps):
        largest = 0.0
        for j in range(p):
            a = curv[j]
            if a <= 0.0:
                continue
            s = 0.0
            for k in range(indptr[j], indptr[j + 1]):
                s += w[indices[k]] * data[k] * u[indices[k]]
            v = theta[j] + d[j]
            z = v - (g[j] - mu[j] * g_b + s - mu[j] * T + l2 * d[j]) / a
            cut = lam / a
            if z > cut:
                z -= cut
            elif z < -cut:
                z += cut
            else:
                z = 0.0
            delta = z - v
            if delta != 0.0:
                d[j] += delta
                for k in range(indptr[j], indptr[j + 1]):
                    u[indices[k]] += delta * data[k]
                T += delta * w_sum * mu[j]
                change = a * abs(delta)
                if change > largest:
                    largest = change
        if largest <= tol:
            break
    if fit_b and w_sum > 0.0:
        d[p] = -(g_b + T) / w_sum
    return sweep + 1
