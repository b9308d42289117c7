"""Read data from CSV, Parquet, NumPy ``.npy``/``.npz``, LIBSVM/svmlight, or a bundled name.

The format is chosen by the file's extension:

========================================  ====================================================
``.csv`` (also ``.csv.gz``, ``.csv.bz2``)  :func:`pyarrow.csv.read_csv`; typed columns (the
                                           target stays text where typing would merge
                                           labels such as ``01`` and ``1``)
``.tsv``                                   the same, tab-separated
``.parquet``, ``.pq``                      :func:`pyarrow.parquet.read_table`
``.npy``                                   a 2-D array (columns ``x0, x1, …``) or a structured
                                           array (its field names)
``.npz``                                   equal-length 1-D arrays as named columns, or ``X``
                                           (2-D) with an optional ``y``
``.svm``, ``.svmlight``, ``.libsvm``       :func:`sklearn.datasets.load_svmlight_file` (sparse)
========================================  ====================================================

NumPy files are read with ``allow_pickle=False``, and their headers are checked before any
array is allocated: the shape must match the bytes the file (or ``.npz`` entry) holds, so a
small file cannot declare a huge array. An svmlight feature index above
:data:`MAX_SVMLIGHT_FEATURES` is refused (the column count sets the size of the encoder's
arrays). Every failure becomes a :class:`~softlogit.io.errors.DataError` whose message starts
with the file name.

One rule for missing values, whatever the format: a null (an empty CSV cell, a Parquet null,
NaN in a float column) is missing, and so is a text cell that is exactly one of
:data:`NULL_VALUES` (``""``, ``NA``, ``NaN``, ``null``, ``N/A`` … PyArrow's CSV null set, which
is also pandas'), in a feature column and in the target. The same table written as CSV,
Parquet or ``.npz`` therefore reads the same.

A column that is a saved pandas index is left out with a
:class:`~softlogit.io.errors.DataWarning`: an unnamed first column (``""`` or ``Unnamed: 0``,
what ``DataFrame.to_csv`` writes), a column named ``__index_level_N__``, or an index named in a
Parquet file's pandas metadata. Used as a feature, a row number can leak the label of a sorted
table.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

import numpy as np

from softlogit.io.datasets import BUNDLED, load_bundled
from softlogit.io.errors import DataError, DataWarning
from softlogit.io.frame import Frame, check_unique_names

_FORMATS = {
    ".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet",
    ".npy": "npy", ".npz": "npz", ".svm": "svmlight", ".svmlight": "svmlight",
    ".libsvm": "svmlight",
}
_COMPRESSED = (".gz", ".bz2", ".zst", ".lz4")
#: The most feature columns an svmlight file may have (highest index + 1): the encoder holds
#: a name, a mean and a scale per column, so the column count, not the file size, sets memory.
MAX_SVMLIGHT_FEATURES = 1 << 22
#: Deflate cannot shrink data more than about 1032:1; an .npz entry declaring more lies.
_MAX_DEFLATE_RATIO = 1100

#: Text cells read as missing in every format (PyArrow's default CSV null set, pandas' too).
NULL_VALUES = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
               "1.#QNAN", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null")
_INDEX_NAME = re.compile(r"__index_level_\d+__")
_UNNAMED_FIRST = ("", "Unnamed: 0")


def data_format(path) -> str:
    """The format name for ``path``'s extension (a compression suffix is looked through)."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in _COMPRESSED:
        suffixes = suffixes[:-1]
    fmt = _FORMATS.get(suffixes[-1] if suffixes else "")
    if fmt is None:
        raise DataError(f"{path}: unknown data format; use one of the extensions "
                        f"{', '.join(sorted(_FORMATS))}")
    return fmt


