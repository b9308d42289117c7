"""LogisticRegressionCV: fold scores equal accurate per-fold fits; the choice follows its rule."""

import numpy as np
import pytest
from sklearn.metrics import get_scorer
from sklearn.model_selection import StratifiedKFold

from softlogit import LogisticRegression, LogisticRegressionCV
from softlogit.selection.cv import choose
from .test_path import _correlated

CASES = {
    "binary-l1": (2, 1.0, "newton-cd"),
    "multinomial-elasticnet": (3, 0.5, "newton-cd"),
    "binary-l2": (2, 0.0, "newton"),
}


@pytest.mark.parametrize("case", CASES)
def test_scores_equal_accurate_per_fold_fits(case):
    """Each fold alone fitted to tol 1e-10 and scored by scikit-learn's scorer: within 1e-6."""
    n_classes, rho, solver = CASES[case]
    X, y = _correlated(240, 8, 3, n_classes, seed=1)
    cv = StratifiedKFold(4, shuffle=True, random_state=0)
    clf = LogisticRegressionCV(Cs=5, l1_ratios=(rho,), cv=cv).fit(X, y)
    k = 1 if n_classes == 2 else n_classes
    assert clf.scores_.shape == (4, 1, 5)
    assert clf.coefs_paths_.shape == (4, 1, 5, k, 9)
    penalty = {0.0: "l2", 1.0: "l1"}.get(rho, "elasticnet")
    scorer = get_scorer("neg_log_loss")
    for f, (train, test) in enumerate(cv.split(X, y)):
        for i, C in enumerate(clf.Cs_):
            alone = LogisticRegression(penalty=penalty, C=C,
                                       l1_ratio=rho if penalty == "elasticnet" else None,
                                       solver=solver, tol=1e-10, max_iter=500)
            alone.fit(X[train], y[train])
            assert abs(scorer(alone, X[test], y[test]) - clf.scores_[f, 0, i]) <= 1e-6
    # the choice: the argmax of the mean score, and the refit is the fit on all rows there
    assert clf.C_ == clf.Cs_[np.argmax(clf.scores_.mean(axis=0)[0])]
    full = LogisticRegression(penalty=penalty, C=clf.C_,
                              l1_ratio=rho if penalty == "elasticnet" else None,
                              solver=solver, tol=1e-10, max_iter=500).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), full.predict_proba(X), atol=1e-5)


def test_several_l1_ratios_and_parallel_folds_agree():
    """Two l1_ratios in two worker threads give the same arrays as one thread."""
    X, y = _correlated(200, 6, 2, seed=2)
    one = LogisticRegressionCV(Cs=4, l1_ratios=(0.5, 1.0), cv=3).fit(X, y)
    two = LogisticRegressionCV(Cs=4, l1_ratios=(0.5, 1.0), cv=3, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(one.scores_, two.scores_)
    assert one.scores_.shape == (3, 2, 4) and one.l1_ratios_.tolist() == [0.5, 1.0]
    li, ci = np.unravel_index(np.argmax(one.scores_.mean(axis=0)), (2, 4))
    assert (one.l1_ratio_, one.C_) == (one.l1_ratios_[li], one.Cs_[ci])


def test_one_standard_error_rule_on_known_scores():
    """glmnet's 1-SE rule, worked by hand: best mean −0.30 at C index 3 with SE 0.05, so the
    strongest penalty with mean ≥ −0.35 is index 1 (mean −0.34); index 0 (−0.40) is out."""
    means = np.array([-0.40, -0.34, -0.31, -0.30, -0.32])
    # four folds: mean ± deviations whose sample SD is 0.1, so SE = 0.1 / √4 = 0.05
    dev = np.array([-0.1, 0.1, -0.1, 0.1]) * np.sqrt(3) / 2
    scores = (means[None, :] + dev[:, None])[:, None, :]
    assert choose(scores, "best") == (0, 3)
    assert choose(scores, "1se") == (0, 1)


def test_1se_rule_picks_a_sparser_model():
    X, y = _correlated(300, 20, 3, seed=3)
    best = LogisticRegressionCV(Cs=8, l1_ratios=(1.0,), cv=5).fit(X, y)
    one_se = LogisticRegressionCV(Cs=8, l1_ratios=(1.0,), cv=5, rule="1se").fit(X, y)
    assert one_se.C_ <= best.C_
    assert np.count_nonzero(one_se.coef_) <= np.count_nonzero(best.coef_)


def test_bad_parameters_name_themselves():
    X, y = _correlated(60, 3, 2)
    for kwargs, word in [(dict(l1_ratios=(1.5,)), "l1_ratios"), (dict(rule="2se"), "rule"),
                         (dict(Cs=0), "Cs"), (dict(Cs=[1.0, -1.0]), "Cs")]:
        with pytest.raises(ValueError, match=word):
            LogisticRegressionCV(**kwargs).fit(X, y)
