"""Profile-likelihood confidence intervals (penalised, for Firth fits).

The interval for parameter j at level ``1 − α`` is

.. math::

    \\{ b : 2\\,(ℓ^*(β̂) − \\max_{β:\\,β_j = b} ℓ^*(β)) ≤ χ²_{1,1−α} \\}

(Venzon & Moolgavkar 1988; logistf's profile penalised-likelihood intervals for Firth fits).
Each end is the root of ``φ(b) = ℓ*_prof(b) − ℓ*(β̂) + χ²/2``: the bracket is found by
stepping out from ``β̂_j`` in multiples of the Wald half-width, then ``brentq``; every
evaluation of φ is a constrained Newton refit
(:func:`~softlogit.inference.maximize.maximize`, warm-started). An end that the likelihood
never crosses (a separated direction without Firth) is ``±inf``. Cost: about 2n·10 refits of
a few Newton iterations — meant for models of modest n.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

from softlogit.inference.maximize import evaluate, maximize

MAX_DOUBLINGS = 12


class ProfileLikelihood:
    """Profile intervals of ``model`` around its (penalised) maximiser ``beta_hat``."""

    def __init__(self, model, beta_hat, firth=False):
        self.model = model
        self.beta_hat = np.asarray(beta_hat, dtype=np.float64)
        self.firth = bool(firth)
        self._cache = {}

    def profile(self, j, b, start=None):
        """``max ℓ*`` with ``β_j = b`` (the constrained refit); returns the Evaluation."""
        beta0 = (self.beta_hat if start is None else start).copy()
        beta0[j] = b
        free = np.ones(beta0.size, bool)
        free[j] = False
        ev, _, _ = maximize(self.model, beta0, free=free, firth=self.firth)
        return ev

    def intervals(self, alpha=0.05) -> np.ndarray:
        if alpha in self._cache:
            return self._cache[alpha].copy()
        top = evaluate(self.model, self.beta_hat, self.firth)
        se = np.sqrt(np.diag(np.linalg.inv(top.info)))
        drop = stats.chi2.ppf(1 - alpha, 1) / 2.0
        out = np.empty((self.beta_hat.size, 2))
        for j in range(self.beta_hat.size):
            for side, sign in ((0, -1.0), (1, 1.0)):
                out[j, side] = self._end(j, sign, top.value - drop, se[j], alpha)
        self._cache[alpha] = out
        return out.copy()

    def _end(self, j, sign, target, se, alpha):
        start = [self.beta_hat]

        def phi(b):
            ev = self.profile(j, b, start[0])
            start[0] = ev.beta
            return ev.value - target

        width = stats.norm.ppf(1 - alpha / 2) * (se if np.isfinite(se) and se > 0 else 1.0)
        inner = self.beta_hat[j]
        for k in range(MAX_DOUBLINGS):
            outer = self.beta_hat[j] + sign * width * 2.0 ** k
            if phi(outer) < 0:
                start[0] = self.beta_hat
                return optimize.brentq(phi, *sorted((inner, outer)), xtol=1e-10, rtol=1e-12)
            inner = outer
        return sign * np.inf
