"""Choosing the Design for an array: the one place that branches on the kind of X."""

from __future__ import annotations

import importlib
import sys
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


#: Backend modules, each with the libraries whose presence calls for it. A backend registers
#: itself with :func:`register_design` when imported. The fused Numba kernels (no trigger) load on
#: first use; an optional backend loads only once one of its trigger libraries has been imported
#: by the caller (a dask or torch array cannot exist before its library is imported), so the
#: core never imports Dask, PyTorch or CuPy itself. A backend module not present is skipped.
BACKEND_MODULES: list[tuple[str, tuple[str, ...]]] = [
    ("softlogit.kernels", ()),
    ("softlogit.backends.dask", ("dask",)),
    ("softlogit.backends.xp", ("array_api_strict", "torch", "cupy", "jax")),
]
_loaded: set[str] = set()


def _load_builtin_backends() -> None:
    """Import every backend module that is called for and not yet loaded (see above)."""
    for module, triggers in BACKEND_MODULES:
        if module in _loaded or (triggers and not any(t in sys.modules for t in triggers)):
            continue
        _loaded.add(module)
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:  # the backend package itself is absent
            if exc.name != module and not module.startswith(str(exc.name)):
                raise


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
