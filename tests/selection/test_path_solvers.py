"""The path's own fast parts against independent computations: the float32 BLAS model Hessian
against the objective's float64 Hessian, the implicit-Hessian proximal Newton on CSR against
single dense fits, and the one-product neg_log_loss against scikit-learn's scorer."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import get_scorer

import softlogit
from softlogit import LogisticRegression
from softlogit.objective import LinearObjective
from softlogit.selection import path as path_module
from softlogit.selection.hessian import ModelHessianObjective, weighted_gram
from softlogit.selection.scoring import neg_log_loss_path
from softlogit.selection.targets import encode_targets


@pytest.mark.parametrize("n_classes", [2, 3])
def test_model_hessian_equals_float64_hessian_to_single_precision(n_classes):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 7)) + 3.0
    y = rng.integers(0, n_classes, size=400)
    loss = "binary" if n_classes == 2 else "multinomial"
    kw = dict(loss=loss, n_classes=n_classes, penalty="l2", C=0.5,
              sample_weight=rng.random(400) + 0.5)
    exact, model = LinearObjective(X, y, **kw), ModelHessianObjective(X, y, **kw)
    theta = 0.3 * rng.normal(size=exact.n_params)
    H, H32 = exact.hessian(theta), model.hessian(theta)
    assert np.allclose(H32, H32.T)
    assert np.max(np.abs(H32 - H)) <= 1e-5 * np.max(np.abs(H))
    # weights of either sign (softmax off-diagonal blocks) go through gemm
    w = rng.normal(size=400)
    Xt = np.asfortranarray(np.column_stack([X, np.ones(400)]), dtype=np.float32)
    Xd = np.column_stack([X, np.ones(400)])
    assert np.allclose(weighted_gram(Xt, w), Xd.T @ (w[:, None] * Xd), rtol=0, atol=1e-3)
    G = weighted_gram(Xt, np.abs(w))  # the syrk path: the mirrored triangle, exactly symmetric
    assert np.array_equal(G, G.T)
    assert np.allclose(G, Xd.T @ (np.abs(w)[:, None] * Xd), rtol=0, atol=1e-3)


def test_model_hessian_keeps_float64_for_features_float32_cannot_hold():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3)) * 1e20
    y = (rng.random(50) > 0.5).astype(float)
    exact, model = LinearObjective(X, y), ModelHessianObjective(X, y)
    theta = np.zeros(exact.n_params)
    assert np.array_equal(model.hessian(theta), exact.hessian(theta))


def _uncentred_csr(m, p, seed):
    """Count-like CSR columns whose means are large against their spread."""
    rng = np.random.default_rng(seed)
    X = sp.random(m, p, density=0.3, random_state=seed, format="csr")
    X.data = 5.0 + rng.integers(0, 3, size=X.nnz)
    w = np.zeros(p)
    w[:4] = [1.0, -1.0, 0.7, -0.5]
    z = X @ w
    y = (rng.random(m) < 1 / (1 + np.exp(-(z - np.median(z))))).astype(int)
    return X, y


@pytest.mark.parametrize("penalty, l1_ratio, fit_intercept",
                         [("l1", None, True), ("elasticnet", 0.5, True), ("l1", None, False)])
def test_implicit_newton_path_on_csr_equals_single_dense_fits(penalty, l1_ratio, fit_intercept):
    """Sparse binary paths run the implicit-Hessian solver; each C's objective is within 1e-9
    of a cold dense newton-cd fit at tol 1e-10."""
    X, y = _uncentred_csr(250, 30, 0)
    targets = encode_targets(X, y)
    problem = targets.problem(X, fit_intercept=fit_intercept)
    pen = problem.penalty(penalty, 1.0, l1_ratio)
    assert path_module._solver_name("auto", problem.objective(np.arange(5), pen)) == \
        path_module.IMPLICIT
    path = softlogit.regularization_path(X, y, Cs=5, penalty=penalty, l1_ratio=l1_ratio,
                                         fit_intercept=fit_intercept, tol=1e-10, max_iter=200)
    assert path.converged.all()
    Xd = X.toarray()
    for i, C in enumerate(path.Cs):
        est = LogisticRegression(penalty=penalty, C=C, l1_ratio=l1_ratio, solver="newton-cd",
                                 fit_intercept=fit_intercept, tol=1e-10, max_iter=500).fit(Xd, y)
        obj = est.objective_for(Xd, y)
        single = obj.objective_value(obj.pack(est.coef_, est.intercept_))
        along = obj.objective_value(obj.pack(path.coefs[i], path.intercepts[i]))
        assert abs(along - single) <= 1e-9, (C, along - single)


@pytest.mark.parametrize("n_classes, weighted", [(2, False), (2, True), (3, True)])
def test_neg_log_loss_path_equals_scikit_learn_scorer(n_classes, weighted):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(120, 5))
    X[0] *= 60.0  # logits beyond ±36: probabilities clipped at eps, as scikit-learn does
    y = rng.integers(0, n_classes, size=120)
    k = 1 if n_classes == 2 else n_classes
    coefs, intercepts = rng.normal(size=(4, k, 5)), rng.normal(size=(4, k))
    weight = rng.random(120) + 0.1 if weighted else None
    fast = neg_log_loss_path(X, y, coefs, intercepts, weight)
    scorer = get_scorer("neg_log_loss")
    for c in range(4):
        est = LogisticRegression()
        est.classes_, est.coef_, est.intercept_ = np.arange(n_classes), coefs[c], intercepts[c]
        est.n_features_in_ = 5
        extra = {} if weight is None else {"sample_weight": weight}
        assert fast[c] == pytest.approx(scorer(est, X, y, **extra), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("n_classes, penalty, l1_ratio, fit_intercept",
                         [(2, "l1", None, True), (3, "elasticnet", 0.5, True),
                          (2, "elasticnet", 0.3, False)])
def test_lazy_newton_path_equals_single_newton_cd_fits(n_classes, penalty, l1_ratio,
                                                       fit_intercept, monkeypatch):
    """Dense L1 / elastic-net paths keep and carry the model Hessian (lazy_newton_cd); each C's
    objective is within 1e-9 of a cold newton-cd fit at tol 1e-10 that forms it every step."""
    from softlogit.selection import lazy_newton_cd as lazy

    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 12)) + 0.5 * rng.normal(size=(300, 1)) + 2.0
    y = (X[:, :3] @ [1.5, -1.0, 0.8] + rng.normal(size=300) > 2.0 * 0.3).astype(int)
    if n_classes == 3:
        y = y + (X[:, 3] > 2.5)
    calls = []
    real = lazy.lazy_newton_cd
    monkeypatch.setattr(path_module, "lazy_newton_cd",
                        lambda *a, **k: calls.append(real(*a, **k)) or calls[-1])
    path = softlogit.regularization_path(X, y, Cs=6, penalty=penalty, l1_ratio=l1_ratio,
                                         fit_intercept=fit_intercept, tol=1e-10, max_iter=200)
    assert path.converged.all() and calls
    iterations = sum(r.n_iter for r, _ in calls)
    hessians = sum(r.info["hessians"] for r, _ in calls)
    assert hessians < iterations  # a Hessian was kept or carried somewhere along the path
    for i, C in enumerate(path.Cs):
        est = LogisticRegression(penalty=penalty, C=C, l1_ratio=l1_ratio, solver="newton-cd",
                                 fit_intercept=fit_intercept, tol=1e-10, max_iter=500).fit(X, y)
        obj = est.objective_for(X, y)
        single = obj.objective_value(obj.pack(est.coef_, est.intercept_))
        along = obj.objective_value(obj.pack(path.coefs[i], path.intercepts[i]))
        assert abs(along - single) <= 1e-9 * max(1.0, abs(single)), (C, along - single)


def test_carried_hessian_takes_only_subsets_of_its_columns():
    from softlogit.selection.lazy_newton_cd import CarriedHessian

    H = np.arange(36.0).reshape(6, 6)
    carried = CarriedHessian(np.array([0, 2, 3, 5, 7, 9]), H)
    assert np.array_equal(carried.take(np.array([2, 5, 9])), H[np.ix_([1, 3, 5], [1, 3, 5])])
    assert carried.take(np.array([2, 4])) is None      # 4 was never formed
    assert carried.take(np.array([9, 10])) is None     # beyond the last key


def test_model_minimiser_with_support_solve_equals_coordinate_descent():
    """The support solve of lazy_newton_cd's inner model (used when the sweeps crawl) returns
    the minimiser that coordinate descent run to convergence finds, and meets the model's
    optimality conditions (zero subgradient on the support, |∇q| ≤ λ off it)."""
    from softlogit.selection import lazy_newton_cd as lazy
    from softlogit.solvers.newton_cd import _cd_sweeps

    rng = np.random.default_rng(7)
    A = rng.normal(size=(80, 30)) + 3.0 * rng.normal(size=(80, 1))  # correlated: slow sweeps
    S = A.T @ A / 80 + 1e-3 * np.eye(30)
    g, theta, lam = rng.normal(size=30), 0.1 * rng.normal(size=30), 0.05
    d, sweeps, polished = lazy._model_minimiser(S, g, theta, lam, 5000, 1e-13)
    assert polished and sweeps < 5000
    ref, Sd = np.zeros(30), np.zeros(30)
    _cd_sweeps(S, g, theta, lam, np.ones(30, dtype=bool), ref, Sd, 200000, 1e-14)
    assert np.max(np.abs(d - ref)) <= 1e-8
    u, grad = theta + d, g + S @ d
    on = u != 0
    assert np.allclose(grad[on] + lam * np.sign(u[on]), 0.0, atol=1e-10)
    assert np.all(np.abs(grad[~on]) <= lam * (1 + 1e-9))


def test_active_set_refinement_reaches_the_coordinate_descent_minimiser():
    """lazy_newton_cd's active-set refinement, started from a poor iterate (one sweep: wrong
    support and signs), ends at the minimiser that coordinate descent run to convergence
    finds; with too few steps it returns an iterate no worse in model value than its start."""
    from softlogit.selection import lazy_newton_cd as lazy
    from softlogit.solvers.newton_cd import _cd_sweeps

    rng = np.random.default_rng(11)
    A = rng.normal(size=(120, 40)) + 2.0 * rng.normal(size=(120, 1))
    S = A.T @ A / 120 + 1e-2 * np.eye(40)
    g, theta, lam = rng.normal(size=40), 0.3 * rng.normal(size=40), 0.2
    every = np.ones(40, dtype=bool)
    ref, Sd = np.zeros(40), np.zeros(40)
    _cd_sweeps(S, g, theta, lam, every, ref, Sd, 200000, 1e-14)
    d0, Sd0 = np.zeros(40), np.zeros(40)
    _cd_sweeps(S, g, theta, lam, every, d0, Sd0, 1, 0.0)
    assert np.any(np.sign(theta + d0) != np.sign(theta + ref))  # the start's support is wrong
    exact, d = lazy._active_set(S, g, theta, lam, d0.copy(), max_steps=200)
    assert exact and np.max(np.abs(d - ref)) <= 1e-8
    value = lazy._model_value(S, g, theta, lam, d0)
    _, partial = lazy._active_set(S, g, theta, lam, d0.copy(), max_steps=1)
    assert lazy._model_value(S, g, theta, lam, partial) <= value


def test_corrected_direction_meets_the_secant_conditions_of_its_pairs():
    """The kept factor corrected by secant pairs (ridge_newton's quasi-Newton step): with no
    pair it is the plain Newton solve; with pairs ``y = H s`` of a quadratic it maps the last
    ``y`` back to its ``s`` (the BFGS secant condition), whatever the kept matrix."""
    from scipy.linalg import cho_factor

    from softlogit.selection import ridge_newton as rn

    rng = np.random.default_rng(3)
    A = rng.normal(size=(40, 6))
    H = A.T @ A / 40 + 0.1 * np.eye(6)
    stale = H + 0.3 * np.diag(rng.random(6))  # the kept Hessian, from an earlier point
    factor = cho_factor(stale)
    g = rng.normal(size=6)
    assert np.allclose(rn._corrected_direction(factor, [], g), -np.linalg.solve(stale, g))
    pairs = []
    for _ in range(3):
        s = rng.normal(size=6)
        y = H @ s
        pairs.append((s, y, 1.0 / float(s @ y)))
        d = rn._corrected_direction(factor, pairs, y)
        assert np.allclose(d, -s, rtol=1e-10, atol=1e-12)
    assert not np.allclose(rn._corrected_direction(factor, pairs, g),
                           -np.linalg.solve(stale, g))


def test_ridge_newton_with_stale_hessian_reaches_the_tolerance():
    """Started with a Hessian from a far point, ridge_newton still meets ‖∇J‖ ≤ tol·‖∇J(0)‖
    and lands on the cold fit's objective."""
    from softlogit.selection.ridge_newton import ridge_newton
    from softlogit.solvers.result import grad_norm

    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 10)) + rng.normal(size=(400, 1))
    y = (X[:, 0] - X[:, 1] + rng.normal(size=400) > 0).astype(int)
    est = LogisticRegression(penalty="l2", C=0.3, solver="newton", tol=1e-12,
                             max_iter=500).fit(X, y)
    obj = est.objective_for(X, y)
    far = np.full(obj.n_params, 0.8)
    stale = obj.hessian(far)
    zero = np.zeros(obj.n_params)
    ref = grad_norm(np.asarray(obj.gradient(zero), dtype=np.float64))
    result, _ = ridge_newton(obj, zero, tol=1e-10, max_iter=200, reference_norm=ref,
                             loss_hessian=stale - obj.penalty.l2 * np.diag(obj.penalized_mask))
    assert result.converged
    single = obj.objective_value(obj.pack(est.coef_, est.intercept_))
    assert abs(obj.objective_value(result.params) - single) <= 1e-12


