"""The tools being compared: softlogit (estimator and solver-on-objective) and its peers.

Each :class:`Tool` fits a :class:`~problems.Problem` at a given ``tol`` and returns the
coefficients ``(W (k, p), b (k,))``; the harness evaluates them on *our* objective, so every
tool is judged on the same number. Penalties are matched to scikit-learn's ``C``:
scikit-learn and scikit-learn-intelex take ``C`` directly; glum minimises
``(1/2Σs)·deviance + (α/2)‖w‖²`` and the binomial deviance is ``2Σ sᵢℓᵢ``, so
``α = 1/(C·Σs)`` gives our objective ``(1/Σs)Σ sᵢℓᵢ + ‖w‖²/(2CΣs)`` exactly.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

LOOSE_TO_TIGHT = (1e-4, 3e-5, 1e-5, 3e-6, 1e-6, 3e-7, 1e-7, 3e-8, 1e-8, 1e-9, 1e-10, 1e-12)
#: Iteration cap for every tool (a run that needs more is reported as not reaching the gap):
#: L-BFGS on unstandardised columns can otherwise run for many minutes on one tol.
MAX_ITER = 3000


@dataclass
class Tool:
    name: str
    fit: object  # fit(problem, tol) -> (W, b, info dict)
    tols: tuple = None  # None: the module's LOOSE_TO_TIGHT when the tool is made
    skip: object = None  # skip(problem) -> reason string or None
    version: str = ""
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.tols is None:
            self.tols = LOOSE_TO_TIGHT


def _quiet(fn):
    def wrapped(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    return wrapped


def _coef(est, problem):
    W = np.atleast_2d(np.asarray(est.coef_, dtype=np.float64))
    b = np.atleast_1d(np.asarray(est.intercept_, dtype=np.float64))
    return W, b


# --- softlogit ---------------------------------------------------------------------------

def softlogit_estimator(problem, tol, solver="auto"):
    import softlogit

    cls = softlogit.LogisticRegression if problem.loss == "binary" else softlogit.SoftmaxRegression
    est = cls(C=problem.C, tol=tol, solver=solver, max_iter=MAX_ITER)
    _quiet(est.fit)(problem.X, problem.y)
    W, b = _coef(est, problem)
    report = est.fit_report_
    return W, b, {"n_iter": int(np.max(getattr(est, "n_iter_", -1))),
                  "passes": report.info.get("passes"),
                  "solver": report.info.get("auto_choice", report.solver)}


def softlogit_solver(problem, tol, solver="auto", objective=None, **options):
    """The solver alone on a pre-built objective (validation and encoding not timed).

    Named solvers run under the same one-BLAS-thread limit that ``auto`` applies to the
    fused-kernel designs, so the variants compare solvers, not thread settings.
    """
    from softlogit.solvers import solve
    from softlogit.solvers.auto import _blas_threads

    obj = objective or build_objective(problem)
    with _blas_threads(obj):
        result = _quiet(solve)(obj, solver, tol=tol, max_iter=MAX_ITER, **options)
    W, b = obj.unpack(result.params)
    info = {"n_iter": result.n_iter, "solver": result.info.get("auto_choice", result.solver),
            "passes": result.info.get("passes")}
    return np.array(W, dtype=np.float64), np.array(b, dtype=np.float64), info


def build_objective(problem, backend="auto"):
    from softlogit.objective import LinearObjective

    return LinearObjective(problem.X, problem.y, loss=problem.loss,
                           n_classes=problem.n_classes, C=problem.C, backend=backend)


# --- peers -----------------------------------------------------------------------------

def sklearn_fit(problem, tol, solver):
    from sklearn.linear_model import LogisticRegression

    est = LogisticRegression(C=problem.C, tol=tol, solver=solver, max_iter=MAX_ITER)
    _quiet(est.fit)(problem.X, problem.y)
    return (*_coef(est, problem), {"n_iter": int(np.max(est.n_iter_))})


def sklearnex_fit(problem, tol):
    from sklearnex.linear_model import LogisticRegression

    est = LogisticRegression(C=problem.C, tol=tol, solver="lbfgs", max_iter=MAX_ITER)
    _quiet(est.fit)(problem.X, problem.y)
    return (*_coef(est, problem), {"n_iter": int(np.max(est.n_iter_))})


def glum_fit(problem, tol):
    from glum import GeneralizedLinearRegressor

    m = problem.X.shape[0]
    est = GeneralizedLinearRegressor(family="binomial", alpha=1.0 / (problem.C * m), l1_ratio=0.0,
                                     solver="irls-ls", gradient_tol=tol, max_iter=MAX_ITER)
    _quiet(est.fit)(problem.X, problem.y)
    W = np.asarray(est.coef_, dtype=np.float64)[None, :]
    b = np.atleast_1d(np.asarray(est.intercept_, dtype=np.float64))
    return W, b, {"n_iter": int(getattr(est, "n_iter_", -1))}


def _glum_skip(problem):
    if problem.loss != "binary":
        return "binomial family only (no multinomial)"
    p = problem.X.shape[1]
    if p > 5000:  # IRLS forms the dense (p+1)² Hessian, sparse X or not
        return (f"{p + 1:,} parameters: its IRLS solver forms the dense Hessian "
                f"({8 * (p + 1)**2 / 1e9:,.1f} GB) every iteration")
    return None


def _newton_cholesky_skip(problem):
    m, p = problem.X.shape
    n_params = (p + 1) * (1 if problem.loss == "binary" else problem.n_classes)
    if n_params > 20_000:
        return f"{n_params:,} parameters: its dense Hessian would need {8 * n_params**2 / 1e9:,.0f} GB"
    if problem.loss != "binary" and n_params > 1000:
        return (f"{n_params:,} parameters of a softmax: scikit-learn assembles the K² Hessian "
                "blocks itself (a trial at 2,000 × 50, K = 50 took 82 s)")
    # binary: one BLAS-3 X̃ᵀDX̃ (wide 50k × 2,000: 2e11, a few seconds); multinomial: scikit-learn
    # assembles the K² blocks itself, far slower per multiply-add
    if m * n_params**2 > (2.5e11 if problem.loss == "binary" else 1e11):
        return (f"one Hessian costs m·n_params² = {m * n_params**2:.0e} multiply-adds: over the "
                f"time budget (a trial at 20,000 × 100, K = 10 took 46 s to the gap)")
    return None


def _version(module):
    try:
        from importlib.metadata import version
        return version(module)
    except Exception:  # noqa: BLE001 - any failure just means "unknown"
        return "?"


def peer_tools() -> list[Tool]:
    tools = [
        Tool("scikit-learn lbfgs", lambda P, t: sklearn_fit(P, t, "lbfgs"),
             version=_version("scikit-learn")),
        Tool("scikit-learn newton-cholesky", lambda P, t: sklearn_fit(P, t, "newton-cholesky"),
             skip=_newton_cholesky_skip, version=_version("scikit-learn")),
    ]
    try:
        import sklearnex  # noqa: F401
        tools.append(Tool("scikit-learn-intelex lbfgs", sklearnex_fit,
                          version=_version("scikit-learn-intelex")))
    except ImportError as exc:  # the name `exc` is unbound after the block: keep the text
        missing = f"not installed: {exc}"
        tools.append(Tool("scikit-learn-intelex lbfgs", None, skip=lambda P, m=missing: m))
    try:
        import glum  # noqa: F401
        tools.append(Tool("glum irls-ls", glum_fit, skip=_glum_skip, version=_version("glum")))
    except ImportError as exc:
        missing = f"not installed: {exc}"
        tools.append(Tool("glum irls-ls", None, skip=lambda P, m=missing: m))
    return tools


SOFTLOGIT_FIT = "softlogit fit (auto)"


def softlogit_tools(objective, variants=True) -> list[Tool]:
    """softlogit as users call it (estimator ``fit``, solver="auto": validation, label
    encoding and objective construction included) and the solvers alone on ``objective``
    (built once, untimed), for the solver-choice measurements."""
    v = _version("softlogit")
    tools = [Tool(SOFTLOGIT_FIT, lambda P, t: softlogit_estimator(P, t, "auto"),
                  version=v)]
    runs = [("auto", {})]
    if variants:
        runs += [("subsampled-newton", {}), ("newton", {"inner": "cg"}), ("lbfgs", {})]
    for solver, opts in runs:
        label = solver + (f"-{opts['inner']}" if opts else "")
        skip = None
        if opts.get("inner") == "cholesky":
            skip = _cholesky_skip
        tools.append(Tool(f"softlogit solve {label}",
                          lambda P, t, s=solver, o=opts: softlogit_solver(P, t, s, objective, **o),
                          version=v, skip=skip))
    return tools


def _cholesky_skip(problem):
    m, p = problem.X.shape
    k = 1 if problem.loss == "binary" else problem.n_classes
    n_params = k * (p + 1)
    if n_params > 2000:
        return f"{n_params:,} parameters: the full Hessian is not formed"
    flops = m * (p + 1) ** 2 * k * (k + 1) / 2
    if flops > 2e10:
        return (f"one Hessian costs {flops:.0e} multiply-adds ({k * (k + 1) // 2} gram blocks): "
                "over the time budget; Newton-CG is measured instead")
    return None


def is_sparse(problem):
    return sp.issparse(problem.X)
