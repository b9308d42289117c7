"""Design matrices backed by the fused Numba kernels (the ``"auto"`` backend).

:class:`NumbaDenseDesign` and :class:`NumbaCSRDesign` inherit every product from the reference
designs and override the fused hooks (one pass over X per loss+gradient and per
Hessian-vector product) and, for dense X, ``gram`` (blocked ``syrk``).

Memory layout. The dense kernels walk rows, so they need C-contiguous rows. An F-ordered (or
otherwise strided) X is never copied whole: it is fed to the same kernels one block of rows at
a time (:data:`~softlogit.kernels.partition.COPY_BLOCK_BYTES`, a block that stays in cache), and
the per-block sums are added in block order. Only CSR gets a sparse kernel; CSC stays on the
reference SciPy path.
"""

from __future__ import annotations

import numpy as np

from softlogit.data.base import check_finite_values
from softlogit.data.dense import DenseDesign
from softlogit.data.sparse import SparseDesign
from softlogit.kernels import dense, products, sparse
from softlogit.kernels.gram import dense_class_grams, dense_gram
from softlogit.kernels.partition import COPY_BLOCK_BYTES, row_bounds
from softlogit.kernels.transpose import Transposed

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _coef(W, k, p):
    """W as a C-contiguous float64 (k, p) array (tiny: a copy only when needed)."""
    return np.ascontiguousarray(np.asarray(W, dtype=np.float64).reshape(k, p))


def _intercept(b, k):
    return np.zeros(k) if b is None else np.ascontiguousarray(b, dtype=np.float64).reshape(k)


