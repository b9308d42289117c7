"""The in-memory form of data read from any source: a typed table, or a sparse matrix.

Readers (:mod:`softlogit.io.readers`) return a :class:`Frame`; the target is then taken out of
it by :func:`split_target`, and the features are encoded by :mod:`softlogit.io.encoding`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from softlogit.io.errors import DataError

#: Column names tried, in this order, when no target column is named.
DEFAULT_TARGETS = ("target", "label", "class", "y")


@dataclass
class Frame:
    """Data from one source.

    A table's column names must be unique (a :class:`DataError` otherwise): columns are found by
    name, for the target and when a model encodes new data.

    Attributes
    ----------
    source : the file path or bundled data-set name, used in error messages.
    table : named, typed columns (a :class:`pyarrow.Table`), for tabular sources.
    sparse : a SciPy CSR matrix of features, for the LIBSVM/svmlight format.
    label : the target that comes with the format (svmlight), else ``None``.
    zero_based : whether the svmlight feature indices start at 0 (else at 1).
    text_column : for text formats (CSV/TSV), a function giving a column as the texts written in
        the file, so that :func:`split_target` can keep labels such as ``01`` and ``1`` apart.
    """

    source: str
    table: object = None
    sparse: object = None
    label: np.ndarray | None = None
    zero_based: bool | None = None
    text_column: object = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if self.table is not None:
            check_unique_names(self.table.column_names, self.source)

    @property
    def n_rows(self) -> int:
        return self.table.num_rows if self.table is not None else self.sparse.shape[0]

    @property
    def column_names(self) -> list[str]:
        if self.table is not None:
            return list(self.table.column_names)
        return [f"x{j}" for j in range(self.sparse.shape[1])]

    def take(self, rows) -> Frame:
        """The frame of the given rows (an integer index array)."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.table is not None:
            return Frame(self.source, table=self.table.take(rows))
        label = None if self.label is None else self.label[rows]
        return Frame(self.source, sparse=self.sparse[rows], label=label,
                     zero_based=self.zero_based)

    def drop(self, name: str) -> Frame:
        """The frame without column ``name`` (tabular sources only)."""
        return Frame(self.source, table=self.table.drop_columns([name]))


def check_unique_names(names, source: str) -> None:
    """An error naming the first column name that appears more than once in ``names``."""
    from collections import Counter

    repeated = [(name, n) for name, n in Counter(names).items() if n > 1]
    if repeated:
        name, n = repeated[0]
        raise DataError(f"{source}: column {name!r} appears {n} times; column names must be "
                        f"unique")


def find_target(frame: Frame, target: str | None) -> str | None:
    """The name of the target column: ``target`` if given, else the first default name found.

    Returns ``None`` for sources whose format carries the target (svmlight).
    """
    if frame.table is None:
        if target is not None:
            raise DataError(f"{frame.source}: the svmlight format carries its own labels; "
                            f"--target does not apply")
        return None
    return target_by_name(frame.column_names, target, frame.source)


def target_by_name(names, target: str | None, source: str) -> str:
    """``target`` if it is one of ``names``, else the first of :data:`DEFAULT_TARGETS` found
    (case-insensitive); one sentence naming the columns when neither is there."""
    if target is not None:
        if target not in names:
            raise DataError(f"{source}: target column {target!r} not found; "
                            f"columns are: {_list(names)}")
        return target
    lowered = {n.lower(): n for n in reversed(names)}
    for candidate in DEFAULT_TARGETS:
        if candidate in lowered:
            return lowered[candidate]
    raise DataError(f"{source}: no target column named {', '.join(DEFAULT_TARGETS)}; "
                    f"give one with --target (columns are: {_list(names)})")


