"""Proximal Newton (coordinate descent on the quadratic model) for L1 and elastic-net."""

import numpy as np
import pytest
import scipy.sparse as sp

from softlogit.objective import LinearObjective
from softlogit.solvers import optimality_gradient, solve

from ._problems import newton_cd_solution, objective, sklearn_reference, sparse_problem
from .test_newton import centred

PENALTIES = [("l1", None), ("elasticnet", 0.5)]


@pytest.mark.parametrize("penalty,ratio", PENALTIES)
@pytest.mark.parametrize("name", ["iris", "wine", "generated-binary", "generated-multi"])
def test_matches_sklearn_saga(name, penalty, ratio):
    obj = objective(name, penalty=penalty, l1_ratio=ratio, C=0.5)
    res = solve(obj, "newton-cd", tol=1e-10)
    assert res.converged and res.n_iter <= 30
    ref = obj.pack(*sklearn_reference(name, penalty, 0.5, ratio))
    ours, theirs = obj.objective_value(res.params), obj.objective_value(ref)
    assert ours <= theirs + 1e-6 * abs(theirs)
    assert abs(ours - theirs) <= 1e-6 * abs(theirs)
    if not (penalty == "l1" and obj.n_logits % 2 == 0):
        # Pure L1 softmax: shifting all K rows by c changes ‖W‖₁ by Σ_k |w_kj + c| − |w_kj|,
        # minimised by any median of the K values: with K even the optimum is a segment.
        np.testing.assert_allclose(centred(obj, res.params), centred(obj, ref),
                                   rtol=1e-4, atol=1e-4)
    # the L1 term really zeroes coefficients, and exactly
    W, _ = obj.unpack(res.params)
    assert penalty == "elasticnet" or np.count_nonzero(W == 0) > 0


@pytest.mark.parametrize("penalty,ratio", PENALTIES)
@pytest.mark.parametrize("name", ["breast_cancer", "digits"])
def test_optimality_conditions(name, penalty, ratio):
    """KKT: at zero coefficients |∇f| ≤ λ₁, elsewhere ∇f = −λ₁ sign θ (the min-norm subgradient
    vanishes); and the full objective is not above the value at a perturbed point."""
    obj = objective(name, penalty=penalty, l1_ratio=ratio, C=0.5)
    res = newton_cd_solution(name, penalty, ratio)
    assert res.converged and res.n_iter <= 15
    g = obj.gradient(res.params)
    ref_norm = res.info["reference_grad_norm"]
    assert np.linalg.norm(optimality_gradient(obj, res.params, g)) <= 1e-10 * ref_norm
    lam, mask = obj.penalty.l1, obj.penalized_mask
    zero = mask & (res.params == 0)
    assert zero.any() and np.all(np.abs(g[zero]) <= lam * (1 + 1e-6) + 1e-9 * ref_norm)
    rng = np.random.default_rng(0)
    for _ in range(5):
        other = res.params + 1e-4 * rng.standard_normal(res.params.size)
        assert obj.objective_value(other) >= res.objective


@pytest.mark.parametrize("loss", ["binary", "multinomial"])
def test_sparse_matches_dense(loss):
    X, y, _ = sparse_problem(loss)
    kw = dict(loss=loss, penalty="l1", C=0.5)
    r_sparse = solve(LinearObjective(X, y, **kw), "newton-cd", tol=1e-10)
    dense = LinearObjective(X.toarray(), y, **kw)
    r_dense = solve(dense, "newton-cd", tol=1e-10)
    np.testing.assert_allclose(r_sparse.params, r_dense.params, rtol=1e-6, atol=1e-8)
    ref = dense.pack(*sklearn_reference("sparse-" + loss, "l1", 0.5))
    assert dense.objective_value(r_sparse.params) <= dense.objective_value(ref) * (1 + 1e-6)


@pytest.mark.parametrize("name", ["breast_cancer", "wine"])
def test_l2_agrees_with_newton(name):
    obj = objective(name, C=0.5)
    a = solve(obj, "newton-cd", tol=1e-10)
    b = solve(obj, "newton", tol=1e-10)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("name", ["breast_cancer", "digits"])
def test_warm_start_from_optimum(name):
    obj = objective(name, penalty="l1", C=0.5)
    first = newton_cd_solution(name, "l1")
    again = solve(obj, "newton-cd", first.params, tol=1e-8)
    assert again.converged and again.n_iter <= 1


