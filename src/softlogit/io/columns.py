"""What kind of feature each table column is, decided once at fit time, with the checks a careful
analyst makes before a column becomes part of a model.

:func:`column_spec` returns a plain JSON-ready dict (stored in the model file):

``{"name", "kind", "categories", "parts", "fill", "reference", "as_text"}``

- ``kind="numeric"``: integers, floats, booleans, decimals, used as they are.
- ``kind="categorical"``: text columns, and numeric columns named in ``categorical`` (integer
  codes; their categories are the values as text, ``as_text=True``). One indicator per category
  (``categories`` sorted); with ``reference=True`` the first category is the reference level and
  has no indicator (reference, or drop-first, coding: what makes an unpenalised fit with an
  intercept identifiable). ``fill`` is the category a missing cell gets (``None``: missing is
  an error, or all-zero indicators when the column had no missing cells in training).
- ``kind="date"``: a date or timestamp column, expanded to the numbers in ``parts``
  (year, month, day, weekday — Monday is 0); only when asked for (``dates="parts"``).

Refused, with the column, the row and what to do, unless the column is named in ``categorical``
or ``features`` (the user has looked at it):

- an *identifier*: text with a different value in at least 90 % of the rows (a name, a ticket
  number), or integers that are exactly a row number (``k, k+1, …`` in some order);
- *near-numeric text*: a text column whose cells are numbers except for a few (at most 10 %):
  one stray ``"oops"`` would otherwise turn a number into thousands of one-hot columns.

A text column with more distinct values than half its rows (and at least 20) is used, with a
:class:`~softlogit.io.errors.DataWarning` saying how many indicators it makes.
"""

from __future__ import annotations

import warnings

import numpy as np

from softlogit.io.errors import DataError, DataWarning

#: A text column is an identifier when this share of its present cells are distinct …
ID_SHARE = 0.9
#: … and it has at least this many distinct values (tiny tables have unique rows by chance).
ID_MIN_DISTINCT = 20
#: A text column is near-numeric when at least this share of its present cells are numbers.
NUMERIC_SHARE = 0.9
#: The numbers each date column becomes with ``dates="parts"``.
DATE_PARTS = ("year", "month", "day", "weekday")
#: The category missing text cells become with ``impute_text="missing"``.
MISSING_LEVEL = "missing"

_NUMBER = r"^\s*[-+]?((\d+\.?\d*)|(\.\d+))([eE][-+]?\d+)?\s*$|^\s*[-+]?(inf|infinity)\s*$"


def value_type(column):
    import pyarrow as pa

    kind = column.type
    return kind.value_type if pa.types.is_dictionary(kind) else kind


def is_text(kind) -> bool:
    import pyarrow as pa

    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def is_date(kind) -> bool:
    import pyarrow as pa

    return pa.types.is_date(kind) or pa.types.is_timestamp(kind)


def is_number(kind) -> bool:
    import pyarrow as pa

    return (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
            or pa.types.is_decimal(kind) or pa.types.is_null(kind))


def as_text(column):
    """The column as text (numbers written as PyArrow casts them: ``1``, ``2.5``)."""
    import pyarrow as pa

    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    return column.cast(pa.string())


def column_spec(frame, name: str, *, categorical=(), explicit=(), impute_text=None,
                dates: str = "error", reference: bool = False) -> dict:
    """The spec of column ``name`` of ``frame`` (see the module docstring); checks included."""
    import pyarrow.compute as pc

    column = frame.table.column(name)
    kind = value_type(column)
    spec = {"name": name, "kind": "numeric", "categories": None, "parts": None, "fill": None,
            "reference": False, "as_text": False}
    if is_date(kind):
        if dates != "parts":
            raise DataError(f"{frame.source}: column {name!r} holds dates; --dates parts turns "
                            f"them into numbers ({', '.join(DATE_PARTS)}), or --drop {name} "
                            f"leaves it out")
        return dict(spec, kind="date", parts=list(DATE_PARTS))
    if name in categorical and not is_text(kind):
        if not is_number(kind):
            raise DataError(f"{frame.source}: column {name!r} has type {kind}, which cannot be "
                            f"used as categories")
        spec["as_text"] = True
    elif is_text(kind):
        if name not in categorical and name not in explicit:
            _check_text_column(frame, name, column)
    elif is_number(kind):
        if name not in explicit:
            _check_row_number(frame, name, column, kind)
        return spec
    else:
        raise DataError(f"{frame.source}: column {name!r} has type {kind}, which is neither "
                        f"numeric nor text")
    text = as_text(column)
    present = text.drop_null()
    categories = sorted(pc.unique(present).to_pylist())
    fill = None
    if text.null_count:
        if impute_text == "missing":
            fill = MISSING_LEVEL
            if MISSING_LEVEL not in categories:
                categories = sorted([*categories, MISSING_LEVEL])
        elif impute_text == "most_frequent" and len(present):
            counts = pc.value_counts(present)
            values = counts.field("values").to_pylist()
            n = counts.field("counts").to_numpy()
            fill = min(v for v, c in zip(values, n) if c == n.max())  # ties: the first sorted
    return dict(spec, kind="categorical", categories=categories, fill=fill,
                reference=bool(reference and len(categories) > 1))


def _check_text_column(frame, name, column) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    text = as_text(column)
    present = text.drop_null()
    n = len(present)
    if n == 0:
        return
    is_num = pc.match_substring_regex(text, _NUMBER, ignore_case=True)
    n_num = int(pc.sum(pc.cast(pc.fill_null(is_num, False), pa.int64())).as_py() or 0)
    if NUMERIC_SHARE * n <= n_num < n:
        bad = np.flatnonzero(np.asarray(pc.fill_null(pc.invert(is_num), False)
                                        .to_numpy(zero_copy_only=False), dtype=bool))
        first = text[int(bad[0])].as_py()
        raise DataError(
            f"{frame.source}: column {name!r} holds numbers except in {bad.size} of {n} rows "
            f"(first: data row {int(bad[0]) + 1}, {first!r}); fix those cells or leave them "
            f"empty (empty cells are missing, and --impute fills them), or give "
            f"--categorical {name} to treat the column as text")
    distinct = pc.count_distinct(present).as_py()
    if distinct >= ID_MIN_DISTINCT and distinct >= ID_SHARE * n:
        raise DataError(
            f"{frame.source}: column {name!r} has {distinct} different texts in {n} rows, an "
            f"identifier rather than a feature; --drop {name} leaves it out, --id {name} "
            f"carries it into the predictions, --categorical {name} encodes it anyway")
    if distinct >= ID_MIN_DISTINCT and 2 * distinct > n:
        warnings.warn(f"{frame.source}: column {name!r} has {distinct} categories in {n} rows, "
                      f"so one-hot coding makes {distinct} features from it; --drop {name} if "
                      f"it identifies rows rather than describes them", DataWarning,
                      stacklevel=4)


def _check_row_number(frame, name, column, kind) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    m = len(column)
    if not pa.types.is_integer(kind) or m < ID_MIN_DISTINCT or column.null_count:
        return
    low, high = pc.min_max(column).values()
    if high.as_py() - low.as_py() + 1 != m or pc.count_distinct(column).as_py() != m:
        return
    raise DataError(f"{frame.source}: column {name!r} numbers the rows ({low.as_py()} to "
                    f"{high.as_py()}, each once), an identifier rather than a feature; --drop "
                    f"{name} leaves it out, --id {name} carries it into the predictions, "
                    f"--features … {name} keeps it as a number")
