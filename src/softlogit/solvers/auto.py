"""``solver="auto"``: pick a solver from the problem's shape, sparsity and penalty.

The rules, in order (thresholds are the module constants; ``cost`` is
:func:`~softlogit.solvers.common.hessian_flops`, the multiply-adds to form the Hessian once):

1. an L1 term (``"l1"``, ``"elasticnet"``):

   - ``cost ≤ NEWTON_CD_MAX_FLOPS`` and ``n_params ≤ NEWTON_CD_MAX_PARAMS`` →
     ``"newton-cd"`` (proximal Newton: ~7 iterations, each one Hessian);
   - tall dense in-memory X (as rule 3), ``n_params ≤ NEWTON_CD_MAX_PARAMS`` and the Hessian
     of the first row sample costing at most ``DENSE_NEWTON_PASSES`` passes' multiply-adds →
     ``"newton-cd"`` with ``sample_rows="auto"`` (the model's Hessian from a growing row
     sample; measured on S2 and S6 with L1, BENCHMARKS.md: 4–6 iterations and 6–9 passes,
     16–25× faster than FISTA's 165–198 passes and 4–11× faster than the exact Hessian);
   - otherwise → ``"proximal"`` (FISTA: gradients only, any size);

2. smooth, ``cost ≤ SMALL_HESSIAN_FLOPS`` → ``"newton"`` (Cholesky on the full Hessian);
3. smooth, dense in-memory X with ``m ≥ SUBSAMPLED_MIN_SAMPLES`` × the first Hessian sample
   (:func:`~softlogit.solvers.subsampled_newton.first_sample_size`, ``100·(p+1)`` rows, at
   least 5,000) → ``"subsampled-newton"`` (exact gradient, Hessian from a row sample);
4. smooth, sparse X (binary or softmax) → ``"newton"`` (truncated CG on Hessian products);
5. smooth, dense in-memory X too short to sample, ``n_params ≤ DENSE_NEWTON_MAX_PARAMS`` and forming the
   Hessian costs at most ``DENSE_NEWTON_PASSES`` passes' worth of multiply-adds
   (``cost ≤ DENSE_NEWTON_PASSES · m·(p+1)·k``: binary with p ≲ 127) → ``"newton"`` (Cholesky);
6. smooth, a softmax on dense X with ``m ≥ NEWTON_CG_MIN_ROWS`` → ``"newton"`` (CG);
7. otherwise → ``"lbfgs"``.

Rules 4 and 5 come from the benchmark suite (BENCHMARKS.md, issue 8). Rule 4: on S11 (binary
tf-idf CSR 60,000 × 20,000) Newton-CG reached the 1e-8 gap in 6 outer steps and 40 passes,
L-BFGS needed 150 iterations and 181 passes (3–5× the time); on its 6,000-row quick version
24 passes against 33. Rule 5: on S4's quick version (6,000 × 50, column scales 1e-3…1e3)
L-BFGS stopped at a 1e-1 gap (it crawls along the badly scaled directions) while Newton with
the Cholesky-factorised Hessian converges in ~6 iterations whatever the column scales; a
Hessian that costs a few dozen passes' worth of multiply-adds is done at BLAS-like speed and
~7 of them are cheaper than L-BFGS's 50+ passes even on well-scaled X.

Rule 3, measured on issue 8's problems (2-core shared machine, one process, solvers on the
same objective, time and passes to a 1e-8 objective gap; the benchmark suite in BENCHMARKS.md
re-measures it end to end):
binary 400k × 80 (``make_classification``, 40 informative): sub-sampled Newton 0.5–1.5 s,
9–11 iterations, 11.5–13.7 passes, against L-BFGS 4–6 s, 66–84 iterations, 77–98 passes;
softmax 300k × 50, K = 3: 1.5–1.9 s, 11–12 passes, against Newton-CG 4.7–6.8 s, 96–137
passes; softmax 200k × 100, K = 10 (CG on the sampled Hessian): 5.9–6.5 s, 22–30 passes,
against Newton-CG 28–39 s, 126–189 passes.

Rule 4 for dense X, from the benchmark harness with the fused kernels (``benchmarks/run.py
--quick``, BENCHMARKS.md): on B2 (softmax, 20 000 × 100, K = 10) Newton-CG reached a 1e-8
objective gap in 0.79 s against L-BFGS's 1.0 s (2.0 s with BLAS threads left on); on B4
(sparse, K = 5) 0.66 s against 4.7 s. With fused Hessian-vector products a CG step costs one
pass over X, like a gradient, and Newton-CG needs far fewer passes; below ~10 000 rows the
Python overhead per pass dominates and L-BFGS stays (digits).

BLAS threads. When X sits in a fused-kernel design (``design.kind`` ``"numba-…"``), the
passes over X run in the kernels' own threads and the solver's BLAS calls are tiny (vectors of
n_params, a small Cholesky); OpenBLAS waking its threads for each of them cost more than the
work (measured: scipy's L-BFGS-B update took 3.4 ms a call with two BLAS threads, 0.05 ms
with one, on a shared two-core machine). ``auto`` therefore runs the chosen solver with BLAS
limited to one thread (threadpoolctl) for those designs.

Where they come from (one core, tol 1e-6, best of two; ``python /tmp/bench_solvers.py`` in the
solver report): L-BFGS was fastest on dense data from m=20000, p≥100 (binary and K=5/10);
Newton-CG was 3× faster than L-BFGS on sparse softmax (m=20000, p=2000, K=5) and ahead on
digits; the full Hessian paid off only below ~5e6 multiply-adds; proximal Newton beat FISTA up
to ~1e7 (m=20000, p=20) and lost from 2e8 (m=20000, p=100) and on digits (4e8). A speed pass
re-tunes these from the benchmark harness.

If a Newton pick stops because the Hessian overflowed in X's dtype (``info["hessian_overflow"]``,
e.g. float32 features of magnitude 1e30), the fit is rerun with a gradient-only solver
(``"lbfgs"``, or ``"proximal"`` with an L1 term) and ``info["auto_fallback_from"]`` names
the solver that failed.

The chosen solver runs with the caller's options; its :class:`SolverResult` comes back with
``info["auto_choice"]`` and ``info["auto_reason"]`` added (``result.solver`` stays the chosen
solver's name).
"""

