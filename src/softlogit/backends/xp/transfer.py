"""Which arrays the array-API backend takes, and the only two ways data crosses between devices.

X never crosses: the design computes on it where it lives. What does cross is small — the
k·p-sized coefficients going to the device, gradients and Hessians coming back — and it goes
through :func:`to_device` and :func:`to_host`, each library's own explicit transfer. A host
copy of anything else would be a bug: array-api-strict's simulated devices refuse the implicit
conversions (``np.asarray``, ``float()``), so the tests on them catch one.
"""

from __future__ import annotations

import numpy as np
from array_api_compat import (
    array_namespace, device, is_array_api_obj, is_array_api_strict_namespace, is_cupy_array,
    is_dask_array, is_numpy_array, is_torch_array,
)


def is_device_array(X) -> bool:
    """True for an array-API array that NumPy does not own (torch, CuPy, JAX, array-api-strict…).

    NumPy arrays keep the NumPy/Numba path; Dask arrays have a backend of their own; SciPy
    sparse matrices are not array-API objects.
    """
    return is_array_api_obj(X) and not is_numpy_array(X) and not is_dask_array(X)


def namespace(*arrays):
    """The array-API namespace of ``arrays`` (``array_api_compat``'s wrapper for torch/CuPy)."""
    return array_namespace(*arrays)


def float_dtype(xp, np_dtype):
    """The namespace's dtype for NumPy's float32/float64."""
    return xp.float32 if np.dtype(np_dtype) == np.float32 else xp.float64


def numpy_dtype(xp, dtype) -> np.dtype:
    """NumPy's dtype for the namespace's float32/float64 (what the solvers compute in)."""
    if dtype == xp.float32:
        return np.dtype(np.float32)
    if dtype == xp.float64:
        return np.dtype(np.float64)
    raise TypeError(f"expected a float32 or float64 array; got dtype {dtype}")


def to_device(xp, a, dev, dtype=None):
    """A host array (NumPy, list, scalar) as an array of namespace ``xp`` on device ``dev``."""
    return xp.asarray(np.asarray(a) if dtype is None else np.asarray(a, dtype=dtype), device=dev)


def to_host(x) -> np.ndarray:
    """An explicit device→host copy of ``x`` as NumPy (used only for small vectors)."""
    if is_numpy_array(x):
        return np.asarray(x)
    if is_torch_array(x):
        return x.detach().cpu().numpy()
    if is_cupy_array(x):
        return x.get()
    xp = array_namespace(x)
    if is_array_api_strict_namespace(xp):
        # array-api-strict refuses NumPy conversion off its CPU device: move it there first.
        return np.asarray(x.to_device(xp.Device("CPU_DEVICE")))
    return np.from_dlpack(x.to_device("cpu")) if hasattr(x, "to_device") else np.asarray(x)


def library_name(X) -> str:
    """A short name of the array's library ("torch", "cupy", "array_api_strict" …)."""
    return type(X).__module__.split(".")[0]


__all__ = ["device", "float_dtype", "is_device_array", "library_name", "namespace",
           "numpy_dtype", "to_device", "to_host"]
