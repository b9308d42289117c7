"""Tables too large for one machine: a Parquet dataset or CSV files by glob, as Dask reads them,
encoded exactly as the CLI encodes a table in memory.

- :func:`read_table` opens a Parquet dataset (a directory, a ``.parquet`` file or a glob of
  them; :func:`dask.dataframe.read_parquet`) or CSV/TSV files by glob
  (:func:`dask.dataframe.read_csv`); nothing is read yet.
- :func:`fit_encoder` learns the column encoding of :class:`~softlogit.io.encoding.
  TableEncoder` — text columns one-hot encoded by their sorted categories, numeric columns'
  missing-value means for ``--impute mean``, their means and standard deviations for
  ``--standardize`` — from statistics computed on the workers in **one** pass (per-partition
  category sets, non-null counts, sums, sums of squares, row counts), and returns a fitted
  ``TableEncoder`` (built with its :meth:`~TableEncoder.from_state`), so the saved model predicts
  in memory exactly as it does here.
- :func:`encode` applies it to every partition with ``TableEncoder.transform`` (the same code
  as in memory): X as a dask array with known row chunks, y's labels beside it.
"""

from __future__ import annotations

import glob
import os

import numpy as np

from softlogit.io.errors import DataError
from softlogit.io.frame import Frame, target_by_name

CSV_SUFFIXES = {".csv": ",", ".tsv": "\t"}


def read_table(path: str):
    """A dask DataFrame of the Parquet dataset or CSV files at ``path`` (module docstring)."""
    import dask.dataframe as dd

    path = os.fspath(path)
    is_glob = any(ch in path for ch in "*?[")
    files = sorted(glob.glob(path)) if is_glob else ([path] if os.path.exists(path) else [])
    if not files:
        raise DataError(f"{path}: no such file, directory or matching files")
    suffix = os.path.splitext(files[0])[1].lower()
    try:
        if suffix in CSV_SUFFIXES:
            # Every column is read as text first would lose numbers; let Dask infer the types
            # from a sample but read integer-looking columns as floats (a later partition may
            # hold a missing value, which pandas cannot put in an integer column).
            return dd.read_csv(files, sep=CSV_SUFFIXES[suffix], assume_missing=True,
                               blocksize="64MB")
        return dd.read_parquet(path if not is_glob else files)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot be read as a Parquet dataset or CSV files ({exc})") \
            from exc


def find_target(columns, target, source) -> str:
    """The target column, by the CLI's rule (:func:`softlogit.io.frame.target_by_name`)."""
    return target_by_name([str(c) for c in columns], target, source)


def _is_text(dtype) -> bool:
    return dtype == object or str(dtype) in ("string", "str") or str(dtype).startswith("string")


def partitions(ddf):
    """The table's partitions as delayed pandas frames, taken **once**: every later step maps
    over this same list, so features and target stay aligned (Dask may otherwise fuse small
    files into partitions differently for different column selections)."""
    return list(ddf.to_delayed())


def _partition_stats(part, text_cols, numeric_cols):
    """One partition's statistics: rows, categories per text column, and per numeric column
    (non-null count, sum, sum of squares, infinite count)."""
    out = {"rows": len(part), "categories": {}, "numeric": {}}
    for c in text_cols:
        values = part[c].dropna()
        out["categories"][c] = set(values.astype(str).unique().tolist())
    for c in numeric_cols:
        v = part[c].to_numpy(dtype=np.float64, na_value=np.nan)
        finite = np.isfinite(v)
        present = ~np.isnan(v)
        x = v[finite]
        out["numeric"][c] = (int(present.sum()), float(x.sum()), float((x * x).sum()),
                             int((present & ~finite).sum()))
    return out


def _stats_pair(part, text_cols, numeric_cols, split, offset, source, name):
    """:func:`_partition_stats` of the partition's training rows and of its other rows."""
    if split is None:
        return _partition_stats(part, text_cols, numeric_cols), None
    mask = split.test_mask(_labels(part, source, name), offset)
    return (_partition_stats(part[~mask], text_cols, numeric_cols),
            _partition_stats(part[mask], text_cols, numeric_cols))


