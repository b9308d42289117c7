"""Penalty strengths in scikit-learn's ``C`` scaling.

scikit-learn minimises ``C Σᵢ sᵢ ℓᵢ + ρ‖w‖₁ + (1−ρ)/2 ‖w‖²``. Dividing by ``C Σs`` gives our
objective with the same optimum:

.. math::

    J(w, b) = \\frac{1}{Σs} Σᵢ sᵢ ℓᵢ + \\frac{(1−ρ)}{2 C Σs} ‖w‖² + \\frac{ρ}{C Σs} ‖w‖₁

with ``ρ = 0`` for ``"l2"``, ``ρ = 1`` for ``"l1"``, ``ρ = l1_ratio`` for ``"elasticnet"``,
and no penalty for ``None``. The intercept ``b`` is never penalised.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

PENALTIES = ("l2", "l1", "elasticnet", None)


@dataclass(frozen=True)
class Penalty:
    """Strengths of the two penalty terms, already divided by ``C Σs``.

    ``l2`` multiplies ``½‖w‖²`` and ``l1`` multiplies ``‖w‖₁``.
    """

    l2: float = 0.0
    l1: float = 0.0

    @property
    def is_smooth(self) -> bool:
        return self.l1 == 0.0


def make_penalty(penalty, C: float, l1_ratio, sw_sum: float) -> Penalty:
    """Translate ``(penalty, C, l1_ratio)`` into strengths for a weight total ``sw_sum``."""
    if penalty == "none":
        penalty = None
    if penalty not in PENALTIES:
        raise ValueError(f"penalty must be one of 'l2', 'l1', 'elasticnet' or None; got {penalty!r}")
    if penalty is None:
        return Penalty()
    # numbers.Real admits NumPy scalars (np.float32(1.0), np.int64(2)); bool is not a strength.
    if isinstance(C, bool) or not isinstance(C, numbers.Real) or not (0 < C < float("inf")):
        raise ValueError(f"C must be a positive finite number; got {C!r}")
    if penalty == "l2":
        rho = 0.0
    elif penalty == "l1":
        rho = 1.0
    else:
        if l1_ratio is None or not (0.0 <= l1_ratio <= 1.0):
            raise ValueError(f"elasticnet needs l1_ratio in [0, 1]; got {l1_ratio!r}")
        rho = float(l1_ratio)
    scale = 1.0 / (float(C) * float(sw_sum))
    return Penalty(l2=(1.0 - rho) * scale, l1=rho * scale)
