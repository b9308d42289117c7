"""Tests of gradient descent (softlogit.solvers.gd) and the result record it returns."""

import json

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from softlogit import LinearObjective, solve
from softlogit.solvers import IterationState, SolverResult


def Obj(X, y, **options):
    """A LinearObjective on the reference (NumPy/SciPy) backend unless a backend is given: these
    tests pin down the core; registered fast backends are compared with it separately."""
    options.setdefault("backend", "reference")
    return LinearObjective(X, y, **options)


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    ref = LogisticRegression(C=1.0, tol=1e-12, max_iter=10000).fit(X, y)
    return X, y, ref


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    ref = LogisticRegression(C=1.0, tol=1e-12, max_iter=10000).fit(X, y)
    return X, y, ref


def _assert_matches_sklearn(obj, result, ref):
    W, b = obj.unpack(result.params)
    # 1e−4 relative, entry by entry; the atol only covers coefficients that are ~0 at the optimum.
    assert_allclose(W, ref.coef_, rtol=1e-4, atol=1e-6)
    assert_allclose(b, ref.intercept_, rtol=1e-4, atol=1e-6)
    assert np.linalg.norm(W - ref.coef_) <= 1e-4 * np.linalg.norm(ref.coef_)


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_gd_reaches_sklearn_optimum_on_breast_cancer(cancer, layout):
    X, y, ref = cancer
    X = sp.csr_matrix(X) if layout == "csr" else X
    obj = Obj(X, y, loss="binary", C=1.0)
    result = solve(obj, "gd", tol=1e-8, max_iter=2000)
    assert result.converged, result.reason
    _assert_matches_sklearn(obj, result, ref)



def test_weighted_gd_reaches_weighted_sklearn_optimum(cancer):
    X, y, _ = cancer
    s = np.random.default_rng(0).uniform(0.1, 3.0, len(y))
    ref = LogisticRegression(C=0.5, tol=1e-12, max_iter=10000).fit(X, y, sample_weight=s)
    obj = Obj(X, y, loss="binary", C=0.5, sample_weight=s)
    result = solve(obj, "gd", tol=1e-8, max_iter=2000)
    assert result.converged, result.reason
    _assert_matches_sklearn(obj, result, ref)

def test_fixed_step_gd_reaches_sklearn_optimum(cancer):
    X, y, ref = cancer
    obj = Obj(X, y, loss="binary", C=1.0)
    # h(1−h) ≤ ¼ with equality at z = 0, so ∇²J(θ) ⪯ ∇²J(0) for every θ: the largest
    # eigenvalue at 0 is a global Lipschitz constant L of ∇J, and η = 1/L is the textbook step
    # that makes every iteration decrease J (the descent lemma).
    L = np.linalg.eigvalsh(obj.hessian(obj.zeros())).max()
    result = solve(obj, "gd", step="fixed", learning_rate=1.0 / L, tol=1e-8, max_iter=50000)
    assert result.converged, result.reason
    assert result.reason == "gradient norm below tolerance"
    assert np.all(np.diff(result.objective_history) <= 0)
    _assert_matches_sklearn(obj, result, ref)


def test_multinomial_gd_reaches_sklearn_optimum_on_iris(iris):
    X, y, ref = iris
    obj = Obj(X, y, loss="multinomial", C=1.0)
    result = solve(obj, "gd", tol=1e-8, max_iter=2000)
    assert result.converged, result.reason
    # The softmax loss does not change when one constant is added to every intercept, and the
    # intercept is not penalised; both solvers start at 0 and their steps keep Σₖ bₖ = 0
    # (the gradient's intercept part sums to Σ(o − y) = 0), so the intercepts are comparable.
    _, b = obj.unpack(result.params)
    assert abs(b.sum()) < 1e-10
    _assert_matches_sklearn(obj, result, ref)
    from softlogit.losses import MultinomialCrossEntropy
    proba = MultinomialCrossEntropy().predict_proba(obj.logits(result.params))
    assert_allclose(proba, ref.predict_proba(X), atol=1e-6)


# --- the result record ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 6)) * np.array([1, 2, 5, 0.5, 1, 3])
    y = rng.integers(0, 3, 120)
    return Obj(X, y, loss="multinomial", C=0.5)


def test_record_of_a_converged_armijo_run(small):
    result = solve(small, "gd", tol=1e-6, max_iter=1000)
    assert isinstance(result, SolverResult)
    assert result.solver == "gd"
    assert result.converged and result.reason == "gradient norm below tolerance"
    assert len(result.objective_history) == len(result.grad_norm_history) == result.n_iter + 1
    # Armijo: every accepted step decreases J.
    assert np.all(np.diff(result.objective_history) <= 0)
    assert result.objective_history[-1] < result.objective_history[0]
    # The first entry is J(0) = log K; the last matches the parameters returned.
    assert result.objective_history[0] == pytest.approx(np.log(3), rel=1e-14)
    assert result.objective == pytest.approx(small.loss(result.params), rel=1e-14)
    g_norm = np.linalg.norm(small.gradient(result.params))
    assert result.grad_norm == pytest.approx(g_norm, rel=1e-12)
    ref = result.info["reference_grad_norm"]
    assert ref == pytest.approx(np.linalg.norm(small.gradient(small.zeros())), rel=1e-14)
    assert result.grad_norm <= 1e-6 * ref
    assert result.info["tol"] == 1e-6
    summary = json.loads(json.dumps(result.to_dict()))
    assert summary["converged"] is True and summary["n_iter"] == result.n_iter
    assert len(summary["objective_history"]) == result.n_iter + 1


