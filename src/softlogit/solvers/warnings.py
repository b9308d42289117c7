"""Warnings the solvers emit when a step fails and they take a documented fallback.

Each warning says what went wrong, at which iteration, and what the solver did instead; the
fallback is also listed in ``SolverResult.info["fallbacks"]``.
"""


class SolverWarning(UserWarning):
    """Base class: a solver hit a numerical problem and took a fallback."""


class SingularHessianWarning(SolverWarning):
    """The Hessian was singular or indefinite (beyond the model's known null space)."""


class LineSearchWarning(SolverWarning):
    """The line search found no acceptable step; the solver fell back or stopped."""
