"""The solvers layer: one module each, a registry, one result record.

A solver sees only an objective (:class:`~softlogit.objective.LinearObjective`) and returns a
:class:`SolverResult`. ``tol`` means the same everywhere (:class:`StoppingRule`).
"""

from softlogit.solvers.iteration import IterationState, Tracker
from softlogit.solvers.registry import SolverSpec, available, get_solver, register
from softlogit.solvers.result import SolverResult, StoppingRule, optimality_gradient


def solve(objective, solver: str = "gd", params0=None, **options) -> SolverResult:
    """Run the registered solver ``solver`` on ``objective``."""
    spec = get_solver(solver, penalty=_penalty_name(objective),
                      sparse=objective.design.is_sparse)
    return spec.run(objective, params0, **options)


def _penalty_name(objective):
    pen = objective.penalty
    if pen.l1 and pen.l2:
        return "elasticnet"
    if pen.l1:
        return "l1"
    if pen.l2:
        return "l2"
    return None


__all__ = [
    "IterationState", "Tracker", "SolverResult", "StoppingRule", "SolverSpec",
    "available", "get_solver", "register", "solve", "optimality_gradient",
]