def test_active_set_factor_updates_equal_a_fresh_factorisation():
    """The compiled active set's Cholesky factor, grown and shrunk coordinate by coordinate in
    a random order, stays the factor of the support's block (``RᵀR = S_AA``) and solves with
    it as LAPACK's factor does."""
    from scipy.linalg import cho_factor, cho_solve

    from softlogit.selection import active_set as aset

    rng = np.random.default_rng(5)
    n = 60
    B = rng.normal(size=(200, n)) + 2.0 * rng.normal(size=(200, 1))  # correlated columns
    S = B.T @ B / 200 + 1e-3 * np.eye(n)
    R, order, work = np.zeros((n, n)), np.zeros(n, dtype=np.intp), np.empty(n)
    na, inside = 0, []
    for step in range(400):
        leave = inside and (len(inside) == n or rng.random() < 0.45)
        if leave:
            i = int(rng.integers(len(inside)))
            aset._delete(R, na, order, i)
            inside.pop(i)
            na -= 1
        else:
            j = int(rng.choice(np.setdiff1d(np.arange(n), inside)))
            assert aset._append(R, na, S, order, j, work)
            inside.append(j)
            na += 1
        assert list(order[:na]) == inside
        if step % 20 == 0 and na:
            U = np.triu(R[:na, :na])
            block = S[np.ix_(inside, inside)]
            assert np.max(np.abs(U.T @ U - block)) <= 1e-12 * np.max(np.abs(block))
            b = rng.normal(size=na)
            x = b.copy()
            aset._forward(R, na, x)
            aset._backward(R, na, x)
            ref = cho_solve(cho_factor(block), b)
            assert np.max(np.abs(x - ref)) <= 1e-8 * np.max(np.abs(ref))


