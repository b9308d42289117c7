"""Check a model file's meta.json and arrays against each other before any model object exists.

What a fitted linear model must satisfy to predict (``docs/model-format.md``): ``classes_`` is
K ≥ 2 distinct, sorted labels of one type; ``coef_`` is (1, p) for the sigmoid model
(``LogisticRegression`` with K = 2) and (K, p) otherwise, with p = ``n_features_in_``;
``intercept_`` matches its rows; every number used to predict is finite; an encoder's arrays,
columns and feature names agree with each other and with p. Each failure is a
:class:`~softlogit.io.errors.ModelFileError` naming the file and what is wrong.
"""

from __future__ import annotations

import numbers

import numpy as np

from softlogit.io.model_reader import ModelLimits, refuse

import re

#: The fitted array attributes whose form is checked; others (a fitted attribute added by a
#: later softlogit) must only be named like one (lower case, ending in ``_``, no method's name).
ESTIMATOR_ARRAYS = ("classes_", "coef_", "intercept_", "n_iter_", "feature_names_in_")
_ATTRIBUTE_NAME = re.compile(r"[a-z][a-z0-9_]{0,100}_")
_REQUIRED_ARRAYS = ("classes_", "coef_", "intercept_")
_REPORT_ARRAYS = ("params", "objective_history", "grad_norm_history")


def check_meta(meta: dict, path, cls=None) -> None:
    """The structure of meta.json: the keys softlogit reads exist and have the right types."""
    _expect(meta.get("kind") in ("estimator", "tabular"), path,
            f"kind {meta.get('kind')!r} (expected 'estimator' or 'tabular')")
    refs = meta.get("arrays")
    _expect(isinstance(refs, dict), path, "meta.json has no 'arrays' table")
    for member, ref in refs.items():
        _expect(isinstance(ref, dict) and isinstance(ref.get("sha256"), str)
                and isinstance(ref.get("object", False), bool), path,
                f"the entry for {member!r} in 'arrays' is malformed")
    state = meta.get("estimator")
    _expect(isinstance(state, dict), path, "meta.json has no 'estimator' object")
    _expect(isinstance(state.get("params", None), dict), path, "estimator.params is missing")
    _expect(isinstance(state.get("attributes", None), dict), path,
            "estimator.attributes is missing")
    arrays = state.get("arrays")
    _expect(isinstance(arrays, dict), path, "estimator.arrays is missing")
    for key, ref in arrays.items():
        _expect(key in ESTIMATOR_ARRAYS or (
            isinstance(key, str) and _ATTRIBUTE_NAME.fullmatch(key)
            and (cls is None or not hasattr(cls, key))), path,
            f"estimator array {str(key)[:80]!r} is not a fitted attribute")
        _expect(ref in refs, path, f"estimator array {key!r} refers to {ref!r}, which is not "
                                   f"listed in 'arrays'")
    for key in _REQUIRED_ARRAYS:
        _expect(key in arrays, path, f"the estimator has no {key}")
    report = state.get("fit_report")
    if report is not None:
        _expect(isinstance(report, dict) and report.get("attribute") == "fit_report_"
                and isinstance(report.get("arrays"), dict)
                and set(report["arrays"]) == set(_REPORT_ARRAYS)
                and all(r in refs for r in report["arrays"].values()), path,
                "fit_report is malformed")
        _expect(_is_int(report.get("n_iter")) and report["n_iter"] >= 0
                and isinstance(report.get("converged"), bool)
                and isinstance(report.get("reason"), str)
                and isinstance(report.get("solver"), str)
                and isinstance(report.get("info", {}) or {}, dict), path,
                "fit_report has a field of the wrong type")
    if meta["kind"] == "tabular":
        _expect(meta.get("target_name") is None or isinstance(meta.get("target_name"), str),
                path, "target_name is not text")
        encoder = meta.get("encoder")
        _expect(isinstance(encoder, dict) and isinstance(encoder.get("arrays"), dict), path,
                "the tabular model has no encoder")
        for key, ref in encoder["arrays"].items():
            _expect(ref in refs, path, f"encoder array {key!r} refers to {ref!r}, which is "
                                       f"not listed in 'arrays'")


def check_attributes(cls, attributes: dict, path, limits: ModelLimits) -> int:
    """The scalar fitted attributes; returns p = ``n_features_in_``."""
    for key in attributes:
        _expect(_ATTRIBUTE_NAME.fullmatch(key) and not hasattr(cls, key), path,
                f"attribute {key[:80]!r} is not a fitted attribute of {cls.__name__}")
    p = attributes.get("n_features_in_")
    _expect(_is_int(p) and 1 <= p <= limits.features, path,
            f"n_features_in_ = {_short(p)} (expected an integer in 1..{limits.features})")
    return int(p)


