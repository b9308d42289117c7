"""What runs on a worker: one row chunk of (X, y, s) and the per-chunk work of every pass.

A :class:`Chunk` holds consecutive rows of X (C-contiguous float, or CSR), their targets in
the form the loss consumes (binary: 0/1 floats; softmax: class indices or probability rows) and
their sample weights (class weights already folded in). Each task function below reads one
chunk once and returns a small result — a loss sum, a (k, p) gradient sum, a Hessian-vector
product, a Hessian block — never rows of X. The sums are unnormalised and carry no penalty: the
client divides by ``Σs`` and adds the penalty, as :class:`~softlogit.objective.LinearObjective`
does (its module docstring states the conventions).

The products on a chunk are the fused CPU kernels of :mod:`softlogit.kernels` (the
``"auto"`` design of the chunk), so a chunk's arithmetic is exactly that of an in-memory fit on
those rows. Inside a Dask worker the kernels run on one thread: the worker's own task threads
are the parallelism, and Numba threads on top of them would oversubscribe the cores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from softlogit.data import as_design
from softlogit.losses import get_loss

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


@dataclass(frozen=True)
class ChunkSpec:
    """How raw (X, y, s) blocks become chunks: the same for every chunk of a fit.

    ``classes`` are the sorted labels (hard targets) or ``None`` (soft targets, ``K`` columns);
    ``class_weight`` is one weight per class or ``None``; ``binary`` tells 0/1 float targets
    (the sigmoid model) from class indices (softmax).
    """

    dtype: np.dtype
    n_features: int
    classes: np.ndarray | None
    n_classes: int
    binary: bool
    class_weight: np.ndarray | None = None


@dataclass
class Chunk:
    """Rows ``offset … offset + len(y) − 1`` of the problem, resident on one worker."""

    X: object
    y: np.ndarray
    s: np.ndarray
    offset: int
    _design: object = field(default=None, repr=False)
    #: ``(token, factors)``: the logit-Hessian factors of the latest point asked for, kept
    #: with the rows so that every Hessian-vector product at that point reads them here.
    _factors: tuple | None = field(default=None, repr=False)

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])

    @property
    def design(self):
        """The fused-kernel design of this chunk's X (built on first use, on the worker)."""
        if self._design is None:
            self._design = as_design(self.X)
        return self._design

    @property
    def nbytes(self) -> int:
        Xb = self.X.data.nbytes + self.X.indices.nbytes if sp.issparse(self.X) else self.X.nbytes
        kept = 0 if self._factors is None else int(getattr(self._factors[1], "nbytes", 0))
        return int(Xb + self.y.nbytes + self.s.nbytes + kept)


# --- building chunks (the set-up pass) ----------------------------------------------------------


def build_chunk(Xc, yc, sc, spec: ChunkSpec, offset: int) -> Chunk:
    """Validate one raw block and turn it into a :class:`Chunk` (no copy of X when it is
    already C-contiguous in a float dtype). Errors name the global rows they concern."""
    n = Xc.shape[0]
    rows = f"rows {offset}..{offset + n - 1}" if n else f"an empty block at {offset}"
    X = _as_float_rows(Xc, spec, rows)
    m = X.shape[0]
    yc = np.asarray(yc)
    if yc.shape[0] != m:
        raise ValueError(f"y has {yc.shape[0]} rows where X has {m} ({rows}): the chunks of y "
                         "are not aligned to those of X")
    if spec.classes is None:
        loss = get_loss("multinomial")
        Y = loss.check_targets(np.asarray(yc, dtype=np.float64), spec.n_classes) if m else \
            np.zeros((0, spec.n_classes))
        y = Y.astype(spec.dtype, copy=False)
        cw = None if spec.class_weight is None else Y @ spec.class_weight
    else:
        codes = _codes(yc, spec.classes, rows)
        y = codes.astype(spec.dtype) if spec.binary else codes
        cw = None if spec.class_weight is None else spec.class_weight[codes]
    s = _weights(sc, m, rows)
    if cw is not None:
        s = s * cw
    return Chunk(X=X, y=y, s=s.astype(spec.dtype), offset=int(offset))


