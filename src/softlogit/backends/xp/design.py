"""The array-API design: X stays on its device (a CUDA tensor, a CuPy array, any compliant array).

Written once against the array API standard through ``array-api-compat``, so the same code runs
PyTorch and CuPy on a GPU, JAX, and array-api-strict's simulated devices in CI.

Where things live (DESIGN §2: solvers run on the host, only the design touches X):

- on X's device: X, the targets and sample weights (placed once by :meth:`place_samples`), the
  logits, residuals and Hessian factors (m-sized, never copied);
- crossing to the host, by :func:`~.transfer.to_host`: the loss value, the (k, p) gradient and
  Hessian-vector products, the (p, p) gram blocks and column scales — one transfer per call,
  where the pieces are concatenated first (a transfer's latency matters on a GPU);
- crossing to the device: the (k, p) coefficients and directions from the solver.

Passes. Without a fused kernel, one loss-gradient is two passes over X (``X Wᵀ``, then
``Gᵀ X``), one Hessian-vector product two more; each is counted as such (``count_pass``).
"""

from __future__ import annotations

import numpy as np

from softlogit.backends.xp import losses as L
from softlogit.backends.xp.transfer import (
    device, float_dtype, library_name, namespace, numpy_dtype, to_device, to_host,
)
from softlogit.data.base import Design

#: Rows per block of the weighted gram, so that the temporary ``X_blk ⊙ d`` stays small on the
#: device (about 64 MiB) instead of a full copy of X.
GRAM_BLOCK_BYTES = 1 << 26


