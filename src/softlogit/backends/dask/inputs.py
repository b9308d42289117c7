"""Dask arrays and DataFrames to the aligned row chunks of a fit.

- X: a 2-D dask array or a dask DataFrame of numeric columns (its string column names become
  ``feature_names_in_``). Unknown chunk sizes (a DataFrame's partitions) are computed once.
  Columns are joined into one chunk per row block; rows keep the user's chunking.
- y and sample_weight: dask arrays, Series or DataFrames, or in-memory arrays; they are
  re-chunked to X's row chunks (a NumPy array is split along them).
- Labels of any sortable type are found with one distributed pass over y (per-chunk unique
  values and counts, merged on the client); the class indices are computed in the chunks.
"""

from __future__ import annotations

import numpy as np

from softlogit.backends.dask.chunk import ChunkSpec


def is_dataframe(obj) -> bool:
    return hasattr(obj, "to_dask_array") and hasattr(obj, "npartitions")


def feature_names(X):
    """String column names of a dask DataFrame (scikit-learn's rule), else ``None``."""
    if not is_dataframe(X) or not hasattr(X, "columns"):
        return None
    cols = list(X.columns)
    kinds = {isinstance(c, str) for c in cols}
    if kinds == {True}:
        return np.asarray(cols, dtype=object)
    if kinds == {True, False}:
        raise TypeError("Feature names are only supported if all input features have string "
                        f"names, but the dask DataFrame's columns mix types: {cols[:5]!r}")
    return None


def as_rows(X, *, name="X"):
    """X as a 2-D dask array with known row chunks and a single column chunk."""
    import dask.array as da

    if is_dataframe(X):
        bad = [str(c) for c, t in X.dtypes.items() if t.kind not in "fiub"]
        if bad:
            raise ValueError(f"{name} must be numeric; column(s) {', '.join(bad[:5])} are not "
                             "(encode categories first, e.g. with softlogit.io for tables)")
        X = frame_rows(X)
    elif not isinstance(X, da.Array):
        raise TypeError(f"{name} must be a dask array or dask DataFrame; got {type(X).__name__}")
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-dimensional (m, p); got {X.ndim} dimensions")
    if any(np.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    if X.shape[0] == 0:
        raise ValueError(f"{name} has no rows")
    return X


def _to_numpy(part):
    return part.to_numpy()


def frame_rows(frame):
    """A dask DataFrame or Series as a dask array with known row chunks.

    The partitions are taken once (``to_delayed``) and their lengths computed from those same
    partitions: ``to_dask_array(lengths=True)`` can disagree with itself when Dask fuses the
    partitions of a column selection during optimisation (seen with dask 2026.8 on Parquet).
    """
    import dask
    import dask.array as da

    parts = frame.to_delayed()
    lengths = dask.compute(*[dask.delayed(len)(p) for p in parts])
    meta = frame._meta.to_numpy()
    blocks = [da.from_delayed(dask.delayed(_to_numpy)(p), shape=(n,) + meta.shape[1:],
                              dtype=meta.dtype) for p, n in zip(parts, lengths)]
    return da.concatenate(blocks, axis=0)


def aligned(v, X, name):
    """``v`` (y or sample_weight, any of the accepted kinds) as a dask array chunked like X's
    rows; ``None`` stays ``None``."""
    import dask.array as da

    if v is None:
        return None
    m, row_chunks = X.shape[0], X.chunks[0]
    if is_dataframe(v):
        # Its own partition lengths, computed: Dask may fuse the partitions of a one-column
        # selection differently from X's (npartitions is not final before optimisation), so
        # X's lengths cannot be assumed; the rows are then re-chunked to X's.
        v = frame_rows(v)
    elif not isinstance(v, da.Array):
        a = np.asarray(v)
        if a.ndim == 0:
            a = np.full(m, a.item())
        if a.shape[0] != m:
            raise ValueError(f"X has {m} rows but {name} has {a.shape[0]}")
        return da.from_array(a, chunks=(row_chunks,) + a.shape[1:])
    if any(np.isnan(c) for c in v.chunks[0]):
        v = v.compute_chunk_sizes()
    if v.ndim == 2 and v.shape[1] == 1:
        v = v[:, 0]
    if v.shape[0] != m:
        raise ValueError(f"X has {m} rows but {name} has {v.shape[0]}")
    if v.chunks[0] != row_chunks or (v.ndim == 2 and v.numblocks[1] > 1):
        v = v.rechunk((row_chunks,) + ((v.shape[1],) if v.ndim == 2 else ()))
    return v


def find_labels(y):
    """``(classes, counts)`` of y's labels in one distributed pass (unique per chunk)."""
    import dask

    @dask.delayed(pure=False)
    def unique_counts(block):
        block = np.asarray(block)
        if block.dtype.kind == "f" and not np.all(np.isfinite(block)):
            raise ValueError("y contains NaN or infinite values")
        return np.unique(block, return_counts=True)

    parts = dask.compute(*[unique_counts(b) for b in y.to_delayed().ravel()])
    parts = [p for p in parts if len(p[0])]
    values = np.concatenate([p[0] for p in parts])
    classes, inverse = np.unique(values, return_inverse=True)
    counts = np.bincount(inverse, weights=np.concatenate([p[1] for p in parts]),
                         minlength=len(classes)).astype(np.int64)
    return classes, counts


def class_weights(class_weight, classes, counts=None, totals=None):
    """One weight per class (or ``None``), as :func:`softlogit.estimators.labels.
    class_weight_per_sample` computes them: ``"balanced"`` is ``m / (K · m_k)`` from the
    label counts (hard) or the soft class totals ``Σᵢ Yᵢₖ``."""
    if class_weight is None:
        return None
    K = len(classes)
    if class_weight == "balanced":
        ref = counts if totals is None else totals
        m = counts.sum() if totals is None else totals.sum()
        with np.errstate(divide="ignore"):
            return np.where(ref > 0, m / (K * np.asarray(ref, dtype=np.float64)), 0.0)
    if totals is None:
        from sklearn.utils.class_weight import compute_class_weight

        return compute_class_weight(class_weight, classes=classes, y=classes)
    unknown = set(class_weight) - set(range(K))
    if unknown:
        raise ValueError(f"class_weight keys {sorted(unknown)!r} are not classes 0..{K - 1} of "
                         "the soft targets")
    return np.array([float(class_weight.get(k, 1.0)) for k in range(K)])


def fit_dtype(X):
    dt = np.dtype(X.dtype)
    return dt if dt in (np.dtype(np.float32), np.dtype(np.float64)) else np.dtype(np.float64)


def design_of_array(X, executor=None):
    """A :class:`DaskDesign` of X alone (binary zero targets, unit weights)."""
    import dask.array as da

    from softlogit.backends.dask.design import DaskDesign
    from softlogit.backends.dask.executor import executor_for

    X = as_rows(X)
    spec = ChunkSpec(dtype=fit_dtype(X), n_features=X.shape[1], classes=np.array([0.0, 1.0]),
                     n_classes=2, binary=True)
    y = da.zeros(X.shape[0], chunks=(X.chunks[0],))
    return DaskDesign.build(executor or executor_for(), X, y, None, spec)
