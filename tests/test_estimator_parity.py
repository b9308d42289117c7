"""Parity of the estimators with scikit-learn's LogisticRegression on the same objective.

Both sides are fitted tightly; then our objective is evaluated at both solutions. Measured
(``pytest tests/test_estimator_parity.py``): objective within 1e-12 relative, coefficients within
2e-6, probabilities within 1e-6 on every case below. The tolerances asserted are the ones the
task sets: objective 1e-6 relative, coefficients 1e-4, probabilities 1e-5.

scikit-learn ≥ 1.8 spells the penalty with ``l1_ratio`` (0: L2, 1: L1) and ``C=inf`` for none.
With the softmax the intercepts are identified only up to a common constant (adding it to every
logit changes nothing and is not penalised), so intercepts are compared after centring; with an
L1 term the same holds for each feature's coefficients (see :func:`centred_columns`).
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
from sklearn import datasets
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.preprocessing import StandardScaler

from softlogit import LinearObjective, LogisticRegression, SoftmaxRegression

OUR_TIGHT = {"tol": 1e-10, "max_iter": 1000}
SK_TIGHT = {"tol": 1e-10, "max_iter": 100_000}
SK_PENALTY = {"l2": {"l1_ratio": 0.0}, "l1": {"l1_ratio": 1.0, "solver": "saga"},
              "elasticnet": {"l1_ratio": 0.5, "solver": "saga"}, None: {"C": np.inf}}


@functools.lru_cache(maxsize=None)
def dataset(name):
    """Standardised (X, y): bundled data sets, and generated ones with label noise."""
    if name == "digits":  # 500 rows keep the reference fit quick; 10 classes, 64 features
        X, y = datasets.load_digits(return_X_y=True)
        X, y = X[:500], y[:500]
    elif name == "generated-binary":
        X, y = datasets.make_classification(n_samples=300, n_features=12, n_informative=6,
                                            flip_y=0.1, random_state=0)
    elif name == "generated-multi":
        X, y = datasets.make_classification(n_samples=400, n_features=10, n_informative=6,
                                            n_redundant=0, n_classes=4, flip_y=0.1,
                                            random_state=1)
    else:
        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def objective_for(X, y, penalty, C, l1_ratio):
    """Our objective for the problem (the quantity both fits minimise)."""
    K = len(np.unique(y))
    if K == 2:
        return LinearObjective(X, y.astype(float), loss="binary", penalty=penalty, C=C,
                               l1_ratio=l1_ratio)
    return LinearObjective(X, y, loss="multinomial", n_classes=K, penalty=penalty, C=C,
                           l1_ratio=l1_ratio)


def centred(b):
    return b - b.mean() if b.size > 1 else b


def centred_columns(W):
    """Softmax coefficients less their per-feature mean over classes.

    Adding a constant to one feature's coefficient in every class changes no probability. The
    L2 term is smallest with that mean at 0, so an L2 optimum is already centred; the L1 term
    Σ_k |θ_kj + c| is smallest at any median, which for an even K is a whole interval: the
    L1 softmax optimum is unique only up to this shift.
    """
    return W - W.mean(axis=0) if W.shape[0] > 1 else W


CASES = [
    ("breast_cancer", "l2", 1.0),
    ("iris", "l2", 1.0),
    ("wine", "l2", 0.5),
    ("digits", "l2", 0.1),
    ("generated-binary", "l2", 0.05),
    ("generated-multi", "l2", 1.0),
    ("generated-binary", None, 1.0),
    ("generated-multi", None, 1.0),
    ("breast_cancer", "l1", 0.5),
    ("wine", "l1", 0.5),
    ("generated-multi", "l1", 0.1),
    ("breast_cancer", "elasticnet", 0.5),
    ("iris", "elasticnet", 0.5),
]


@pytest.mark.parametrize("name,penalty,C", CASES)
def test_matches_sklearn(name, penalty, C):
    X, y = dataset(name)
    l1_ratio = 0.5 if penalty == "elasticnet" else None
    sk_params = {"C": C, **SK_TIGHT, **SK_PENALTY[penalty]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # saga's own ConvergenceWarning at 1e-10
        ref = SkLogisticRegression(**sk_params).fit(X, y)
    ours = LogisticRegression(penalty=penalty, C=C, l1_ratio=l1_ratio, **OUR_TIGHT).fit(X, y)

    assert ours.coef_.shape == ref.coef_.shape
    obj = objective_for(X, y, penalty, C, l1_ratio)
    f_ref = obj.objective_value(obj.pack(ref.coef_, centred(ref.intercept_)))
    f_ours = obj.objective_value(obj.pack(ours.coef_, ours.intercept_))
    assert abs(f_ours - f_ref) <= 1e-6 * abs(f_ref)
    np.testing.assert_allclose(centred_columns(ours.coef_), centred_columns(ref.coef_),
                               rtol=0, atol=1e-4)
    np.testing.assert_allclose(centred(ours.intercept_), centred(ref.intercept_), rtol=0,
                               atol=1e-4)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-5)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))


@pytest.mark.parametrize("penalty", [None, "l2"])
def test_softmax_with_two_classes_gives_logistic_probabilities(penalty):
    """K = 2 softmax = logistic with θ = θ₁ − θ₀. With L2 the softmax splits θ₁ = −θ₀, which
    halves the penalty on the difference: SoftmaxRegression(C) matches LogisticRegression(2C)."""
    X, y = dataset("generated-binary")
    C = 0.05
    logistic = LogisticRegression(penalty=penalty, C=2 * C, **OUR_TIGHT).fit(X, y)
    softmax = SoftmaxRegression(penalty=penalty, C=C, **OUR_TIGHT).fit(X, y)
    assert softmax.coef_.shape == (2, X.shape[1]) and logistic.coef_.shape == (1, X.shape[1])
    np.testing.assert_allclose(softmax.predict_proba(X), logistic.predict_proba(X), atol=1e-7)
    np.testing.assert_allclose(softmax.coef_[1] - softmax.coef_[0], logistic.coef_[0],
                               atol=1e-5)
    np.testing.assert_allclose(softmax.decision_function(X), logistic.decision_function(X),
                               atol=1e-5)
    np.testing.assert_array_equal(softmax.predict(X), logistic.predict(X))
