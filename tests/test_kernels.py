"""The fused Numba kernels (softlogit.kernels) against the reference NumPy/SciPy path.

Every fused hook is compared with the reference design on the same data: float32 and float64,
dense C- and F-ordered and CSR (both CSR paths: fused row kernels and the two-phase path
through a CSC copy, "csr-T"), binary and softmax (K = 2 and K > 2, class indices and
probability rows), with and without sample weights and intercept, on shapes that exercise the
chunk and block edges (m not a multiple of anything, m smaller than a chunk, p = 1). Float32
input is compared with the float64 reference on the same values, since the kernels accumulate
in float64. Results must be bitwise identical for one and two threads. The vectorised
``exp``/``log1p`` of :mod:`softlogit.kernels.vecmath` are checked against NumPy (whose libm
nobody here wrote) in ulps over their whole range.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numba
import numpy as np
import pytest
import scipy.sparse as sp

from softlogit.data import DenseDesign, SparseDesign, as_design
import warnings

from softlogit.kernels import (
    NumbaCSRDesign, NumbaDenseDesign, dense, designs, gram, partition, sparse, threads, tiles,
    vecmath, wide_tiles,
)
from softlogit.objective import LinearObjective


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    """Shrink chunks and copy blocks so that small test matrices span many of them."""
    monkeypatch.setattr(partition, "MIN_CHUNK_ROWS", 5)
    monkeypatch.setattr(partition, "MAX_CHUNKS", 9)
    monkeypatch.setattr(designs, "COPY_BLOCK_BYTES", 256)
    # blocks of 6 rows inside a chunk: the four-row steps, a tail of 2, several blocks a chunk
    monkeypatch.setattr(partition, "BLOCK_BYTES", 1)
    monkeypatch.setattr(partition, "MIN_BLOCK_ROWS", 6)
    monkeypatch.setattr(threads, "INLINE_WORK", 0)  # small calls still go to the threads


def _csr_path(layout, monkeypatch):
    """"csr-T": make every CSR design wide enough for the two-phase path (CSC copy)."""
    if layout == "csr-T":
        monkeypatch.setattr(sparse, "FUSED_MAX_WIDTH", 0)
        monkeypatch.setattr(partition, "MIN_CHUNK_ROWS", 1)  # even 3 rows span chunks


def _data(rng, m, p, dtype, layout, density=0.3):
    X = rng.standard_normal((m, p))
    if layout.startswith("csr"):
        X = sp.random(m, p, density=density, format="csr", random_state=rng,
                      data_rvs=rng.standard_normal)
        X.data = X.data.astype(dtype)
        return X.astype(dtype)
    return np.asarray(X, dtype=dtype, order="F" if layout == "F" else "C")


def _targets(rng, loss, m, K, soft):
    if loss == "binary":
        return rng.random(m) if soft else (rng.random(m) < 0.5).astype(float)
    if soft:
        return rng.dirichlet(np.ones(K), size=m)
    return rng.integers(0, K, m)


def _as64(X):
    return X.astype(np.float64) if sp.issparse(X) else np.asarray(X, dtype=np.float64)


def _pair(X, y, loss, K, weights, intercept, rng, penalty="l2"):
    """(fast objective on X, float64 reference objective on the same values)."""
    m = X.shape[0]
    sw = rng.uniform(0.1, 3.0, m) if weights else None
    kw = dict(loss=loss, n_classes=None if loss == "binary" else K, sample_weight=sw,
              fit_intercept=intercept, penalty=penalty, C=0.7)
    fast = LinearObjective(X, y, backend="auto", **kw)
    ref = LinearObjective(_as64(X), y, backend="reference", **kw)
    return fast, ref


def _tol(dtype):
    # float32 results are rounded once to float32 at the end (values accumulate in float64)
    return dict(rtol=2e-6, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)


CASES = [
    # (m, p, K): odd m, m < one chunk, p = 1, K = 2 and K > 2
    (103, 7, 3),
    (3, 5, 4),
    (61, 1, 2),
    (250, 33, 10),  # K = 10: an 8-class and a 4-class tile (packed width 12); AVX-512: 16
    (129, 19, 7),  # K = 7: one 8-class group (both tile widths)
    (97, 11, 17),  # K = 17: 8 + 12 classes (Kp = 20); AVX-512: a 16- and an 8-class group
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layout", ["C", "F", "csr", "csr-T"])
@pytest.mark.parametrize("loss,soft", [("binary", False), ("binary", True),
                                       ("multinomial", False), ("multinomial", True)])
@pytest.mark.parametrize("shape", CASES)
def test_loss_gradient_and_hessian_product_match_reference(dtype, layout, loss, soft, shape,
                                                           monkeypatch):
    m, p, K = shape
    _csr_path(layout, monkeypatch)
    rng = np.random.default_rng(hash((m, p, K, layout, loss, soft)) % 2**32)
    X = _data(rng, m, p, dtype, layout)
    y = _targets(rng, loss, m, K, soft)
    for weights, intercept in [(False, True), (True, False), (True, True)]:
        fast, ref = _pair(X, y, loss, K, weights, intercept, rng)
        expected_kind = "numba-sparse-csr" if layout.startswith("csr") else "numba-dense"
        assert fast.design.kind == expected_kind
        theta = rng.standard_normal(fast.n_params)
        v = rng.standard_normal(fast.n_params)
        f_fast, g_fast = fast.loss_gradient(theta)
        f_ref, g_ref = ref.loss_gradient(theta)
        assert g_fast.dtype == dtype
        np.testing.assert_allclose(f_fast, f_ref, **_tol(dtype))
        np.testing.assert_allclose(g_fast, g_ref, **_tol(dtype))
        # the fused hook alone, unnormalised, against the reference products
        W, b = fast.unpack(theta.astype(dtype))
        fused = fast.design.fused_loss_gradient(loss, W, b, fast.y, fast.sample_weight)
        assert fused is not None and fused[1].shape == (fast.n_logits, p)
        np.testing.assert_allclose(fast.hessian_product(theta, v), ref.hessian_product(theta, v),
                                   **_tol(dtype))
        if layout.startswith("csr"):  # the path the shape selects (m = 3 spans one chunk)
            assert (fast.design._transposed is not None) == (layout == "csr-T")
            W64 = rng.standard_normal((K, p))
            np.testing.assert_allclose(fast.design.dot(W64), _as64(X) @ W64.T, **_tol(dtype))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("shape", [(250, 33, 10), (129, 19, 7), (97, 11, 17), (61, 1, 2),
                                   (300, 50, 3)])
def test_softmax_kernels_are_the_same_on_both_tile_widths(dtype, soft, shape, monkeypatch):
    """The dense softmax drivers take the eight-lane, class-major path where Numba compiles for
    AVX-512 (``dense.WIDE``) and the four-lane one elsewhere: a machine runs only one of them
    in production, so both are run here, bitwise equal and equal to the reference."""
    m, p, K = shape
    rng = np.random.default_rng(hash((m, p, K, soft)) % 2**32)
    X = _data(rng, m, p, dtype, "C")
    y = _targets(rng, "multinomial", m, K, soft)
    fast, ref = _pair(X, y, "multinomial", K, True, True, rng)
    theta, v = rng.standard_normal(fast.n_params), rng.standard_normal(fast.n_params)
    out = []
    for wide in (False, True):
        monkeypatch.setattr(dense, "WIDE", wide)
        fast.forget_data_terms()
        f, g = fast.loss_gradient(theta)
        out.append((f, g, fast.hessian_product(theta, v)))
    f_ref, g_ref = ref.loss_gradient(theta)
    np.testing.assert_allclose(out[0][0], f_ref, **_tol(dtype))
    np.testing.assert_allclose(out[0][1], g_ref, **_tol(dtype))
    np.testing.assert_allclose(out[0][2], ref.hessian_product(theta, v), **_tol(dtype))
    assert out[0][0] == out[1][0]
    np.testing.assert_array_equal(out[0][1], out[1][1])
    np.testing.assert_array_equal(out[0][2], out[1][2])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss,K", [("binary", 2), ("multinomial", 3)])
@pytest.mark.parametrize("path", ["one-block", "many-blocks"])
def test_full_hessian_gram_matches_reference(dtype, loss, K, path, monkeypatch):
    # Blocked BLAS over one block, or over blocks of 256 rows, where the syrk path (d ≥ 0,
    # diagonal blocks; d ≤ 0, softmax off-diagonal blocks) accumulates over several blocks.
    if path == "many-blocks":
        monkeypatch.setattr(gram, "GRAM_BLOCK_BYTES", 1)
    rng = np.random.default_rng(7)
    X = _data(rng, 700, 9, dtype, "C")
    y = _targets(rng, loss, 700, K, soft=False)
    fast, ref = _pair(X, y, loss, K, weights=True, intercept=True, rng=rng)
    theta = rng.standard_normal(fast.n_params) * 0.5
    H = fast.hessian(theta)
    rtol = 1e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(H, ref.hessian(theta), rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_array_equal(H, H.T)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("signs", ["nonnegative", "nonpositive", "mixed"])
@pytest.mark.parametrize("part_rows", [2048, 150])
def test_dense_gram_matches_float64_products(dtype, signs, part_rows, monkeypatch):
    # Every sign branch of the BLAS Gram (syrk of √d·X, −syrk of √(−d)·X, gemm), over several
    # blocks and a shorter last one, in one row part or four, against NumPy in float64 on the
    # same (widened) values: float32 X gets the float64 accuracy because the scaled block is
    # float64.
    monkeypatch.setattr(gram, "GRAM_BLOCK_BYTES", 1)
    monkeypatch.setattr(gram, "MIN_PART_ROWS", part_rows)
    rng = np.random.default_rng(11)
    X = rng.standard_normal((700, 13)).astype(dtype)
    d = {"nonnegative": rng.random(700), "nonpositive": -rng.random(700),
         "mixed": rng.standard_normal(700)}[signs]
    d[::7] = 0.0
    H, xtd, total = gram.dense_gram(X, d)
    X64 = X.astype(np.float64)
    np.testing.assert_allclose(H, X64.T @ (d[:, None] * X64), rtol=1e-12, atol=1e-11)
    np.testing.assert_allclose(xtd, X64.T @ d, rtol=1e-12, atol=1e-11)
    assert total == pytest.approx(d.sum(), rel=1e-14)
    np.testing.assert_array_equal(H, H.T)
    empty = gram.dense_gram(X[:0], d[:0])
    assert empty[0].shape == (13, 13) and not empty[0].any() and empty[2] == 0.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_products_match_numpy(dtype):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((301, 6)).astype(dtype)
    X64 = X.astype(np.float64)
    d = rng.standard_normal(301)  # mixed signs
    W = rng.standard_normal((3, 6))
    design = NumbaDenseDesign(X)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(design.gram(d), X64.T @ (d[:, None] * X64), **tol)
    np.testing.assert_allclose(design.wsum_rows(d), X64.T @ d, **tol)
    # a different d right after gram must not reuse the cached Xᵀd of the previous d
    design.gram(d)
    d2 = d + 1.0
    np.testing.assert_allclose(design.wsum_rows(d2), X64.T @ d2, **tol)
    np.testing.assert_allclose(design.dot(W), X64 @ W.T, **tol)
    assert design.dot(W).dtype == dtype


@pytest.mark.parametrize("order", ["C", "F"])
def test_column_scale_matches_numpy_without_copying_x(order):
    rng = np.random.default_rng(9)
    X = np.asarray(rng.normal(1e4, 2.0, size=(1000, 3)), order=order)  # large mean, small spread
    mean, std = NumbaDenseDesign(X).column_scale()
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(std, X.std(axis=0), rtol=1e-8)


def test_auto_picks_kernels_and_reference_stays_plain():
    X = np.ones((4, 2))
    assert isinstance(as_design(X), NumbaDenseDesign)
    assert isinstance(as_design(np.asfortranarray(X)), NumbaDenseDesign)
    assert isinstance(as_design(sp.csr_matrix(X)), NumbaCSRDesign)
    assert type(as_design(X, backend="reference")) is DenseDesign
    assert type(as_design(sp.csr_matrix(X), backend="reference")) is SparseDesign
    # CSC has no kernel: it stays on the reference sparse path
    assert type(as_design(sp.csc_matrix(X))) is SparseDesign


@pytest.mark.parametrize("layout", ["csr", "csr-T"])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("loss,K", [("binary", 2), ("multinomial", 5)])
def test_empty_rows_and_columns_and_index_dtypes(layout, index_dtype, loss, K, monkeypatch):
    _csr_path(layout, monkeypatch)
    rng = np.random.default_rng(11)
    X = _data(rng, 40, 9, np.float64, "csr", density=0.15)
    keep = np.ones(9)
    keep[[0, 4]] = 0.0  # empty columns, first and inner
    X = (X @ sp.diags(keep)).tocsr()
    X.eliminate_zeros()
    assert X.getnnz(axis=0)[[0, 4]].sum() == 0
    X.indices = X.indices.astype(index_dtype)
    X.indptr = X.indptr.astype(index_dtype)
    assert (np.diff(X.indptr) == 0).any()  # some rows have no stored entry
    y = _targets(rng, loss, 40, K, soft=False)
    fast, ref = _pair(X, y, loss, K, weights=True, intercept=True, rng=rng)
    theta = rng.standard_normal(fast.n_params)
    v = rng.standard_normal(fast.n_params)
    np.testing.assert_allclose(fast.loss_gradient(theta)[1], ref.loss_gradient(theta)[1],
                               rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(fast.hessian_product(theta, v), ref.hessian_product(theta, v),
                               rtol=1e-11, atol=1e-12)
    assert (fast.design._transposed is not None) == (layout == "csr-T")


def test_csc_copy_is_built_once_counted_as_one_pass_and_sized(monkeypatch):
    _csr_path("csr-T", monkeypatch)
    rng = np.random.default_rng(12)
    X = _data(rng, 60, 11, np.float32, "csr", density=0.2)
    fast, _ = _pair(X, _targets(rng, "binary", 60, 2, False), "binary", 2, weights=False,
                    intercept=True, rng=rng)
    design = fast.design
    assert design.transposed_nbytes == 0 and design.passes == 0
    theta = rng.standard_normal(fast.n_params)
    fast.loss_gradient(theta)
    assert design.passes == 2  # the copy's pass, then the loss pass
    hessp = fast.hessian_operator(theta)  # its factors: one logits pass
    hessp(theta)
    fast.loss_gradient(0.5 * theta)
    assert design.passes == 5  # no second copy
    C = X.tocsc()
    copy = design._transposed
    np.testing.assert_array_equal(copy.data, C.data)
    np.testing.assert_array_equal(copy.rows, C.indices)
    np.testing.assert_array_equal(copy.colptr, C.indptr)
    assert design.transposed_nbytes == X.nnz * (4 + 4) + 8 * (11 + 1)


def test_path_choice_depends_on_shape_only():
    # narrow X, or X of one chunk, stays fused; wide X spanning chunks goes two-phase
    assert not sparse.uses_transpose(60_000, 500, 1)
    assert not sparse.uses_transpose(4, 20_000, 1)  # one chunk (fixture: 5 rows a chunk)
    assert sparse.uses_transpose(60_000, 20_000, 1)
    assert sparse.uses_transpose(60_000, 2_000, 5)  # 8 lanes × 2,000 columns


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss", ["binary", "multinomial"])
@pytest.mark.parametrize("size", ["large", "huge"])
def test_extreme_logits_stay_finite(dtype, loss, size, monkeypatch):
    # |z| = 1e4, and 1e300 (3e38, float32's limit, for float32 parameters): confident right
    # and wrong predictions alike; no penalty, whose ‖w‖² would overflow legitimately.
    scale = 1e4 if size == "large" else (3e38 if dtype == np.float32 else 1e300)
    rng = np.random.default_rng(5)
    m, p, K = 50, 3, 4
    X = np.asarray(rng.choice([-1.0, 1.0], size=(m, p)), dtype=dtype)
    y = _targets(rng, loss, m, K, soft=False)
    for layout_X in (X, sp.csr_matrix(X), "csr-T"):
        if isinstance(layout_X, str):
            _csr_path(layout_X, monkeypatch)
            layout_X = sp.csr_matrix(X)
        fast, ref = _pair(layout_X, y, loss, K, weights=False, intercept=True, rng=rng,
                          penalty=None)
        theta = np.zeros(fast.n_params, dtype=dtype)
        W, _ = fast.unpack(theta)
        W[:, 0] = scale * np.linspace(-1, 1, W.shape[0]) if W.shape[0] > 1 else scale
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # no overflow/invalid warning
            f, g = fast.loss_gradient(theta)
            hv = fast.hessian_product(theta, np.ones(fast.n_params))
        f_ref, g_ref = ref.loss_gradient(theta)
        assert np.isfinite(f) and np.all(np.isfinite(g)) and np.all(np.isfinite(hv))
        np.testing.assert_allclose(f, f_ref, rtol=1e-6)
        np.testing.assert_allclose(g, g_ref, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("wide", [False, True])
@pytest.mark.parametrize("K", [1, 2, 3, 4, 7, 8, 10, 16, 20, 27])
def test_register_tiles_match_numpy(K, wide):
    # The 4-row × 8-class, 3 × 12 and (Kp = 4) 8-row / 8-column × 4-class tiles, and the
    # eight-lane logits (wide: 6- and 4-row × 16-class, 8 × 8-class; the update at a wide Kp
    # takes the four-lane tiles), their row and column remainders (n, p not multiples of 3, 4,
    # 6 or 8), at an offset into X, against
    # NumPy's products of the same values. Both paths run on every CPU (the wide one is only
    # chosen on AVX-512, where it is fast) and agree bitwise: same sums in the same order.
    rng = np.random.default_rng(K)
    Kp = tiles.dense_packed_width(K, wide)
    Kn = tiles.packed_width(K)
    for n, p in [(1, 1), (3, 5), (4, 4), (9, 7), (13, 2), (8, 8), (16, 9), (23, 19), (40, 100),
                 (81, 50)]:
        X = rng.standard_normal((n + 5, p))
        Wp = np.zeros((p, Kp))
        Wp[:, :K] = rng.standard_normal((p, K))
        Zp = np.full((n + 2, Kp), np.nan)  # rows past n must stay untouched
        tiles.packed_logits(X, 5, n, Wp, Zp, wide)
        np.testing.assert_allclose(Zp[:n], X[5:] @ Wp, rtol=1e-13, atol=1e-13)
        assert np.isnan(Zp[n:]).all()
        Zn = np.empty((n, Kn))
        tiles.packed_logits(X, 5, n, np.ascontiguousarray(Wp[:, :Kn]), Zn, False)  # Kn ≤ Kp
        np.testing.assert_array_equal(Zp[:n, :K], Zn[:, :K])
        Dp = np.zeros((n + 2, Kp))
        Dp[:n, :K] = rng.standard_normal((n, K))
        Gp = rng.standard_normal((p, Kp))
        Gn = np.ascontiguousarray(Gp[:, :Kn])
        expected = Gp + X[5:].T @ Dp[:n]
        tiles.packed_update(X, 5, n, Dp, Gp)
        np.testing.assert_allclose(Gp, expected, rtol=1e-13, atol=1e-13)
        tiles.packed_update(X, 5, n, np.ascontiguousarray(Dp[:, :Kn]), Gn)
        np.testing.assert_array_equal(Gp[:, :K], Gn[:, :K])


@pytest.mark.parametrize("K", [1, 3, 4, 7, 10, 17])
def test_class_major_update_matches_the_tiles_bitwise(K):
    # wide_tiles.update_cm (the AVX-512 path's update, lanes along the columns, from the
    # class-major coefficients) against NumPy and bitwise against the four-lane row-major
    # tiles: p from 1 to 57 covers the 24-, 8- and 4-column tiles and 1–3 single columns.
    rng = np.random.default_rng(100 + K)
    Kp = tiles.dense_packed_width(K, True)
    K4 = 4 * (-(-K // 4))
    Kn = tiles.packed_width(K)
    for n, p in [(1, 1), (3, 3), (5, 7), (8, 12), (13, 25), (40, 50), (81, 57), (17, 100)]:
        X = rng.standard_normal((n + 5, p))
        D = np.zeros((Kp, n + 3))
        D[:K, :n] = rng.standard_normal((K, n))
        G0 = np.zeros((Kp, p))
        G0[:K] = rng.standard_normal((K, p))
        G = G0.copy()
        wide_tiles.update_cm(X, 5, n, D, G, K4)
        np.testing.assert_allclose(G, G0 + D[:, :n] @ X[5:], rtol=1e-13, atol=1e-13)
        assert not G[K:].any()  # the padding classes stay zero
        Gp = np.ascontiguousarray(G0[:Kn].T)
        tiles.packed_update(X, 5, n, np.ascontiguousarray(D[:Kn].T), Gp)
        np.testing.assert_array_equal(G[:K], Gp[:, :K].T)


@pytest.mark.parametrize("Kp", [4, 8, 12, 16, 24])
def test_block_transposes_match_numpy(Kp):
    # The softmax stage's 4 × 4-shuffle transposes between the tiles' row-major (B4, Kp) and
    # the stage's class-major (Kp, B4) buffers, for n not a multiple of 4 (the last square is
    # copied whole) and buffers wider than the block; nothing past 4⌈n/4⌉ is touched.
    rng = np.random.default_rng(Kp)
    for n in [1, 3, 4, 5, 40, 81]:
        n4 = 4 * (-(-n // 4))
        Zp = rng.standard_normal((n4 + 4, Kp))
        Z = np.full((Kp, n4 + 8), np.nan)
        tiles.to_class_major(Zp, n, Z)
        np.testing.assert_array_equal(Z[:, :n4], Zp[:n4].T)
        assert np.isnan(Z[:, n4:]).all()
        Dp = np.full((n4 + 4, Kp), np.nan)
        tiles.to_row_major(Z, n, Dp)
        np.testing.assert_array_equal(Dp[:n4], Zp[:n4])
        assert np.isnan(Dp[n4:]).all()


def _ulps(got, ref):
    return np.abs(got - ref) / np.spacing(np.abs(ref))


def test_vectorised_exp_matches_numpy_within_two_ulps():
    rng = np.random.default_rng(8)
    x = np.concatenate([
        rng.uniform(-745.1, 709.78, 200_000),
        rng.uniform(-1.0, 1.0, 50_000),
        rng.uniform(-745.1, -708.4, 50_000),  # subnormal results
        [0.0, -0.0, 1e-300, -1e-300, 709.78, -708.39, -745.13],
    ])
    got, ref = vecmath.exp(x), np.exp(x)
    assert _ulps(got, ref).max() <= 2.0
    # edges: underflow to 0, overflow to inf (np.exp's own answers), NaN propagates
    edges = np.array([-745.2, -746.0, -1e300, -np.inf, 709.8, 1e300, np.inf])
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(vecmath.exp(edges), np.exp(edges))
    assert np.isnan(vecmath.exp(np.array([np.nan]))[0])


def test_vectorised_log1p_matches_numpy_within_two_ulps():
    rng = np.random.default_rng(9)
    x = np.concatenate([
        rng.uniform(0.0, 1.0, 200_000),  # what the sigmoid loss asks: log1p(e^{-|z|})
        10.0 ** rng.uniform(-320, 308, 100_000),  # tiny (subnormal too) to huge
        rng.uniform(-0.99, 0.0, 20_000),
        [5e-324, 1e-17, 1.0, 2.0**-53, np.sqrt(2) - 1, 1.7e308],
    ])
    got, ref = vecmath.log1p(x), np.log1p(x)
    nonzero = ref != 0
    assert _ulps(got[nonzero], ref[nonzero]).max() <= 2.0
    np.testing.assert_array_equal(got[~nonzero], ref[~nonzero])
    assert vecmath.log1p(np.array([np.inf]))[0] == np.inf


def _fingerprint_run():
    """Loss, gradients and Hessian products of a few problems, as one float64 vector."""
    rng = np.random.default_rng(2024)
    out = []
    default = sparse.FUSED_MAX_WIDTH
    for layout in ("C", "F", "csr", "csr-T"):
        sparse.FUSED_MAX_WIDTH = 0 if layout == "csr-T" else default
        for dtype in (np.float64, np.float32):
            X = _data(rng, 997, 13, dtype, layout)
            for loss, soft in (("binary", False), ("multinomial", False), ("multinomial", True)):
                y = _targets(rng, loss, 997, 10, soft)  # K = 10: both softmax tile widths
                obj = LinearObjective(X, y, loss=loss, n_classes=None if loss == "binary" else 10,
                                      sample_weight=rng.uniform(0.5, 2, 997))
                theta = rng.standard_normal(obj.n_params)
                f, g = obj.loss_gradient(theta)
                hv = obj.hessian_product(theta, rng.standard_normal(obj.n_params))
                out.append(np.concatenate([[f], g.astype(np.float64), hv.astype(np.float64)]))
                assert (layout == "csr-T") == (getattr(obj.design, "_transposed", None) is not None)
    sparse.FUSED_MAX_WIDTH = default
    return np.concatenate(out)


def test_gram_parts_do_not_depend_on_thread_count(monkeypatch):
    monkeypatch.setattr(gram, "MIN_PART_ROWS", 100)
    rng = np.random.default_rng(12)
    X, d = rng.standard_normal((1001, 9)), rng.random(1001)
    results = []
    for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
        numba.set_num_threads(threads)
        try:
            results.append(gram.dense_gram(X, d))
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_results_do_not_depend_on_thread_count():
    n_chunks = len(partition.row_bounds(997, 13)) - 1
    assert n_chunks >= 4  # the fixture makes the partition non-trivial
    numba.set_num_threads(1)
    try:
        one = _fingerprint_run()
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    if numba.config.NUMBA_NUM_THREADS >= 2:
        numba.set_num_threads(2)
        try:
            two = _fingerprint_run()
        finally:
            numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    else:  # this process may use one thread only: ask a fresh one with two
        two = _fingerprint_in_subprocess(threads=2)
    np.testing.assert_array_equal(one, two)


def _fingerprint_in_subprocess(threads):
    code = (
        "import sys, numpy as np, tests.test_kernels as t\n"
        "from softlogit.kernels import designs, partition\n"
        "partition.MIN_CHUNK_ROWS, partition.MAX_CHUNKS, designs.COPY_BLOCK_BYTES = 5, 9, 256\n"
        "partition.BLOCK_BYTES, partition.MIN_BLOCK_ROWS = 1, 6\n"
        "from softlogit.kernels import threads\n"
        "threads.INLINE_WORK = 0\n"
        "np.save(sys.argv[1], t._fingerprint_run())\n"
    )
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"softlogit-fp-{os.getpid()}.npy")
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run([sys.executable, "-c", code, path], check=True, env=env, cwd=root)
    try:
        return np.load(path)
    finally:
        os.remove(path)


def test_partition_is_fixed_and_covers_rows():
    bounds = partition.row_bounds(103, 7)
    assert bounds[0] == 0 and bounds[-1] == 103 and np.all(np.diff(bounds) > 0)
    indptr = np.array([0, 0, 5, 5, 9, 30, 31, 31, 40])
    nb = partition.nnz_bounds(indptr, 3)
    assert nb[0] == 0 and nb[-1] == 8 and np.all(np.diff(nb) >= 0)


@pytest.mark.parametrize("layout", ["C", "csr", "csr-T"])
@pytest.mark.parametrize("soft", [False, True])
def test_softmax_kernel_keeps_the_digits_of_confident_rows(layout, soft, monkeypatch):
    """A confident, correct row (logits 40 apart) has loss e^{-40} and a top-class gradient
    −e^{-40}/(1+e^{-40}): the kernels must not round them to 0 (log(1+r) and o − 1 would)."""
    X = np.array([[40.0, 0.0], [0.0, 40.0], [30.0, -5.0]])
    y = np.array([0, 1, 0])
    targets = np.eye(2)[y] if soft else y
    theta = np.array([1.0, 0.0, 0.0, 1.0])  # W = I: logits are the rows of X
    _csr_path(layout, monkeypatch)
    Xd = sp.csr_matrix(X) if layout.startswith("csr") else X
    kw = dict(loss="multinomial", n_classes=2, fit_intercept=False, penalty=None)
    fast = LinearObjective(Xd, targets, backend="auto", **kw)
    ref = LinearObjective(X, targets, backend="reference", **kw)
    assert "numba" in fast.design.kind
    f_fast, g_fast = fast.loss_gradient(theta)
    f_ref, g_ref = ref.loss_gradient(theta)
    expected = (2 * np.log1p(np.exp(-40.0)) + np.log1p(np.exp(-35.0))) / 3
    assert f_fast == pytest.approx(expected, rel=1e-13) and f_ref == pytest.approx(expected, rel=1e-13)
    np.testing.assert_allclose(g_fast, g_ref, rtol=1e-13, atol=0)
    assert np.all(g_fast[[0, 3]] < 0)  # the top-class entries are not rounded to 0


def test_stale_cache_is_dropped_where_numba_caches(tmp_path, monkeypatch):
    """With NUMBA_CACHE_DIR set, Numba caches under it (not beside the sources): the
    fingerprint check must look, and clear, there."""
    import softlogit.kernels as kernels

    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    cache = kernels._cache_dir()
    assert tmp_path in cache.parents
    cache.mkdir(parents=True, exist_ok=True)
    stale = [cache / "sparse.csr_hessp_chunks-1.py311.nbi", cache / "blocks.sum_fixed-2.py311.1.nbc"]
    other = cache / "notours.f-1.py311.nbi"
    for path in stale + [other]:
        path.write_text("x")
    (cache / "kernels.fingerprint").write_text("an older version")
    kernels._drop_stale_cache()
    assert not any(path.exists() for path in stale) and other.exists()
    stamp = (cache / "kernels.fingerprint").read_text()
    assert stamp != "an older version"
    stale[0].write_text("x")  # a current fingerprint keeps the cache
    kernels._drop_stale_cache()
    assert stale[0].exists()
