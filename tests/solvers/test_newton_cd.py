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


# --- the model Hessian from a row sample (issue 8: the sub-sampled idea inside proximal Newton)

def _tall_l1(loss, penalty="l1", ratio=None, m=24_000, p=6, seed=3):
    """A planted sparse model on AR(0.6) columns, labels sampled (not separable)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, p))
    for j in range(1, p):
        X[:, j] = 0.6 * X[:, j - 1] + 0.8 * X[:, j]
    k = 1 if loss == "binary" else 3
    W = rng.normal(0, 1.0, (p, k)) * (rng.random((p, 1)) < 0.5)
    Z = X @ W
    if loss == "binary":
        y = (rng.random(m) < 1 / (1 + np.exp(-Z[:, 0]))).astype(float)
    else:
        y = np.argmax(Z + rng.gumbel(size=Z.shape), axis=1)
    return LinearObjective(X, y, loss=loss, n_classes=None if loss == "binary" else 3,
                           penalty=penalty, l1_ratio=ratio, C=0.002)


@pytest.mark.parametrize("loss,penalty,ratio", [("binary", "l1", None),
                                                ("multinomial", "elasticnet", 0.5)])
def test_sampled_hessian_reaches_the_exact_optimum(loss, penalty, ratio):
    # The gradient, line search and stopping rule are exact, so a 600-row Hessian sample of
    # 24,000 rows must end at the exact-Hessian optimum: same objective to 1e-10, same zeros.
    obj = _tall_l1(loss, penalty, ratio)
    exact = solve(obj, "newton-cd", tol=1e-10)
    sampled = solve(obj, "newton-cd", tol=1e-10, sample_rows=600, random_state=1)
    assert exact.converged and sampled.converged
    f_exact, f_sampled = obj.objective_value(exact.params), obj.objective_value(sampled.params)
    assert abs(f_sampled - f_exact) <= 1e-10 * abs(f_exact)
    np.testing.assert_array_equal(sampled.params == 0, exact.params == 0)
    assert 0 < np.count_nonzero(obj.unpack(exact.params)[0]) < obj.n_features * obj.n_logits
    rows = sampled.info["sample_rows"]
    assert rows[0] == 600 and len(rows) == sampled.n_iter
    # each sampled model Hessian read 600/24,000 of X; the exact one reads it k(k+1)/2 times
    assert sampled.info["passes"] < exact.info["passes"]


def test_sampled_hessian_is_reproducible_and_grows_on_a_stall():
    obj = _tall_l1("binary")
    a = solve(obj, "newton-cd", tol=1e-10, sample_rows=20, random_state=5, max_iter=300)
    b = solve(obj, "newton-cd", tol=1e-10, sample_rows=20, random_state=5, max_iter=300)
    np.testing.assert_array_equal(a.params, b.params)
    rows = a.info["sample_rows"]
    # 20 rows for 7 parameters give a poor model: progress stalls and the sample grows
    assert a.converged and rows[0] == 20 and max(rows) > 20
    assert all(y >= x for x, y in zip(rows, rows[1:]))


def test_sampled_hessian_auto_needs_tall_x_and_checks_its_option():
    short = objective("wine", penalty="l1", C=0.5)
    res = solve(short, "newton-cd", tol=1e-8, sample_rows="auto")
    assert "sample_rows" not in res.info  # too short to sample: the exact Hessian
    with pytest.raises(ValueError, match="sample_rows must be None, 'auto' or a positive"):
        solve(short, "newton-cd", sample_rows="half")
    with pytest.raises(ValueError, match="sample_rows must be a positive number"):
        solve(short, "newton-cd", sample_rows=0)


def test_auto_samples_the_l1_hessian_on_tall_dense_x(monkeypatch):
    from softlogit.solvers import auto

    obj = _tall_l1("binary", m=24_000, p=6)
    assert auto.choose_solver(obj)[0] == "newton-cd"  # the exact Hessian is cheap here …
    monkeypatch.setattr(auto, "NEWTON_CD_MAX_FLOPS", 0)  # … so pretend it is not
    name, reason = auto.choose_solver(obj)
    assert name == "newton-cd" and "row sample" in reason
    res = solve(obj, "auto", tol=1e-8)
    assert res.info["auto_choice"] == "newton-cd" and res.info["sample_rows"][0] == 5000
