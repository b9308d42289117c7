"""scikit-learn's estimator checks on LogisticRegressionCV, with an L2 and an L1 grid."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from softlogit import LogisticRegressionCV

# The L1 instances use fixed moderate Cs: the automatic L1 grid reaches C ≈ 1500 on the
# checks' 15-row, 30-column multinomial data (nearly separable: a flat objective), where
# check_sample_weight_equivalence compares predictions at rtol 1e-7 and two tol-based stops
# differ by more than that (measured: 1e-6 at tol 1e-6, 2e-7 at tol 1e-7).
ESTIMATORS = [
    LogisticRegressionCV(Cs=3, cv=3),
    LogisticRegressionCV(Cs=[0.05, 0.5], cv=3, l1_ratios=(1.0,)),
    LogisticRegressionCV(Cs=[0.1, 1.0], cv=3, l1_ratios=(0.5,), rule="1se", refit=False),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)
