"""The one result record every solver returns, and the shared stopping rule."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SolverResult:
    """What a solver found and how it got there.

    Attributes
    ----------
    params : flat parameter vector (layout: :mod:`softlogit.objective.linear`).
    n_iter : iterations taken (0 when the start already met the tolerance).
    converged : whether the stopping rule was met.
    reason : why it stopped, as a short sentence ("gradient norm below tolerance", …).
    objective_history : objective value at the start and after each iteration.
    grad_norm_history : the gradient norm used by the stopping rule, likewise.
    solver : the solver's registry name.
    info : solver-specific extras (line-search failures, fallbacks taken, picks of ``auto``).
    """

    params: np.ndarray
    n_iter: int
    converged: bool
    reason: str
    objective_history: np.ndarray
    grad_norm_history: np.ndarray
    solver: str
    info: dict = field(default_factory=dict)

    @property
    def objective(self) -> float:
        return float(self.objective_history[-1])

    @property
    def grad_norm(self) -> float:
        return float(self.grad_norm_history[-1])

    def to_dict(self) -> dict:
        """A JSON-ready summary (no parameters): for reports and model files."""
        return {
            "solver": self.solver,
            "n_iter": int(self.n_iter),
            "converged": bool(self.converged),
            "reason": self.reason,
            "objective": self.objective,
            "grad_norm": self.grad_norm,
            "objective_history": [float(v) for v in self.objective_history],
            "grad_norm_history": [float(v) for v in self.grad_norm_history],
            "info": _jsonable(self.info),
        }


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


class StoppingRule:
    """``tol`` means the same for every solver.

    A solver stops when ``‖∇J(θ)‖₂ ≤ tol · ‖∇J(0)‖₂``: the gradient norm relative to the one at
    the cold start θ = 0 (a fixed scale of the problem, so a warm start at the optimum stops at
    once). For non-smooth penalties ``∇J`` is the minimum-norm subgradient. Norms are taken
    with :func:`grad_norm` (no overflow for huge finite entries); a non-finite ``∇J(0)``
    raises ``ValueError`` rather than making every point "converged".
    """

    def __init__(self, objective, tol: float, reference_norm: float | None = None):
        if not tol > 0:
            raise ValueError(f"tol must be positive; got {tol!r}")
        self.tol = float(tol)
        floor = 0.0
        if reference_norm is None:
            reference_norm = grad_norm(optimality_gradient(objective, objective.zeros()))
            if not np.isfinite(reference_norm):
                raise ValueError(
                    "the gradient at the cold start θ = 0 is not finite (NaN or infinite "
                    f"entries, in {objective.dtype.name}): the features are too large for "
                    "this precision; rescale X (e.g. standardise it) or fit in float64")
            if reference_norm < ROUNDING_GATE:
                floor = rounding_floor(objective)
        if reference_norm <= floor:
            # θ = 0 is optimal to rounding (‖∇J(0)‖ is noise): a relative target would be
            # unreachable, so stop at the rounding level itself.
            self.reference_norm, self.threshold = 1.0, floor
            return
        # A zero reference (θ = 0 is exactly optimal) falls back to an absolute scale of 1.
        self.reference_norm = reference_norm if reference_norm > 0 else 1.0
        self.threshold = self.tol * self.reference_norm

    def met(self, grad_norm: float) -> bool:
        return grad_norm <= self.threshold


def grad_norm(g) -> float:
    """``‖g‖₂`` without overflow: ``m · ‖g/m‖₂`` with ``m = max|gⱼ|``.

    ``np.linalg.norm`` squares the entries, so a gradient with finite entries of 1e160 (X
    scaled by 1e160) has norm ``inf`` — and a stopping rule ``‖g‖ ≤ tol·‖g(0)‖`` with an
    infinite reference is met at once. Every solver measures its gradients with this one
    helper. A gradient with NaN or infinite entries gives ``nan`` or ``inf``.
    """
    g = np.asarray(g, dtype=np.float64).ravel()
    if g.size == 0:
        return 0.0
    m = float(np.max(np.abs(g)))  # nan if any entry is nan
    if m == 0.0 or not np.isfinite(m):
        return m
    return m * float(np.linalg.norm(g / m))


#: Below this ‖∇J(0)‖ the rule checks whether the cold start is optimal up to rounding.
ROUNDING_GATE = 1e-8
#: How many units of rounding a gradient of exact zero may show.
ROUNDING_ULPS = 64


def rounding_floor(objective) -> float:
    """The size of rounding noise in a computed gradient at θ = 0.

    Each gradient entry is a weighted mean of terms ``rᵢ xᵢⱼ`` with ``|rᵢ| ≤ 1``; summing them
    leaves an error of a few ulps of the magnitude ``rms(x_j)``. The floor is
    ``ROUNDING_ULPS · ε · ‖rms(X̃)‖₂ · √K`` with ``X̃ = [X | 1]`` (one pass over X for the column
    scales, taken only when ``‖∇J(0)‖`` is already below ``ROUNDING_GATE``).
    """
    mean, std = objective.design.column_scale()
    rms = np.sqrt(np.asarray(mean, dtype=np.float64) ** 2 + np.asarray(std, dtype=np.float64) ** 2)
    magnitude = np.sqrt(float(rms @ rms) + objective.fit_intercept) * np.sqrt(objective.n_logits)
    return ROUNDING_ULPS * float(np.finfo(objective.dtype).eps) * magnitude


def optimality_gradient(objective, params, grad=None) -> np.ndarray:
    """The gradient for the stopping rule: ∇J, or with an L1 term the minimum-norm subgradient.

    For a coefficient with ``θⱼ ≠ 0`` the subgradient of ``λ₁|θⱼ|`` is ``λ₁ sign θⱼ``; at
    ``θⱼ = 0`` it is any value in ``[−λ₁, λ₁]``, and the one of least norm soft-thresholds
    the smooth gradient: ``sign(gⱼ) max(|gⱼ| − λ₁, 0)``.
    """
    if grad is None:
        grad = objective.gradient(params)
    grad = np.asarray(grad, dtype=np.float64)
    lam = objective.penalty.l1
    if not lam:
        return grad
    mask = objective.penalized_mask
    theta = np.asarray(params, dtype=np.float64)
    out = grad.copy()
    nz = mask & (theta != 0)
    out[nz] = grad[nz] + lam * np.sign(theta[nz])
    z = mask & (theta == 0)
    out[z] = np.sign(grad[z]) * np.maximum(np.abs(grad[z]) - lam, 0.0)
    return out
