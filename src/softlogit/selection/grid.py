"""Where a regularisation path starts: the intercept-only fit and the grid of C values.

With every coefficient zero the best intercepts have a closed form (the model must reproduce
the weighted class frequencies ``π``):

.. math::  b = \\log\\frac{π}{1-π}\\ \\text{(sigmoid)},\\qquad
           b_k = \\log π_k - \\tfrac1K Σ_l \\log π_l\\ \\text{(softmax)}.

At that fit ``θ₀`` the coefficients stay zero exactly while the L1 strength is at least the
largest gradient entry (the KKT condition ``|∇_{W}J(θ₀)| ≤ λ₁``). With ``λ₁ = ρ / (C Σs)``
(:mod:`softlogit.objective.penalty`), the largest C that zeroes every coefficient is

.. math::  C_0 = \\frac{ρ}{Σs\\,‖∇_W J(θ₀)‖_∞}

and the automatic grid runs from ``C₀`` up to ``C₀ / min_ratio`` in log steps: the penalty
falls from the one that zeroes everything to ``min_ratio`` of it, as glmnet's
``lambda.min.ratio`` (default ``1e-4`` when m > p, else ``1e-2``; Friedman, Hastie &
Tibshirani 2010, §2.5). A pure L2 penalty (``ρ = 0``) zeroes nothing; its grid starts where an
elastic net with ``ρ = 10⁻³`` would, as glmnet does for ``alpha = 0``.
"""

from __future__ import annotations

import numbers

import numpy as np

#: The ρ used to place the grid of a pure L2 penalty (glmnet's convention for alpha = 0).
L2_GRID_RHO = 1e-3
#: Class frequencies are kept in [tiny, 1 - tiny] so a class absent from a fold stays finite.
_TINY = 1e-12


def null_params(problem) -> np.ndarray:
    """The full flat parameters of the intercept-only fit (zeros without an intercept)."""
    params = np.zeros(problem.n_logits * (problem.n_features + problem.fit_intercept))
    if not problem.fit_intercept:
        return params
    s = np.asarray(problem.sample_weight, dtype=np.float64)
    y = np.asarray(problem.full.y)
    if problem.loss == "binary":
        pi = float(np.clip(s @ y.astype(np.float64) / s.sum(), _TINY, 1 - _TINY))
        b = np.array([np.log(pi) - np.log1p(-pi)])
    else:
        K = problem.n_classes
        if y.ndim == 1:
            mass = np.bincount(y.astype(np.intp), weights=s, minlength=K)
        else:
            mass = s @ y.astype(np.float64)
        log_pi = np.log(np.clip(mass / mass.sum(), _TINY, None))
        b = log_pi - log_pi.mean()  # the softmax is invariant to a shift: centre it
    params.reshape(problem.n_logits, -1)[:, -1] = b
    return params


def max_gradient(problem, params) -> tuple[float, np.ndarray]:
    """``(‖∇_W J(θ)‖_∞, ∇J(θ))`` of the unpenalised loss at the full flat ``params``."""
    _, grad = problem.full.loss_gradient(params)
    grad = np.asarray(grad, dtype=np.float64)
    W, _ = problem.unpack(grad)
    return float(np.max(np.abs(W))) if W.size else 0.0, grad


def c_zero(problem, l1_ratio: float, grad_max: float) -> float:
    """``C₀ = ρ / (Σs ‖∇_W J(θ₀)‖_∞)``: the largest C whose fit has every coefficient zero.

    ``ρ = 0`` (pure L2) uses :data:`L2_GRID_RHO`.
    """
    rho = max(float(l1_ratio), L2_GRID_RHO)
    if grad_max <= 0:  # every coefficient is zero at any C: place the grid at C = 1
        return 1.0
    return rho / (problem.sw_sum * grad_max)


def default_min_ratio(n_samples: int, n_features: int) -> float:
    """glmnet's ``lambda.min.ratio``: 1e-4 when there are more rows than features, else 1e-2."""
    return 1e-4 if n_samples > n_features else 1e-2


def c_grid(C0: float, n: int, min_ratio: float) -> np.ndarray:
    """``n`` values of C, increasing, from ``C₀`` to ``C₀ / min_ratio`` in equal log steps."""
    return C0 * np.logspace(0.0, -np.log10(min_ratio), int(n))


def check_Cs(Cs) -> np.ndarray | int:
    """Validate ``Cs``: a positive int (grid size) or a 1-D array of positive finite values."""
    if isinstance(Cs, numbers.Integral) and not isinstance(Cs, bool):
        if Cs < 1:
            raise ValueError(f"Cs as a number of grid points must be >= 1; got {Cs}")
        return int(Cs)
    values = np.asarray(Cs, dtype=np.float64).ravel()
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"Cs must be an int or a non-empty list of positive finite numbers; "
                         f"got {Cs!r}")
    return values
