"""Encode a frame's feature columns as the float64 matrix the estimators are fitted on.

What :class:`TableEncoder` learns at ``fit`` and applies unchanged at ``transform``:

- *Column kinds.* Numeric columns (integers, floats, booleans, decimals) are used as they are;
  text columns are one-hot encoded, one indicator per category seen in training (sorted), named
  ``column=category``.
- *Unseen categories.* At ``transform`` a category not seen in training is an error naming the
  column and value (``handle_unknown="error"``), or gives all-zero indicators (``"ignore"``).
- *Missing values.* An error naming the columns and row counts, unless ``impute="mean"``: then
  numeric columns are filled with their training means and a missing category gets all-zero
  indicators; a numeric column with no values at all is filled with 0, with a
  :class:`~softlogit.io.errors.DataWarning` naming it. Infinite values are always an error.
- *Scaling.* With ``standardize=True`` numeric columns become ``(x − mean) / std`` (training
  mean and standard deviation; a constant column keeps scale 1). Sparse (svmlight) data are only
  divided by the standard deviation, so that zeros stay zeros. Indicators are not scaled.

The learned state is plain arrays and JSON values (:meth:`TableEncoder.get_state`), which the
model file stores without pickle.
"""

from __future__ import annotations

import numpy as np

from softlogit.io.errors import DataError
from softlogit.io.frame import Frame

IMPUTE = (None, "mean")
HANDLE_UNKNOWN = ("error", "ignore")


class TableEncoder:
    """Learn and apply the column encoding of a :class:`~softlogit.io.frame.Frame`.

    Parameters
    ----------
    impute : ``None`` (missing values are an error) or ``"mean"``.
    handle_unknown : ``"error"`` or ``"ignore"`` for categories unseen in training.
    standardize : scale numeric columns to zero mean and unit variance.

    Attributes
    ----------
    columns_ : list of ``{"name", "kind", "categories"}`` for tabular input (``None`` for sparse).
    n_columns_in_ : number of input feature columns.
    feature_names_out_ : names of the encoded columns.
    fill_ : (n_out,) values used for missing entries (training means; 0 for indicators).
    center_, scale_ : (n_out,) the standardisation (0 and 1 where nothing is done).
    zero_based_ : for svmlight input, whether its feature indices start at 0.

    Examples
    --------
    >>> import pyarrow as pa
    >>> frame = Frame("example", table=pa.table({"a": [1.0, 2.0, 3.0], "c": ["x", "y", "x"]}))
    >>> enc = TableEncoder(standardize=False).fit(frame)
    >>> enc.feature_names_out_
    ['a', 'c=x', 'c=y']
    >>> enc.transform(frame).tolist()
    [[1.0, 1.0, 0.0], [2.0, 0.0, 1.0], [3.0, 1.0, 0.0]]
    """

    def __init__(self, *, impute=None, handle_unknown="error", standardize=True):
        if impute not in IMPUTE:
            raise ValueError(f"impute must be one of {IMPUTE}; got {impute!r}")
        if handle_unknown not in HANDLE_UNKNOWN:
            raise ValueError(f"handle_unknown must be one of {HANDLE_UNKNOWN}; "
                             f"got {handle_unknown!r}")
        self.impute = impute
        self.handle_unknown = handle_unknown
        self.standardize = bool(standardize)

    # --- fit ---------------------------------------------------------------------------------

    def fit(self, frame: Frame) -> TableEncoder:
        """Learn column kinds, categories, fill values and scaling from ``frame``."""
        if frame.table is None:
            self.columns_ = None
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
        self.columns_ = [_column_spec(frame, name) for name in frame.column_names]
        self.n_columns_in_ = len(self.columns_)
        self.feature_names_out_ = [
            f"{c['name']}={cat}" if c["kind"] == "categorical" else c["name"]
            for c in self.columns_ for cat in (c["categories"] or [None])
        ]
        n_out = len(self.feature_names_out_)
        self.fill_ = np.zeros(n_out)
        self.center_ = np.zeros(n_out)
        self.scale_ = np.ones(n_out)
        raw = self._dense_matrix(frame, fill=None)  # NaN where missing; checks the policy
        numeric = self._numeric_mask()
        self.fill_[numeric] = _column_means(raw[:, numeric], frame.source,
                                            np.array(self.feature_names_out_)[numeric])
        if self.standardize:
            filled = np.where(np.isnan(raw), self.fill_, raw)
            self.center_[numeric] = filled[:, numeric].mean(axis=0)
            std = filled[:, numeric].std(axis=0)
            self.scale_[numeric] = np.where(std > 0, std, 1.0)
        return self

    def fit_transform(self, frame: Frame):
        return self.fit(frame).transform(frame)

    # --- transform ---------------------------------------------------------------------------

    def transform(self, frame: Frame, handle_unknown: str | None = None):
        """The encoded matrix of ``frame``: dense (m, n_out) float64, or CSR for svmlight.

        ``handle_unknown`` overrides the policy chosen at construction for this call.
        """
        if not hasattr(self, "scale_"):
            raise ValueError("this TableEncoder is not fitted yet; call fit first")
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
        return np.array([c["kind"] == "numeric" for c in self.columns_
                         for _ in (c["categories"] or [None])], dtype=bool)

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
        _check_columns(frame, [c["name"] for c in self.columns_])
        m = frame.n_rows
        X = np.zeros((m, len(self.feature_names_out_)))
        missing, infinite, offset = {}, {}, 0
        for spec in self.columns_:
            column = frame.table.column(spec["name"])
            if spec["kind"] == "numeric":
                values = _numeric_values(column, frame.source, spec["name"])
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
            else:
                codes, n_missing = _category_codes(column, spec, frame.source, handle_unknown)
                if n_missing:
                    missing[spec["name"]] = n_missing
                rows = np.flatnonzero(codes >= 0)
                X[rows, offset + codes[rows]] = 1.0
                offset += len(spec["categories"])
        if infinite:
            raise DataError(f"{frame.source}: infinite values in {_counts(infinite)}")
        if missing and self.impute is None:
            raise DataError(f"{frame.source}: missing values in {_counts(missing)}; use "
                            f"--impute mean to fill them with the training means")
        return X

    # --- state for the model file ------------------------------------------------------------

    def get_state(self) -> tuple[dict, dict]:
        """``(json_ready_dict, arrays)`` from which :meth:`from_state` rebuilds the encoder."""
        meta = {"impute": self.impute, "handle_unknown": self.handle_unknown,
                "standardize": self.standardize, "columns": self.columns_,
                "n_columns_in": self.n_columns_in_, "zero_based": self.zero_based_,
                "feature_names_out": list(self.feature_names_out_)}
        arrays = {"fill": self.fill_, "center": self.center_, "scale": self.scale_}
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays: dict) -> TableEncoder:
        enc = cls(impute=meta["impute"], handle_unknown=meta["handle_unknown"],
                  standardize=meta["standardize"])
        enc.columns_ = meta["columns"]
        enc.n_columns_in_ = int(meta["n_columns_in"])
        enc.zero_based_ = meta["zero_based"]
        enc.feature_names_out_ = list(meta["feature_names_out"])
        enc.fill_, enc.center_, enc.scale_ = arrays["fill"], arrays["center"], arrays["scale"]
        n_out = len(enc.feature_names_out_)
        if any(a.shape != (n_out,) for a in (enc.fill_, enc.center_, enc.scale_)):
            raise ValueError("encoder arrays do not match its feature names")
        return enc


