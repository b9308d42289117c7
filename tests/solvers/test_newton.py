"""Newton (Cholesky and truncated CG): parity, the known null space, the singular fallback."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification

from softlogit.objective import LinearObjective
from softlogit.solvers import solve
from softlogit.solvers.newton import known_null_space
from softlogit.solvers.warnings import SingularHessianWarning, SolverWarning

from ._problems import bounded_factor, objective, sklearn_reference, sparse_problem


def centred(obj, params):
    """Softmax intercepts are defined up to a common shift: compare them with mean zero."""
    params = np.array(params, dtype=np.float64)
    if obj.n_logits > 1 and obj.fit_intercept:
        _, b = obj.unpack(params)
        b -= b.mean()
    return params


@pytest.mark.parametrize("inner", ["cholesky", "cg"])
@pytest.mark.parametrize("name", ["breast_cancer", "iris", "wine", "digits",
                                  "generated-binary", "generated-multi"])
def test_matches_sklearn_l2(name, inner):
    obj = objective(name, C=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SolverWarning)  # a regular problem needs no fallback
        res = solve(obj, "newton", tol=1e-9, inner=inner)
    assert res.converged and res.info["inner_solver"] == inner
    assert res.n_iter <= 20  # second-order convergence: a handful of steps
    ref = obj.pack(*sklearn_reference(name, "l2", 1.0))
    ours, theirs = obj.objective_value(res.params), obj.objective_value(ref)
    assert ours <= theirs + 1e-6 * abs(theirs)
    assert abs(ours - theirs) <= 1e-6 * abs(theirs)
    np.testing.assert_allclose(centred(obj, res.params), centred(obj, ref), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["iris", "wine"])
def test_softmax_null_space_needs_no_warning(name):
    # Unpenalised softmax: singular along "all rows + one vector"; this is known, not a failure.
    obj = objective(name, penalty=None)
    assert known_null_space(obj).shape == (obj.n_params, obj.n_features + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SolverWarning)
        res = solve(obj, "newton", tol=1e-8, max_iter=100)
    assert res.converged and res.info["fallbacks"] == []
    ref = obj.pack(*sklearn_reference(name, None))
    assert obj.objective_value(res.params) <= obj.objective_value(ref) + 1e-6
    _, b = obj.unpack(res.params)
    assert abs(b.sum()) < 1e-8  # the step never moves along the invariant direction


def test_null_space_of_penalised_softmax_is_the_intercept_shift():
    obj = objective("iris")
    N = known_null_space(obj)
    assert N.shape == (obj.n_params, 1)
    np.testing.assert_allclose(obj.hessian(obj.zeros() + 0.1) @ N, 0.0, atol=1e-12)
    assert known_null_space(objective("breast_cancer")) is None


def test_duplicated_columns_warn_and_still_converge():
    X, y = make_classification(n_samples=300, n_features=6, n_redundant=0, flip_y=0.2,
                               random_state=3)
    X = np.column_stack([X, X[:, 0]])  # genuinely singular Hessian without a penalty
    obj = LinearObjective(X, y, loss="binary", penalty=None)
    with pytest.warns(SingularHessianWarning, match="singular or indefinite.*ridge"):
        res = solve(obj, "newton", tol=1e-8, inner="cholesky")
    assert res.converged and res.info["fallbacks"]
    best = solve(obj, "lbfgs", tol=1e-8)
    assert res.objective <= best.objective + 1e-10
    # the minimum-norm-like answer splits the duplicated weight evenly
    W, _ = obj.unpack(res.params)
    assert W[0, 0] == pytest.approx(W[0, -1], rel=1e-4)


def test_collinear_columns_give_the_minimum_norm_minimiser():
    """Redundant columns (linear combinations of others, on other scales) without a penalty
    leave an affine set of minimisers. Newton's ridge must keep the minimum-norm one, which
    gradient methods from zero (and scikit-learn) reach: the coefficients then agree."""
    X, y = make_classification(n_samples=300, n_features=12, n_informative=6, n_redundant=2,
                               flip_y=0.1, random_state=0)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    assert np.linalg.matrix_rank(X) == 10
    obj = LinearObjective(X, y, loss="binary", penalty=None)
    with pytest.warns(SingularHessianWarning):
        res = solve(obj, "newton", tol=1e-10, inner="cholesky", max_iter=100)
    ref = solve(obj, "lbfgs", tol=1e-10, max_iter=10_000)
    assert res.objective <= ref.objective + 1e-12
    np.testing.assert_allclose(res.params, ref.params, atol=1e-4)
    # minimum norm: no component along the null space of X̃ = [X | 1]
    _, _, Vt = np.linalg.svd(np.column_stack([X, np.ones(len(X))]))
    null = Vt[-2:]
    assert np.max(np.abs(null @ res.params)) < 1e-4  # a diag(H) ridge drifted by 3e-2


@pytest.mark.parametrize("loss", ["binary", "multinomial"])
@pytest.mark.parametrize("inner", ["cholesky", "cg"])
def test_sparse_matches_dense(loss, inner):
    X, y, _ = sparse_problem(loss)
    r_sparse = solve(LinearObjective(X, y, loss=loss, C=0.5), "newton", tol=1e-9, inner=inner)
    dense = LinearObjective(X.toarray(), y, loss=loss, C=0.5)
    r_dense = solve(dense, "newton", tol=1e-9, inner=inner)
    np.testing.assert_allclose(r_sparse.params, r_dense.params, rtol=1e-6, atol=1e-7)
    ref = dense.pack(*sklearn_reference("sparse-" + loss, "l2", 0.5))
    assert dense.objective_value(r_sparse.params) <= dense.objective_value(ref) * (1 + 1e-6)


@pytest.mark.parametrize("name,inner", [("breast_cancer", "cholesky"), ("wine", "cholesky"),
                                        ("breast_cancer", "cg"), ("digits", "cg")])
def test_warm_start_from_optimum(name, inner):
    obj = objective(name)
    first = solve(obj, "newton", tol=1e-8, inner=inner)
    again = solve(obj, "newton", first.params, tol=1e-8, inner=inner)
    assert again.converged and again.n_iter <= 1


def test_float32_stays_float32():
    obj32 = objective("wine", dtype=np.float32)
    res = solve(obj32, "newton", tol=1e-5)
    assert res.converged and res.params.dtype == np.float32
    obj64 = objective("wine")
    best = solve(obj64, "newton", tol=1e-10)
    assert obj64.objective_value(res.params) == pytest.approx(best.objective, rel=1e-6)


def test_histories_and_reason():
    obj = objective("breast_cancer")
    res = solve(obj, "newton", tol=1e-8)
    assert res.reason == "gradient norm below tolerance" and res.solver == "newton"
    assert len(res.objective_history) == len(res.grad_norm_history) == res.n_iter + 1
    assert np.all(np.diff(res.objective_history) <= 1e-15)
    assert res.grad_norm <= 1e-8 * res.info["reference_grad_norm"]
    assert res.grad_norm == pytest.approx(np.linalg.norm(obj.gradient(res.params)), rel=1e-8)
    res = solve(obj, "newton", tol=1e-12, max_iter=2)
    assert res.n_iter == 2 and res.reason == "maximum number of iterations reached"


def test_bad_inner_is_refused():
    with pytest.raises(ValueError, match="inner must be"):
        solve(objective("iris"), "newton", inner="lu")


def test_sparse_cg_float32():
    X, y, loss = sparse_problem("multinomial")
    obj = LinearObjective(sp.csr_matrix(X, dtype=np.float32), y, loss=loss)
    res = solve(obj, "newton", tol=1e-5, inner="cg")
    assert res.converged and res.params.dtype == np.float32


def test_line_search_fallback_takes_a_gradient_step(monkeypatch):
    """If the inner solve returns a useless direction, the step falls back to −∇J and warns."""
    from softlogit.solvers import newton as newton_mod
    from softlogit.solvers.warnings import LineSearchWarning

    def ascent_direction(objective, theta, g, null):
        return g.copy(), None  # points uphill: no step along it can pass the line search

    monkeypatch.setattr(newton_mod, "_cholesky_direction", ascent_direction)
    obj = objective("iris")
    with pytest.warns(LineSearchWarning, match="took a gradient step instead"):
        res = solve(obj, "newton", tol=1e-3, inner="cholesky", max_iter=500)
    assert res.info["fallbacks"] and "gradient step" in res.info["fallbacks"][0]
    assert np.all(np.diff(res.objective_history) < 0)  # the gradient steps still descend
    assert res.objective < res.objective_history[0]


def huge_float32_problem(loss="binary"):
    """float32 features of magnitude 1e30: the gradient (≈ 1e30) is representable, the Hessian
    (≈ 1e60 > 3.4e38) is not."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = rng.integers(0, 2 if loss == "binary" else 3, size=200)
    return X, y, LinearObjective((X * 1e30).astype(np.float32), y, loss=loss)


