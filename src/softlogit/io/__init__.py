"""Reading data and saving models: the io layer beside the estimators (DESIGN §2).

- :mod:`~softlogit.io.readers` — CSV, Parquet, ``.npy``/``.npz``, svmlight, bundled names;
- :mod:`~softlogit.io.frame` — the in-memory frame and target selection;
- :mod:`~softlogit.io.encoding` — one-hot categories, imputation, scaling;
- :mod:`~softlogit.io.tabular` — encoder + estimator (what the CLI saves);
- :mod:`~softlogit.io.model_file` — the safe ``.softlogit`` model format.
"""

from softlogit.io.errors import DataError, DataWarning, ModelFileError

__all__ = ["DataError", "DataWarning", "ModelFileError"]
