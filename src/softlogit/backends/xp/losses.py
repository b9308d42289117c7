"""The cross-entropy pieces of :mod:`softlogit.losses`, written once against the array API.

The formulas and their stability tricks are those of :mod:`softlogit.losses.binary` and
:mod:`softlogit.losses.multinomial` (see their docstrings for the derivations); here they use only
functions of the array API standard, so they run on the device of the logits (a CUDA tensor, a
CuPy array, array-api-strict's simulated devices) and never convert to NumPy. Every function takes
the namespace ``xp`` first. Targets are always a probability matrix ``Y`` (m, K) for the softmax
(hard labels as one-hot rows, built once on the device) and a vector ``y`` (m,) in [0, 1] for the
sigmoid: one code path for hard and soft targets.
"""

from __future__ import annotations


def _exp_neg_abs(xp, z):
    """``e^{−|z|} ∈ (0, 1]``: cannot overflow; underflow to 0 is the exact float answer."""
    return xp.exp(-xp.abs(z))


def binary_loss(xp, z, y):
    """Per-sample sigmoid cross-entropy, a sum of non-negative terms (no cancellation):

    .. math:: ℓ = (1−y)\\max(z, 0) + y\\max(−z, 0) + \\log1p(e^{−|z|})
    """
    zero = xp.zeros_like(z)
    return (1 - y) * xp.maximum(z, zero) + y * xp.maximum(-z, zero) + xp.log1p(_exp_neg_abs(xp, z))


def binary_loss_gradient(xp, z, y):
    """Loss (above) and ``∂ℓ/∂z = σ(z) − y``, formed from ``q = σ(−|z|) = e/(1+e)``:
    ``(1−y) − q`` for ``z ≥ 0`` and ``q − y`` for ``z < 0`` (no rounding of a tiny probability)."""
    e = _exp_neg_abs(xp, z)
    q = e / (1 + e)
    zero = xp.zeros_like(z)
    loss = (1 - y) * xp.maximum(z, zero) + y * xp.maximum(-z, zero) + xp.log1p(e)
    grad = xp.where(z >= 0, (1 - y) - q, q - y)
    return loss, grad


def binary_hessian_factors(xp, z):
    """``h(1−h) = e/(1+e)²`` with ``e = e^{−|z|}`` (``1 − h`` from a rounded ``h`` is 0 at |z| > 37)."""
    e = _exp_neg_abs(xp, z)
    return e / ((1 + e) * (1 + e))


def sigmoid(xp, z):
    """``σ(z) = 1/(1+e^{−z})`` as ``1 − q`` (z ≥ 0) or ``q`` (z < 0), ``q = σ(−|z|)``: no overflow."""
    e = _exp_neg_abs(xp, z)
    q = e / (1 + e)
    return xp.where(z >= 0, 1 - q, q)


def log_sigmoid(xp, z):
    """``log σ(z) = min(z, 0) − log1p(e^{−|z|})``: exact for every finite z, never −inf."""
    return xp.minimum(z, xp.zeros_like(z)) - xp.log1p(_exp_neg_abs(xp, z))


def _shifted(xp, Z):
    """Row-wise ``s = Z − max Z`` (saturated at ``−finfo.max``), ``e^s``, the arg-max mask and
    ``r = Σ_{j ≠ top} e^{s_j}`` (the sum without the row maximum's exact ``e^0 = 1``).

    Every exponent is ≤ 0 (no overflow). The spread of a row may exceed the float range
    (3e38 − (−3e38) in float32): saturating keeps ``0·s`` from becoming ``0·(−inf) = NaN``.
    ``r`` is kept apart from the 1 so that ``log1p(r)`` and ``r/(1+r)`` keep a tiny ``r``.
    """
    K = Z.shape[1]
    top = xp.argmax(Z, axis=1)
    cols = xp.arange(K, device=_device(Z))
    is_top = cols[None, :] == xp.astype(top, cols.dtype)[:, None]
    zmax = xp.max(Z, axis=1, keepdims=True)
    s = xp.maximum(Z - zmax, xp.full_like(Z, -xp.finfo(Z.dtype).max))
    e = xp.exp(s)
    rest = xp.sum(xp.where(is_top, xp.zeros_like(e), e), axis=1)
    return s, e, is_top, rest


def _device(x):
    return x.device


