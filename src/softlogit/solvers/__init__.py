"""The solvers layer: one module each, a registry, one result record.

A solver sees only an objective (:class:`~softlogit.objective.LinearObjective`) and returns a
:class:`SolverResult`. ``tol`` means the same everywhere (:class:`StoppingRule`).
"""

from softlogit.solvers.iteration import IterationState, Tracker
from softlogit.solvers.registry import SolverSpec, available, get_solver, register, solver_for
from softlogit.solvers.result import SolverResult, StoppingRule, optimality_gradient


def solve(objective, solver: str = "gd", params0=None, **options) -> SolverResult:
    """Run the registered solver ``solver`` on ``objective``."""
    return solver_for(solver, objective).run(objective, params0, **options)


__all__ = [
    "IterationState", "Tracker", "SolverResult", "StoppingRule", "SolverSpec",
    "available", "get_solver", "register", "solve", "optimality_gradient",
]