def test_active_set_stops_cleanly_on_a_singular_block():
    """Collinear columns without a ridge (pure L1): the refinement reports no exact answer
    rather than dividing by a zero pivot, and hands back an iterate no worse than its start."""
    from softlogit.selection import lazy_newton_cd as lazy

    rng = np.random.default_rng(2)
    A = rng.normal(size=(50, 6))
    A = np.column_stack([A, A[:, 0] + A[:, 1]])  # column 6 = column 0 + column 1
    S = A.T @ A / 50
    g, theta, lam = rng.normal(size=7), np.ones(7), 1e-3
    d0 = np.zeros(7)
    exact, d = lazy._active_set(S, g, theta, lam, d0)
    assert exact is False  # the singular support was noticed, not solved through
    assert np.all(np.isfinite(d))
    assert lazy._model_value(S, g, theta, lam, d) <= lazy._model_value(S, g, theta, lam, d0)
    S2 = S.copy()
    S2[:, 6] = S2[6, :] = 0.0  # a zero column joining later: its pivot is zero
    exact, d = lazy._active_set(S2, g, np.r_[np.ones(6), 0.0], lam, np.zeros(7))
    assert exact is False
    assert np.all(np.isfinite(d))


def test_gram_blocks_on_threads_equal_the_serial_blocks():
    """The softmax Hessian's blocks shared out over threads are, block by block and bit for
    bit, the ones formed one after another, whatever the thread count."""
    import numba

    from softlogit.selection.hessian import gram_blocks

    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(4)
    # large enough that OpenBLAS would split one block over its own threads (its sums then
    # depend on its thread count: the blocks must be formed with BLAS held to one thread)
    m = 20_000
    Xt = np.asfortranarray(rng.normal(size=(m, 101)), dtype=np.float32)
    weights = [rng.random(m) if i % 3 == 0 else -rng.random(m) for i in range(4)]
    with threadpool_limits(1, user_api="blas"):
        serial = [weighted_gram(Xt, w) for w in weights]
    lazy = [lambda w=w: w for w in weights]  # weights made on demand, by the using thread
    before = numba.get_num_threads()
    try:
        for t in (1, 2, numba.config.NUMBA_NUM_THREADS):
            numba.set_num_threads(t)
            for given in (weights, lazy):
                blocks = gram_blocks(Xt, given, [1.0 if i % 3 == 0 else 2.0 for i in range(4)])
                assert len(blocks) == len(serial)
                assert all(np.array_equal(a, b) for a, b in zip(blocks, serial))
    finally:
        numba.set_num_threads(before)


