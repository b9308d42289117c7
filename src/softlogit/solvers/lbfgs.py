"""Limited-memory BFGS through :func:`scipy.optimize.minimize` (``method="L-BFGS-B"``).

SciPy does the quasi-Newton work (two-loop recursion, Moré–Thuente line search); this module
makes it obey the shared stopping rule (:class:`~softlogit.solvers.StoppingRule`):

1. *setup* — start at ``params0`` (or 0); scipy's own tests are switched off
   (``gtol = ftol = 0``) so that only our rule, ``‖∇J(θ)‖₂ ≤ tol·‖∇J(0)‖₂``, ends a
   successful run.
2. *evaluate* — scipy calls :meth:`LinearObjective.loss_gradient` (one pass over X); the last
   evaluation is cached, so the point scipy accepts is never evaluated twice.
3. *iterate / check* — after every accepted step scipy calls back; the :class:`Tracker`
   records ``J`` and ``‖∇J‖`` and decides whether to stop (tolerance, ``max_iter``, the
   user's callback), which halts scipy through ``StopIteration``.
4. *explain* — when scipy stops by itself (line search failure, evaluation limit), its
   message is translated into a short reason.

The quasi-Newton update needs a smooth objective: penalties ``"l2"`` and ``None``.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from softlogit.solvers.common import final_params, initial_params, with_verbose
from softlogit.solvers.iteration import Tracker
from softlogit.solvers.registry import register
from softlogit.solvers.result import grad_norm

#: Number of (s, y) correction pairs kept (scipy's ``maxcor``; scikit-learn also uses 10).
HISTORY_SIZE = 10
#: Line-search evaluations allowed per iteration before scipy gives up.
MAX_LINE_SEARCH = 50


@register("lbfgs", penalties=("l2", None),
          description="limited-memory BFGS (scipy L-BFGS-B) on the exact gradient")
def lbfgs(objective, params0=None, *, tol=1e-4, max_iter=1000, callback=None,
          reference_norm=None, verbose=0, history_size=HISTORY_SIZE, max_fun=None,
          **_ignored):
    """Minimise the smooth objective with L-BFGS; returns a :class:`SolverResult`.

    Parameters
    ----------
    objective : :class:`~softlogit.objective.LinearObjective` (penalty ``"l2"`` or ``None``).
    params0 : flat start vector (warm start), default zeros.
    tol, max_iter, callback, reference_norm, verbose : the shared solver options.
    history_size : correction pairs kept (memory ``m``; cost per iteration ``O(m · n_params)``).
    max_fun : cap on loss/gradient evaluations (default ``max(15000, 20·max_iter)``).

    Notes
    -----
    The update is the L-BFGS two-loop recursion: with ``sⱼ = θⱼ₊₁ − θⱼ`` and
    ``yⱼ = ∇Jⱼ₊₁ − ∇Jⱼ``, the direction ``d = −H ∇J`` where ``H`` is the inverse-Hessian
    approximation built from the last ``m`` pairs by ``H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ``,
    ``ρ = 1/(yᵀs)``, then a line search satisfying the strong Wolfe conditions.

    Examples
    --------
    >>> import numpy as np
    >>> from softlogit.objective import LinearObjective
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    >>> obj = LinearObjective(X, np.array([0.0, 1.0, 1.0, 0.0]), loss="binary")
    >>> res = lbfgs(obj, tol=1e-8)
    >>> res.converged, res.reason
    (True, 'gradient norm below tolerance')
    """
    theta = initial_params(objective, params0)
    track = Tracker(objective, "lbfgs", tol=tol, max_iter=max_iter,
                    callback=with_verbose(callback, verbose, "lbfgs"),
                    reference_norm=reference_norm)
    cache = _LastEvaluation(objective)
    f, g = cache(theta)
    state = {"theta": theta.copy()}
    reason = track.record(theta, f, grad_norm(g))
    if reason is not None:
        return track.result(final_params(objective, theta), reason)

    def on_iteration(x):  # scipy passes a copy of the accepted iterate
        x = np.asarray(x, dtype=np.float64)
        f_x, g_x = cache(x)
        track.n_iter += 1
        state["theta"] = x
        state["reason"] = track.record(x, f_x, grad_norm(g_x))
        if state["reason"] is not None:
            raise StopIteration

    if max_fun is None:
        max_fun = max(15000, 20 * int(max_iter))
    res = minimize(cache, theta, method="L-BFGS-B", jac=True, callback=on_iteration,
                   options={"maxcor": int(history_size), "gtol": 0.0, "ftol": 0.0,
                            "maxiter": int(max_iter) + 1, "maxfun": int(max_fun),
                            "maxls": MAX_LINE_SEARCH})
    track.info["n_fun_evals"] = int(res.nfev)
    reason = state.get("reason") or _explain(res.message)
    if "line search" in reason:
        track.info["line_search_failures"] = 1
    return track.result(final_params(objective, state["theta"]), reason)


class _LastEvaluation:
    """``θ ↦ (J, ∇J)`` in float64, remembering the last point (scipy re-asks for it)."""

    def __init__(self, objective):
        self.objective = objective
        self.x = None
        self.value = None

    def __call__(self, x):
        if self.x is None or not np.array_equal(x, self.x):
            f, g = self.objective.loss_gradient(x)
            self.x = np.array(x, dtype=np.float64)
            self.value = (float(f), np.asarray(g, dtype=np.float64))
        return self.value


def _explain(message) -> str:
    """A short reason from scipy's L-BFGS-B status message."""
    text = str(message)
    upper = text.upper()
    if "ABNORMAL" in upper or "ROUNDING ERRORS" in upper or "STPM" in upper \
            or "XTOL" in upper:
        return f"line search failed: no step decreases the objective (scipy: {text})"
    if "F,G EVALUATIONS" in upper:
        return "maximum number of loss/gradient evaluations reached"
    if "ITERATIONS REACHED" in upper:
        return "maximum number of iterations reached"
    if "RELATIVE REDUCTION" in upper:
        return ("objective stopped decreasing (changes below machine precision) before the "
                "gradient tolerance was met")
    return f"L-BFGS-B stopped: {text}"
