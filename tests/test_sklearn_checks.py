"""scikit-learn's estimator checks over both estimators, in the settings users will pick."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from softlogit import LogisticRegression, SoftmaxRegression
from softlogit.solvers import available

#: The registered solver for L1 terms (whatever its name), besides "auto".
L1_SOLVER = next(name for name, spec in sorted(available().items())
                 if "l1" in spec.penalties and name != "auto")

ESTIMATORS = [
    LogisticRegression(),
    LogisticRegression(penalty=None),
    LogisticRegression(penalty="l1", C=0.5, solver=L1_SOLVER),
    LogisticRegression(penalty="elasticnet", l1_ratio=0.5),
    LogisticRegression(solver="lbfgs"),
    LogisticRegression(solver="newton"),
    SoftmaxRegression(),
    SoftmaxRegression(penalty=None, solver="newton"),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
