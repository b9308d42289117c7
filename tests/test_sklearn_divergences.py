"""The divergences from scikit-learn's LogisticRegression that its own test_logistic.py found
(issue 13), each checked against scikit-learn's behaviour on the same data."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.linear_model as sklm
from sklearn.datasets import load_iris, make_classification

import softlogit


def test_sparsify_and_densify_keep_predictions():
    X, y = make_classification(n_samples=80, n_features=12, n_informative=3, random_state=0)
    clf = softlogit.LogisticRegression(penalty="l1", C=0.05).fit(X, y)
    dense = clf.predict_proba(X)
    assert sp.issparse(clf.sparsify().coef_)
    np.testing.assert_array_equal(clf.predict_proba(X), dense)
    np.testing.assert_array_equal(clf.predict_proba(sp.csr_matrix(X)), dense)
    assert isinstance(clf.densify().coef_, np.ndarray)
    np.testing.assert_array_equal(clf.predict_proba(X), dense)


def test_penalty_none_with_a_non_default_C_warns_as_scikit_learn_does():
    X, y = make_classification(n_samples=40, n_features=3, n_redundant=0, random_state=0)
    with pytest.warns(UserWarning, match="Setting penalty=None will ignore the C"):
        softlogit.LogisticRegression(penalty=None, C=0.5).fit(X, y)


@pytest.mark.parametrize("l1_ratio, zeros", [(1.0, True), (0.0, False)])
def test_l1_ratio_alone_chooses_the_penalty_as_in_scikit_learn_1_8(l1_ratio, zeros):
    X, y = make_classification(n_samples=100, n_features=10, n_informative=2, random_state=1)
    ours = softlogit.LogisticRegression(l1_ratio=l1_ratio, C=0.1, tol=1e-10,
                                        max_iter=1000).fit(X, y)
    theirs = sklm.LogisticRegression(l1_ratio=l1_ratio, C=0.1, solver="saga", tol=1e-12,
                                     max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-5)
    assert bool(np.any(ours.coef_ == 0)) == zeros


def test_unpenalised_multiclass_lbfgs_keeps_the_sum_zero_convention():
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = [softlogit.LogisticRegression(penalty=None, solver=s, tol=1e-8,
                                             max_iter=2000).fit(X, y) for s in ("lbfgs", "newton")]
    for clf in fits:
        assert np.max(np.abs(clf.coef_.sum(axis=0))) < 1e-13
        assert abs(clf.intercept_.sum()) < 1e-13


def test_l1_on_csr_gives_exact_zeros_like_dense():
    # scikit-learn's test_logreg_l1: duplicated constant columns, no intercept
    rng = np.random.RandomState(0)
    X, y = make_classification(n_samples=100, n_features=20, random_state=0)
    X = np.concatenate((X, rng.normal(size=(100, 3)), np.ones((100, 2))), axis=1)
    params = dict(l1_ratio=1, C=1.0, fit_intercept=False, max_iter=10000, tol=1e-10)
    dense = softlogit.LogisticRegression(**params).fit(X, y)
    csr = softlogit.LogisticRegression(**params).fit(sp.csr_matrix(X), y)
    np.testing.assert_array_equal(dense.coef_ == 0, csr.coef_ == 0)
    np.testing.assert_allclose(csr.coef_, dense.coef_, rtol=1e-9, atol=0)


def test_check_gradient_takes_the_data_positionally():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    assert softlogit.check_gradient(X, rng.integers(0, 3, 40)).passed(1e-6)
    assert softlogit.check_gradient(X, np.where(rng.random(40) > 0.5, "a", "b")).passed(1e-6)