def test_float32_stays_float32():
    obj32 = objective("wine", penalty="elasticnet", l1_ratio=0.3, dtype=np.float32, C=0.5)
    res = solve(obj32, "newton-cd", tol=1e-5)
    assert res.params.dtype == np.float32 and res.converged
    obj64 = objective("wine", penalty="elasticnet", l1_ratio=0.3, C=0.5)
    best = solve(obj64, "newton-cd", tol=1e-10)
    assert obj64.objective_value(res.params) == pytest.approx(best.objective, rel=1e-6)


def test_history_is_the_full_objective():
    obj = objective("iris", penalty="l1", C=0.5)
    res = solve(obj, "newton-cd", tol=1e-8)
    assert res.objective == pytest.approx(obj.objective_value(res.params), rel=1e-12)
    assert np.all(np.diff(res.objective_history) <= 1e-15)
    assert len(res.objective_history) == res.n_iter + 1
    res = solve(obj, "newton-cd", tol=1e-12, max_iter=1)
    assert res.n_iter == 1 and res.reason == "maximum number of iterations reached"


def test_sparse_float32_l1():
    X, y, loss = sparse_problem("binary")
    obj = LinearObjective(sp.csr_matrix(X, dtype=np.float32), y, loss=loss, penalty="l1", C=0.5)
    res = solve(obj, "newton-cd", tol=1e-5)
    assert res.converged and res.params.dtype == np.float32


def test_rounding_floor_ends_with_no_progress():
    # float32 data cannot resolve a 1e-16 relative gradient: stop early and say why.
    obj = objective("breast_cancer", penalty="l1", dtype=np.float32, C=0.5)
    res = solve(obj, "newton-cd", tol=1e-16, max_iter=1000)
    # it ends by the stall window or by a failed line search, whichever the rounding hits
    # first; either way the reason names the rounding floor
    assert not res.converged and res.n_iter < 100
    assert "rounding floor" in res.reason


def test_fallback_when_the_model_gives_no_descent(monkeypatch):
    """A coordinate-descent pass that leaves d = 0 triggers the proximal-gradient fallback.

    Without an intercept d = 0 exactly (with one, the eliminated intercept step still moves)."""
    from softlogit.solvers import newton_cd as ncd
    from softlogit.solvers.warnings import LineSearchWarning

    monkeypatch.setattr(ncd, "_cd_sweeps", lambda *args: 0)  # no coordinate moves
    obj = objective("wine", penalty="l1", C=0.5, fit_intercept=False)
    with pytest.warns(LineSearchWarning, match="proximal gradient step"):
        res = solve(obj, "newton-cd", tol=1e-12, max_iter=5)
    assert len(res.info["fallbacks"]) == res.n_iter == 5
    assert np.all(np.diff(res.objective_history) < 0)


def test_uncentred_features_converge_in_few_iterations():
    """Features with mean 100 and std 1 are nearly collinear with the intercept column; the
    exact elimination of the intercepts keeps proximal Newton at a handful of iterations (plain
    coordinate descent on the full model took 100 without converging)."""
    rng = np.random.default_rng(0)
    X = 100 + rng.standard_normal((80, 3))
    for y, loss in ((rng.integers(0, 2, 80).astype(float), "binary"),
                    (rng.integers(0, 3, 80), "multinomial")):
        obj = LinearObjective(X, y, loss=loss, penalty="elasticnet", l1_ratio=0.5, C=0.5)
        res = solve(obj, "newton-cd", tol=1e-8, max_iter=30)
        assert res.converged and res.n_iter <= 10, (loss, res.n_iter, res.reason)
        # the same optimum as the solver without the intercept trick, on centred data
        Xc = X - X.mean(axis=0)
        centred = solve(LinearObjective(Xc, y, loss=loss, penalty="elasticnet", l1_ratio=0.5,
                                        C=0.5), "newton-cd", tol=1e-10, max_iter=50)
        assert abs(res.objective - centred.objective) <= 1e-9 * abs(centred.objective)


def test_overflowing_float32_hessian_stops_with_a_reason():
    """float32 features of magnitude 1e30: the Hessian overflows; proximal Newton stops at
    once with a warning and a reason, instead of iterating on a NaN model."""
    from softlogit.solvers.warnings import SingularHessianWarning
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(200, 5)) * 1e30).astype(np.float32)
    obj = LinearObjective(X, rng.integers(0, 2, 200).astype(float), loss="binary",
                          penalty="l1", C=0.1)
    with pytest.warns(SingularHessianWarning, match="overflowed in float32"):
        res = solve(obj, "newton-cd")
    assert not res.converged and res.n_iter == 0 and res.info["hessian_overflow"] is True
    assert "overflowed in float32" in res.reason
