"""Fuzzing (Hypothesis, bounded: few examples, derandomised): mutated model files and small CSVs.

Whatever the mutation, ``load`` either returns a model or raises ``ModelFileError``, and the
command line ends with exit status 0, or 1 with one ``error:`` line that is a specific message,
never the last-resort ``(unexpected …; run with --debug …)`` one that a crash would produce.
"""

import contextlib
import io
import os
import sys
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.csv as pv
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import softlogit
from softlogit.cli import main
from softlogit.io.errors import ModelFileError

sys.path.insert(0, os.path.dirname(__file__))
import hostile_models  # noqa: E402

FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    rng = np.random.default_rng(0)
    a = rng.normal(size=40)
    kind = rng.choice(["p", "q", "r"], size=40)
    pv.write_csv(pa.table({"a": a, "kind": kind, "label": np.where(a > 0, "x", "y")}),
                 root / "data.csv")
    assert main(["fit", str(root / "data.csv"), "--no-figures", "--test-size", "0",
                 "--out", str(root / "run")]) == 0
    return root


def _cli(argv):
    err, out = io.StringIO(), io.TextIOWrapper(io.BytesIO())  # predict writes to .buffer
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        status = main(argv)
    return status, err.getvalue()


def _assert_clean(status, err):
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert status in (0, 1), (status, err)
    if status == 1:
        assert len(errors) == 1, err
        assert "--debug" not in errors[0] and "Traceback" not in err, err
    assert "\x1b" not in err


def _leaves(value, path=()):
    """Paths to every value in a JSON tree (containers included)."""
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False,
                                                                        allow_infinity=False)
    | st.text(max_size=8) | st.sampled_from(["inf", "numeric", "categorical", "l2", "x"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["__float__", "__dict__", "name", "kind", "a"]),
                      children, max_size=2),
    max_leaves=6)

array_values = st.sampled_from(["<f8", "<f4", "<i8", "|b1", "<U3", ">f8"]).flatmap(
    lambda dtype: st.tuples(st.just(dtype), st.lists(st.integers(0, 4), min_size=0,
                                                     max_size=3),
                            st.floats(-1e6, 1e6) | st.just(float("nan"))))


def _try_model(path, data_csv):
    try:
        softlogit.load(path)
    except ModelFileError:
        pass
    for command in ("predict", "evaluate"):
        _assert_clean(*_cli([command, str(path), str(data_csv)]))


@FUZZ
@given(choice=st.data())
def test_mutated_meta_json(trained, tmp_path, choice):
    meta, members = hostile_models.members_of(trained / "run" / "model.softlogit")
    paths = [p for p in _leaves(meta) if p]
    target = choice.draw(st.sampled_from(paths))
    value = choice.draw(json_values)
    holder = meta
    for key in target[:-1]:
        holder = holder[key]
    if choice.draw(st.booleans()) and isinstance(holder, dict):
        holder.pop(target[-1])
    else:
        holder[target[-1]] = value
    path = tmp_path / "m.softlogit"
    hostile_models.write_model(path, meta, members)
    _try_model(path, trained / "data.csv")


@FUZZ
@given(choice=st.data())
def test_mutated_arrays(trained, tmp_path, choice):
    meta, members = hostile_models.members_of(trained / "run" / "model.softlogit")
    name = choice.draw(st.sampled_from(sorted(members)))
    dtype, shape, fill = choice.draw(array_values)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NaN cast to an integer: whatever it gives is fine
        array = (np.full(shape, fill).astype(dtype) if dtype[1] != "U"
                 else np.full(shape, "ab"))
    members[name] = hostile_models.npy(array)
    if choice.draw(st.booleans()):
        meta["arrays"][name]["object"] = choice.draw(st.booleans())
    path = tmp_path / "m.softlogit"
    hostile_models.write_model(path, meta, members)
    _try_model(path, trained / "data.csv")


@FUZZ
@given(edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1,
                      max_size=4),
       cut=st.none() | st.floats(0, 1))
def test_mutated_bytes(trained, tmp_path, edits, cut):
    data = bytearray((trained / "run" / "model.softlogit").read_bytes())
    for where, byte in edits:
        data[int(where * (len(data) - 1))] = byte
    if cut is not None:
        data = data[:int(cut * len(data))]
    path = tmp_path / "m.softlogit"
    path.write_bytes(bytes(data))
    _try_model(path, trained / "data.csv")


cells = st.sampled_from(["", "1", "-2.5", "1e400", "nan", "inf", "x", "y", "[/]", "[red]",
                         "\x1b[2J", "a,b", '"', "01", "true", " "])


@FUZZ
@given(header=st.lists(cells | st.text(max_size=4) | st.just("target"), min_size=1, max_size=3),
       rows=st.lists(st.lists(cells, min_size=1, max_size=4), min_size=0, max_size=6))
def test_small_csvs(trained, tmp_path, header, rows):
    text = ",".join(header) + "\n" + "".join(",".join(r) + "\n" for r in rows)
    path = tmp_path / "d.csv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _assert_clean(*_cli(["fit", str(path), "--no-figures", "--test-size", "0"]))
    _assert_clean(*_cli(["predict", str(trained / "run" / "model.softlogit"), str(path)]))
