"""Sub-sampled Newton: the exact gradient over all rows, the Hessian from a random row subset.

A Newton step needs ``∇J`` exactly (it decides where the optimum is) but only a good-enough
``∇²J`` (it decides how fast we get there). This solver spends one full pass over X per
iteration on ``J`` and ``∇J`` and builds the Hessian from ``r`` random rows, which costs
``r/m`` of a pass (:meth:`~softlogit.data.Design.take` charges it to X's pass count). On tall
problems a Hessian from a few thousand rows is nearly as good a metric as the full one, so the
solver needs about as many iterations as Newton for about as many passes as iterations —
against 50+ passes for L-BFGS or the Hessian-vector products of Newton-CG on ill-conditioned X.

Each iteration is the same fixed sequence of named steps:

1. *sample* — ``r`` rows drawn without replacement (sorted: X is read in order) from the
   rows of positive weight, with a :func:`numpy.random.default_rng` seeded by
   ``random_state`` (``None`` → seed 0, so a fit is reproducible unless asked otherwise).
2. *sub-sampled Hessian* — the Hessian of the *same* objective on the subset:

   .. math::

       H_S = \\frac{1}{Σ_{i∈S} sᵢ} Σ_{i∈S} sᵢ\\, Hᵢ ⊗ \\tilde xᵢ \\tilde xᵢᵀ
             + λ_2\\, \\mathrm{diag}(\\text{mask})

   (the weighted mean over the subset estimates the weighted mean over all rows; the penalty
   is exact). Formed and Cholesky-factorised when ``n_params ≤ CHOLESKY_MAX_PARAMS``
   (Jacobi-scaled, with the known softmax null space, as in :mod:`~softlogit.solvers.newton`),
   else used through Hessian-vector products in truncated CG, each product ``r/m`` of a pass;
   for the softmax, CG is preconditioned by the inverse of ``H_S``'s K class-diagonal blocks
   (:mod:`~softlogit.solvers.preconditioner`; S8, K = 50: 118 CG products → 35, 48.5 passes
   → 23.4).
3. *direction* — ``d = −H_S⁻¹ ∇J`` (projected off the softmax null space).
4. *line search* — Armijo backtracking on the **full** objective from ``t = 1``
   (:func:`~softlogit.solvers.linesearch.backtracking`); the accepted point's full gradient
   is the next iteration's.
5. *check* — the shared :class:`~softlogit.solvers.iteration.Tracker` (stopping by the full
   gradient, like every solver), then *grow*: when the last two iterations together reduced
   ``‖∇J‖`` by less than the factor ``STALL_RATIO²`` (progress per pass has stalled: a good
   Newton-type step gains far more), the sample grows ×``GROWTH`` (up to all rows, where
   this is Newton's method). Far from the optimum a step gains ~0.3 whatever the sample (the
   nonlinearity limits it, not the sample: measured on the 400k × 80 problem of issue 8 with
   samples of 3,000 to 80,000 rows), so the threshold sits above that. The first step of a
   cold start (from θ = 0) is not judged: it can gain far less (S8, K = 50: ~0.6).

Convergence: with ``H_S`` positive definite every ``d`` is a descent direction and the line
search makes ``J`` decrease; near the optimum the error contracts by about
``‖I − H_S⁻¹∇²J‖`` per step (linear, fast for a good sample), and growing the sample to all
rows recovers Newton's quadratic rate. Stopping is decided by the full gradient, so the answer
is the exact optimum to ``tol``, whatever the sample.

Fallbacks are those of :mod:`~softlogit.solvers.newton` (a ridge on a singular ``H_S``, a
steepest-descent step when the line search fails along ``d``), listed in
``info["fallbacks"]``; ``info["sample_rows"]`` records the sample size of each iteration.
"""

from __future__ import annotations

import numbers

import numpy as np

from softlogit.objective import LinearObjective
from softlogit.solvers.common import (StallDetector, final_params, hessian_flops,
                                      newton_start, with_verbose)
from softlogit.solvers.iteration import Tracker
from softlogit.solvers.linesearch import FallbackLog, objective_fun_grad
from softlogit.solvers.newton import (_cg_direction, _cholesky_direction, known_null_space,
                                      newton_step)
from softlogit.solvers.preconditioner import class_block_preconditioner
from softlogit.solvers.registry import register
from softlogit.solvers.result import grad_norm

