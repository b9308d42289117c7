"""Profile-likelihood intervals against a direct root-finding written here (SciPy's general
minimiser for the profile, brentq for the crossing), likelihood-ratio tests, and prediction
intervals against statsmodels' delta method and a numerical gradient."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import optimize, stats

import softlogit


def _loglik(beta, Xt, codes, K):
    B = np.vstack([np.zeros(Xt.shape[1]), beta.reshape(K - 1, -1)])
    Z = Xt @ B.T
    Z = Z - Z.max(axis=1, keepdims=True)
    logp = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return logp[np.arange(len(codes)), codes].sum()


def direct_profile_interval(X, codes, K, beta_hat, j, alpha=0.05):
    """max over the others with β_j = b by BFGS; root of 2(ℓ̂ − ℓ_prof) = χ² by brentq."""
    Xt = np.column_stack([X, np.ones(len(X))])
    top = _loglik(beta_hat, Xt, codes, K)
    crit = stats.chi2.ppf(1 - alpha, 1)
    others = np.delete(np.arange(beta_hat.size), j)

    def prof(b):
        def neg(v):
            beta = beta_hat.copy()
            beta[j] = b
            beta[others] = v
            return -_loglik(beta, Xt, codes, K)
        r = optimize.minimize(neg, beta_hat[others], method="BFGS", options={"gtol": 1e-10})
        return 2 * (top + r.fun) - crit

    se = 5 * np.sqrt(np.abs(beta_hat[j]) + 1)
    lo = optimize.brentq(prof, beta_hat[j] - 10 * se, beta_hat[j], xtol=1e-10)
    hi = optimize.brentq(prof, beta_hat[j], beta_hat[j] + 10 * se, xtol=1e-10)
    return lo, hi


def test_profile_intervals_match_direct_root_finding_binary(spector, spector_fit):
    X, y = spector
    res = spector_fit.inference(X, y)
    ci = res.conf_int(method="profile")
    for j in (1, 3):
        assert_allclose(ci[j], direct_profile_interval(X, y.astype(int), 2, res.params, j),
                        rtol=1e-5, atol=1e-6)
    wald = res.conf_int()
    assert not np.allclose(ci, wald, rtol=1e-2)  # small sample: they differ
    ors = res.odds_ratios(method="profile")
    assert_allclose(ors[:, 1:], np.exp(ci))


def test_profile_intervals_match_direct_root_finding_multinomial():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(70, 2))
    codes = (X[:, 0] + rng.normal(size=70) > 0).astype(int) + (rng.random(70) < 0.3)
    est = softlogit.LogisticRegression(penalty=None, tol=1e-12).fit(X, codes)
    res = est.inference(X, codes)
    ci = res.conf_int(method="profile", alpha=0.1)
    for j in (4,):
        assert_allclose(ci[j], direct_profile_interval(X, codes, 3, res.params, j, alpha=0.1),
                        rtol=1e-5, atol=1e-6)


def test_lr_test_nested_fits(spector):
    """The LR statistic of dropping tuce and psi equals 2(ℓ_full − ℓ_restricted), as
    statsmodels computes it from its own fits."""
    sm = pytest.importorskip("statsmodels.api")
    X, y = spector
    full = softlogit.LogisticRegression(penalty=None, tol=1e-12).fit(X, y).inference(X, y)
    small = softlogit.LogisticRegression(penalty=None, tol=1e-12).fit(X[:, :1], y) \
        .inference(X[:, :1], y)
    t = softlogit.lr_test(full, small)
    ll_f = sm.Logit(y, sm.add_constant(X)).fit(disp=0).llf
    ll_r = sm.Logit(y, sm.add_constant(X[:, :1])).fit(disp=0).llf
    assert t.df == 2
    assert t.statistic == pytest.approx(2 * (ll_f - ll_r), rel=1e-6)
    assert t.pvalue == pytest.approx(stats.chi2.sf(2 * (ll_f - ll_r), 2), rel=1e-5)
    with pytest.raises(ValueError, match="more parameters"):
        softlogit.lr_test(small, full)
    other = softlogit.LogisticRegression(penalty=None).fit(X[:20], y[:20]).inference(X[:20],
                                                                                    y[:20])
    with pytest.raises(ValueError, match="different data"):
        softlogit.lr_test(full, other)


def test_predict_interval_binary_matches_statsmodels(spector, spector_fit):
    """statsmodels' Logit get_prediction(which='mean') standard errors (delta method)."""
    sm = pytest.importorskip("statsmodels.api")
    X, y = spector
    ref = sm.Logit(y, sm.add_constant(X, prepend=False)).fit(disp=0, tol=1e-12)
    frame = ref.get_prediction(sm.add_constant(X, prepend=False)).summary_frame()
    pi = spector_fit.inference(X, y).predict_interval(X)
    assert pi.proba.shape == (32, 2)
    assert_allclose(pi.proba[:, 1], frame["predicted"], rtol=1e-6)
    assert_allclose(pi.se[:, 1], frame["se"], rtol=1e-5)
    assert_allclose(pi.se[:, 0], pi.se[:, 1])
    assert np.all((pi.lower <= pi.proba) & (pi.proba <= pi.upper))


def test_predict_interval_multinomial_matches_numerical_delta_method(anes96, anes_fit):
    X, y = anes96
    res = anes_fit.inference(X, y)
    rows = X[:4]
    pi = res.predict_interval(rows, alpha=0.1)
    Xt = np.column_stack([rows, np.ones(4)])

    def probs(beta):
        B = np.vstack([np.zeros(6), beta.reshape(6, 6)])
        Z = Xt @ B.T
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)

    J = np.stack([(probs(res.params + h) - probs(res.params - h)) / 2e-6
                  for h in np.eye(36) * 1e-6], axis=-1)  # (4, 7, 36)
    se = np.sqrt(np.einsum("ikn,nm,ikm->ik", J, res.cov_params(), J))
    assert_allclose(pi.proba, anes_fit.predict_proba(rows), rtol=1e-10)
    assert_allclose(pi.se, se, rtol=1e-5)
    assert_allclose(pi.upper, np.clip(pi.proba + stats.norm.ppf(0.95) * se, 0, 1), rtol=1e-5)


def test_margins_arguments_are_checked(spector, spector_fit):
    X, y = spector
    res = spector_fit.inference(X, y)
    with pytest.raises(ValueError, match="at must be one of"):
        res.marginal_effects(at="max")
    with pytest.raises(ValueError, match="method must be one of"):
        res.marginal_effects(method="dy")
    me = res.marginal_effects()
    assert me.conf_int().shape == (3, 1, 2)
