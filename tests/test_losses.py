"""Tests of softlogit.losses: exact values, derivatives of the logits, extreme logits, targets."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from softlogit.losses import (
    BinaryCrossEntropy,
    MultinomialCrossEntropy,
    get_loss,
    log_sigmoid,
    log_softmax,
    sigmoid,
    softmax,
)

BIN = BinaryCrossEntropy()
MULTI = MultinomialCrossEntropy()
LN2, LN3, LN4 = np.log(2.0), np.log(3.0), np.log(4.0)


# --- exact values on hand-computed points --------------------------------------------------


@pytest.mark.parametrize("y", [0.0, 1.0, 0.5, 0.2])
def test_binary_zero_logit_gives_log2(y):
    # σ(0) = 1/2, so −y log ½ − (1−y) log ½ = log 2 whatever y is; ∂ℓ/∂z = ½ − y; h(1−h) = ¼.
    z = np.zeros(3)
    yy = np.full(3, y)
    assert_allclose(BIN.loss(z, yy), LN2, rtol=1e-15)
    assert_allclose(BIN.gradient(z, yy), 0.5 - y, rtol=1e-15)
    assert_allclose(BIN.hessian_factors(z), 0.25, rtol=1e-15)


def test_binary_hand_computed_points():
    # z = ±log 3 gives σ(z) = 3/4 and 1/4 exactly (1/(1 + 1/3) = 3/4).
    z = np.array([np.log(3.0), np.log(3.0), -np.log(3.0), -np.log(3.0)])
    y = np.array([1.0, 0.0, 1.0, 0.0])
    # −log ¾ = log(4/3); −log ¼ = log 4.
    expected_loss = [np.log(4 / 3), LN4, LN4, np.log(4 / 3)]
    expected_grad = [0.75 - 1, 0.75, 0.25 - 1, 0.25]
    loss, grad = BIN.loss_gradient(z, y)
    assert_allclose(loss, expected_loss, rtol=1e-14)
    assert_allclose(grad, expected_grad, rtol=1e-14)
    assert_allclose(BIN.loss(z, y), expected_loss, rtol=1e-14)
    assert_allclose(BIN.hessian_factors(z), 3 / 16, rtol=1e-14)
    assert_allclose(sigmoid(z), [0.75, 0.75, 0.25, 0.25], rtol=1e-15)
    assert_allclose(BIN.predict_proba(z)[:, 1], [0.75, 0.75, 0.25, 0.25], rtol=1e-15)
    assert_allclose(BIN.predict_log_proba(z)[:, 0], np.log([0.25, 0.25, 0.75, 0.75]),
                    rtol=1e-14)


def test_binary_soft_target_hand_point():
    # z = log 3, y = 0.4: ℓ = −0.4 log ¾ − 0.6 log ¼, ∂ℓ/∂z = ¾ − 0.4.
    z, y = np.array([np.log(3.0)]), np.array([0.4])
    assert_allclose(BIN.loss(z, y), -0.4 * np.log(0.75) - 0.6 * np.log(0.25), rtol=1e-14)
    assert_allclose(BIN.gradient(z, y), 0.35, rtol=1e-14)


@pytest.mark.parametrize("K", [2, 3, 7])
def test_softmax_zero_logits_give_logK(K):
    z = np.zeros((4, K))
    labels = np.arange(4) % K
    assert_allclose(MULTI.loss(z, labels), np.log(K), rtol=1e-15)
    grad = MULTI.gradient(z, labels)
    expected = np.full((4, K), 1 / K)
    expected[np.arange(4), labels] -= 1
    assert_allclose(grad, expected, rtol=1e-15, atol=1e-16)
    assert_allclose(softmax(z), 1 / K, rtol=1e-15)
    assert_allclose(log_softmax(z), -np.log(K), rtol=1e-15)


def test_softmax_hand_example():
    # z = (0, log 2, log 5): e^z = (1, 2, 5), Σ = 8, o = (1/8, 2/8, 5/8).
    z = np.array([[0.0, np.log(2.0), np.log(5.0)]])
    o = np.array([[1 / 8, 2 / 8, 5 / 8]])
    assert_allclose(softmax(z), o, rtol=1e-15)
    # Hard label 1: ℓ = −log(2/8) = log 4; gradient o − y = (1/8, 2/8 − 1, 5/8).
    assert_allclose(MULTI.loss(z, np.array([1])), [LN4], rtol=1e-14)
    assert_allclose(MULTI.gradient(z, np.array([1])), [[0.125, -0.75, 0.625]], rtol=1e-14)
    # Soft row (½, ½, 0): ℓ = ½ log 8 + ½ log 4 = 2.5 log 2; gradient (−3/8, −1/4, 5/8).
    ysoft = np.array([[0.5, 0.5, 0.0]])
    assert_allclose(MULTI.loss(z, ysoft), [2.5 * LN2], rtol=1e-14)
    assert_allclose(MULTI.gradient(z, ysoft), [[-0.375, -0.25, 0.625]], rtol=1e-14)
    # Logit Hessian diag(o) − o oᵀ times e₀ is column 0: (1/8·7/8, −2/8·1/8, −5/8·1/8).
    v = np.array([[1.0, 0.0, 0.0]])
    expected = np.array([[7 / 64, -2 / 64, -5 / 64]])
    assert_allclose(MULTI.hessian_logit_product(MULTI.hessian_factors(z), v), expected,
                    rtol=1e-14)
    assert_allclose(MULTI.hessian_block_weights(MULTI.hessian_factors(z), 0, 0), [7 / 64])
    assert_allclose(MULTI.hessian_block_weights(MULTI.hessian_factors(z), 1, 2), [-10 / 64])


# --- derivatives with respect to the logits, against finite differences -------------------


def _stencil(f, z, d, h):
    return (-f(z + 2 * h * d) + 8 * f(z + h * d) - 8 * f(z - h * d) + f(z - 2 * h * d)) / (12 * h)


def _targets(loss, rng, m, K, soft):
    if loss is BIN:
        return rng.uniform(size=m) if soft else rng.integers(0, 2, size=m).astype(float)
    if soft:
        return rng.dirichlet(np.ones(K), size=m)
    return rng.integers(0, K, size=m)


@pytest.mark.parametrize("loss", [BIN, MULTI], ids=["binary", "multinomial"])
@pytest.mark.parametrize("soft", [False, True], ids=["hard", "soft"])
def test_logit_gradient_and_hessian_match_finite_differences(loss, soft):
    rng = np.random.default_rng(1)
    m, K = 25, 4
    z = 3 * rng.standard_normal(m if loss is BIN else (m, K))
    y = _targets(loss, rng, m, K, soft)
    h = 1e-3
    # The loss is separable over samples, so one stencil along a direction d estimates every
    # per-sample directional derivative at once.
    d = rng.standard_normal(z.shape)
    numeric = _stencil(lambda t: loss.loss(t, y), z, d, h)
    analytic = (loss.gradient(z, y) * d).reshape(m, -1).sum(axis=1)
    assert_allclose(analytic, numeric, rtol=1e-8, atol=1e-10)
    # Hessian-vector product against the stencil of the gradient.
    factors = loss.hessian_factors(z)
    numeric_h = _stencil(lambda t: loss.gradient(t, y), z, d, h)
    assert_allclose(loss.hessian_logit_product(factors, d), numeric_h, rtol=1e-7, atol=1e-10)


def test_block_weights_assemble_the_logit_hessian():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((6, 3))
    factors = MULTI.hessian_factors(z)
    for k in range(3):
        e_k = np.zeros((6, 3))
        e_k[:, k] = 1
        column = MULTI.hessian_logit_product(factors, e_k)
        for l in range(3):
            assert_allclose(MULTI.hessian_block_weights(factors, l, k), column[:, l], rtol=1e-14)
    with pytest.raises(IndexError):
        BIN.hessian_block_weights(BIN.hessian_factors(z[:, 0]), 0, 1)


def test_loss_gradient_agrees_with_separate_calls():
    rng = np.random.default_rng(3)
    for loss, z, y in [(BIN, rng.standard_normal(9), rng.uniform(size=9)),
                       (MULTI, rng.standard_normal((9, 3)), rng.integers(0, 3, 9)),
                       (MULTI, rng.standard_normal((9, 3)), rng.dirichlet([1, 1, 1], 9))]:
        value, grad = loss.loss_gradient(z, y)
        assert_array_equal(value, loss.loss(z, y))
        assert_array_equal(grad, loss.gradient(z, y))


# --- extreme logits: finite, right, and no floating-point exception ------------------------

EXTREMES = {
    np.float64: [1e4, 1e300, 1.7e308],
    np.float32: [1e4, 1e30, 3e38],
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_extreme_logits(dtype):
    mags = np.array(EXTREMES[dtype], dtype=dtype)
    z = np.concatenate([mags, -mags])
    absz = np.abs(z).astype(np.float64)
    with np.errstate(all="raise"):
        for y_val in (0.0, 1.0):
            y = np.full(z.shape, y_val, dtype=dtype)
            wrong = (z > 0) != (y_val == 1.0)
            loss, grad = BIN.loss_gradient(z, y)
            assert loss.dtype == dtype and grad.dtype == dtype
            # Wrong side: ℓ = |z| (to rounding); right side: ℓ = log(1 + e^{−|z|}) = 0.
            assert_allclose(loss[wrong], absz[wrong], rtol=1e-6)
            assert_array_equal(loss[~wrong], 0.0)
            assert_array_equal(BIN.loss(z, y), loss)
            # σ(z) is exactly 0 or 1 here, so h − y is −1, 0 or +1.
            assert_array_equal(grad, np.where(z > 0, 1.0, 0.0) - y_val)
        # Soft target: ℓ = (1−y) max(z,0) + y max(−z,0) to rounding.
        y = np.full(z.shape, 0.25, dtype=dtype)
        loss = BIN.loss(z, y)
        assert np.all(np.isfinite(loss))
        assert_allclose(loss, np.where(z > 0, 0.75, 0.25) * absz, rtol=1e-6)
        assert_array_equal(BIN.gradient(z, y), np.where(z > 0, 0.75, -0.25).astype(dtype))
        assert_array_equal(BIN.hessian_factors(z), 0.0)
        proba = BIN.predict_proba(z)
        assert_array_equal(proba[:, 1], (z > 0).astype(dtype))
        assert_array_equal(proba[:, 0], (z < 0).astype(dtype))
        logp = BIN.predict_log_proba(z)
        # log P(class 1) = −|z| when z < 0, 0 when z > 0 (and the mirror for class 0).
        assert_allclose(logp[:, 1], np.where(z > 0, 0.0, -absz), rtol=1e-7)
        assert_allclose(logp[:, 0], np.where(z < 0, 0.0, -absz), rtol=1e-7)
        assert_allclose(log_sigmoid(z), logp[:, 1], rtol=1e-7)
        assert_array_equal(sigmoid(z), proba[:, 1])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_extreme_logits(dtype):
    big = EXTREMES[dtype]
    rows = []
    for a in big:
        rows += [[a, 0.0, -a], [-a, a, 0.0], [0.0, -a, -a], [a, a, 0.0]]
    z = np.array(rows, dtype=dtype)
    fmax = float(np.finfo(dtype).max)
    zmax = z.max(axis=1, keepdims=True).astype(np.float64)
    # −log o_k = (max(z) − z_k) + log(#entries tied at the max), except where that gap exceeds
    # the float range: there it is saturated at finfo.max (see the module docstring).
    with np.errstate(over="ignore"):  # the reference itself overflows to inf for 1.7e308
        gap = np.minimum(zmax - z.astype(np.float64), fmax)
    n_top = (z == z.max(axis=1, keepdims=True)).sum(axis=1)
    with np.errstate(all="raise"):
        for k in range(3):
            labels = np.full(len(z), k)
            loss, grad = MULTI.loss_gradient(z, labels)
            assert loss.dtype == dtype and grad.dtype == dtype
            assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
            expected = gap[:, k] + np.log(n_top)
            assert_allclose(loss, expected, rtol=1e-6)
            onehot = np.eye(3, dtype=dtype)[labels]
            o = (z == z.max(axis=1, keepdims=True)) / n_top[:, None]
            assert_allclose(grad, o - onehot, atol=1e-7)
            # Soft one-hot rows give the same numbers (and no 0·∞ = NaN).
            assert_allclose(MULTI.loss(z, onehot), loss, rtol=1e-6)
        soft = np.full(z.shape, 1 / 3, dtype=dtype)
        soft_loss = MULTI.loss(z, soft)
        assert np.all(np.isfinite(soft_loss))
        assert_allclose(soft_loss, (gap / 3).sum(axis=1) + np.log(n_top), rtol=1e-6)
        o = MULTI.predict_proba(z)
        assert o.dtype == dtype
        assert_allclose(o, (z == z.max(axis=1, keepdims=True)) / n_top[:, None], atol=1e-7)
        assert_allclose(MULTI.hessian_factors(z), o)
        logp = MULTI.predict_log_proba(z)
        assert np.all(np.isfinite(logp))
        assert_allclose(logp, -gap - np.log(n_top)[:, None], rtol=1e-6)
        assert_allclose(log_softmax(z), logp)
        H = MULTI.hessian_logit_product(MULTI.hessian_factors(z), np.ones_like(z))
        assert np.all(np.isfinite(H))


def test_no_cancellation_for_confident_correct_predictions():
    # ℓ(40, 1) = log(1 + e^{−40}) = e^{−40}(1 − e^{−40}/2 + …): equals e^{−40} to ~1e−18.
    z, e40 = np.array([40.0, -40.0]), np.exp(-40.0)
    assert_allclose(BIN.loss(z, np.array([1.0, 0.0])), [e40, e40], rtol=1e-12)
    # h − y = −σ(−40) = −e^{−40}/(1 + e^{−40}), kept to full relative precision.
    assert_allclose(BIN.gradient(z, np.array([1.0, 0.0])), [-e40, e40], rtol=1e-12)
    assert_allclose(BIN.hessian_factors(z), [e40, e40], rtol=1e-12)
    assert_allclose(BIN.predict_proba(z)[:, 0], [e40, 1.0], rtol=1e-12)
    # The softmax analogue: z = (40, 0), class 0: log(1 + e^{−40}) and o₀ − 1 = −e^{−40}/(1+e^{−40}).
    Z = np.array([[40.0, 0.0], [0.0, 40.0]])
    assert_allclose(MULTI.loss(Z, np.array([0, 1])), [e40, e40], rtol=1e-12)
    assert_allclose(MULTI.loss(Z, np.eye(2)), [e40, e40], rtol=1e-12)
    assert_allclose(MULTI.gradient(Z, np.array([0, 1])), [[-e40, e40], [e40, -e40]], rtol=1e-12)
    assert_allclose(MULTI.gradient(Z, np.eye(2)), [[-e40, e40], [e40, -e40]], rtol=1e-12)
    assert_allclose(log_softmax(Z), [[-e40, -40.0], [-40.0, -e40]], rtol=1e-12)
    # In float32 the same holds at z = 20 (e^{−20} ≈ 2e−9 is far below float32's ε).
    z32 = np.array([20.0], dtype=np.float32)
    assert_allclose(BIN.loss(z32, np.ones(1, np.float32)), np.exp(-20.0), rtol=1e-6)


def test_k2_softmax_loss_equals_logistic_loss_of_the_difference():
    rng = np.random.default_rng(4)
    Z = 5 * rng.standard_normal((30, 2))
    y = rng.integers(0, 2, 30)
    diff = Z[:, 1] - Z[:, 0]
    assert_allclose(MULTI.loss(Z, y), BIN.loss(diff, y.astype(float)), rtol=1e-13)
    assert_allclose(MULTI.predict_proba(Z), BIN.predict_proba(diff), rtol=1e-13)
    g = MULTI.gradient(Z, y)
    assert_allclose(g[:, 1], BIN.gradient(diff, y.astype(float)), rtol=1e-13, atol=1e-16)
    assert_allclose(g[:, 0], -g[:, 1], rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_keep_the_logit_dtype(dtype):
    rng = np.random.default_rng(5)
    z = rng.standard_normal(8).astype(dtype)
    y = rng.uniform(size=8).astype(dtype)
    for out in (*BIN.loss_gradient(z, y), BIN.hessian_factors(z), BIN.predict_proba(z),
                BIN.predict_log_proba(z), sigmoid(z), log_sigmoid(z)):
        assert out.dtype == dtype
    Z = rng.standard_normal((8, 3)).astype(dtype)
    Y = rng.dirichlet([1, 1, 1], 8).astype(dtype)
    for out in (*MULTI.loss_gradient(Z, Y), *MULTI.loss_gradient(Z, rng.integers(0, 3, 8)),
                MULTI.hessian_factors(Z), MULTI.predict_log_proba(Z), softmax(Z)):
        assert out.dtype == dtype


# --- targets -------------------------------------------------------------------------------


def test_check_targets_accepts_and_converts():
    assert_array_equal(BIN.check_targets(np.array([0, 1, 1])), [0.0, 1.0, 1.0])
    assert_array_equal(BIN.check_targets(np.array([True, False])), [1.0, 0.0])
    two_col = np.array([[0.2, 0.8], [1.0, 0.0]])
    assert_array_equal(BIN.check_targets(two_col), [0.8, 0.0])
    assert MULTI.check_targets(np.array([0.0, 2.0]), 3).dtype == np.intp
    soft = np.array([[0.2, 0.3, 0.5]])
    assert_array_equal(MULTI.check_targets(soft, 3), soft)


@pytest.mark.parametrize("loss, y, n_classes, match", [
    (BIN, np.array([0.0, 1.5]), 2, r"\[0, 1\]"),
    (BIN, np.array([0.0, np.nan]), 2, "NaN"),
    (BIN, np.zeros((2, 3)), 2, "shape"),
    (BIN, np.array(["a", "b"]), 2, "numeric"),
    (BIN, np.array([[0.5, 0.6]]), 2, "sum to 1"),
    (MULTI, np.array([0, 3]), 3, r"0\.\.2"),
    (MULTI, np.array([-1, 0]), 3, r"0\.\.2"),
    (MULTI, np.array([0.5, 1.0]), 3, "whole numbers"),
    (MULTI, np.array([[0.5, 0.6, 0.0]]), 3, "sum to 1"),
    (MULTI, np.array([[1.2, -0.2, 0.0]]), 3, r"\[0, 1\]"),
    (MULTI, np.array([[0.5, 0.5]]), 3, "columns"),
    (MULTI, np.zeros((2, 2, 2)), 3, "shape"),
])
def test_check_targets_rejects(loss, y, n_classes, match):
    with pytest.raises(ValueError, match=match):
        loss.check_targets(y, n_classes)


def test_get_loss():
    assert isinstance(get_loss("binary"), BinaryCrossEntropy)
    assert isinstance(get_loss("multinomial"), MultinomialCrossEntropy)
    assert get_loss("binary").n_logits(2) == 1 and get_loss("multinomial").n_logits(5) == 5
    with pytest.raises(ValueError, match="unknown loss"):
        get_loss("hinge")
