"""Classification metrics of a fitted model on labelled data (scikit-learn's implementations)."""

from __future__ import annotations

import numpy as np


def classification_metrics(y_true, proba, y_pred, classes) -> dict:
    """Accuracy, log-loss, macro-F1, ROC-AUC (two classes) and the confusion matrix.

    Parameters
    ----------
    y_true : (m,) labels, all among ``classes``.
    proba : (m, K) predicted probabilities, columns in the order of ``classes``.
    y_pred : (m,) predicted labels.
    classes : (K,) the model's classes.

    Returns
    -------
    dict with ``rows``, ``accuracy``, ``log_loss``, ``macro_f1``, ``roc_auc`` (binary only;
    ``None`` when the data hold a single class) and ``confusion_matrix`` (rows: true class,
    columns: predicted class, in the order of ``classes``).

    Examples
    --------
    >>> import numpy as np
    >>> m = classification_metrics(np.array([0, 1]), np.array([[0.9, 0.1], [0.2, 0.8]]),
    ...                            np.array([0, 1]), np.array([0, 1]))
    >>> m["accuracy"], m["roc_auc"], m["confusion_matrix"]
    (1.0, 1.0, [[1, 0], [0, 1]])
    """
    from sklearn import metrics

    y_true = np.asarray(y_true)
    out = {
        "rows": int(y_true.shape[0]),
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "log_loss": float(metrics.log_loss(y_true, proba, labels=classes)),
        "macro_f1": float(metrics.f1_score(y_true, y_pred, labels=classes, average="macro",
                                           zero_division=0)),
    }
    if len(classes) == 2:
        positive = y_true == classes[1]
        out["roc_auc"] = (float(metrics.roc_auc_score(positive, proba[:, 1]))
                          if 0 < positive.sum() < positive.size else None)
    out["confusion_matrix"] = metrics.confusion_matrix(y_true, y_pred, labels=classes).tolist()
    return out