def read_data(spec, delimiter: str | None = None) -> Frame:
    """Read a file, or load a bundled data set when ``spec`` names one and no such file exists.

    Parameters
    ----------
    spec : a path, or one of the bundled names (:data:`softlogit.io.datasets.BUNDLED`).
    delimiter : the field separator of a CSV/TSV file (default: ``,`` for .csv, tab for .tsv).

    Returns
    -------
    Frame with at least one row.
    """
    spec = os.fspath(spec)
    if not os.path.exists(spec):
        if spec in BUNDLED:
            return load_bundled(spec)
        raise DataError(f"{spec}: no such file (bundled data sets: {', '.join(BUNDLED)})")
    if os.path.isdir(spec):
        raise DataError(f"{spec}: is a directory, not a data file")
    fmt = data_format(spec)
    if os.path.getsize(spec) == 0:
        raise DataError(f"{spec}: the file is empty")
    try:
        if fmt in ("csv", "tsv"):
            frame = _read_csv(spec, delimiter or ("," if fmt == "csv" else "\t"))
        else:
            frame = _READERS[fmt](spec)
    except DataError:
        raise
    except (ValueError, OSError, EOFError, KeyError, IndexError) as exc:
        # pyarrow's ArrowInvalid and zipfile's BadZipFile are ValueError/OSError subclasses.
        raise DataError(f"{spec}: cannot read as {fmt}: {_first_line(exc)}") from exc
    if frame.n_rows == 0:
        raise DataError(f"{spec}: the file has no data rows")
    if frame.table is not None:
        frame = _without_index(text_nulls(frame), fmt, delimiter)
    return frame


