"""The dense binary kernels with the production block sizes (tests/test_kernels.py shrinks
them to 6 rows): blocks of a multiple of 8 rows, short last blocks, odd widths, against the
plain NumPy reference objective (``backend="reference"``) and across thread counts."""

import numba
import numpy as np
import pytest

from softlogit.kernels import blocks, partition, vecmath
from softlogit.objective import LinearObjective


def _fast_and_reference(X, rng):
    """The kernels' objective on X and the plain reference on X in float64, with soft targets
    in [0, 1] (every third one rounded to 0 or 1), weights and C = 0.7; and the tolerance."""
    m = X.shape[0]
    y = rng.random(m)
    y[::3] = np.round(y[::3])
    kw = dict(loss="binary", sample_weight=rng.uniform(0.1, 3.0, m), C=0.7)
    fast = LinearObjective(X, y, backend="auto", **kw)
    ref = LinearObjective(X.astype(np.float64), y, backend="reference", **kw)
    tol = (dict(rtol=2e-6, atol=2e-6) if X.dtype == np.float32
           else dict(rtol=1e-11, atol=1e-12))
    return fast, ref, tol


def test_binary_block_rows_are_multiples_of_eight():
    for dtype_size in (4, 8):
        for p in range(1, 700):
            B = partition.binary_block_rows(p * dtype_size)
            assert B % 8 == 0 and partition.MIN_BLOCK_ROWS <= B <= partition.MAX_BLOCK_ROWS
            assert B <= max(partition.MIN_BLOCK_ROWS, partition.block_rows(p * dtype_size))
    assert partition.binary_block_rows(80 * 8) == 24  # 16 KiB / 640 B = 25 rows → 24
    assert partition.binary_block_rows(100 * 8) == 16  # 20 rows → 16


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("p", [1, 3, 5, 7, 50, 81, 100])
def test_binary_loss_gradient_matches_reference(dtype, p):
    # m: two chunks of rows (MIN_CHUNK_ROWS = 2048), neither a multiple of the block rows
    m = 4099
    rng = np.random.default_rng(p)
    X = rng.standard_normal((m, p)).astype(dtype)
    fast, ref, tol = _fast_and_reference(X, rng)
    assert fast.design.kind == "numba-dense"
    for scale in (1.0, 30.0, 1e4):  # ordinary, saturated (|z| ~ 10²) and extreme logits
        theta = rng.standard_normal(fast.n_params) * scale / np.sqrt(p)
        f, g = fast.loss_gradient(theta)
        f_ref, g_ref = ref.loss_gradient(theta)
        assert np.isfinite(f) and np.all(np.isfinite(g))
        np.testing.assert_allclose(f, f_ref, **tol)
        np.testing.assert_allclose(g, g_ref, **tol)
        numba.set_num_threads(1)
        try:
            f1, g1 = fast.loss_gradient(theta)
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        assert f1 == f and np.array_equal(g1, g)  # the same bits whatever the thread count


def _ulps(got, ref):
    return np.abs(got - ref) / np.spacing(np.abs(ref))


@numba.njit
def _log1p_shared(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        u = 1.0 + x[i]
        out[i] = vecmath.log1p_inv_scalar(x[i], u, 1.0 / u)
    return out


def test_log1p_with_shared_reciprocal_within_two_ulps():
    # the binary loss's arguments: e = exp(-|z|) ∈ [0, 1], tiny ones included
    rng = np.random.default_rng(11)
    x = np.concatenate([
        rng.uniform(0.0, 1.0, 200_000),
        np.exp(-rng.uniform(0.0, 745.0, 100_000)),
        [5e-324, 1e-300, 1e-17, 2.0**-53, 2.0**-52, np.sqrt(2) - 1, 0.5, 1.0],
    ])
    got, ref = _log1p_shared(x), np.log1p(x)
    nonzero = ref != 0
    assert _ulps(got[nonzero], ref[nonzero]).max() <= 2.0
    np.testing.assert_array_equal(got[~nonzero], ref[~nonzero])
    assert _log1p_shared(np.array([0.0]))[0] == 0.0


def test_binary_rows_match_float64_formulas_for_every_logit():
    # n = 4099: a scalar tail after the four-row vectors; logits from 0 to the float range
    rng = np.random.default_rng(12)
    n = 4099
    z = np.concatenate([rng.standard_normal(1000), rng.uniform(-40, 40, 1000),
                        rng.uniform(-800, 800, 1000), 10.0 ** rng.uniform(-300, 308, 1099)])
    z *= np.where(rng.random(n) < 0.5, -1.0, 1.0)
    z[:6] = [0.0, -0.0, 1.7e308, -1.7e308, 5e-324, -5e-324]
    y = rng.random(n)
    y[::2] = np.round(y[::2])
    s = rng.uniform(0.1, 1.0, n)  # ≤ 1: s·|z| itself stays finite at |z| = 1.7e308
    loss, d = np.empty(n), np.empty(n)
    with np.errstate(all="raise"):
        blocks.binary_rows(z, y, s, 0, n, loss, d)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(d))
    # reference with NumPy's libm: e = e^{-|z|}, log1p(e), σ(−|z|) by a correctly rounded division
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(z))
    q = e / (1.0 + e)
    ref_l = s * ((1 - y) * np.maximum(z, 0) + y * np.maximum(-z, 0) + np.log1p(e))
    ref_d = s * np.where(z >= 0, (1 - y) - q, q - y)
    np.testing.assert_allclose(loss, ref_l, rtol=4e-16 * 8, atol=0)
    # d = (1−y) − q or q − y: a difference, so its error is measured on the scale of its terms
    eps = np.finfo(np.float64).eps
    assert np.all(np.abs(d - ref_d) <= 4 * eps * s * (np.abs(1 - y) + y + q))
    # the coefficient's sigmoid part alone: q = e·(1/(1+e)) within 2 ulps of e/(1+e)
    yq = np.zeros(n)
    blocks.binary_rows(np.abs(z), yq, np.ones(n), 0, n, loss, d)  # z ≥ 0, y = 0: d = 1 − q
    blocks.binary_rows(-np.abs(z), yq, np.ones(n), 0, n, loss, d)  # z < 0 (and −0), y = 0: d = q
    keep = (z != 0) & (q != 0)
    assert _ulps(d[keep], q[keep]).max() <= 2.0



