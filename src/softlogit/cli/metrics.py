"""Classification metrics of a fitted model on labelled data (scikit-learn's implementations).

A metric that does not apply to the data is left out, never printed as a number that means
nothing: with a single class in the data there is no macro-F1, ROC-AUC or PR-AUC; a class
with no rows in the data has no recall.
"""

from __future__ import annotations

import math

import numpy as np

from softlogit.io.errors import DataError


def predict_labels(estimator, proba, threshold=None) -> np.ndarray:
    """The predicted labels: the most probable class, or for two classes with ``threshold``
    the second class where its probability is at least ``threshold``."""
    classes = estimator.classes_
    if threshold is None:
        return estimator.classes_[np.argmax(proba, axis=1)]
    check_threshold(threshold, len(classes))
    return classes[(proba[:, 1] >= threshold).astype(np.intp)]


def check_threshold(threshold, n_classes: int) -> None:
    if threshold is None:
        return
    if n_classes != 2:
        raise DataError(f"--threshold applies to two classes; the model has {n_classes}")
    if not 0 < threshold < 1:
        raise DataError(f"--threshold must be between 0 and 1; got {threshold:g}")


def classification_metrics(y_true, proba, y_pred, classes, threshold=None) -> dict:
    """Accuracy, log-loss, per-class precision/recall/F1, macro-F1, for two classes ROC-AUC,
    PR-AUC (average precision) and the Brier score, and the confusion matrix.

    Parameters
    ----------
    y_true : (m,) labels, all among ``classes``.
    proba : (m, K) predicted probabilities, columns in the order of ``classes``.
    y_pred : (m,) predicted labels.
    classes : (K,) the model's classes.
    threshold : the decision threshold used for ``y_pred`` (two classes), recorded as given.

    Returns
    -------
    dict with ``rows``, ``accuracy``, ``log_loss``, ``per_class`` (one dict per class:
    ``label``, ``support``, ``precision``, ``recall``, ``f1``; ``None`` where undefined),
    ``macro_f1`` (only with two or more classes in ``y_true``), for two-class models
    ``brier`` (mean squared error of the probability of ``classes[1]``), ``roc_auc`` and
    ``pr_auc`` (only when both classes are present) and ``threshold``, and
    ``confusion_matrix`` (rows: true class, columns: predicted class, in the order of
    ``classes``).

    Examples
    --------
    >>> import numpy as np
    >>> m = classification_metrics(np.array([0, 1]), np.array([[0.9, 0.1], [0.2, 0.8]]),
    ...                            np.array([0, 1]), np.array([0, 1]))
    >>> m["accuracy"], m["roc_auc"], m["pr_auc"], round(m["brier"], 3), m["confusion_matrix"]
    (1.0, 1.0, 1.0, 0.025, [[1, 0], [0, 1]])
    >>> "macro_f1" in classification_metrics(np.array([1, 1]), np.array([[0.4, 0.6]] * 2),
    ...                                      np.array([1, 1]), np.array([0, 1]))
    False
    """
    from sklearn import metrics

    y_true = np.asarray(y_true)
    present = np.unique(y_true)
    out = {
        "rows": int(y_true.shape[0]),
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "log_loss": float(metrics.log_loss(y_true, proba, labels=classes)),
    }
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=classes, zero_division=np.nan)
    out["per_class"] = [
        {"label": c, "support": int(n), "precision": _number(p), "recall": _number(r),
         "f1": _number(f)}
        for c, p, r, f, n in zip(classes.tolist(), precision, recall, f1, support)]
    if present.size >= 2:
        # Over the classes in the data or the predictions (a class in neither says nothing).
        labels = np.union1d(present, np.unique(y_pred))
        out["macro_f1"] = float(metrics.f1_score(y_true, y_pred, labels=labels,
                                                 average="macro", zero_division=0))
    if len(classes) == 2:
        positive = y_true == classes[1]
        out["brier"] = float(metrics.brier_score_loss(positive, proba[:, 1]))
        if 0 < positive.sum() < positive.size:
            out["roc_auc"] = float(metrics.roc_auc_score(positive, proba[:, 1]))
            out["pr_auc"] = float(metrics.average_precision_score(positive, proba[:, 1]))
        out["threshold"] = 0.5 if threshold is None else float(threshold)
    out["confusion_matrix"] = metrics.confusion_matrix(y_true, y_pred, labels=classes).tolist()
    return out


def _number(value) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value
