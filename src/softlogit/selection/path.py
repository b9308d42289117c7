"""Fits along a regularisation path: decreasing penalty, warm starts, screening, KKT checks.

For C₁ < C₂ < … (the penalty ``λ₁ = ρ/(C Σs)`` falls along the path) each fit starts from the
previous one. With an L1 term only a few columns are solved on (:mod:`.screening`), and after
each solve the gradient on all columns is checked against the KKT conditions: a violated column
is added and the fit resumed. The answer is therefore the fit on all columns at the same
stopping rule: the solvers' ``‖∇J‖ ≤ tol·‖∇J(0)‖`` with ``‖∇J(0)‖`` of the *full* problem at
that C (the minimum-norm subgradient, zero on every screened-out column once the check passes).

The solves are the registered solvers unchanged (``"auto"``: proximal Newton ``newton-cd`` for
an L1 term on the small screened problems, Newton or L-BFGS for L2).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from softlogit.selection import screening as scr
from softlogit.selection.grid import (
    c_grid, c_zero, check_Cs, default_min_ratio, max_gradient, null_params,
)
from softlogit.selection.implicit_newton import implicit_newton_cd
from softlogit.selection.lazy_newton_cd import lazy_newton_cd
from softlogit.selection.ridge_newton import ridge_newton
from softlogit.solvers import optimality_gradient, solve
from softlogit.solvers.result import grad_norm

#: Coordinate-descent sweeps per proximal-Newton iteration. A sweep costs |S|² operations, a
#: Hessian m·|S|²: with correlated columns the solver's default of 200 sweeps left the Newton
#: steps inexact and each extra outer iteration paid a new Hessian (measured, 6400 × 200,
#: correlation 0.5: 224 Hessians were 86 % of the path's time).
CD_SWEEPS = 5000
#: The path's own solver for sparse binary L1 / elastic net (:mod:`.implicit_newton`).
IMPLICIT = "implicit-newton-cd"
#: The path's own solver for dense binary L2 (:mod:`.ridge_newton`: the Hessian carried on).
RIDGE = "ridge-newton"
#: The path's own solver for dense L1 / elastic net (:mod:`.lazy_newton_cd`: the Hessian kept
#: while it works and carried from one C to the next).
LAZY = "lazy-newton-cd"


@dataclass(frozen=True)
class PathResult:
    """The fits along a path, one entry per C (in the order of ``Cs``, increasing).

    Attributes
    ----------
    Cs : (n_Cs,) the C values.
    coefs : (n_Cs, k, p) coefficients (k = 1 for the sigmoid model, K for the softmax).
    intercepts : (n_Cs, k).
    objectives : (n_Cs,) the full objective ``J`` (L1 term included) at each fit.
    n_iter : (n_Cs,) solver iterations, summed over the resolves at that C (a fit that needed
        no solver step — the intercept-only fit, in closed form — counts as 1).
    n_active : (n_Cs,) columns with a non-zero coefficient.
    n_screened : (n_Cs,) columns in the last solve at that C (what screening kept).
    n_resolves : (n_Cs,) solves the KKT check triggered after the first.
    converged : (n_Cs,) whether the stopping rule was met.
    penalty, l1_ratio : the penalty (``"l1"``, ``"elasticnet"``, ``"l2"``) and its ρ.
    C_zero : the largest C at which every coefficient is zero (``nan`` for pure L2).
    screening : the strategy used (None for a smooth penalty).
    info : totals — ``kkt_passes`` (passes over all of X), ``solver_passes`` (over the
        screened columns), ``reasons`` (the solvers' stop reasons per C),
        ``screening_per_C`` (the strategy each C used; ``"auto"`` picks per C).
    """

    Cs: np.ndarray
    coefs: np.ndarray
    intercepts: np.ndarray
    objectives: np.ndarray
    n_iter: np.ndarray
    n_active: np.ndarray
    n_screened: np.ndarray
    n_resolves: np.ndarray
    converged: np.ndarray
    penalty: str
    l1_ratio: float
    C_zero: float
    screening: str | None
    info: dict = field(default_factory=dict)

    def params(self, i: int) -> np.ndarray:
        """``[W | b]`` of the i-th fit, shape (k, p + 1)."""
        return np.column_stack([self.coefs[i], self.intercepts[i]])


def penalty_name(l1_ratio: float) -> str:
    """The penalty of an elastic-net mixing ρ: 0 → "l2", 1 → "l1", else "elasticnet"."""
    return "l2" if l1_ratio == 0 else ("l1" if l1_ratio == 1 else "elasticnet")


def fit_path(problem, Cs, l1_ratio: float, *, tol=1e-8, max_iter=100, solver="auto",
             screening="auto", min_ratio=None, verbose=0, start=None) -> PathResult:
    """The path of :class:`~softlogit.selection.problem.PathProblem` ``problem`` over ``Cs``.

    ``Cs`` is an array of C values (fitted in increasing order, returned in that order) or an
    int (the automatic grid of :mod:`.grid`, with ``min_ratio``); ``l1_ratio`` is ρ in [0, 1].
    ``start``: the full flat parameters the first fit starts from (default: the intercept-only
    fit, where every coefficient is zero); the answers meet the same stopping rule either way.
    """
    rho = float(l1_ratio)
    penalty = penalty_name(rho)
    null = null_params(problem)
    gmax, grad = max_gradient(problem, null)
    C0 = c_zero(problem, rho, gmax) if rho > 0 else np.nan
    Cs = check_Cs(Cs)
    if isinstance(Cs, int):
        ratio = min_ratio or default_min_ratio(problem.full.n_samples, problem.n_features)
        Cs = c_grid(c_zero(problem, rho, gmax), Cs, ratio)
    Cs = np.sort(Cs)
    _, grad_zero = problem.full.loss_gradient(np.zeros_like(null))
    passes0 = problem.full.design.passes

    p, k = problem.n_features, problem.n_logits
    out = {name: [] for name in ("coefs", "intercepts", "objectives", "n_iter", "n_active",
                                 "n_screened", "n_resolves", "converged", "reasons",
                                 "strategies")}
    theta, lam_old = null, gmax
    if start is not None:  # a warm start: the gradient there screens the first C
        theta = np.asarray(start, dtype=np.float64).ravel().copy()
        _, grad = problem.full.loss_gradient(theta)
        grad = np.asarray(grad, dtype=np.float64)
        lam_old = None
    solver_passes = 0.0
    strategy = screening if rho > 0 else None
    carried = None  # ridge_newton's RidgeCarry at the last answer (L2: all columns)
    kept = None  # lazy_newton_cd's CarriedHessian (L1 / elastic net: the last columns solved)
    for C in Cs:
        pen = problem.penalty(penalty, float(C), rho if penalty == "elasticnet" else None)
        full = problem.full_objective(pen)
        reference = grad_norm(optimality_gradient(full, np.zeros_like(null), grad_zero))
        scores = scr.column_scores(problem, grad)
        active = scr.active_columns(problem, theta)
        used, columns = ((None, np.arange(p)) if strategy is None
                         else scr.initial_columns(strategy, scores, active, pen.l1,
                                         pen.l1 if lam_old is None else lam_old))
        n_iter = resolves = 0
        while True:
            result = None
            if len(columns):
                sub = problem.objective(columns, pen)
                name = _solver_name(solver, sub)
                start = problem.restrict(theta, columns)
                if name == RIDGE:
                    result, carried = ridge_newton(sub, start, tol=tol, max_iter=max_iter,
                                                   reference_norm=reference,
                                                   carried=carried)
                elif name == LAZY:
                    result, kept = lazy_newton_cd(sub, start, tol=tol, max_iter=max_iter,
                                                  reference_norm=reference,
                                                  keys=problem.flat_keys(columns),
                                                  carried=kept, max_sweeps=CD_SWEEPS)
                    if result.info.get("hessian_overflow"):  # newton-cd warns, falls back
                        kept = None
                        result = solve(sub, "auto", start, tol=tol, max_iter=max_iter,
                                       reference_norm=reference, verbose=verbose)
                elif name == IMPLICIT:
                    result = implicit_newton_cd(sub, sub.path_csc, start, tol=tol,
                                                max_iter=max_iter, reference_norm=reference)
                else:
                    extra = {"max_sweeps": CD_SWEEPS} if name == "newton-cd" else {}
                    result = solve(sub, name, start, tol=tol, max_iter=max_iter,
                                   reference_norm=reference, verbose=verbose, **extra)
                theta = problem.expand(result.params, columns)
                n_iter += result.n_iter
                solver_passes += result.info.get("passes", 0.0)
            else:  # no column: the intercept-only fit, in closed form (also after a warm start)
                theta = null.copy()
            if strategy is None:
                value, converged = result.objective, result.converged
                reason = result.reason
                break
            value, grad = full.loss_gradient(theta)
            grad = np.asarray(grad, dtype=np.float64)
            scores = scr.column_scores(problem, grad)
            violations = scr.kkt_violations(scores, columns, pen.l1)
            if not len(violations):
                opt = grad_norm(optimality_gradient(full, theta, grad))
                converged = bool(opt <= tol * reference) if reference > 0 else True
                reason = result.reason if result is not None else "no column enters"
                W, _ = problem.unpack(theta)
                value = float(value) + pen.l1 * float(np.abs(W).sum())
                break
            resolves += 1
            active = scr.active_columns(problem, theta)
            columns = scr.grown_columns(used, columns, violations, scores, active)
        W, b = problem.unpack(theta)
        out["coefs"].append(W.copy())
        out["intercepts"].append(b.copy())
        out["objectives"].append(float(value))
        out["n_iter"].append(max(n_iter, 1))  # the closed-form intercept-only fit counts 1
        out["n_active"].append(int(np.any(W != 0, axis=0).sum()))
        out["n_screened"].append(len(columns))
        out["n_resolves"].append(resolves)
        out["converged"].append(converged)
        out["reasons"].append(reason)
        out["strategies"].append(used)
        lam_old = pen.l1
    info = {"kkt_passes": float(problem.full.design.passes - passes0),
            "solver_passes": solver_passes, "reasons": out.pop("reasons"),
            "screening_per_C": out.pop("strategies")}
    arrays = {name: np.asarray(v) for name, v in out.items()}
    arrays["coefs"] = arrays["coefs"].reshape(len(Cs), k, p)
    arrays["intercepts"] = arrays["intercepts"].reshape(len(Cs), k)
    return PathResult(Cs=Cs, penalty=penalty, l1_ratio=rho, C_zero=C0, screening=strategy,
                      info=info, **arrays)


def _solver_name(solver, objective) -> str:
    """``"auto"`` on a screened L1/elastic-net problem is: for sparse binary X, proximal Newton
    with the implicit Hessian (:mod:`.implicit_newton`: no ``|S|²`` Hessian, so no size limit);
    otherwise ``newton-cd``'s proximal Newton with the Hessian kept (:mod:`.lazy_newton_cd`)
    while its Hessian stays small
    (:data:`~softlogit.solvers.auto.NEWTON_CD_MAX_PARAMS` parameters), else the solvers' own
    ``"auto"``. A pure L2 path on dense binary X of that size runs :mod:`.ridge_newton`
    (Newton with the Hessian carried from one C to the next); other L2 paths the solvers'
    ``"auto"``.

    The solvers' ``"auto"`` weighs the Hessian's cost against FISTA's for a cold start; along a
    path each solve starts next to its answer and proximal Newton needs a few iterations where
    FISTA needs hundreds (measured: 8000 × 200, 10 Cs — FISTA hit max_iter=100 at 4 of the Cs,
    proximal Newton converged in ≤ 10 iterations at each).
    """
    if solver != "auto":
        return solver
    if not objective.penalty.l1:
        from softlogit.solvers.auto import NEWTON_CD_MAX_PARAMS

        dense = getattr(objective, "path_csc", None) is None
        small = objective.n_params <= NEWTON_CD_MAX_PARAMS
        return RIDGE if dense and small and objective.n_logits == 1 else solver
    if getattr(objective, "path_csc", None) is not None and objective.n_logits == 1:
        return IMPLICIT
    from softlogit.solvers.auto import NEWTON_CD_MAX_PARAMS

    return LAZY if objective.n_params <= NEWTON_CD_MAX_PARAMS else "auto"


def warn_unconverged(path: PathResult, where: str = "") -> None:
    """One :class:`~softlogit.estimators.ConvergenceWarning` naming the Cs that did not converge."""
    bad = np.flatnonzero(~path.converged)
    if not len(bad):
        return
    from softlogit.estimators.warnings import ConvergenceWarning

    shown = ", ".join(f"{path.Cs[i]:.3g}" for i in bad[:5])
    more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
    warnings.warn(f"regularisation path{where}: the fit did not converge at C = {shown}{more} "
                  f"({path.info['reasons'][bad[0]]}); raise max_iter or loosen tol",
                  ConvergenceWarning, stacklevel=3)
