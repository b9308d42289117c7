"""The data interface between the objective and the matrix X (DESIGN §2).

Conventions: X has shape (m, p). Coefficients ``W`` have shape (k, p) — one row per logit, the
layout of ``coef_`` — so the products are written in that layout:

- ``dot(W)``      = X Wᵀ          → (m, k)   the logits without intercept
- ``tdot(R)``     = Rᵀ X          → (k, p)   the gradient of Σᵢ Rᵢ·zᵢ with respect to W
- ``gram(d)``     = Xᵀ diag(d) X  → (p, p)   one block of the Hessian
- ``wsum_rows(d)``= Xᵀ d          → (p,)     the intercept-feature cross block of the Hessian

Fused kernels override :meth:`Design.fused_loss_gradient` (and friends) to evaluate the loss
and its gradient in one pass over X; the base class answers ``None``, which tells the objective
to use the reference path built from the products above.

*Passes.* Every design counts the passes it makes over X in :attr:`Design.passes` (a pass =
every row of X read once; the unit of cost that carries from one core to a GPU or a cluster).
Each product above and each fused hook that answers counts one pass by calling
:meth:`Design.count_pass`; a design made by :meth:`Design.take` on r of the m rows also adds
r/m of a pass to the design it was taken from, so a solver working on a row subset (a
mini-batch, a sub-sampled Hessian) is charged for what it read.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Design(ABC):
    """A read-only design matrix X of shape (m, p) with the products the objective needs."""

    #: Short name shown in reports ("dense", "sparse-csr", "numba-dense" …); never dispatched on.
    kind: str = "abstract"
    #: Whether X is stored sparse (solvers that need dense X are refused on it).
    is_sparse: bool = False
    #: Passes over X made so far (module docstring); an instance attribute once counted.
    passes: float = 0.0
    #: ``(parent design, r/m)`` for a design made by :meth:`take`, else ``None``.
    _pass_parent: tuple["Design", float] | None = None
    #: True for a design whose X lives on another device (the array-API backend): the objective
    #: then hands the targets and weights to :meth:`place_samples`, which keeps them with X, and
    #: takes every per-sample quantity from the fused hooks below (they must all answer), so
    #: that only k·p-sized arrays reach the host.
    samples_on_device: bool = False

    def check_finite(self) -> None:
        """Refuse NaN or ±inf in X with one sentence saying how many (one read of X).

        The estimator's validation, not solver work: not counted in :attr:`passes`.
        """
        raise NotImplementedError(f"the {self.kind} design does not check its values")

    def defer_finite_check(self) -> None:
        """Promise :meth:`check_finite` before any result computed from X is returned.

        By default the check runs now. A design that can prove X finite from the result of its
        first full pass (see :class:`~softlogit.kernels.designs.NumbaDenseDesign`) overrides
        this to save the separate read.
        """
        self.check_finite()

    def count_pass(self, n: float = 1.0) -> None:
        """Add ``n`` passes over this X (and ``n·r/m`` to the design it was taken from)."""
        self.passes = self.passes + n
        if self._pass_parent is not None:
            parent, fraction = self._pass_parent
            parent.count_pass(n * fraction)

    def _taken(self, child: "Design", n_rows: int) -> "Design":
        """Link a design made by :meth:`take` to this one for pass counting; returns it."""
        child._pass_parent = (self, n_rows / max(1, self.shape[0]))
        return child

    @property
    @abstractmethod
    def shape(self) -> tuple[int, int]:
        """(m, p)."""

    @property
    @abstractmethod
    def dtype(self) -> np.dtype:
        """Floating dtype of X; the objective computes in it."""

    @abstractmethod
    def dot(self, W: np.ndarray) -> np.ndarray:
        """X Wᵀ for W of shape (k, p); returns (m, k) in X's dtype."""

    @abstractmethod
    def tdot(self, R: np.ndarray) -> np.ndarray:
        """Rᵀ X for R of shape (m, k); returns (k, p)."""

    @abstractmethod
    def gram(self, d: np.ndarray) -> np.ndarray:
        """Xᵀ diag(d) X for d of shape (m,); returns a dense (p, p) array."""

    def wsum_rows(self, d: np.ndarray) -> np.ndarray:
        """Xᵀ d for d of shape (m,); returns (p,)."""
        return self.tdot(d[:, None])[0]

    def class_grams(self, Wk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each column ``w_k`` of ``Wk`` (m, K): ``(Xᵀ diag(w_k) X (K, p, p), Xᵀ w_k (K, p),
        Σ w_k (K,))`` in float64 — the class-diagonal blocks of a softmax Hessian.

        This default asks :meth:`gram` and :meth:`wsum_rows` per class (2K passes); a design
        that can form all K blocks from one read of X overrides it.
        """
        Wk = np.asarray(Wk, dtype=np.float64)
        grams = np.stack([np.asarray(self.gram(Wk[:, k]), np.float64) for k in range(Wk.shape[1])])
        cross = np.stack([np.asarray(self.wsum_rows(Wk[:, k]), np.float64)
                          for k in range(Wk.shape[1])])
        return grams, cross, Wk.sum(axis=0)

    def target_sums(self, sample_weight, targets, n_classes: int):
        """``(Xᵀs (p,), Xᵀ(s ⊙ tₖ) (K′, p), Σᵢ sᵢtᵢₖ (K′,))`` in float64 from one pass over X.

        ``targets`` are float (m,) (binary: ``tᵢ = yᵢ``, K′ = 1) or (m, K) (soft, K′ = K), or
        integer class labels (m,) (``tᵢₖ = [yᵢ = k]``, K′ = ``n_classes``). The gradient of
        the data term at any *constant* logits is a combination of these sums
        (:meth:`~softlogit.objective.LinearObjective.null_start`). This default builds the
        (m, 1 + K′) weight matrix and asks :meth:`tdot`.
        """
        s = np.asarray(sample_weight, dtype=np.float64)
        t = np.asarray(targets)
        m = s.shape[0]
        if t.dtype.kind in "iub":
            R = np.zeros((m, 1 + n_classes))
            R[np.arange(m), 1 + t.astype(np.intp)] = s
        else:
            R = np.empty((m, 1 + (t.shape[1] if t.ndim == 2 else 1)))
            R[:, 1:] = s[:, None] * t.reshape(m, -1)
        R[:, 0] = s
        G = np.asarray(self.tdot(R.astype(self.dtype, copy=False)), dtype=np.float64)
        return G[0], G[1:], R[:, 1:].sum(axis=0)

    @abstractmethod
    def take(self, rows: np.ndarray) -> "Design":
        """The design of the selected rows (mini-batches, train/test splits)."""

    def take_samples(self, rows: np.ndarray, *per_sample) -> tuple:
        """``(take(rows), a[rows] for each a in per_sample)``: the rows of X with their targets
        and weights, each kept where this design keeps them (on the device, for a design
        with ``samples_on_device``)."""
        return (self.take(rows), *(a[rows] for a in per_sample))

    @abstractmethod
    def column_scale(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-column mean and standard deviation (to diagnose unscaled data)."""

    @property
    def nbytes(self) -> int:
        """Bytes of X's stored values (the floor for one pass is nbytes / bandwidth)."""
        return 0

    # --- fused single-pass hooks: None means "not offered, use the reference path" ---------

    def fused_loss_gradient(self, loss_name, W, b, y, sample_weight):
        """One pass over X: ``(Σᵢ sᵢ ℓᵢ, Σᵢ sᵢ gᵢ xᵢᵀ (k, p), Σᵢ sᵢ gᵢ (k,))`` or ``None``.

        ``gᵢ = ∂ℓᵢ/∂zᵢ`` with ``zᵢ = W xᵢ + b`` (``b`` may be ``None``). The sums are not
        normalised and carry no penalty: the objective adds both.
        """
        return None

    def fused_hessian_product(self, loss_name, factors, V, Vb, sample_weight):
        """One pass over X: ``(Σᵢ sᵢ uᵢ xᵢᵀ, Σᵢ sᵢ uᵢ)`` with ``uᵢ = Hᵢ (V xᵢ + Vb)``, or None.

        ``Hᵢ`` is the per-sample logit Hessian given by ``factors`` (from the loss).
        """
        return None

    # --- hooks of designs with ``samples_on_device`` (None: "not offered") -------------------

    def place_samples(self, loss_name, y, n_classes, sample_weight):
        """Check targets and weights where X lives: ``(K, targets, weights, Σs)``, or None."""
        return None

    def fused_loss(self, loss_name, W, b, y, sample_weight):
        """One pass over X: ``Σᵢ sᵢ ℓᵢ`` (a float), or None."""
        return None

    def fused_hessian_factors(self, loss_name, W, b):
        """The per-sample logit-Hessian factors at ``(W, b)`` kept with X (for the two hooks
        that take ``factors``), or None: the objective then computes them from the logits."""
        return None

    def fused_hessian(self, loss_name, factors, sample_weight, fit_intercept):
        """``Σᵢ sᵢ Hᵢ ⊗ x̃ᵢ x̃ᵢᵀ`` (k·q, k·q), ``x̃ = (x, 1)`` with an intercept, or None."""
        return None


def check_finite_values(values: np.ndarray, total: float | None = None,
                        block_bytes: int = 1 << 24) -> None:
    """Refuse NaN or infinite entries of ``values``, without an (m, p) temporary in the
    common case.

    ``np.all(np.isfinite(X))`` writes an m×p boolean array (1 GB for a 10M×100 X) and is ~8×
    slower than a plain sum. The sum of finite values is finite unless it overflows, and any
    NaN or inf makes it non-finite, so a finite sum proves the data clean; otherwise the
    entries are counted block by block (to name how many are bad). ``total``: that sum, when
    the caller has a faster way to take it (a parallel read).
    """
    flat = values.reshape(-1) if values.flags.contiguous else values.ravel(order="K")
    if total is None:
        with np.errstate(over="ignore", invalid="ignore"):
            total = np.sum(flat, dtype=np.float64)
    if np.isfinite(total):
        return
    step = max(1, block_bytes // max(flat.itemsize, 1))
    n_nan = n_inf = 0
    for start in range(0, flat.size, step):
        block = flat[start:start + step]
        n_nan += int(np.count_nonzero(np.isnan(block)))
        n_inf += int(np.count_nonzero(np.isinf(block)))
    if n_nan or n_inf:
        raise ValueError(f"X contains {n_nan} NaN and {n_inf} infinite values (±infinity); "
                         "drop or impute them before fitting")
