"""X as persisted row chunks on a Dask cluster, behind the :class:`~softlogit.data.Design`
interface.

A :class:`DaskDesign` holds one :class:`~softlogit.backends.dask.chunk.Chunk` per row block of
X (with that block's targets and weights) on the workers. The passes the solvers need — the
fused loss + gradient, the Hessian factors, Hessian-vector products and the full Hessian — are
each one map of a task function over the chunk futures and a fixed-order sum of the small
results (:mod:`~softlogit.backends.dask.executor`: one task per worker): only k·p-sized
vectors and (k·q)² Hessians reach the client, and row samples where a solver asks for them
(:meth:`DaskDesign.take`, counted as a round and ``r/m`` of a pass). The generic products of the interface (``dot``, ``tdot``, ``gram``,
``wsum_rows``) work too, for completeness and for tests against the reference designs, but they
move m-sized vectors between client and workers; the fit never uses them.

Targets and weights stay with the chunks: the objective refers to them through
:class:`RowVector` handles, which refuse to be converted to NumPy (nothing m-sized is ever
gathered silently); ``handle[rows]`` fetches the selected rows, for mini-batches.

Passes are counted as every design counts them (:mod:`softlogit.data.base`): one per map that
reads X; the set-up (validating and placing the chunks) is ``setup_passes``, kept apart.
"""

from __future__ import annotations

import numpy as np

from softlogit.backends.dask import chunk as tasks
from softlogit.data import Design, as_design


class RowVector:
    """An m-sized vector (targets ``"y"`` or weights ``"s"``) that lives in the chunks."""

    def __init__(self, design: "DaskDesign", which: str, shape, dtype):
        self.design, self.which = design, which
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)
        self.ndim = len(self.shape)

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, rows):
        X, y, s = self.design.fetch_rows(np.arange(self.shape[0])[rows])
        return y if self.which == "y" else s

    def __array__(self, *args, **kwargs):
        raise TypeError(f"the {'targets' if self.which == 'y' else 'sample weights'} of a Dask "
                        "fit stay on the workers; index rows (v[rows]) to fetch some")


class FactorHandle:
    """The logit-Hessian factors at ``(W, b)``: each chunk computes its own at the first
    product and keeps them beside its rows (:func:`~softlogit.backends.dask.chunk.factors_at`),
    so no task result holds them and no task but the chunk's own ever reads them."""

    def __init__(self, W, b):
        import uuid

        self.token = uuid.uuid4().hex
        self.W, self.b = W, b


