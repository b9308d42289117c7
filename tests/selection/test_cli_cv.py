"""``softlogit cv`` and ``softlogit fit --C auto`` end to end (subprocesses, as a user runs them)."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv
import pytest

import softlogit
from test_cli import PNG, ok, run  # tests/ is on sys.path (pytest prepend mode)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("cvdata")
    rng = np.random.default_rng(0)
    m = 240
    X = rng.normal(size=(m, 6))
    shade = rng.choice(["dark", "light", "pale"], size=m)
    score = np.column_stack([X[:, 0], X[:, 1], 0.8 * (shade == "dark") - X[:, 0]])
    species = np.array(["ant", "bee", "cow"])[np.argmax(score + 0.5 * rng.normal(size=(m, 3)),
                                                        axis=1)]
    columns = {f"x{j}": X[:, j] for j in range(6)}
    pv.write_csv(pa.table({**columns, "shade": shade, "species": species}),
                 root / "animals.csv")
    outcome = (X[:, 0] - X[:, 1] + 0.5 * rng.normal(size=m) > 0).astype(np.int64)
    pv.write_csv(pa.table({**columns, "outcome": outcome}), root / "binary.csv")
    return root


def test_cv_prints_curve_writes_figures_and_refitted_model(data, tmp_path):
    out = tmp_path / "run"
    result = ok(run("cv", data / "animals.csv", "--target", "species", "--penalty",
                    "elasticnet", "--l1-ratio", "0.3", "0.9", "--Cs", "5", "--folds", "3",
                    "--out", out, cwd=tmp_path))
    assert "chosen" in result.stdout and "± SE" in result.stdout
    for name in ("cv_curve.png", "coef_path.png"):
        assert (out / name).read_bytes().startswith(PNG)
    doc = json.loads((out / "cv.json").read_text())
    means = [row["mean"] for row in doc["curve"]]
    assert doc["chosen_index"] == int(np.argmax(means))  # rule "best": the argmax
    assert doc["cv"]["C"] == pytest.approx(doc["curve"][doc["chosen_index"]]["C"])
    assert doc["cv"]["l1_ratio"] in (0.3, 0.9) and len(doc["curve"]) == 5
    model = softlogit.load(out / "model.softlogit")
    assert model.estimator.C == pytest.approx(doc["cv"]["C"])
    assert model.estimator.penalty == "elasticnet"


def test_fit_C_auto_cross_validates_then_fits(data, tmp_path):
    out = tmp_path / "fit"
    result = ok(run("fit", data / "binary.csv", "--target", "outcome", "--penalty", "l1",
                    "--C", "auto", "--out", out, cwd=tmp_path))
    assert "C auto" in result.stdout
    doc = json.loads((out / "metrics.json").read_text())
    C = doc["model"]["params"]["C"]
    assert isinstance(C, float) and C > 0
    assert doc["test"]["accuracy"] > 0.7


def test_cv_bad_options_one_error_line(data, tmp_path):
    result = run("cv", data / "animals.csv", "--target", "species", "--penalty", "elasticnet",
                 cwd=tmp_path)
    words = "--l1-ratio"
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0]
    assert "Traceback" not in result.stderr
