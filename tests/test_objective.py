"""Tests of softlogit.objective.LinearObjective: derivatives, invariants, dtype, bad input."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from softlogit import LinearObjective, check_gradient
from softlogit.losses import BinaryCrossEntropy, MultinomialCrossEntropy


def Obj(X, y, **options):
    """A LinearObjective on the reference (NumPy/SciPy) backend unless a backend is given: these
    tests pin down the core; registered fast backends are compared with it separately."""
    options.setdefault("backend", "reference")
    return LinearObjective(X, y, **options)

LAYOUTS = {
    "dense-C": np.ascontiguousarray,
    "dense-F": np.asfortranarray,
    "csr": sp.csr_matrix,
    "csc": sp.csc_matrix,
}
K = 3


def make_problem(loss="binary", *, m=40, p=5, layout="dense-C", dtype=np.float64, soft=False,
                 seed=0):
    """Random X (about 30 % zeros, so the sparse layouts are really sparse) and targets."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, p))
    X[rng.uniform(size=X.shape) < 0.3] = 0.0
    X = LAYOUTS[layout](X.astype(dtype))
    if loss == "binary":
        y = rng.uniform(size=m) if soft else rng.integers(0, 2, m).astype(float)
    else:
        y = rng.dirichlet(np.ones(K), m) if soft else rng.integers(0, K, m)
    return X, y


def weights(m, seed=0):
    return np.random.default_rng(seed + 100).uniform(0.2, 3.0, m)


def dense(X):
    return X.toarray() if sp.issparse(X) else np.asarray(X)


# --- derivatives against finite differences, over the whole grid ---------------------------

