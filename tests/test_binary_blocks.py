"""The dense binary kernels with the production block sizes (tests/test_kernels.py shrinks
them to 6 rows): blocks of a multiple of 4 rows, short last blocks, odd widths, against the
plain NumPy reference objective (``backend="reference"``) and across thread counts."""

import numba
import numpy as np
import pytest

from softlogit.kernels import partition
from softlogit.objective import LinearObjective


def test_binary_block_rows_are_multiples_of_four():
    for dtype_size in (4, 8):
        for p in range(1, 700):
            B = partition.binary_block_rows(p * dtype_size)
            assert B % 4 == 0 and partition.MIN_BLOCK_ROWS <= B <= partition.MAX_BLOCK_ROWS
            assert B <= max(partition.MIN_BLOCK_ROWS, partition.block_rows(p * dtype_size))
    assert partition.binary_block_rows(80 * 8) == 24  # 16 KiB / 640 B = 25 rows → 24


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("p", [1, 3, 5, 7, 50, 81])
def test_binary_loss_gradient_matches_reference(dtype, p):
    # m: two chunks of rows (MIN_CHUNK_ROWS = 2048), neither a multiple of the block rows
    m = 4099
    rng = np.random.default_rng(p)
    X = rng.standard_normal((m, p)).astype(dtype)
    y = rng.random(m)  # soft targets in [0, 1]
    y[::3] = np.round(y[::3])
    sw = rng.uniform(0.1, 3.0, m)
    kw = dict(loss="binary", sample_weight=sw, C=0.7)
    fast = LinearObjective(X, y, backend="auto", **kw)
    ref = LinearObjective(X.astype(np.float64), y, backend="reference", **kw)
    assert fast.design.kind == "numba-dense"
    tol = dict(rtol=2e-6, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)
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