@pytest.mark.parametrize("loss", ["binary", "multinomial"])
@pytest.mark.parametrize("inner", ["cholesky", "cg"])
def test_overflowing_float32_hessian_stops_with_a_reason(monkeypatch, inner, loss):
    """The float32 Hessian overflows to inf; no ridge can repair it. Newton must not grow a
    ridge forever: it stops at once, warns, and says why and what to do."""
    _, _, obj = huge_float32_problem(loss)
    calls = bounded_factor(monkeypatch)
    with pytest.warns(SingularHessianWarning, match="overflowed in float32"):
        res = solve(obj, "newton", inner=inner)
    assert not res.converged and res.n_iter == 0
    assert res.info["hessian_overflow"] is True
    assert "overflowed in float32" in res.reason and "rescale X" in res.reason
    assert len(calls) <= 1
    # nothing was changed by a step that could not be computed: the result is the cold start
    # (the null model, W = 0 and the class-balance intercepts)
    start = LinearObjective(obj.design.X, obj.y, loss=loss).null_start()
    assert np.array_equal(res.params, start.astype(res.params.dtype))


def test_ridge_growth_is_bounded(monkeypatch):
    """A Hessian that no ridge makes factorisable gets a bounded number of tries, then the
    steepest-descent direction with a warning."""
    from softlogit.solvers import newton as newton_mod
    from scipy.linalg import LinAlgError
    calls = []

    def never(H):
        calls.append(1)
        if len(calls) > 1000:
            raise RuntimeError("unbounded ridge loop")
        raise LinAlgError("refused for the test")

    monkeypatch.setattr(newton_mod, "_factor", never)
    obj = objective("iris")
    g = np.asarray(obj.gradient(obj.zeros()), dtype=np.float64)
    d, (kind, message) = newton_mod._cholesky_direction(obj, obj.zeros().astype(np.float64), g,
                                                        known_null_space(obj))
    assert len(calls) == 1 + newton_mod.RIDGE_TRIES
    np.testing.assert_array_equal(d, -g)
    assert kind == "singular" and "no ridge" in message
    calls.clear()
    with pytest.warns(SingularHessianWarning, match="no ridge"):
        res = solve(obj, "newton", inner="cholesky", tol=1e-3, max_iter=50)
    assert len(calls) <= 50 * (1 + newton_mod.RIDGE_TRIES)
    assert np.all(np.diff(res.objective_history) < 0)  # the gradient steps still descend


