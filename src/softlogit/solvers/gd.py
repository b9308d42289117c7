"""Plain gradient descent, the update the math is written for: ``θ ← θ − η ∇J(θ)``.

Two step rules:

- ``step="armijo"`` (default): backtracking line search. A trial step ``η`` is halved until the
  sufficient-decrease (Armijo) condition ``J(θ − η g) ≤ J(θ) − c η ‖g‖²`` holds (c = 1e−4),
  so every iteration decreases J. The trial step is the Barzilai–Borwein step
  ``η = ‖Δθ‖² / (Δθ·Δg)`` of the last two iterates (a free curvature estimate that makes
  gradient descent practical on ill-conditioned data), else twice the last accepted step.
- ``step="fixed"``: ``η = learning_rate`` every iteration, exactly the textbook update.

The line search compares objective values, so it cannot resolve a decrease smaller than the
rounding of J (about ``ε·|J|``): a ``tol`` that asks for ``‖∇J‖`` below roughly ``√(L ε |J|)``
ends with ``converged=False`` and the reason "line search failed", rather than spinning until
``max_iter``. ``n_iter`` counts completed iterations (the histories hold ``n_iter + 1`` points).
"""

from __future__ import annotations

import numpy as np

from softlogit.solvers.common import final_params, initial_params
from softlogit.solvers.iteration import Tracker
from softlogit.solvers.registry import register
from softlogit.solvers.result import grad_norm

ARMIJO_C = 1e-4
MAX_BACKTRACKS = 60


@register("gd", penalties=("l2", None),
          description="gradient descent with an Armijo backtracking line search")
def gradient_descent(objective, params0=None, *, tol=1e-4, max_iter=1000, callback=None,
                     step="armijo", learning_rate=1.0, reference_norm=None, **_ignored):
    """Minimise the smooth objective by gradient descent; returns a :class:`SolverResult`."""
    if step not in ("armijo", "fixed"):
        raise ValueError(f"step must be 'armijo' or 'fixed'; got {step!r}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive; got {learning_rate!r}")
    theta = initial_params(objective, params0)
    track = Tracker(objective, "gd", tol=tol, max_iter=max_iter, callback=callback,
                    reference_norm=reference_norm)
    f, g = objective.loss_gradient(theta)
    g = g.astype(np.float64)
    eta = float(learning_rate)
    prev = None
    reason = track.record(theta, f, grad_norm(g))
    while reason is None:
        if step == "fixed":
            theta = theta - eta * g
            f, g_new = objective.loss_gradient(theta)
        else:
            if prev is not None:
                d_theta, d_g = theta - prev[0], g - prev[1]
                curv = float(d_theta @ d_g)
                eta = float(d_theta @ d_theta) / curv if curv > 0 else 2 * eta
            gn = grad_norm(g)  # ‖g‖² itself may overflow: use η·‖g‖·‖g‖
            accepted = False
            for _ in range(MAX_BACKTRACKS):
                trial = theta - eta * g
                if np.array_equal(trial, theta):
                    # The step no longer moves θ: near the optimum the possible decrease
                    # (≈ η‖g‖²) is below the rounding of J, and halving further only spins.
                    break
                f_trial, g_trial = objective.loss_gradient(trial)
                if f_trial <= f - ARMIJO_C * (eta * gn) * gn:
                    accepted = True
                    break
                eta *= 0.5
            if not accepted:
                track.info["line_search_failures"] = 1
                reason = ("line search failed: no step decreases the objective (the tolerance "
                          "may be below float precision)")
                break
            prev = (theta, g)
            theta, f, g_new = trial, f_trial, g_trial
        g = np.asarray(g_new, dtype=np.float64)
        track.n_iter += 1
        reason = track.record(theta, f, grad_norm(g))
    return track.result(final_params(objective, theta), reason)