#: Form and factorise H_S while the model has at most this many parameters and forming it
#: costs at most this many multiply-adds per multiply-add of a pass (:func:`prefers_cholesky`).
CHOLESKY_MAX_PARAMS = 3000
CHOLESKY_FLOPS_PER_PASS = 4.0
#: First sample: ROWS_PER_PARAM rows per parameter of one logit block, at least MIN_ROWS …
ROWS_PER_PARAM = 100
MIN_ROWS = 5000
#: Grow the sample when the last two iterations together reduced ‖∇J‖ by less than this
#: factor squared (progress per pass has stalled) …
STALL_RATIO = 0.5
#: … by this factor.
GROWTH = 4
#: X counts as tall (a sampled Hessian pays) from this many first samples' worth of rows.
MIN_SAMPLES_IN_X = 4
#: A sample of at least this fraction of the rows is replaced by all of them.
FULL_FRACTION = 0.5
#: CG iterations allowed per step on H_S (each r/m of a pass).
CG_MAX_ITER = 100
#: Rows per parameter of one logit block behind CG's block-Jacobi preconditioner, built
#: afresh each iteration (fewer rows leave each class's block with too few effective rows:
#: 20 per parameter made CG on the K = 50 suite problem slower than without it; keeping one
#: for later iterations saved no time and cost passes: S8 30.1 against 23.4).
PRECONDITION_ROWS_PER_PARAM = ROWS_PER_PARAM


@register("subsampled-newton", penalties=("l2", None),
          description="Newton with the exact gradient and a Hessian from a growing random "
                      "row sample (pass-efficient on tall X)")
def subsampled_newton(objective, params0=None, *, tol=1e-4, max_iter=100, callback=None,
                      reference_norm=None, verbose=0, random_state=None, sample_rows=None,
                      inner="auto", **_ignored):
    """Minimise the smooth objective by sub-sampled Newton; returns a :class:`SolverResult`.

    Parameters
    ----------
    objective : :class:`~softlogit.objective.LinearObjective` (penalty ``"l2"`` or ``None``).
    params0 : flat start vector (warm start), default zeros.
    tol, max_iter, callback, reference_norm, verbose : the shared solver options.
    random_state : int, :class:`numpy.random.Generator`, :class:`numpy.random.RandomState`
        or ``None`` (seed 0): the row samples; the optimum does not depend on it.
    sample_rows : first sample size (default :func:`first_sample_size`).
    inner : ``"auto"`` (Cholesky up to ``CHOLESKY_MAX_PARAMS`` parameters), ``"cholesky"``
        or ``"cg"``.

    Notes
    -----
    Update: ``θ ← θ + t d``, ``H_S(θ) d = −∇J(θ)``, ``t`` from backtracking on the full ``J``.

    Examples
    --------
    >>> import numpy as np
    >>> from softlogit.objective import LinearObjective
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((5000, 3)); y = (rng.random(5000) < 0.5).astype(float)
    >>> res = subsampled_newton(LinearObjective(X, y), tol=1e-10, sample_rows=500)
    >>> res.converged, res.info["sample_rows"][0]
    (True, 500)
    """
    if inner not in ("auto", "cholesky", "cg"):
        raise ValueError(f"inner must be 'auto', 'cholesky' or 'cg'; got {inner!r}")
    m = objective.n_samples
    sampler = HessianSampler(objective, first_sample_size(objective) if sample_rows is None
                             else sample_rows, random_state, "subsampled-newton",
                             judge_first_step=params0 is not None)
    passes0 = objective.design.passes  # the null start's pass is the solver's
    theta = newton_start(objective, params0, int(max_iter))
    track = Tracker(objective, "subsampled-newton", tol=tol, max_iter=max_iter,
                    callback=with_verbose(callback, verbose, "subsampled-newton"),
                    reference_norm=reference_norm, passes0=passes0)
    stall = StallDetector()
    track.info.update(inner_solver=None, sample_rows=[], rows=m)
    fallback = FallbackLog(track, "subsampled-newton")
    null = known_null_space(objective)
    fun_grad = objective_fun_grad(objective)

    f, g = fun_grad(theta)
    reason = track.record(theta, f, grad_norm(g))
    while reason is None:
        # sample and sub-sampled Hessian
        sub = sampler.draw(track.info["sample_rows"])
        # direction
        use_cholesky = inner == "cholesky" or (inner == "auto" and prefers_cholesky(sub, m))
        track.info["inner_solver"] = track.info["inner_solver"] or (
            "cholesky" if use_cholesky else "cg")
        if use_cholesky:
            d, problem = _cholesky_direction(sub, theta, g, null)
        else:
            forcing = min(0.1, np.sqrt(grad_norm(g) / track.rule.reference_norm))
            factors = sub.hessian_factors(theta)
            precondition = _class_preconditioner(sub, theta, factors, null, sampler)
            track.info["preconditioner"] = "class blocks" if precondition else None
            d, n_cg, problem = _cg_direction(sub.hessian_operator(theta, factors), g, forcing,
                                             min(objective.n_params, CG_MAX_ITER),
                                             objective.dtype, precondition)
            track.info["cg_iterations"] = track.info.get("cg_iterations", 0) + n_cg
            factors = precondition = None
        sub = None  # the sample's rows are not needed again: never two samples alive at once
        # line search on the full objective, falling back to steepest descent
        step, reason = newton_step(track, fun_grad, theta, f, g, d, problem, null,
                                   objective.dtype, fallback, "sub-sampled Newton")
        if step is None:
            break
        old_norm = grad_norm(g)
        theta, f, g = step.theta, step.value, step.grad
        # check, then grow the sample when the Hessian's sample error limits progress
        track.n_iter += 1
        reason = track.record(theta, f, grad_norm(g))
        reason = reason or stall.update(f, track.grad_norms[-1])
        sampler.observe(track.grad_norms[-1] / old_norm)
    return track.result(final_params(objective, theta), reason)


