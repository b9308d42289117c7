"""Bad input is refused with a clear ValueError; failed fits warn with their real cause."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn.exceptions
from sklearn import datasets
from sklearn.preprocessing import StandardScaler

from softlogit import LogisticRegression, SoftmaxRegression
from softlogit.estimators import ConvergenceWarning, SeparationWarning


@pytest.fixture(scope="module")
def data():
    X, y = datasets.make_classification(n_samples=200, n_features=5, n_informative=3,
                                        n_redundant=0, n_classes=3, flip_y=0.2,
                                        random_state=0)
    return StandardScaler().fit_transform(X), y


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad,word", [(np.nan, "NaN"), (np.inf, "infinity")])
@pytest.mark.parametrize("cls", [LogisticRegression, SoftmaxRegression])
def test_non_finite_features_are_refused(data, bad, word, cls):
    X, y = data
    Xbad = X.copy()
    Xbad[3, 1] = bad
    with pytest.raises(ValueError, match=word):
        cls().fit(Xbad, y)
    est = cls().fit(X, y)
    with pytest.raises(ValueError, match=word):
        est.predict_proba(Xbad)


def test_one_class_is_refused(data):
    X, _ = data
    with pytest.raises(ValueError, match=r"only 1 class \(\['a'\]\).*at least 2 classes"):
        LogisticRegression().fit(X, np.full(len(X), "a"))


def test_one_class_with_positive_weight_is_refused(data):
    X, y = data
    with pytest.raises(ValueError, match="only 1 class .* positive weight"):
        LogisticRegression().fit(X, y, sample_weight=(y == 2).astype(float))


def test_length_mismatch_is_refused(data):
    X, y = data
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[200, 199\]"):
        LogisticRegression().fit(X, y[:-1])
    with pytest.raises(ValueError, match="sample_weight.shape"):
        LogisticRegression().fit(X, y, sample_weight=np.ones(10))


def test_wrong_number_of_features_at_predict(data):
    X, y = data
    est = SoftmaxRegression().fit(X, y)
    for method in ("predict", "predict_proba", "predict_log_proba", "decision_function"):
        with pytest.raises(ValueError, match="has 4 features, but SoftmaxRegression is "
                                             "expecting 5 features"):
            getattr(est, method)(X[:, :4])


def test_unfitted_estimator_refuses_to_predict(data):
    with pytest.raises(sklearn.exceptions.NotFittedError):
        LogisticRegression().predict(data[0])


def test_partial_fit_needs_classes_on_the_first_call(data):
    X, y = data
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        LogisticRegression().partial_fit(X, y)


def test_partial_fit_refuses_unseen_labels(data):
    X, y = data
    est = LogisticRegression(random_state=0).partial_fit(X[y < 2], y[y < 2], classes=[0, 1])
    with pytest.raises(ValueError, match=r"label\(s\) not in classes=\[0, 1\]: 2"):
        est.partial_fit(X, y)
    with pytest.raises(ValueError, match="differs from the classes of the first"):
        est.partial_fit(X, y, classes=[0, 1, 2])


def test_partial_fit_refuses_balanced_class_weight(data):
    X, y = data
    with pytest.raises(ValueError, match="'balanced' needs the whole y"):
        LogisticRegression(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])


@pytest.mark.parametrize("params,match", [
    ({"penalty": "l3"}, "penalty must be one of"),
    ({"C": -1.0}, "C must be a finite number > 0"),
    ({"C": np.nan}, "C must be a finite number"),
    ({"tol": 0}, "tol must be"),
    ({"max_iter": 2.5}, "max_iter must be a non-negative integer"),
    ({"penalty": "elasticnet"}, "needs l1_ratio"),
    ({"penalty": "elasticnet", "l1_ratio": 1.5}, r"l1_ratio must be a finite number >= 0.0 "
                                                 r"and <= 1.0"),
    ({"class_weight": "equal"}, "class_weight must be"),
    ({"solver": "magic"}, "unknown solver 'magic'"),
    ({"solver": "gd", "penalty": "l1"}, "solver 'gd' does not support penalty='l1'"),
    ({"callback": 3}, "callback must be callable"),
])
def test_bad_parameters_are_refused_at_fit(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        LogisticRegression(**params).fit(X, y)


def test_bad_soft_targets_are_refused(data):
    X, _ = data
    Y = np.full((len(X), 3), 0.5)
    with pytest.raises(ValueError, match="rows must sum to 1"):
        SoftmaxRegression().fit(X, Y)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        LogisticRegression().fit(X, np.linspace(0, 1, len(X)))


# --- convergence warnings name the cause --------------------------------------------------------


def test_warnings_are_sklearn_convergence_warnings():
    assert issubclass(ConvergenceWarning, sklearn.exceptions.ConvergenceWarning)
    assert issubclass(SeparationWarning, sklearn.exceptions.ConvergenceWarning)


@pytest.mark.parametrize("solver", ["newton", "gd", "lbfgs"])
def test_max_iter_zero_says_no_iteration_was_allowed(data, solver):
    X, y = data
    with pytest.warns(ConvergenceWarning) as record:
        LogisticRegression(solver=solver, max_iter=0).fit(X, y)
    msg = " ".join(str(w.message) for w in record)
    assert "No iteration was allowed (max_iter=0)" in msg
    assert "precision limit" not in msg and "still falling" not in msg


def test_max_iter_warning_says_how_fast_the_objective_still_falls(data):
    X, y = data
    with pytest.warns(ConvergenceWarning, match="maximum number of iterations") as record:
        est = LogisticRegression(solver="gd", max_iter=3, tol=1e-8).fit(X, y)
    msg = str(record[0].message)
    assert "still falling at max_iter=3" in msg and "per iteration" in msg
    assert "solver='newton'" in msg and "not scaled" not in msg
    hist = est.fit_report_.objective_history
    assert f"{(hist[-4] - hist[-1]) / 3:.3g}" in msg


def test_unscaled_data_warning_names_the_extreme_features(data):
    X, y = data
    frame = pd.DataFrame(X * [1.0, 1.0, 1e4, 1.0, 1e-3],
                         columns=["a", "b", "income", "d", "ratio"])
    with pytest.warns(ConvergenceWarning) as record:
        LogisticRegression(solver="gd", max_iter=20, tol=1e-8).fit(frame, y)
    msg = str(record[0].message)
    assert "not scaled" in msg and "StandardScaler" in msg
    assert msg.index("'income' (std 1e+04)") < msg.index("'ratio' (std 0.001)")


def test_uncentred_data_warning_names_the_offset_features(data):
    """With an intercept, a feature whose mean dwarfs its spread is nearly collinear with the
    column of ones: the warning names it by mean and std, not only unequal spreads."""
    X, y = data
    frame = pd.DataFrame(X + [0.0, 0.0, 500.0, 0.0, 0.0],
                         columns=["a", "b", "year", "d", "e"])
    with pytest.warns(ConvergenceWarning) as record:
        LogisticRegression(solver="gd", max_iter=5, tol=1e-8).fit(frame, y)
    msg = str(record[0].message)
    assert "far from centred" in msg and "'year' (mean 5" in msg and "StandardScaler" in msg
    assert "largest standard deviations" not in msg  # the spreads themselves are equal


def test_precision_limit_warning(data):
    X, y = data
    with pytest.warns(ConvergenceWarning, match="precision limit of float32") as record:
        LogisticRegression(solver="gd", tol=1e-12, max_iter=10_000).fit(
            X.astype(np.float32), y)
    msg = str(record[0].message)
    assert "No step decreased the objective" in msg and "still falling" not in msg


# --- separation ---------------------------------------------------------------------------------


def separable(seed=0):
    """Two classes split by column 'gap' alone; the other columns are noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(80, 4))
    y = (X[:, 2] > 0).astype(int)
    X[:, 2] += np.where(y == 1, 0.5, -0.5)
    return pd.DataFrame(X, columns=["n0", "n1", "gap", "n3"]), np.array(["neg", "pos"])[y]