def _as_float_rows(Xc, spec, rows):
    if sp.issparse(Xc):
        X = Xc.tocsr()
        if X.dtype != spec.dtype:
            X = X.astype(spec.dtype)
        values = X.data
    else:
        X = np.asarray(Xc)
        if X.dtype.kind not in "fiub":
            raise ValueError(f"X must be numeric; {rows} have dtype {X.dtype}")
        X = np.ascontiguousarray(X, dtype=spec.dtype)
        values = X
    if X.ndim != 2 or X.shape[1] != spec.n_features:
        raise ValueError(f"X {rows} has shape {X.shape}; expected {spec.n_features} columns")
    with np.errstate(over="ignore", invalid="ignore"):
        finite = np.isfinite(np.sum(values, dtype=np.float64))
    if not finite:
        n_nan = int(np.count_nonzero(np.isnan(values)))
        n_inf = int(np.count_nonzero(np.isinf(values)))
        if n_nan or n_inf:
            raise ValueError(f"X contains {n_nan} NaN and {n_inf} infinite values in {rows}")
    return X


def _codes(yc, classes, rows):
    """Index of each label in the sorted ``classes``; a label outside them is an error."""
    if yc.ndim != 1:
        raise ValueError(f"y must be 1-dimensional labels; {rows} have shape {yc.shape}")
    codes = np.searchsorted(classes, yc)
    codes = np.clip(codes, 0, len(classes) - 1)
    bad = classes[codes] != yc
    if np.any(bad):
        unseen = np.unique(yc[bad])
        shown = ", ".join(repr(v) for v in unseen[:5].tolist())
        raise ValueError(f"y contains {unseen.size} label(s) not in classes="
                         f"{classes.tolist()!r} ({rows}): {shown}")
    return codes.astype(np.intp)


def _weights(sc, m, rows):
    if sc is None:
        return np.ones(m)
    s = np.asarray(sc, dtype=np.float64).reshape(-1)
    if s.shape != (m,):
        raise ValueError(f"sample_weight has {s.shape[0]} rows where X has {m} ({rows})")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"sample_weight contains NaN or infinite values ({rows})")
    if np.any(s < 0):
        raise ValueError(f"sample_weight contains negative values ({rows})")
    return s


# --- small results of one pass ------------------------------------------------------------------


def summary(chunk: Chunk, n_classes: int, hard: bool):
    """``(rows, Σs, class mass (K,))``: the row count and the weight per class of the chunk."""
    if hard:
        mass = np.bincount(chunk.y.astype(np.intp), weights=chunk.s.astype(np.float64),
                           minlength=n_classes)
    else:
        mass = chunk.s.astype(np.float64) @ chunk.y.astype(np.float64) if chunk.n_rows else \
            np.zeros(n_classes)
    return chunk.n_rows, float(chunk.s.sum(dtype=np.float64)), mass


def target_sums(chunk: Chunk, n_classes: int):
    """``(Xᵀs, Xᵀ(s ⊙ tₖ), Σ sᵢtᵢₖ)`` over the chunk's rows (one read of X;
    :meth:`softlogit.data.Design.target_sums`)."""
    _single_thread()
    width = 1 if chunk.y.ndim == 1 and chunk.y.dtype.kind == "f" else (
        n_classes if chunk.y.ndim == 1 else chunk.y.shape[1])
    if chunk.n_rows == 0:
        p = chunk.X.shape[1]
        return np.zeros(p), np.zeros((width, p)), np.zeros(width)
    return chunk.design.target_sums(chunk.s, chunk.y, n_classes)


