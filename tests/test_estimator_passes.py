"""The estimator's own work costs passes too (issue 8, part 5): fit reads X for validation at
most once, and labels that are already 0..K-1 are not sorted."""

import numpy as np
import pytest
import sklearn.utils.validation as skv
from numpy.testing import assert_array_equal

import softlogit
import softlogit.data.dense as dense_design
import softlogit.kernels.designs as kernel_designs
from softlogit.estimators import labels


def _count_full_reads(monkeypatch, shape):
    """Count calls of the two finiteness checks (scikit-learn's and the objective's) on X."""
    seen = []
    sk_check = skv._assert_all_finite

    def sk(X, *a, **k):
        if getattr(X, "size", 0) == shape[0] * shape[1]:
            seen.append("sklearn")
        return sk_check(X, *a, **k)

    monkeypatch.setattr(skv, "_assert_all_finite", sk)
    for module in (dense_design, kernel_designs):  # the designs' finiteness check
        own_check = module.check_finite_values

        def own(values, *a, _check=own_check, **k):
            if values.size == shape[0] * shape[1]:
                seen.append("objective")
            return _check(values, *a, **k)

        monkeypatch.setattr(module, "check_finite_values", own)
    return seen


@pytest.mark.parametrize("Est", [softlogit.LogisticRegression, softlogit.SoftmaxRegression])
def test_fit_proves_x_finite_without_a_read_of_its_own(monkeypatch, Est):
    """Dense X: the first full loss_gradient is the proof (kernels.designs.NumbaDenseDesign);
    neither scikit-learn's check nor the design's separate read runs on clean X."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4))
    y = rng.integers(0, 3, 300)
    seen = _count_full_reads(monkeypatch, X.shape)
    Est().fit(X, y)
    assert seen == []


def test_sparse_fit_checks_x_for_nan_once(monkeypatch):
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    X = sp.random(300, 6, density=0.5, format="csr", random_state=0)
    y = rng.integers(0, 2, 300)
    seen = []
    own_check = kernel_designs.SparseDesign.check_finite

    def counted(self):
        seen.append("objective")
        return own_check(self)

    monkeypatch.setattr(kernel_designs.SparseDesign, "check_finite", counted)
    softlogit.LogisticRegression().fit(X, y)
    assert seen == ["objective"]


def test_fit_still_refuses_nan_and_inf_naming_counts():
    X = np.ones((20, 3))
    X[2, 1] = np.nan
    X[5, 0] = np.inf
    y = np.arange(20) % 2
    with pytest.raises(ValueError, match="1 NaN and 1 infinite"):
        softlogit.LogisticRegression().fit(X, y)


def test_index_labels_skip_the_sort(monkeypatch):
    """0..K-1 labels (int or integral float) are encoded without LabelEncoder's sort."""
    def no_sort(*a, **k):
        raise AssertionError("sorted labels that were already indices")

    monkeypatch.setattr(labels.LabelEncoder, "fit_transform", no_sort)
    for y in (np.array([2, 0, 1, 1, 2, 0]), np.array([1.0, 0.0, 1.0]),
              np.array([0, 1, 1], dtype=np.uint8)):
        classes, codes = labels.encode_labels(y)
        assert_array_equal(classes, np.arange(y.max() + 1))
        assert classes.dtype == y.dtype
        assert_array_equal(codes, y)


@pytest.mark.parametrize("y", [np.array([1, 2, 2, 1]), np.array([0, 2, 2, 0]),
                               np.array([0.0, 0.5, 1.0]), np.array(["b", "a", "b"]),
                               np.array([-1, 0, 1]), np.array([0, 7, 7, 0])])
def test_other_labels_encode_like_label_encoder(y):
    """Gaps, offsets, non-integral floats and strings take the LabelEncoder path unchanged."""
    from sklearn.preprocessing import LabelEncoder

    if y.dtype.kind == "f" and not np.all(y == np.round(y)):
        with pytest.raises(ValueError, match="Unknown label type"):
            labels.encode_labels(y)
        return
    classes, codes = labels.encode_labels(y)
    enc = LabelEncoder().fit(y)
    assert_array_equal(classes, enc.classes_)
    assert_array_equal(codes, enc.transform(y))