def _log1p_rest(xp, rest):
    """``log Σ e^s = log(1 + r)``: ``log1p`` below 1 (keeps tiny r), the plain log from 1 on
    (exact ``log K`` at all-zero logits)."""
    return xp.where(rest < 1, xp.log1p(rest), xp.log(1 + rest))


def multinomial_loss(xp, Z, Y):
    """Per-sample softmax cross-entropy for probability rows ``Y`` (one-hot for hard labels):

    .. math:: ℓ = (Σ_k Y_k)\\,\\log1p(r) − Σ_k Y_k s_k,\\quad s = z − \\max z

    a sum of non-negative terms, finite for every finite logit.
    """
    s, _, _, rest = _shifted(xp, Z)
    return xp.sum(Y, axis=1) * _log1p_rest(xp, rest) - xp.sum(Y * s, axis=1)


def multinomial_loss_gradient(xp, Z, Y):
    """Loss (above) and ``∂ℓ/∂z_k = (Σ Y) o_k − Y_k`` with ``o = softmax(z)``.

    At the arg-max, ``o_top = 1 − r/(1+r)`` and the entry is formed as
    ``(ΣY − Y_top) − (ΣY)·r/(1+r)``, so that ``o_top − 1`` keeps a tiny ``r`` exactly.
    """
    s, e, is_top, rest = _shifted(xp, Z)
    ysum = xp.sum(Y, axis=1)
    loss = ysum * _log1p_rest(xp, rest) - xp.sum(Y * s, axis=1)
    sum_e = 1 + rest
    grad = ysum[:, None] * (e / sum_e[:, None]) - Y
    y_top = xp.sum(xp.where(is_top, Y, xp.zeros_like(Y)), axis=1)
    g_top = (ysum - y_top) - ysum * (rest / sum_e)
    grad = xp.where(is_top, g_top[:, None], grad)
    return loss, grad


def softmax(xp, Z):
    """Row-wise ``softmax(z) = e^s / Σ e^s`` with ``s = z − max z`` (no overflow)."""
    _, e, _, rest = _shifted(xp, Z)
    return e / (1 + rest)[:, None]


def log_softmax(xp, Z):
    """Row-wise ``log softmax(z) = s − log1p(r)``: exact, never −inf for a finite logit."""
    s, _, _, rest = _shifted(xp, Z)
    return s - _log1p_rest(xp, rest)[:, None]


def multinomial_hessian_product(xp, O, V):
    """Per-sample ``(diag(o) − o oᵀ) v`` for rows ``o`` of ``O`` and ``v`` of ``V``, without the
    K×K matrices: ``o ⊙ (v − (o·v))``."""
    return O * (V - xp.sum(O * V, axis=1, keepdims=True))


def multinomial_block_weights(O, k, l):
    """Per-sample weight ``o_k(δ_kl − o_l)`` of block (k, l) of the softmax logit Hessian."""
    w = -O[:, k] * O[:, l]
    return w + O[:, k] if k == l else w


def loss_gradient(xp, loss_name, Z, T):
    """``(ℓ (m,), ∂ℓ/∂Z (m, k))`` for logits ``Z`` (m, k) and device targets ``T``."""
    if loss_name == "binary":
        loss, g = binary_loss_gradient(xp, Z[:, 0], T)
        return loss, g[:, None]
    return multinomial_loss_gradient(xp, Z, T)


def loss_values(xp, loss_name, Z, T):
    """Per-sample loss ``ℓ`` (m,) for logits ``Z`` (m, k)."""
    if loss_name == "binary":
        return binary_loss(xp, Z[:, 0], T)
    return multinomial_loss(xp, Z, T)


def hessian_factors(xp, loss_name, Z):
    """What the Hessian needs at ``Z``: ``h(1−h)`` as (m, 1) for the sigmoid, ``o`` (m, K)."""
    if loss_name == "binary":
        return binary_hessian_factors(xp, Z[:, 0])[:, None]
    return softmax(xp, Z)


def hessian_logit_product(xp, loss_name, F, U):
    """Per-sample logit-Hessian products ``Hᵢ uᵢ`` (m, k) from the factors ``F``."""
    if loss_name == "binary":
        return F * U
    return multinomial_hessian_product(xp, F, U)


def hessian_block_weights(loss_name, F, k, l):
    """Per-sample weight of block (k, l) of the logit Hessian (the sigmoid has one block)."""
    if loss_name == "binary":
        return F[:, 0]
    return multinomial_block_weights(F, k, l)