def test_separable_data_without_penalty_warns_and_stops_finite():
    X, y = separable()
    with pytest.warns(SeparationWarning) as record:
        est = LogisticRegression(penalty=None).fit(X, y)
    msg = str(record[0].message)
    assert "perfectly separable" in msg
    assert "Feature 'gap' separates the classes on its own" in msg
    assert "every 'neg' sample lies below every 'pos' sample" in msg
    assert np.isfinite(est.coef_).all() and est.score(X, y) == 1.0
    report = est.fit_report_
    assert report.info["separable"] and report.info["separation_C"] == 1e4
    assert report.converged and "separable" in report.reason
    # the coefficient of the separating feature dominates
    assert np.argmax(np.abs(est.coef_[0])) == 2


@pytest.mark.parametrize("cls", [LogisticRegression, SoftmaxRegression])
def test_separable_refit_is_the_unique_minimiser_whatever_the_solver(cls):
    """The returned fit is the minimiser of the C=1e4 L2 objective, not a point where a
    loose tol happened to stop on that flat objective: every solver returns it."""
    X, y = separable()
    direct = cls(C=1e4, solver="newton", tol=1e-12, max_iter=200).fit(X, y)
    for solver in ("lbfgs", "newton", "gd", "newton-cd"):
        with pytest.warns(SeparationWarning):
            est = cls(penalty=None, solver=solver, max_iter=500).fit(X, y)
        assert est.fit_report_.info["separable"]
        np.testing.assert_allclose(est.coef_, direct.coef_, rtol=1e-5, err_msg=solver)
        np.testing.assert_allclose(est.intercept_ - est.intercept_.mean(),
                                   direct.intercept_ - direct.intercept_.mean(),
                                   rtol=1e-5, atol=1e-6, err_msg=solver)


