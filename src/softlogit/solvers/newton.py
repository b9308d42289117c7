"""Newton's method on the exact Hessian, with a backtracking line search.

Each iteration is the same fixed sequence of named steps:

1. *gradient* — ``J`` and ``∇J`` at θ (one pass over X), the shared stopping rule.
2. *inner solve* — the Newton direction ``d`` from ``∇²J d = −∇J``:

   - ``"cholesky"`` (small problems: ``n_params ≤ CHOLESKY_MAX_PARAMS`` and forming the
     Hessian costs at most ``CHOLESKY_MAX_FLOPS``, see
     :func:`~softlogit.solvers.common.hessian_flops`): form the full Hessian
     (:meth:`LinearObjective.hessian`) and factorise it with
     :func:`scipy.linalg.cho_factor`;
   - ``"cg"`` (otherwise): truncated conjugate gradients on Hessian–vector products
     (:meth:`LinearObjective.hessian_operator`, factors computed once per iteration),
     stopped when ``‖∇²J d + ∇J‖ ≤ η ‖∇J‖`` with the forcing term
     ``η = min(½, √(‖∇J‖/‖∇J(0)‖))`` (Nocedal & Wright, *Numerical Optimization*, §7.1) —
     loose far from the optimum, tight near it, which keeps the convergence superlinear.

3. *line search* — :func:`~softlogit.solvers.linesearch.backtracking` from ``t = 1``.
4. *check* — record ``J`` and ``‖∇J‖``; stop on the shared rule, ``max_iter`` or callback.

**Known null space.** The softmax model is invariant under adding the same value to all K
intercepts (and, without a penalty, the same vector to all K rows of W): ``∇²J`` is singular
along those directions ``N`` and ``∇J ⟂ N``. That is not a failure, so it is handled silently:
the Cholesky path factorises ``∇²J + c N Nᵀ`` (in the Jacobi-scaled form below), whose
solution for a right-hand side ``⟂ N`` is a Newton step, and both paths project ``d`` onto
``N^⊥``.

**Scaling.** The Cholesky path works on ``D⁻¹ ∇²J D⁻¹`` with ``D = diag(∇²J)^½`` (unit
diagonal), so its singularity test and ridge are relative to each coordinate's own curvature:
with a tiny ``C`` the penalty's curvature on W (``1/(C·Σs)``) is up to 1e18 times the
intercepts', and tests scaled by the largest entries took a regular Hessian for a singular
one and damped the intercept steps to nothing.

**Fallbacks** (each emits a :class:`~softlogit.solvers.warnings.SolverWarning` the first time
and is listed in ``info["fallbacks"]``):

- Cholesky fails or a pivot is below ``SINGULAR_PIVOT`` × the largest (a genuinely singular
  Hessian, e.g. duplicated columns without a penalty) → a ridge ``τ diag(∇²J)`` is added,
  ``τ`` growing ×``RIDGE_GROWTH`` from ``RIDGE_START`` until the factorisation succeeds, at
  most ``RIDGE_TRIES`` times; if none succeeds → the steepest-descent direction;
- the Hessian (or the first Hessian product of a CG solve) is NaN or infinite — it
  overflowed in X's dtype, e.g. float32 features of magnitude 1e30 — → no ridge can repair
  that: the solver stops (``converged=False``, ``info["hessian_overflow"] = True``) with a
  reason that says to rescale X, fit in float64 or use a gradient-only solver (``"auto"``
  does the last by itself);
- CG meets non-positive curvature on its first direction → the steepest-descent direction;
- no step along ``d`` passes the line search → one line search along ``−∇J``; if that also
  fails, the solver stops with the reason "line search failed …".
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

from softlogit.solvers.common import (StallDetector, final_params, hessian_flops,
                                      newton_start, with_verbose)
from softlogit.solvers.iteration import Tracker
from softlogit.solvers.linesearch import (FallbackLog, objective_fun_grad,
                                          step_or_gradient_step)
from softlogit.solvers.registry import register
from softlogit.solvers.result import grad_norm

#: Largest problem whose full Hessian is formed and Cholesky-factorised; above it, Newton-CG.
CHOLESKY_MAX_PARAMS = 1000
#: ... and only when forming it costs at most this many multiply-adds: measured (one core,
#: tol 1e-6), Newton-CG was already faster on digits (4e8) and on m=20000, p=100 (2e8), the
#: Cholesky path faster on breast_cancer (5e5).
CHOLESKY_MAX_FLOPS = 5e6
#: A Cholesky pivot below this fraction of the largest means the Hessian is numerically singular.
SINGULAR_PIVOT = 1e4 * np.finfo(np.float64).eps
#: First ridge tried, relative to each Hessian diagonal entry.
RIDGE_START = 1e-10
#: Factor by which the ridge grows after each failed factorisation, and how many are tried
#: (1e-10 up to 1e+8 times the diagonal, far beyond any rounding-level indefiniteness of a
#: finite positive semi-definite matrix); then the step falls back to steepest descent.
RIDGE_GROWTH = 100.0
RIDGE_TRIES = 10
#: Default cap on CG iterations per Newton step: min(n_params, CG_MAX_ITER).
CG_MAX_ITER = 250


@register("newton", penalties=("l2", None),
          description="Newton's method on the exact Hessian (Cholesky or truncated CG)")
def newton(objective, params0=None, *, tol=1e-4, max_iter=100, callback=None,
           reference_norm=None, verbose=0, inner="auto", cg_max_iter=None, **_ignored):
    """Minimise the smooth objective by Newton's method; returns a :class:`SolverResult`.

    Parameters
    ----------
    objective : :class:`~softlogit.objective.LinearObjective` (penalty ``"l2"`` or ``None``).
    params0 : flat start vector (warm start), default zeros.
    tol, max_iter, callback, reference_norm, verbose : the shared solver options.
    inner : ``"auto"`` (Cholesky on small problems, see :func:`prefers_cholesky`),
        ``"cholesky"`` or ``"cg"``.
    cg_max_iter : CG iterations allowed per Newton step (default ``min(n_params, 250)``).

    Notes
    -----
    Update: ``θ ← θ + t d`` with ``∇²J(θ) d = −∇J(θ)`` and ``t`` from backtracking; close to the
    optimum ``t = 1`` and the error squares each iteration.

    Examples
    --------
    >>> import numpy as np
    >>> from softlogit.objective import LinearObjective
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [2.0, 1.0]])
    >>> obj = LinearObjective(X, np.array([0, 1, 2, 0, 1]), loss="multinomial")
    >>> res = newton(obj, tol=1e-10)
    >>> res.converged, res.n_iter < 10, res.info["inner_solver"]
    (True, True, 'cholesky')
    """
    if inner not in ("auto", "cholesky", "cg"):
        raise ValueError(f"inner must be 'auto', 'cholesky' or 'cg'; got {inner!r}")
    use_cholesky = inner == "cholesky" or (inner == "auto" and prefers_cholesky(objective))
    if cg_max_iter is None:
        cg_max_iter = min(objective.n_params, CG_MAX_ITER)
    passes0 = objective.design.passes  # the null start's pass is the solver's
    theta = newton_start(objective, params0, int(max_iter))
    track = Tracker(objective, "newton", tol=tol, max_iter=max_iter,
                    callback=with_verbose(callback, verbose, "newton"),
                    reference_norm=reference_norm, passes0=passes0)
    stall = StallDetector()
    track.info.update(inner_solver="cholesky" if use_cholesky else "cg")
    fallback = FallbackLog(track, "newton")
    null = known_null_space(objective)
    fun_grad = objective_fun_grad(objective)

    f, g = fun_grad(theta)
    reason = track.record(theta, f, grad_norm(g))
    while reason is None:
        # inner solve: the Newton direction
        if use_cholesky:
            d, problem = _cholesky_direction(objective, theta, g, null)
        else:
            forcing = min(0.5, np.sqrt(grad_norm(g) / track.rule.reference_norm))
            d, n_cg, problem = _cg_direction(objective.hessian_operator(theta), g, forcing,
                                             cg_max_iter, objective.dtype)
            track.info["cg_iterations"] = track.info.get("cg_iterations", 0) + n_cg
        # line search, falling back to steepest descent
        step, reason = newton_step(track, fun_grad, theta, f, g, d, problem, null,
                                   objective.dtype, fallback, "Newton")
        if step is None:
            break
        theta, f, g = step.theta, step.value, step.grad
        # check
        track.n_iter += 1
        reason = track.record(theta, f, grad_norm(g))
        reason = reason or stall.update(f, track.grad_norms[-1])
    return track.result(final_params(objective, theta), reason)


def newton_step(track, fun_grad, theta, f, g, d, problem, null, dtype, fallback, name):
    """The tail of a Newton-type iteration, shared with sub-sampled Newton: report the inner
    solve's ``problem``, stop on an overflowed Hessian (``d`` is ``None``), project ``d`` off
    the known null space, then the line search (falling back to ``−∇J``).

    Returns ``(step, reason)``; ``step`` is ``None`` when the solver must stop for ``reason``
    (recorded in ``track.info`` as ``hessian_overflow`` or ``line_search_failures``).
    """
    if problem:
        fallback(*problem)
    if d is None:  # the Hessian overflowed: nothing to fall back on, stop and say why
        track.info["hessian_overflow"] = True
        return None, problem[1]
    if null is not None:
        d = d - null @ (null.T @ d)
    step, reason = step_or_gradient_step(fun_grad, theta, f, g, d, dtype=dtype,
                                         fallback=fallback, name=name)
    if step is None:
        track.info["line_search_failures"] = 1
        track.n_iter += 1
    return step, reason


def prefers_cholesky(objective) -> bool:
    """Whether ``inner="auto"`` factorises the full Hessian (else truncated CG)."""
    return (objective.n_params <= CHOLESKY_MAX_PARAMS
            and hessian_flops(objective) <= CHOLESKY_MAX_FLOPS)


def known_null_space(objective):
    """Orthonormal basis (n_params, r) of the softmax's invariant directions, or ``None``.

    Adding ``c`` to every intercept leaves all softmax probabilities unchanged; without an
    L2 term, so does adding one vector to every row of W. Binary models have none.
    """
    if objective.n_logits == 1:
        return None
    K, q = objective.n_logits, objective.n_features + objective.fit_intercept
    if objective.penalty.l2 == 0.0 and objective.penalty.l1 == 0.0:
        columns = range(q)
    elif objective.fit_intercept:
        columns = [q - 1]
    else:
        return None
    basis = np.zeros((K, q, len(columns)))
    for j, col in enumerate(columns):
        basis[:, col, j] = 1.0 / np.sqrt(K)
    return basis.reshape(K * q, len(columns))


def _cholesky_direction(objective, theta, g, null):
    """Solve ``(∇²J + c N Nᵀ) d = −g`` in Jacobi-scaled form; on a singular Hessian add a
    ridge and say so.

    The system is solved as ``Ĥ y = −D⁻¹g``, ``d = D⁻¹y`` with ``D = diag(∇²J)^½`` and
    ``Ĥ = D⁻¹ ∇²J D⁻¹`` (unit diagonal). Without the scaling, the pivot test, the null-space
    term and the ridge are all measured against the *largest* diagonal entries; with a tiny
    ``C`` those are the penalty's ``λ₂ = 1/(C·Σs)`` (1e17 at ``C = 1e-20``) on W, against
    ``≈ p(1−p) ≤ ¼`` on the unpenalised intercepts. A perfectly regular Hessian then failed
    the relative pivot test, and the ridge ``1e-10 · mean diag`` (≫ ¼) crushed the intercept
    steps: Newton crawled for 100 iterations with the intercepts far from log class priors.
    Scaled, each coordinate is measured against its own curvature, so the pivot test only
    fires on a genuinely singular ``Ĥ``; that case gets an isotropic ridge in the original
    coordinates (see the comment in the body: it keeps the minimum-norm minimiser). In scaled
    coordinates the known null space is
    ``D N`` (orthonormalised), added with weight 1 = the mean diagonal of ``Ĥ``.

    Returns ``(d, problem)``: ``problem`` is ``None`` or ``(kind, message)`` for the warning;
    ``d`` is ``None`` when the Hessian is not finite (no ridge can repair an overflow).
    """
    H = np.asarray(objective.hessian(theta), dtype=np.float64)
    if not np.all(np.isfinite(H)):
        return None, ("overflow", hessian_overflow_message("Hessian", objective.dtype))
    diag = np.diag(H).copy()
    positive = diag > 0
    # an exactly zero diagonal is an all-zero row and column (H is semi-definite): any scale
    # does, the ridge below handles the singularity
    scale = np.sqrt(np.where(positive, diag, 1.0))
    Hs = H / scale[:, None] / scale[None, :]
    if null is not None:
        Q, _ = np.linalg.qr(null * scale[:, None])
        Hs += Q @ Q.T
    rhs = -g / scale
    try:
        return cho_solve(_factor(Hs), rhs, check_finite=False) / scale, None
    except LinAlgError as err:
        cause = str(err)
    # Genuinely singular (collinear columns without a penalty): the minimisers form an affine
    # set. An isotropic ridge in the ORIGINAL coordinates keeps d = −(H + τI)⁻¹g in the range
    # of H, so from a cold start the iterates stay in the row space of X̃ and reach the
    # minimum-norm minimiser — the one gradient methods (and scikit-learn) reach. A ridge
    # τ·diag(H) (the scaled form) would drift along the null space to another minimiser.
    level = float(np.mean(diag[positive])) if positive.any() else 1.0
    Hr = H.copy()
    if null is not None:
        Q0, _ = np.linalg.qr(null)
        Hr += level * (Q0 @ Q0.T)
    eye = np.eye(H.shape[0])
    tau = RIDGE_START
    for _ in range(RIDGE_TRIES):
        try:
            factor = _factor(Hr + tau * level * eye)
        except LinAlgError:
            tau *= RIDGE_GROWTH
            continue
        return cho_solve(factor, -g, check_finite=False), ("singular", (
            f"the Hessian is singular or indefinite ({cause}); solved with a ridge "
            f"{tau * level:.2e}·I added (duplicated or constant columns, or separable data "
            "without a penalty, cause this)"))
    return -g, ("singular", f"the Hessian is singular or indefinite ({cause}) and no ridge up "
                f"to {tau / RIDGE_GROWTH * level:.2e}·I made it factorisable; took a "
                "steepest-descent direction")


def hessian_overflow_message(what, dtype) -> str:
    """Why a Hessian (or a Hessian product) came out NaN or infinite, and what to do."""
    return (f"the {what} is not finite: it overflowed in {np.dtype(dtype).name} (features of "
            "huge magnitude make X̃ᵀDX̃ exceed the largest representable value), so no Newton "
            "step can be computed; rescale X, fit in float64, or use a gradient-only solver "
            "('lbfgs', or 'proximal' with an L1 term)")


def _factor(H):
    """Cholesky factor of H, refusing numerically singular ones (tiny relative pivots)."""
    if not np.all(np.isfinite(H)):
        raise LinAlgError("the Hessian has non-finite entries")
    factor = cho_factor(H, lower=False, check_finite=False)
    pivots = np.diag(factor[0]) ** 2
    if pivots.min() <= SINGULAR_PIVOT * pivots.max():
        raise LinAlgError(f"smallest Cholesky pivot {pivots.min():.2e} is "
                          f"{pivots.min() / pivots.max():.1e} of the largest")
    return factor


def _cg_direction(hessp, g, forcing, max_iter, dtype=np.float64, precondition=None):
    """Truncated (preconditioned) CG for ``∇²J d = −g`` (hand-written: SciPy's ``cg`` cannot
    report the non-positive curvature on which a Newton-CG step must stop).

    ``precondition``: ``r ↦ M⁻¹r`` for a symmetric positive definite ``M ≈ ∇²J``
    (:mod:`~softlogit.solvers.preconditioner`), or ``None`` (``M = I``, plain CG). The
    iteration is the standard one: ``zⱼ = M⁻¹rⱼ``, ``pⱼ₊₁ = zⱼ₊₁ + (rⱼ₊₁ᵀzⱼ₊₁ / rⱼᵀzⱼ) pⱼ``;
    it stops when ``‖r‖₂ ≤ forcing·‖g‖₂`` (the residual of the Newton system itself,
    whatever ``M``).

    Returns ``(d, iterations, problem)``; ``problem`` is ``(kind, message)`` when the first
    direction already has non-positive curvature (``d = −g`` is returned instead) or the first
    Hessian product is not finite (overflow in ``dtype``; ``d`` is ``None``). A later
    non-finite product ends CG with the direction built so far.
    """
    d = np.zeros_like(g)
    r = -g.copy()
    z = r if precondition is None else precondition(r)
    p = z.copy()
    rz = float(r @ z)
    target = forcing * np.sqrt(float(r @ r))
    top = 0.0  # largest Rayleigh quotient seen: the scale for "zero" curvature
    for i in range(max_iter):
        with np.errstate(over="ignore", invalid="ignore"):  # an overflow is caught just below
            Hp = np.asarray(hessp(p), dtype=np.float64)
            pp = float(p @ p)
            curv = float(p @ Hp)
        if not (np.isfinite(curv) and np.all(np.isfinite(Hp))):
            if i == 0:
                return None, 1, ("overflow", hessian_overflow_message("Hessian product",
                                                                      dtype))
            return d, i + 1, None
        top = max(top, curv / pp)
        if curv <= SINGULAR_PIVOT * top * pp:
            if i == 0:
                return -g, 1, ("curvature", "the Hessian has no positive curvature along the "
                               "gradient; took a steepest-descent direction")
            return d, i + 1, None
        alpha = rz / curv
        d += alpha * p
        r -= alpha * Hp
        if np.sqrt(float(r @ r)) <= target:
            return d, i + 1, None
        z = r if precondition is None else precondition(r)
        rz_new = float(r @ z)
        p = z + (rz_new / rz) * p
        rz = rz_new
    return d, max_iter, None
