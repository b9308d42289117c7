"""Save and load fitted models in the ``.softlogit`` format: a zip of JSON and ``.npy`` files.

The format (version 1, documented in ``docs/model-format.md``) is safe to load: nothing is
unpickled. Arrays are plain ``.npy`` files read with ``allow_pickle=False``; everything else is
JSON. A model file holds:

- ``meta.json`` — the format name and version, the softlogit version that wrote it, the
  estimator's class name, parameters and scalar fitted attributes, the fit report, the
  encoder's settings (for a :class:`~softlogit.io.tabular.TabularModel`), and the SHA-256 of
  every array file;
- ``arrays/<name>.npy`` — coefficients, intercepts, classes, feature names, encoder arrays and
  the fit report's parameters and histories.

:func:`save` writes atomically (a temporary file in the same directory, ``fsync``, then
:func:`os.replace`), so a failed save leaves an existing file as it was. :func:`load` refuses
a truncated, corrupted or foreign file, or one from a newer format version, with a
:class:`~softlogit.io.errors.ModelFileError`. Arrays round-trip bit for bit, so a loaded model
predicts exactly what the saved one did.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import math
import os
import zipfile
import zlib

import numpy as np

from softlogit.io.atomic import atomic_write_bytes
from softlogit.io.errors import ModelFileError
from softlogit.io.model_reader import (
    DEFAULT_LIMITS, ModelLimits, checksum, open_archive, parse_meta, read_array, read_entry,
    read_file, refuse,
)
from softlogit.io.model_schema import (
    check_attributes, check_encoder, check_estimator_arrays, check_meta, check_report_arrays,
)

FORMAT_NAME = "softlogit-model"
FORMAT_VERSION = 1
#: The estimator classes a model file may name (nothing else is ever instantiated).
ESTIMATOR_CLASSES = ("LogisticRegression", "SoftmaxRegression")


def save(model, path) -> None:
    """Write ``model`` to ``path`` atomically.

    Parameters
    ----------
    model : a fitted ``LogisticRegression``/``SoftmaxRegression``, or a fitted
        :class:`~softlogit.io.tabular.TabularModel` (encoder + estimator, what the CLI saves),
        or a scikit-learn ``Pipeline`` of a ``TableEncoder`` and an estimator (loaded back as
        the same ``Pipeline``).
    path : destination file, by convention ending in ``.softlogit``.

    Examples
    --------
    >>> import numpy as np, tempfile, os, softlogit
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array(["a", "a", "b", "b"])
    >>> model = softlogit.LogisticRegression().fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "m.softlogit")
    >>> softlogit.save(model, path)
    >>> bool((softlogit.load(path).predict_proba(X) == model.predict_proba(X)).all())
    True
    """
    atomic_write_bytes(path, model_bytes(model))


def model_bytes(model) -> bytes:
    """The bytes :func:`save` writes for ``model`` (for writers that place files themselves)."""
    from softlogit._version import __version__
    from softlogit.io.tabular import TabularModel, from_pipeline

    store = _ArrayStore()
    meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
            "softlogit_version": __version__,
            "created_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    if hasattr(model, "steps") and hasattr(model, "named_steps"):  # a scikit-learn Pipeline
        model, meta["pipeline_steps"] = from_pipeline(model)
    if isinstance(model, TabularModel):
        enc_meta, enc_arrays = model.encoder.get_state()
        meta["kind"] = "tabular"
        meta["target_name"] = model.target_name
        meta["id_name"] = model.id_name
        meta["encoder"] = dict(enc_meta, arrays={k: store.put(f"encoder.{k}", v)
                                                for k, v in enc_arrays.items()})
        estimator = model.estimator
    else:
        meta["kind"] = "estimator"
        estimator = model
    meta["estimator"] = _estimator_state(estimator, store)
    meta["arrays"] = store.checksums
    return store.zip_bytes(meta)


def load(path, *, limits: ModelLimits = DEFAULT_LIMITS):
    """Read a model written by :func:`save`: an estimator or a ``TabularModel``, as saved.

    The file is untrusted: every size is checked against ``limits`` before it is allocated
    (:mod:`softlogit.io.model_reader`), and every array against the meta data
    (:mod:`softlogit.io.model_schema`), before a model object exists.

    Raises
    ------
    ModelFileError
        The file is missing, not a regular file, empty, too large, truncated, corrupted, not a
        softlogit model, inconsistent, or from a newer format version than this softlogit
        reads.
    """
    path = os.fspath(path)
    data = read_file(path, limits)
    archive = open_archive(data, path, limits)
    with archive:
        try:
            meta = parse_meta(read_entry(archive, "meta.json", path), path, limits)
            _check_header(meta, path)
            check_meta(meta, path, _estimator_class(meta, path))
            members = set(archive.namelist()) - {"meta.json"}
            listed = set(meta["arrays"])
            if members - listed:
                raise refuse(path, f"unexpected entry {sorted(members - listed)[0]!r}")
            if listed - members:
                raise ModelFileError(f"{path}: the model file is truncated or corrupted (no "
                                     f"{sorted(listed - members)[0]!r})")
            arrays = _read_arrays(archive, meta["arrays"], path, limits)
            return _build(meta, arrays, path, limits)
        except ModelFileError:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, TypeError, ValueError,
                AttributeError, IndexError, OverflowError, RecursionError) as exc:
            raise ModelFileError(f"{path}: the model file is corrupted ({_line(exc)})") from None


# --- writing -------------------------------------------------------------------------------


class _ArrayStore:
    """Collects arrays as ``.npy`` bytes and hands back the reference stored in meta.json."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.checksums: dict[str, dict] = {}

    def put(self, name: str, value) -> str:
        array = np.asarray(value)
        is_object = array.dtype == object
        if is_object:
            # Object arrays need pickle; text in them is stored as fixed-width Unicode and the
            # object dtype is restored on load.
            if not all(isinstance(v, str) for v in array.ravel()):
                raise ValueError(f"cannot save {name}: an object array that is not all text")
            array = array.astype(str)
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        path = f"arrays/{name}.npy"
        self.files[path] = buffer.getvalue()
        self.checksums[path] = {"sha256": hashlib.sha256(self.files[path]).hexdigest(),
                                "object": bool(is_object)}
        return path

    def zip_bytes(self, meta: dict) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("meta.json", json.dumps(meta, indent=1, allow_nan=False))
            for path, payload in self.files.items():
                archive.writestr(path, payload)
        return buffer.getvalue()


