"""Invariants of the estimators: weights, class weights, warm starts, partial_fit, labels,
log-probabilities, dtypes, soft targets, and the rebuild contract of the model file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn import datasets
from sklearn.datasets import make_classification
from sklearn.base import clone
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from softlogit import LinearObjective, LogisticRegression, SoftmaxRegression
from softlogit.estimators import SeparationWarning
from softlogit.solvers import IterationState, SolverResult

ESTIMATORS = [LogisticRegression, SoftmaxRegression]
TIGHT = {"tol": 1e-10, "max_iter": 500}


def noisy(n_classes=2, n=240, p=6, seed=0):
    """Standardised, non-separable classification data."""
    X, y = datasets.make_classification(n_samples=n, n_features=p, n_informative=4,
                                        n_redundant=0, n_classes=n_classes, flip_y=0.15,
                                        random_state=seed)
    return StandardScaler().fit_transform(X), y


def full_objective(est, X, y, sample_weight=None):
    """Our objective of ``est``'s problem, to evaluate any coefficients on it."""
    K = len(est.classes_)
    binary = est.coef_.shape[0] == 1
    codes = np.searchsorted(est.classes_, y)
    return LinearObjective(X, codes.astype(float) if binary else codes,
                           loss="binary" if binary else "multinomial", n_classes=K,
                           sample_weight=sample_weight, penalty=est.penalty, C=est.C,
                           l1_ratio=est.l1_ratio, fit_intercept=est.fit_intercept)


# --- weights ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("sparse", [False, True])
def test_sample_weights_equal_repeated_rows(cls, n_classes, sparse):
    X, y = noisy(n_classes, n=90)
    sw = np.random.default_rng(0).integers(0, 4, size=len(y))
    Xw = sp.csr_matrix(X) if sparse else X
    Xr = X.repeat(sw, axis=0)
    Xr = sp.csr_matrix(Xr) if sparse else Xr
    weighted = cls(**TIGHT).fit(Xw, y, sample_weight=sw)
    repeated = cls(**TIGHT).fit(Xr, y.repeat(sw))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, atol=1e-7)
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), atol=1e-8)


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_balanced_class_weight_equals_implied_sample_weights(cls, n_classes):
    X, y = noisy(n_classes)
    keep = (y != 0) | (np.arange(len(y)) % 3 == 0)  # make class 0 rare
    X, y = X[keep], y[keep]
    balanced = cls(class_weight="balanced", **TIGHT).fit(X, y)
    implied = cls(**TIGHT).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    unweighted = cls(**TIGHT).fit(X, y)
    np.testing.assert_allclose(balanced.coef_, implied.coef_, atol=1e-8)
    assert np.abs(balanced.coef_ - unweighted.coef_).max() > 1e-3  # the weights mattered


def test_class_weight_dict_equals_sample_weights():
    X, y = noisy(3)
    weights = {0: 2.0, 1: 0.5}
    by_class = LogisticRegression(class_weight=weights, **TIGHT).fit(X, y)
    sw = np.array([weights.get(c, 1.0) for c in y])
    by_sample = LogisticRegression(**TIGHT).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(by_class.coef_, by_sample.coef_, atol=1e-8)


# --- warm start, callback, report ---------------------------------------------------------------


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("solver", ["auto", "lbfgs", "gd"])
def test_warm_start_from_the_optimum_takes_at_most_one_iteration(cls, solver):
    X, y = noisy(3)
    est = cls(solver=solver, tol=1e-6, max_iter=2000).fit(X, y)
    assert est.n_iter_[0] > 1
    coef = est.coef_.copy()
    est.set_params(warm_start=True).fit(X, y)
    assert est.n_iter_.shape == (1,) and est.n_iter_[0] <= 1
    np.testing.assert_allclose(est.coef_, coef, atol=1e-6)


def test_without_warm_start_refit_starts_cold():
    X, y = noisy(2)
    est = LogisticRegression(tol=1e-8).fit(X, y)
    first = est.n_iter_[0]
    assert est.fit(X, y).n_iter_[0] == first