def check_estimator_arrays(cls_name: str, arrays: dict, p: int, path,
                           limits: ModelLimits) -> None:
    """``classes_``, ``coef_``, ``intercept_`` (and the optional ones) consistent with ``p``."""
    classes = arrays["classes_"]
    _expect(classes.ndim == 1 and 2 <= classes.size <= limits.classes, path,
            f"classes_ has shape {classes.shape} (expected 2..{limits.classes} labels)")
    _expect(classes.dtype.kind in "iubfUO", path, f"classes_ has dtype {classes.dtype}")
    if classes.dtype == object:
        _expect(all(isinstance(c, str) for c in classes.tolist()), path,
                "classes_ mixes labels of different types")
    if classes.dtype.kind == "f":
        _finite(classes, "classes_", path)
    _expect(bool(np.all(classes[1:] > classes[:-1])), path,
            "classes_ is not sorted without repeats")
    K = classes.size
    k = 1 if cls_name == "LogisticRegression" and K == 2 else K
    coef = arrays["coef_"]
    _expect(coef.dtype.kind == "f" and coef.shape == (k, p), path,
            f"coef_ has shape {coef.shape} and dtype {coef.dtype}; a {cls_name} with {K} "
            f"classes and n_features_in_ = {p} has float ({k}, {p})")
    _expect(k * p <= limits.parameters, path, f"{k}·{p} coefficients (limit "
                                              f"{limits.parameters})")
    _finite(coef, "coef_", path)
    intercept = arrays["intercept_"]
    _expect(intercept.dtype.kind == "f" and intercept.shape == (k,), path,
            f"intercept_ has shape {intercept.shape} and dtype {intercept.dtype}; expected "
            f"float ({k},)")
    _finite(intercept, "intercept_", path)
    if "n_iter_" in arrays:
        n_iter = arrays["n_iter_"]
        _expect(n_iter.dtype.kind in "iu" and n_iter.ndim == 1 and n_iter.size >= 1
                and bool(np.all(n_iter >= 0)), path, "n_iter_ is not non-negative integers")
    if "feature_names_in_" in arrays:
        names = arrays["feature_names_in_"]
        _expect(names.shape == (p,) and (names.dtype.kind == "U" or (
            names.dtype == object and all(isinstance(n, str) for n in names.tolist()))),
            path, f"feature_names_in_ is not {p} names")


def check_report_arrays(fields: dict, path, limits: ModelLimits) -> None:
    params = fields["params"]
    _expect(params.dtype.kind == "f" and params.ndim == 1
            and params.size <= limits.parameters + limits.classes, path,
            "fit_report params are not a vector of floats")
    for name in ("objective_history", "grad_norm_history"):
        history = fields[name]
        _expect(history.dtype.kind == "f" and history.ndim == 1
                and history.size <= limits.history, path,
                f"fit_report {name} is not a float vector of at most {limits.history} values")


def check_encoder(encoder: dict, arrays: dict, p: int, path, limits: ModelLimits) -> None:
    """An encoder's settings, columns, names and arrays agree with each other and with p."""
    from softlogit.io.encoding import HANDLE_UNKNOWN, IMPUTE

    _expect(encoder.get("impute") in IMPUTE, path, f"encoder impute {_short(encoder.get('impute'))}")
    _expect(encoder.get("handle_unknown") in HANDLE_UNKNOWN, path,
            f"encoder handle_unknown {_short(encoder.get('handle_unknown'))}")
    _expect(isinstance(encoder.get("standardize"), bool), path, "encoder standardize is not "
                                                                "true or false")
    names = encoder.get("feature_names_out")
    _expect(isinstance(names, list) and all(isinstance(n, str) for n in names), path,
            "encoder feature_names_out is not a list of names")
    _expect(len(names) == p, path, f"the encoder makes {len(names)} features but the "
                                   f"estimator expects n_features_in_ = {p}")
    n_in = encoder.get("n_columns_in")
    columns = encoder.get("columns")
    if columns is None:
        _expect(isinstance(encoder.get("zero_based"), bool) and _is_int(n_in) and n_in == p,
                path, "a sparse (svmlight) encoder needs zero_based and n_columns_in = "
                      "n_features_in_")
        _expect(names == [f"x{j}" for j in range(p)], path,
                "a sparse encoder's feature names are not x0, x1, …")
    else:
        _expect(isinstance(columns, list) and _is_int(n_in) and n_in == len(columns), path,
                "encoder columns do not match n_columns_in")
        from softlogit.io.columns import DATE_PARTS
        from softlogit.io.encoding import output_names

        expected = []
        for spec in columns:
            _expect(isinstance(spec, dict) and isinstance(spec.get("name"), str)
                    and spec.get("kind") in ("numeric", "categorical", "date"), path,
                    "an encoder column is malformed")
            cats = spec.get("categories")
            if spec["kind"] == "categorical":
                _expect(isinstance(cats, list) and all(isinstance(c, str) for c in cats)
                        and len(set(cats)) == len(cats), path,
                        f"column {spec['name']!r} has categories that are not distinct text")
                _expect(spec.get("fill") is None or spec.get("fill") in cats, path,
                        f"column {spec['name']!r} fills missing cells with an unknown category")
                _expect(isinstance(spec.get("reference", False), bool), path,
                        f"column {spec['name']!r} has a malformed reference flag")
            else:
                _expect(cats is None, path, f"column {spec['name']!r} has categories")
            if spec["kind"] == "date":
                parts = spec.get("parts")
                _expect(isinstance(parts, list) and set(parts) <= set(DATE_PARTS), path,
                        f"date column {spec['name']!r} has unknown parts")
            expected.extend(output_names({"parts": None, "reference": False, **spec}))
        _expect(len({s["name"] for s in columns}) == len(columns), path,
                "two encoder columns share a name")
        _expect(expected == names, path, "the encoder's feature names do not follow from its "
                                         "columns")
    for key in ("fill", "center", "scale"):
        _expect(key in arrays, path, f"the encoder has no {key} array")
        value = arrays[key]
        _expect(value.dtype.kind == "f" and value.shape == (p,), path,
                f"encoder {key} has shape {value.shape}; expected ({p},)")
        _finite(value, f"encoder {key}", path)
    _expect(bool(np.all(arrays["scale"] > 0)), path, "encoder scale has values ≤ 0")


def _finite(array, name, path) -> None:
    if not np.isfinite(array).all():
        raise refuse(path, f"{name} holds NaN or infinite values")


def _expect(condition, path, what: str) -> None:
    if not condition:
        raise refuse(path, what)


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
