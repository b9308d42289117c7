"""Backtracking (Armijo) line search along a descent direction, shared by the Newton solvers.

Starting from step ``t = 1`` (the natural step of a Newton direction) it halves ``t`` until

.. math::  J(θ + t d) ≤ J(θ) + c\\, t\\, ∇J(θ)ᵀ d,   \\quad c = 10^{-4}.

Near the optimum the decrease ``c t ∇Jᵀd`` falls below the rounding error of ``J`` (about
``1e-16·|J|``) and the test can fail for a perfectly good step. A trial point is then also
accepted when ``J`` is unchanged to rounding and the gradient norm went down — the objective is
flat to machine precision there, so the gradient is the only reliable signal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from softlogit.solvers.result import grad_norm
ARMIJO_C = 1e-4
MAX_HALVINGS = 40
#: |ΔJ| below this many ulps of |J| counts as "unchanged to rounding".
ROUNDING_ULPS = 64


@dataclass(frozen=True)
class Step:
    """An accepted step: new point, its objective and gradient, the step length taken."""

    theta: np.ndarray
    value: float
    grad: np.ndarray
    length: float
    n_evals: int


def backtracking(fun_grad, theta, value, grad, direction, *, dtype=np.float64):
    """Return the first acceptable :class:`Step` along ``direction``, or ``None``.

    ``fun_grad(θ) -> (J, ∇J)`` evaluates the smooth objective; ``dtype`` is the precision it
    computes in (it sets the rounding level of ``J``).
    """
    slope = float(grad @ direction)
    if not slope < 0:
        return None
    g_norm = grad_norm(grad)
    noise = ROUNDING_ULPS * np.finfo(dtype).eps * max(abs(value), 1e-300)
    t = 1.0
    for n in range(1, MAX_HALVINGS + 1):
        trial = theta + t * direction
        f_trial, g_trial = fun_grad(trial)
        if np.isfinite(f_trial):
            if f_trial <= value + ARMIJO_C * t * slope:
                return Step(trial, f_trial, g_trial, t, n)
            if abs(f_trial - value) <= noise and grad_norm(g_trial) < g_norm:
                return Step(trial, f_trial, g_trial, t, n)
        t *= 0.5
    return None
