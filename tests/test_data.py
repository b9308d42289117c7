"""Tests of softlogit.data: the Design products, row selection, and the backend factory."""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from softlogit.data import DenseDesign, Design, SparseDesign, as_design, register_design
from softlogit.data import factory

LAYOUTS = {
    "dense-C": np.ascontiguousarray,
    "dense-F": np.asfortranarray,
    "csr": sp.csr_matrix,
    "csc": sp.csc_matrix,
}


def _X(dtype=np.float64, seed=0, m=30, p=4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, p))
    X[rng.uniform(size=X.shape) < 0.4] = 0.0
    return X.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_products_match_their_definitions(layout, dtype):
    Xd = _X(dtype)
    design = as_design(LAYOUTS[layout](Xd), backend="reference")
    rng = np.random.default_rng(1)
    W = rng.standard_normal((3, 4))
    R = rng.standard_normal((30, 3))
    d = rng.uniform(size=30)
    X64 = Xd.astype(np.float64)
    rtol = 1e-13 if dtype == np.float64 else 2e-6
    assert design.shape == (30, 4)
    assert design.dtype == dtype
    out = design.dot(W)
    assert out.shape == (30, 3) and out.dtype == dtype and isinstance(out, np.ndarray)
    assert_allclose(out, X64 @ W.T, rtol=rtol, atol=rtol)
    out = design.tdot(R)
    assert out.shape == (3, 4) and out.dtype == dtype and isinstance(out, np.ndarray)
    assert_allclose(out, R.T @ X64, rtol=rtol, atol=rtol)
    out = design.gram(d)
    assert out.shape == (4, 4) and isinstance(out, np.ndarray)
    assert_allclose(out, X64.T @ np.diag(d) @ X64, rtol=rtol, atol=rtol)
    out = design.wsum_rows(d)
    assert out.shape == (4,)
    assert_allclose(out, X64.T @ d, rtol=rtol, atol=rtol)
    mean, std = design.column_scale()
    assert_allclose(mean, X64.mean(axis=0), rtol=rtol, atol=rtol)
    assert_allclose(std, X64.std(axis=0), rtol=1e-6 if dtype == np.float32 else 1e-12)
    assert design.nbytes > 0


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_take_selects_rows_and_keeps_the_kind(layout):
    Xd = _X()
    design = as_design(LAYOUTS[layout](Xd), backend="reference")
    rows = np.array([4, 0, 4, 29])
    sub = design.take(rows)
    assert type(sub) is type(design) and sub.kind == design.kind
    assert sub.shape == (4, 4)
    W = np.eye(4)
    assert_array_equal(sub.dot(W), Xd[rows])


def test_dense_design_keeps_dtype_and_order_without_copying():
    X = np.asfortranarray(_X(np.float32))
    design = as_design(X, backend="reference")
    assert isinstance(design, DenseDesign) and design.kind == "dense"
    assert design.X is X
    assert design.nbytes == X.nbytes


def test_sparse_design_kinds_and_conversion():
    Xd = _X()
    for fmt in ("csr", "csc"):
        design = as_design(sp.csr_matrix(Xd).asformat(fmt), backend="reference")
        assert isinstance(design, SparseDesign) and design.kind == f"sparse-{fmt}"
    coo = as_design(sp.coo_matrix(Xd), backend="reference")
    assert coo.kind == "sparse-csr"
    assert_array_equal(coo.dot(np.eye(4)), Xd)
    csr = sp.csr_matrix(Xd)
    nnz = csr.nnz
    expected = nnz * 8 + nnz * csr.indices.itemsize + 31 * csr.indptr.itemsize
    assert as_design(csr, backend="reference").nbytes == expected


def test_sparse_gram_is_exact_with_empty_and_duplicate_columns():
    # A column of zeros and a duplicate column: gram must still be exact and symmetric.
    Xd = _X()
    Xd[:, 1] = 0.0
    Xd[:, 3] = Xd[:, 2]
    d = np.linspace(0.1, 2.0, 30)
    G = as_design(sp.csc_matrix(Xd), backend="reference").gram(d)
    assert_allclose(G, G.T, rtol=0, atol=1e-15)
    assert_array_equal(G[1], 0.0)
    assert_allclose(G[2], G[3], rtol=1e-15)


def test_fused_hooks_default_to_none():
    design = as_design(_X(), backend="reference")
    assert design.fused_loss_gradient("binary", np.zeros((1, 4)), None, np.zeros(30),
                                      np.ones(30)) is None
    assert design.fused_hessian_product("binary", np.zeros(30), np.zeros((1, 4)), None,
                                        np.ones(30)) is None


def test_as_design_passes_a_design_through_and_rejects_unknown_backends():
    design = as_design(_X())
    assert as_design(design) is design
    with pytest.raises(ValueError, match="unknown backend 'gpu'"):
        as_design(_X(), backend="gpu")
    # A list of lists is turned into a dense array.
    assert isinstance(as_design([[1.0, 2.0], [3.0, 4.0]], backend="reference"), DenseDesign)


class _Tagged(DenseDesign):
    kind = "tagged"


def test_register_design_takes_priority_under_auto_only(monkeypatch):
    # Let any built-in backends load and register first (they may do so lazily on the first
    # "auto" call), then work on an empty registry: no other test sees this backend, and the
    # outcome does not depend on what else is installed.
    as_design(_X())
    monkeypatch.setattr(factory, "_REGISTRY", [])
    register_design(lambda X: isinstance(X, np.ndarray) and X.dtype == np.float32, _Tagged)
    X32, X64 = _X(np.float32), _X()
    assert as_design(X32).kind == "tagged"
    assert as_design(X32, backend="reference").kind == "dense"
    assert as_design(X64).kind == "dense"
    # first=False appends: an earlier accepting backend still wins.
    register_design(lambda X: True, DenseDesign, first=False)
    assert as_design(X32).kind == "tagged"


def test_design_is_abstract():
    with pytest.raises(TypeError):
        Design()


def test_designs_count_passes_over_x():
    """Every product and fused hook counts one pass; a taken subset charges its parent r/m."""
    from softlogit.objective import LinearObjective

    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 5))
    y = (rng.random(200) < 0.5).astype(float)
    for backend in ("reference", "auto"):
        for Xin in (X, sp.csr_matrix(X)):
            obj = LinearObjective(Xin, y, loss="binary", backend=backend)
            d = obj.design
            before = d.passes
            obj.loss_gradient(obj.zeros())
            fused = d.fused_loss_gradient("binary", np.zeros((1, 5)), np.zeros(1), y,
                                          np.ones(200)) is not None
            d.passes = before
            obj.loss_gradient(obj.zeros() + 0.1)
            assert d.passes - before == (1 if fused else 2), (backend, d.kind)
            obj.loss_gradient(obj.zeros() + 0.1)  # the same point again: kept, no pass
            assert d.passes - before == (1 if fused else 2), (backend, d.kind)
            sub = d.take(np.arange(50))
            p0 = d.passes
            sub.dot(np.zeros((1, 5)))
            assert sub.passes == 1
            assert d.passes - p0 == pytest.approx(0.25)
