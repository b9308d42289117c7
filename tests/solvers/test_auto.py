"""solver="auto": its choices follow the documented rules and it returns the real solver's result."""

import numpy as np
import pytest

from softlogit.solvers import auto as auto_mod
from softlogit.solvers import available, solve
from softlogit.solvers.auto import choose_solver

from ._problems import objective, sparse_problem
from softlogit.objective import LinearObjective


def test_registered_for_every_penalty():
    spec = available()["auto"]
    assert spec.penalties == frozenset({"l2", "l1", "elasticnet", None})


def test_result_is_the_chosen_solvers():
    obj = objective("breast_cancer")
    name, reason = choose_solver(obj)
    res = solve(obj, "auto", tol=1e-8)
    assert res.solver == name != "auto"
    assert res.info["auto_choice"] == name and res.info["auto_reason"] == reason
    assert res.converged
    direct = solve(obj, name, tol=1e-8)
    np.testing.assert_array_equal(res.params, direct.params)


def test_large_problem_goes_to_lbfgs(monkeypatch):
    obj = objective("digits")
    monkeypatch.setattr(auto_mod, "NEWTON_MAX_PARAMS", obj.n_params - 1)
    name, reason = choose_solver(obj)
    assert name == "lbfgs" and str(obj.n_params) in reason


def test_sparse_large_goes_to_lbfgs(monkeypatch):
    X, y, loss = sparse_problem("multinomial")
    obj = LinearObjective(X, y, loss=loss)
    monkeypatch.setattr(auto_mod, "NEWTON_MAX_PARAMS", 10)
    assert choose_solver(obj)[0] == "lbfgs"