class HessianSampler:
    """The row samples behind a model Hessian: drawn afresh each iteration, grown ×``GROWTH``
    when two iterations together reduced the gradient norm by less than ``STALL_RATIO²``
    (module doc, steps 1 and 5); shared by this solver and proximal Newton
    (:mod:`~softlogit.solvers.newton_cd`).

    ``rows``: the first sample size (positive); ``random_state``: as for the solver;
    ``judge_first_step=False``: the first observed reduction is not judged (a step from
    θ = 0 is limited by the distance to the optimum, not by the sample: on S8, K = 50, the
    first step cut ‖∇J‖ by only ~0.6 and the sample grew 5,100 → 20,400 rows, 23.4 passes;
    judged from the second step on, it stays at 5,100 rows: 16.7 passes in the same time).
    """

    def __init__(self, objective, rows, random_state, solver, judge_first_step=True):
        if not isinstance(objective.sample_weight, np.ndarray):
            raise ValueError(f"{solver} with a sampled Hessian needs X, y and the sample "
                             f"weights in this process; the {objective.design.kind} design "
                             "keeps them elsewhere (use 'newton' or 'lbfgs')")
        if isinstance(rows, bool) or not isinstance(rows, numbers.Integral) or rows < 1:
            raise ValueError(f"sample_rows must be a positive number of rows; got {rows!r}")
        self.objective = objective
        self.eligible = np.flatnonzero(objective.sample_weight > 0)
        self.rows = _settle(int(rows), len(self.eligible))
        self.rng = _generator(random_state)
        self._last_ratio = None
        self._judged = judge_first_step

    @classmethod
    def for_objective(cls, objective, sample_rows, random_state, solver="newton-cd"):
        """A sampler for ``sample_rows`` = an int, ``"auto"`` (the first sample size when X
        is tall enough, :func:`is_tall`, else ``None``) or ``None`` (the exact Hessian)."""
        if sample_rows is None:
            return None
        if isinstance(sample_rows, str):
            if sample_rows != "auto":
                raise ValueError("sample_rows must be None, 'auto' or a positive number of "
                                 f"rows; got {sample_rows!r}")
            if not is_tall(objective):
                return None
            sample_rows = first_sample_size(objective)
        return cls(objective, sample_rows, random_state, solver)

    def draw(self, log: list | None = None):
        """The objective on a fresh sample (``objective`` itself once the sample is all
        rows); its size is appended to ``log``."""
        sub = _subsample(self.objective, self.eligible, self.rows, self.rng)
        if log is not None:
            log.append(int(self.rows))
        return sub

    def observe(self, ratio: float) -> None:
        """Record one iteration's ``‖∇J‖`` reduction factor; grow the sample on a stall:
        when the last two iterations *together* reduced ``‖∇J‖`` by less than
        ``STALL_RATIO²`` — also when good and bad steps alternate, which a rule on each
        iteration alone never catches (seen on badly scaled columns: ‖∇J‖ went 7.3, 2.0,
        5.5, 0.53, 4.9, 0.73, … for 120 iterations with a fixed 1,500-row sample)."""
        if not self._judged:  # the first step: limited by the start's distance, not the sample
            self._judged = True
            return
        last, self._last_ratio = self._last_ratio, ratio
        if stalled(last, ratio):
            self.rows = _settle(self.rows * GROWTH, len(self.eligible))
            self._last_ratio = None  # judge the grown sample on its own iterations


