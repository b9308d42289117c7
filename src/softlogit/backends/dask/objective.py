"""The penalised cross-entropy of :class:`~softlogit.objective.LinearObjective`, its targets and
weights kept on the workers with X.

:class:`DaskObjective` is a ``LinearObjective`` in every respect the solvers see (layout,
penalty, ``loss_gradient``, ``hessian_operator``, ``hessian``, ``objective_value``); the
formulas are those of :mod:`softlogit.objective.linear`. Only where the in-memory objective
would compute m-sized logits on the client does it ask the :class:`DaskDesign` to compute them
in the chunks instead: the Hessian factors stay on the workers between Hessian-vector products,
and the full Hessian is summed there. So every solver runs unchanged, on the client, with
k·p-sized vectors.
"""

from __future__ import annotations

import numpy as np

from softlogit.losses import get_loss
from softlogit.objective import LinearObjective
from softlogit.objective.penalty import make_penalty


class DaskObjective(LinearObjective):
    """``LinearObjective`` on a :class:`~softlogit.backends.dask.design.DaskDesign`.

    Parameters
    ----------
    design : the placed chunks (X, targets and weights, class weights folded in).
    loss : ``"binary"`` or ``"multinomial"`` (the targets in the chunks are in its form).
    n_classes, fit_intercept, penalty, C, l1_ratio : as for ``LinearObjective``.
    sw_sum : ``Σs`` over all rows (from the chunks' summaries).
    """

    def __init__(self, design, *, loss, n_classes, fit_intercept, sw_sum, penalty="l2", C=1.0,
                 l1_ratio=None):
        self.loss_fn = get_loss(loss)
        self.design = design
        m, p = design.shape
        self.n_classes = int(n_classes)
        self.y = design.targets
        self.sample_weight = design.weights
        self.sw_sum = float(sw_sum)
        self.fit_intercept = bool(fit_intercept)
        self.penalty = make_penalty(penalty, C, l1_ratio, self.sw_sum)
        self.n_logits = self.loss_fn.n_logits(self.n_classes)
        self.n_features = p
        self.n_params = self.n_logits * (p + self.fit_intercept)

    def with_penalty(self, penalty, C, l1_ratio=None) -> "DaskObjective":
        """The same data and loss with another penalty (the chunks are shared, not rebuilt)."""
        return DaskObjective(self.design, loss=self.loss_fn.name, n_classes=self.n_classes,
                             fit_intercept=self.fit_intercept, sw_sum=self.sw_sum,
                             penalty=penalty, C=C, l1_ratio=l1_ratio)

    def logits(self, params):
        raise TypeError("the logits of a Dask fit stay on the workers; use the estimator's "
                        "decision_function for a lazy dask array")

    def loss(self, params) -> float:
        """Smooth objective value; one fused pass (the gradient comes with it at no extra read)."""
        return self.loss_gradient(params)[0]

    def hessian_operator(self, params):
        """``v ↦ ∇²J(θ) v``: the factors at ``θ`` are computed once and stay on the workers;
        each product is then one fused pass."""
        W, b = self.unpack(params)
        factors = self.design.hessian_factors(self.loss_fn.name, W, b)
        lam = self.penalty.l2

        def hessp(v):
            V, Vb = self.unpack(v)
            HW, Hb = self.design.fused_hessian_product(self.loss_fn.name, factors, V, Vb,
                                                       self.sample_weight)
            return self.pack(HW / self.sw_sum + lam * V,
                             Hb / self.sw_sum if self.fit_intercept else None)

        return hessp

    def hessian(self, params) -> np.ndarray:
        """The full Hessian (formula: :meth:`LinearObjective.hessian`), summed on the workers."""
        W, b = self.unpack(params)
        H = self.design.hessian_sum(self.loss_fn.name, W, b, self.fit_intercept)
        H = np.asarray(H, dtype=np.float64) / self.sw_sum
        if self.penalty.l2:
            H[np.diag_indices_from(H)] += self.penalty.l2 * self.penalized_mask
        return H.astype(self.dtype, copy=False)


class DaskSeparationMonitor:
    """:class:`~softlogit.estimators.diagnostics.SeparationMonitor` for a Dask fit: the margin
    test runs in the chunks (one pass per iteration, as in memory)."""

    def __init__(self, objective: DaskObjective):
        self.objective = objective
        self.separating_params = None

    def __call__(self, state) -> bool:
        W, b = self.objective.unpack(state.params)
        if self.objective.design.separates(W, b, hard_binary=self.objective.n_logits == 1):
            self.separating_params = np.array(state.params)
            return True
        return False
