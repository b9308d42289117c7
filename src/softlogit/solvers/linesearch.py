"""Backtracking (Armijo) line search along a descent direction, shared by the Newton solvers.

Starting from step ``t = 1`` (the natural step of a Newton direction) it halves ``t`` until

.. math::  J(θ + t d) ≤ J(θ) + c\\, t\\, ∇J(θ)ᵀ d,   \\quad c = 10^{-4}.

Near the optimum the decrease ``c t ∇Jᵀd`` falls below the rounding error of ``J`` (about
``1e-16·|J|``) and the test can fail for a perfectly good step. A trial point is then also
accepted when ``J`` is unchanged to rounding and the gradient norm went down — the objective is
flat to machine precision there, so the gradient is the only reliable signal.

:func:`step_or_gradient_step` and :class:`FallbackLog` are the Newton solvers' shared tail
of an iteration: search along the Newton-type direction, else along ``−∇J``, and record the
fallback.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from softlogit.solvers.result import grad_norm
from softlogit.solvers.warnings import LineSearchWarning, SingularHessianWarning

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


class FallbackLog:
    """The Newton solvers' fallbacks: each is listed in ``info["fallbacks"]`` and warned about
    the first time its kind occurs (``solver, iteration N: message``)."""

    def __init__(self, track, solver: str):
        self.track = track
        self.solver = solver
        self.warned: set[str] = set()
        track.info["fallbacks"] = []

    def __call__(self, kind, message, category=None):
        iteration = self.track.n_iter + 1
        self.track.info["fallbacks"].append(f"iteration {iteration}: {message}")
        if kind not in self.warned:
            self.warned.add(kind)
            warnings.warn(f"{self.solver}, iteration {iteration}: {message}",
                          category or SingularHessianWarning, stacklevel=3)


def step_or_gradient_step(fun_grad, theta, value, grad, direction, *, dtype, fallback,
                          name: str):
    """Backtracking along the ``name`` direction; if no step along it decreases ``J``, one
    line search along ``−∇J`` (reported through ``fallback``).

    Returns ``(step, reason)``: ``step`` is the accepted :class:`Step`, or ``None`` with the
    stopping ``reason`` when neither direction decreases the objective.
    """
    step = backtracking(fun_grad, theta, value, grad, direction, dtype=dtype)
    if step is not None:
        return step, None
    step = backtracking(fun_grad, theta, value, grad, -grad, dtype=dtype)
    if step is None:
        return None, (f"line search failed: no step along the {name} or the gradient "
                      "direction decreases the objective")
    fallback("linesearch", f"no step along the {name} direction decreased the objective; "
             "took a gradient step instead", LineSearchWarning)
    return step, None


def objective_fun_grad(objective):
    """``θ ↦ (J(θ), ∇J(θ))`` as a Python float and a float64 vector (what the searches use)."""
    def fun_grad(theta):
        value, grad = objective.loss_gradient(theta)
        return float(value), np.asarray(grad, dtype=np.float64)
    return fun_grad