def _class_preconditioner(sub, theta, factors, null, sampler):
    """Block-Jacobi for CG on a softmax ``H_S`` (:mod:`~softlogit.solvers.preconditioner`),
    its K class blocks from at most ``PRECONDITION_ROWS_PER_PARAM · q`` of the sample's rows
    (a preconditioner need not be as good as ``H_S``, and its K·q² multiply-adds a row
    would otherwise cost more than the CG products it saves): ``None`` for the binary loss (its
    one block is ``H_S``: the Cholesky path's case)."""
    if sub.n_logits == 1:
        return None
    r0 = PRECONDITION_ROWS_PER_PARAM * (sub.n_features + sub.fit_intercept)
    if sub.n_samples > r0:
        part = _subsample(sub, np.arange(sub.n_samples), r0, sampler.rng)
        blocks = part.class_hessian_blocks(theta)
    else:
        blocks = sub.class_hessian_blocks(theta, factors)
    return class_block_preconditioner(blocks, null)


def stalled(last_ratio: float | None, ratio: float) -> bool:
    """Whether the last two iterations' ``‖∇J‖`` reduction factors (``last_ratio`` is
    ``None`` right after a growth) together gained less than ``STALL_RATIO²``."""
    return last_ratio is not None and last_ratio * ratio > STALL_RATIO ** 2


def is_tall(objective) -> bool:
    """Whether X (dense, in this process) has at least ``MIN_SAMPLES_IN_X`` first samples'
    worth of rows: then a row-sampled Hessian is a small part of each iteration's cost."""
    in_memory = isinstance(objective.sample_weight, np.ndarray)
    return (in_memory and not objective.design.is_sparse
            and objective.n_samples >= MIN_SAMPLES_IN_X * first_sample_size(objective))


def prefers_cholesky(sub, m: int) -> bool:
    """Whether to form and factorise ``H_S`` (else CG on its products) for the sample ``sub``.

    Forming ``H_S`` costs :func:`~softlogit.solvers.common.hessian_flops` of the sample,
    ``r·(p+1)²·k(k+1)/2`` multiply-adds (BLAS-3 speed), one pass over X about ``m·(p+1)·k``
    (memory-bound): the Hessian is formed while that ratio is at most
    ``CHOLESKY_FLOPS_PER_PASS`` and ``n_params ≤ CHOLESKY_MAX_PARAMS``. Above it — many
    classes, wide X, or a sample grown to most rows — CG on ``H_S``-vector products
    (``r/m`` of a pass each) is cheaper.
    """
    pass_flops = m * (sub.n_features + sub.fit_intercept) * sub.n_logits
    return (sub.n_params <= CHOLESKY_MAX_PARAMS
            and hessian_flops(sub) <= CHOLESKY_FLOPS_PER_PASS * pass_flops)


def first_sample_size(objective) -> int:
    """Rows in the first Hessian sample: ``max(MIN_ROWS, ROWS_PER_PARAM · (p + 1))``.

    A Hessian block is a weighted Gram matrix of ``p + 1`` columns; a few dozen rows per
    column estimate it to a relative error of roughly ``√((p+1)/r)`` (a sample covariance).
    """
    q = objective.n_features + objective.fit_intercept
    return int(max(MIN_ROWS, ROWS_PER_PARAM * q))


def _settle(r: int, n_rows: int) -> int:
    """The sample size actually used: all rows once ``r`` reaches ``FULL_FRACTION`` of them."""
    return n_rows if r >= FULL_FRACTION * n_rows else int(r)


def _subsample(objective, eligible, r, rng):
    """The objective restricted to ``r`` random rows of ``eligible`` (or ``objective`` itself
    when that is all of them), with the full objective's penalty strength."""
    if r >= len(eligible) and len(eligible) == objective.n_samples:
        return objective
    rows = np.sort(rng.choice(eligible, size=min(r, len(eligible)), replace=False))
    design = objective.design.take(rows)
    design.count_pass()  # copying the r rows read them: r/m of a pass over X
    y = objective.y[rows]
    sub = LinearObjective(design, y, loss=objective.loss_fn.name,
                          n_classes=objective.n_classes, fit_intercept=objective.fit_intercept,
                          sample_weight=objective.sample_weight[rows], penalty=None)
    # the penalty is a property of the full objective (λ₂ = 1/(C·Σs) over ALL rows)
    sub.penalty = objective.penalty
    return sub


def _generator(random_state) -> np.random.Generator:
    """A NumPy Generator from an int, a Generator, a RandomState or ``None`` (seed 0)."""
    if random_state is None:
        return np.random.default_rng(0)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(2**31 - 1))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return np.random.default_rng(int(random_state))
    raise ValueError(f"random_state must be an int, a NumPy Generator or RandomState, or None; "
                     f"got {random_state!r}")
