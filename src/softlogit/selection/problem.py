"""One classification problem, seen through any subset of its feature columns.

A regularisation path solves the same problem at many penalties, and screening solves each on a
few columns only. :class:`PathProblem` holds the data once and builds the
:class:`~softlogit.objective.LinearObjective` of a column subset and a penalty; it maps between
the full flat parameter vector (layout: :mod:`softlogit.objective.linear`) and a subset's.

Sparse X is stored column-compressed (CSC) so that a column subset is a cheap slice (``O(nnz)``
of the chosen columns); the slice is handed to the objective as CSR, the layout the fused
kernels read. Nothing here ever makes X dense.
"""

from __future__ import annotations

import copy

import numpy as np
import scipy.sparse as sp

from softlogit.objective import LinearObjective
from softlogit.objective.penalty import make_penalty
from softlogit.selection.hessian import ModelHessianObjective


class PathProblem:
    """Data of one fit: ``X`` (m, p), targets, loss, weights and intercept.

    Parameters
    ----------
    X : dense float array or SciPy sparse matrix, shape (m, p).
    targets : what :class:`LinearObjective` takes (binary: (m,) in [0, 1]; softmax: (m,)
        class indices or (m, K) probability rows).
    loss : ``"binary"`` or ``"multinomial"``.
    n_classes : K.
    fit_intercept : bool.
    sample_weight : (m,) weights (class weights already folded in) or None.
    """

    def __init__(self, X, targets, *, loss, n_classes, fit_intercept=True, sample_weight=None):
        # dense X: the solves' model Hessian by float32 BLAS syrk (:mod:`.hessian`)
        self._objective_class = LinearObjective if sp.issparse(X) else ModelHessianObjective
        self.full = self._objective_class(X, targets, loss=loss, n_classes=n_classes,
                                    fit_intercept=fit_intercept, sample_weight=sample_weight,
                                    penalty=None)
        self._X_cols = X.tocsc() if sp.issparse(X) else X
        self.targets = targets
        self.loss = loss
        self.n_classes = int(n_classes)
        self.fit_intercept = bool(fit_intercept)
        self.sample_weight = self.full.sample_weight
        self.n_logits = self.full.n_logits
        self.n_features = self.full.n_features

    @property
    def sw_sum(self) -> float:
        return self.full.sw_sum

    def penalty(self, penalty, C, l1_ratio):
        """The :class:`~softlogit.objective.penalty.Penalty` of ``(penalty, C, l1_ratio)``."""
        return make_penalty(penalty, C, l1_ratio, self.sw_sum)

    def full_objective(self, penalty):
        """The objective on all columns with the given :class:`Penalty` (X is shared)."""
        objective = copy.copy(self.full)  # shallow: the design and targets are shared
        objective.penalty = penalty
        objective.path_csc = self._X_cols if sp.issparse(self._X_cols) else None
        return objective

    def objective(self, columns, penalty):
        """The objective restricted to ``columns`` (sorted indices), with ``penalty``."""
        if columns is None or len(columns) == self.n_features:
            return self.full_objective(penalty)
        X = self._X_cols[:, columns]
        csc = X if sp.issparse(X) else None
        X = X.tocsr() if csc is not None else np.ascontiguousarray(X)
        objective = self._objective_class(X, self.targets, loss=self.loss, n_classes=self.n_classes,
                                    fit_intercept=self.fit_intercept,
                                    sample_weight=self.sample_weight, penalty=None)
        objective.penalty = penalty
        objective.path_csc = csc  # the same columns, column-compressed (:mod:`.implicit_newton`)
        full32 = self.full._float32_design() if csc is None else None
        if full32 is not None:  # its float32 X̃: columns of the one made for all of X
            objective._tilde_box = [np.asfortranarray(full32[:, self._flat_columns(columns)])]
        return objective

    # --- flat layouts ------------------------------------------------------------------------

    def restrict(self, params, columns) -> np.ndarray:
        """The entries of the full flat ``params`` that belong to the ``columns`` subset."""
        P = self._grid(params)
        keep = self._flat_columns(columns)
        return np.ascontiguousarray(P[:, keep]).ravel()

    def expand(self, sub_params, columns) -> np.ndarray:
        """The full flat vector with ``sub_params`` on ``columns`` and zeros elsewhere."""
        q = self.n_features + self.fit_intercept
        P = np.zeros((self.n_logits, q))
        keep = self._flat_columns(columns)
        P[:, keep] = np.asarray(sub_params, dtype=np.float64).reshape(self.n_logits, len(keep))
        return P.ravel()

    def flat_keys(self, columns) -> np.ndarray:
        """Positions in the full flat vector of a ``columns`` subset's parameters (sorted)."""
        q = self.n_features + self.fit_intercept
        keep = self._flat_columns(np.arange(self.n_features) if columns is None else columns)
        return (np.arange(self.n_logits)[:, None] * q + keep[None, :]).ravel()

    def unpack(self, params):
        """``(W (k, p), b (k,))`` of a full flat vector (``b`` zeros without an intercept)."""
        P = self._grid(params)
        p = self.n_features
        b = P[:, p] if self.fit_intercept else np.zeros(self.n_logits)
        return P[:, :p], b

    def _grid(self, params):
        return np.asarray(params, dtype=np.float64).reshape(self.n_logits,
                                                            self.n_features + self.fit_intercept)

    def _flat_columns(self, columns):
        columns = np.asarray(columns, dtype=np.intp)
        if self.fit_intercept:
            return np.concatenate([columns, [self.n_features]])
        return columns