def _single_thread():
    """Kernels inside a Dask worker use one Numba thread (module docstring)."""
    try:
        from distributed import get_worker
        get_worker()
    except (ImportError, ValueError):
        return
    import numba
    if numba.get_num_threads() != 1:
        numba.set_num_threads(1)


def loss_gradient(chunk: Chunk, loss_name: str, W, b):
    """``(Σ sᵢℓᵢ, Σ sᵢ gᵢ xᵢᵀ (k, p), Σ sᵢ gᵢ (k,))`` over the chunk's rows (one read of X)."""
    _single_thread()
    k, p = W.shape
    if chunk.n_rows == 0:
        return 0.0, np.zeros((k, p)), np.zeros(k)
    out = chunk.design.fused_loss_gradient(loss_name, W, b, chunk.y, chunk.s)
    if out is None:  # a design without fused kernels: the reference products
        Z = _logits(chunk, W, b)
        losses, g = get_loss(loss_name).loss_gradient(Z[:, 0] if k == 1 else Z, chunk.y)
        G = (g * chunk.s if g.ndim == 1 else g * chunk.s[:, None]).reshape(-1, k)
        out = float(np.dot(chunk.s, losses)), chunk.design.tdot(G), G.sum(axis=0)
    return out


def _logits(chunk, W, b):
    Z = chunk.design.dot(W)
    if b is not None:
        Z += np.asarray(b, dtype=Z.dtype)
    return Z


def hessian_factors(chunk: Chunk, loss_name: str, W, b):
    """The logit-Hessian factors at ``(W, b)`` for the chunk's rows (they stay on the worker)."""
    _single_thread()
    if chunk.n_rows == 0:
        return None
    Z = _logits(chunk, W, b)
    return get_loss(loss_name).hessian_factors(Z[:, 0] if W.shape[0] == 1 else Z)


def factors_at(chunk: Chunk, loss_name: str, token, W, b):
    """The chunk's Hessian factors at ``(W, b)`` (named by ``token``): kept from the first
    product at that point, or computed now (one read of X) — after a worker was lost the
    chunk is rebuilt elsewhere without them, and the first product there recomputes them."""
    if chunk._factors is None or chunk._factors[0] != token:
        chunk._factors = (token, hessian_factors(chunk, loss_name, W, b))
    return chunk._factors[1]


def hessian_product(chunk: Chunk, loss_name: str, V, Vb, token, W, b):
    """``(Σ sᵢ uᵢ xᵢᵀ, Σ sᵢ uᵢ)`` with ``uᵢ = Hᵢ(V xᵢ + Vb)`` (one read of X), ``Hᵢ`` the
    factors at ``(W, b)`` (:func:`factors_at`)."""
    _single_thread()
    k, p = V.shape
    if chunk.n_rows == 0:
        return np.zeros((k, p)), np.zeros(k)
    factors = factors_at(chunk, loss_name, token, W, b)
    out = chunk.design.fused_hessian_product(loss_name, factors, V, Vb, chunk.s)
    if out is None:
        U = _logits(chunk, V, Vb)
        HU = get_loss(loss_name).hessian_logit_product(factors, U[:, 0] if k == 1 else U)
        HU = (HU * chunk.s if HU.ndim == 1 else HU * chunk.s[:, None]).reshape(-1, k)
        out = chunk.design.tdot(HU), HU.sum(axis=0)
    return out