# float64: the 5-point stencil with h = ε^{1/5} is accurate to about ε^{4/5} ≈ 3e−13 of |J|,
# so 1e−6 leaves a wide margin and still catches any wrong term.
# float32: J itself is evaluated in float32, so it carries rounding noise of order ε₃₂|J|
# (ε₃₂ ≈ 1.2e−7). The stencil divides that noise by 12h/18 with h = ε₃₂^{1/5}(1 + ‖θ‖∞)
# ≈ 0.05–0.1, so its estimate is good only to about ε₃₂^{4/5} ≈ 3e−6 of |J|; the checker
# measures errors against max(|a|, √ε₃₂ ‖g‖∞) ≈ 3.4e−4 ‖g‖∞, which makes the expected error
# about 3e−6 / 3.4e−4 ≈ 1e−2 · |J|/‖g‖∞ in the worst component. 2e−2 is that bound; the
# sharper float32 check is test_float32_matches_float64 (analytic vs analytic, 1e−5).
RTOL = {np.float64: 1e-6, np.float32: 2e-2}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("soft", [False, True], ids=["hard", "soft"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
@pytest.mark.parametrize("loss", ["binary", "multinomial"])
def test_gradient_and_hessp_match_finite_differences(loss, fit_intercept, weighted, soft,
                                                       layout, dtype):
    X, y = make_problem(loss, layout=layout, dtype=dtype, soft=soft)
    obj = Obj(X, y, loss=loss, fit_intercept=fit_intercept,
                          sample_weight=weights(40) if weighted else None,
                          penalty="l2", C=0.7)
    check = check_gradient(obj, random_state=1)
    assert check.gradient_error <= RTOL[dtype], check
    assert check.hessian_error <= RTOL[dtype], check
    assert check.n_coordinates == obj.n_params


@pytest.mark.parametrize("loss", ["binary", "multinomial"])
def test_unpenalised_gradient_matches_finite_differences(loss):
    X, y = make_problem(loss, seed=3)
    obj = Obj(X, y, loss=loss, penalty=None)
    check = check_gradient(obj, params=np.random.default_rng(3).normal(size=obj.n_params))
    assert check.passed(1e-6), check


@pytest.mark.parametrize("layout", ["dense-C", "dense-F", "csr", "csc"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("loss", ["binary", "multinomial"])
def test_float32_matches_float64(loss, fit_intercept, layout):
    # The float32 path does the same arithmetic with ε₃₂ ≈ 1.2e−7: sums over m = 40 samples lose
    # at most a few ε₃₂ of the largest term, so 1e−5 of the norm is a safe but tight bound.
    X64, y = make_problem(loss, layout=layout, soft=True, seed=5)
    X32 = X64.astype(np.float32)
    o64 = Obj(X64, y, loss=loss, fit_intercept=fit_intercept, C=0.5)
    o32 = Obj(X32, y, loss=loss, fit_intercept=fit_intercept, C=0.5)
    rng = np.random.default_rng(5)
    theta = rng.normal(size=o64.n_params).astype(np.float32).astype(np.float64)
    v = rng.normal(size=o64.n_params)
    assert o32.loss(theta) == pytest.approx(o64.loss(theta), rel=1e-5)
    g32, g64 = o32.gradient(theta), o64.gradient(theta)
    assert np.linalg.norm(g32 - g64) <= 1e-5 * np.linalg.norm(g64)
    h32, h64 = o32.hessian_product(theta, v), o64.hessian_product(theta, v)
    assert np.linalg.norm(h32 - h64) <= 1e-5 * np.linalg.norm(h64)
    H32, H64 = o32.hessian(theta), o64.hessian(theta)
    assert np.linalg.norm(H32 - H64) <= 1e-5 * np.linalg.norm(H64)


@pytest.mark.parametrize("layout", ["dense-C", "csr"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("loss", ["binary", "multinomial"])
def test_full_hessian(loss, fit_intercept, layout):
    X, y = make_problem(loss, layout=layout, seed=7)
    obj = Obj(X, y, loss=loss, fit_intercept=fit_intercept,
                          sample_weight=weights(40, 7), C=2.0)
    rng = np.random.default_rng(7)
    theta = 0.5 * rng.normal(size=obj.n_params)
    H = obj.hessian(theta)
    n = obj.n_params
    assert H.shape == (n, n)
    assert_allclose(H, H.T, rtol=0, atol=1e-15)
    # Against the Hessian-vector product, column by column and on random vectors.
    hessp = obj.hessian_operator(theta)
    assert_allclose(np.column_stack([hessp(e) for e in np.eye(n)]), H, rtol=1e-12, atol=1e-15)
    for v in rng.normal(size=(3, n)):
        assert_allclose(H @ v, obj.hessian_product(theta, v), rtol=1e-12, atol=1e-14)
    # Against the 5-point stencil of the gradient along every coordinate.
    h = np.finfo(float).eps ** 0.2
    numeric = np.column_stack([
        (-obj.gradient(theta + 2 * h * e) + 8 * obj.gradient(theta + h * e)
         - 8 * obj.gradient(theta - h * e) + obj.gradient(theta - 2 * h * e)) / (12 * h)
        for e in np.eye(n)
    ])
    assert_allclose(H, numeric, rtol=1e-6, atol=1e-9 * np.abs(H).max())
    # Convexity: the Hessian of a penalised cross-entropy is positive semi-definite.
    assert np.linalg.eigvalsh(H).min() > -1e-12


# --- values at hand-computed points --------------------------------------------------------


def test_zero_parameters_give_log2_and_logK():
    X, y = make_problem("binary")
    assert Obj(X, y, loss="binary").loss(np.zeros(6)) == pytest.approx(np.log(2),
                                                                                    rel=1e-15)
    X, y = make_problem("multinomial")
    obj = Obj(X, y, loss="multinomial")
    assert obj.loss(obj.zeros()) == pytest.approx(np.log(K), rel=1e-15)


def test_gradient_is_mean_of_residual_times_x():
    # ∇J = (1/m) Xᵀ(h − y) (binary) and (1/m)(O − Y)ᵀ X (softmax), written out directly.
    X, y = make_problem("binary", seed=11)
    obj = Obj(X, y, loss="binary", fit_intercept=False, penalty=None)
    theta = np.random.default_rng(11).normal(size=5)
    h = 1 / (1 + np.exp(-X @ theta))
    assert_allclose(obj.gradient(theta), X.T @ (h - y) / len(y), rtol=1e-13)
    assert_allclose(obj.hessian(theta), X.T @ (X * (h * (1 - h))[:, None]) / len(y), rtol=1e-13)
    X, y = make_problem("multinomial", seed=11)
    obj = Obj(X, y, loss="multinomial", fit_intercept=False, penalty=None)
    Theta = np.random.default_rng(12).normal(size=(K, 5))
    Z = X @ Theta.T
    O = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    Y = np.eye(K)[y]
    assert_allclose(obj.gradient(Theta.ravel()), ((O - Y).T @ X / len(y)).ravel(), rtol=1e-13)
    assert obj.loss(Theta.ravel()) == pytest.approx(-np.mean(np.log(O[np.arange(40), y])),
                                                    rel=1e-13)


def test_l2_penalty_follows_sklearn_C_scaling_and_spares_the_intercept():
    X, y = make_problem("multinomial", seed=13)
    s = weights(40, 13)
    C = 0.3
    with_pen = Obj(X, y, loss="multinomial", sample_weight=s, penalty="l2", C=C)
    without = Obj(X, y, loss="multinomial", sample_weight=s, penalty=None)
    theta = np.random.default_rng(13).normal(size=with_pen.n_params)
    W, b = with_pen.unpack(theta)
    assert with_pen.penalty.l2 == pytest.approx(1 / (C * s.sum()), rel=1e-14)
    expected = np.sum(W ** 2) / (2 * C * s.sum())
    assert with_pen.loss(theta) - without.loss(theta) == pytest.approx(expected, rel=1e-12)
    diff = with_pen.gradient(theta) - without.gradient(theta)
    assert_allclose(diff, with_pen.pack(W / (C * s.sum()), np.zeros(K)), rtol=1e-12, atol=1e-15)
    dH = with_pen.hessian(theta) - without.hessian(theta)
    assert_allclose(dH, np.diag(with_pen.penalized_mask / (C * s.sum())), atol=1e-14)


@pytest.mark.parametrize("penalty, l1_ratio, rho", [("l1", None, 1.0), ("elasticnet", 0.25, 0.25)])
def test_l1_parts(penalty, l1_ratio, rho):
    X, y = make_problem("binary", seed=14)
    C = 2.0
    obj = Obj(X, y, penalty=penalty, C=C, l1_ratio=l1_ratio)
    smooth = Obj(X, y, penalty=None)
    theta = np.random.default_rng(14).normal(size=6)
    W, _ = obj.unpack(theta)
    assert obj.penalty.l1 == pytest.approx(rho / (C * 40))
    assert obj.penalty.l2 == pytest.approx((1 - rho) / (C * 40))
    assert obj.loss(theta) == pytest.approx(smooth.loss(theta) + obj.penalty.l2 / 2 * np.sum(W**2))
    # objective_value adds λ₁‖W‖₁, intercept excluded.
    assert obj.objective_value(theta) == pytest.approx(obj.loss(theta)
                                                       + obj.penalty.l1 * np.abs(W).sum())


# --- invariants ----------------------------------------------------------------------------


def _compare(a, b, theta, rtol=1e-12):
    assert a.loss(theta) == pytest.approx(b.loss(theta), rel=rtol)
    assert_allclose(a.gradient(theta), b.gradient(theta), rtol=rtol, atol=1e-15)
    assert_allclose(a.hessian(theta), b.hessian(theta), rtol=rtol, atol=1e-15)
    v = np.random.default_rng(0).normal(size=theta.shape)
    assert_allclose(a.hessian_product(theta, v), b.hessian_product(theta, v), rtol=rtol,
                    atol=1e-15)


@pytest.mark.parametrize("layout", ["dense-C", "csr"])
@pytest.mark.parametrize("soft", [False, True], ids=["hard", "soft"])
@pytest.mark.parametrize("loss", ["binary", "multinomial"])
def test_weight_two_equals_repeating_the_row(loss, soft, layout):
    X, y = make_problem(loss, soft=soft, layout=layout, seed=21)
    Xd = dense(X)
    rows = np.r_[np.arange(40), 0, 5]  # rows 0 and 5 twice
    Xrep = LAYOUTS[layout](Xd[rows])
    s = np.ones(40)
    s[[0, 5]] = 2.0
    # With the same Σs (42) the penalty is the same too, so the L2 term can stay on.
    a = Obj(X, y, loss=loss, sample_weight=s, C=0.5)
    b = Obj(Xrep, y[rows], loss=loss, C=0.5)
    assert a.sw_sum == b.sw_sum == 42
    _compare(a, b, np.random.default_rng(21).normal(size=a.n_params))



@pytest.mark.parametrize("loss", ["binary", "multinomial"])
def test_uniform_weight_scales_like_C(loss):
    # scikit-learn's C Σ sᵢℓᵢ + ½‖W‖²: multiplying every weight by 2 is the same as doubling C.
    # In our normalisation the mean loss is unchanged and the penalty 1/(2CΣs) halves.
    X, y = make_problem(loss, seed=25)
    a = Obj(X, y, loss=loss, sample_weight=2.0, C=0.4)
    b = Obj(X, y, loss=loss, C=0.8)
    _compare(a, b, np.random.default_rng(25).normal(size=a.n_params))

@pytest.mark.parametrize("loss", ["binary", "multinomial"])
def test_intercept_equals_column_of_ones(loss):
    X, y = make_problem(loss, seed=22)
    X1 = np.column_stack([X, np.ones(40)])
    # The flat layout [W | b] per logit row is exactly the layout of coefficients on [X | 1].
    a = Obj(X, y, loss=loss, fit_intercept=True, penalty=None)
    b = Obj(X1, y, loss=loss, fit_intercept=False, penalty=None)
    theta = np.random.default_rng(22).normal(size=a.n_params)
    _compare(a, b, theta)
    # With an L2 penalty they differ only because the intercept is not penalised: the column
    # of ones' coefficient is, and by exactly λ b²/2 in J and λ b in the gradient.
    a = Obj(X, y, loss=loss, fit_intercept=True, C=0.5)
    b = Obj(X1, y, loss=loss, fit_intercept=False, C=0.5)
    lam = a.penalty.l2
    _, bias = a.unpack(theta)
    assert b.loss(theta) - a.loss(theta) == pytest.approx(lam / 2 * np.sum(bias ** 2), rel=1e-10)
    expected = np.where(a.penalized_mask, 0.0, lam * theta)
    assert_allclose(b.gradient(theta) - a.gradient(theta), expected, atol=1e-15)


@pytest.mark.parametrize("layout", ["csr", "csc"])
@pytest.mark.parametrize("loss", ["binary", "multinomial"])
def test_dense_equals_sparse(loss, layout):
    X, y = make_problem(loss, layout=layout, seed=23)
    a = Obj(X, y, loss=loss, sample_weight=weights(40, 23), C=0.8)
    b = Obj(dense(X), y, loss=loss, sample_weight=weights(40, 23), C=0.8)
    assert a.design.kind.startswith("sparse") and b.design.kind == "dense"
    _compare(a, b, np.random.default_rng(23).normal(size=a.n_params))


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_k2_softmax_equals_logistic_with_theta_difference(fit_intercept):
    X, y = make_problem("binary", seed=24)
    yi = y.astype(int)
    soft = Obj(X, yi, loss="multinomial", n_classes=2, fit_intercept=fit_intercept,
                           penalty=None)
    logi = Obj(X, y, loss="binary", fit_intercept=fit_intercept, penalty=None)
    P = 2 * np.random.default_rng(24).normal(size=(2, 5 + fit_intercept))  # rows (θ₀, θ₁)
    theta = P[1] - P[0]
    z_soft, z_log = soft.logits(P.ravel()), logi.logits(theta)
    assert_allclose(MultinomialCrossEntropy().predict_proba(z_soft),
                    BinaryCrossEntropy().predict_proba(z_log), rtol=1e-13)
    assert soft.loss(P.ravel()) == pytest.approx(logi.loss(theta), rel=1e-13)
    # ∂E/∂θ₁ = ∇J(θ₁ − θ₀) and ∂E/∂θ₀ = −∇J(θ₁ − θ₀).
    G = soft.gradient(P.ravel()).reshape(2, -1)
    assert_allclose(G[1], logi.gradient(theta), rtol=1e-12, atol=1e-16)
    assert_allclose(G[0], -logi.gradient(theta), rtol=1e-12, atol=1e-16)
    # The Hessian: the logistic one appears as ±H in the four blocks.
    Hs = soft.hessian(P.ravel())
    Hl = logi.hessian(theta)
    q = 5 + fit_intercept
    assert_allclose(Hs[q:, q:], Hl, rtol=1e-12, atol=1e-16)
    assert_allclose(Hs[:q, q:], -Hl, rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("loss", ["binary", "multinomial"])
def test_float32_stays_float32(loss, layout):
    X, y = make_problem(loss, layout=layout, dtype=np.float32, soft=True, seed=25)
    obj = Obj(X, y, loss=loss, sample_weight=weights(40, 25))
    assert obj.dtype == np.float32
    theta = np.random.default_rng(25).normal(size=obj.n_params)  # float64 in, float32 out
    assert obj.zeros().dtype == np.float32
    assert obj.logits(theta).dtype == np.float32
    value, grad = obj.loss_gradient(theta)
    assert isinstance(value, float)
    assert grad.dtype == np.float32 and obj.gradient(theta).dtype == np.float32
    assert obj.hessian_product(theta, theta).dtype == np.float32
    assert obj.hessian(theta).dtype == np.float32
    assert obj.y.dtype == np.float32 and obj.sample_weight.dtype == np.float32


def test_soft_one_hot_targets_equal_hard_labels():
    X, y = make_problem("multinomial", seed=26)
    hard = Obj(X, y, loss="multinomial")
    onehot = Obj(X, np.eye(K)[y], loss="multinomial")
    _compare(hard, onehot, np.random.default_rng(26).normal(size=hard.n_params), rtol=1e-14)
    X, y = make_problem("binary", seed=26)
    hard = Obj(X, y.astype(int), loss="binary")
    two_col = Obj(X, np.eye(2)[y.astype(int)], loss="binary")
    _compare(hard, two_col, np.random.default_rng(26).normal(size=hard.n_params), rtol=1e-14)


def test_layout_pack_unpack_and_mask():
    X, y = make_problem("multinomial", seed=27)
    obj = Obj(X, y, loss="multinomial")
    assert obj.n_params == K * 6 and obj.n_logits == K and obj.n_features == 5
    W = np.arange(15.0).reshape(3, 5)
    b = np.array([-1.0, -2.0, -3.0])
    theta = obj.pack(W, b)
    assert_array_equal(theta.reshape(3, 6), np.column_stack([W, b]))
    W2, b2 = obj.unpack(theta)
    assert_array_equal(W2, W) and assert_array_equal(b2, b)
    assert_array_equal(obj.penalized_mask.reshape(3, 6), np.column_stack([np.ones((3, 5)),
                                                                          np.zeros(3)]))
    # The logits are X Wᵀ + b.
    assert_allclose(obj.logits(theta), X @ W.T + b, rtol=1e-14)
    no_b = Obj(X, y, loss="multinomial", fit_intercept=False)
    assert no_b.unpack(no_b.pack(W))[1] is None and no_b.penalized_mask.all()


def test_n_classes_inferred_or_given():
    X, y = make_problem("multinomial", seed=28)
    assert Obj(X, y, loss="multinomial").n_classes == 3
    assert Obj(X, y, loss="multinomial", n_classes=5).n_params == 5 * 6
    assert Obj(X, np.eye(4)[y], loss="multinomial").n_classes == 4


# --- bad input -----------------------------------------------------------------------------


def _bad(**changes):
    X, y = make_problem("multinomial", m=10, seed=29)
    args = dict(X=X, y=y, loss="multinomial")
    args.update(changes)
    X, y = args.pop("X"), args.pop("y")
    return lambda: Obj(X, y, **args)


def _with(value, index=(0, 0)):
    X, _ = make_problem("multinomial", m=10, seed=29)
    X[index] = value
    return X


@pytest.mark.parametrize("make, match", [
    (_bad(y=np.zeros(9, int)), "10 rows but y has 9"),
    (_bad(y=np.array(1)), "10 rows"),
    (_bad(X=_with(np.nan)), "1 NaN"),
    (_bad(X=_with(np.inf)), "1 infinite"),
    (_bad(X=sp.csr_matrix(_with(-np.inf))), "1 infinite"),
    (_bad(X=np.zeros(10)), "2-dimensional"),
    (_bad(X=np.zeros((0, 3)), y=np.zeros(0, int)), "no rows"),
    (_bad(X=np.full((10, 2), "a")), "numeric"),
    (_bad(y=np.arange(10) % 4, n_classes=3), r"labels must be class indices in 0\.\.2"),
    (_bad(y=-(np.arange(10) % 2)), r"class indices in 0\.\.1"),
    (_bad(y=np.full((10, 3), 0.5)), "must sum to 1"),
    (_bad(y=np.full(10, 0.5), loss="binary", sample_weight=-np.ones(10)), "non-negative"),
    (_bad(sample_weight=np.ones(9)), r"sample_weight has shape \(9,\)"),
    (_bad(sample_weight=np.zeros(10)), "sums to zero"),
    (_bad(sample_weight=np.full(10, np.nan)), "sample_weight contains NaN"),
    (_bad(C=0.0), "C must be a positive finite number"),
    (_bad(C=-1.0), "C must be a positive finite number"),
    (_bad(C=np.inf), "C must be a positive finite number"),
    (_bad(C="1"), "C must be a positive finite number"),
    (_bad(penalty="l3"), "penalty must be one of"),
    (_bad(penalty="elasticnet"), "elasticnet needs l1_ratio"),
    (_bad(penalty="elasticnet", l1_ratio=1.5), "elasticnet needs l1_ratio"),
    (_bad(loss="hinge"), "unknown loss"),
    (_bad(backend="gpu-magic"), "unknown backend"),
    (_bad(y=np.full(10, 2.0), loss="binary"), r"\[0, 1\]"),
])
def test_bad_input_raises_a_clear_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_numpy_scalar_C_is_accepted():
    X, y = make_problem("binary", seed=30)
    a = Obj(X, y, C=np.float32(0.5))
    b = Obj(X, y, C=0.5)
    assert a.penalty == b.penalty



@pytest.mark.parametrize("layout, dtype", [("dense-C", np.float64), ("csr", np.float32)],
                         ids=["dense-f64", "csr-f32"])
@pytest.mark.parametrize("loss", ["binary", "multinomial"])
def test_auto_backend_agrees_with_reference(loss, layout, dtype):
    # Whatever fast backend is registered for "auto" (fused kernels …) must compute the same
    # objective as the reference path: to rounding in float64, to float32 rounding in float32.
    # (A contract check from the core's side; the backends' own tests cover their whole grid.)
    X, y = make_problem(loss, layout=layout, dtype=dtype, soft=True, seed=31)
    s = weights(40, 31)
    auto = Obj(X, y, loss=loss, sample_weight=s, C=0.7, backend="auto")
    ref = Obj(X, y, loss=loss, sample_weight=s, C=0.7, backend="reference")
    rng = np.random.default_rng(31)
    theta, v = rng.normal(size=(2, ref.n_params))
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    value, grad = auto.loss_gradient(theta)
    assert value == pytest.approx(ref.loss(theta), rel=rtol)
    assert grad.dtype == dtype
    assert np.linalg.norm(grad - ref.gradient(theta)) <= rtol * np.linalg.norm(ref.gradient(theta))
    hv_auto, hv_ref = auto.hessian_product(theta, v), ref.hessian_product(theta, v)
    assert np.linalg.norm(hv_auto - hv_ref) <= rtol * np.linalg.norm(hv_ref)
    H_auto, H_ref = auto.hessian(theta), ref.hessian(theta)
    assert np.linalg.norm(H_auto - H_ref) <= rtol * np.linalg.norm(H_ref)


@pytest.mark.parametrize("loss, K", [("binary", 2), ("multinomial", 3)])
def test_hessian_is_the_kronecker_product_in_the_flat_layout(loss, K):
    """∇²J = (1/Σs) Σᵢ sᵢ Hᵢ ⊗ x̃ᵢx̃ᵢᵀ with the class index outer, as the layout
    θ.reshape(k, p+1) = [W | b] implies (docs/derivation.md)."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((4, 2))
    s = rng.uniform(0.5, 2.0, 4)
    y = rng.integers(0, K, 4)
    obj = Obj(X, y.astype(float) if loss == "binary" else y, loss=loss, n_classes=K,
              sample_weight=s, penalty=None)
    theta = rng.standard_normal(obj.n_params)
    factors = obj.loss_fn.hessian_factors(obj.logits(theta))
    expected = np.zeros((obj.n_params, obj.n_params))
    for i in range(4):
        if loss == "binary":
            Hz = np.array([[factors[i]]])
        else:
            o = factors[i]
            Hz = np.diag(o) - np.outer(o, o)
        xt = np.append(X[i], 1.0)
        expected += s[i] * np.kron(Hz, np.outer(xt, xt))
    np.testing.assert_allclose(obj.hessian(theta), expected / s.sum(), rtol=1e-12, atol=1e-15)


def test_finite_check_accepts_values_whose_sum_overflows():
    """The fast finiteness check sums X; a finite X whose sum overflows must still pass."""
    X = np.full((6, 2), 1e308)
    obj = Obj(X, np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0]), penalty=None)
    assert obj.n_samples == 6


@pytest.mark.parametrize("layout", ["C", "F", "strided", "csr"])
def test_finite_check_counts_bad_entries_across_blocks(layout):
    """Bad entries are counted exactly, also when they fall in different blocks (64-byte
    blocks here) and whatever the memory layout."""
    from softlogit.data.base import check_finite_values

    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 8))
    X[0, 0] = np.nan
    X[49, 7] = np.inf
    X[20, 3] = -np.inf
    if layout == "F":
        X = np.asfortranarray(X)
    elif layout == "strided":
        wide = np.zeros((50, 16))
        wide[:, ::2] = X
        X = wide[:, ::2]
        assert not X.flags.contiguous
    elif layout == "csr":
        X = sp.csr_matrix(X)
    values = X.data if sp.issparse(X) else X
    with pytest.raises(ValueError, match="X contains 1 NaN and 2 infinite values"):
        check_finite_values(values, block_bytes=64)
    with pytest.raises(ValueError, match="X contains 1 NaN and 2 infinite values"):
        Obj(X, rng.integers(0, 2, 50).astype(float))