class DaskDesign(Design):
    """Row chunks of X (with y and s) on a cluster; see the module docstring.

    Build one with :meth:`build`; ``executor`` is a
    :class:`~softlogit.backends.dask.executor.ClusterExecutor` or ``LocalExecutor``.
    """

    kind = "dask"

    def __init__(self, executor, chunks, rows, n_features, dtype, *, y_shape, y_dtype,
                 nbytes=0):
        self.executor = executor
        self.chunks = list(chunks)
        self.rows = np.asarray(rows, dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.rows)]).astype(np.int64)
        self._shape = (int(self.offsets[-1]), int(n_features))
        self._dtype = np.dtype(dtype)
        self._nbytes = int(nbytes)
        self.passes = 0.0
        #: Maps over the chunks so far: each is one round trip to the workers.
        self.rounds = 0
        self.setup_passes = 1.0
        self.targets = RowVector(self, "y", y_shape, y_dtype)
        self.weights = RowVector(self, "s", (self._shape[0],), self._dtype)
        self._fetched = None

    @classmethod
    def build(cls, executor, X, y, s, spec):
        """Place the chunks: ``X`` a dask array with known row chunks and one column chunk,
        ``y`` (and ``s`` or None) dask arrays with the same row chunks. One pass over X (set-up),
        which also validates it; the chunk objects stay on the workers."""
        import dask

        rows = [int(r) for r in X.chunks[0]]
        offsets = np.concatenate([[0], np.cumsum(rows)])[:-1]
        xs = X.to_delayed().ravel()
        ys = y.to_delayed().ravel()
        ss = s.to_delayed().ravel() if s is not None else [None] * len(xs)
        make = dask.delayed(tasks.build_chunk, pure=False)
        delayed = [make(xd, yd, sd, spec, int(off)) for xd, yd, sd, off in zip(xs, ys, ss, offsets)]
        chunks = executor.materialize(delayed, near=X)
        y_shape = (X.shape[0],) if spec.classes is not None else (X.shape[0], spec.n_classes)
        y_dtype = spec.dtype if (spec.binary or spec.classes is None) else np.intp
        nbytes = int(X.shape[0]) * int(X.shape[1]) * np.dtype(spec.dtype).itemsize
        return cls(executor, chunks, rows, X.shape[1], spec.dtype, y_shape=y_shape,
                   y_dtype=y_dtype, nbytes=nbytes)

    # --- the Design interface -----------------------------------------------------------------

    @property
    def shape(self):
        return self._shape

    @property
    def dtype(self):
        return self._dtype

    @property
    def nbytes(self):
        return self._nbytes

    @property
    def n_chunks(self) -> int:
        return len(self.chunks)

    def _map(self, fn, *extra, **params):
        self.rounds += 1
        return self.executor.map(fn, self.chunks, *extra, **params)

    def _split(self, a):
        """Split an m-sized client array into the chunks' row ranges."""
        a = np.asarray(a)
        return [a[self.offsets[i]:self.offsets[i + 1]] for i in range(self.n_chunks)]

    def dot(self, W):
        W = np.asarray(W)
        self.count_pass()
        parts = self.executor.gather(self._map(_chunk_dot, W=W))
        return np.concatenate(parts, axis=0).astype(self.dtype, copy=False)

    def tdot(self, R):
        R = np.asarray(R)
        self.count_pass()
        return self.executor.reduce_sum(self._map(_chunk_tdot, self._split(R), reduce=True))

    def gram(self, d):
        self.count_pass()
        return self.executor.reduce_sum(self._map(_chunk_gram, self._split(d), reduce=True))

    def wsum_rows(self, d):
        self.count_pass()
        return self.executor.reduce_sum(self._map(_chunk_wsum, self._split(d), reduce=True))

    def column_scale(self):
        """Column means and standard deviations, combined from per-chunk ``(n, mean, M2)``
        in chunk order (Chan, Golub & LeVeque 1979: ``M2 = M2_a + M2_b + δ² n_a n_b / n``)."""
        self.count_pass()
        n, mean, M2 = 0, np.zeros(self.shape[1]), np.zeros(self.shape[1])
        for n_b, mean_b, M2_b in self.executor.gather(self._map(tasks.column_moments)):
            if n_b == 0:
                continue
            total = n + n_b
            delta = mean_b - mean
            mean = mean + delta * (n_b / total)
            M2 = M2 + M2_b + delta**2 * (n * n_b / total)
            n = total
        return mean, np.sqrt(M2 / max(n, 1))

    def fetch_rows(self, rows):
        """``(X, y, s)`` of the given global rows, fetched to the client in the given order.

        The last request is kept, so that a mini-batch solver asking for ``X[rows]``,
        ``y[rows]`` and ``s[rows]`` in turn fetches once.
        """
        rows = np.asarray(rows, dtype=np.int64)
        key = rows.tobytes()
        if self._fetched is not None and self._fetched[0] == key:
            return self._fetched[1]
        which = np.searchsorted(self.offsets, rows, side="right") - 1
        order = np.argsort(which, kind="stable")
        needed = np.unique(which)
        locals_ = [rows[which == c] - self.offsets[c] for c in needed]
        self.rounds += 1
        futures = self.executor.map(tasks.rows_of, [self.chunks[c] for c in needed], locals_)
        parts = self.executor.gather(futures)
        import scipy.sparse as sp

        Xs = [p[0] for p in parts]
        X = sp.vstack(Xs).tocsr() if sp.issparse(Xs[0]) else np.concatenate(Xs, axis=0)
        y = np.concatenate([p[1] for p in parts], axis=0)
        s = np.concatenate([p[2] for p in parts], axis=0)
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        out = (X[inverse], y[inverse], s[inverse])
        self._fetched = (key, out)
        return out

    def take(self, rows):
        """The selected rows as an in-memory design on the client (a mini-batch: r rows),
        charged r/m of a pass to this design."""
        X, _, _ = self.fetch_rows(rows)
        return self._taken(as_design(X), X.shape[0])

    # --- the passes of a fit: fused, on the chunks --------------------------------------------

    def fused_loss_gradient(self, loss_name, W, b, y, sample_weight):
        if y is not self.targets or sample_weight is not self.weights:
            return None  # targets held by the client: the reference path (dot / tdot)
        W = np.ascontiguousarray(W, dtype=np.float64)
        b = None if b is None else np.asarray(b, dtype=np.float64)
        self.count_pass()
        loss, GW, Gb = self.executor.reduce_sum(
            self._map(tasks.loss_gradient, reduce=True, loss_name=loss_name, W=W, b=b))
        return float(loss), np.asarray(GW, dtype=self.dtype), np.asarray(Gb, dtype=self.dtype)

    def target_sums(self, sample_weight, targets, n_classes):
        """:meth:`Design.target_sums` of the placed targets and weights: one map, summed in
        chunk order (other targets would need the m values on the client: not offered)."""
        if targets is not self.targets or sample_weight is not self.weights:
            raise NotImplementedError("target sums of the Dask design need its own targets")
        self.count_pass()
        a, C, N = self.executor.reduce_sum(
            self._map(tasks.target_sums, reduce=True, n_classes=int(n_classes)))
        return (np.asarray(a, dtype=np.float64), np.asarray(C, dtype=np.float64),
                np.asarray(N, dtype=np.float64))

    def hessian_factors(self, loss_name, W, b) -> FactorHandle:
        """The logit-Hessian factors at ``(W, b)``, formed on the workers by the first
        product (one pass, counted here; no round of its own)."""
        W = np.ascontiguousarray(W, dtype=np.float64)
        b = None if b is None else np.asarray(b, dtype=np.float64)
        self.count_pass()
        return FactorHandle(W, b)

    def fused_hessian_product(self, loss_name, factors, V, Vb, sample_weight):
        if not isinstance(factors, FactorHandle) or sample_weight is not self.weights:
            return None
        V = np.ascontiguousarray(V, dtype=np.float64)
        Vb = None if Vb is None else np.asarray(Vb, dtype=np.float64)
        self.count_pass()
        HW, Hb = self.executor.reduce_sum(self._map(
            tasks.hessian_product, reduce=True, loss_name=loss_name, V=V, Vb=Vb, token=factors.token,
            W=factors.W, b=factors.b))
        return np.asarray(HW, dtype=self.dtype), np.asarray(Hb, dtype=self.dtype)

    def hessian_sum(self, loss_name, W, b, fit_intercept):
        """``Σᵢ sᵢ Hᵢ ⊗ x̃ᵢx̃ᵢᵀ`` (unnormalised, no penalty): one map; counted as the
        k(k+1)/2 gram passes plus the logits pass that the in-memory Hessian makes."""
        W = np.ascontiguousarray(W, dtype=np.float64)
        b = None if b is None else np.asarray(b, dtype=np.float64)
        k = W.shape[0]
        self.count_pass(1 + k * (k + 1) // 2)
        return self.executor.reduce_sum(self._map(
            tasks.hessian, reduce=True, loss_name=loss_name, W=W, b=b, fit_intercept=bool(fit_intercept)))

    def separates(self, W, b, hard_binary):
        """One pass: whether ``(W, b)`` classifies every positive-weight row correctly."""
        self.count_pass()
        W = np.ascontiguousarray(W, dtype=np.float64)
        return all(self.executor.gather(self._map(tasks.separates, W=W, b=b,
                                                  hard_binary=hard_binary)))

    def summaries(self, n_classes, hard):
        """``(rows per chunk, Σs, class mass (K,))`` from the placed chunks (no read of X)."""
        parts = self.executor.gather(self._map(tasks.summary, n_classes=n_classes, hard=hard))
        rows = np.array([p[0] for p in parts])
        return rows, float(sum(p[1] for p in parts)), np.sum([p[2] for p in parts], axis=0)

    def class_min_max(self, n_classes):
        """Per-class column minima and maxima over positive-weight rows (one pass)."""
        self.count_pass()
        parts = self.executor.gather(self._map(tasks.class_min_max, n_classes=n_classes))
        lo = np.min([p[0] for p in parts], axis=0)
        hi = np.max([p[1] for p in parts], axis=0)
        return lo, hi

    def describe(self) -> dict:
        return dict(self.executor.describe(), chunks=self.n_chunks,
                    tasks_per_pass=self.executor.tasks_last_pass,
                    rounds=self.rounds)


# --- generic products on one chunk (module docstring: not used by a fit) -----------------------


def _chunk_dot(chunk, W):
    if chunk.n_rows == 0:
        return np.zeros((0, W.shape[0]), dtype=chunk.s.dtype)
    return chunk.design.dot(W)


def _chunk_tdot(chunk, R):
    if chunk.n_rows == 0:
        return np.zeros((R.shape[1], chunk.X.shape[1]))
    return chunk.design.tdot(R)


def _chunk_gram(chunk, d):
    if chunk.n_rows == 0:
        return np.zeros((chunk.X.shape[1],) * 2)
    return chunk.design.gram(d)


def _chunk_wsum(chunk, d):
    if chunk.n_rows == 0:
        return np.zeros(chunk.X.shape[1])
    return chunk.design.wsum_rows(d)
