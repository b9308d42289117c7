"""Binary cross-entropy of the sigmoid (logistic regression).

With ``h = σ(z) = 1/(1+e^(−z))`` and a target ``y ∈ [0, 1]``:

.. math::

    ℓ(z, y) = −y \\log h − (1−y) \\log(1−h) = \\log(1+e^{z}) − y z

    ∂ℓ/∂z = h − y,            ∂²ℓ/∂z² = h(1−h)

Stability. ``log(1+e^z) − y z`` cancels catastrophically when ``z`` is large and ``y = 1``
(``40 − 40`` instead of ``4e−18``). Since ``softplus(z) − z = softplus(−z)`` we use the
equivalent sum of non-negative terms

.. math::

    ℓ = (1−y)\\max(z, 0) + y \\max(−z, 0) + \\log1p(e^{−|z|})

which needs a single exponential ``e = e^{−|z|} ∈ (0, 1]`` that can never overflow. The same
``q = e/(1+e) = σ(−|z|)`` gives the gradient without cancellation:
``h − y = (1−y) − q`` for ``z ≥ 0`` and ``q − y`` for ``z < 0``; and ``h(1−h) = e/(1+e)²``.
"""

from __future__ import annotations

import numpy as np

from softlogit.losses.base import CrossEntropyLoss


def _exp_neg_abs(z: np.ndarray) -> np.ndarray:
    """``e^{−|z|}``, in (0, 1]: cannot overflow; underflow to 0 is the exact float answer."""
    with np.errstate(under="ignore"):
        return np.exp(-np.abs(z))


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1/(1+e^(−z)), evaluated with ``e^{−|z|}`` so that no exponential overflows.

    Examples
    --------
    >>> import numpy as np
    >>> sigmoid(np.array([-1e300, 0.0, 1e300])).tolist()
    [0.0, 0.5, 1.0]
    """
    z = np.asarray(z)
    e = _exp_neg_abs(z)
    with np.errstate(under="ignore"):
        q = e / (1.0 + e)  # σ(−|z|)
    return np.where(z >= 0, 1.0 - q, q).astype(z.dtype, copy=False)


def log_sigmoid(z: np.ndarray) -> np.ndarray:
    """log σ(z) = −softplus(−z) = min(z, 0) − log1p(e^{−|z|}); exact for every finite z."""
    z = np.asarray(z)
    return np.minimum(z, 0) - np.log1p(_exp_neg_abs(z))


class BinaryCrossEntropy(CrossEntropyLoss):
    """Sigmoid cross-entropy on logits of shape (m,) with targets in [0, 1] of shape (m,).

    Examples
    --------
    >>> import numpy as np
    >>> loss = BinaryCrossEntropy()
    >>> float(loss.loss(np.array([0.0]), np.array([1.0]))[0])  # log 2
    0.6931471805599453
    >>> loss.gradient(np.array([0.0, 1e300]), np.array([1.0, 1.0])).tolist()
    [-0.5, 0.0]
    """

    name = "binary"

    def n_logits(self, n_classes: int) -> int:
        return 1

    def loss(self, z, y):
        e = _exp_neg_abs(z)
        # Sum of non-negative terms: no cancellation for confident correct predictions.
        return (1 - y) * np.maximum(z, 0) + y * np.maximum(-z, 0) + np.log1p(e)

    def gradient(self, z, y):
        return self.loss_gradient(z, y)[1]

    def loss_gradient(self, z, y):
        e = _exp_neg_abs(z)
        with np.errstate(under="ignore"):
            q = e / (1.0 + e)  # σ(−|z|), never rounds a tiny probability to 0 − tiny
        loss = (1 - y) * np.maximum(z, 0) + y * np.maximum(-z, 0) + np.log1p(e)
        grad = np.where(z >= 0, (1 - y) - q, q - y)
        return loss, grad.astype(z.dtype, copy=False)

    def hessian_factors(self, z):
        e = _exp_neg_abs(z)
        with np.errstate(under="ignore"):
            # h(1−h) = e/(1+e)²: computing 1−h from a rounded h would give 0 for |z| > 37.
            return e / np.square(1.0 + e)

    def hessian_logit_product(self, factors, v):
        return factors * v

    def hessian_block_weights(self, factors, k, l):
        if (k, l) != (0, 0):
            raise IndexError("the binary loss has a single logit: only block (0, 0) exists")
        return factors

    def predict_proba(self, z):
        # Both columns from logits: 1 − σ(z) would round a tiny σ(−z) to 0.
        return np.stack([sigmoid(-z), sigmoid(z)], axis=1)

    def predict_log_proba(self, z):
        return np.stack([log_sigmoid(-z), log_sigmoid(z)], axis=1)

    def check_targets(self, y, n_classes=2):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 2:
            # A two-column probability matrix: keep the probability of class 1.
            _check_prob_rows(y)
            y = y[:, 1]
        if y.ndim != 1:
            raise ValueError(
                f"binary targets must have shape (m,) or (m, 2); got shape {y.shape}"
            )
        if not np.issubdtype(y.dtype, np.number) and y.dtype != bool:
            raise ValueError(f"binary targets must be numeric 0/1 or probabilities; got {y.dtype}")
        yf = y.astype(np.float64)
        if not np.all(np.isfinite(yf)):
            raise ValueError("binary targets contain NaN or infinite values")
        bad = (yf < 0) | (yf > 1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"binary targets must lie in [0, 1]; {int(bad.sum())} do not "
                f"(first at row {i}: {yf[i]!r})"
            )
        return yf


def _check_prob_rows(y: np.ndarray, atol: float = 1e-6) -> None:
    """Refuse probability rows with entries outside [0, 1] or sums away from 1."""
    if not np.all(np.isfinite(y)):
        raise ValueError("soft targets contain NaN or infinite values")
    if (y < 0).any() or (y > 1).any():
        raise ValueError("soft targets must lie in [0, 1]")
    sums = y.sum(axis=1)
    bad = np.abs(sums - 1) > atol * max(1, y.shape[1])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"soft target rows must sum to 1; {int(bad.sum())} rows do not "
            f"(first at row {i}, sum {sums[i]:.6g})"
        )
