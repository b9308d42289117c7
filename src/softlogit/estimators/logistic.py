"""Logistic regression: a drop-in for :class:`sklearn.linear_model.LogisticRegression`."""

from softlogit.estimators.array_api import ArrayAPIDispatchMixin
from softlogit.estimators.base import PARAMETERS_DOC, BaseCrossEntropyClassifier
from softlogit.inference.mixin import InferenceMixin


class LogisticRegression(ArrayAPIDispatchMixin, InferenceMixin, BaseCrossEntropyClassifier):
    _always_softmax = False


LogisticRegression.__doc__ = """Logistic regression by cross-entropy with its exact gradient.

    Two classes: the sigmoid model ``P(y = classes_[1] | x) = σ(w·x + b)`` with ``coef_`` of
    shape (1, p). More than two classes: the softmax model with ``coef_`` of shape (K, p), as
    scikit-learn's :class:`~sklearn.linear_model.LogisticRegression` does. The same ``C``
    reaches the same optimum as scikit-learn's.

    Without a penalty on perfectly separable data no finite fit exists: the fit stops at the
    first iterate that separates the training data and raises a
    :class:`~softlogit.estimators.SeparationWarning` naming the separating feature(s).
""" + PARAMETERS_DOC + """
    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from softlogit import LogisticRegression
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = LogisticRegression().fit(X, y)
    >>> clf.coef_.shape, bool(clf.fit_report_.converged), clf.score(X, y) > 0.95
    ((1, 30), True, True)
"""