from __future__ import annotations

import contextlib
import dataclasses

import numpy as np

from softlogit.solvers.common import hessian_flops
from softlogit.solvers.registry import register, solver_for
from softlogit.solvers.subsampled_newton import MIN_SAMPLES_IN_X, first_sample_size, is_tall

#: L1 problems: the proximal Newton solver while one Hessian costs at most this much…
NEWTON_CD_MAX_FLOPS = 5e7
#: … and its full Hessian (8·n_params² bytes, O(n_params²) per CD sweep) stays small.
NEWTON_CD_MAX_PARAMS = 2000
#: Smooth problems this small take Newton with a Cholesky-factorised Hessian.
SMALL_HESSIAN_FLOPS = 5e6
#: Dense softmax problems with at least this many rows take Newton-CG (rule 4).
NEWTON_CG_MIN_ROWS = 10_000
#: Dense problems too short to sample take Newton on the full (Cholesky) Hessian while it has
#: at most this many parameters and costs at most this many passes' multiply-adds (rule 5).
DENSE_NEWTON_MAX_PARAMS = 1000
DENSE_NEWTON_PASSES = 64
#: Dense problems with at least this many times the first Hessian sample's rows take
#: sub-sampled Newton (rule 3): the sample is then a small part of each iteration's cost.
SUBSAMPLED_MIN_SAMPLES = MIN_SAMPLES_IN_X


def choose_solver(objective) -> tuple[str, str]:
    """Return ``(solver name, one-sentence reason)`` for ``objective`` (rules: module doc).

    Examples
    --------
    >>> import numpy as np
    >>> from softlogit.objective import LinearObjective
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    >>> obj = LinearObjective(X, np.array([0.0, 1.0, 1.0, 0.0]), loss="binary", penalty="l1")
    >>> choose_solver(obj)[0]
    'newton-cd'
    """
    name, _, reason = _choose(objective)
    return name, reason


