"""FISTA with restarts: parity with scikit-learn's SAGA and with the proximal Newton solver."""

import numpy as np
import pytest
import scipy.sparse as sp

from softlogit.objective import LinearObjective
from softlogit.solvers import optimality_gradient, solve

from ._problems import newton_cd_solution, objective, sklearn_reference, sparse_problem
from .test_newton import centred

PENALTIES = [("l1", None), ("elasticnet", 0.5), ("l2", None)]


@pytest.mark.parametrize("penalty,ratio", PENALTIES)
@pytest.mark.parametrize("name", ["iris", "wine", "generated-binary"])
def test_matches_sklearn(name, penalty, ratio):
    obj = objective(name, penalty=penalty, l1_ratio=ratio, C=0.5)
    res = solve(obj, "proximal", tol=1e-9)
    assert res.converged
    ref = obj.pack(*sklearn_reference(name, penalty, 0.5, ratio))
    ours, theirs = obj.objective_value(res.params), obj.objective_value(ref)
    assert ours <= theirs + 1e-6 * abs(theirs)
    assert abs(ours - theirs) <= 1e-6 * abs(theirs)
    np.testing.assert_allclose(centred(obj, res.params), centred(obj, ref), rtol=1e-4, atol=1e-4)


def test_not_worse_than_saga_on_breast_cancer():
    obj = objective("breast_cancer", penalty="l1", C=0.5)
    res = solve(obj, "proximal", tol=1e-9)
    ref = obj.pack(*sklearn_reference("breast_cancer", "l1", 0.5, None, saga_tol=1e-4))
    assert res.objective <= obj.objective_value(ref) * (1 + 1e-6)


@pytest.mark.parametrize("penalty,ratio", PENALTIES[:2])
@pytest.mark.parametrize("name", ["breast_cancer", "digits", "generated-multi"])
def test_agrees_with_newton_cd(name, penalty, ratio):
    # Two unrelated algorithms (first-order FISTA, second-order proximal Newton) on one optimum.
    obj = objective(name, penalty=penalty, l1_ratio=ratio, C=0.5)
    fista = solve(obj, "proximal", tol=1e-9)
    newton = newton_cd_solution(name, penalty, ratio)
    assert fista.converged and newton.converged
    assert abs(fista.objective - newton.objective) <= 1e-8 * newton.objective
    if not (penalty == "l1" and obj.n_logits % 2 == 0):  # see test_newton_cd: K even ⇒ not unique
        np.testing.assert_allclose(centred(obj, fista.params), centred(obj, newton.params),
                                   rtol=1e-4, atol=1e-4)
    g = obj.gradient(fista.params)
    assert np.linalg.norm(optimality_gradient(obj, fista.params, g)) <= \
        1e-9 * fista.info["reference_grad_norm"]


@pytest.mark.parametrize("loss", ["binary", "multinomial"])
def test_sparse_matches_dense(loss):
    X, y, _ = sparse_problem(loss)
    kw = dict(loss=loss, penalty="elasticnet", l1_ratio=0.7, C=0.5)
    r_sparse = solve(LinearObjective(X, y, **kw), "proximal", tol=1e-9)
    r_dense = solve(LinearObjective(X.toarray(), y, **kw), "proximal", tol=1e-9)
    assert r_sparse.converged and r_dense.converged
    np.testing.assert_allclose(r_sparse.params, r_dense.params, rtol=1e-5, atol=1e-6)


def test_monotone_history_and_reason():
    obj = objective("wine", penalty="l1", C=0.5)
    res = solve(obj, "proximal", tol=1e-8)
    assert res.reason == "gradient norm below tolerance" and res.solver == "proximal"
    assert np.all(np.diff(res.objective_history) <= 1e-15)
    assert len(res.objective_history) == res.n_iter + 1
    assert res.objective == pytest.approx(obj.objective_value(res.params), rel=1e-12)
    res = solve(obj, "proximal", tol=1e-12, max_iter=4)
    assert res.n_iter == 4 and res.reason == "maximum number of iterations reached"


@pytest.mark.parametrize("name", ["breast_cancer", "digits"])
def test_warm_start_from_optimum(name):
    obj = objective(name, penalty="l1", C=0.5)
    first = solve(obj, "proximal", tol=1e-7)
    again = solve(obj, "proximal", first.params, tol=1e-7)
    assert again.converged and again.n_iter <= 1


def test_float32_stays_float32():
    obj32 = objective("breast_cancer", penalty="l1", dtype=np.float32, C=0.5)
    res = solve(obj32, "proximal", tol=1e-5)
    assert res.params.dtype == np.float32 and res.converged
    obj64 = objective("breast_cancer", penalty="l1", C=0.5)
    best = newton_cd_solution("breast_cancer", "l1")
    assert obj64.objective_value(res.params) == pytest.approx(best.objective, rel=1e-5)
    X, y, loss = sparse_problem("multinomial")
    obj = LinearObjective(sp.csr_matrix(X, dtype=np.float32), y, loss=loss, penalty="l1")
    res = solve(obj, "proximal", tol=1e-5)
    assert res.converged and res.params.dtype == np.float32