def test_callback_sees_every_iteration_and_can_stop_the_fit():
    X, y = noisy(3)
    seen = []
    LogisticRegression(solver="lbfgs", callback=seen.append, tol=1e-8).fit(X, y)
    assert seen and all(isinstance(s, IterationState) for s in seen)
    assert [s.iteration for s in seen] == list(range(1, len(seen) + 1))
    est = LogisticRegression(solver="lbfgs", callback=lambda state: True).fit(X, y)
    assert est.n_iter_[0] == 1 and "callback" in est.fit_report_.reason


def test_fit_report_is_the_solver_result():
    X, y = noisy(2)
    est = LogisticRegression().fit(X, y)
    report = est.fit_report_
    assert isinstance(report, SolverResult) and report.converged
    assert report.n_iter == est.n_iter_[0]
    assert report.info["auto_choice"] == report.solver and report.info["auto_reason"]
    d = report.to_dict()
    assert d["objective"] == pytest.approx(report.objective_history[-1])
    obj = full_objective(est, X, y)
    assert obj.objective_value(obj.pack(est.coef_, est.intercept_)) == pytest.approx(
        report.objective, rel=1e-10)


# --- shapes, labels, soft targets ---------------------------------------------------------------


@pytest.mark.parametrize("cls,n_classes,rows", [(LogisticRegression, 2, 1),
                                                (LogisticRegression, 3, 3),
                                                (SoftmaxRegression, 2, 2),
                                                (SoftmaxRegression, 4, 4)])
def test_shapes_follow_sklearn(cls, n_classes, rows):
    X, y = noisy(n_classes)
    est = cls().fit(X, y)
    m, p = X.shape
    assert est.coef_.shape == (rows, p) and est.intercept_.shape == (rows,)
    assert est.n_features_in_ == p and est.n_iter_.dtype.kind == "i"
    assert est.predict_proba(X).shape == (m, n_classes)
    assert est.decision_function(X).shape == ((m,) if n_classes == 2 else (m, n_classes))
    np.testing.assert_allclose(est.predict_proba(X).sum(axis=1), 1.0)
    # predict agrees with the most probable class and with the sign / argmax of the decision
    np.testing.assert_array_equal(est.predict(X),
                                  est.classes_[est.predict_proba(X).argmax(axis=1)])


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("labels", [["no", "yes"], ["cat", "dog", "emu"], [-3, 7, 10]])
def test_labels_round_trip(cls, labels):
    X, codes = noisy(len(labels))
    y = np.array(labels, dtype=object)[codes] if isinstance(labels[0], str) else \
        np.array(labels)[codes]
    est = cls().fit(X, y)
    by_code = cls().fit(X, codes)
    assert list(est.classes_) == sorted(labels)
    pred = est.predict(X)
    assert set(pred) <= set(labels)
    np.testing.assert_array_equal(pred, np.asarray(labels)[by_code.predict(X)])
    assert est.score(X, y) == pytest.approx(by_code.score(X, codes))


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_one_hot_soft_targets_equal_labels(cls):
    X, y = noisy(3)
    Y = np.eye(3)[y]
    soft = cls(**TIGHT).fit(X, Y)
    hard = cls(**TIGHT).fit(X, y)
    np.testing.assert_array_equal(soft.classes_, np.arange(3))
    np.testing.assert_allclose(soft.coef_, hard.coef_, atol=1e-8)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_soft_targets_equal_weighted_copies(cls):
    """A row with target probabilities q is one copy per class k weighted by q_k."""
    X, y = noisy(2, n=120)
    q = np.random.default_rng(1).uniform(size=len(y))
    Y = np.column_stack([1 - q, q])
    soft = cls(**TIGHT).fit(X, Y)
    copies = cls(**TIGHT).fit(np.vstack([X, X]), np.r_[np.zeros(len(y)), np.ones(len(y))],
                              sample_weight=np.r_[1 - q, q])
    np.testing.assert_allclose(soft.coef_, copies.coef_, atol=1e-8)
    np.testing.assert_allclose(soft.predict_proba(X), copies.predict_proba(X), atol=1e-9)


