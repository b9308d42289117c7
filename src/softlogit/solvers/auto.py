"""``solver="auto"``: pick a solver from the problem's shape, sparsity and penalty.

The rules (thresholds are the module constants below; a speed pass tunes them from the
benchmark harness):

1. an L1 term (``"l1"``, ``"elasticnet"``) needs a non-smooth solver → :data:`L1_SOLVER`;
2. few parameters (``n_params ≤ NEWTON_MAX_PARAMS``) and enough rows to make building the
   Hessian worth it → ``"newton"`` (a handful of exact second-order steps, each a Cholesky
   solve of the full Hessian);
3. otherwise → ``"lbfgs"`` (cost per iteration ≈ one pass over X, memory ``O(n_params)``).

The chosen solver runs unchanged; its :class:`SolverResult` comes back with
``info["auto_choice"]`` and ``info["auto_reason"]`` added (``result.solver`` stays the
chosen solver's name).
"""

from __future__ import annotations

import dataclasses

from softlogit.solvers.registry import available, get_solver, register

#: Largest number of parameters for which the full Hessian is formed and factorised
#: (memory ``8·n_params²`` bytes, Cholesky ``n_params³/3`` flops).
NEWTON_MAX_PARAMS = 1000
#: Newton is chosen only when each Hessian costs no more than this many loss/gradient
#: evaluations: forming it costs ≈ ``n_logits·(p+1)/2`` passes over X.
NEWTON_MAX_HESSIAN_PASSES = 200
#: The solver for penalties with an L1 term.
L1_SOLVER = "newton-cd"
#: The default smooth solver.
SMOOTH_SOLVER = "lbfgs"


def choose_solver(objective) -> tuple[str, str]:
    """Return ``(solver name, one-sentence reason)`` for ``objective``."""
    names = available()
    if objective.penalty.l1:
        if L1_SOLVER in names:
            return L1_SOLVER, "the L1 term is not smooth: proximal Newton (coordinate descent)"
        raise ValueError("no solver for an L1 penalty is registered")
    n_params = objective.n_params
    hessian_passes = objective.n_logits * (objective.n_features + objective.fit_intercept) / 2
    if "newton" in names and n_params <= NEWTON_MAX_PARAMS \
            and hessian_passes <= NEWTON_MAX_HESSIAN_PASSES:
        return "newton", (f"{n_params} parameters ≤ {NEWTON_MAX_PARAMS}: Newton with the "
                          "exact Hessian converges in a few steps")
    return SMOOTH_SOLVER, (f"{n_params} parameters: L-BFGS needs only gradients and "
                           "O(n_params) memory")


@register("auto", penalties=("l2", "l1", "elasticnet", None),
          description="picks newton, lbfgs or the L1 solver from the problem")
def auto(objective, params0=None, **options):
    """Run the solver :func:`choose_solver` picks; returns its :class:`SolverResult`."""
    name, reason = choose_solver(objective)
    spec = get_solver(name, penalty=_penalty_name(objective),
                      sparse="sparse" in objective.design.kind)
    result = spec.run(objective, params0, **options)
    info = dict(result.info, auto_choice=name, auto_reason=reason)
    return dataclasses.replace(result, info=info)


def _penalty_name(objective):
    from softlogit.solvers import _penalty_name as name  # the package's one mapping
    return name(objective)
