"""Table encoding: one-hot categories, unseen values, missing values, scaling, svmlight bases."""

import numpy as np
import pyarrow as pa
import pytest
import scipy.sparse as sp

from softlogit.io.encoding import TableEncoder
from softlogit.io.errors import DataError
from softlogit.io.frame import Frame


def _frame(source="train.csv", **columns):
    return Frame(source, table=pa.table(columns))


def test_one_hot_sorted_categories_and_numeric_passthrough():
    frame = _frame(n=[1, 2, 3, 4], color=["red", "blue", "red", "green"], flag=[True, False,
                                                                               True, True])
    enc = TableEncoder(standardize=False).fit(frame)
    assert enc.feature_names_out_ == ["n", "color=blue", "color=green", "color=red", "flag"]
    X = enc.transform(frame)
    np.testing.assert_array_equal(X[:, 0], [1, 2, 3, 4])
    np.testing.assert_array_equal(X[:, 1:4].argmax(axis=1), [2, 0, 2, 1])
    np.testing.assert_array_equal(X[:, 1:4].sum(axis=1), 1.0)
    np.testing.assert_array_equal(X[:, 4], [1, 0, 1, 1])


def test_unseen_category_error_names_column_and_value_or_is_ignored():
    enc = TableEncoder(standardize=False).fit(_frame(n=[1.0, 2.0], color=["red", "blue"]))
    new = _frame("new.csv", n=[3.0, 4.0], color=["red", "purple"])
    with pytest.raises(DataError, match=r"new.csv: column 'color' has category 'purple' not "
                                        r"seen in training \(1 row\)"):
        enc.transform(new)
    X = enc.transform(new, handle_unknown="ignore")
    np.testing.assert_array_equal(X[1, 1:], [0.0, 0.0])
    np.testing.assert_array_equal(X[0, 1:], [0.0, 1.0])
    assert TableEncoder(handle_unknown="ignore").fit(new).handle_unknown == "ignore"


def test_missing_values_are_an_error_naming_columns_and_counts():
    frame = _frame(a=[1.0, None, np.nan, 4.0], b=["x", None, "y", "x"], c=[1.0, 2.0, 3.0, 4.0])
    with pytest.raises(DataError, match=r"train.csv: missing values in column 'a' \(2 rows\), "
                                        r"column 'b' \(1 row\); use --impute mean"):
        TableEncoder().fit(frame)


def test_impute_mean_uses_training_means_at_transform():
    train = _frame(a=[1.0, None, 5.0], b=["x", None, "y"])
    enc = TableEncoder(impute="mean", standardize=False).fit(train)
    np.testing.assert_array_equal(enc.fill_, [3.0, 0.0, 0.0])
    X = enc.transform(_frame("new.csv", a=[None, 2.0], b=[None, "x"]))
    # a missing category gets the most frequent training one (a tie: the first sorted, "x")
    np.testing.assert_array_equal(X, [[3.0, 1.0, 0.0], [2.0, 1.0, 0.0]])


def test_infinite_values_are_always_an_error():
    with pytest.raises(DataError, match=r"infinite values in column 'a' \(1 row\)"):
        TableEncoder(impute="mean").fit(_frame(a=[1.0, np.inf, 2.0]))


def test_standardize_uses_training_statistics_and_leaves_indicators_alone():
    train = _frame(a=[1.0, 2.0, 3.0, 6.0], k=[5.0, 5.0, 5.0, 5.0], c=["u", "v", "u", "v"])
    enc = TableEncoder().fit(train)
    X = enc.transform(train)
    np.testing.assert_allclose(X[:, 0].mean(), 0.0, atol=1e-15)
    np.testing.assert_allclose(X[:, 0].std(), 1.0)
    np.testing.assert_array_equal(X[:, 1], 0.0)  # a constant column keeps scale 1
    np.testing.assert_array_equal(X[:, 2:], [[1, 0], [0, 1], [1, 0], [0, 1]])
    new = enc.transform(_frame("new.csv", a=[3.0], k=[6.0], c=["v"]))
    np.testing.assert_allclose(new[0, :2], [(3.0 - 3.0) / np.std([1, 2, 3, 6]), 1.0])