def _choose(objective) -> tuple[str, dict, str]:
    """``(name, solver options, reason)``."""
    cost = hessian_flops(objective)
    n = objective.n_params
    pass_flops = objective.n_samples * (objective.n_features + objective.fit_intercept) * \
        objective.n_logits
    if objective.penalty.l1:
        if cost <= NEWTON_CD_MAX_FLOPS and n <= NEWTON_CD_MAX_PARAMS:
            return "newton-cd", {}, (f"L1 term with a cheap Hessian ({cost:.1e} ≤ "
                                     f"{NEWTON_CD_MAX_FLOPS:.0e} multiply-adds): proximal Newton")
        sampled = cost * first_sample_size(objective) / objective.n_samples
        if (n <= NEWTON_CD_MAX_PARAMS and is_tall(objective)
                and sampled <= DENSE_NEWTON_PASSES * pass_flops):
            return "newton-cd", {"sample_rows": "auto"}, (
                f"L1 term on tall dense X ({objective.n_samples} rows): proximal Newton with "
                f"the model's Hessian from a row sample ({sampled / pass_flops:.0f} ≤ "
                f"{DENSE_NEWTON_PASSES} passes' multiply-adds)")
        return "proximal", {}, (f"L1 term with a costly Hessian ({cost:.1e} multiply-adds, "
                                f"{n} parameters): accelerated proximal gradient")
    if cost <= SMALL_HESSIAN_FLOPS:
        return "newton", {"inner": "cholesky"}, (
            f"small problem (Hessian {cost:.1e} ≤ {SMALL_HESSIAN_FLOPS:.0e} multiply-adds): "
            "Newton with the exact Hessian")
    rows_needed = SUBSAMPLED_MIN_SAMPLES * first_sample_size(objective)
    # in-memory designs only: a distributed design (the Dask backend keeps y and s on the
    # workers) would have to ship every sample to the client
    in_memory = isinstance(objective.sample_weight, np.ndarray)
    if is_tall(objective):
        return "subsampled-newton", {}, (
            f"tall dense X ({objective.n_samples} ≥ {rows_needed} rows): Newton with the exact "
            "gradient and a Hessian from a row sample needs the fewest passes over X")
    if objective.design.is_sparse:
        return "newton", {"inner": "cg"}, (
            "sparse X: Newton-CG on Hessian-vector products needs far fewer passes than "
            "L-BFGS")
    if in_memory and n <= DENSE_NEWTON_MAX_PARAMS and cost <= DENSE_NEWTON_PASSES * pass_flops:
        return "newton", {"inner": "cholesky"}, (
            f"dense X too short to sample ({objective.n_samples} < {rows_needed} rows) with a "
            f"Hessian of {cost / pass_flops:.0f} ≤ {DENSE_NEWTON_PASSES} passes' multiply-adds: "
            "Newton with the exact Hessian, robust to badly scaled columns")
    if objective.n_logits > 1 and objective.n_samples >= NEWTON_CG_MIN_ROWS:
        return "newton", {"inner": "cg"}, (
            f"softmax with {objective.n_samples} ≥ {NEWTON_CG_MIN_ROWS} rows: Newton-CG on "
            "Hessian-vector products needs far fewer passes over X than L-BFGS")
    return "lbfgs", {}, (f"{n} parameters on {objective.design.kind} X: L-BFGS needs only "
                         "gradients and O(n_params) memory")


@register("auto", penalties=("l2", "l1", "elasticnet", None),
          description="picks newton, subsampled-newton, lbfgs, newton-cd or proximal from "
                      "the problem")
def auto(objective, params0=None, **options):
    """Run the solver :func:`choose_solver` picks; returns its :class:`SolverResult`.

    The caller's ``options`` override the ones the choice implies (e.g. ``inner``).
    """
    name, implied, reason = _choose(objective)
    spec = solver_for(name, objective)
    with _blas_threads(objective):
        result = spec.run(objective, params0, **{**implied, **options})
        if result.info.get("hessian_overflow"):
            result, name, reason = _gradient_only(objective, params0, options, result, name)
    info = dict(result.info, auto_choice=name, auto_reason=reason)
    return dataclasses.replace(result, info=info)


def _gradient_only(objective, params0, options, failed, failed_name):
    """Rerun a Newton pick whose Hessian overflowed (X's dtype) with a gradient-only solver.

    Gradients of huge features can still be representable where ``X̃ᵀDX̃`` is not (float32
    features of magnitude 1e30: gradient ≈ 1e30, Hessian ≈ 1e60 > 3.4e38).
    """
    name = "proximal" if objective.penalty.l1 else "lbfgs"
    spec = solver_for(name, objective)
    result = spec.run(objective, params0, **options)
    reason = (f"{failed_name} stopped: {failed.reason}; fell back to {name}, which needs "
              "only gradients")
    info = dict(result.info, auto_fallback_from=failed_name)
    return dataclasses.replace(result, info=info), name, reason


def _blas_threads(objective):
    """One BLAS thread while the fused kernels do the passes over X (module doc), else as is."""
    if not objective.design.kind.startswith("numba"):
        return contextlib.nullcontext()
    from softlogit.blas_threads import one_blas_thread

    return one_blas_thread()
