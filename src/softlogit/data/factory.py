"""Choosing the Design for an array: the one place that branches on the kind of X."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from softlogit.data.base import Design
from softlogit.data.dense import DenseDesign
from softlogit.data.sparse import SparseDesign

# Backends registered by optional modules (compiled kernels, GPU arrays, Dask arrays).
# Each entry is (predicate on X, constructor); the first that accepts X wins.
_REGISTRY: list[tuple[Callable[[object], bool], Callable[[object], Design]]] = []


def register_design(accepts: Callable[[object], bool], make: Callable[[object], Design],
                    *, first: bool = True) -> None:
    """Register a backend: ``make(X)`` is used for every X with ``accepts(X)`` true."""
    entry = (accepts, make)
    if first:
        _REGISTRY.insert(0, entry)
    else:
        _REGISTRY.append(entry)


def _load_builtin_backends() -> None:
    """Import the fused Numba kernels, which register themselves (first use only)."""
    import softlogit.kernels  # noqa: F401  (registration happens on import)


def as_design(X, *, backend: str = "auto") -> Design:
    """Wrap X in a :class:`Design`.

    ``backend="reference"`` forces the plain NumPy/SciPy path (what the fast kernels are
    tested against); ``"auto"`` takes the first registered backend that accepts X — by default
    the fused Numba kernels of :mod:`softlogit.kernels` for dense float and CSR X.
    """
    if isinstance(X, Design):
        return X
    if backend == "auto":
        _load_builtin_backends()
        for accepts, make in _REGISTRY:
            if accepts(X):
                return make(X)
    elif backend != "reference":
        raise ValueError(f"unknown backend {backend!r}; expected 'auto' or 'reference'")
    if sp.issparse(X):
        return SparseDesign(X)
    return DenseDesign(np.asarray(X))