def test_separable_multiclass_names_the_weightiest_features():
    rng = np.random.default_rng(1)
    centres = np.array([[0, 0, 8, 0], [0, 0, 0, 8], [0, 0, -8, -8]], dtype=float)
    y = np.repeat([0, 1, 2], 30)
    X = centres[y] + rng.normal(size=(90, 4))
    with pytest.warns(SeparationWarning, match=r"largest \|coefficient\| x std\) are x[23], "
                                               r"x[23]"):
        est = SoftmaxRegression(penalty=None).fit(X, y)
    assert est.score(X, y) == 1.0 and np.isfinite(est.coef_).all()


def test_no_separation_warning_for_overlapping_classes(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeparationWarning)
        est = LogisticRegression(penalty=None).fit(X, y)
    assert "separable" not in est.fit_report_.info


def test_partial_fit_exists_only_for_smooth_penalties():
    assert hasattr(LogisticRegression(), "partial_fit")
    assert hasattr(SoftmaxRegression(penalty=None), "partial_fit")
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'") as info:
        LogisticRegression(penalty="l1").partial_fit
    assert "supports penalty='l2' or None, not penalty='l1'" in str(info.value.__cause__)


def test_l1_max_iter_warning_suggests_no_smooth_solver(data):
    X, y = data
    with pytest.warns(ConvergenceWarning, match="still falling at max_iter=1") as record:
        LogisticRegression(penalty="l1", max_iter=1, tol=1e-10).fit(X, y)
    assert "solver='newton'" not in str(record[0].message)


def test_separation_on_sparse_data_names_the_feature_by_index():
    X, y = separable(2)
    with pytest.warns(SeparationWarning, match="Feature x2 separates the classes on its own"):
        est = LogisticRegression(penalty=None).fit(sp.csr_matrix(X.to_numpy()), y)
    assert est.score(sp.csr_matrix(X.to_numpy()), y) == 1.0