def fit_encoder(features, parts, *, impute=None, handle_unknown="error", standardize=True,
                source="data", split=None, offsets=None, target=None):
    """A fitted :class:`~softlogit.io.encoding.TableEncoder` and the (training) row count per
    partition, from one distributed pass over ``parts`` (:func:`partitions`); ``features`` is
    the dask DataFrame of the feature columns (only its column names and types are used).

    With ``split`` (a :class:`~softlogit.backends.dask.split.StratifiedSplit`, ``offsets`` the
    first row of each partition, ``target`` the label column) the encoding is learned on the
    training rows only, as the in-memory CLI learns it, while missing and infinite values are
    counted over every row, so that errors count rows of the data as in memory."""
    import dask

    from softlogit.io.encoding import TableEncoder

    specs, fill, center, scale, missing, infinite = [], [], [], [], {}, {}
    columns = [str(c) for c in features.columns]
    text_cols = [c for c, t in features.dtypes.items() if _is_text(t)]
    numeric_cols = [c for c, t in features.dtypes.items()
                    if not _is_text(t) and (t.kind in "fiub")]
    other = [c for c in columns if c not in text_cols and c not in numeric_cols]
    if other:
        raise DataError(f"{source}: column {other[0]!r} has type {features[other[0]].dtype}, "
                        "which is neither numeric nor text")
    offsets = offsets if offsets is not None else [0] * len(parts)
    pairs = dask.compute(*[dask.delayed(_stats_pair)(p, text_cols, numeric_cols, split, o,
                                                     source, target)
                           for p, o in zip(parts, offsets)])
    stats = [t for t, _ in pairs]
    every = stats + [r for _, r in pairs if r is not None]
    lengths = [s["rows"] for s in stats]
    m = sum(lengths)
    if m == 0:
        raise DataError(f"{source}: has no rows")
    m_all = sum(s["rows"] for s in every)
    for c in numeric_cols:  # over every row (module docstring of fit_encoder)
        n_all, n_inf = (sum(s["numeric"][c][i] for s in every) for i in (0, 3))
        if n_inf:
            infinite[c] = n_inf
        if n_all < m_all:
            missing[c] = m_all - n_all
    for c in columns:
        if c in text_cols:
            cats = sorted(set().union(*(s["categories"][c] for s in stats)))
            specs.append({"name": c, "kind": "categorical", "categories": cats})
            fill += [0.0] * len(cats)
            center += [0.0] * len(cats)
            scale += [1.0] * len(cats)
            continue
        n, total, squares = (sum(s["numeric"][c][i] for s in stats) for i in range(3))
        mean = total / n if n else 0.0
        # filling the missing entries with the mean leaves the mean and adds no squares
        var = max(squares / m - (n / m) * mean * mean, 0.0) if n else 0.0
        specs.append({"name": c, "kind": "numeric", "categories": None})
        fill.append(mean)
        center.append(mean if standardize else 0.0)
        scale.append((np.sqrt(var) if var > 0 else 1.0) if standardize else 1.0)
    if infinite:
        raise DataError(f"{source}: infinite values in " + ", ".join(
            f"column {k!r} ({v} rows)" for k, v in infinite.items()))
    if missing and impute is None:
        raise DataError(f"{source}: missing values in " + ", ".join(
            f"column {k!r} ({v} rows)" for k, v in missing.items())
            + "; use --impute mean to fill them with the training means")
    names = [f"{s['name']}={cat}" if s["kind"] == "categorical" else s["name"]
             for s in specs for cat in (s["categories"] or [None])]
    meta = {"impute": impute, "handle_unknown": handle_unknown, "standardize": standardize,
            "columns": specs, "n_columns_in": len(specs), "zero_based": None,
            "feature_names_out": names}
    arrays = {"fill": np.asarray(fill, dtype=np.float64),
              "center": np.asarray(center, dtype=np.float64),
              "scale": np.asarray(scale, dtype=np.float64)}
    return TableEncoder.from_state(meta, arrays), lengths


def _encode_partition(part, encoder, source, handle_unknown):
    import pyarrow as pa

    names = [c["name"] for c in encoder.columns_]
    table = pa.Table.from_pandas(part[names], preserve_index=False)
    return encoder.transform(Frame(source, table=table), handle_unknown=handle_unknown)


def _labels(frame, source, name):
    part = frame[name]
    values = part.to_numpy()
    if part.isna().any():
        raise DataError(f"{source}: target column {name!r} has {int(part.isna().sum())} "
                        "missing values")
    if values.dtype.kind == "f" and np.all(values == np.round(values)):
        values = values.astype(np.int64)  # whole floats are integer labels, as in memory
    elif values.dtype == object:
        values = values.astype(str)
    return values


def encode(parts, encoder, lengths, *, source="data", handle_unknown=None):
    """X: the encoded features as a dask array with known row chunks (``lengths``)."""
    import dask
    import dask.array as da

    width = len(encoder.feature_names_out_)
    blocks = [da.from_delayed(dask.delayed(_encode_partition)(p, encoder, source,
                                                             handle_unknown),
                              shape=(n, width), dtype=np.float64)
              for p, n in zip(parts, lengths)]
    return da.concatenate(blocks, axis=0)


def _label_dtype(column):
    meta = column._meta.to_numpy()
    return np.dtype("U") if meta.dtype == object else (
        np.dtype(np.int64) if meta.dtype.kind == "f" else meta.dtype)


def read_labels(column, parts, *, source="data", name="target"):
    """``(y, lengths)``: the target column's labels **persisted** on the workers (a dask array
    with known chunks, one per partition) and the rows per partition, in one read of ``parts``.
    The labels are small beside X (one value per row); every later step that needs them (the
    class counts, the stratified split, the split's masks) reads them there."""
    import dask
    import dask.array as da

    persisted = dask.persist(*[dask.delayed(_labels)(p, source, name) for p in parts])
    lengths = [int(n) for n in dask.compute(*[dask.delayed(len)(b) for b in persisted])]
    dtype = _label_dtype(column)
    y = da.concatenate([da.from_delayed(b, shape=(n,), dtype=dtype)
                        for b, n in zip(persisted, lengths)], axis=0)
    return y, lengths


def split_part(part, split, offset, *, test, source="data", name="target"):
    """The train (``test`` false) or test rows of one partition under ``split`` (a
    :class:`~softlogit.backends.dask.split.StratifiedSplit`; rows from ``offset``)."""
    mask = split.test_mask(_labels(part, source, name), offset)
    return part[mask if test else ~mask]
