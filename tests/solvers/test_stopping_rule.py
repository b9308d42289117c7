"""The shared stopping rule: tol means the same for every solver, also in degenerate cases."""

import warnings

import numpy as np
import pytest

from softlogit.objective import LinearObjective
from softlogit.solvers import StoppingRule, solve
from softlogit.solvers.result import rounding_floor

SOLVERS = {"gd": "l2", "lbfgs": "l2", "newton": "l2", "newton-cd": "l1", "proximal": "l1"}


def _null_optimal(loss, seed=1):
    """Each row repeated once per class: ∇J(0) = 0 exactly, only rounding remains."""
    rng = np.random.default_rng(seed)
    X0 = 3 * rng.standard_normal((37, 3)) + 1.7
    K = 2 if loss == "binary" else 3
    X = np.vstack([X0] * K)
    y = np.repeat(np.arange(K), 37)
    return X, (y.astype(float) if loss == "binary" else y)


@pytest.mark.parametrize("loss", ["binary", "multinomial"])
@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_cold_start_optimal_to_rounding_stops_at_once(solver, loss):
    X, y = _null_optimal(loss)
    obj = LinearObjective(X, y, loss=loss, penalty=SOLVERS[solver], C=1.0)
    g0 = np.linalg.norm(obj.gradient(obj.zeros()))
    assert g0 < 1e-14  # rounding only: a relative target tol·g0 would be unreachable
    assert g0 <= rounding_floor(obj)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = solve(obj, solver, tol=1e-4, max_iter=50)
    assert res.converged and res.n_iter == 0, (res.n_iter, res.reason)


def test_small_but_real_gradient_keeps_the_relative_rule():
    """X scaled by 1e-6 has a small ∇J(0) that is signal, not rounding: the rule stays
    relative to it and the solver must still move."""
    rng = np.random.default_rng(0)
    X = 1e-6 * rng.standard_normal((200, 3))
    y = (X[:, 0] + 1e-6 * rng.standard_normal(200) > 0).astype(float)
    obj = LinearObjective(X, y, penalty=None, fit_intercept=False)
    rule = StoppingRule(obj, tol=1e-6)
    g0 = np.linalg.norm(obj.gradient(obj.zeros()))
    assert 0 < g0 < 1e-6
    assert rule.reference_norm == g0 and rule.threshold == pytest.approx(1e-6 * g0)
    res = solve(obj, "lbfgs", tol=1e-6, max_iter=500)
    assert res.n_iter > 0 and np.linalg.norm(obj.gradient(res.params)) <= 1e-6 * g0