def hessian(chunk: Chunk, loss_name: str, W, b, fit_intercept: bool):
    """``Σᵢ sᵢ Hᵢ ⊗ x̃ᵢx̃ᵢᵀ`` over the chunk, shape (k·q, k·q), ``q = p + fit_intercept``.

    The layout of :meth:`LinearObjective.hessian` (class index outer), unnormalised and without
    the penalty; one read of X per block ``k ≤ l`` (one for the binary model).
    """
    _single_thread()
    k, p = W.shape
    i = int(fit_intercept)
    q = p + i
    dtype = chunk.s.dtype
    H = np.zeros((k * q, k * q), dtype=dtype)
    if chunk.n_rows == 0:
        return H
    loss = get_loss(loss_name)
    factors = hessian_factors(chunk, loss_name, W, b)
    for a in range(k):
        for c in range(a, k):
            d = loss.hessian_block_weights(factors, a, c) * chunk.s
            block = np.empty((q, q), dtype=dtype)
            block[:p, :p] = chunk.design.gram(d)
            if i:
                cross = chunk.design.wsum_rows(d)
                block[:p, p] = cross
                block[p, :p] = cross
                block[p, p] = d.sum()
            H[a * q:(a + 1) * q, c * q:(c + 1) * q] = block
            if c != a:
                H[c * q:(c + 1) * q, a * q:(a + 1) * q] = block.T
    return H


def column_moments(chunk: Chunk):
    """``(n, mean (p,), M2 (p,))`` of the chunk's columns, M2 = Σ (x − mean)² (float64)."""
    p = chunk.X.shape[1]
    n = chunk.n_rows
    if n == 0:
        return 0, np.zeros(p), np.zeros(p)
    X = chunk.X.toarray() if sp.issparse(chunk.X) else chunk.X
    mean = X.mean(axis=0, dtype=np.float64)
    M2 = np.zeros(p)
    step = max(1, (1 << 22) // max(1, 8 * p))  # one float64 block of ~4 MB alive at a time
    for r0 in range(0, n, step):
        block = np.asarray(X[r0:r0 + step], dtype=np.float64) - mean
        M2 += np.einsum("ij,ij->j", block, block)
    return n, mean, M2


def separates(chunk: Chunk, W, b, hard_binary: bool) -> bool:
    """Whether ``(W, b)`` gives every positive-weight row of the chunk a correct margin > 0."""
    _single_thread()
    if chunk.n_rows == 0:
        return True
    Z = _logits(chunk, W, b)
    active = chunk.s > 0
    if hard_binary:
        z = Z[:, 0]
        margin = np.where(chunk.y == 1, z, -z)
    else:
        codes = chunk.y.astype(np.intp)
        rows = np.arange(Z.shape[0])
        own = Z[rows, codes]
        others = Z.copy()
        others[rows, codes] = -np.inf
        margin = own - others.max(axis=1)
    return bool(np.all(margin[active] > 0))


def class_min_max(chunk: Chunk, n_classes: int):
    """Per class, the column minima and maxima over positive-weight rows (``inf``/``-inf``
    where a class has no rows); for naming a feature that separates the classes alone."""
    p = chunk.X.shape[1]
    lo = np.full((n_classes, p), np.inf)
    hi = np.full((n_classes, p), -np.inf)
    X = chunk.X.toarray() if sp.issparse(chunk.X) else chunk.X
    codes = chunk.y.astype(np.intp)
    for c in range(n_classes):
        rows = (codes == c) & (chunk.s > 0)
        if rows.any():
            lo[c] = X[rows].min(axis=0)
            hi[c] = X[rows].max(axis=0)
    return lo, hi


def rows_of(chunk: Chunk, local_rows):
    """``(X, y, s)`` of the selected rows (local indices): a mini-batch for the client."""
    return chunk.X[local_rows], chunk.y[local_rows], chunk.s[local_rows]


def add(a, b):
    """Element-wise sum of two results (tuples of arrays/floats, or arrays)."""
    if isinstance(a, tuple):
        return tuple(add(x, y) for x, y in zip(a, b))
    if a is None:
        return b
    if b is None:
        return a
    return a + b


# Dask's memory accounting measures stored results with ``sizeof``: report a chunk's arrays
# (the default would count only the Python object, and the worker would under-report its data).
try:
    from dask.sizeof import sizeof as _sizeof

    @_sizeof.register(Chunk)
    def _sizeof_chunk(chunk: Chunk) -> int:
        return chunk.nbytes
except ImportError:  # pragma: no cover — this module runs only where Dask is installed
    pass
