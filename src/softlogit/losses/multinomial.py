"""Multinomial cross-entropy of the softmax (softmax regression).

With logits ``z ∈ ℝ^K``, ``o = softmax(z)``, ``o_k = e^{z_k} / Σ_j e^{z_j}``, and a target row
``y`` (one-hot, or probabilities summing to 1):

.. math::

    ℓ(z, y) = −Σ_k y_k \\log o_k = (Σ_k y_k)\\,\\mathrm{logsumexp}(z) − y·z

    ∂ℓ/∂z_k = o_k − y_k       (for rows summing to 1)

    ∂²ℓ/∂z_k∂z_l = o_k(δ_{kl} − o_l)

Stability. Every exponential is taken of the max-subtracted logits ``s = z − max(z) ≤ 0``, so
none overflows, and the loss is written as ``Σ_k y_k (log Σ_j e^{s_j} − s_k)``: a sum of
non-negative terms, finite for every finite logit (``±1e300`` included).

Two further details keep the answer exact rather than merely finite:

- The row maximum contributes ``e^0 = 1`` to ``Σ_j e^{s_j}``, so ``log Σ_j e^{s_j}`` is taken
  as ``log1p(r)`` with ``r`` the sum of the *other* terms: ``log(1 + r)`` would round to 0 once
  ``r < ε`` (a confident correct prediction at ``z = (40, 0)`` would get loss 0 instead of
  ``e^{−40}``). For the same reason ``o_k − 1`` at the arg-max is formed as ``−r/(1+r)``.
- ``z − max(z)`` can exceed the float range when the logits of one row span more than the
  largest float (``(3e38, −3e38)`` in float32): the difference is saturated at ``−finfo.max``,
  the nearest representable value, instead of becoming ``−inf`` (which would turn ``0·s`` into
  NaN in the loss).
"""

from __future__ import annotations

import numpy as np

from softlogit.losses.base import CrossEntropyLoss
from softlogit.losses.binary import _check_prob_rows


def _shifted_exp(z: np.ndarray):
    """Return ``s = z − max(z)`` (row-wise), ``e^s`` and ``Σ e^s``.

    Subtracting the row maximum makes every exponent ≤ 0 (no overflow) and puts at least one
    ``e^0 = 1`` in each sum (so the log of the sum is in [0, log K]).
    """
    s, e, rest, _ = _shifted_exp_rest(z)
    return s, e, 1.0 + rest


def _shifted_exp_rest(z: np.ndarray):
    """Return ``s = z − max(z)``, ``e^s``, ``r = Σ e^s − 1`` (the terms other than one row
    maximum, summed without the 1 so that ``log1p(r)`` keeps tiny ``r``) and the arg-max."""
    z = np.asarray(z)
    top = z.argmax(axis=1)
    rows = np.arange(z.shape[0])
    zmax = z[rows, top][:, None]
    # The spread of a row may exceed the float range (3e38 − (−3e38) in float32): saturate
    # at the most negative finite value rather than produce −inf (and then 0·(−inf) = NaN).
    with np.errstate(over="ignore"):
        s = z - zmax
    if z.dtype.kind == "f":
        np.maximum(s, -np.finfo(s.dtype).max, out=s)
    with np.errstate(under="ignore"):  # e^s → 0 for very negative s is the exact float answer
        e = np.exp(s)
        e[rows, top] = 0.0
        rest = e.sum(axis=1)
    e[rows, top] = 1.0
    return s, e, rest, top


def _log1p_rest(rest: np.ndarray) -> np.ndarray:
    """``log Σ e^s = log(1 + r)``: ``log1p`` where ``r`` is small (``1 + r`` would round it away),
    the plain log where ``r ≥ 1`` (then ``1 + r`` is exact for integer sums: ``log K`` exactly at
    all-zero logits)."""
    with np.errstate(under="ignore"):
        return np.where(rest < 1, np.log1p(rest), np.log(1 + rest))


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits of shape (m, K), stable for every finite logit.

    Examples
    --------
    >>> import numpy as np
    >>> softmax(np.array([[0.0, 0.0], [1e300, -1e300]])).tolist()
    [[0.5, 0.5], [1.0, 0.0]]
    """
    z = np.asarray(z)
    _, e, sum_e = _shifted_exp(z)
    with np.errstate(under="ignore"):
        return e / sum_e[:, None]


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise ``log softmax(z) = s − log Σ e^s`` with ``s = z − max z``; exact, never −inf
    for a finite logit."""
    s, _, rest, _ = _shifted_exp_rest(z)
    # log Σ e^s = log1p(r): exact even when r is below the float epsilon.
    return s - _log1p_rest(rest)[:, None]