def split_target(frame: Frame, target: str | None = None, missing: str = "error"
                 ) -> tuple[Frame, np.ndarray, str | None]:
    """Separate features from labels.

    A missing label (null, a text null of :data:`softlogit.io.readers.NULL_VALUES`, or NaN) is
    never a class: with ``missing="error"`` it is an error giving the count; with
    ``missing="drop"`` its rows are left out, with a
    :class:`~softlogit.io.errors.DataWarning` giving the count.

    Returns
    -------
    features : the frame without the target column.
    y : (m,) labels: integers, strings or booleans as in the source (whole floats become ints).
        In a text file (CSV/TSV) the labels are numbers, as PyArrow reads the column, only when
        that keeps every distinct label distinct; when two different texts would become the
        same number or boolean (``01`` and ``1``, ``1`` and ``1.0``, ``true`` and ``True``) the
        labels are the texts as written.
    name : the target column's name (``None`` for svmlight).
    """
    name = find_target(frame, target)
    if name is None:
        return frame, _labels(frame.label, frame.source, "label"), None
    column = frame.table.column(name)
    if frame.text_column is not None:
        column = _distinct_labels(column, frame.text_column(name))
    features = frame.drop(name)
    absent = _missing_labels(column)
    if absent.any():
        n = int(absent.sum())
        if missing != "drop":
            raise DataError(f"{frame.source}: target column {name!r} has {n} missing values")
        if n == absent.size:
            raise DataError(f"{frame.source}: target column {name!r} has no values")
        import warnings

        from softlogit.io.errors import DataWarning

        warnings.warn(f"{frame.source}: target column {name!r} is missing in {n} of "
                      f"{absent.size} rows; those rows are left out", DataWarning, stacklevel=2)
        keep = np.flatnonzero(~absent)
        column = column.take(keep)
        features = features.take(keep)
    y = _arrow_labels(column, frame.source, name)
    if features.table.num_columns == 0:
        raise DataError(f"{frame.source}: no feature columns besides the target {name!r}")
    return features, y, name


#: A numeric target with more classes than this …
MANY_CLASSES = 20
#: … and fewer rows per class than this on average is taken for a regression target.
ROWS_PER_CLASS = 10


def check_target(y: np.ndarray, source: str, name: str | None, allow_many: bool = False) -> None:
    """Refuse a numeric target that looks continuous: more than :data:`MANY_CLASSES` distinct
    values with fewer than :data:`ROWS_PER_CLASS` rows each on average (a weight in pounds, a
    price), unless ``allow_many``."""
    y = np.asarray(y)
    if allow_many or y.dtype.kind not in "iuf":
        return
    n = np.unique(y).size
    if n > MANY_CLASSES and y.size < ROWS_PER_CLASS * n:
        what = f"target column {name!r}" if name else "the labels"
        raise DataError(f"{source}: {what} has {n} distinct numbers in {y.size} rows, a "
                        f"quantity to predict by regression rather than classes; softlogit "
                        f"fits classifiers (give --allow-many-classes to fit {n} classes "
                        f"anyway)")


def _missing_labels(column) -> np.ndarray:
    """(m,) True where a label is null, or NaN in a float column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    absent = column.is_null()
    if pa.types.is_floating(column.type):
        absent = pc.or_(absent, pc.fill_null(pc.is_nan(column), False))
    return np.asarray(absent.to_numpy(zero_copy_only=False), dtype=bool)


def check_classes(y: np.ndarray, source: str, name: str | None) -> np.ndarray:
    """The sorted classes of ``y``; an error unless there are at least two."""
    classes = np.unique(y)
    what = f"target column {name!r}" if name else "the labels"
    if classes.size < 2:
        only = classes[0].item() if classes.size else "none"
        raise DataError(f"{source}: {what} has only one class ({only!r}); "
                        f"a classifier needs at least two")
    return classes


def _distinct_labels(parsed, text):
    """``parsed`` (a column as PyArrow typed it), or ``text`` (as written) where typing it maps
    two different texts to the same value; missing entries stay missing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if _is_text(parsed.type) or pa.types.is_null(parsed.type) or len(text) != len(parsed):
        return parsed  # (a column of nulls only has no labels to merge)
    valid = parsed.is_valid()
    n_values = pc.count_distinct(parsed.filter(valid)).as_py()
    n_texts = pc.count_distinct(text.filter(valid)).as_py()
    if n_values == n_texts:
        return parsed
    return pc.if_else(valid, text.cast(pa.string()), pa.scalar(None, pa.string()))


def _is_text(kind) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _arrow_labels(column, source: str, name: str) -> np.ndarray:
    import pyarrow as pa

    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return np.asarray(column.to_pylist(), dtype=str)
    if pa.types.is_boolean(kind) or pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return _labels(column.to_numpy(), source, f"target column {name!r}")
    raise DataError(f"{source}: target column {name!r} has type {kind}, which cannot be "
                    f"used as class labels")


def _labels(values: np.ndarray, source: str, what: str) -> np.ndarray:
    values = np.asarray(values)
    if values.dtype.kind == "f":
        bad = ~np.isfinite(values)
        if bad.any():
            raise DataError(f"{source}: {what} has {int(bad.sum())} missing or infinite values")
        if np.any(values != np.round(values)):
            raise DataError(f"{source}: {what} has non-integer numbers; class labels must be "
                            f"integers, strings or booleans")
        return values.astype(np.int64)
    return values


def _list(names, limit: int = 20) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names) - limit} more)" if len(names) > limit else "")
