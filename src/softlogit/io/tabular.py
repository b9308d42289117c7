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

    def __init__(self, encoder: TableEncoder, estimator, target_name: str | None = None):
        self.encoder = encoder
        self.estimator = estimator
        self.target_name = target_name

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
    """``data`` as a :class:`~softlogit.io.frame.Frame`: a frame, a table, or a file to read."""
    if isinstance(data, Frame):
        return data
    import pyarrow as pa

    if isinstance(data, pa.Table):
        return Frame("table", table=data)
    from softlogit.io.readers import read_data

    return read_data(data)
