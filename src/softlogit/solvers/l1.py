"""The pieces of the L1 term the non-smooth solvers share.

With ``mask`` the penalised coordinates (coefficients, never intercepts) and ``λ₁`` the
strength of :mod:`softlogit.objective.penalty`, the non-smooth part is
``R(θ) = λ₁ Σ_{j ∈ mask} |θⱼ|`` and its proximal operator is the soft threshold

.. math::  \\operatorname{prox}_{tR}(v)_j = \\operatorname{sign}(v_j)\\max(|v_j| − tλ₁, 0)
   \\;(j ∈ \\text{mask}),  \\qquad v_j \\text{ otherwise}.
"""

from __future__ import annotations

import numpy as np


def l1_value(theta, lam: float, mask) -> float:
    """``λ₁ Σ_{mask} |θⱼ|``."""
    return float(lam * np.abs(theta[mask]).sum()) if lam else 0.0


def soft_threshold(v, threshold: float, mask) -> np.ndarray:
    """The proximal operator of ``threshold · ‖·‖₁`` on the masked coordinates of ``v``."""
    out = np.array(v, dtype=np.float64)
    if threshold:
        w = out[mask]
        out[mask] = np.sign(w) * np.maximum(np.abs(w) - threshold, 0.0)
    return out
