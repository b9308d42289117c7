"""Softmax regression: the K-logit model of the math, for every K ≥ 2."""

from softlogit.estimators.array_api import ArrayAPIDispatchMixin
from softlogit.estimators.base import PARAMETERS_DOC, BaseCrossEntropyClassifier
from softlogit.inference.mixin import InferenceMixin


class SoftmaxRegression(ArrayAPIDispatchMixin, InferenceMixin, BaseCrossEntropyClassifier):
    _always_softmax = True


SoftmaxRegression.__doc__ = """Softmax (multinomial logistic) regression by cross-entropy.

    ``P(y = classes_[k] | x) = softmax(Θx + b)_k`` with one logit per class, also for K = 2,
    so ``coef_`` is always (K, p). With K = 2 it gives the same probabilities as
    :class:`LogisticRegression` (only ``θ₁ − θ₀`` is identified; with an L2 penalty the fit
    splits it evenly, ``θ₁ = −θ₀``, which halves the penalty on the difference:
    ``SoftmaxRegression(C=C)`` matches ``LogisticRegression(C=2*C)``).
    ``decision_function`` follows scikit-learn's shapes: the log-odds ``z₁ − z₀`` (m,) for
    K = 2, the logits (m, K) otherwise.
""" + PARAMETERS_DOC + """
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from softlogit import SoftmaxRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SoftmaxRegression(max_iter=200).fit(X, y)
    >>> clf.coef_.shape, clf.predict_proba(X[:2]).shape
    ((3, 4), (2, 3))
"""