@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_logits_prefetch_hints_change_nothing(dtype):
    # the hints ahead of the rows read: near, half a block, and far past the end of X (no fault)
    rng = np.random.default_rng(14)
    X = rng.standard_normal((203, 37)).astype(dtype)
    W = rng.standard_normal((1, 37))
    expected = X.astype(np.float64) @ W[0] + 0.25
    outs = []
    for ahead in (1, 20, 10**9):
        z = np.empty(203)
        blocks.binary_logits(X, 0, 203, W, 0.25, z, ahead)
        outs.append(z)
    np.testing.assert_allclose(outs[0], expected, rtol=1e-13, atol=1e-13)
    assert all(np.array_equal(o, outs[0]) for o in outs[1:])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_update_with_hints_past_the_end_of_x(dtype):
    # the update asks for the rows one block further on: for the last blocks of X those lie
    # past its end (no fault); the sums are those of four rows at a time, then one by one
    rng = np.random.default_rng(15)
    X = rng.standard_normal((203, 37)).astype(dtype)
    d = rng.standard_normal(203)
    for r0, n in [(0, 40), (160, 40), (183, 20), (200, 3)]:
        g = np.zeros(37)
        blocks.binary_update(X, r0, n, d, g)
        expected = d[:n] @ X[r0:r0 + n].astype(np.float64)
        np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("p", [300, 9000])  # fused scatter, and the two-phase CSC path
def test_binary_csr_loss_gradient_matches_reference(dtype, p):
    # production block sizes (multiples of 8 rows, scalar-free loss loop) with a short last
    # block in each of several chunks; soft targets, weights, ordinary to extreme logits
    import scipy.sparse as sp

    m = 4099
    rng = np.random.default_rng(p + 1)
    X = sp.random(m, p, density=21 / p, format="csr", random_state=rng, dtype=np.float64)
    X.data = rng.standard_normal(X.nnz)
    X = X.astype(dtype)
    fast, ref, tol = _fast_and_reference(X, rng)
    assert fast.design.kind == "numba-sparse-csr"
    assert (fast.design._transpose_for(1) is not None) == (p == 9000)
    for scale in (1.0, 30.0, 1e4):
        theta = rng.standard_normal(fast.n_params) * scale / np.sqrt(21)
        f, g = fast.loss_gradient(theta)
        f_ref, g_ref = ref.loss_gradient(theta)
        assert np.isfinite(f) and np.all(np.isfinite(g))
        np.testing.assert_allclose(f, f_ref, **tol)
        np.testing.assert_allclose(g, g_ref, **tol)
        W, b = fast.unpack(theta)
        numba.set_num_threads(1)
        try:
            one = fast.design.fused_loss_gradient("binary", W, b, fast.y, fast.sample_weight)
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        two = fast.design.fused_loss_gradient("binary", W, b, fast.y, fast.sample_weight)
        assert one[0] == two[0]
        assert np.array_equal(one[1], two[1]) and np.array_equal(one[2], two[2])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("p", [50, 100, 150])  # both Hessian-product kernels, by row width
def test_binary_hessian_product_matches_reference(dtype, p):
    m = 4099
    rng = np.random.default_rng(p + 7)
    X = rng.standard_normal((m, p)).astype(dtype)
    fast, ref, tol = _fast_and_reference(X, rng)
    # p = 50 float64 and 100 float32 take the four-row kernel, the others the blocks
    for scale in (1.0, 30.0):
        theta = rng.standard_normal(fast.n_params) * scale / np.sqrt(p)
        v = rng.standard_normal(fast.n_params)
        hv = fast.hessian_product(theta, v)
        np.testing.assert_allclose(hv, ref.hessian_product(theta, v), **tol)
        numba.set_num_threads(1)
        try:
            hv1 = fast.hessian_product(theta, v)
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        assert np.array_equal(hv1, hv)