def test_wrong_columns_at_transform_are_named():
    enc = TableEncoder().fit(_frame(a=[1.0, 2.0], b=[3.0, 4.0]))
    with pytest.raises(DataError, match=r"new.csv: has 3 feature columns but the model expects 2"
                                        r"; unexpected: z"):
        enc.transform(_frame("new.csv", a=[1.0], b=[2.0], z=[0.0]))
    with pytest.raises(DataError, match=r"has 1 feature columns but the model expects 2; "
                                        r"missing: b"):
        enc.transform(_frame("new.csv", a=[1.0]))
    with pytest.raises(DataError, match="holds text but the model was trained with it numeric"):
        enc.transform(_frame("new.csv", a=["1"], b=["x"]))


def test_same_number_of_columns_with_other_names_says_the_names_differ():
    enc = TableEncoder().fit(_frame(a=[1.0, 2.0], b=[3.0, 4.0]))
    with pytest.raises(DataError) as info:
        enc.transform(_frame("x.npy", x0=[1.0], x1=[2.0]))
    assert str(info.value) == ("x.npy: the names of its 2 feature columns differ from those the "
                               "model was trained on; missing: a, b; unexpected: x0, x1")
    with pytest.raises(DataError, match=r"^new.csv: the names of its 2 feature columns differ "
                                        r"from those the model was trained on; missing: b; "
                                        r"unexpected: c$"):
        enc.transform(_frame("new.csv", a=[1.0], c=[2.0]))
    # the same names in another order are matched by name
    np.testing.assert_array_equal(enc.transform(_frame("new.csv", b=[3.0], a=[1.0])),
                                  enc.transform(_frame("new.csv", a=[1.0], b=[3.0])))


def test_sparse_scaling_keeps_zeros_and_index_base_is_kept():
    X = sp.csr_matrix(np.array([[0.0, 0.0, 2.0, 0.0], [0.0, 4.0, 0.0, 1.0],
                                [0.0, 0.0, 6.0, 3.0]]))
    # read as zero-based: column 0 is empty, so the file was one-based
    frame = Frame("train.svm", sparse=X, label=np.array([0, 1, 0]), zero_based=False)
    enc = TableEncoder().fit(frame)
    assert enc.n_columns_in_ == 3 and enc.zero_based_ is False
    Z = enc.transform(frame)
    assert Z.nnz == X.nnz
    dense = X.toarray()[:, 1:]
    np.testing.assert_allclose(Z.toarray(), dense / dense.std(axis=0))
    # a later file that happens to use only low indices is padded, not shifted
    short = Frame("new.svm", sparse=sp.csr_matrix(np.array([[0.0, 4.0]])), zero_based=False)
    np.testing.assert_allclose(enc.transform(short).toarray(), [[4.0 / dense[:, 0].std(), 0, 0]])
    wide = Frame("new.svm", sparse=sp.csr_matrix(np.ones((1, 6))), zero_based=True)
    with pytest.raises(DataError, match="has feature index 0 but the model was trained"):
        enc.transform(wide)


def test_state_round_trip_rebuilds_the_same_encoder():
    train = _frame(a=[1.0, None, 5.0], b=["x", "z", "y"])
    enc = TableEncoder(impute="mean").fit(train)
    meta, arrays = enc.get_state()
    again = TableEncoder.from_state(meta, arrays)
    new = _frame("new.csv", a=[2.0, None], b=["z", "x"])
    assert np.array_equal(enc.transform(new), again.transform(new))
    assert again.feature_names_out_ == enc.feature_names_out_


def test_impute_mean_fills_a_column_with_no_values_with_zero_and_says_so():
    import warnings

    from softlogit.io.errors import DataWarning

    frame = _frame("gaps.csv", a=[1.0, 2.0, 6.0], e=pa.array([None, None, None], pa.float64()),
                   n=pa.array([None, None, None]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        enc = TableEncoder(impute="mean", standardize=False).fit(frame)
    assert [(w.category, str(w.message)) for w in caught] == [
        (DataWarning, f"gaps.csv: column {name!r} has no values; --impute mean fills it with 0")
        for name in ("e", "n")]
    np.testing.assert_array_equal(enc.fill_, [3.0, 0.0, 0.0])
    np.testing.assert_array_equal(enc.transform(frame)[:, 1:], 0.0)
