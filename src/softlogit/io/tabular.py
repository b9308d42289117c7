"""A fitted estimator together with the encoding of the table it was trained on.

:class:`TabularModel` is what ``softlogit fit`` saves and ``softlogit predict`` loads: given a
:class:`~softlogit.io.frame.Frame` with the training columns (by name), it encodes them exactly
as in training (one-hot categories, imputation means, scaling) and predicts.
"""

from __future__ import annotations

import numpy as np

from softlogit.io.encoding import TableEncoder
from softlogit.io.frame import Frame


class TabularModel:
    """An encoder plus an estimator.

    Parameters
    ----------
    encoder : a :class:`~softlogit.io.encoding.TableEncoder` (fitted by :meth:`fit`).
    estimator : a softlogit estimator (``LogisticRegression`` or ``SoftmaxRegression``).
    target_name : the training target column's name (dropped from data given to predict).
    id_name : a key column (``softlogit fit --id``) that is not a feature: ``predict`` output
        carries it, so that predictions join back to the rows they are for.

    Examples
    --------
    >>> import numpy as np, pyarrow as pa
    >>> from softlogit import LogisticRegression
    >>> frame = Frame("example", table=pa.table({"a": np.arange(8.0), "c": list("xyxyxyxy")}))
    >>> y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> model = TabularModel(TableEncoder(), LogisticRegression()).fit(frame, y)
    >>> model.predict(frame).tolist()
    [0, 0, 0, 0, 1, 1, 1, 1]
    >>> model.predict(pa.table({"c": ["x", "y"], "a": [0.0, 7.0]})).tolist()
    [0, 1]
    """

    def __init__(self, encoder: TableEncoder, estimator, target_name: str | None = None,
                 id_name: str | None = None):
        self.encoder = encoder
        self.estimator = estimator
        self.target_name = target_name
        self.id_name = id_name

    @property
    def classes_(self) -> np.ndarray:
        return self.estimator.classes_

    @property
    def feature_names(self) -> list[str]:
        """Names of the encoded columns the coefficients refer to."""
        return list(self.encoder.feature_names_out_)

    def fit(self, frame: Frame, y) -> TabularModel:
        """Fit the encoder on ``frame`` and the estimator on the encoded matrix and ``y``."""
        X = self.encoder.fit_transform(frame)
        self.estimator.fit(X, y)
        return self

    def transform(self, frame, handle_unknown: str | None = None):
        """The encoded matrix (the target column, if present, is left out).

        ``frame`` is a :class:`~softlogit.io.frame.Frame`, a :class:`pyarrow.Table`, or a
        path or bundled name for :func:`~softlogit.io.readers.read_data`; so are the
        arguments of :meth:`predict` and :meth:`predict_proba`.
        """
        frame = as_frame(frame)
        if (self.target_name is not None and frame.table is not None
                and self.target_name in frame.column_names):
            frame = frame.drop(self.target_name)
        return self.encoder.transform(frame, handle_unknown=handle_unknown)

    def predict(self, frame, handle_unknown: str | None = None) -> np.ndarray:
        """Predicted class labels, one per row."""
        return self.estimator.predict(self.transform(frame, handle_unknown))

    def predict_proba(self, frame, handle_unknown: str | None = None) -> np.ndarray:
        """(m, K) class probabilities, columns in the order of :attr:`classes_`."""
        return self.estimator.predict_proba(self.transform(frame, handle_unknown))


def as_frame(data) -> Frame:
    """``data`` as a :class:`~softlogit.io.frame.Frame`: a frame, a :class:`pyarrow.Table`, a
    pandas or polars data frame (any object with ``__arrow_c_stream__``), or a file to read.

    Data frames are read by the rules files are (:mod:`softlogit.io.readers`): text nulls are
    missing; a pandas index is not a column.
    """
    if isinstance(data, Frame):
        return data
    import os

    import pyarrow as pa

    if isinstance(data, (str, os.PathLike)):
        from softlogit.io.readers import read_data

        return read_data(data)
    if isinstance(data, pa.Table):
        table = data
    elif type(data).__module__.startswith("pandas"):
        table = pa.Table.from_pandas(data, preserve_index=False)
    elif hasattr(data, "to_arrow"):  # polars
        table = data.to_arrow()
    elif hasattr(data, "__arrow_c_stream__"):
        table = pa.table(data)
    else:
        raise TypeError(f"expected a table (pyarrow, pandas or polars) or a file; got a "
                        f"{type(data).__name__}")
    from softlogit.io.readers import text_nulls

    return text_nulls(Frame("data frame", table=table))


def from_pipeline(pipeline) -> tuple[object, list[str]]:
    """A scikit-learn ``Pipeline`` of softlogit parts as what the model file stores.

    ``Pipeline([(name, TableEncoder), (name, estimator)])`` becomes a :class:`TabularModel`,
    ``Pipeline([(name, estimator)])`` the estimator; the step names come back with it, so that
    :func:`to_pipeline` rebuilds the same pipeline. Any other step has no safe file form.
    """
    from softlogit.estimators.base import BaseCrossEntropyClassifier

    steps = list(pipeline.steps)
    names = [name for name, _ in steps]
    parts = [step for _, step in steps]
    for name, step in steps:
        if not isinstance(step, (TableEncoder, BaseCrossEntropyClassifier)):
            raise ValueError(f"cannot save the Pipeline: step {name!r} is a "
                             f"{type(step).__name__}; only softlogit parts (a TableEncoder "
                             f"followed by LogisticRegression or SoftmaxRegression) have a "
                             f"safe file form")
    if len(parts) == 1 and isinstance(parts[0], BaseCrossEntropyClassifier):
        return parts[0], names
    if (len(parts) == 2 and isinstance(parts[0], TableEncoder)
            and isinstance(parts[1], BaseCrossEntropyClassifier)):
        return TabularModel(parts[0], parts[1]), names
    raise ValueError(f"cannot save a Pipeline with steps {', '.join(names)}: the safe format "
                     f"holds a TableEncoder followed by one softlogit estimator")


def to_pipeline(model, names: list[str]):
    """The ``Pipeline`` that :func:`from_pipeline` stored as ``model`` with step ``names``."""
    from sklearn.pipeline import Pipeline

    parts = [model.encoder, model.estimator] if isinstance(model, TabularModel) else [model]
    if len(names) != len(parts) or not all(isinstance(n, str) for n in names):
        raise ValueError("the pipeline's step names do not match its parts")
    return Pipeline(list(zip(names, parts)))
