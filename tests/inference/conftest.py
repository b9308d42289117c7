"""Data for the inference tests: statsmodels' datasets and the Stata results it ships."""

import numpy as np
import pytest

sm_datasets = pytest.importorskip("statsmodels.datasets")


@pytest.fixture(scope="session")
def spector():
    """Greene's spector data (32 rows: gpa, tuce, psi → grade), from statsmodels.datasets."""
    d = sm_datasets.spector.load_pandas()
    return d.exog.to_numpy(np.float64), d.endog.to_numpy(np.float64)


@pytest.fixture(scope="session")
def anes96():
    """The 1996 American National Election Study extract (944 rows, 7 party-id classes)."""
    d = sm_datasets.anes96.load_pandas()
    return d.exog.to_numpy(np.float64), d.endog.to_numpy()


@pytest.fixture(scope="session")
def spector_fit(spector):
    import softlogit

    X, y = spector
    return softlogit.LogisticRegression(penalty=None, tol=1e-12).fit(X, y)


@pytest.fixture(scope="session")
def anes_fit(anes96):
    import softlogit

    X, y = anes96
    return softlogit.SoftmaxRegression(penalty=None, tol=1e-12, max_iter=500).fit(X, y)
