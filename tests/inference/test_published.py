"""softlogit's inference against published Stata 11 numbers (shipped by statsmodels in
statsmodels/discrete/tests/results/), on the spector and anes96 data sets."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

stata = pytest.importorskip("statsmodels.discrete.tests.results.results_discrete")
stata_glm = pytest.importorskip(
    "statsmodels.discrete.tests.results.results_glm_logit_constrained")

import softlogit  # noqa: E402


def test_spector_logit_matches_stata(spector_fit, spector):
    """Source: Stata 11 `logit grade gpa tuce psi` (statsmodels results_discrete.Spector)."""
    X, y = spector
    st = stata.Spector.logit
    res = spector_fit.inference(X, y)
    assert res.names == ["x0", "x1", "x2", "intercept"]
    assert_allclose(res.params, st.params, rtol=1e-6)
    assert_allclose(res.bse, st.bse, rtol=1e-6)
    assert_allclose(res.zvalues, st.z, rtol=1e-6)
    assert_allclose(res.pvalues, st.pvalues, rtol=1e-5)
    assert_allclose(res.conf_int(), st.conf_int, rtol=1e-6, atol=1e-6)
    assert_allclose(res.cov_params(), st.cov_params, rtol=1e-5)
    assert_allclose([res.llf, res.llnull, res.llr, res.prsquared, res.aic, res.bic],
                    [st.llf, st.llnull, st.llr, st.prsquared, st.aic, st.bic], rtol=1e-7)
    assert_allclose(res.llr_pvalue, st.llr_pvalue, rtol=1e-5)
    assert (res.df_model, res.df_resid, res.nobs) == (st.df_model, st.df_resid, 32)
    text = res.summary()
    assert "x2" in text and "2.3787" in text and "pseudo-R²" in text


def test_spector_robust_matches_stata_vce_robust(spector_fit, spector):
    """Source: Stata `glm grade gpa tuce psi, family(binomial) vce(robust)` (statsmodels
    results_glm_logit_constrained.results_noconstraint_robust): Stata's robust covariance is
    HC0 · n/(n − 1)."""
    X, y = spector
    st = stata_glm.results_noconstraint_robust
    res = spector_fit.inference(X, y, cov_type="HC0")
    n = 32
    assert_allclose(res.bse * np.sqrt(n / (n - 1)), st.params_table[:, 1], rtol=1e-6)
    assert_allclose(res.cov_params() * n / (n - 1), st.cov, rtol=1e-5, atol=1e-10)


@pytest.mark.parametrize("at, suffix", [("overall", ""), ("mean", "mean"),
                                        ("median", "median"), ("zero", "zero")])
@pytest.mark.parametrize("method", ["dydx", "eyex", "dyex", "eydx"])
def test_spector_margins_match_stata(spector_fit, spector, at, suffix, method):
    """Source: Stata 11 `margins, dydx(*)` / eyex / dyex / eydx at overall, mean, median,
    zero (statsmodels results_discrete.Spector margeff_nodummy_*)."""
    X, y = spector
    st = stata.Spector.logit
    me = spector_fit.inference(X, y).marginal_effects(at=at, method=method)
    want = np.asarray(getattr(st, f"margeff_nodummy_{method}{suffix}"))
    want_se = np.asarray(getattr(st, f"margeff_nodummy_{method}{suffix}_se"))
    assert me.effects.shape == (3, 1)
    assert_allclose(me.effects[:, 0], want, rtol=1e-5, atol=1e-7)
    assert_allclose(me.bse[:, 0], want_se, rtol=2e-5, atol=1e-7)


@pytest.mark.parametrize("cls", ["LogisticRegression", "SoftmaxRegression"])
def test_anes96_mnlogit_matches_stata(anes96, anes_fit, cls):
    """Source: Stata 11 `mlogit PID logpopul selfLR age educ income, baseoutcome(0)`, checked
    there against R nnet (statsmodels results_discrete.Anes.mnlogit_basezero)."""
    X, y = anes96
    st = stata.Anes.mnlogit_basezero
    est = anes_fit if cls == "SoftmaxRegression" else softlogit.LogisticRegression(
        penalty=None, tol=1e-12, max_iter=500).fit(X, y)
    res = est.inference(X, y)
    assert res.reference == 0.0
    # Stata's tables are (variables × outcomes 1..6); ours: per outcome, variables then _cons
    as_table = lambda v: np.asarray(v).reshape(6, 6).T  # noqa: E731
    assert_allclose(as_table(res.params), st.params, rtol=1e-5, atol=1e-7)
    assert_allclose(as_table(res.bse), st.bse, rtol=1e-6)
    assert_allclose(as_table(res.zvalues), st.z, rtol=1e-5, atol=1e-6)
    assert_allclose(as_table(res.pvalues), st.pvalues, rtol=1e-4, atol=1e-10)
    ci = res.conf_int().reshape(6, 6, 2)
    assert_allclose(ci, st.conf_int, rtol=1e-5, atol=1e-6)
    assert_allclose([res.llf, res.llnull, res.llr, res.prsquared, res.aic, res.bic],
                    [st.llf, st.llnull, st.llr, st.prsquared, st.aic, st.bic], rtol=1e-7)
    assert (res.df_model, res.df_resid) == (st.df_model, st.df_resid)
    assert res.names[0] == "1.0:x0" and res.names[5] == "1.0:intercept"


def test_anes96_margins_match_stata(anes96, anes_fit):
    """Source: Stata 11 `margins, dydx(*) predict(outcome(#))`, overall and atmeans
    (statsmodels results_discrete.Anes.mnlogit_basezero margeff_dydx_*)."""
    X, y = anes96
    st = stata.Anes.mnlogit_basezero
    res = anes_fit.inference(X, y)
    me = res.marginal_effects()
    assert me.effects.shape == (5, 7)
    assert_allclose(me.effects, st.margeff_dydx_overall, rtol=1e-5, atol=1e-7)
    assert_allclose(me.bse, st.margeff_dydx_overall_se, rtol=1e-5, atol=1e-8)
    mean = res.marginal_effects(at="mean")
    assert_allclose(mean.effects, st.margeff_dydx_mean, rtol=1e-5, atol=1e-7)
    assert_allclose(mean.bse, st.margeff_dydx_mean_se, rtol=1e-5, atol=1e-8)


def test_reference_class_is_an_exact_reparameterisation(anes96, anes_fit):
    """Contrasts against class 3 are differences of the contrasts against class 0, with the
    covariance transformed by the same linear map; llf is unchanged."""
    X, y = anes96
    r0 = anes_fit.inference(X, y)
    r3 = anes_fit.inference(X, y, reference=3.0)
    q = 6
    B0 = np.vstack([np.zeros(q), r0.params.reshape(6, q)])  # classes 0..6
    want = np.delete(B0 - B0[3], 3, axis=0).ravel()
    assert_allclose(r3.params, want, atol=1e-9)
    T = np.zeros((36, 36))
    A = np.vstack([np.zeros((q, 36)), np.eye(36)]).reshape(7, q, 36)  # class k's β from r0
    rows = [A[k] - A[3] for k in range(7) if k != 3]
    T = np.vstack(rows)
    assert_allclose(r3.cov_params(), T @ r0.cov_params() @ T.T, rtol=1e-7, atol=1e-12)
    assert r3.llf == pytest.approx(r0.llf, rel=1e-12)
    with pytest.raises(ValueError, match="not one of the classes"):
        anes_fit.inference(X, y, reference=9)


def test_names_come_from_feature_names_in(spector):
    """A DataFrame's columns name the parameters (statsmodels' spector column names)."""
    pd = pytest.importorskip("pandas")
    X, y = spector
    frame = pd.DataFrame(X, columns=["GPA", "TUCE", "PSI"])
    res = softlogit.LogisticRegression(penalty=None).fit(frame, y).inference(frame, y)
    assert res.names == ["GPA", "TUCE", "PSI", "intercept"]
    assert "MNLogit" not in res.summary() and "GPA" in res.summary()