# --- log-probabilities, dtypes, sparse, intercept ----------------------------------------------


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_log_proba_is_finite_and_the_log_of_proba(cls, n_classes):
    X, y = noisy(n_classes)
    est = cls().fit(X, y)
    far = X * 1e4  # logits of order 1e4: some probabilities underflow to 0
    proba, log_proba = est.predict_proba(far), est.predict_log_proba(far)
    assert np.isfinite(log_proba).all()
    assert (proba == 0).any() and (log_proba < -745).any()
    representable = proba > 1e-300
    np.testing.assert_allclose(log_proba[representable], np.log(proba[representable]),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(est.predict_log_proba(X), np.log(est.predict_proba(X)),
                               rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_float32_stays_float32(cls):
    X, y = noisy(3)
    est32 = cls().fit(X.astype(np.float32), y)
    est64 = cls().fit(X, y)
    assert est32.coef_.dtype == np.float32 and est32.intercept_.dtype == np.float32
    assert est32.predict_proba(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(est32.coef_, est64.coef_, atol=2e-3)


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_equals_dense(cls, fmt):
    X, y = noisy(3)
    X[np.abs(X) < 0.5] = 0.0
    dense = cls(**TIGHT).fit(X, y)
    sparse = cls(**TIGHT).fit(sp.csr_matrix(X).asformat(fmt), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, atol=1e-8)
    np.testing.assert_allclose(sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X),
                               atol=1e-10)


def test_no_intercept():
    X, y = noisy(2)
    est = LogisticRegression(fit_intercept=False).fit(X, y)
    np.testing.assert_array_equal(est.intercept_, [0.0])
    np.testing.assert_allclose(est.decision_function(X), X @ est.coef_[0])


def test_infinite_C_means_no_penalty():
    X, y = noisy(3)
    np.testing.assert_allclose(LogisticRegression(C=np.inf, **TIGHT).fit(X, y).coef_,
                               LogisticRegression(penalty=None, **TIGHT).fit(X, y).coef_,
                               atol=1e-8)


def test_logistic_regression_with_three_classes_fits_the_softmax():
    X, y = noisy(3)
    np.testing.assert_allclose(LogisticRegression(**TIGHT).fit(X, y).coef_,
                               SoftmaxRegression(**TIGHT).fit(X, y).coef_, atol=1e-10)


# --- partial_fit --------------------------------------------------------------------------------


@pytest.mark.parametrize("cls,n_classes", [(LogisticRegression, 2), (SoftmaxRegression, 3)])
def test_partial_fit_reaches_the_full_batch_objective(cls, n_classes):
    X, y = noisy(n_classes, n=600)
    full = cls(**TIGHT).fit(X, y)
    obj = full_objective(full, X, y)
    f_full = obj.objective_value(obj.pack(full.coef_, full.intercept_))

    stream = cls(random_state=0)
    batches = np.array_split(np.arange(len(y)), 6)
    for epoch in range(30):
        for rows in batches:
            stream.partial_fit(X[rows], y[rows], classes=np.unique(y))
    f_stream = obj.objective_value(obj.pack(stream.coef_, stream.intercept_))
    assert stream.coef_.shape == full.coef_.shape
    assert f_full <= f_stream <= f_full + 1e-3
    assert stream.n_iter_[0] == 30 * len(batches)
    assert stream.fit_report_.info["partial_fit_calls"] == 30 * len(batches)


def test_partial_fit_labels_and_later_classes_argument():
    X, codes = noisy(3)
    y = np.array(["a", "b", "c"], dtype=object)[codes]
    est = LogisticRegression(random_state=0)
    est.partial_fit(X[:50], y[:50], classes=["c", "b", "a"])
    est.partial_fit(X[50:], y[50:])  # classes may be left out after the first call
    est.partial_fit(X[50:], y[50:], classes=["a", "b", "c"])
    assert list(est.classes_) == ["a", "b", "c"]
    assert set(est.predict(X)) <= {"a", "b", "c"}


# --- the contract with the model file ------------------------------------------------------------


@pytest.mark.parametrize("cls,n_classes", [(LogisticRegression, 2), (LogisticRegression, 3),
                                           (SoftmaxRegression, 2)])
def test_rebuilt_estimator_predicts_the_same(cls, n_classes):
    X, codes = noisy(n_classes)
    names = [f"f{j}" for j in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=names)
    y = np.array(["low", "mid", "top"])[codes]
    est = cls(C=0.3).fit(frame, y)
    np.testing.assert_array_equal(est.feature_names_in_, names)

    params = {k: v for k, v in est.get_params().items() if k != "callback"}
    rebuilt = globals()[type(est).__name__](**params)
    for attr in ("classes_", "coef_", "intercept_", "n_iter_", "n_features_in_",
                 "feature_names_in_", "fit_report_"):
        setattr(rebuilt, attr, getattr(est, attr))
    for method in ("predict", "predict_proba", "predict_log_proba", "decision_function"):
        np.testing.assert_array_equal(getattr(rebuilt, method)(frame),
                                      getattr(est, method)(frame))
    assert rebuilt.score(frame, y) == est.score(frame, y)


def test_rebuilt_estimator_continues_partial_fit():
    """The data seen so far (which sets the L2 strength) is in ``fit_report_.info``; only the
    SGD moments are private, and a rebuilt estimator restarts them."""
    X, y = noisy(2)
    est = LogisticRegression(random_state=0).partial_fit(X[:100], y[:100], classes=[0, 1])
    rebuilt = LogisticRegression(**est.get_params())
    for attr in ("classes_", "coef_", "intercept_", "n_iter_", "n_features_in_", "fit_report_"):
        setattr(rebuilt, attr, getattr(est, attr))
    rebuilt.partial_fit(X[100:], y[100:])
    assert rebuilt.fit_report_.info["n_seen"] == len(y) and rebuilt.n_iter_[0] == 2
    assert not np.array_equal(rebuilt.coef_, est.coef_)


def test_clone_keeps_parameters_and_drops_the_fit():
    est = SoftmaxRegression(penalty="elasticnet", l1_ratio=0.3, C=2.0, solver="lbfgs",
                            class_weight="balanced", warm_start=True, random_state=3)
    X, y = noisy(3)
    copy = clone(est.set_params(penalty="l2", l1_ratio=None).fit(X, y))
    assert copy.get_params() == est.get_params() and not hasattr(copy, "coef_")


@pytest.mark.parametrize("cls", [LogisticRegression, SoftmaxRegression])
@pytest.mark.parametrize("options", [
    {}, {"class_weight": "balanced"}, {"C": np.inf}, {"penalty": "l1", "C": 0.5},
    {"penalty": "elasticnet", "l1_ratio": 0.3, "fit_intercept": False},
])
def test_objective_for_is_the_objective_the_fit_minimised(cls, options):
    """objective_for rebuilds the fit's objective: at the fitted point its (sub)gradient
    meets the fit's own stopping rule, and its value is the fit's final objective."""
    from softlogit.solvers import optimality_gradient

    X, y = make_classification(n_samples=120, n_features=4, n_informative=3, n_redundant=0,
                               n_classes=3, flip_y=0.2, random_state=1)
    w = np.random.default_rng(0).uniform(0.5, 2, size=len(y))
    est = cls(tol=1e-10, max_iter=500, **options).fit(X, y, sample_weight=w)
    obj = est.objective_for(X, y, sample_weight=w)
    theta = obj.pack(est.coef_, est.intercept_ if est.fit_intercept else None)
    g = np.linalg.norm(optimality_gradient(obj, theta))
    assert g <= 1e-9 * np.linalg.norm(optimality_gradient(obj, obj.zeros()))
    assert obj.objective_value(theta) == pytest.approx(est.fit_report_.objective, rel=1e-12)


def test_objective_for_separable_data_is_the_refit_objective():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] > 0).astype(int)
    X[:, 0] += np.where(y == 1, 1.0, -1.0)
    with pytest.warns(SeparationWarning):
        est = LogisticRegression(penalty=None).fit(X, y)
    obj = est.objective_for(X, y)
    assert obj.penalty.l2 > 0  # the C = 1e4 L2 refit, not the unbounded unpenalised one
    theta = obj.pack(est.coef_, est.intercept_)
    assert np.linalg.norm(obj.gradient(theta)) <= 1e-8 * np.linalg.norm(obj.gradient(obj.zeros()))


def test_objective_for_refuses_labels_the_model_never_saw():
    X, y = make_classification(n_samples=60, n_features=3, n_informative=2, n_redundant=0,
                               random_state=0)
    est = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="not in classes"):
        est.objective_for(X, np.where(y == 1, 7, y))
