"""solver="auto": its choices follow the rules and it returns the real solver's result."""

import numpy as np
import pytest
import scipy.sparse as sp

from softlogit.objective import LinearObjective
from softlogit.solvers import auto as auto_mod
from softlogit.solvers import available, solve
from softlogit.solvers.auto import choose_solver
from softlogit.solvers.common import hessian_flops

from ._problems import bounded_factor, objective, sparse_problem


def test_registered_for_every_penalty():
    spec = available()["auto"]
    assert spec.penalties == frozenset({"l2", "l1", "elasticnet", None})


@pytest.mark.parametrize("penalty", ["l2", "l1"])
def test_result_is_the_chosen_solvers(penalty):
    obj = objective("breast_cancer", penalty=penalty)
    name, reason = choose_solver(obj)
    res = solve(obj, "auto", tol=1e-8)
    assert res.solver == name != "auto"
    assert res.info["auto_choice"] == name and res.info["auto_reason"] == reason
    assert res.converged
    direct = solve(obj, name, tol=1e-8)
    np.testing.assert_array_equal(res.params, direct.params)


def test_small_problems_take_newton_and_cd():
    assert choose_solver(objective("iris"))[0] == "newton"
    assert choose_solver(objective("iris", penalty=None))[0] == "newton"
    assert choose_solver(objective("wine", penalty="l1"))[0] == "newton-cd"
    assert choose_solver(objective("wine", penalty="elasticnet", l1_ratio=0.5))[0] == "newton-cd"


def test_costly_hessian_takes_first_order_solvers():
    obj = objective("digits")
    assert hessian_flops(obj) > auto_mod.NEWTON_CD_MAX_FLOPS
    name, reason = choose_solver(obj)
    assert name == "lbfgs" and "dense" in reason
    assert choose_solver(objective("digits", penalty="l1"))[0] == "proximal"


def test_thresholds_are_read_at_call_time(monkeypatch):
    obj = objective("wine", penalty="l1")
    monkeypatch.setattr(auto_mod, "NEWTON_CD_MAX_FLOPS", hessian_flops(obj) / 2)
    assert choose_solver(obj)[0] == "proximal"
    monkeypatch.setattr(auto_mod, "SMALL_HESSIAN_FLOPS", 0.0)
    monkeypatch.setattr(auto_mod, "DENSE_NEWTON_PASSES", 0.0)
    assert choose_solver(objective("breast_cancer"))[0] == "lbfgs"


def test_sparse_takes_newton_cg(monkeypatch):
    X, y, loss = sparse_problem("multinomial")
    obj = LinearObjective(X, y, loss=loss)
    monkeypatch.setattr(auto_mod, "SMALL_HESSIAN_FLOPS", 0.0)
    assert choose_solver(obj)[0] == "newton"
    res = solve(obj, "auto", tol=1e-8)
    assert res.solver == "newton" and res.info["inner_solver"] == "cg" and res.converged
    Xb, yb, _ = sparse_problem("binary")
    name, reason = choose_solver(LinearObjective(sp.csr_matrix(Xb), yb))
    assert name == "newton" and "sparse" in reason


def test_short_badly_scaled_dense_takes_newton_and_converges(monkeypatch):
    # the suite's S4 shape, small: column scales 1e-3…1e3, uncentred. L-BFGS crawls along the
    # badly scaled directions (it stopped at a 1e-1 objective gap after 3,000 iterations on
    # 6,000 × 50); Newton on the exact Hessian does not care about column scales.
    rng = np.random.default_rng(4)
    m, p = 3000, 20
    Z = rng.standard_normal((m, p))
    y = (rng.random(m) < 1 / (1 + np.exp(-(Z @ rng.standard_normal(p) * 0.4)))).astype(float)
    scales = 10.0 ** np.linspace(-3, 3, p)
    obj = LinearObjective(Z * scales + 0.5 * scales, y)
    monkeypatch.setattr(auto_mod, "SMALL_HESSIAN_FLOPS", 0.0)  # not "small": rule 5 decides
    name, reason = choose_solver(obj)
    assert name == "newton" and "too short to sample" in reason
    res = solve(obj, "auto", tol=1e-10)
    assert res.converged and res.info["inner_solver"] == "cholesky" and res.n_iter < 20
    lb = solve(obj, "lbfgs", tol=1e-10, max_iter=200)
    assert obj.objective_value(res.params) <= obj.objective_value(lb.params) + 1e-12


def test_registry_refuses_unsupported_combinations():
    for solver in ("lbfgs", "newton", "sgd", "gd"):
        with pytest.raises(ValueError, match=f"solver '{solver}' does not support "
                                             "penalty='elasticnet'"):
            solve(objective("iris", penalty="elasticnet", l1_ratio=0.5), solver)
    with pytest.raises(ValueError, match="unknown solver 'bfgs'"):
        solve(objective("iris"), "bfgs")
    for solver in ("newton-cd", "proximal", "auto"):
        assert {"l1", "elasticnet", "l2", None} <= available()[solver].penalties


