"""Encode a frame's feature columns as the float64 matrix the estimators are fitted on.

What :class:`TableEncoder` learns at ``fit`` and applies unchanged at ``transform``:

- *Which columns.* All of them, or those named in ``features``, less those in ``drop``. At
  ``transform`` the same columns are found by name; columns the encoder left out at fit (the
  target, dropped or identifier columns) may be present and are ignored.
- *Column kinds* (:mod:`softlogit.io.columns`, where identifiers and near-numeric text are
  refused). Numeric columns (integers, floats, booleans, decimals) are used as they are; text
  columns, and numeric columns named in ``categorical``, are one-hot encoded, one indicator per
  category seen in training (sorted), named ``column=category``. With
  ``coding="reference"`` the first category of each column is the reference level and gets no
  indicator (what an unpenalised fit with an intercept needs to be identifiable); dates become
  numbers with ``dates="parts"``.
- *Unseen categories.* At ``transform`` a category not seen in training is an error naming the
  column, value and rows (``handle_unknown="error"``), or gives all-zero indicators
  (``"ignore"``).
- *Missing values* (what is missing: :mod:`softlogit.io.readers`). An error naming the columns
  and row counts, unless ``impute`` is ``"mean"`` or ``"median"``: then numeric columns are
  filled with that statistic of the training rows, and text columns with their most frequent
  training category (``impute_text="missing"`` makes ``missing`` a category of its own instead,
  with or without ``impute``). A numeric column with no values at all is filled with 0, with a
  :class:`~softlogit.io.errors.DataWarning` naming it. Infinite values are always an error.
- *Scaling.* With ``standardize=True`` numeric columns become ``(x − mean) / std`` (training
  mean and standard deviation; a constant column keeps scale 1). Sparse (svmlight) data are only
  divided by the standard deviation, so that zeros stay zeros. Indicators are not scaled.

The encoder is a scikit-learn transformer: ``fit``/``transform`` take a
:class:`~softlogit.io.frame.Frame`, a :class:`pyarrow.Table`, or a pandas or polars data frame.
The learned state is plain arrays and JSON values (:meth:`TableEncoder.get_state`), which the
model file stores without pickle.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from softlogit.io.columns import as_text, column_spec
from softlogit.io.errors import DataError
from softlogit.io.frame import Frame

IMPUTE = (None, "mean", "median")
IMPUTE_TEXT = (None, "most_frequent", "missing")
HANDLE_UNKNOWN = ("error", "ignore")
CODING = ("onehot", "reference")
DATES = ("error", "parts")


class TableEncoder(TransformerMixin, BaseEstimator):
    """Learn and apply the column encoding of a table (the encoding ``softlogit fit`` uses).

    Parameters
    ----------
    impute : ``None`` (missing values are an error), ``"mean"`` or ``"median"`` (numeric
        columns; text columns then get their most frequent category).
    impute_text : ``None`` (follow ``impute``), ``"most_frequent"`` or ``"missing"`` (a
        category of its own).
    handle_unknown : ``"error"`` or ``"ignore"`` for categories unseen in training.
    standardize : scale numeric columns to zero mean and unit variance.
    coding : ``"onehot"`` (an indicator per category) or ``"reference"`` (drop the first).
    categorical : names of numeric columns to encode as categories (integer codes).
    features : names of the columns to use (default: all).
    drop : names of columns to leave out.
    dates : ``"error"`` (date columns are refused) or ``"parts"`` (year, month, day, weekday).

    Attributes
    ----------
    columns_ : list of column specs (:func:`softlogit.io.columns.column_spec`) for tabular
        input (``None`` for sparse).
    ignored_ : names of the columns present at fit that are not used.
    n_columns_in_ : number of input feature columns used.
    feature_names_out_ : names of the encoded columns.
    fill_ : (n_out,) values used for missing numbers (training mean or median; 0 elsewhere).
    center_, scale_ : (n_out,) the standardisation (0 and 1 where nothing is done).
    zero_based_ : for svmlight input, whether its feature indices start at 0.

    Examples
    --------
    >>> import pyarrow as pa
    >>> table = pa.table({"a": [1.0, 2.0, 3.0], "c": ["x", "y", "x"]})
    >>> enc = TableEncoder(standardize=False).fit(table)
    >>> enc.feature_names_out_
    ['a', 'c=x', 'c=y']
    >>> enc.transform(table).tolist()
    [[1.0, 1.0, 0.0], [2.0, 0.0, 1.0], [3.0, 1.0, 0.0]]
    >>> TableEncoder(standardize=False, coding="reference").fit(table).feature_names_out_
    ['a', 'c=y']
    """

    def __init__(self, *, impute=None, impute_text=None, handle_unknown="error",
                 standardize=True, coding="onehot", categorical=(), features=None, drop=(),
                 dates="error"):
        self.impute = impute
        self.impute_text = impute_text
        self.handle_unknown = handle_unknown
        self.standardize = standardize
        self.coding = coding
        self.categorical = categorical
        self.features = features
        self.drop = drop
        self.dates = dates

    def _check_params(self):
        for name, allowed in (("impute", IMPUTE), ("impute_text", IMPUTE_TEXT),
                              ("handle_unknown", HANDLE_UNKNOWN), ("coding", CODING),
                              ("dates", DATES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}; got {getattr(self, name)!r}")

    # --- fit ---------------------------------------------------------------------------------

    def fit(self, X, y=None) -> TableEncoder:
        """Learn column kinds, categories, fill values and scaling from the table ``X``."""
        from softlogit.io.tabular import as_frame

        self._check_params()
        frame = as_frame(X)
        if frame.table is None:
            self.columns_ = None
            self.ignored_ = []
            self.zero_based_ = bool(frame.zero_based)
            width = frame.sparse.shape[1] - (0 if self.zero_based_ else 1)
            self.n_columns_in_ = int(width)
            self.feature_names_out_ = [f"x{j}" for j in range(width)]
            self.fill_ = np.zeros(width)
            X = self._sparse_matrix(frame)
            self.center_ = np.zeros(width)
            self.scale_ = _sparse_std(X) if self.standardize else np.ones(width)
            return self
        self.zero_based_ = None
        used = _selected_columns(frame, self.features, self.drop, self.categorical)
        self.ignored_ = [n for n in frame.column_names if n not in used]
        impute_text = self.impute_text or ("most_frequent" if self.impute else None)
        self.columns_ = [column_spec(frame, name, categorical=tuple(self.categorical),
                                     explicit=tuple(self.features or ()),
                                     impute_text=impute_text, dates=self.dates,
                                     reference=self.coding == "reference")
                         for name in used]
        self.n_columns_in_ = len(self.columns_)
        self.feature_names_out_ = [name for c in self.columns_ for name in _output_names(c)]
        n_out = len(self.feature_names_out_)
        self.fill_ = np.zeros(n_out)
        self.center_ = np.zeros(n_out)
        self.scale_ = np.ones(n_out)
        raw = self._dense_matrix(frame, fill=None)  # NaN where missing; checks the policy
        numeric = self._numeric_mask()
        self.fill_[numeric] = _column_fill(raw[:, numeric], frame.source,
                                           np.array(self.feature_names_out_)[numeric],
                                           self.impute or "mean")
        if self.standardize:
            filled = np.where(np.isnan(raw), self.fill_, raw)
            self.center_[numeric] = filled[:, numeric].mean(axis=0)
            std = filled[:, numeric].std(axis=0)
            self.scale_[numeric] = np.where(std > 0, std, 1.0)
        return self

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return np.asarray(self.feature_names_out_, dtype=object)

    # --- transform ---------------------------------------------------------------------------

    def transform(self, X, handle_unknown: str | None = None):
        """The encoded matrix of ``X``: dense (m, n_out) float64, or CSR for svmlight.

        ``handle_unknown`` overrides the policy chosen at construction for this call.
        """
        from softlogit.io.tabular import as_frame

        if not hasattr(self, "scale_"):
            raise ValueError("this TableEncoder is not fitted yet; call fit first")
        frame = as_frame(X)
        if self.columns_ is None:
            if frame.sparse is None:
                raise DataError(f"{frame.source}: the model was trained on sparse svmlight data; "
                                f"give an svmlight file")
            X = self._sparse_matrix(frame).copy()
            X.data /= self.scale_[X.indices]
            return X
        if frame.table is None:
            raise DataError(f"{frame.source}: the model was trained on a table with named "
                            f"columns; svmlight data cannot be matched to them")
        X = self._dense_matrix(frame, fill=self.fill_, handle_unknown=handle_unknown)
        if self.standardize:
            X -= self.center_
            X /= self.scale_
        return X

    # --- internals ---------------------------------------------------------------------------

    def _numeric_mask(self) -> np.ndarray:
        return np.array([c["kind"] != "categorical" for c in self.columns_
                         for _ in _output_names(c)], dtype=bool)

    def _sparse_matrix(self, frame: Frame):
        X = frame.sparse
        if frame.zero_based is not None and not self.zero_based_:
            # One-based file: index 0 is not a feature.
            if X.shape[1] and X[:, 0].nnz:
                raise DataError(f"{frame.source}: has feature index 0 but the model was trained "
                                f"on a file with one-based indices")
            X = X[:, 1:]
        width = getattr(self, "n_columns_in_", X.shape[1])
        if X.shape[1] > width:
            raise DataError(f"{frame.source}: has {X.shape[1]} feature columns but the model "
                            f"expects {width}")
        if X.shape[1] < width:  # trailing all-zero features are simply not written in svmlight
            import scipy.sparse as sp

            X = sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], width))
        bad = ~np.isfinite(X.data)
        if bad.any():
            raise DataError(f"{frame.source}: {int(bad.sum())} feature values are NaN or infinite")
        return X.astype(np.float64)

    def _dense_matrix(self, frame: Frame, fill, handle_unknown=None) -> np.ndarray:
        handle_unknown = handle_unknown or self.handle_unknown
        _check_columns(frame, [c["name"] for c in self.columns_], getattr(self, "ignored_", []))
        m = frame.n_rows
        X = np.zeros((m, len(self.feature_names_out_)))
        missing, infinite, offset = {}, {}, 0
        for spec in self.columns_:
            column = frame.table.column(spec["name"])
            if spec["kind"] == "categorical":
                codes, n_missing = _category_codes(column, spec, frame.source, handle_unknown)
                if n_missing:
                    missing[spec["name"]] = n_missing
                if spec["reference"]:
                    codes = codes - 1  # the reference level (code 0) has no indicator
                rows = np.flatnonzero(codes >= 0)
                X[rows, offset + codes[rows]] = 1.0
                offset += len(_output_names(spec))
                continue
            parts = (_date_parts(column, spec) if spec["kind"] == "date"
                     else [_numeric_values(column, frame.source, spec["name"])])
            for values in parts:
                nan = np.isnan(values)
                inf = np.isinf(values)
                if inf.any():
                    infinite[spec["name"]] = int(inf.sum())
                if nan.any():
                    missing[spec["name"]] = int(nan.sum())
                    if fill is not None:
                        values = np.where(nan, fill[offset], values)
                X[:, offset] = values
                offset += 1
        if infinite:
            raise DataError(f"{frame.source}: infinite values in {_counts(infinite)}")
        if missing and self.impute is None:
            unfilled = {n: c for n, c in missing.items()
                        if not any(s["name"] == n and s["fill"] is not None
                                   for s in self.columns_)}
            if unfilled:
                raise DataError(f"{frame.source}: missing values in {_counts(unfilled)}; use "
                                f"--impute mean (or median) to fill them from the training "
                                f"rows (text columns get their most frequent category; "
                                f"--impute-text missing makes 'missing' a category)")
        return X

    # --- state for the model file ------------------------------------------------------------

    def get_state(self) -> tuple[dict, dict]:
        """``(json_ready_dict, arrays)`` from which :meth:`from_state` rebuilds the encoder."""
        meta = {"impute": self.impute, "impute_text": self.impute_text,
                "handle_unknown": self.handle_unknown, "standardize": bool(self.standardize),
                "coding": self.coding, "categorical": list(self.categorical),
                "features": None if self.features is None else list(self.features),
                "drop": list(self.drop), "dates": self.dates,
                "columns": self.columns_, "ignored": list(self.ignored_),
                "n_columns_in": self.n_columns_in_, "zero_based": self.zero_based_,
                "feature_names_out": list(self.feature_names_out_)}
        arrays = {"fill": self.fill_, "center": self.center_, "scale": self.scale_}
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays: dict) -> TableEncoder:
        enc = cls(impute=meta["impute"], impute_text=meta.get("impute_text"),
                  handle_unknown=meta["handle_unknown"], standardize=meta["standardize"],
                  coding=meta.get("coding", "onehot"),
                  categorical=tuple(meta.get("categorical", ())), features=meta.get("features"),
                  drop=tuple(meta.get("drop", ())), dates=meta.get("dates", "error"))
        enc._check_params()
        columns = meta["columns"]
        if columns is not None:  # files from before these keys existed
            columns = [{"parts": None, "fill": None, "reference": False, "as_text": False, **c}
                       for c in columns]
        enc.columns_ = columns
        enc.ignored_ = list(meta.get("ignored", []))
        enc.n_columns_in_ = int(meta["n_columns_in"])
        enc.zero_based_ = meta["zero_based"]
        enc.feature_names_out_ = list(meta["feature_names_out"])
        enc.fill_, enc.center_, enc.scale_ = arrays["fill"], arrays["center"], arrays["scale"]
        n_out = len(enc.feature_names_out_)
        if any(a.shape != (n_out,) for a in (enc.fill_, enc.center_, enc.scale_)):
            raise ValueError("encoder arrays do not match its feature names")
        return enc


def output_names(spec: dict) -> list[str]:
    """The names of the encoded columns a column spec makes (``col``, ``col=level``,
    ``col.year`` …)."""
    return _output_names(spec)


def _output_names(spec: dict) -> list[str]:
    name = spec["name"]
    if spec["kind"] == "categorical":
        levels = spec["categories"][1:] if spec["reference"] else spec["categories"]
        return [f"{name}={c}" for c in levels]
    if spec["kind"] == "date":
        return [f"{name}.{part}" for part in spec["parts"]]
    return [name]


def _selected_columns(frame: Frame, features, drop, categorical) -> list[str]:
    names = frame.column_names
    for option, given in (("--features", features or ()), ("--drop", drop),
                          ("--categorical", categorical)):
        unknown = [n for n in given if n not in names]
        if unknown:
            from softlogit.io.frame import _list

            raise DataError(f"{frame.source}: {option} names column {unknown[0]!r}, which is "
                            f"not a feature column (columns: {_list(names)})")
    used = list(features) if features is not None else names
    used = [n for n in used if n not in set(drop)]
    if not used:
        raise DataError(f"{frame.source}: no feature columns are left to fit on")
    return used


def _date_parts(column, spec) -> list[np.ndarray]:
    import pyarrow.compute as pc

    functions = {"year": pc.year, "month": pc.month, "day": pc.day, "weekday": pc.day_of_week}
    return [np.array(functions[p](column).to_numpy(zero_copy_only=False), dtype=np.float64)
            for p in spec["parts"]]


def _numeric_values(column, source, name) -> np.ndarray:
    import pyarrow as pa

    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        raise DataError(f"{source}: column {name!r} holds text but the model was trained with "
                        f"it numeric")
    values = column.cast(pa.float64()).to_numpy()
    return np.array(values, dtype=np.float64)  # writable copy; nulls are NaN


def _category_codes(column, spec, source, handle_unknown):
    """Indices of each row's category in ``spec["categories"]`` (−1: missing or unseen) and
    the number of missing rows; an unseen category is an error with ``"error"``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = as_text(column)
    is_null = np.asarray(text.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if spec["fill"] is not None and is_null.any():
        text = pc.fill_null(text, spec["fill"])
    categories = pa.array(spec["categories"], type=pa.string())
    codes = pc.index_in(text, value_set=categories).to_numpy(zero_copy_only=False)
    codes = np.where(np.isnan(codes.astype(np.float64)), -1, codes).astype(np.int64)
    unseen = (codes < 0) & ~is_null
    if unseen.any() and handle_unknown == "error":
        counts = pc.value_counts(text.filter(pa.array(unseen)))
        values = counts.field("values").to_pylist()
        n = counts.field("counts").to_pylist()
        message = (f"{source}: column {spec['name']!r} has category {values[0]!r} not seen in "
                   f"training ({_rows(n[0])})")
        if len(values) > 1:
            message += (f" and {len(values) - 1} other unseen categor"
                        f"{'y' if len(values) == 2 else 'ies'} ({_rows(sum(n[1:]))})")
        raise DataError(message + "; use --handle-unknown ignore to encode unseen categories "
                                  "as all zeros")
    return codes, int(is_null.sum())


def _rows(n: int) -> str:
    return f"{n} row{'s' if n != 1 else ''}"


def _check_columns(frame: Frame, expected: list[str], ignored=()) -> None:
    given = frame.column_names
    missing = [n for n in expected if n not in given]
    extra = [n for n in given if n not in expected and n not in ignored]
    if missing or extra:
        if len(given) == len(expected):  # the right number of columns, named otherwise
            parts = [f"{frame.source}: the names of its {len(given)} feature columns differ "
                     f"from those the model was trained on"]
        else:
            parts = [f"{frame.source}: has {len(given)} feature columns but the model expects "
                     f"{len(expected)}"]
        if missing:
            parts.append(f"missing: {', '.join(missing[:10])}")
        if extra:
            parts.append(f"unexpected: {', '.join(extra[:10])}")
        raise DataError("; ".join(parts))


def _column_fill(values: np.ndarray, source: str, names, statistic: str) -> np.ndarray:
    """Means (or medians) of the present (non-NaN) values of each column; a column with none
    gets 0, with a :class:`~softlogit.io.errors.DataWarning` naming it."""
    present = ~np.isnan(values)
    counts = present.sum(axis=0)
    empty = counts == 0
    if statistic == "median":
        stats = np.zeros(values.shape[1])
        for j in np.flatnonzero(~empty):
            stats[j] = np.median(values[present[:, j], j])
    else:
        stats = np.where(present, values, 0.0).sum(axis=0) / np.maximum(counts, 1)
    if empty.any():
        import warnings

        from softlogit.io.errors import DataWarning

        for name in np.asarray(names)[empty].tolist():
            warnings.warn(f"{source}: column {name!r} has no values; --impute {statistic} "
                          f"fills it with 0", DataWarning, stacklevel=3)
    return np.where(empty, 0.0, stats)


def _sparse_std(X) -> np.ndarray:
    mean = np.asarray(X.mean(axis=0)).ravel()
    sq = np.asarray(X.multiply(X).mean(axis=0)).ravel()
    std = np.sqrt(np.maximum(sq - mean * mean, 0.0))
    return np.where(std > 0, std, 1.0)


def _counts(counts: dict) -> str:
    return ", ".join(f"column {name!r} ({n} row{'s' if n != 1 else ''})"
                     for name, n in counts.items())