@pytest.mark.parametrize("C", [1e-14, 1e-20])
@pytest.mark.parametrize("loss", ["binary", "multinomial"])
def test_tiny_C_fits_the_intercepts_to_the_class_priors(loss, C):
    """With a tiny C the penalty's curvature on W (1/(C·m), up to 2.5e17 here) dwarfs the
    intercepts' (≤ ¼). The optimum is W ≈ 0 and intercepts = log class priors, so the mean
    predicted probabilities equal the class frequencies (∂J/∂b = mean(p) − freq). A ridge or
    pivot test sized by the largest diagonal took this regular Hessian for a singular one and
    crushed the intercept steps (100 iterations, probabilities off by 0.1–0.4)."""
    from scipy.special import expit, softmax
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5))
    y = rng.choice(4, 400, p=[.6, .25, .1, .05])
    if loss == "binary":
        y = (y == 0).astype(float)
    obj = LinearObjective(X, y, loss=loss, C=C)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SolverWarning)  # a regular Hessian needs no ridge
        res = solve(obj, "newton", tol=1e-10, inner="cholesky")
    assert res.converged and res.n_iter <= 10, (res.n_iter, res.reason)
    Z = obj.logits(res.params)
    if loss == "binary":
        mean_p, freq = expit(Z.ravel()).mean(), y.mean()
    else:
        mean_p, freq = softmax(Z, axis=1).mean(axis=0), np.bincount(y, minlength=4) / len(y)
    np.testing.assert_allclose(mean_p, freq, rtol=0, atol=1e-8)
    W, _ = obj.unpack(res.params)
    assert np.abs(W).max() < 1e3 * C  # W ≈ 0: the gradient of the loss at W = 0 is O(1)
