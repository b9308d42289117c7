"""Robust and clustered covariances against an independent NumPy sandwich (written here from
the textbook formulas, dense, row by row) and against statsmodels where it has them."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import softlogit


def _softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def numpy_sandwich(X, codes, beta, K, cov_type, s=None, groups=None):
    """Independent sandwich for baseline-category contrasts (reference class 0): per-sample
    score blocks ψᵢ = (e_{cᵢ} − oᵢ)_{1..K−1} ⊗ x̃ᵢ, bread A = Σ sᵢ (∂ψᵢ/∂β), leverage blocks
    from the explicit hat matrix W^½ X B⁻¹ Xᵀ W^½ (m(K−1) × m(K−1), fine for small m)."""
    m, p = X.shape
    s = np.ones(m) if s is None else s
    Xt = np.column_stack([X, np.ones(m)])
    q, L = p + 1, K - 1
    B = beta.reshape(L, q)
    O = _softmax(np.column_stack([np.zeros(m), Xt @ B.T]))
    Y = np.eye(K)[codes]
    R = (Y - O)[:, 1:]
    Xi = [np.kron(np.eye(L), Xt[i][None, :]) for i in range(m)]  # (L, n) per sample
    Wi = [np.diag(O[i, 1:]) - np.outer(O[i, 1:], O[i, 1:]) for i in range(m)]
    bread = sum(s[i] * Xi[i].T @ Wi[i] @ Xi[i] for i in range(m))
    Binv = np.linalg.inv(bread)
    if cov_type == "nonrobust":
        return Binv
    n, k = s.sum(), L * q
    if cov_type == "cluster":
        G = groups.max() + 1
        S = np.zeros((G, k))
        for i in range(m):
            S[groups[i]] += s[i] * Xi[i].T @ R[i]
        return G / (G - 1) * (n - 1) / (n - k) * Binv @ S.T @ S @ Binv
    meat = np.zeros((k, k))
    for i in range(m):
        r = R[i]
        if cov_type in ("HC2", "HC3"):
            ew, U = np.linalg.eigh(Wi[i])
            Wh = U @ np.diag(np.sqrt(ew)) @ U.T
            H = Wh @ Xi[i] @ Binv @ Xi[i].T @ Wh
            eh, V = np.linalg.eigh(np.eye(L) - H)
            power = 0.5 if cov_type == "HC2" else 1.0
            r = Wh @ V @ np.diag(eh ** -power) @ V.T @ np.linalg.inv(Wh) @ r
        g = Xi[i].T @ r
        meat += s[i] * np.outer(g, g)
    V = Binv @ meat @ Binv
    return V * (n / (n - k) if cov_type == "HC1" else 1.0)


@pytest.fixture(scope="module")
def small_multinomial():
    rng = np.random.default_rng(7)
    m, p, K = 90, 3, 3
    X = rng.normal(size=(m, p))
    Z = np.column_stack([np.zeros(m), X @ rng.normal(size=(p, K - 1))])
    codes = np.array([rng.choice(K, p=row) for row in _softmax(Z)])
    s = rng.integers(1, 4, size=m).astype(float)
    return X, codes, s


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "HC1", "HC2", "HC3"])
@pytest.mark.parametrize("K", [2, 3])
def test_sandwich_matches_numpy(small_multinomial, cov_type, K):
    X, codes, s = small_multinomial
    codes = codes if K == 3 else (codes > 0).astype(int)
    est = softlogit.LogisticRegression(penalty=None, tol=1e-12).fit(X, codes, sample_weight=s)
    res = est.inference(X, codes, cov_type=cov_type, sample_weight=s)
    want = numpy_sandwich(X, codes, res.params, K, cov_type, s=s)
    assert_allclose(res.cov_params(), want, rtol=1e-8, atol=1e-13)


def test_hc2_hc3_are_not_hc0(small_multinomial):
    """statsmodels #7798: its Logit returns HC0 for HC1–HC3. Ours differ, and in order."""
    X, codes, _ = small_multinomial
    est = softlogit.LogisticRegression(penalty=None, tol=1e-12).fit(X, codes)
    se = {c: est.inference(X, codes, cov_type=c).bse for c in ("HC0", "HC2", "HC3")}
    assert np.all(se["HC0"] < se["HC2"]) and np.all(se["HC2"] < se["HC3"])


