"""Sub-sampled Newton on a cluster: the exact gradient from the workers, the Hessian from one
row sample kept on the client.

The in-memory solver (:mod:`softlogit.solvers.subsampled_newton`, its docstring has the method
and the convergence argument) draws a new sample every iteration: there a copy of ``r`` rows
costs ``r/m`` of a pass, but on a cluster every draw is a round trip to the workers, and the
round, not the reading, is what a Dask fit pays for (BENCHMARKS.md, Dask). So here:

1. *sample once* — ``r`` rows (:func:`~softlogit.solvers.subsampled_newton.first_sample_size`)
   drawn uniformly without replacement from all ``m`` rows with the seeded generator, fetched
   to the client with their targets and weights (one round, ``r/m`` of a pass); rows of zero
   weight contribute nothing to the weighted sub-sampled Hessian

   .. math::

       H_S = \\frac{1}{Σ_{i∈S} sᵢ} Σ_{i∈S} sᵢ\\, Hᵢ ⊗ \\tilde xᵢ \\tilde xᵢᵀ
             + λ_2\\, \\mathrm{diag}(\\text{mask}),

   formed on the client at each iterate (no round) and Cholesky-factorised (the Newton
   solver's Jacobi-scaled factorisation with its ridge fallback and softmax null space);
2. *each iteration* — ``d = −H_S⁻¹ ∇J`` and Armijo backtracking on the **full** objective: one
   round per trial point (usually one: ``t = 1`` is accepted), whose gradient is the next
   iteration's;
3. *grow* — as in memory, when two iterations together reduced ``‖∇J‖`` by less than
   ``STALL_RATIO²`` the sample grows ×``GROWTH`` (one more fetch); once it would reach
   ``FULL_FRACTION`` of the rows or hold more than :data:`SAMPLE_MAX_BYTES` on the client,
   the exact Hessian is summed on the workers instead (one round per iteration: Newton).

Stopping is decided by the full gradient, so the answer is the exact optimum to ``tol``.
"""

from __future__ import annotations

import numpy as np

from softlogit.objective import LinearObjective
from softlogit.solvers.common import (StallDetector, final_params, newton_start,
                                      with_verbose)
from softlogit.solvers.iteration import Tracker
from softlogit.solvers.linesearch import FallbackLog, objective_fun_grad
from softlogit.solvers.newton import _cholesky_direction, known_null_space, newton_step
from softlogit.solvers.result import grad_norm
from softlogit.solvers.subsampled_newton import (CHOLESKY_MAX_PARAMS, FULL_FRACTION, GROWTH,
                                                 _generator, first_sample_size, stalled)

#: The largest row sample (X's values) kept on the client.
SAMPLE_MAX_BYTES = 64 * 2**20


def fits_on_client(objective) -> bool:
    """Whether this solver applies: a smooth penalty, a Hessian small enough to factorise
    (``n_params ≤ CHOLESKY_MAX_PARAMS``) and a first sample within :data:`SAMPLE_MAX_BYTES`."""
    if objective.penalty.l1 or objective.n_params > CHOLESKY_MAX_PARAMS:
        return False
    return _sample_bytes(objective, first_sample_size(objective)) <= SAMPLE_MAX_BYTES


def _sample_bytes(objective, r: int) -> int:
    return int(r) * objective.n_features * np.dtype(objective.dtype).itemsize


def sampled_newton(objective, params0=None, *, tol=1e-4, max_iter=100, callback=None,
                   reference_norm=None, verbose=0, random_state=None, sample_rows=None,
                   **_ignored):
    """Minimise the smooth objective of a Dask fit (module docstring); a
    :class:`~softlogit.solvers.result.SolverResult` named ``"subsampled-newton"``.

    ``objective`` is a :class:`~softlogit.backends.dask.objective.DaskObjective`;
    ``random_state`` seeds the sample (``None`` → 0), ``sample_rows`` overrides its first size.
    ``info`` records ``sample_rows`` (per iteration; ``m`` once the exact Hessian is used) and
    ``sample_draws`` (fetches).
    """
    rng = _generator(random_state)
    m = objective.n_samples
    r = first_sample_size(objective) if sample_rows is None else int(sample_rows)
    if r < 1:
        raise ValueError(f"sample_rows must be a positive number of rows; got {sample_rows!r}")
    passes0 = objective.design.passes  # the null start's pass is the solver's
    theta = newton_start(objective, params0, int(max_iter))
    track = Tracker(objective, "subsampled-newton", tol=tol, max_iter=max_iter,
                    callback=with_verbose(callback, verbose, "subsampled-newton"),
                    reference_norm=reference_norm, passes0=passes0)
    stall = StallDetector()
    track.info.update(inner_solver="cholesky", sample_rows=[], rows=m, sample_draws=0)
    fallback = FallbackLog(track, "subsampled-newton")
    null = known_null_space(objective)
    fun_grad = objective_fun_grad(objective)

    f, g = fun_grad(theta)
    reason = track.record(theta, f, grad_norm(g))
    sub, last_ratio = None, None
    while reason is None:
        if sub is None:
            sub = _sample(objective, r, rng)
            track.info["sample_draws"] += sub is not objective
        track.info["sample_rows"].append(int(sub.n_samples))
        d, problem = _cholesky_direction(sub, theta, g, null)
        step, reason = newton_step(track, fun_grad, theta, f, g, d, problem, null,
                                   objective.dtype, fallback, "sub-sampled Newton")
        if step is None:
            break
        old_norm = grad_norm(g)
        theta, f, g = step.theta, step.value, step.grad
        track.n_iter += 1
        reason = track.record(theta, f, grad_norm(g))
        reason = reason or stall.update(f, track.grad_norms[-1])
        ratio = track.grad_norms[-1] / old_norm
        # the in-memory rule (HessianSampler.observe): grow when the last two iterations
        # together reduced ‖∇J‖ by less than STALL_RATIO² (alternating steps included)
        if stalled(last_ratio, ratio) and sub is not objective:
            r *= GROWTH
            sub, ratio = None, None  # judge the grown sample on its own iterations
        last_ratio = ratio
    return track.result(final_params(objective, theta), reason)


def _sample(objective, r: int, rng):
    """The objective restricted to ``r`` random rows fetched to the client, with the full
    objective's penalty; the full objective itself (its Hessian summed on the workers) when
    the sample would be most of the rows, too large for the client, or of zero weight."""
    m = objective.n_samples
    if r >= FULL_FRACTION * m or _sample_bytes(objective, r) > SAMPLE_MAX_BYTES:
        return objective
    rows = np.sort(rng.choice(m, size=r, replace=False))
    design = objective.design.take(rows)
    design.count_pass()  # copying the r rows read them: r/m of a pass over X
    s = objective.sample_weight[rows]
    if not np.sum(s) > 0:
        return objective
    sub = LinearObjective(design, objective.y[rows], loss=objective.loss_fn.name,
                          n_classes=objective.n_classes, fit_intercept=objective.fit_intercept,
                          sample_weight=s, penalty=None)
    sub.penalty = objective.penalty  # λ₂ = 1/(C·Σs) over ALL rows: the full objective's
    return sub
