"""Small pieces every solver of :mod:`softlogit.solvers` shares (start point, verbose output)."""

from __future__ import annotations

import sys

import numpy as np


def initial_params(objective, params0) -> np.ndarray:
    """The float64 start vector: zeros (cold start) or a copy of ``params0`` (warm start).

    Solvers iterate in float64 whatever X's dtype (the objective still computes in X's dtype);
    :func:`final_params` casts the answer back.
    """
    if params0 is None:
        return np.zeros(objective.n_params, dtype=np.float64)
    theta = np.array(params0, dtype=np.float64).ravel()
    if theta.shape != (objective.n_params,):
        raise ValueError(f"params0 has {theta.size} values; the objective has "
                         f"{objective.n_params} parameters")
    if not np.all(np.isfinite(theta)):
        raise ValueError("params0 contains NaN or infinite values")
    return theta


def newton_start(objective, params0, max_iter: int) -> np.ndarray:
    """:func:`initial_params`, except that a cold start with ``max_iter > 0`` begins at the
    null model (the intercept-only optimum,
    :meth:`~softlogit.objective.LinearObjective.null_start`) where the objective offers one.
    (``max_iter = 0`` fits nothing, the intercepts included: θ = 0 as in scikit-learn.)

    For the Newton-type solvers: from θ = 0 they spend their first steps moving the
    intercept to the class balance (S5 of the suite, 2 % positives: 10 iterations from 0, 6
    from θ₀), and θ₀ together with the stopping rule's ``∇J(0)`` costs the one pass that
    ``∇J(0)`` alone costs. Gradient solvers keep θ = 0 (scikit-learn's start, which their
    parity tests follow).
    """
    if params0 is None and max_iter > 0:
        start = getattr(objective, "null_start", lambda: None)()
        if start is not None:
            return start
    return initial_params(objective, params0)


def final_params(objective, theta) -> np.ndarray:
    """``theta`` in the objective's dtype (a float32 problem returns float32 parameters)."""
    return np.asarray(theta).astype(objective.dtype, copy=False)


def with_verbose(callback, verbose, solver: str):
    """Wrap ``callback`` so that ``verbose > 0`` prints one line per iteration to stderr."""
    if not verbose:
        return callback

    def report(state):
        print(f"[{solver}] iter {state.iteration:5d}  objective {state.objective:.12g}  "
              f"|grad| {state.grad_norm:.3e}", file=sys.stderr)
        return callback(state) if callback is not None else None

    return report


def hessian_flops(objective) -> float:
    """Rough cost (multiply–adds) of forming the full Hessian once.

    Each of the ``k(k+1)/2`` logit blocks is a weighted Gram matrix ``X̃ᵀ diag(d) X̃``, costing
    about ``Σᵢ nnz(x̃ᵢ)²`` — ``m·(p+1)²`` for dense X, ``m·(nnz/m + 1)²`` for sparse X
    (``nnz`` read from the design's stored bytes).
    """
    m = objective.n_samples
    k = objective.n_logits
    stored = objective.design.nbytes / objective.dtype.itemsize or m * objective.n_features
    per_row = stored / m + objective.fit_intercept
    return m * per_row ** 2 * k * (k + 1) / 2


#: Iterations without progress after which a solver gives up.
STALL_ITERATIONS = 20
STALL_REASON = ("no progress: neither the objective nor the gradient norm improved for {n} "
                "iterations, before the gradient tolerance was met (rounding floor)")


class StallDetector:
    """Says when neither ``J`` nor ``‖g‖`` has improved on its best value for ``window``
    iterations.

    At the rounding floor (a ``tol`` finer than the precision of ``J`` and ``∇J`` allows,
    typically with float32 data) a solver can keep taking steps that change nothing; this ends
    such runs with a clear reason instead of spending the rest of ``max_iter``. Progress in
    either measure counts, since near the optimum ``J`` is flat to rounding while the gradient
    still shrinks.
    """

    def __init__(self, window: int = STALL_ITERATIONS):
        self.window = int(window)
        self.best = (np.inf, np.inf)
        self.since = 0

    def update(self, value: float, grad_norm: float) -> str | None:
        best_value, best_grad = self.best
        if value < best_value or grad_norm < best_grad:
            self.best = (min(value, best_value), min(grad_norm, best_grad))
            self.since = 0
            return None
        self.since += 1
        return STALL_REASON.format(n=self.since) if self.since >= self.window else None