def _column_spec(frame: Frame, name: str) -> dict:
    import pyarrow as pa
    import pyarrow.compute as pc

    column = frame.table.column(name)
    kind = column.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if _is_text(kind):
        values = pc.unique(column.cast(pa.string())).drop_null().to_pylist()
        return {"name": name, "kind": "categorical", "categories": sorted(values)}
    if (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
            or pa.types.is_decimal(kind) or pa.types.is_null(kind)):
        return {"name": name, "kind": "numeric", "categories": None}
    raise DataError(f"{frame.source}: column {name!r} has type {kind}, which is neither "
                    f"numeric nor text")


def _is_text(kind) -> bool:
    import pyarrow as pa

    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _numeric_values(column, source, name) -> np.ndarray:
    import pyarrow as pa

    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if _is_text(kind):
        raise DataError(f"{source}: column {name!r} holds text but the model was trained with "
                        f"it numeric")
    values = column.cast(pa.float64()).to_numpy()
    return np.array(values, dtype=np.float64)  # writable copy; nulls are NaN


def _category_codes(column, spec, source, handle_unknown):
    import pyarrow as pa
    import pyarrow.compute as pc

    text = column.cast(pa.string())
    categories = pa.array(spec["categories"], type=pa.string())
    codes = pc.index_in(text, value_set=categories).to_numpy(zero_copy_only=False)
    codes = np.where(np.isnan(codes.astype(np.float64)), -1, codes).astype(np.int64)
    is_null = np.asarray(text.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    unseen = (codes < 0) & ~is_null
    if unseen.any() and handle_unknown == "error":
        value = text.filter(pa.array(unseen)).to_pylist()[0]
        raise DataError(f"{source}: column {spec['name']!r} has category {value!r} not seen in "
                        f"training ({int(unseen.sum())} rows); use --handle-unknown ignore to "
                        f"encode it as all zeros")
    return codes, int(is_null.sum())


def _check_columns(frame: Frame, expected: list[str]) -> None:
    given = frame.column_names
    missing = [n for n in expected if n not in given]
    extra = [n for n in given if n not in expected]
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


def _column_means(values: np.ndarray, source: str, names) -> np.ndarray:
    """Means of the present (non-NaN) values of each column; a column with none gets 0, with
    a :class:`~softlogit.io.errors.DataWarning` naming it."""
    present = ~np.isnan(values)
    counts = present.sum(axis=0)
    sums = np.where(present, values, 0.0).sum(axis=0)
    empty = counts == 0
    if empty.any():
        import warnings

        from softlogit.io.errors import DataWarning

        for name in np.asarray(names)[empty].tolist():
            warnings.warn(f"{source}: column {name!r} has no values; --impute mean fills it "
                          f"with 0", DataWarning, stacklevel=3)
    return np.where(empty, 0.0, sums / np.maximum(counts, 1))


def _sparse_std(X) -> np.ndarray:
    mean = np.asarray(X.mean(axis=0)).ravel()
    sq = np.asarray(X.multiply(X).mean(axis=0)).ravel()
    std = np.sqrt(np.maximum(sq - mean * mean, 0.0))
    return np.where(std > 0, std, 1.0)


def _counts(counts: dict) -> str:
    return ", ".join(f"column {name!r} ({n} row{'s' if n != 1 else ''})"
                     for name, n in counts.items())
