"""Bad input: one line on stderr, a non-zero exit, no traceback, and outputs left untouched.

Most cases call :func:`softlogit.cli.main` in-process (the code path of the command, without
the cost of a new Python); two run the real command to show the process itself stays quiet.
"""

import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv
import pytest

from softlogit.cli import main


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A trained model, the CSV it came from, bad data files, and existing outputs."""
    root = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=80), rng.normal(size=80)
    kind = rng.choice(["p", "q"], size=80)
    pv.write_csv(pa.table({"a": a, "b": b, "kind": kind,
                           "label": np.where(a + (kind == "p") > 0.5, "hi", "lo")}),
                 root / "good.csv")
    assert main(["fit", str(root / "good.csv"), "--no-figures", "--out", str(root / "run")]) == 0
    (root / "empty.csv").write_text("")
    (root / "one_class.csv").write_text("a,b,label\n1,2,x\n3,4,x\n5,6,x\n")
    (root / "nan.csv").write_text("a,b,label\n1,,x\n3,4,y\nnan,6,x\n7,8,y\n")
    (root / "extra.csv").write_text("a,b,kind,c\n1,2,p,3\n")
    (root / "unseen.csv").write_text("a,b,kind\n1,2,r\n")
    np.save(root / "plain.npy", np.zeros((2, 3)))
    (root / "dup.csv").write_text("a,a,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n")
    (root / "unseen_label.csv").write_text("a,b,kind,label\n1,2,p,hi\n1,2,q,maybe\n")
    model = (root / "run" / "model.softlogit").read_bytes()
    (root / "truncated.softlogit").write_bytes(model[: len(model) // 3])
    (root / "not_a_model.softlogit").write_text("a,b\n1,2\n")
    (root / "existing").mkdir()
    for name in ("model.softlogit", "metrics.json", "predictions.csv"):
        (root / "existing" / name).write_bytes(f"precious {name}\n".encode())
    return root


def _outputs(root):
    return {p.name: p.read_bytes() for p in (root / "existing").iterdir()}


CASES = {
    "missing file": (["fit", "{root}/nope.csv", "--out", "{root}/existing"],
                     "nope.csv: no such file"),
    "empty file": (["fit", "{root}/empty.csv", "--out", "{root}/existing"],
                   "empty.csv: the file is empty"),
    "unknown target": (["fit", "{root}/good.csv", "--target", "foo", "--out", "{root}/existing"],
                       "good.csv: target column 'foo' not found; columns are: a, b, kind, label"),
    "one class": (["fit", "{root}/one_class.csv", "--out", "{root}/existing"],
                  "one_class.csv: target column 'label' has only one class ('x')"),
    "NaN without impute": (["fit", "{root}/nan.csv", "--out", "{root}/existing"],
                           "nan.csv: missing values in column 'a' (1 row), column 'b' (1 row); "
                           "use --impute mean"),
    "duplicate column names": (["fit", "{root}/dup.csv", "--out", "{root}/existing"],
                               "dup.csv: column 'a' appears 2 times; column names must be "
                               "unique"),
    "duplicate column names, gradcheck": (["gradcheck", "{root}/dup.csv"],
                                          "dup.csv: column 'a' appears 2 times"),
    "wrong columns": (["predict", "{root}/run/model.softlogit", "{root}/extra.csv", "--out",
                       "{root}/existing/predictions.csv"],
                      "extra.csv: has 4 feature columns but the model expects 3; unexpected: c"),
    "renamed columns": (["predict", "{root}/run/model.softlogit", "{root}/plain.npy", "--out",
                         "{root}/existing/predictions.csv"],
                        "plain.npy: the names of its 3 feature columns differ from those the "
                        "model was trained on; missing: a, b, kind; unexpected: x0, x1, x2"),
    "unseen category": (["predict", "{root}/run/model.softlogit", "{root}/unseen.csv", "--out",
                         "{root}/existing/predictions.csv"],
                        "unseen.csv: column 'kind' has category 'r' not seen in training"),
    "truncated model": (["predict", "{root}/truncated.softlogit", "{root}/good.csv", "--out",
                         "{root}/existing/predictions.csv"],
                        "truncated.softlogit: the model file is truncated or corrupted"),
    "not a model": (["evaluate", "{root}/not_a_model.softlogit", "{root}/good.csv", "--out",
                     "{root}/existing"],
                    "not_a_model.softlogit: not a softlogit model file"),
    "unseen label": (["evaluate", "{root}/run/model.softlogit", "{root}/unseen_label.csv",
                      "--out", "{root}/existing"],
                     "unseen_label.csv: target column 'label' has 1 label(s) the model never "
                     "saw: 'maybe'"),
    "missing output directory": (["predict", "{root}/run/model.softlogit", "{root}/good.csv",
                                  "--out", "{root}/nowhere/predictions.csv"],
                                 "nowhere: no such directory"),
    "bad output type": (["predict", "{root}/run/model.softlogit", "{root}/good.csv", "--out",
                         "{root}/existing/predictions.xlsx"],
                        "predictions.xlsx: unknown output format; use .csv or .parquet"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gives_one_line_and_touches_nothing(workspace, capsys, case):
    argv, expected = CASES[case]
    before = _outputs(workspace)
    status = main([arg.format(root=workspace) for arg in argv])
    captured = capsys.readouterr()
    assert status == 1
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ") and expected in lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert _outputs(workspace) == before
    assert sorted(os.listdir(workspace / "existing")) == sorted(before)  # no stray temp files


def test_impute_mean_accepts_the_same_file(workspace, capsys):
    assert main(["fit", str(workspace / "nan.csv"), "--impute", "mean", "--test-size", "0"]) == 0
    assert "train" in capsys.readouterr().out


@pytest.mark.parametrize("argv, expected", [
    (["predict", "{root}/truncated.softlogit", "{root}/good.csv", "--out",
      "{root}/existing/predictions.csv"], "truncated or corrupted"),
    (["fit", "{root}/nan.csv", "--out", "{root}/existing"], "missing values"),
])
def test_the_real_command_exits_non_zero_with_one_line(workspace, argv, expected):
    before = _outputs(workspace)
    env = dict(os.environ, MPLBACKEND="Agg", NUMBA_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-m", "softlogit.cli",
                             *[a.format(root=workspace) for a in argv]],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
    assert _outputs(workspace) == before


def test_usage_errors_and_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--test-size"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == ("error: softlogit fit: argument --test-size: expected one "
                                       "argument (see softlogit fit --help)\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--penalty", "l3"])
    assert exit_info.value.code == 2 and "invalid choice: 'l3'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    from softlogit import __version__

    assert capsys.readouterr().out.strip() == f"softlogit {__version__}"


@pytest.mark.parametrize("command", ["fit", "predict", "evaluate", "gradcheck", "datasets"])
def test_every_command_has_help_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text and f"softlogit {command}" in text.replace("  ", " ")


def test_fit_with_infinite_C_prints_inf_and_tags_it_in_metrics(workspace, tmp_path, capsys):
    import json

    import softlogit
    from softlogit.io.model_file import json_float

    out = tmp_path / "no_penalty"
    status = main(["fit", str(workspace / "good.csv"), "--C", "inf", "--no-figures", "--out",
                   str(out)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "Traceback" not in captured.err
    assert "C=inf)" in captured.out
    params = json.loads((out / "metrics.json").read_text())["model"]["params"]
    assert params["C"] == {"__float__": "inf"} == json_float(float("inf"))
    assert softlogit.load(out / "model.softlogit").estimator.C == float("inf")


def test_integer_looking_text_labels_stay_distinct_through_fit_and_evaluate(tmp_path, capsys):
    import json

    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    labels = np.where(x + 0.3 * rng.normal(size=40) > 0, "01", "1")
    data = tmp_path / "codes.csv"
    data.write_text("x,target\n" + "".join(f"{a},{b}\n" for a, b in zip(x, labels)))
    assert main(["fit", str(data), "--test-size", "0", "--no-figures", "--out",
                 str(tmp_path / "run")]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["classes"] == [{"label": c, "count": int(np.sum(labels == c))}
                                  for c in ("01", "1")]
    assert main(["evaluate", str(tmp_path / "run" / "model.softlogit"), str(data), "--out",
                 str(tmp_path / "eval"), "--no-figures"]) == 0
    evaluation = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert [c["label"] for c in evaluation["classes"]] == ["01", "1"]
    assert evaluation["evaluation"]["accuracy"] == metrics["train"]["accuracy"]
    assert "Traceback" not in capsys.readouterr().err


def test_impute_mean_on_a_column_with_no_values_warns_in_words(tmp_path, capsys):
    data = tmp_path / "allnan.csv"
    data.write_text("a,e,target\n" + "".join(f"{i},,{i % 2}\n" for i in range(10)))
    assert main(["fit", str(data), "--impute", "mean", "--no-figures"]) == 0
    err = capsys.readouterr().err
    assert err.splitlines() == [f"warning: {data}: column 'e' has no values; --impute mean fills "
                                f"it with 0"]
