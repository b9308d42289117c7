"""Sub-sampled Newton: the same optimum as Newton/L-BFGS and scikit-learn, reproducible for a
given random_state, honest pass counts, a sample that grows when progress stalls."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import softlogit
from softlogit.objective import LinearObjective
from softlogit.solvers import solve
from softlogit.solvers import subsampled_newton as ssn
from softlogit.solvers.warnings import SolverWarning

from ._problems import BACKEND, objective, sklearn_reference

M, P = 12_000, 8  # tall enough that the first sample (5,000 rows) is a real subset


def tall_problem(loss="binary", K=3, seed=0, dtype=np.float64, sparse=False, weights=False,
                 penalty="l2", correlated=False):
    """Labels sampled from a planted model (not separable); columns of mixed scale."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((M, P)) * rng.uniform(0.5, 3.0, P)
    if correlated:  # AR(0.9) columns: an ill-conditioned Hessian
        for j in range(1, P):
            X[:, j] = 0.9 * X[:, j - 1] + np.sqrt(1 - 0.81) * X[:, j]
    if sparse:
        X[rng.random(X.shape) < 0.7] = 0.0
    k = 1 if loss == "binary" else K
    Z = X @ rng.normal(0, 0.6, (P, k)) + rng.normal(0, 0.5, k)
    if loss == "binary":
        y = (rng.random(M) < 1 / (1 + np.exp(-Z[:, 0]))).astype(float)
    else:
        y = np.argmax(Z + rng.gumbel(size=Z.shape), axis=1)
    s = rng.uniform(0.0, 3.0, M) if weights else None
    if weights:
        s[rng.random(M) < 0.1] = 0.0  # rows of zero weight must not matter
    X = X.astype(dtype)
    X = sp.csr_matrix(X) if sparse else X
    return LinearObjective(X, y, loss=loss, sample_weight=s, penalty=penalty,
                           n_classes=None if loss == "binary" else K, backend=BACKEND)


def judge(obj):
    """The same objective in float64 (float32 X widened exactly), to measure gaps."""
    X = obj.design.X
    X = X.astype(np.float64) if not sp.issparse(X) else X.astype(np.float64)
    return LinearObjective(X, obj.y, loss=obj.loss_fn.name, n_classes=obj.n_classes,
                           sample_weight=obj.sample_weight.astype(np.float64),
                           penalty="l2" if obj.penalty.l2 else None, backend=BACKEND)


CASES = [
    dict(loss="binary"),
    dict(loss="binary", weights=True),
    dict(loss="binary", sparse=True),
    dict(loss="binary", dtype=np.float32),
    dict(loss="binary", penalty=None, correlated=True),
    dict(loss="multinomial"),
    dict(loss="multinomial", weights=True, sparse=True),
    dict(loss="multinomial", penalty=None, dtype=np.float32),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(
    f"{k}={getattr(v, '__name__', v)}" for k, v in c.items()))
def test_reaches_the_newton_optimum(case):
    obj = tall_problem(**case)
    exact = judge(obj)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SolverWarning)  # a regular problem needs no fallback
        res = solve(obj, "subsampled-newton", tol=1e-10, max_iter=100, random_state=1)
    assert res.converged, res.reason
    assert min(res.info["sample_rows"]) < obj.n_samples  # it really sub-sampled
    newton = solve(exact, "newton", tol=1e-12, max_iter=100)
    lbfgs = solve(exact, "lbfgs", tol=1e-12, max_iter=5000)
    best = min(newton.objective, lbfgs.objective)
    ours = exact.objective_value(res.params)
    assert (ours - best) / abs(best) <= 1e-10
    assert res.params.dtype == obj.dtype