def _estimator_state(estimator, store: _ArrayStore) -> dict:
    from softlogit.solvers import SolverResult

    name = type(estimator).__name__
    if name not in ESTIMATOR_CLASSES:
        raise ValueError(f"cannot save a {name}; expected one of {', '.join(ESTIMATOR_CLASSES)} "
                         f"or a TabularModel")
    if not hasattr(estimator, "coef_"):
        raise ValueError(f"cannot save this {name}: it is not fitted yet")
    params, dropped = {}, []
    for key, value in estimator.get_params(deep=False).items():
        if key == "callback":
            continue
        if key == "random_state" and not (value is None or isinstance(value, (int, np.integer))):
            # A RandomState/Generator has no safe file form; predictions do not depend on it.
            value = None
            dropped.append(key)
        params[key] = _to_json(value, key)
    state = {"class": name, "params": params, "attributes": {}, "arrays": {},
             "fit_report": None}
    if dropped:
        state["dropped_params"] = dropped
    for key, value in vars(estimator).items():
        if not key.endswith("_") or key.startswith("_"):
            continue
        if isinstance(value, SolverResult):
            report = value.to_dict()
            arrays = {f: store.put(f"{key}.{f}", getattr(value, f))
                      for f in ("params", "objective_history", "grad_norm_history")}
            for f in ("objective_history", "grad_norm_history", "objective", "grad_norm"):
                report.pop(f, None)
            report["info"] = json.loads(json.dumps(report["info"], default=str))
            state["fit_report"] = {"attribute": key, "arrays": arrays,
                                   **_json_safe_floats(report)}
        elif isinstance(value, np.ndarray):
            state["arrays"][key] = store.put(key, value)
        else:
            state["attributes"][key] = _to_json(value, key)
    return state


def json_float(value: float):
    """``value`` as JSON: itself when finite, else tagged ``{"__float__": "inf"}`` (or ``"-inf"``,
    ``"nan"``), the form the model file stores non-finite floats in (JSON has no such numbers)."""
    value = float(value)
    return value if math.isfinite(value) else {"__float__": repr(value)}


