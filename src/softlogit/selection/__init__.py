"""Regularisation paths and cross-validation (DESIGN §2: on top of the estimators and solvers).

- :func:`regularization_path` — the fits over a grid of C, warm-started, with screening.
- :class:`LogisticRegressionCV` — scikit-learn's cross-validated estimator, on those paths.
"""

from softlogit.selection.path import PathResult
from softlogit.selection.regularization import regularization_path

__all__ = ["PathResult", "regularization_path", "LogisticRegressionCV"]


def __getattr__(name):
    if name == "LogisticRegressionCV":
        from softlogit.selection.cv import LogisticRegressionCV

        return LogisticRegressionCV
    raise AttributeError(f"module 'softlogit.selection' has no attribute {name!r}")
