"""The loop bookkeeping every solver shares: histories, the stopping rule, callbacks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from softlogit.solvers.result import SolverResult, StoppingRule


@dataclass(frozen=True)
class IterationState:
    """What a ``callback`` receives after each iteration (return ``True`` to stop the fit)."""

    iteration: int
    params: np.ndarray
    objective: float
    grad_norm: float
    solver: str


class Tracker:
    """Records the objective and gradient-norm history and decides when to stop.

    Solvers call :meth:`record` once at the start and once per iteration; it returns a stop
    reason (a string) or ``None`` to go on.
    """

    def __init__(self, objective, solver: str, *, tol: float, max_iter: int,
                 callback=None, reference_norm: float | None = None,
                 passes0: float | None = None):
        if int(max_iter) < 0:
            raise ValueError(f"max_iter must be >= 0; got {max_iter!r}")
        # Passes over X are counted by the design (softlogit.data.base); the solver's share is
        # what the design counted between this tracker's start (before the stopping rule's
        # reference gradient) — or ``passes0``, the count before a start the solver computed
        # first (:func:`~softlogit.solvers.common.newton_start`) — and its result.
        self._design = objective.design
        self._passes0 = objective.design.passes if passes0 is None else passes0
        self.solver = solver
        self.rule = StoppingRule(objective, tol, reference_norm)
        self.max_iter = int(max_iter)
        self.callback = callback
        self.objectives: list[float] = []
        self.grad_norms: list[float] = []
        self.n_iter = 0
        self.converged = False
        self.info: dict = {}

    def record(self, params, objective_value: float, grad_norm: float) -> str | None:
        """Log one point; return why to stop, or None."""
        self.objectives.append(float(objective_value))
        self.grad_norms.append(float(grad_norm))
        if not np.isfinite(objective_value):
            return "objective is not finite"
        if not np.isfinite(grad_norm):
            return "gradient is not finite (NaN or infinite entries)"
        if self.rule.met(grad_norm):
            self.converged = True
            return "gradient norm below tolerance"
        if self.callback is not None and len(self.objectives) > 1:
            state = IterationState(self.n_iter, params, float(objective_value), float(grad_norm),
                                   self.solver)
            if self.callback(state) is True:
                return "stopped by callback"
        if self.n_iter >= self.max_iter:
            return "maximum number of iterations reached"
        return None

    def result(self, params, reason: str, converged: bool | None = None) -> SolverResult:
        return SolverResult(
            params=np.asarray(params),
            n_iter=self.n_iter,
            converged=self.converged if converged is None else converged,
            reason=reason,
            objective_history=np.asarray(self.objectives),
            grad_norm_history=np.asarray(self.grad_norms),
            solver=self.solver,
            info=dict(self.info, tol=self.rule.tol, reference_grad_norm=self.rule.reference_norm,
                      passes=float(self._design.passes - self._passes0)),
        )
