"""Firth's fit against firthmodels (a logistf port whose own tests check R's logistf) and an
independent NumPy penalised likelihood; separation detection by LP on crafted data.

R logistf's published sex2 and endometrial results are checked in test_logistf_published.py;
here the same estimator and intervals are checked against firthmodels on a generated
quasi-separated data set, and the multinomial form against the gradient of ½ log det I
computed here by finite differences."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import softlogit
from softlogit.estimators import SeparationWarning


@pytest.fixture(scope="module")
def quasi_separated():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + 0.5 * rng.normal(size=60) > 0).astype(int)
    X[:, 2] = (y == 1) * (rng.random(60) < 0.5)  # x2 = 1 only in class 1: quasi-separation
    return X, y


def test_firth_matches_firthmodels(quasi_separated):
    fm_mod = pytest.importorskip("firthmodels")
    X, y = quasi_separated
    est = softlogit.LogisticRegression(penalty="firth").fit(X, y)
    ref = fm_mod.FirthLogisticRegression().fit(X, y)
    assert_allclose(est.coef_[0], ref.coef_, rtol=1e-4, atol=1e-5)
    assert_allclose(est.intercept_[0], ref.intercept_, rtol=1e-4, atol=1e-5)
    res = est.inference(X, y)
    assert res.llf == pytest.approx(ref.loglik_, rel=1e-8)
    assert_allclose(res.conf_int(method="profile"), ref.conf_int(method="pl"), rtol=1e-5,
                    atol=1e-6)
    ref.lrt()
    from softlogit.inference import firth_drop_test

    assert_allclose([firth_drop_test(res, j).pvalue for j in range(4)], ref.lrt_pvalues_,
                    rtol=1e-4)
    # Wald SEs: sqrt(diag(I(β̂)⁻¹)) written out here
    Xt = np.column_stack([X, np.ones(60)])
    p = 1 / (1 + np.exp(-Xt @ res.params))
    I = Xt.T @ (Xt * (p * (1 - p))[:, None])
    assert_allclose(res.bse, np.sqrt(np.diag(np.linalg.inv(I))), rtol=1e-8)
    assert res.separation is None and res.penalty == "firth"
    assert np.all(np.isfinite(res.bse))


def _firth_objective(beta, Xt, codes, K):
    """ℓ + ½ log det I for baseline-category contrasts, dense NumPy."""
    q = Xt.shape[1]
    B = np.vstack([np.zeros(q), beta.reshape(K - 1, q)])
    Z = Xt @ B.T
    Z = Z - Z.max(axis=1, keepdims=True)
    logp = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    O = np.exp(logp)[:, 1:]
    ll = logp[np.arange(len(codes)), codes].sum()
    I = sum(np.kron(np.diag(o) - np.outer(o, o), np.outer(x, x)) for o, x in zip(O, Xt))
    return ll + 0.5 * np.linalg.slogdet(I)[1]


def test_multinomial_firth_maximises_the_jeffreys_penalised_likelihood():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 2))
    codes = np.where(X[:, 0] > 0.8, 2, (X[:, 1] + rng.normal(size=40) > 0).astype(int))
    est = softlogit.LogisticRegression(penalty="firth").fit(X, codes)
    assert est.fit_report_.converged and est.fit_report_.solver == "firth"
    res = est.inference(X, codes)
    Xt = np.column_stack([X, np.ones(40)])
    f = lambda b: _firth_objective(b, Xt, codes, 3)  # noqa: E731
    grad = np.array([(f(res.params + h) - f(res.params - h)) / 2e-6
                     for h in np.eye(res.params.size) * 1e-6])
    assert np.max(np.abs(grad)) < 1e-5
    assert res.llf == pytest.approx(f(res.params), rel=1e-10)
    # reference invariance of the Jeffreys prior: another base class, same probabilities
    soft = softlogit.SoftmaxRegression(penalty="firth").fit(X, codes)
    assert_allclose(soft.predict_proba(X), est.predict_proba(X), atol=1e-8)


def test_two_class_softmax_firth_is_binary_firth(quasi_separated):
    X, y = quasi_separated
    a = softlogit.LogisticRegression(penalty="firth").fit(X, y)
    b = softlogit.SoftmaxRegression(penalty="firth").fit(X, y)
    assert_allclose(b.coef_[1] - b.coef_[0], a.coef_[0], atol=1e-8)
    assert_allclose(b.predict_proba(X), a.predict_proba(X), atol=1e-10)


def test_firth_is_finite_on_completely_separated_data():
    X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
    y = np.array([0, 0, 0, 1, 1, 1])
    est = softlogit.LogisticRegression(penalty="firth").fit(X, y)
    res = est.inference(X, y)
    assert np.all(np.isfinite(res.params)) and np.all(np.isfinite(res.bse))
    lo, hi = res.conf_int(method="profile")[0]
    assert 0 < lo < res.params[0] < hi < np.inf


def test_quasi_separation_is_reported_with_the_feature(quasi_separated):
    X, y = quasi_separated
    est = softlogit.LogisticRegression(penalty=None, max_iter=300).fit(X, y)
    with pytest.warns(SeparationWarning, match=r"quasi-completely separated.*x2 → \+inf"):
        res = est.inference(X, y)
    assert not res.separation.complete
    assert np.isnan(res.bse[2]) and np.all(np.isfinite(res.bse[[0, 1, 3]]))
    assert "penalty='firth'" in res.separation.message()
    assert "separated" in res.summary()
    rep = softlogit.detect_separation(X, y, feature_names=["a", "b", "dummy"])
    assert rep.offending() == ["dummy → +inf"]


def test_complete_separation_binary_and_multinomial():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0], [4.0, 1.0], [5.0, 0.0]])
    rep = softlogit.detect_separation(X, [0, 0, 0, 1, 1, 1])
    assert rep.complete and rep.direction[0] == 1
    rep3 = softlogit.detect_separation(X, ["a", "a", "b", "b", "c", "c"])
    assert rep3.complete and rep3.infinite[0]
    assert rep3.names[0] == "b:x0"
    est = softlogit.LogisticRegression(penalty=None)
    with pytest.warns(SeparationWarning):
        est.fit(X, [0, 0, 0, 1, 1, 1])
    with pytest.warns(SeparationWarning, match="completely separated"):
        res = est.inference(X, [0, 0, 0, 1, 1, 1])
    assert np.isnan(res.bse[0])


def test_overlapping_data_are_not_separated(anes96, spector):
    X, y = spector
    assert softlogit.detect_separation(X, y) is None
    X, y = anes96
    assert softlogit.detect_separation(X[:300], y[:300]) is None


def test_quasi_separation_in_one_class_of_a_multinomial():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(80, 2))
    codes = rng.integers(0, 3, size=80)
    d = ((codes == 2) & (rng.random(80) < 0.5)).astype(float)  # d = 1 only in class 2
    X = np.column_stack([X, d])
    rep = softlogit.detect_separation(X, codes)
    assert rep is not None and not rep.complete
    # x2 = 1 only in class 2: 2:x2 → +inf; 1:x2 may go either way (class 1 never has x2 = 1
    # and class 2 dominates it there), so it is not determined either
    assert rep.offending() == ["1:x2 → ±inf", "2:x2 → +inf"]