@pytest.mark.parametrize("solver", ["lbfgs", "newton", "newton-cd", "proximal", "sgd", "auto"])
def test_every_solver_takes_the_shared_options(solver, capsys):
    obj = objective("iris")
    calls = []
    ref_norm = float(np.linalg.norm(obj.gradient(obj.zeros())))
    res = solve(obj, solver, tol=1e-3, max_iter=50, callback=calls.append,
                reference_norm=2 * ref_norm, random_state=0, verbose=1)
    assert res.info["reference_grad_norm"] == 2 * ref_norm
    if solver == "sgd":  # a stochastic method does not reach a 1e-3 gradient in 50 epochs
        assert res.n_iter == 50 and res.reason == "maximum number of iterations reached"
    else:
        assert res.converged and res.grad_norm <= 1e-3 * 2 * ref_norm
    # the callback sees every iteration except one that already met the tolerance
    n_seen = res.n_iter - int(res.converged)
    assert [c.iteration for c in calls] == list(range(1, n_seen + 1))
    err = capsys.readouterr().err
    assert err.count("iter") == len(calls) and "objective" in err


@pytest.mark.parametrize("loss", ["binary", "multinomial"])
def test_overflowing_hessian_falls_back_to_a_gradient_solver(loss, monkeypatch):
    """float32 features of magnitude 1e30: the Hessian overflows, the gradient does not. The
    small problem picks Newton; auto reruns it with L-BFGS and reaches the float64 optimum."""
    from softlogit.solvers.warnings import SingularHessianWarning
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5)) * 1e30
    y = (X[:, 0] / 1e30 + rng.normal(size=200) > 0).astype(int)
    if loss == "multinomial":
        y = y + (X[:, 1] > 0)
    # no intercept: with features of 1e30 its gradient (≈ 0.1) is far below tol·‖∇J(0)‖ ≈ 1e25,
    # so the shared stopping rule would not fit it, whatever the solver
    obj = LinearObjective(X.astype(np.float32), y, loss=loss, penalty=None, fit_intercept=False)
    assert choose_solver(obj)[0] == "newton"
    bounded_factor(monkeypatch)  # an unbounded ridge loop fails instead of hanging
    with pytest.warns(SingularHessianWarning, match="overflowed in float32"):
        res = solve(obj, "auto", tol=1e-6)
    assert res.converged and res.solver == "lbfgs"
    assert res.info["auto_fallback_from"] == "newton" and "fell back to lbfgs" in \
        res.info["auto_reason"]
    exact_obj = LinearObjective(X / 1e30, y, loss=loss, penalty=None, fit_intercept=False)
    exact = solve(exact_obj, "newton", tol=1e-10)
    assert exact.converged
    # the same model: coefficients scaled by exactly 1e-30 (float32 precision, tol 1e-6)
    ours = np.asarray(obj.unpack(res.params)[0], dtype=np.float64) * 1e30
    theirs = exact_obj.unpack(exact.params)[0]
    if loss == "multinomial":  # rows are defined up to a common shift without a penalty
        ours, theirs = ours - ours.mean(axis=0), theirs - theirs.mean(axis=0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-4)


def test_tall_dense_takes_subsampled_newton(monkeypatch):
    """Rule 3: dense X with many times the first Hessian sample's rows (binary and softmax);
    sparse X and short X keep their solvers. Thresholds lowered so a small problem can run."""
    from softlogit.solvers import subsampled_newton as ssn
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 6))
    y = (X[:, 0] + rng.normal(size=4000) > 0).astype(int)
    monkeypatch.setattr(auto_mod, "SMALL_HESSIAN_FLOPS", 0.0)
    for loss, target in (("binary", y), ("multinomial", y + (X[:, 1] > 0))):
        obj = LinearObjective(X, target, loss=loss)
        assert choose_solver(obj)[0] != "subsampled-newton"  # 4,000 < 4 × 5,000 rows
        monkeypatch.setattr(ssn, "MIN_ROWS", 500)
        name, reason = choose_solver(obj)
        assert name == "subsampled-newton" and "tall dense X" in reason
        res = solve(obj, "auto", tol=1e-8)
        assert res.solver == "subsampled-newton" and res.converged
        assert min(res.info["sample_rows"]) < 4000 and res.info["passes"] > 0
        monkeypatch.setattr(ssn, "MIN_ROWS", 5000)
        assert choose_solver(LinearObjective(sp.csr_matrix(X), target, loss=loss))[0] != \
            "subsampled-newton"