class ArrayAPIDesign(Design):
    """X as a 2-D float32/float64 array of any array-API library, computed on where it lives."""

    kind = "array-api"
    samples_on_device = True

    def __init__(self, X):
        xp = namespace(X)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-dimensional (m, p); got {X.ndim} dimensions")
        if X.dtype not in (xp.float32, xp.float64):
            if not xp.isdtype(X.dtype, ("integral", "bool")):
                raise ValueError(f"X must be numeric; got dtype {X.dtype}")
            X = xp.astype(X, xp.float64)
        self.xp, self.X, self.device = xp, X, device(X)
        self._dtype = numpy_dtype(xp, X.dtype)
        self.kind = f"array-api:{library_name(X)}"

    # --- the Design interface ---------------------------------------------------------------

    @property
    def shape(self):
        return tuple(int(n) for n in self.X.shape)

    @property
    def dtype(self):
        return self._dtype

    @property
    def nbytes(self):
        m, p = self.shape
        return m * p * self._dtype.itemsize

    def put(self, a):
        """A host array (k·p-sized: coefficients, directions) on X's device, in X's dtype."""
        if not isinstance(a, np.ndarray) and not np.isscalar(a):
            return a if _is_device(a) else to_device(self.xp, a, self.device, self._dtype)
        return to_device(self.xp, a, self.device, self._dtype)

    def _logits(self, W, b):
        Z = self.X @ self.put(W).T
        return Z if b is None else Z + self.put(b)[None, :]

    def dot(self, W):
        """``X Wᵀ`` (m, k), on X's device."""
        self.count_pass()
        return self.X @ self.put(W).T

    def tdot(self, R):
        """``Rᵀ X`` (k, p) for R (m, k) on the device; returned on the host."""
        self.count_pass()
        return to_host(self.put(R).T @ self.X)

    def target_sums(self, sample_weight, targets, n_classes):
        """:meth:`Design.target_sums` on the device (targets are the placed sigmoid targets
        (m,) or probability rows (m, K)); only the (1 + K′, p) sums reach the host."""
        xp = self.xp
        self.count_pass()
        T = targets[:, None] if targets.ndim == 1 else targets
        R = xp.concat([sample_weight[:, None], sample_weight[:, None] * T], axis=1)
        G = to_host(R.T @ self.X).astype(np.float64)
        N = to_host(xp.sum(R[:, 1:], axis=0)).astype(np.float64)
        return G[0], G[1:], N

    def wsum_rows(self, d):
        """``Xᵀ d`` (p,) on the host."""
        self.count_pass()
        return to_host(self.put(d)[None, :] @ self.X)[0]

    def gram(self, d):
        """``Xᵀ diag(d) X`` (p, p) on the host, summed over row blocks on the device."""
        self.count_pass()
        G, _, _ = self._weighted_gram(self.put(d))
        return to_host(G)

    def _weighted_gram(self, d):
        """``(Xᵀ diag(d) X, Xᵀ d, Σ d)`` on the device, one pass in row blocks."""
        xp, X = self.xp, self.X
        m, p = self.shape
        step = max(1, GRAM_BLOCK_BYTES // max(1, p * self._dtype.itemsize))
        G = xp.zeros((p, p), dtype=X.dtype, device=self.device)
        c = xp.zeros((p,), dtype=X.dtype, device=self.device)
        for start in range(0, m, step):
            stop = min(m, start + step)  # the array API leaves out-of-bounds slices unspecified
            Xb, db = X[start:stop, :], d[start:stop]
            G = G + Xb.T @ (Xb * db[:, None])
            c = c + db @ Xb
        return G, c, xp.sum(d)

    def take(self, rows):
        """The design of the host-chosen ``rows`` (only the r indices cross to the device)."""
        return self.take_samples(rows)[0]

    def take_samples(self, rows, *per_sample):
        """The rows of X and of each device array in ``per_sample`` (targets, weights), taken
        on the device with one transfer of the indices."""
        idx = to_device(self.xp, np.asarray(rows, dtype=np.int64), self.device)
        Xr = self.xp.take(self.X, idx, axis=0)
        taken = self._taken(type(self)(Xr), int(Xr.shape[0]))
        return (taken, *(self.xp.take(a, idx, axis=0) for a in per_sample))

    def column_scale(self):
        """Column means and standard deviations (p,) each, on the host."""
        self.count_pass()
        xp = self.xp
        both = xp.concat([xp.mean(self.X, axis=0), xp.std(self.X, axis=0)])
        host = to_host(both)
        p = self.shape[1]
        return host[:p], host[p:]

    # --- targets and weights, placed once on the device --------------------------------------

    def place_samples(self, loss_name, y, n_classes, sample_weight):
        """Check the targets and weights on X's device and keep them there.

        Returns ``(n_classes, T, s, Σs)``: ``T`` is (m,) in [0, 1] for the sigmoid and (m, K)
        probability rows for the softmax (class indices become one-hot rows), ``s`` (m,) the
        weights in X's dtype (all 1 by default), ``Σs`` a Python float.
        """
        from softlogit.backends.xp.samples import place_targets, place_weights

        m = self.shape[0]
        n_classes, T = place_targets(self, loss_name, y, n_classes)
        s = place_weights(self, sample_weight, m)
        return n_classes, T, s, float(to_host(self.xp.sum(s)))

    # --- fused evaluations: everything m-sized stays on the device ---------------------------

    def fused_loss_gradient(self, loss_name, W, b, y, sample_weight):
        xp = self.xp
        self.count_pass(2)  # X Wᵀ, then Gᵀ X
        Z = self._logits(W, b)
        loss, g = L.loss_gradient(xp, loss_name, Z, y)
        G = g * sample_weight[:, None]
        GW = G.T @ self.X
        k, p = GW.shape
        packed = to_host(xp.concat([xp.reshape(xp.sum(sample_weight * loss), (1,)),
                                    xp.reshape(GW, (-1,)), xp.sum(G, axis=0)]))
        return float(packed[0]), packed[1:1 + k * p].reshape(k, p), packed[1 + k * p:]

    def fused_loss(self, loss_name, W, b, y, sample_weight):
        """One pass: ``Σᵢ sᵢ ℓᵢ`` as a Python float."""
        self.count_pass()
        loss = L.loss_values(self.xp, loss_name, self._logits(W, b), y)
        return float(to_host(self.xp.sum(sample_weight * loss)))

    def fused_hessian_factors(self, loss_name, W, b):
        """One pass: the per-sample Hessian factors at ``(W, b)``, kept on the device."""
        self.count_pass()
        return L.hessian_factors(self.xp, loss_name, self._logits(W, b))

    def fused_hessian_product(self, loss_name, factors, V, Vb, sample_weight):
        xp = self.xp
        self.count_pass(2)  # X Vᵀ, then Uᵀ X
        U = self._logits(V, Vb)
        HU = L.hessian_logit_product(xp, loss_name, factors, U) * sample_weight[:, None]
        HW = HU.T @ self.X
        k, p = HW.shape
        packed = to_host(xp.concat([xp.reshape(HW, (-1,)), xp.sum(HU, axis=0)]))
        return packed[:k * p].reshape(k, p), packed[k * p:]

    def fused_hessian(self, loss_name, factors, sample_weight, fit_intercept):
        """``Σᵢ sᵢ Hᵢ ⊗ x̃ᵢx̃ᵢᵀ`` (k·q, k·q), ``x̃ = (x, 1)`` if ``fit_intercept``, on the host.

        One weighted gram (one pass) per block ``k ≤ l``; the rest by symmetry.
        """
        xp = self.xp
        k_out = int(factors.shape[1])
        p = self.shape[1]
        i = int(bool(fit_intercept))
        q = p + i
        H = np.zeros((k_out * q, k_out * q), dtype=self._dtype)
        for k in range(k_out):
            for l in range(k, k_out):
                self.count_pass()
                d = L.hessian_block_weights(loss_name, factors, k, l) * sample_weight
                G, c, t = self._weighted_gram(d)
                host = to_host(xp.concat([xp.reshape(G, (-1,)), c, xp.reshape(t, (1,))]))
                block = np.empty((q, q), dtype=self._dtype)
                block[:p, :p] = host[:p * p].reshape(p, p)
                if i:
                    block[:p, p] = block[p, :p] = host[p * p:p * p + p]
                    block[p, p] = host[-1]
                H[k * q:(k + 1) * q, l * q:(l + 1) * q] = block
                if l != k:
                    H[l * q:(l + 1) * q, k * q:(k + 1) * q] = block.T
        return H


def _is_device(a) -> bool:
    from softlogit.backends.xp.transfer import is_device_array
    return is_device_array(a)


def accepts(X) -> bool:
    """The registry's test: a 2-D array-API array that NumPy does not own."""
    from softlogit.backends.xp.transfer import is_device_array
    return is_device_array(X) and getattr(X, "ndim", 0) == 2


__all__ = ["ArrayAPIDesign", "accepts", "float_dtype"]
