"""The .softlogit model file: exact round trips, atomic writes, and refusal of bad files."""

import hashlib
import io
import json
import os
import zipfile

import numpy as np
import pyarrow as pa
import pytest
import scipy.sparse as sp

import softlogit
from softlogit.io.encoding import TableEncoder
from softlogit.io.errors import ModelFileError
from softlogit.io.frame import Frame
from softlogit.io.model_file import FORMAT_VERSION
from softlogit.io.tabular import TabularModel


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y3 = np.array([3, 7, 11])[np.argmax(X @ rng.normal(size=(3, 3)), axis=1)]
    y2 = np.where(X[:, 0] + 0.5 * rng.normal(size=60) > 0, "spam", "ham")
    return X, y2, y3


def _same_predictions(a, b, X):
    pa_, pb = a.predict_proba(X), b.predict_proba(X)
    assert pa_.dtype == pb.dtype and pa_.tobytes() == pb.tobytes()  # bit for bit
    la, lb = a.predict(X), b.predict(X)
    assert la.dtype == lb.dtype and np.array_equal(la, lb)


@pytest.mark.parametrize("cls, labels", [("LogisticRegression", 1), ("SoftmaxRegression", 2),
                                         ("LogisticRegression", 2)])
def test_estimator_round_trip_is_exact(tmp_path, data, cls, labels):
    X, y = data[0], data[labels]
    model = getattr(softlogit, cls)(C=0.5, class_weight="balanced").fit(X, y)
    path = tmp_path / "m.softlogit"
    softlogit.save(model, path)
    loaded = softlogit.load(path)
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    assert np.array_equal(loaded.classes_, model.classes_)
    assert loaded.classes_.dtype == model.classes_.dtype
    assert np.array_equal(loaded.n_iter_, model.n_iter_)
    assert loaded.n_features_in_ == model.n_features_in_
    report, again = model.fit_report_, loaded.fit_report_
    assert (again.solver, again.n_iter, again.converged, again.reason) == \
        (report.solver, report.n_iter, report.converged, report.reason)
    assert np.array_equal(again.objective_history, report.objective_history)
    assert np.array_equal(again.params, report.params)
    _same_predictions(model, loaded, X)


def test_dict_parameters_with_integer_keys_and_sparse_data(tmp_path, data):
    X, _, y = data
    Xs = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
    model = softlogit.SoftmaxRegression(class_weight={3: 1.0, 7: 2.0, 11: 0.5}).fit(Xs, y)
    softlogit.save(model, tmp_path / "m.softlogit")
    loaded = softlogit.load(tmp_path / "m.softlogit")
    assert loaded.class_weight == {3: 1.0, 7: 2.0, 11: 0.5}
    _same_predictions(model, loaded, Xs)


def test_a_random_state_object_is_stored_as_none(tmp_path, data):
    X, y, _ = data
    model = softlogit.LogisticRegression(random_state=np.random.RandomState(0)).fit(X, y)
    softlogit.save(model, tmp_path / "m.softlogit")
    loaded = softlogit.load(tmp_path / "m.softlogit")
    assert loaded.random_state is None
    _same_predictions(model, loaded, X)


def test_tabular_model_round_trip_keeps_the_encoding(tmp_path):
    rng = np.random.default_rng(1)
    a = rng.normal(size=40)
    a[[3, 9]] = np.nan
    color = rng.choice(["red", "green", "blue"], size=40)
    y = np.where(np.nan_to_num(a) + (color == "red") > 0.3, "yes", "no")
    frame = Frame("train.csv", table=pa.table({"a": a, "color": color}))
    model = TabularModel(TableEncoder(impute="mean", handle_unknown="ignore"),
                         softlogit.LogisticRegression(), target_name="label").fit(frame, y)
    softlogit.save(model, tmp_path / "t.softlogit")
    loaded = softlogit.load(tmp_path / "t.softlogit")
    assert isinstance(loaded, TabularModel) and loaded.target_name == "label"
    assert loaded.feature_names == model.feature_names
    new = Frame("new.csv", table=pa.table({"label": ["x", "y"], "a": [np.nan, 1.0],
                                           "color": ["purple", "red"]}))
    _same_predictions(model, loaded, new)
    # the Python API also takes a pyarrow table or a file path
    import pyarrow.csv as pv

    pv.write_csv(new.table, tmp_path / "new.csv")
    assert loaded.predict_proba(tmp_path / "new.csv").tobytes() == \
        loaded.predict_proba(new.table).tobytes() == model.predict_proba(new).tobytes()