def text_nulls(frame: Frame) -> Frame:
    """``frame`` with the :data:`NULL_VALUES` cells of its text columns made null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = frame.table
    nulls = pa.array(NULL_VALUES, type=pa.string())
    for j, field in enumerate(table.schema):
        kind = field.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        view = getattr(pa.types, "is_string_view", lambda _: False)(kind)  # polars' strings
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or view):
            continue
        column = table.column(j).cast(pa.string())
        if view or pa.types.is_large_string(kind):
            table = table.set_column(j, field.name, column)
        is_null = pc.is_in(column, value_set=nulls)
        if pc.any(is_null).as_py():
            column = pc.if_else(is_null, pa.scalar(None, pa.string()), column)
            table = table.set_column(j, field.name, column)
    frame.table = table
    return frame


def _index_columns(frame: Frame, fmt: str) -> list[str]:
    names = frame.column_names
    found = [n for n in names if _INDEX_NAME.fullmatch(n)]
    if names and names[0] in _UNNAMED_FIRST:
        found.insert(0, names[0])
    metadata = frame.table.schema.metadata or {}
    if b"pandas" in metadata:
        try:
            index = json.loads(metadata[b"pandas"]).get("index_columns", [])
        except ValueError:
            index = []
        found += [n for n in index if isinstance(n, str) and n in names and n not in found]
    return found


def _without_index(frame: Frame, fmt: str, delimiter) -> Frame:
    names = frame.column_names
    if len(names) == 1 and fmt in ("csv", "tsv"):
        for sep, word in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
            if sep in names[0] and sep != delimiter:
                shown = "'\\t'" if sep == "\t" else f"'{sep}'"
                raise DataError(f"{frame.source}: read as a single column named {names[0]!r}; "
                                f"if the file is {word}-separated, use --delimiter {shown}")
    index = _index_columns(frame, fmt)
    if not index or len(index) == len(names):
        return frame
    shown = ", ".join(repr(n) for n in index)
    warnings.warn(f"{frame.source}: column {shown} is a saved pandas index (row labels, not "
                  f"data) and is left out", DataWarning, stacklevel=3)
    return Frame(frame.source, table=frame.table.drop_columns(index),
                 text_column=frame.text_column)


def _read_csv(path, delimiter=","):
    import pyarrow as pa
    import pyarrow.csv as pv

    if len(delimiter) != 1:
        raise DataError(f"--delimiter must be one character; got {delimiter!r}")
    parse = pv.ParseOptions(delimiter=delimiter)
    # Text cells in NULL_VALUES are missing in text columns too, as in every other format.
    nulls = {"null_values": list(NULL_VALUES), "strings_can_be_null": True}

    def text_column(name):
        # The column as written; read again only for a target that PyArrow typed (see Frame).
        convert = pv.ConvertOptions(include_columns=[name], column_types={name: pa.string()},
                                    **nulls)
        return pv.read_csv(path, parse_options=parse, convert_options=convert).column(name)

    table = pv.read_csv(path, parse_options=parse, convert_options=pv.ConvertOptions(**nulls))
    return Frame(path, table=table, text_column=text_column)


def _read_parquet(path):
    import pyarrow.parquet as pq

    return Frame(path, table=pq.read_table(path))


def _read_npy(path):
    with open(path, "rb") as fh:
        _check_npy_header(fh, os.fstat(fh.fileno()).st_size, path, "cannot read as npy: the "
                          "file")
    array = np.load(path, allow_pickle=False)
    if array.dtype.names:
        return Frame(path, table=_table({n: array[n] for n in array.dtype.names}, path))
    if array.ndim != 2:
        raise DataError(f"{path}: expected a 2-D array (rows × columns); got shape {array.shape}")
    return Frame(path, table=_table({f"x{j}": array[:, j] for j in range(array.shape[1])}, path))


def _read_npz(path):
    _check_npz(path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    if "X" in arrays:
        X = arrays.pop("X")
        y = arrays.pop("y", None)
        if X.ndim != 2:
            raise DataError(f"{path}: array 'X' must be 2-D; got shape {X.shape}")
        names = arrays.pop("feature_names", None)
        if names is None:
            names = [f"x{j}" for j in range(X.shape[1])]
        names = [str(n) for n in names]
        check_unique_names(names, path)
        if len(names) != X.shape[1]:
            raise DataError(f"{path}: 'feature_names' has {len(names)} names but 'X' has "
                            f"{X.shape[1]} columns")
        columns = {n: X[:, j] for j, n in enumerate(names)}
        if y is not None:
            columns["y"] = y
        return Frame(path, table=_table(columns, path))
    return Frame(path, table=_table(arrays, path))


def _read_svmlight(path):
    from sklearn.datasets import load_svmlight_file

    # Read the indices as written and guess the base as scikit-learn's "auto" does (no index 0
    # anywhere → one-based). The encoder applies the base seen at fit time, so predict on a
    # file that happens to lack index 0 is not shifted by one.
    X, y = load_svmlight_file(path, zero_based=True)
    if X.shape[1] > MAX_SVMLIGHT_FEATURES:
        raise DataError(f"{path}: feature index {X.shape[1] - 1} is beyond the "
                        f"{MAX_SVMLIGHT_FEATURES} feature columns softlogit reads from svmlight")
    X = X.tocsr()
    zero_based = bool(X.nnz == 0 or X.indices.min() == 0)
    return Frame(path, sparse=X, label=y, zero_based=zero_based)


def _check_npy_header(fh, available: int, path, where: str) -> None:
    """Refuse a ``.npy`` header whose array would not be exactly the ``available`` bytes."""
    import math

    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _, dtype = fmt.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    except (ValueError, SyntaxError, TypeError, EOFError, OverflowError) as exc:
        raise DataError(f"{path}: {where} is not a valid .npy array "
                        f"({_first_line(exc)})") from None
    if dtype.hasobject:
        raise DataError(f"{path}: {where} holds Python objects, which softlogit never loads "
                        f"(they would need pickle)")
    count = math.prod(int(n) for n in shape)
    data = available - fh.tell()
    if dtype.itemsize == 0 or count * dtype.itemsize != data:
        raise DataError(f"{path}: {where} declares shape {tuple(shape)} of {dtype} "
                        f"({count * dtype.itemsize} bytes) but holds {data} bytes of data")


def _check_npz(path) -> None:
    """Check each ``.npz`` entry's flags, declared size and ``.npy`` header before loading."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            name = info.filename
            if info.flag_bits & 0x1:
                raise DataError(f"{path}: entry {name!r} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise DataError(f"{path}: entry {name!r} uses compression method "
                                f"{info.compress_type}; only stored and deflate are read")
            if info.file_size > _MAX_DEFLATE_RATIO * info.compress_size + (1 << 20):
                raise DataError(f"{path}: entry {name!r} declares {info.file_size} bytes from "
                                f"{info.compress_size} compressed, more than deflate can give")
            if name.endswith(".npy"):
                with archive.open(info) as fh:
                    _check_npy_header(fh, info.file_size, path, f"entry {name!r}")


def _table(columns: dict, path):
    import pyarrow as pa

    lengths = {np.shape(a)[0] if np.ndim(a) == 1 else -1 for a in columns.values()}
    if not columns or len(lengths) != 1 or -1 in lengths:
        raise DataError(f"{path}: expected equal-length 1-D arrays (or 'X' and 'y'); got shapes "
                        + ", ".join(f"{n}: {np.shape(a)}" for n, a in columns.items()))
    return pa.table({name: np.asarray(a) for name, a in columns.items()})


def _first_line(exc) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


_READERS = {"parquet": _read_parquet, "npy": _read_npy,
            "npz": _read_npz, "svmlight": _read_svmlight}
