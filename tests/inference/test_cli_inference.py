"""``softlogit fit --inference`` and ``softlogit summary``: the table in original units (the
CLI standardises, the table must not show it), checked against Stata 11 on spector (statsmodels
results_discrete.Spector) and statsmodels' cluster-robust Logit."""

import csv

import numpy as np
import pytest
from numpy.testing import assert_allclose

from softlogit.cli import main

stata = pytest.importorskip("statsmodels.discrete.tests.results.results_discrete")


@pytest.fixture(scope="module")
def spector_csv(tmp_path_factory, spector):
    """spector with PSI as a text column ("no"/"yes": drop-first keeps psi=yes) and a
    5-level school column for clustering."""
    X, y = spector
    path = tmp_path_factory.mktemp("spector") / "spector.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["GPA", "TUCE", "psi", "school", "GRADE"])
        for i, (row, target) in enumerate(zip(X, y)):
            w.writerow([f"{row[0]:.17g}", f"{row[1]:.17g}", "yes" if row[2] else "no", f"s{i % 5}",
                        int(target)])
    return path


def _table(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {r["name"]: r for r in rows}


def test_fit_inference_prints_and_writes_stata_numbers(spector_csv, tmp_path, capsys):
    out = tmp_path / "run"
    status = main(["fit", str(spector_csv), "--target", "GRADE", "--penalty", "none",
                   "--test-size", "0", "--tol", "1e-10", "--inference", "--cluster", "school",
                   "--cov-type", "nonrobust", "--no-figures", "--out", str(out)])
    assert status == 0
    text = capsys.readouterr().out
    assert "psi=yes" in text and "cluster-robust" in text and "original units" in text
    table = _table(out / "coefficients.csv")
    assert list(table) == ["GPA", "TUCE", "psi=yes", "intercept"]
    st = stata.Spector.logit
    coef = [float(table[n]["coef"]) for n in table]
    assert_allclose(coef, st.params, rtol=1e-6)  # standardisation undone exactly
    assert_allclose([float(table[n]["odds_ratio"]) for n in table], np.exp(st.params),
                    rtol=1e-5)
    assert (out / "odds_ratios.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_summary_of_saved_model_matches_statsmodels_cluster(spector_csv, spector, tmp_path,
                                                           capsys):
    sm = pytest.importorskip("statsmodels.api")
    out = tmp_path / "run"
    assert main(["fit", str(spector_csv), "--target", "GRADE", "--penalty", "none",
                 "--test-size", "0", "--tol", "1e-10", "--cluster", "school",
                 "--no-figures", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["summary", str(out / "model.softlogit"), str(spector_csv), "--cluster",
                 "school", "--out", str(tmp_path / "s")]) == 0
    table = _table(tmp_path / "s" / "coefficients.csv")
    X, y = spector
    groups = np.arange(32) % 5
    ref = sm.Logit(y, sm.add_constant(X, prepend=False)).fit(
        disp=0, cov_type="cluster", cov_kwds={"groups": groups})
    assert_allclose([float(r["std_err"]) for r in table.values()], ref.bse, rtol=1e-5)
    assert "cluster-robust" in capsys.readouterr().out


def test_cluster_column_must_exist(spector_csv, capsys):
    status = main(["fit", str(spector_csv), "--target", "GRADE", "--inference", "--cluster",
                   "nope", "--test-size", "0"])
    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith("error:") and "'nope'" in err and "Traceback" not in err
