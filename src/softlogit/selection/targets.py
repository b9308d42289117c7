"""From ``(X, y, sample_weight, class_weight)`` to the pieces a path or a CV fit needs.

The same encoding as the estimators (:mod:`softlogit.estimators.labels`): sorted classes, the
sigmoid model for two classes unless the softmax is asked for, class weights multiplied into
the sample weights (``"balanced"`` from all of ``y``, as scikit-learn's LogisticRegressionCV).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.utils.validation import _check_sample_weight

from softlogit.estimators.labels import (
    check_two_weighted_classes, class_weight_per_sample, encode_labels, is_soft_target,
)
from softlogit.selection.problem import PathProblem


@dataclass(frozen=True)
class Targets:
    """Encoded targets of one data set.

    ``codes`` index ``classes``; ``weight`` is the fitting weight (sample × class weight),
    ``sample_weight`` the user's alone (what scorers receive, as in scikit-learn).
    """

    classes: np.ndarray
    codes: np.ndarray
    weight: np.ndarray
    sample_weight: np.ndarray | None
    loss: str

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def fit_targets(self, dtype):
        """The targets the objective takes: 0/1 floats (sigmoid) or class indices (softmax)."""
        return self.codes.astype(dtype) if self.loss == "binary" else self.codes

    def problem(self, X, rows=None, *, fit_intercept=True) -> PathProblem:
        """The :class:`PathProblem` on ``rows`` of ``X`` (all rows by default)."""
        codes, weight = self.codes, self.weight
        if rows is not None:
            X, codes, weight = X[rows], codes[rows], weight[rows]
        targets = codes.astype(X.dtype) if self.loss == "binary" else codes
        return PathProblem(X, targets, loss=self.loss, n_classes=self.n_classes,
                           fit_intercept=fit_intercept, sample_weight=weight)


def encode_targets(X, y, sample_weight=None, class_weight=None, *, softmax=False) -> Targets:
    """Encode hard labels ``y`` for ``X`` (already validated, (m, p)); see the module doc."""
    if is_soft_target(y):
        raise ValueError("regularisation paths and cross-validation take class labels y of "
                         "shape (m,), not a matrix of probability rows")
    y = np.asarray(y)
    if y.ndim != 1:
        y = y.ravel()
    classes, codes = encode_labels(y)
    user_weight = None if sample_weight is None else _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True)
    weight = np.ones(len(y)) if user_weight is None else user_weight.copy()
    cw = class_weight_per_sample(class_weight, classes, codes=codes, labels=y)
    if cw is not None:
        weight = weight * cw
    check_two_weighted_classes(classes, weight, codes=codes)
    loss = "binary" if len(classes) == 2 and not softmax else "multinomial"
    return Targets(classes=classes, codes=np.asarray(codes), weight=weight,
                   sample_weight=user_weight, loss=loss)