class NumbaDenseDesign(DenseDesign):
    """Dense float32/float64 X with fused single-pass kernels (any memory order).

    *Finiteness from the first pass.* :meth:`defer_finite_check` skips the separate read that
    :meth:`check_finite` makes: the first full :meth:`fused_loss_gradient` is the proof. Every
    entry xᵢⱼ of X reaches ``Gⱼ = Σᵢ dᵢ xᵢⱼ`` as a product (the kernels skip no row, whatever
    ``dᵢ`` is), and in IEEE arithmetic ``d·NaN`` is NaN and ``d·(±inf)`` is ±inf or NaN (for
    ``d = 0``), which no later sum makes finite again: a finite loss and gradient prove X
    finite. A non-finite result sends the question to :meth:`check_finite` (which counts the
    bad entries and refuses them, or finds X clean and lets the result through). Every other
    method that reads X runs :meth:`check_finite` first while the proof is outstanding.
    """

    kind = "numba-dense"

    def __init__(self, X: np.ndarray):
        super().__init__(X)
        self._contiguous = bool(X.flags.c_contiguous)
        self._unproven = False

    def defer_finite_check(self):
        self._unproven = True

    def _prove_finite(self):
        """Run the outstanding finiteness check (raises on NaN or ±inf in X)."""
        if self._unproven:
            self.check_finite()

    def _proof_from(self, result):
        """Close the outstanding check with a full pass's ``(loss, G, g_b)``; returns it."""
        if self._unproven:
            loss, G, gb = result
            if not (np.isfinite(loss) and np.isfinite(G).all() and np.isfinite(gb).all()):
                self.check_finite()
            self._unproven = False
        return result

    def _blocks(self, width):
        """Yield ``(X_block, row slice, chunk bounds)``: all of X when C-contiguous, else
        C-ordered copies of consecutive row blocks."""
        m, p = self.X.shape
        if self._contiguous:
            yield self.X, slice(0, m), row_bounds(m, width)
            return
        rows = max(64, COPY_BLOCK_BYTES // max(1, p * self.X.dtype.itemsize))
        for r0 in range(0, m, rows):
            Xb = np.ascontiguousarray(self.X[r0:r0 + rows])
            yield Xb, slice(r0, r0 + len(Xb)), row_bounds(len(Xb), width)

    def fused_loss_gradient(self, loss_name, W, b, y, sample_weight):
        m, p = self.X.shape
        dt = self.X.dtype
        s = np.asarray(sample_weight, dtype=dt)
        if loss_name == "binary":
            w = _coef(W, 1, p)[0]
            b0 = float(_intercept(b, 1)[0])
            y = np.asarray(y, dtype=dt)
            run = lambda Xb, r, bounds: dense.binary_loss_grad(Xb, w, b0, y[r], s[r], bounds)
            width = p
        elif loss_name == "multinomial":
            y = np.asarray(y)
            K = W.shape[0]
            Wc, bc = _coef(W, K, p), _intercept(b, K)
            hard = y.ndim == 1
            y_index = y.astype(np.intp, copy=False) if hard else np.empty(0, np.intp)
            Y = np.empty((0, K), dt) if hard else np.asarray(y, dtype=dt)

            def run(Xb, r, bounds):
                yi = y_index[r] if hard else y_index
                Yr = Y if hard else Y[r]
                return dense.softmax_loss_grad(Xb, Wc, bc, yi, Yr, hard, s[r], bounds)

            width = K * p
        else:
            return None
        self.count_pass()
        return self._proof_from(
            _sum_blocks(run(Xb, r, bounds) for Xb, r, bounds in self._blocks(width)))

    def fused_hessian_product(self, loss_name, factors, V, Vb, sample_weight):
        self._prove_finite()
        m, p = self.X.shape
        dt = self.X.dtype
        s = np.asarray(sample_weight, dtype=dt)
        f = np.asarray(factors, dtype=dt)
        if loss_name == "binary":
            v = _coef(V, 1, p)[0]
            vb = float(_intercept(Vb, 1)[0])
            run = lambda Xb, r, bounds: dense.binary_hessp(Xb, v, vb, f[r], s[r], bounds)
            width = p
        elif loss_name == "multinomial":
            K = V.shape[0]
            Vc, vbc = _coef(V, K, p), _intercept(Vb, K)
            run = lambda Xb, r, bounds: dense.softmax_hessp(Xb, Vc, vbc, f[r], s[r], bounds)
            width = K * p
        else:
            return None
        self.count_pass()
        parts = [run(Xb, r, bounds) for Xb, r, bounds in self._blocks(width)]
        HW, Hb = parts[0]
        for HW_i, Hb_i in parts[1:]:
            HW = HW + HW_i
            Hb = Hb + Hb_i
        return HW, Hb

    def dot(self, W):
        self._prove_finite()
        if not self._contiguous:
            return super().dot(W)
        m, p = self.X.shape
        W = np.asarray(W)
        self.count_pass()
        return products.logits(self.X, _coef(W, W.shape[0], p), row_bounds(m, p))

    def target_sums(self, sample_weight, targets, n_classes):
        """The sums of :meth:`Design.target_sums` by one kernel pass (float64 accumulation, no
        (m, K) weight matrix); a finite result closes the outstanding finiteness check, as the
        first :meth:`fused_loss_gradient` does (the ``Xᵀs`` row multiplies every entry)."""
        m, p = self.X.shape
        dt = self.X.dtype
        s = np.asarray(sample_weight, dtype=dt)
        t = np.asarray(targets)
        if t.dtype.kind in "iub":
            T, labels, k = np.empty((m, 0), dt), t.astype(np.intp, copy=False), n_classes
        else:
            T = np.ascontiguousarray(t.reshape(m, -1), dtype=dt)
            labels, k = np.empty(0, np.intp), T.shape[1]
        self.count_pass()
        a, C, N = np.zeros(p), np.zeros((k, p)), np.zeros(k)
        for Xb, r, bounds in self._blocks((1 + k) * p):  # F-ordered X: C-ordered row blocks
            a_b, C_b, N_b = products.target_sums(Xb, s[r], T[r] if T.shape[1] else T,
                                                 labels[r] if T.shape[1] == 0 else labels, k,
                                                 bounds)
            a, C, N = a + a_b, C + C_b, N + N_b
        if self._unproven:
            if not (np.isfinite(a).all() and np.isfinite(C).all()):
                self.check_finite()
            self._unproven = False
        return a, C, N

    def column_scale(self):
        """Per-column mean and standard deviation in one pass over row blocks.

        Unlike ``X.std(axis=0)`` (which materialises ``X − mean``, a full copy of X), only one
        float64 block is alive at a time. Sums are shifted by the first row,
        ``var = E[(x−x₀)²] − (E[x−x₀])²``, which avoids the cancellation of the raw moments
        for columns with a large mean.
        """
        self._prove_finite()
        m, p = self.X.shape
        self.count_pass()
        rows = max(64, COPY_BLOCK_BYTES // max(1, 8 * p))
        shift = np.asarray(self.X[0], dtype=np.float64)
        s1 = np.zeros(p)
        s2 = np.zeros(p)
        for r0 in range(0, m, rows):
            block = np.asarray(self.X[r0:r0 + rows], dtype=np.float64) - shift
            s1 += block.sum(axis=0)
            s2 += np.einsum("ij,ij->j", block, block)
        mean_shifted = s1 / m
        var = np.maximum(s2 / m - mean_shifted**2, 0.0)
        return mean_shifted + shift, np.sqrt(var)

    def check_finite(self):
        """The sum that proves X finite, by the kernels' parallel read (NumPy's ``sum`` runs
        on one thread: ~2× the time of this read on two cores)."""
        if not self._contiguous:
            super().check_finite()
        else:
            m, p = self.X.shape
            with np.errstate(over="ignore", invalid="ignore"):
                total = dense.read_pass(self.X, row_bounds(m, p))
            check_finite_values(self.X, total)
        self._unproven = False

    def tdot(self, R):
        self._prove_finite()
        return super().tdot(R)

    def take(self, rows):
        self._prove_finite()
        return super().take(rows)

    def class_grams(self, Wk):
        self._prove_finite()
        if not self._contiguous:
            return super().class_grams(Wk)
        self.count_pass()
        return dense_class_grams(self.X, Wk)

    def gram(self, d):
        """``Xᵀ diag(d) X``; the same pass also yields ``Xᵀd`` and ``Σd``, kept for an
        immediately following :meth:`wsum_rows` with equal ``d`` (what
        :meth:`LinearObjective.hessian` asks next)."""
        self._prove_finite()
        if not self._contiguous:
            return super().gram(d)
        d = np.asarray(d)
        self.count_pass()
        H, xtd, _ = dense_gram(self.X, d)
        self._last_wsum = (d.copy(), xtd)
        with np.errstate(over="ignore"):  # a float32 overflow shows as inf; Newton reports it
            return H.astype(self.dtype, copy=False)

    def wsum_rows(self, d):
        last = getattr(self, "_last_wsum", None)
        self._last_wsum = None
        if last is not None and last[0].shape == np.shape(d) and np.array_equal(last[0], d):
            # Xᵀd came with the gram's pass: no new pass over X.
            return last[1].astype(self.dtype, copy=False)
        self._prove_finite()
        return super().wsum_rows(d)


def _sum_blocks(results):
    """Add ``(loss, G, g_b)`` triples in block order."""
    loss, G, gb = 0.0, None, None
    for l_i, G_i, gb_i in results:
        loss += l_i
        G = G_i if G is None else G + G_i
        gb = gb_i if gb is None else gb + gb_i
    return loss, G, gb


class NumbaCSRDesign(SparseDesign):
    """CSR X (float32/float64 values) with fused row kernels and, for wide X, a CSC copy.

    Wide X (:func:`~softlogit.kernels.sparse.uses_transpose`) keeps a CSC copy of itself,
    built on the first loss or Hessian product that needs it (one pass over X, counted) and
    kept for the design's lifetime: :attr:`transposed_nbytes` bytes,
    ``nnz·(itemsize + 4) + 8(p+1)`` (:mod:`softlogit.kernels.transpose`).
    """

    def __init__(self, X):
        super().__init__(X)
        self.kind = "numba-sparse-csr"
        if not self.X.has_canonical_format:
            self.X = self.X.copy()
            self.X.sum_duplicates()
        self._transposed = None

    @property
    def transposed_nbytes(self) -> int:
        """Bytes of the CSC copy held by this design (0 until one is built)."""
        return 0 if self._transposed is None else self._transposed.nbytes

    def _transpose_for(self, K):
        """The CSC copy when the kernels for K logits take the two-phase path, else None."""
        m, p = self.X.shape
        if not sparse.uses_transpose(m, p, K):
            return None
        if self._transposed is None:
            self.count_pass()
            self._transposed = Transposed(self.X)
        return self._transposed

    def fused_loss_gradient(self, loss_name, W, b, y, sample_weight):
        m, p = self.X.shape
        dt = self.X.dtype
        s = np.asarray(sample_weight, dtype=dt)
        y = np.asarray(y)
        if loss_name == "binary":
            K, kind = 1, sparse.BINARY
            y_index, Y = np.empty(0, np.intp), np.asarray(y, dtype=dt).reshape(m, 1)
        elif loss_name == "multinomial":
            K = W.shape[0]
            if y.ndim == 1:
                kind = sparse.SOFTMAX_HARD
                y_index, Y = y.astype(np.intp, copy=False), np.empty((0, K), dt)
            else:
                kind = sparse.SOFTMAX_SOFT
                y_index, Y = np.empty(0, np.intp), np.asarray(y, dtype=dt)
        else:
            return None
        transposed = self._transpose_for(K)
        self.count_pass()
        return sparse.csr_loss_grad(self.X, _coef(W, K, p), _intercept(b, K), kind, y_index, Y,
                                    s, transposed)

    def fused_hessian_product(self, loss_name, factors, V, Vb, sample_weight):
        m, p = self.X.shape
        dt = self.X.dtype
        s = np.asarray(sample_weight, dtype=dt)
        if loss_name == "binary":
            K, kind = 1, sparse.BINARY
        elif loss_name == "multinomial":
            K, kind = V.shape[0], sparse.SOFTMAX_HARD
        else:
            return None
        F = np.asarray(factors, dtype=dt).reshape(m, K)
        transposed = self._transpose_for(K)
        self.count_pass()
        return sparse.csr_hessp(self.X, _coef(V, K, p), _intercept(Vb, K), kind, F, s,
                                transposed)

    def dot(self, W):
        W = np.asarray(W)
        self.count_pass()
        return sparse.csr_logits(self.X, _coef(W, W.shape[0], self.X.shape[1]))


def accepts_dense(X) -> bool:
    return isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype in _FLOATS and X.size > 0


def accepts_csr(X) -> bool:
    import scipy.sparse as sp

    return sp.issparse(X) and X.format == "csr" and X.dtype in _FLOATS and X.shape[0] > 0