class MultinomialCrossEntropy(CrossEntropyLoss):
    """Softmax cross-entropy on logits of shape (m, K).

    Targets are either class indices of shape (m,) (integers in 0..K−1) or probability rows of
    shape (m, K) that sum to 1 (one-hot rows are the hard case).

    Examples
    --------
    >>> import numpy as np
    >>> loss = MultinomialCrossEntropy()
    >>> float(loss.loss(np.zeros((1, 3)), np.array([2]))[0])  # log 3
    1.0986122886681098
    """

    name = "multinomial"

    def n_logits(self, n_classes: int) -> int:
        return n_classes

    def _target_dot(self, s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``Σ_k y_k s_k`` and ``Σ_k y_k`` per row, for index or probability targets."""
        if y.ndim == 1:
            return np.take_along_axis(s, y[:, None].astype(np.intp), axis=1)[:, 0], None
        with np.errstate(under="ignore"):
            return np.einsum("ij,ij->i", y, s), y.sum(axis=1)

    def loss(self, z, y):
        s, _, rest, _ = _shifted_exp_rest(z)
        ys, ysum = self._target_dot(s, y)
        lse = _log1p_rest(rest)  # log Σ e^s without rounding 1 + r to 1
        return (lse if ysum is None else ysum * lse) - ys

    def gradient(self, z, y):
        return self.loss_gradient(z, y)[1]

    def loss_gradient(self, z, y):
        s, e, rest, top = _shifted_exp_rest(z)
        ys, ysum = self._target_dot(s, y)
        lse = _log1p_rest(rest)
        loss = (lse if ysum is None else ysum * lse) - ys
        sum_e = 1.0 + rest
        rows = np.arange(z.shape[0])
        with np.errstate(under="ignore"):
            grad = e / sum_e[:, None]
            # o_top = 1 − r/(1+r): keep the small r/(1+r) apart so that o_top − 1 is exact.
            q_top = rest / sum_e
        if ysum is not None:
            y_top = y[rows, top]
            grad *= ysum[:, None]
            grad -= y
            with np.errstate(under="ignore"):
                grad[rows, top] = (ysum - y_top) - ysum * q_top
        else:
            grad[rows, top] = 1.0 - q_top
            grad[rows, y] -= 1
            hit = y == top
            grad[rows[hit], top[hit]] = -q_top[hit]
        return loss, grad

    def hessian_factors(self, z):
        return softmax(z)

    def hessian_logit_product(self, factors, v):
        o = factors
        # (diag(o) − o oᵀ) v, row by row, without forming the K×K matrices.
        with np.errstate(under="ignore"):
            return o * (v - np.einsum("ij,ij->i", o, v)[:, None])

    def hessian_block_weights(self, factors, k, l):
        o = factors
        with np.errstate(under="ignore"):
            w = -o[:, k] * o[:, l]
            if k == l:
                w += o[:, k]
        return w

    def predict_proba(self, z):
        return softmax(z)

    def predict_log_proba(self, z):
        return log_softmax(z)

    def check_targets(self, y, n_classes):
        y = np.asarray(y)
        if y.ndim == 2:
            if y.shape[1] != n_classes:
                raise ValueError(
                    f"soft targets have {y.shape[1]} columns but the model has {n_classes} classes"
                )
            _check_prob_rows(y)
            return y
        if y.ndim != 1:
            raise ValueError(f"targets must have shape (m,) or (m, K); got shape {y.shape}")
        if y.dtype.kind == "f":
            if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
                raise ValueError("class-index targets must be whole numbers 0..K-1")
        elif y.dtype.kind not in "iub":
            raise ValueError(f"class-index targets must be integers 0..K-1; got dtype {y.dtype}")
        bad = (y < 0) | (y >= n_classes)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"labels must be class indices in 0..{n_classes - 1}; {int(bad.sum())} are not "
                f"(first at row {i}: {y[i]!r})"
            )
        return y.astype(np.intp)
