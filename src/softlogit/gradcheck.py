"""Check analytic gradients and Hessian-vector products against finite differences.

The derivative of a smooth function along a direction ``d`` is estimated with the 5-point
central stencil (error O(h⁴)):

.. math::

    f'(θ; d) ≈ \\frac{−f(θ+2hd) + 8f(θ+hd) − 8f(θ−hd) + f(θ−2hd)}{12h}

The gradient is checked coordinate by coordinate (all of them when there are at most
``max_coordinates`` parameters, a random subset otherwise) and along random directions; the
Hessian-vector product ``∇²J v`` is checked against the same stencil applied to the gradient.

The error of an analytic value ``a`` against its estimate ``n`` is
``|a − n| / max(|a|, |n|, τ)``, with ``τ = √ε · max|a|`` so that components that are
negligible next to the whole gradient are judged on its scale rather than their own.
At an optimum the whole gradient is ≈ 0 and a relative error only measures finite-difference
noise; pass ``gradient_scale`` (e.g. ``‖∇J(0)‖∞``, the scale the solvers' ``tol`` refers to)
and gradient errors are judged against ``max(τ, gradient_scale)`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GradientCheck:
    """Largest relative errors found by :func:`check_gradient`."""

    gradient_error: float
    hessian_error: float | None
    n_coordinates: int
    n_directions: int
    step: float

    def passed(self, rtol: float = 1e-6) -> bool:
        errs = [self.gradient_error] + ([self.hessian_error] if self.hessian_error is not None else [])
        return max(errs) <= rtol


def _stencil(f, theta, d, h):
    """5-point central estimate of the derivative of ``f`` at ``theta`` along ``d``."""
    return (-f(theta + 2 * h * d) + 8 * f(theta + h * d)
            - 8 * f(theta - h * d) + f(theta - 2 * h * d)) / (12 * h)


def _relative_error(analytic, numeric, dtype, floor: float = 0.0) -> float:
    analytic = np.atleast_1d(np.asarray(analytic, dtype=np.float64))
    numeric = np.atleast_1d(np.asarray(numeric, dtype=np.float64))
    scale = np.sqrt(np.finfo(dtype).eps) * max(float(np.max(np.abs(analytic))), 1e-300)
    scale = max(scale, floor)
    denom = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), scale)
    return float(np.max(np.abs(analytic - numeric) / denom))


def _loss_for(y):
    """The loss and targets for labels ``y`` when no ``kind`` is given: probability rows are
    multinomial, probabilities in [0, 1] binary, labels binary for two classes, else
    multinomial (labels encoded as 0 … K−1)."""
    if y.ndim == 2:
        return "multinomial", y
    if y.dtype.kind == "f" and np.any(y != np.round(y)):
        return "binary", y
    classes, codes = np.unique(y, return_inverse=True)
    if classes.size <= 2:
        return "binary", codes.astype(np.float64)
    return "multinomial", codes


def check_gradient(objective=None, params=None, *, X=None, y=None, kind=None,
                   hessian=True, n_directions=4, max_coordinates=200, step=None,
                   gradient_scale=None, random_state=0, **objective_options) -> GradientCheck:
    """Compare the analytic gradient (and Hessian-vector product) with finite differences.

    Parameters
    ----------
    objective : a :class:`~softlogit.objective.LinearObjective`; or give ``X``, ``y`` and
        ``kind`` (``"binary"``/``"logistic"`` or ``"multinomial"``/``"softmax"``; default:
        binary for two classes, else multinomial, the labels encoded as ``0 … K−1``) and it is
        built with ``objective_options`` (``fit_intercept``, ``sample_weight``, ``C`` …).
        ``check_gradient(X, y)`` with the data as the first two arguments works too.
    params : the point to check at; default a random point of scale 0.5.
    hessian : also check Hessian-vector products along ``n_directions`` random vectors.
    step : finite-difference step; default ``ε^{1/5}`` of the objective's dtype (the optimum
        for a 5-point stencil), scaled by ``1 + ‖θ‖∞``.
    gradient_scale : judge gradient errors against at least this magnitude (see the module
        docstring); use it at an optimum, where the gradient itself is ≈ 0.

    Returns
    -------
    GradientCheck with the largest relative errors.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(50, 3)), rng.integers(0, 3, size=50)
    >>> check_gradient(X=X, y=y, kind="softmax").passed(1e-6)
    True
    >>> check_gradient(X, y).passed(1e-6)  # positional data: the loss follows from y
    True
    """
    from softlogit.objective import LinearObjective  # the objective layer, below this helper

    if objective is not None and not hasattr(objective, "n_params"):
        if X is not None or y is not None:  # check_gradient(X, y): data given positionally
            raise ValueError("give the data either positionally, check_gradient(X, y), or as "
                             "X= and y=, not both")
        objective, params, X, y = None, None, objective, params
    if objective is None:
        if X is None or y is None:
            raise ValueError("give either an objective or both X and y")
        if kind is None:
            kind, y = _loss_for(np.asarray(y))
        loss = {"logistic": "binary", "softmax": "multinomial"}.get(kind, kind)
        objective = LinearObjective(X, y, loss=loss, **objective_options)
    rng = np.random.default_rng(random_state)
    n = objective.n_params
    if params is None:
        params = 0.5 * rng.standard_normal(n)
    theta = np.asarray(params, dtype=np.float64)
    dtype = objective.dtype
    if step is None:
        step = float(np.finfo(dtype).eps) ** 0.2 * (1.0 + float(np.max(np.abs(theta), initial=0)))

    f = objective.loss
    grad = np.asarray(objective.gradient(theta), dtype=np.float64)

    # Coordinates: all of them for small problems, else a random subset.
    coords = np.arange(n) if n <= max_coordinates else rng.choice(n, max_coordinates, replace=False)
    numeric = np.array([_stencil(f, theta, np.eye(1, n, j)[0], step) for j in coords])
    floor = 0.0 if gradient_scale is None else float(gradient_scale)
    errors = [_relative_error(grad[coords], numeric, dtype, floor)]
    # Random directions: the directional derivative g·d.
    for _ in range(n_directions):
        d = rng.standard_normal(n)
        d /= np.linalg.norm(d)
        errors.append(_relative_error(grad @ d, _stencil(f, theta, d, step), dtype, floor))

    hess_err = None
    if hessian:
        hessp = objective.hessian_operator(theta)
        g = lambda t: np.asarray(objective.gradient(t), dtype=np.float64)  # noqa: E731
        h_errors = []
        for _ in range(n_directions):
            v = rng.standard_normal(n)
            v /= np.linalg.norm(v)
            h_errors.append(_relative_error(hessp(v), _stencil(g, theta, v, step), dtype))
        hess_err = max(h_errors)
    return GradientCheck(max(errors), hess_err, len(coords), n_directions, step)
