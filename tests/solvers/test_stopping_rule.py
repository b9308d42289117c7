"""The shared stopping rule: tol means the same for every solver, also in degenerate cases."""

import warnings

import numpy as np
import pytest

from softlogit.objective import LinearObjective
from softlogit.solvers import StoppingRule, solve
from softlogit.solvers.result import grad_norm, optimality_gradient, rounding_floor

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


def test_grad_norm_does_not_overflow():
    from softlogit.solvers.result import grad_norm
    rng = np.random.default_rng(0)
    g = rng.standard_normal(50)
    assert grad_norm(g) == pytest.approx(np.linalg.norm(g), rel=1e-14)
    with np.errstate(over="ignore"):
        assert not np.isfinite(np.linalg.norm(g * 1e160))  # what the solvers used to compute
    assert grad_norm(g * 1e160) == pytest.approx(np.linalg.norm(g) * 1e160, rel=1e-14)
    assert grad_norm(g * 1e-200) == pytest.approx(np.linalg.norm(g) * 1e-200, rel=1e-14)
    assert grad_norm(np.zeros(3)) == 0.0
    assert np.isnan(grad_norm(np.array([1.0, np.nan])))
    assert grad_norm(np.array([1.0, -np.inf])) == np.inf


def _scaled_problem(loss, scale):
    """Non-separable data (labels drawn from the model), features multiplied by ``scale``."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 4))
    z = X @ np.array([1.0, -0.5, 0.3, 0.0])
    if loss == "binary":
        y = (z + rng.logistic(size=300) > 0).astype(float)
    else:
        y = np.argmax(np.c_[z, -z, 0 * z] + rng.gumbel(size=(300, 3)), axis=1)
    return LinearObjective(X * scale, y, loss=loss, penalty=None), \
        LinearObjective(X, y, loss=loss, penalty=None)


@pytest.mark.parametrize("loss", ["binary", "multinomial"])
def test_reference_norm_of_huge_features_is_finite(loss):
    """Features × 1e160: the gradient entries (≈ 1e160) are finite, their squares are not. The
    reference norm must be the true one (the unscaled W-gradient × 1e160), not inf."""
    big, small = _scaled_problem(loss, 1e160)
    rule = StoppingRule(big, 1e-4)
    W_grad, b_grad = small.unpack(small.gradient(small.zeros()))
    expected = np.linalg.norm(W_grad) * 1e160  # the intercept part (≈ 0.1) does not show
    assert np.isfinite(rule.reference_norm) and np.isfinite(rule.threshold)
    assert rule.reference_norm == pytest.approx(expected, rel=1e-12)
    assert not rule.met(rule.reference_norm)


@pytest.mark.parametrize("loss", ["binary", "multinomial"])
@pytest.mark.parametrize("solver", ["auto", "gd", "lbfgs", "newton", "newton-cd", "proximal",
                                    "sgd"])
def test_huge_features_never_converge_silently_at_zero(solver, loss):
    """Before, ‖∇J(0)‖ overflowed to inf, the threshold was inf, and every solver returned
    θ = 0 with converged=True after 0 iterations. Now a solver either reaches the unscaled
    fit's coefficients / 1e160 or says that it did not converge."""
    big, small = _scaled_problem(loss, 1e160)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Hessian-overflow and float warnings are expected
        res = solve(big, solver, tol=1e-6, max_iter=50, random_state=0)
    assert np.isfinite(res.info["reference_grad_norm"])
    # the reference is ‖∇J(0)‖ whatever the start (the Newton solvers start at the null model)
    reference = grad_norm(optimality_gradient(big, big.zeros()))
    assert res.info["reference_grad_norm"] == pytest.approx(reference, rel=1e-12)
    assert np.isfinite(res.grad_norm_history[0])
    if res.converged:
        ref = solve(small, "newton", tol=1e-10)
        W, _ = big.unpack(res.params)
        W_ref, _ = small.unpack(ref.params)
        np.testing.assert_allclose(W * 1e160, W_ref, rtol=1e-3, atol=1e-4)
    else:
        assert res.reason != "gradient norm below tolerance"
    assert not (res.converged and np.all(res.params == 0))


def test_non_finite_gradient_at_zero_is_an_error(monkeypatch):
    X, y = np.random.default_rng(0).standard_normal((20, 2)), np.arange(20) % 2
    obj = LinearObjective(X, y.astype(float), loss="binary")
    monkeypatch.setattr(obj, "gradient", lambda params: np.array([1.0, np.inf, 0.0]))
    with pytest.raises(ValueError, match="gradient at the cold start .* is not finite"):
        StoppingRule(obj, 1e-4)
    monkeypatch.setattr(obj, "gradient", lambda params: np.array([1.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match="not finite"):
        StoppingRule(obj, 1e-4)


def test_non_finite_gradient_during_the_fit_stops_the_tracker():
    from softlogit.solvers.iteration import Tracker
    X, y = np.random.default_rng(0).standard_normal((20, 2)), np.arange(20) % 2
    obj = LinearObjective(X, y.astype(float), loss="binary")
    track = Tracker(obj, "test", tol=1e-4, max_iter=10)
    assert track.record(obj.zeros(), 0.7, 1.0) is None
    track.n_iter = 1
    reason = track.record(obj.zeros(), 0.6, float("nan"))
    assert reason is not None and "gradient is not finite" in reason and not track.converged
