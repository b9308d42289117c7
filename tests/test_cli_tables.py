"""The command line's options for tables, metrics and their messages (crafted small files)."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv
import pytest

from softlogit.cli import main


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("tables")
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=120), rng.normal(size=120)
    kind = rng.choice(["p", "q", "r"], size=120)
    label = np.where(a - b + 0.5 * rng.normal(size=120) > 0, "yes", "no")
    table = pa.table({"key": [f"k{i:03d}" for i in range(120)], "a": a, "b": b, "kind": kind,
                      "label": label})
    pv.write_csv(table, root / "d.csv")
    pv.write_csv(table, root / "semi.csv", pv.WriteOptions(delimiter=";"))
    return root


def _run(capsys, *argv):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("argv, message", [
    (["--C", "0"], "error: --C must be a positive number (inf: no penalty); got 0"),
    (["--penalty", "elasticnet"], "error: --penalty elasticnet needs --l1-ratio, a number in "
                                  "[0, 1]"),
    (["--l1-ratio", "1.5"], "error: --l1-ratio must be in [0, 1]; got 1.5"),
    (["--test-size", "0.999"], "--test-size 0.999 leaves 0 training rows for 2 classes; use a "
                               "smaller --test-size (the default is 0.2)"),
    (["--threshold", "1.5"], "--threshold must be between 0 and 1; got 1.5"),
])
def test_option_errors_name_the_option(data, capsys, argv, message):
    status, out, err = _run(capsys, "fit", data / "d.csv", "--drop", "key", "--no-figures",
                            *argv)
    assert status == 1 and message in err and err.count("\n") == 1, err


def test_semicolon_csv_gets_a_hint_and_reads_with_delimiter(data, capsys):
    status, _, err = _run(capsys, "fit", data / "semi.csv")
    assert status == 1 and "read as a single column named 'key;" in err
    assert "--delimiter ';'" in err
    status, _, err = _run(capsys, "fit", data / "semi.csv", "--delimiter", ";", "--id", "key",
                          "--test-size", "0")
    assert status == 0, err


def test_l1_that_zeroes_every_coefficient_says_so(data, capsys):
    status, _, err = _run(capsys, "fit", data / "d.csv", "--drop", "key", "--penalty", "l1",
                          "--C", "0.001", "--no-figures")
    assert status == 0
    assert "warning: --penalty l1 with --C 0.001 set every coefficient to 0" in err


def test_binary_metrics_threshold_and_one_class_evaluation(data, capsys, tmp_path):
    status, out, err = _run(capsys, "fit", data / "d.csv", "--id", "key", "--threshold", "0.7",
                            "--out", tmp_path / "run", "--no-figures")
    assert status == 0, err
    doc = json.loads((tmp_path / "run" / "metrics.json").read_text())
    test = doc["test"]
    assert {"roc_auc", "pr_auc", "brier", "macro_f1"} <= set(test) and test["threshold"] == 0.7
    assert [c["label"] for c in test["per_class"]] == ["no", "yes"]
    assert "PR-AUC" in out and "Brier" in out and "precision" in out
    # evaluation on rows of one class: accuracy, but no macro-F1 or AUCs beside it
    one = tmp_path / "yes.csv"
    table = pv.read_csv(data / "d.csv")
    pv.write_csv(table.filter(pa.compute.equal(table["label"], "yes")), one)
    status, out, err = _run(capsys, "evaluate", tmp_path / "run" / "model.softlogit", one,
                            "--out", tmp_path / "eval", "--no-figures")
    assert status == 0, err
    evaluation = json.loads((tmp_path / "eval" / "metrics.json").read_text())["evaluation"]
    assert not {"macro_f1", "roc_auc", "pr_auc"} & set(evaluation)
    assert "macro-F1" not in out and "ROC-AUC" not in out
    no = [c for c in evaluation["per_class"] if c["label"] == "no"][0]
    assert no["support"] == 0 and no["recall"] is None


def test_predict_writes_the_id_column_beside_each_prediction(data, capsys, tmp_path):
    assert _run(capsys, "fit", data / "d.csv", "--id", "key", "--out", tmp_path / "run",
                "--no-figures")[0] == 0
    status, out, err = _run(capsys, "predict", tmp_path / "run" / "model.softlogit",
                            data / "d.csv", "--proba")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == '"key","proba_no","proba_yes"' and lines[1].startswith('"k000",')


def test_cli_warnings_name_columns_and_options_not_pipelines(tmp_path, capsys):
    rng = np.random.default_rng(0)
    big, small = 1e4 * rng.normal(size=200), 1e-3 * rng.normal(size=200)
    y = np.where(big / 1e4 + small / 1e-3 + rng.normal(size=200) > 0, 1, 0)
    pv.write_csv(pa.table({"income_usd": big, "tiny_ratio": small, "y": y}), tmp_path / "u.csv")
    status, _, err = _run(capsys, "fit", tmp_path / "u.csv", "--no-standardize", "--solver",
                          "gd", "--max-iter", "3", "--no-figures")
    assert status == 0
    assert "'income_usd'" in err and "'tiny_ratio'" in err and "x0" not in err
    assert "--max-iter" in err and "--standardize" in err
    assert "Pipeline" not in err and "max_iter=" not in err.replace("--max-iter=", "")
