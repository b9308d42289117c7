"""Which solvers exist and what each supports; compatibility is checked here and only here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class SolverSpec:
    """A registered solver.

    ``run(objective, params0, *, tol, max_iter, callback, **options) -> SolverResult``.
    """

    name: str
    run: Callable
    penalties: frozenset  # subset of {"l2", "l1", "elasticnet", None}
    sparse: bool = True
    description: str = ""


_SOLVERS: dict[str, SolverSpec] = {}


def register(name: str, *, penalties=("l2", None), sparse=True, description=""):
    """Decorator registering a solver function under ``name``."""

    def wrap(fn):
        _SOLVERS[name] = SolverSpec(name, fn, frozenset(penalties), sparse, description)
        return fn

    return wrap


def available() -> dict[str, SolverSpec]:
    """All registered solvers by name."""
    _load_all()
    return dict(_SOLVERS)


def get_solver(name: str, *, penalty=None, sparse: bool = False) -> SolverSpec:
    """The solver ``name``, after checking it supports ``penalty`` and sparse X."""
    _load_all()
    if name not in _SOLVERS:
        raise ValueError(f"unknown solver {name!r}; expected one of {sorted(_SOLVERS)}")
    spec = _SOLVERS[name]
    if penalty == "none":
        penalty = None
    if penalty not in spec.penalties:
        supported = sorted(str(p) for p in spec.penalties)
        raise ValueError(
            f"solver {name!r} does not support penalty={penalty!r}; it supports {supported}"
        )
    if sparse and not spec.sparse:
        raise ValueError(f"solver {name!r} does not support sparse X")
    return spec


#: The solver modules; importing one runs its @register decorator.
SOLVER_MODULES = ("gd", "lbfgs", "newton", "newton_cd", "proximal", "sgd", "subsampled_newton",
                  "auto")


def penalty_name(objective):
    """The penalty an objective carries, by name: "l2", "l1", "elasticnet" or None."""
    pen = objective.penalty
    if pen.l1 and pen.l2:
        return "elasticnet"
    if pen.l1:
        return "l1"
    if pen.l2:
        return "l2"
    return None


def solver_for(name: str, objective) -> SolverSpec:
    """The solver ``name``, checked against ``objective``'s penalty and storage."""
    return get_solver(name, penalty=penalty_name(objective), sparse=objective.design.is_sparse)


def _load_all():
    import importlib

    for module in SOLVER_MODULES:
        importlib.import_module(f"softlogit.solvers.{module}")
