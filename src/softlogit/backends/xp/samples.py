"""Targets and sample weights checked on X's device (the array-API twin of the NumPy checks in
:mod:`softlogit.losses` and :mod:`softlogit.objective.linear`).

Only reductions cross to the host (a count, a minimum): the m values stay where X is.
"""

from __future__ import annotations

import numpy as np

from softlogit.backends.xp.transfer import (
    device, is_device_array, namespace, to_device, to_host,
)


def _on_device(design, a):
    """``a`` (an array of any library, or a list) as an array beside X (original dtype).

    "Everything follows X", as in scikit-learn: targets or weights given in another namespace
    or on another device are copied to X's (an explicit transfer, only when they differ).
    """
    if is_device_array(a):
        if namespace(a) is design.xp and device(a) == design.device:
            return a
        a = to_host(a)
    return to_device(design.xp, np.asarray(a), design.device)


def _count(xp, mask) -> int:
    return int(to_host(xp.sum(xp.astype(mask, xp.int64))))


def _all_finite(xp, a) -> bool:
    return _count(xp, ~xp.isfinite(a)) == 0


def place_targets(design, loss_name, y, n_classes):
    """``(K, T)``: sigmoid targets (m,) in [0, 1]; softmax probability rows (m, K)."""
    xp, m = design.xp, design.shape[0]
    y = _on_device(design, y)
    if y.ndim == 0 or int(y.shape[0]) != m:
        raise ValueError(f"X has {m} rows but y has {y.shape[0] if y.ndim else 'no'} rows "
                         f"(shape {tuple(y.shape)})")
    fdtype = design.X.dtype
    if loss_name == "binary":
        if y.ndim == 2 and int(y.shape[1]) == 2:
            y = _prob_rows(xp, xp.astype(y, fdtype))[:, 1]
        if y.ndim != 1:
            raise ValueError(f"binary targets must have shape (m,) or (m, 2); got shape "
                             f"{tuple(y.shape)}")
        y = xp.astype(y, fdtype)
        if not _all_finite(xp, y):
            raise ValueError("binary targets contain NaN or infinite values")
        bad = _count(xp, (y < 0) | (y > 1))
        if bad:
            raise ValueError(f"binary targets must lie in [0, 1]; {bad} do not")
        return 2, y
    if y.ndim == 2:
        K = int(y.shape[1]) if n_classes is None else int(n_classes)
        if int(y.shape[1]) != K:
            raise ValueError(f"soft targets have {y.shape[1]} columns but the model has {K} "
                             "classes")
        return K, _prob_rows(xp, xp.astype(y, fdtype))
    if y.ndim != 1:
        raise ValueError(f"targets must have shape (m,) or (m, K); got shape {tuple(y.shape)}")
    if xp.isdtype(y.dtype, "real floating"):
        if not _all_finite(xp, y) or _count(xp, y != xp.round(y)):
            raise ValueError("class-index targets must be whole numbers 0..K-1")
    elif not xp.isdtype(y.dtype, ("integral", "bool")):
        raise ValueError(f"class-index targets must be integers 0..K-1; got dtype {y.dtype}")
    codes = xp.astype(y, xp.int64)
    if n_classes is None:
        n_classes = max(2, int(to_host(xp.max(codes))) + 1)
    K = int(n_classes)
    bad = _count(xp, (codes < 0) | (codes >= K))
    if bad:
        raise ValueError(f"labels must be class indices in 0..{K - 1}; {bad} are not")
    return K, one_hot(xp, codes, K, fdtype)


def one_hot(xp, codes, K, dtype):
    """Rows ``e_{codes[i]}`` (m, K) in ``dtype``, on the device of ``codes``."""
    cols = xp.arange(K, dtype=codes.dtype, device=codes.device)
    return xp.astype(codes[:, None] == cols[None, :], dtype)


def _prob_rows(xp, Y, atol=1e-6):
    """Refuse probability rows outside [0, 1] or not summing to 1; return them."""
    if not _all_finite(xp, Y):
        raise ValueError("soft targets contain NaN or infinite values")
    if _count(xp, (Y < 0) | (Y > 1)):
        raise ValueError("soft targets must lie in [0, 1]")
    bad = _count(xp, xp.abs(xp.sum(Y, axis=1) - 1) > atol * max(1, int(Y.shape[1])))
    if bad:
        raise ValueError(f"soft target rows must sum to 1; {bad} rows do not")
    return Y


def place_weights(design, sample_weight, m):
    """Sample weights (m,) in X's dtype on X's device (all 1 when None), checked."""
    xp = design.xp
    if sample_weight is None:
        return xp.ones((m,), dtype=design.X.dtype, device=design.device)
    s = _on_device(design, sample_weight)
    if s.ndim == 0:
        s = xp.full((m,), float(to_host(s)), dtype=design.X.dtype, device=design.device)
    if tuple(s.shape) != (m,):
        raise ValueError(f"sample_weight has shape {tuple(s.shape)}; expected ({m},)")
    s = xp.astype(s, design.X.dtype)
    if not _all_finite(xp, s):
        raise ValueError("sample_weight contains NaN or infinite values")
    if _count(xp, s < 0):
        raise ValueError("sample_weight must be non-negative")
    if not float(to_host(xp.sum(s))) > 0:
        raise ValueError("sample_weight sums to zero")
    return s
