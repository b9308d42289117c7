"""The Dask backend: fits on a Dask cluster with X, y and weights as row chunks on the workers.

Loaded by :mod:`softlogit.data.factory` only once ``dask`` has been imported by the caller (the
core never imports Dask). It registers :class:`DaskDesign` for dask arrays; the estimators route
dask arrays and DataFrames to :mod:`.estimator` (``fit``, ``partial_fit``, ``predict*``,
``decision_function``, ``score``).

Modules: :mod:`.chunk` (what runs on a worker), :mod:`.executor` (passes over the chunks on a
cluster or in this process, fixed-order reductions), :mod:`.design`, :mod:`.objective`,
:mod:`.inputs` (dask arrays/DataFrames to aligned row chunks, labels in one pass),
:mod:`.estimator`, :mod:`.inference` (``est.inference`` on dask input), :mod:`.sources`
(Parquet datasets, CSV globs), :mod:`.split` (the CLI's stratified split on the workers),
:mod:`.metrics` (its exact distributed metrics), :mod:`.cluster` (the CLI's ``--dask``). Install with ``pip install softlogit[dask]``.
"""

from __future__ import annotations

import dask.array as da

from softlogit.backends.dask.design import DaskDesign, RowVector
from softlogit.backends.dask.executor import ClusterLostError, executor_for
from softlogit.backends.dask.objective import DaskObjective
from softlogit.data.factory import register_design


def _accepts(X) -> bool:
    return isinstance(X, da.Array) and X.ndim == 2


def _make(X) -> DaskDesign:
    """A design of X alone (unit weights, no targets): for the generic products."""
    from softlogit.backends.dask.inputs import design_of_array

    return design_of_array(X)


register_design(_accepts, _make)

__all__ = ["DaskDesign", "DaskObjective", "RowVector", "ClusterLostError", "executor_for"]
