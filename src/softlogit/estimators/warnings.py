"""Warnings raised by the estimators.

Both subclass scikit-learn's :class:`~sklearn.exceptions.ConvergenceWarning`, so tooling that
filters or catches scikit-learn's warning (``ignore_warnings(category=ConvergenceWarning)``,
``warnings.simplefilter``) treats ours the same way.
"""

from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning


class ConvergenceWarning(_SklearnConvergenceWarning):
    """The solver stopped before meeting its tolerance; the message names the cause and remedy.

    The causes told apart (see :mod:`softlogit.estimators.diagnostics`): the objective was still
    falling at ``max_iter``; the line search could not decrease the objective (numerical
    precision limit); the features are on very different scales.
    """


class SeparationWarning(ConvergenceWarning):
    """The training data are linearly separable and the fit has no penalty.

    The unpenalised cross-entropy then has no minimiser: scaling a separating direction up
    drives the loss to 0 and the coefficients to infinity. The fit stops at the first iterate
    that separates the data, and the message names the separating feature(s) where it can.
    """