def test_failed_save_leaves_the_old_file_intact(tmp_path, data, monkeypatch):
    X, y, _ = data
    path = tmp_path / "m.softlogit"
    softlogit.save(softlogit.LogisticRegression().fit(X, y), path)
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space left"):
        softlogit.save(softlogit.LogisticRegression(C=0.01).fit(X, y), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.softlogit"]  # no temporary file left behind
    monkeypatch.undo()
    with pytest.raises(ValueError, match="not fitted"):
        softlogit.save(softlogit.LogisticRegression(), path)
    assert path.read_bytes() == before


def _rewrite(path, edit_meta=None, edit_member=None):
    """Rewrite a model zip, editing meta.json or one member's bytes (checksums kept valid)."""
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    meta = json.loads(members["meta.json"])
    if edit_member is not None:
        name, payload = edit_member
        members[name] = payload
        meta["arrays"][name]["sha256"] = hashlib.sha256(payload).hexdigest()
    if edit_meta is not None:
        edit_meta(meta)
    members["meta.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)


@pytest.fixture
def saved(tmp_path, data):
    X, y, _ = data
    path = tmp_path / "m.softlogit"
    softlogit.save(softlogit.LogisticRegression().fit(X, y), path)
    return path


def test_truncated_corrupted_and_foreign_files_are_refused(saved, tmp_path):
    good = saved.read_bytes()
    cases = {
        "truncated.softlogit": (good[: len(good) // 2], "truncated or corrupted"),
        "empty.softlogit": (b"", "the model file is empty"),
        "text.softlogit": (b"hello, I am not a model\n", "not a softlogit model file"),
    }
    for name, (payload, message) in cases.items():
        (tmp_path / name).write_bytes(payload)
        with pytest.raises(ModelFileError, match=message):
            softlogit.load(tmp_path / name)
    foreign = tmp_path / "foreign.softlogit"
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(ModelFileError, match="not a softlogit model file"):
        softlogit.load(foreign)
    with pytest.raises(ModelFileError, match="no such model file"):
        softlogit.load(tmp_path / "missing.softlogit")


def test_a_flipped_byte_is_detected(saved):
    data = bytearray(saved.read_bytes())
    with zipfile.ZipFile(saved) as archive:
        info = archive.getinfo("arrays/coef_.npy")
    # the member's data start after its local header (30 bytes + name + extra)
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + 5] ^= 0xFF
    saved.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="corrupted"):
        softlogit.load(saved)


def test_newer_format_versions_are_refused(saved):
    def bump(meta):
        meta["format_version"] = FORMAT_VERSION + 1

    _rewrite(saved, edit_meta=bump)
    with pytest.raises(ModelFileError, match=f"format version {FORMAT_VERSION + 1} .* is newer "
                                             f"than this softlogit reads"):
        softlogit.load(saved)


def test_pickled_arrays_are_refused(saved):
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    _rewrite(saved, edit_member=("arrays/coef_.npy", buffer.getvalue()))
    with pytest.raises(ModelFileError, match="holds Python objects"):
        softlogit.load(saved)


def test_unknown_estimator_classes_are_refused(saved):
    def rename(meta):
        meta["estimator"]["class"] = "os.system"

    _rewrite(saved, edit_meta=rename)
    with pytest.raises(ModelFileError, match="unknown estimator class"):
        softlogit.load(saved)
