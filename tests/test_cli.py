"""End to end: the installed ``softlogit`` command on bundled and generated files.

Each test runs the command in a subprocess (as a user would) and checks what it wrote; the
runs are few and small because each one pays for starting Python and importing the stack.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv
import pyarrow.parquet as pq
import pytest

import softlogit
from softlogit.io.readers import read_data

PNG = b"\x89PNG\r\n\x1a\n"
SCRIPT = Path(sys.executable).with_name("softlogit")


def run(*args, cwd, script=False):
    """Run ``softlogit ARGS`` (the console script, or ``python -m softlogit.cli``)."""
    command = [str(SCRIPT)] if script else [sys.executable, "-m", "softlogit.cli"]
    env = dict(os.environ, MPLBACKEND="Agg", NUMBA_NUM_THREADS="1", COLUMNS="100")
    return subprocess.run([*command, *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def ok(result):
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Small generated data sets: a CSV with text labels and a categorical column, a binary
    Parquet file, and an svmlight file."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    m = 240
    x1, x2 = rng.normal(size=m), rng.normal(size=m)
    shade = rng.choice(["dark", "light", "pale"], size=m)
    score = np.column_stack([x1, x2, 0.8 * (shade == "dark") - x1])
    species = np.array(["ant", "bee", "cow"])[np.argmax(score + 0.3 * rng.normal(size=(m, 3)),
                                                        axis=1)]
    pv.write_csv(pa.table({"x1": x1, "shade": shade, "x2": x2, "species": species}),
                 root / "animals.csv")
    pq.write_table(pa.table({"u": x1, "v": x2, "outcome": (x1 - x2 > 0).astype(np.int64)}),
                   root / "binary.parquet")
    lines = [f"{1 if a + b > 0 else -1} 1:{a:.6f} 3:{b:.6f}" for a, b in zip(x1, x2)]
    (root / "points.svm").write_text("\n".join(lines) + "\n")
    return root


def test_fit_digits_as_make_run_does(tmp_path):
    result = ok(run("fit", "--out", "runs/digits", cwd=tmp_path, script=True))
    out = tmp_path / "runs" / "digits"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"]["rows"] == 1797 and metrics["data"]["features"] == 64
    assert len(metrics["classes"]) == 10 and metrics["model"]["class"] == "SoftmaxRegression"
    assert metrics["fit"]["converged"] and metrics["test"]["accuracy"] >= 0.95
    assert metrics["data"]["test_rows"] == 360  # 20 % held out
    # the summary prints the same test accuracy, the solver, and the final gradient norm
    accuracy_line = next(line for line in result.stdout.splitlines()
                         if line.startswith("accuracy"))
    assert f"{metrics['test']['accuracy']:.4f}" in accuracy_line
    assert metrics["fit"]["solver"] in result.stdout and "final ‖∇J‖" in result.stdout
    for name in ("model.softlogit", "convergence.png", "confusion_matrix.png",
                 "coefficients.png"):
        assert (out / name).stat().st_size > 1000
    for name in ("convergence.png", "confusion_matrix.png", "coefficients.png"):
        assert (out / name).read_bytes().startswith(PNG)
    assert sorted(metrics["files"]) == sorted(p.name for p in out.iterdir())
    # the saved model reproduces the reported test accuracy on the whole data set
    model = softlogit.load(out / "model.softlogit")
    assert model.estimator.n_iter_[0] == metrics["fit"]["n_iter"]
    assert np.mean(model.predict(read_data("digits")) ==
                   read_data("digits").table.column("target").to_numpy()) >= 0.95


def test_csv_text_labels_and_categories_predict_and_evaluate(files, tmp_path):
    csv = files / "animals.csv"
    ok(run("fit", csv, "--target", "species", "--no-figures", "--seed", "3", "--out", "run",
           cwd=tmp_path))
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert [c["label"] for c in metrics["classes"]] == ["ant", "bee", "cow"]
    assert metrics["data"]["encoded_features"] == 5  # x1, x2 and three shade indicators
    assert 0.6 < metrics["test"]["accuracy"] <= 1 and metrics["test"]["macro_f1"] > 0.5
    model = softlogit.load(tmp_path / "run" / "model.softlogit")
    frame = read_data(csv)

    ok(run("predict", "run/model.softlogit", csv, "--out", "labels.parquet", cwd=tmp_path))
    labels = pq.read_table(tmp_path / "labels.parquet").column("prediction").to_pylist()
    assert labels == model.predict(frame).tolist()
    # probabilities as CSV on stdout: the same floats, bit for bit, after a text round trip
    stdout = ok(run("predict", "run/model.softlogit", csv, "--proba", cwd=tmp_path)).stdout
    proba = pv.read_csv(pa.py_buffer(stdout.encode()))
    assert proba.column_names == ["proba_ant", "proba_bee", "proba_cow"]
    assert np.array_equal(np.column_stack([c.to_numpy() for c in proba.columns]),
                          model.predict_proba(frame))

    result = ok(run("evaluate", "run/model.softlogit", csv, "--out", "eval", cwd=tmp_path))
    evaluation = json.loads((tmp_path / "eval" / "metrics.json").read_text())["evaluation"]
    assert evaluation["rows"] == 240
    assert evaluation["accuracy"] == np.mean(model.predict(frame) ==
                                             frame.table.column("species").to_numpy())
    assert f"{evaluation['accuracy']:.4f}" in result.stdout
    assert (tmp_path / "eval" / "confusion_matrix.png").read_bytes().startswith(PNG)


def test_parquet_binary_fit_draws_roc_and_calibration(files, tmp_path):
    result = ok(run("fit", files / "binary.parquet", "--target", "outcome", "--test-size",
                    "0.25", "--out", "b", cwd=tmp_path))
    metrics = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert metrics["model"]["class"] == "LogisticRegression"
    assert metrics["data"]["target"] == "outcome" and metrics["data"]["test_rows"] == 60
    assert 0.9 < metrics["test"]["roc_auc"] <= 1.0
    assert "ROC-AUC" in result.stdout
    for name in ("roc.png", "calibration.png", "confusion_matrix.png", "convergence.png"):
        assert (tmp_path / "b" / name).read_bytes().startswith(PNG)


def test_svmlight_fit_and_predict(files, tmp_path):
    svm = files / "points.svm"
    ok(run("fit", svm, "--no-figures", "--out", "s", cwd=tmp_path))
    metrics = json.loads((tmp_path / "s" / "metrics.json").read_text())
    assert [c["label"] for c in metrics["classes"]] == [-1, 1]
    assert metrics["data"]["features"] == 3 and metrics["test"]["accuracy"] > 0.9
    out = ok(run("predict", "s/model.softlogit", svm, cwd=tmp_path)).stdout.split()
    assert out[0] == '"prediction"' and len(out) == 241
    model = softlogit.load(tmp_path / "s" / "model.softlogit")
    assert [int(v) for v in out[1:]] == model.predict(read_data(svm)).tolist()
