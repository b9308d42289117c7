"""Readers and target selection: every format gives the same typed frame; bad files are named."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from softlogit.io.errors import DataError
from softlogit.io.frame import check_classes, split_target
from softlogit.io.readers import data_format, read_data


def _csv(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_typed_columns_and_default_target(tmp_path):
    path = _csv(tmp_path, "a,color,label\n1.5,red,yes\n2,blue,no\n3,red,yes\n")
    frame = read_data(path)
    assert frame.n_rows == 3
    assert pa.types.is_floating(frame.table.schema.field("a").type)
    assert pa.types.is_string(frame.table.schema.field("color").type)
    features, y, name = split_target(frame)
    assert name == "label" and features.column_names == ["a", "color"]
    assert y.tolist() == ["yes", "no", "yes"] and y.dtype.kind == "U"


def test_default_target_order_and_whole_float_labels_become_ints(tmp_path):
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"y": [0.0, 1.0, 1.0], "class": [3, 4, 3], "x": [1.0, 2.0, 3.0]}),
                   path)
    features, y, name = split_target(read_data(path))
    assert name == "class"  # "class" comes before "y" in the default order
    assert y.dtype.kind == "i" and y.tolist() == [3, 4, 3]
    _, y2, _ = split_target(read_data(path), "y")
    assert y2.dtype.kind == "i" and y2.tolist() == [0, 1, 1]


def test_npy_plain_and_structured_and_npz(tmp_path):
    X = np.arange(12.0).reshape(4, 3)
    np.save(tmp_path / "m.npy", X)
    frame = read_data(tmp_path / "m.npy")
    assert frame.column_names == ["x0", "x1", "x2"]
    features, y, name = split_target(frame, "x2")
    assert name == "x2" and y.tolist() == [2, 5, 8, 11]

    rec = np.zeros(3, dtype=[("f", "f8"), ("target", "i4")])
    rec["target"] = [1, 0, 1]
    np.save(tmp_path / "r.npy", rec)
    assert split_target(read_data(tmp_path / "r.npy"))[1].tolist() == [1, 0, 1]

    np.savez(tmp_path / "xy.npz", X=X, y=np.array(["a", "b", "a", "b"]),
             feature_names=np.array(["p", "q", "r"]))
    features, y, name = split_target(read_data(tmp_path / "xy.npz"))
    assert name == "y" and features.column_names == ["p", "q", "r"] and y.tolist()[:2] == ["a", "b"]


def test_svmlight_one_based_labels_become_ints(tmp_path):
    path = tmp_path / "d.svm"
    path.write_text("1 1:0.5 3:2\n-1 2:1\n1 3:1.5\n")
    frame = read_data(path)
    assert frame.sparse is not None and frame.zero_based is False
    features, y, name = split_target(frame)
    assert name is None and y.tolist() == [1, -1, 1] and y.dtype.kind == "i"
    with pytest.raises(DataError, match="svmlight format carries its own labels"):
        split_target(frame, "label")


def test_bundled_names_and_label_names():
    frame = read_data("iris")
    features, y, name = split_target(frame)
    assert frame.n_rows == 150 and len(features.column_names) == 4
    assert set(y.tolist()) == {"setosa", "versicolor", "virginica"}
    assert split_target(read_data("digits"))[1].dtype.kind == "i"


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ("", "the file is empty"),
    ("a,b,target\n", "no data rows"),
    ("a,b\n1,2,3\n", "cannot read as csv"),
])
def test_bad_files_are_named(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DataError, match=message) as info:
        read_data(path)
    assert str(info.value).startswith(str(path))
    assert "\n" not in str(info.value)


def test_unknown_extension_and_non_numpy_file(tmp_path):
    with pytest.raises(DataError, match="unknown data format"):
        data_format(tmp_path / "data.xlsx")
    assert data_format("x.csv.gz") == "csv"
    (tmp_path / "fake.npy").write_bytes(b"not numpy at all")
    with pytest.raises(DataError, match="fake.npy: cannot read as npy"):
        read_data(tmp_path / "fake.npy")


def test_target_errors_list_columns_and_classes(tmp_path):
    frame = read_data(_csv(tmp_path, "a,b,c\n1,2,3\n"))
    with pytest.raises(DataError, match=r"target column 'foo' not found; columns are: a, b, c"):
        split_target(frame, "foo")
    with pytest.raises(DataError, match=r"no target column .*--target .*columns are: a, b, c"):
        split_target(frame)
    one = read_data(_csv(tmp_path, "x,y\n1,7\n2,7\n", "one.csv"))
    _, y, name = split_target(one)
    with pytest.raises(DataError, match=r"target column 'y' has only one class \(7\)"):
        check_classes(y, one.source, name)
    gaps = read_data(_csv(tmp_path, "x,y\n1,0\n2,\n3,1\n", "gaps.csv"))
    with pytest.raises(DataError, match="target column 'y' has 1 missing values"):
        split_target(gaps)
    soft = read_data(_csv(tmp_path, "x,y\n1,0.5\n2,1\n", "soft.csv"))
    with pytest.raises(DataError, match="non-integer numbers"):
        split_target(soft)


def test_duplicate_column_names_are_refused_where_the_table_is_read(tmp_path):
    from softlogit.io.frame import Frame

    path = _csv(tmp_path, "a,a,target\n1,2,0\n3,4,1\n", "dup.csv")
    with pytest.raises(DataError, match=r"^.*dup\.csv: column 'a' appears 2 times; column names "
                                        r"must be unique$"):
        read_data(path)
    np.savez(tmp_path / "dup.npz", X=np.zeros((2, 3)), feature_names=np.array(["p", "q", "p"]))
    with pytest.raises(DataError, match=r"dup\.npz: column 'p' appears 2 times"):
        read_data(tmp_path / "dup.npz")
    table = pa.Table.from_arrays([pa.array([1.0]), pa.array([2.0]), pa.array([3.0])],
                                 names=["x", "y", "y"])
    with pytest.raises(DataError, match=r"^given: column 'y' appears 2 times"):
        Frame("given", table=table)


def test_csv_target_keeps_labels_apart_that_typing_would_merge(tmp_path):
    # "01" and "1" are different labels in the file; PyArrow alone reads both as the integer 1
    merged = read_data(_csv(tmp_path, "x,target\n1,01\n2,1\n3,01\n4,1\n", "merged.csv"))
    _, y, _ = split_target(merged)
    assert y.dtype.kind == "U" and y.tolist() == ["01", "1", "01", "1"]
    assert check_classes(y, merged.source, "target").tolist() == ["01", "1"]
    for text, labels in [("1\n1.0\n2", ["1", "1.0", "2"]), ("true\nTrue\nfalse",
                                                          ["true", "True", "false"])]:
        _, y, _ = split_target(read_data(_csv(tmp_path, "x,y\n" + "\n".join(
            f"{i},{v}" for i, v in enumerate(text.split("\n"))) + "\n", "t.csv")))
        assert y.tolist() == labels
    # a missing label is still missing when the labels stay text
    gaps = read_data(_csv(tmp_path, "x,y\n1,01\n2,\n3,1\n", "gaps.csv"))
    with pytest.raises(DataError, match="target column 'y' has 1 missing values"):
        split_target(gaps)
    # numbers that stay distinct are still numbers: whole floats become ints
    _, y, _ = split_target(read_data(_csv(tmp_path, "x,y\n1,0.0\n2,1.0\n3,2.0\n", "f.csv")))
    assert y.dtype.kind == "i" and y.tolist() == [0, 1, 2]
    _, y, _ = split_target(read_data(_csv(tmp_path, "x\ty\n1\t7\n2\t-3\n", "i.tsv")))
    assert y.dtype.kind == "i" and y.tolist() == [7, -3]