def _to_json(value, name):
    """JSON form of a parameter or scalar attribute; dicts and odd floats are tagged."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return json_float(value)
    if isinstance(value, (list, tuple)):
        return [_to_json(v, name) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[_to_json(k, name), _to_json(v, name)] for k, v in value.items()]}
    raise ValueError(f"cannot save {name}={value!r}: a {type(value).__name__} has no safe "
                     f"file form")


def _from_json(value):
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__float__"} and value["__float__"] in ("inf", "-inf", "nan"):
            return float(value["__float__"])
        if set(value) == {"__dict__"} and isinstance(value["__dict__"], list) and all(
                isinstance(kv, list) and len(kv) == 2 for kv in value["__dict__"]):
            return {_hashable(_from_json(k)): _from_json(v) for k, v in value["__dict__"]}
        raise ValueError(f"unexpected JSON object {str(value)[:80]}")
    return value


def _hashable(value):
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        raise ValueError("a dict cannot be a key")
    return value


def _json_safe_floats(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe_floats(v) for v in value]
    return value


# --- reading -------------------------------------------------------------------------------


def _check_header(meta, path) -> None:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path}: not a softlogit model file (meta.json has no "
                             f"'format': '{FORMAT_NAME}')")
    version = meta.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path}: the model file is corrupted (format_version {version!r})")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {version} (written by softlogit "
            f"{meta.get('softlogit_version', '?')}) is newer than this softlogit reads "
            f"(version {FORMAT_VERSION}); upgrade softlogit to load it")


def _read_arrays(archive: zipfile.ZipFile, refs: dict, path, limits) -> dict:
    arrays = {}
    for member, ref in refs.items():
        payload = read_entry(archive, member, path)
        if checksum(payload) != ref["sha256"]:
            raise ModelFileError(f"{path}: the model file is corrupted ({member} does not "
                                 f"match its checksum)")
        array = read_array(payload, member, path, limits)
        if ref.get("object", False):
            if array.dtype.kind != "U":
                raise refuse(path, f"{member} is marked as text but holds {array.dtype}")
            array = array.astype(object)
        arrays[member] = array
    return arrays


def _build(meta: dict, arrays: dict, path, limits):
    """Validate every part against the others, then make the objects (only then); a model
    saved from a ``Pipeline`` comes back as that ``Pipeline``."""
    model = _build_model(meta, arrays, path, limits)
    steps = meta.get("pipeline_steps")
    if steps is not None:
        from softlogit.io.tabular import to_pipeline

        return to_pipeline(model, steps)
    return model


def _build_model(meta: dict, arrays: dict, path, limits):
    state = meta["estimator"]
    cls, params, p = _check_estimator_state(state, arrays, path, limits)
    encoder_arrays = None
    if meta["kind"] == "tabular":
        enc_meta = meta["encoder"]
        encoder_arrays = {k: arrays[ref] for k, ref in enc_meta["arrays"].items()}
        check_encoder(enc_meta, encoder_arrays, p, path, limits)
    estimator = _build_estimator(cls, params, state, arrays)
    if meta["kind"] == "estimator":
        return estimator
    from softlogit.io.encoding import TableEncoder
    from softlogit.io.tabular import TabularModel

    encoder = TableEncoder.from_state(meta["encoder"], encoder_arrays)
    id_name = meta.get("id_name")
    if not (id_name is None or isinstance(id_name, str)):
        raise refuse(path, "id_name is not a column name")
    return TabularModel(encoder, estimator, target_name=meta.get("target_name"),
                        id_name=id_name)


def _estimator_class(meta: dict, path):
    """The estimator class meta.json names: only one of :data:`ESTIMATOR_CLASSES`."""
    import softlogit.estimators as estimators

    state = meta.get("estimator")
    name = state.get("class") if isinstance(state, dict) else None
    if not isinstance(name, str) or name not in ESTIMATOR_CLASSES:
        raise ModelFileError(f"{path}: unknown estimator class {str(name)[:80]!r} (expected "
                             f"one of {', '.join(ESTIMATOR_CLASSES)})")
    return getattr(estimators, name)


def _check_estimator_state(state: dict, arrays: dict, path, limits):
    import warnings

    from softlogit.estimators.base import check_params

    cls = _estimator_class({"estimator": state}, path)
    name = cls.__name__
    known = set(cls().get_params(deep=False)) - {"callback"}
    unknown = sorted(set(state["params"]) - known)
    if unknown:
        raise refuse(path, f"{name} has no parameter {unknown[0][:80]!r}")
    try:
        params = {k: _from_json(v) for k, v in state["params"].items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check_params(cls(**params))
    except (ValueError, TypeError) as exc:
        raise refuse(path, f"estimator parameters: {_line(exc)}") from None
    p = check_attributes(cls, state["attributes"], path, limits)
    fitted = {k: arrays[ref] for k, ref in state["arrays"].items()}
    check_estimator_arrays(name, fitted, p, path, limits)
    report = state.get("fit_report")
    if report is not None:
        check_report_arrays({f: arrays[r] for f, r in report["arrays"].items()}, path, limits)
    return cls, params, p


def _build_estimator(cls, params: dict, state: dict, arrays: dict):
    from softlogit.solvers import SolverResult

    estimator = cls(**params)
    for key, value in state["attributes"].items():
        setattr(estimator, key, _from_json(value))
    for key, ref in state["arrays"].items():
        setattr(estimator, key, arrays[ref])
    report = state.get("fit_report")
    if report is not None:
        fields = {f: arrays[ref] for f, ref in report["arrays"].items()}
        setattr(estimator, report["attribute"], SolverResult(
            params=fields["params"], n_iter=int(report["n_iter"]),
            converged=bool(report["converged"]), reason=str(report["reason"]),
            objective_history=fields["objective_history"],
            grad_norm_history=fields["grad_norm_history"], solver=str(report["solver"]),
            info=dict(report.get("info") or {})))
    return estimator


def _line(exc) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