@pytest.mark.parametrize("K", [2, 3])
def test_cluster_matches_numpy(small_multinomial, K):
    X, codes, s = small_multinomial
    codes = codes if K == 3 else (codes > 0).astype(int)
    groups = np.arange(len(codes)) % 11
    est = softlogit.LogisticRegression(penalty=None, tol=1e-12).fit(X, codes, sample_weight=s)
    res = est.inference(X, codes, cov_type="cluster", groups=groups, sample_weight=s)
    want = numpy_sandwich(X, codes, res.params, K, "cluster", s=s, groups=groups)
    assert_allclose(res.cov_params(), want, rtol=1e-8, atol=1e-13)


def test_hc0_and_cluster_match_statsmodels(spector, spector_fit):
    """statsmodels' Logit HC0 and one- and two-way cluster covariances (its CR1 factors)."""
    sm = pytest.importorskip("statsmodels.api")
    X, y = spector
    Xc = sm.add_constant(X, prepend=False)
    g1 = np.arange(32) % 5
    g2 = np.arange(32) // 4
    for cov_type, kw, groups in [("HC0", {}, None),
                                 ("cluster", {"groups": g1}, g1),
                                 ("cluster", {"groups": np.column_stack([g1, g2])},
                                  np.column_stack([g1, g2]))]:
        ref = sm.Logit(y, Xc).fit(disp=0, cov_type=cov_type, **({"cov_kwds": kw} if kw else {}))
        res = spector_fit.inference(X, y, cov_type=cov_type, groups=groups)
        assert_allclose(res.cov_params(), ref.cov_params(), rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC1", "HC3", "cluster"])
def test_frequency_weight_is_a_repeated_row(small_multinomial, cov_type):
    """Weight 2 gives the same inference as the row written twice (clusters kept)."""
    X, codes, _ = small_multinomial
    w = np.where(np.arange(len(codes)) % 3 == 0, 2.0, 1.0)
    rep = np.repeat(np.arange(len(codes)), w.astype(int))
    g = np.arange(len(codes)) % 7
    kw = {"groups": g} if cov_type == "cluster" else {}
    est = softlogit.LogisticRegression(penalty=None, tol=1e-12).fit(X, codes, sample_weight=w)
    a = est.inference(X, codes, cov_type=cov_type, sample_weight=w, **kw)
    kw = {"groups": g[rep]} if cov_type == "cluster" else {}
    b = est.inference(X[rep], codes[rep], cov_type=cov_type, **kw)
    assert_allclose(a.cov_params(), b.cov_params(), rtol=1e-9, atol=1e-14)
    assert a.nobs == b.nobs and a.llf == pytest.approx(b.llf, rel=1e-12)


def test_sparse_equals_dense(small_multinomial):
    sp = pytest.importorskip("scipy.sparse")
    X, codes, _ = small_multinomial
    X = X * (np.abs(X) > 0.5)
    est = softlogit.LogisticRegression(penalty=None, tol=1e-12).fit(X, codes)
    for cov_type in ("nonrobust", "HC3"):
        a = est.inference(X, codes, cov_type=cov_type)
        b = est.inference(sp.csr_matrix(X), codes, cov_type=cov_type)
        assert_allclose(a.cov_params(), b.cov_params(), rtol=1e-10, atol=1e-14)


def test_l2_fit_uses_the_penalised_hessian_and_warns(small_multinomial):
    """An L2 fit: V = (I + diag(mask)/C)⁻¹ in the K-logit space, mapped to contrasts."""
    from softlogit.inference import PenalizedInferenceWarning

    X, codes, _ = small_multinomial
    C = 0.5
    est = softlogit.SoftmaxRegression(C=C, tol=1e-12).fit(X, codes)
    with pytest.warns(PenalizedInferenceWarning, match="penalised Hessian"):
        res = est.inference(X, codes)
    m, p = X.shape
    Xt = np.column_stack([X, np.ones(m)])
    Theta = np.column_stack([est.coef_, est.intercept_])
    O = _softmax(Xt @ Theta.T)
    H = sum(np.kron(np.diag(o) - np.outer(o, o), np.outer(x, x)) for o, x in zip(O, Xt))
    H += np.diag(np.tile(np.r_[np.ones(p), 0.0], 3) / C)
    A = np.kron(np.array([[-1, 1, 0], [-1, 0, 1]]), np.eye(p + 1))
    # H is singular along "the same constant on every intercept"; contrasts are estimable
    assert_allclose(res.cov_params(), A @ np.linalg.pinv(H) @ A.T, rtol=1e-7)
    with pytest.raises(ValueError, match="profile intervals need"):
        res.conf_int(method="profile")


def test_bad_arguments_are_named(spector, spector_fit):
    X, y = spector
    with pytest.raises(ValueError, match="cov_type must be one of"):
        spector_fit.inference(X, y, cov_type="HC4")
    with pytest.raises(ValueError, match="needs groups"):
        spector_fit.inference(X, y, cov_type="cluster")
    with pytest.raises(ValueError, match="groups are only used"):
        spector_fit.inference(X, y, groups=np.zeros(32))
    with pytest.raises(ValueError, match="two clusters"):
        spector_fit.inference(X, y, cov_type="cluster", groups=np.zeros(32))
    l1 = softlogit.LogisticRegression(penalty="l1", solver="newton-cd").fit(X, y)
    with pytest.raises(ValueError, match="not available for penalty='l1'"):
        l1.inference(X, y)
    with pytest.raises(ValueError, match="class labels"):
        softlogit.SoftmaxRegression(penalty=None).fit(X, np.column_stack([1 - y, y])) \
            .inference(X, np.column_stack([1 - y, y]))
    with pytest.raises(ValueError, match="collinear"):
        Xd = np.column_stack([X, X[:, 0]])
        softlogit.LogisticRegression(penalty=None).fit(Xd, y).inference(Xd, y)


def test_nan_in_x_is_refused(spector, spector_fit):
    X, y = spector
    X = X.copy()
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        spector_fit.inference(X, y)


@pytest.mark.parametrize("cov_type", ["HC0", "HC2", "HC3"])
def test_l2_softmax_sandwich_matches_numpy(small_multinomial, cov_type):
    """An L2 softmax fit is identified in all K logits: the sandwich is formed there (bread =
    penalised Hessian, generalised inverse) and mapped to contrasts; NumPy reference here."""
    X, codes, _ = small_multinomial
    C = 0.5
    est = softlogit.SoftmaxRegression(C=C, tol=1e-12).fit(X, codes)
    with pytest.warns(UserWarning):
        res = est.inference(X, codes, cov_type=cov_type)
    m, p = X.shape
    K, q = 3, p + 1
    Xt = np.column_stack([X, np.ones(m)])
    O = _softmax(Xt @ np.column_stack([est.coef_, est.intercept_]).T)
    R = np.eye(K)[codes] - O
    Xi = [np.kron(np.eye(K), x[None, :]) for x in Xt]
    Wi = [np.diag(o) - np.outer(o, o) for o in O]
    H = sum(a.T @ w @ a for a, w in zip(Xi, Wi)) + np.diag(np.tile(np.r_[np.ones(p), 0], K) / C)
    Hp = np.linalg.pinv(H)
    meat = np.zeros_like(H)
    for a, w, r in zip(Xi, Wi, R):
        M = w @ a @ Hp @ a.T  # W_i Q_i
        if cov_type == "HC3":
            r = np.linalg.solve(np.eye(K) - M, r)
        elif cov_type == "HC2":
            ev, U = np.linalg.eig(np.eye(K) - M)  # diagonalisable: similar to I − H_i
            r = np.real(U @ np.diag(ev ** -0.5) @ np.linalg.inv(U) @ r)
        g = a.T @ r
        meat += np.outer(g, g)
    A = np.kron(np.array([[-1, 1, 0], [-1, 0, 1]]), np.eye(q))
    assert_allclose(res.cov_params(), A @ Hp @ meat @ Hp @ A.T, rtol=1e-6, atol=1e-12)


def _multinomial_score_hessian(beta, Xt, Y, L):
    """Gradient and negative Hessian of the baseline-category log-likelihood (class 0 the
    base), dense NumPy: g = Σ (yᵢ − oᵢ) ⊗ x̃ᵢ, H = Σ (diag oᵢ − oᵢoᵢᵀ) ⊗ x̃ᵢx̃ᵢᵀ."""
    q = Xt.shape[1]
    O = _softmax(np.column_stack([np.zeros(len(Xt)), Xt @ beta.reshape(L, q).T]))[:, 1:]
    W = O[:, :, None] * (np.eye(L)[None] - O[:, None, :])
    g = ((Y - O).T @ Xt).ravel()
    H = np.block([[(Xt * W[:, a, b, None]).T @ Xt for b in range(L)] for a in range(L)])
    return g, H


def test_multinomial_hc3_is_the_one_step_jackknife_and_near_the_exact_one():
    """HC3 against leave-one-out refits of the multinomial model, computed here without any
    leverage formula. One Newton step from β̂ on the data without row i moves β̂ by
    dᵢ = (H₍ᵢ₎)⁻¹ g₍ᵢ₎(β̂); by Woodbury dᵢ = −B⁻¹X̃ᵢᵀ(I − WᵢQᵢ)⁻¹rᵢ, the HC3 score, so
    Σ dᵢdᵢᵀ = HC3 exactly (MacKinnon & White's jackknife reading of HC3, for a GLM with
    Pregibon's one-step deletion). The exact leave-one-out estimates (Newton to convergence)
    differ from the one-step ones by the second-order remainder, O(‖dᵢ‖²) per row, so the exact
    jackknife Σ ΔᵢΔᵢᵀ is only near HC3: within 5 % on the diagonal at m = 180 (measured 3.3 %;
    the remainder is 3.5 % of the largest dᵢ), and nearer than HC0 (measured 10.5 % off)."""
    rng = np.random.default_rng(7)
    m, p, K = 180, 3, 3
    X = rng.normal(size=(m, p))
    Z = np.column_stack([np.zeros(m), X @ rng.normal(size=(p, K - 1))])
    codes = np.array([rng.choice(K, p=row) for row in _softmax(Z)])
    L = K - 1
    Xt, Y = np.column_stack([X, np.ones(m)]), np.eye(K)[codes][:, 1:]
    est = softlogit.LogisticRegression(penalty=None, tol=1e-13).fit(X, codes)
    cov = {c: est.inference(X, codes, cov_type=c).cov_params() for c in ("HC0", "HC3")}
    beta = est.inference(X, codes).params
    one, exact = [], []
    for i in range(m):
        keep = np.arange(m) != i
        g, H = _multinomial_score_hessian(beta, Xt[keep], Y[keep], L)
        b = beta + np.linalg.solve(H, g)
        one.append(b - beta)
        for _ in range(30):
            g, H = _multinomial_score_hessian(b, Xt[keep], Y[keep], L)
            step = np.linalg.solve(H, g)
            b = b + step
            if np.max(np.abs(step)) < 1e-12:
                break
        exact.append(b - beta)
    one, exact = np.array(one), np.array(exact)
    assert_allclose(one.T @ one, cov["HC3"], rtol=1e-8, atol=1e-12 * np.abs(cov["HC3"]).max())
    jack = np.diag(exact.T @ exact)
    gap3 = np.max(np.abs(jack / np.diag(cov["HC3"]) - 1))
    gap0 = np.max(np.abs(jack / np.diag(cov["HC0"]) - 1))
    assert gap3 < 0.05 and gap3 < gap0 / 2


def test_multinomial_hc2_makes_the_model_residual_covariance_unbiased(small_multinomial):
    """HC2's defining property (MacKinnon & White 1985; for GLMs, the leverage-corrected
    residuals): under the model, Cov(rᵢ) ≈ Wᵢ^½(I − Hᵢᵢ)Wᵢ^½ to first order, and HC2 maps
    each rᵢ by a Tᵢ with Tᵢ Cov(rᵢ) Tᵢᵀ = Wᵢ exactly (HC3's Tᵢ = (I − WᵢQᵢ)⁻¹ over-corrects
    to Wᵢ^½(I − Hᵢᵢ)⁻¹Wᵢ^½; HC0 leaves Wᵢ^½(I − Hᵢᵢ)Wᵢ^½). Tᵢ is read by applying the
    module's map to unit residuals; Hᵢᵢ comes from the explicit (mL × mL) hat matrix built
    here, not from the module's leverages."""
    from softlogit.inference.covariance import _leverage_adjusted

    X, codes, _ = small_multinomial
    m, p = X.shape
    K, L, q = 3, 2, p + 1
    est = softlogit.LogisticRegression(penalty=None, tol=1e-12).fit(X, codes)
    res = est.inference(X, codes)
    Xt = np.column_stack([X, np.ones(m)])
    O = _softmax(np.column_stack([np.zeros(m), Xt @ res.params.reshape(L, q).T]))[:, 1:]
    W = O[:, :, None] * (np.eye(L)[None] - O[:, None, :])
    Xs = np.einsum("ab,ic->iabc", np.eye(L), Xt).reshape(m, L, L * q)  # X̃ᵢ = I ⊗ x̃ᵢᵀ
    Binv = res.cov_params()
    roots = []
    for w in W:
        ew, U = np.linalg.eigh(w)
        roots.append(U @ np.diag(np.sqrt(ew)) @ U.T)
    Z = np.concatenate([r @ x for r, x in zip(roots, Xs)])  # W^½ X̃, (mL × k)
    Hhat = Z @ Binv @ Z.T
    assert res.model.free == (1, 2)  # contrasts against class 0, as built here
    O_all = np.column_stack([1 - O.sum(axis=1), O])
    # column a of Tᵢ: the HC2 map applied to the residual e_a at every sample
    T = np.stack([_leverage_adjusted(res.model, O_all, np.tile(e, (m, 1)), Binv, 0.5)
                  for e in np.eye(L)], axis=2)
    for i in range(m):
        Hi = Hhat[i * L:(i + 1) * L, i * L:(i + 1) * L]
        cov_r = roots[i] @ (np.eye(L) - Hi) @ roots[i]
        assert_allclose(T[i] @ cov_r @ T[i].T, W[i], rtol=1e-8, atol=1e-12)


def test_multinomial_hc0_and_cluster_match_statsmodels_mnlogit(anes96):
    """statsmodels' MNLogit sandwich (its generic score_obs/hessian one; CR1 with its default
    correction G/(G−1)·(n−1)/(n−k)) on 400 anes96 rows, 7 classes, 36 contrasts."""
    sm = pytest.importorskip("statsmodels.api")
    X, y = anes96
    X, y = X[:400], y[:400]
    Xc = sm.add_constant(X, prepend=False)
    g = np.arange(len(y)) % 17
    est = softlogit.SoftmaxRegression(penalty=None, tol=1e-12, max_iter=500).fit(X, y)
    for cov_type, groups in [("HC0", None), ("cluster", g)]:
        kw = {"cov_kwds": {"groups": groups}} if groups is not None else {}
        ref = sm.MNLogit(y, Xc).fit(disp=0, method="newton", maxiter=100, cov_type=cov_type,
                                    **kw)
        res = est.inference(X, y, cov_type=cov_type, groups=groups)
        # statsmodels' params are (k, J−1), one column per outcome: ours is outcome-major
        assert_allclose(res.params, np.asarray(ref.params).ravel(order="F"), rtol=1e-7,
                        atol=1e-9)
        V = np.asarray(ref.cov_params())
        assert_allclose(res.cov_params(), V, rtol=1e-6, atol=1e-10 * np.abs(V).max())