@pytest.mark.parametrize("inner", ["cholesky", "cg"])
@pytest.mark.parametrize("loss", ["binary", "multinomial"])
def test_inner_solvers_agree(loss, inner):
    obj = tall_problem(loss)
    res = solve(obj, "subsampled-newton", tol=1e-10, inner=inner)
    assert res.converged and res.info["inner_solver"] == inner
    ref = solve(obj, "newton", tol=1e-12)
    assert (res.objective - ref.objective) / abs(ref.objective) <= 1e-12
    if inner == "cg":
        assert res.info["cg_iterations"] >= res.n_iter


@pytest.mark.parametrize("name,rows", [("breast_cancer", 200), ("wine", 80), ("iris", 60)])
def test_matches_sklearn_coefficients(name, rows):
    obj = objective(name, C=1.0)
    res = solve(obj, "subsampled-newton", tol=1e-10, sample_rows=rows, random_state=0)
    assert res.converged and res.info["sample_rows"][0] == rows
    ref = obj.pack(*sklearn_reference(name, "l2", 1.0))
    W, b = obj.unpack(res.params)
    W_ref, b_ref = obj.unpack(ref)
    if obj.n_logits > 1:  # softmax intercepts are defined up to a common shift
        b, b_ref = b - b.mean(), b_ref - b_ref.mean()
    np.testing.assert_allclose(W, W_ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(b, b_ref, rtol=1e-4, atol=1e-4)


def test_deterministic_for_a_random_state():
    obj = tall_problem("multinomial")
    runs = [solve(obj, "subsampled-newton", tol=1e-8, random_state=seed)
            for seed in (7, 7, np.random.RandomState(7), None, None)]
    np.testing.assert_array_equal(runs[0].params, runs[1].params)
    np.testing.assert_array_equal(runs[3].params, runs[4].params)  # None is a fixed seed
    other = solve(obj, "subsampled-newton", tol=1e-8, random_state=8)
    assert not np.array_equal(other.params, runs[0].params)  # the sample does matter …
    for r in runs[2:] + [other]:  # … but not for the optimum
        assert r.converged
        assert abs(r.objective - runs[0].objective) <= 1e-10 * abs(runs[0].objective)


def test_estimator_threads_random_state():
    obj = tall_problem("binary")
    X, y = obj.design.X, obj.y
    fits = [softlogit.LogisticRegression(solver="subsampled-newton", tol=1e-8,
                                         random_state=3).fit(X, y) for _ in range(2)]
    np.testing.assert_array_equal(fits[0].coef_, fits[1].coef_)
    assert fits[0].fit_report_.solver == "subsampled-newton"
    assert fits[0].fit_report_.info["passes"] > 0


def test_pass_count_is_gradients_plus_sampled_rows(monkeypatch):
    obj = tall_problem("binary")
    calls = []
    real = obj.loss_gradient
    monkeypatch.setattr(obj, "loss_gradient",
                        lambda th: calls.append(np.array(th, copy=True)) or real(th))
    res = solve(obj, "subsampled-newton", tol=1e-10)
    m = obj.n_samples
    # the stopping rule's ∇J(0) and the solver's cold start (the null model) both come from
    # the one pass of null_start: kept, no pass of their own
    assert np.array_equal(calls[0], np.zeros_like(calls[0]))
    assert not np.any(obj.unpack(calls[1])[0]) and obj.unpack(calls[1])[1][0] != 0
    calls = [th for i, th in enumerate(calls) if i == 0 or not np.array_equal(th, calls[i - 1])]
    calls = calls[1:]  # θ = 0 and θ₀: one pass together
    # one pass per full loss+gradient at a new point (θ₀ included) and, for each
    # Hessian sample of r < m rows, r/m for the copy, its logits and its gram (Xᵀd may come
    # with the gram's pass); a sample of all rows is the full Hessian: logits and gram
    lo = len(calls) + sum(3 * r / m if r < m else 2 for r in res.info["sample_rows"])
    hi = len(calls) + sum(4 * r / m if r < m else 3 for r in res.info["sample_rows"])
    assert lo - 1e-9 <= res.info["passes"] <= hi + 1e-9


def test_sample_grows_when_progress_stalls():
    # 30 rows for 9 parameters: a poor Hessian, so a full step gains little; the sample grows
    obj = tall_problem("binary", correlated=True, penalty=None)
    res = solve(obj, "subsampled-newton", tol=1e-10, sample_rows=30, max_iter=200)
    rows = res.info["sample_rows"]
    assert res.converged and rows[0] == 30 and max(rows) > 30
    assert all(b >= a for a, b in zip(rows, rows[1:]))


def test_zero_weight_rows_are_never_sampled(monkeypatch):
    obj = tall_problem("binary", weights=True)
    seen = []
    real = ssn._subsample

    def spy(objective, eligible, r, rng):
        seen.append(eligible)
        return real(objective, eligible, r, rng)

    monkeypatch.setattr(ssn, "_subsample", spy)
    solve(obj, "subsampled-newton", tol=1e-6)
    assert seen and all(np.all(obj.sample_weight[e] > 0) for e in seen)


def test_bad_options_are_refused():
    obj = tall_problem("binary")
    with pytest.raises(ValueError, match="random_state must be"):
        solve(obj, "subsampled-newton", random_state="seven")
    with pytest.raises(ValueError, match="sample_rows must be a positive"):
        solve(obj, "subsampled-newton", sample_rows=0)
    with pytest.raises(ValueError, match="inner must be"):
        solve(obj, "subsampled-newton", inner="lu")
    with pytest.raises(ValueError, match="does not support penalty='l1'"):
        solve(objective("iris", penalty="l1"), "subsampled-newton")


def test_line_search_fallback_is_newtons(monkeypatch):
    """A useless sub-sampled direction falls back to −∇J through the helper Newton uses
    (same warning, same record), and the fit still reaches the optimum."""
    from softlogit.solvers.warnings import LineSearchWarning

    calls = []

    def ascent_then_real(objective, theta, g, null):
        calls.append(1)
        if len(calls) == 1:
            return g.copy(), None  # uphill: no step along it passes the line search
        return real(objective, theta, g, null)

    real = ssn._cholesky_direction
    monkeypatch.setattr(ssn, "_cholesky_direction", ascent_then_real)
    obj = objective("breast_cancer")
    with pytest.warns(LineSearchWarning, match="sub-sampled Newton direction decreased"):
        res = solve(obj, "subsampled-newton", tol=1e-8, sample_rows=400, inner="cholesky")
    assert res.info["fallbacks"][0].startswith("iteration 1: no step along the sub-sampled")
    assert res.converged
    ref = solve(obj, "newton", tol=1e-10)
    assert abs(res.objective - ref.objective) <= 1e-10 * abs(ref.objective)


def test_sample_grows_when_good_and_bad_steps_alternate():
    """The stall rule judges two iterations together: alternating ratios 0.27 and 3.0 (net
    0.8 per two steps, seen on badly scaled columns) grow the sample; two good steps do not."""
    obj = tall_problem("binary")
    sampler = ssn.HessianSampler(obj, 1000, 0, "subsampled-newton")
    for ratio in (0.27, 0.1, 0.3):
        sampler.observe(ratio)
    assert sampler.rows == 1000
    sampler.observe(3.0)  # 0.3 · 3.0 > 0.5²
    assert sampler.rows == 1000 * ssn.GROWTH
    sampler.observe(0.9)  # a grown sample is judged on two iterations of its own
    assert sampler.rows == 1000 * ssn.GROWTH


def test_a_cold_start_first_step_is_not_judged(monkeypatch):
    """judge_first_step=False ignores the first reduction (a step from θ = 0 is limited by the
    distance to the optimum, not by the sample); the solver asks for it on a cold start only."""
    obj = tall_problem("binary")
    sampler = ssn.HessianSampler(obj, 1000, 0, "subsampled-newton", judge_first_step=False)
    sampler.observe(0.9)  # a poor first step: not judged
    sampler.observe(0.9)  # 0.9 alone: still one judged iteration
    assert sampler.rows == 1000
    sampler.observe(0.9)  # 0.9 · 0.9 > 0.5²
    assert sampler.rows == 1000 * ssn.GROWTH
    made = []
    real = ssn.HessianSampler.__init__

    def spy(self, *args, **kwargs):
        made.append(kwargs.get("judge_first_step", True))
        real(self, *args, **kwargs)

    monkeypatch.setattr(ssn.HessianSampler, "__init__", spy)
    cold = solve(obj, "subsampled-newton", tol=1e-8)
    solve(obj, "subsampled-newton", params0=cold.params * 0.5, tol=1e-8)
    assert made == [False, True]


def test_class_blocks_are_the_diagonal_of_the_hessian():
    """class_hessian_blocks (one pass, kernels.gram.dense_class_grams) against the blocks of
    the full reference Hessian, float32 and float64, with weights and an L2 term."""
    rng = np.random.default_rng(7)
    for dtype in (np.float32, np.float64):
        X = rng.standard_normal((300, 6)).astype(dtype)
        y = rng.integers(0, 4, 300)
        s = rng.random(300) + 0.1
        theta = rng.standard_normal(4 * 7)
        fast = LinearObjective(X, y, loss="multinomial", sample_weight=s, C=0.3)
        ref = LinearObjective(X, y, loss="multinomial", sample_weight=s, C=0.3,
                              backend="reference")
        H = ref.hessian(theta).astype(np.float64)
        for obj in (fast, ref):
            B = obj.class_hessian_blocks(theta)
            for k in range(4):
                np.testing.assert_allclose(B[k], H[7 * k:7 * (k + 1), 7 * k:7 * (k + 1)],
                                           rtol=1e-5 if dtype == np.float32 else 1e-12,
                                           atol=1e-7 if dtype == np.float32 else 1e-14)


def test_preconditioned_cg_solves_the_same_system_in_fewer_products():
    from softlogit.solvers.newton import _cg_direction, known_null_space
    from softlogit.solvers.preconditioner import class_block_preconditioner

    rng = np.random.default_rng(8)
    X = rng.standard_normal((2000, 8)) * rng.uniform(0.1, 10, 8)  # unequal column scales
    y = rng.integers(0, 6, 2000)
    obj = LinearObjective(X, y, loss="multinomial", C=10.0)
    theta = 0.3 * rng.standard_normal(obj.n_params)
    g = obj.gradient(theta)
    hessp = obj.hessian_operator(theta)
    null = known_null_space(obj)
    M = class_block_preconditioner(obj.class_hessian_blocks(theta), null)
    d0, n0, _ = _cg_direction(hessp, g, 1e-10, 500)
    d1, n1, _ = _cg_direction(hessp, g, 1e-10, 500, precondition=M)
    proj = lambda v: v - null @ (null.T @ v)
    np.testing.assert_allclose(proj(d1), proj(d0), rtol=1e-6, atol=1e-9)
    # to a Newton-CG forcing (48 parameters: to 1e-10 both need about n_params products)
    n0 = _cg_direction(hessp, g, 1e-2, 500)[1]
    n1 = _cg_direction(hessp, g, 1e-2, 500, precondition=M)[1]
    assert n1 < n0


def test_subsampled_newton_softmax_cg_reaches_the_newton_optimum():
    rng = np.random.default_rng(9)
    X = rng.standard_normal((24000, 6))
    y = rng.integers(0, 5, 24000)
    obj = LinearObjective(X, y, loss="multinomial", C=1.0)
    res = solve(obj, "subsampled-newton", tol=1e-10, inner="cg")
    ref = solve(obj, "newton", tol=1e-10)
    assert res.converged and res.info["preconditioner"] == "class blocks"
    assert obj.loss(res.params) - obj.loss(ref.params) < 1e-12