def test_active_set_with_a_carried_factor_equals_a_fresh_start():
    """A refinement that starts from the factor the last one on the same model ended with
    (moved to its own support by a few joins and leaves, or refactorised when too many)
    reaches the same model minimiser as one that factorises afresh."""
    from softlogit.selection import active_set as aset
    from softlogit.selection import lazy_newton_cd as lazy
    from softlogit.solvers.newton_cd import _cd_sweeps

    rng = np.random.default_rng(13)
    n = 50
    B = rng.normal(size=(150, n)) + 2.0 * rng.normal(size=(150, 1))
    S = B.T @ B / 150 + 1e-2 * np.eye(n)
    carry = aset.FactorCarry()
    every = np.ones(n, dtype=bool)
    theta = 0.3 * rng.normal(size=n) * (rng.random(n) < 0.6)
    moved = 0
    for trial in range(12):
        if trial == 6:  # a new support far from the last: refactorised
            theta = 0.3 * rng.normal(size=n) * (rng.random(n) < 0.6)
        else:  # a few coordinates change: the carried factor is moved
            theta = theta.copy()
            theta[rng.choice(n, 3, replace=False)] = 0.3 * rng.normal(size=3) * (trial % 2)
        g, lam = rng.normal(size=n), 0.1 + 0.2 * rng.random()
        d0, Sd0 = np.zeros(n), np.zeros(n)
        _cd_sweeps(S, g, theta, lam, every, d0, Sd0, 2, 0.0)
        fresh_exact, fresh = lazy._active_set(S, g, theta, lam, d0.copy(), max_steps=200)
        buffer = carry.R
        exact, d = lazy._active_set(S, g, theta, lam, d0.copy(), max_steps=200, carry=carry)
        moved += buffer is not None and carry.R is buffer
        assert fresh_exact and exact
        assert np.max(np.abs(d - fresh)) <= 1e-9
        assert carry.na == np.count_nonzero(theta + d)
        U = np.triu(carry.R[:carry.na, :carry.na])
        block = S[np.ix_(carry.order[:carry.na], carry.order[:carry.na])]
        assert np.max(np.abs(U.T @ U - block)) <= 1e-12 * np.max(np.abs(block))
    assert moved >= 3
