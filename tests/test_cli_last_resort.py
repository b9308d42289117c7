"""The last-resort handler: an unexpected exception is one line naming the file, exit 1;
``--debug`` (before or after the command's name) shows the traceback instead."""

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv
import pytest

import softlogit.cli.predict as predict_command
from softlogit.cli import main


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    root = tmp_path_factory.mktemp("last")
    x = np.random.default_rng(0).normal(size=30)
    pv.write_csv(pa.table({"x": x, "target": np.where(x > 0, "a", "b")}), root / "d.csv")
    assert main(["fit", str(root / "d.csv"), "--no-figures", "--test-size", "0", "--out",
                 str(root / "run")]) == 0
    return root


def _boom(*args, **kwargs):
    raise TypeError("an internal bug")


def test_an_unexpected_error_is_one_line_naming_the_file(fitted, monkeypatch, capsys):
    monkeypatch.setattr(predict_command, "prediction_table", _boom)
    capsys.readouterr()
    argv = ["predict", str(fitted / "run" / "model.softlogit"), str(fitted / "d.csv")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err == (f"error: {fitted / 'd.csv'}: an internal bug (unexpected TypeError; run "
                   f"with --debug for the traceback)\n")
    for debug in (["--debug", *argv], [*argv[:1], "--debug", *argv[1:]]):
        with pytest.raises(TypeError, match="an internal bug"):
            main(debug)


def test_an_unexpected_error_in_the_output_phase_names_the_directory(fitted, monkeypatch,
                                                                      capsys):
    import softlogit.io.atomic as atomic

    monkeypatch.setattr(atomic, "_carry_over", _boom)
    out = fitted / "run"
    before = sorted(p.name for p in out.iterdir())
    assert main(["fit", str(fitted / "d.csv"), "--no-figures", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {out}: an internal bug (unexpected TypeError")
    assert sorted(p.name for p in out.iterdir()) == before