def test_max_iter_reached_is_not_converged(small):
    result = solve(small, "gd", tol=1e-10, max_iter=4)
    assert result.n_iter == 4
    assert not result.converged
    assert result.reason == "maximum number of iterations reached"
    assert len(result.objective_history) == 5
    zero = solve(small, "gd", tol=1e-10, max_iter=0)
    assert zero.n_iter == 0 and not zero.converged
    assert zero.reason == "maximum number of iterations reached"


def test_callback_receives_state_and_can_stop(small):
    seen = []

    def callback(state):
        seen.append(state)
        return state.iteration >= 3

    result = solve(small, "gd", tol=1e-12, max_iter=100, callback=callback)
    assert result.reason == "stopped by callback"
    assert not result.converged
    assert result.n_iter == 3
    assert [s.iteration for s in seen] == [1, 2, 3]
    for s in seen:
        assert isinstance(s, IterationState)
        assert s.solver == "gd"
        assert s.params.shape == (small.n_params,)
        assert s.objective == result.objective_history[s.iteration]
        assert s.grad_norm == result.grad_norm_history[s.iteration]
    assert np.array_equal(seen[-1].params, result.params)
    # A callback that returns something other than True does not stop the fit.
    result = solve(small, "gd", tol=1e-6, max_iter=1000, callback=lambda s: None)
    assert result.converged


def test_warm_start_at_the_optimum_stops_at_once(small):
    first = solve(small, "gd", tol=1e-7, max_iter=1000)
    again = solve(small, "gd", params0=first.params, tol=1e-7)
    assert again.n_iter == 0 and again.converged
    assert_allclose(again.params, first.params)


def test_tolerance_below_float_precision_fails_cleanly(iris):
    # The Armijo test compares values of J ≈ 0.2 whose rounding is ~3e−17; once the possible
    # decrease is smaller than that, no step can be accepted. The solver must say so quickly
    # instead of spinning until max_iter. tol = 1e-18 lies below what any float64 gradient
    # norm can reach (at tol = 1e-14 GD converged on one machine, whose rounding let it get
    # there: 2-core AMD EPYC, 2026-12-02, so that tol did not test what the test is about).
    X, y, _ = iris
    obj = Obj(X, y, loss="multinomial", C=1.0)
    result = solve(obj, "gd", tol=1e-18, max_iter=5000)
    assert not result.converged
    assert result.reason.startswith("line search failed")
    assert result.n_iter < 1000
    assert len(result.objective_history) == result.n_iter + 1
    assert result.info["line_search_failures"] == 1


def test_float32_objective(cancer):
    X, y, ref = cancer
    obj32 = Obj(X.astype(np.float32), y, loss="binary", C=1.0)
    obj64 = Obj(X, y, loss="binary", C=1.0)
    # In float32, J ≈ 0.07 is resolved to ~1e−8, so the Armijo search can reduce ‖∇J‖ only to
    # about √(L ε₃₂ |J|) ≈ 5e−5, i.e. 1e−4 of ‖∇J(0)‖: that is the tolerance float32 affords.
    tol = 1e-4
    result = solve(obj32, "gd", tol=tol, max_iter=2000)
    assert result.converged, result.reason
    # The float32 gradient is right to ~1e−6 relative, so the exact (float64) gradient at the
    # answer is within the tolerance too ...
    g64 = np.linalg.norm(obj64.gradient(result.params))
    assert g64 <= 1.05 * tol * result.info["reference_grad_norm"]
    # ... and strong convexity bounds the distance to sklearn's optimum: ‖θ − θ*‖ ≤ ‖∇J(θ)‖/μ
    # with μ the smallest curvature (taken at the optimum, halved to cover the segment).
    mu = np.linalg.eigvalsh(obj64.hessian(obj64.pack(ref.coef_, ref.intercept_))).min()
    theta_ref = obj64.pack(ref.coef_, ref.intercept_)
    assert np.linalg.norm(result.params - theta_ref) <= g64 / (0.5 * mu)


@pytest.mark.parametrize("options, match", [
    (dict(step="newton"), "step must be 'armijo' or 'fixed'"),
    (dict(step="fixed", learning_rate=0.0), "learning_rate must be positive"),
    (dict(tol=0.0), "tol must be positive"),
    (dict(max_iter=-1), "max_iter must be >= 0"),
])
def test_bad_options(small, options, match):
    with pytest.raises(ValueError, match=match):
        solve(small, "gd", **options)


def test_gd_refuses_l1(small):
    X = np.random.default_rng(1).standard_normal((20, 3))
    obj = Obj(X, np.arange(20) % 2, penalty="l1")
    with pytest.raises(ValueError, match="does not support penalty='l1'"):
        solve(obj, "gd")
