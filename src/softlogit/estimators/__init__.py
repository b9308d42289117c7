"""The scikit-learn face of softlogit: validation, labels, ``fit`` / ``predict_proba`` …

``LogisticRegression`` (sigmoid for two classes, softmax beyond) and ``SoftmaxRegression``
(always the K-logit softmax) share :class:`~softlogit.estimators.base.BaseCrossEntropyClassifier`.
"""

from softlogit.estimators.logistic import LogisticRegression
from softlogit.estimators.softmax import SoftmaxRegression
from softlogit.estimators.warnings import ConvergenceWarning, SeparationWarning

__all__ = ["LogisticRegression", "SoftmaxRegression", "ConvergenceWarning", "SeparationWarning"]
