"""The data sets bundled with scikit-learn, usable by name (no network access).

Each becomes a :class:`~softlogit.io.frame.Frame` whose last column, ``target``, holds the
labels: class names where scikit-learn gives them (``iris`` → ``setosa`` …), else integers.
"""

from __future__ import annotations

from dataclasses import dataclass

from softlogit.io.frame import Frame


@dataclass(frozen=True)
class Bundled:
    """A bundled data set: its scikit-learn loader and a one-line description."""

    name: str
    loader: str
    description: str


BUNDLED = {
    b.name: b
    for b in (
        Bundled("digits", "load_digits",
                "8×8 images of handwritten digits, 64 pixel intensities, 10 classes"),
        Bundled("iris", "load_iris", "iris flowers, 4 measurements, 3 species"),
        Bundled("wine", "load_wine", "wines, 13 chemical measurements, 3 cultivars"),
        Bundled("breast_cancer", "load_breast_cancer",
                "breast tumours, 30 cell-nucleus features, malignant or benign"),
    )
}


def load_bundled(name: str) -> Frame:
    """The bundled data set ``name`` as a frame with a ``target`` column.

    Examples
    --------
    >>> frame = load_bundled("iris")
    >>> frame.n_rows, frame.column_names[-1]
    (150, 'target')
    """
    import numpy as np
    import pyarrow as pa
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, BUNDLED[name].loader)()
    names = [str(n) for n in bunch.feature_names]
    X = np.asarray(bunch.data, dtype=np.float64)
    target_names = np.asarray(bunch.target_names)
    labels = np.asarray(bunch.target)
    if target_names.dtype.kind in "UO":
        labels = target_names[labels].astype(str)
    columns = {n: X[:, j] for j, n in enumerate(names)}
    columns["target"] = labels
    return Frame(name, table=pa.table(columns))


def describe(name: str) -> dict:
    """Rows, features and class counts of a bundled data set (loads it)."""
    import numpy as np

    frame = load_bundled(name)
    y = frame.table.column("target").to_numpy(zero_copy_only=False)
    classes, counts = np.unique(y, return_counts=True)
    return {"name": name, "rows": frame.n_rows, "features": len(frame.column_names) - 1,
            "classes": {str(c): int(n) for c, n in zip(classes, counts)},
            "description": BUNDLED[name].description}
