"""Column kinds and the analyst's checks: identifiers, near-numeric text, dates, text nulls,
unseen categories, reference coding, imputation of text (crafted tables, one trap each)."""

import datetime

import numpy as np
import pyarrow as pa
import pytest

from softlogit.io.encoding import TableEncoder
from softlogit.io.errors import DataError, DataWarning
from softlogit.io.frame import Frame
from softlogit.io.readers import read_data


def _frame(source="t.csv", **columns):
    return Frame(source, table=pa.table(columns))


def test_near_numeric_text_names_the_column_row_and_value():
    values = [str(v) for v in np.arange(40.0)]
    values[23] = "oops"
    with pytest.raises(DataError, match=r"t.csv: column 'w' holds numbers except in 1 of 40 rows "
                                        r"\(first: data row 24, 'oops'\); fix those cells .* "
                                        r"--categorical w"):
        TableEncoder().fit(_frame(w=values))
    # asked for as categories, it is encoded
    assert len(TableEncoder(categorical=("w",)).fit(_frame(w=values)).feature_names_out_) == 40


def test_text_identifier_is_refused_unless_asked_for_and_many_levels_warn():
    names = [f"passenger {i}" for i in range(30)]
    with pytest.raises(DataError, match=r"column 'name' has 30 different texts in 30 rows, an "
                                        r"identifier .*--drop name.*--id name"):
        TableEncoder().fit(_frame(name=names, a=np.arange(30.0) % 7))
    enc = TableEncoder(drop=("name",)).fit(_frame(name=names, a=np.arange(30.0) % 7))
    assert enc.feature_names_out_ == ["a"] and enc.ignored_ == ["name"]
    half = [f"t{i % 20}" for i in range(30)]
    with pytest.warns(DataWarning, match=r"column 'ticket' has 20 categories in 30 rows"):
        TableEncoder().fit(_frame(ticket=half))


def test_dates_are_refused_naming_the_option_or_expanded_to_parts():
    days = [datetime.date(2024, 1, 1) + datetime.timedelta(days=40 * i) for i in range(5)]
    frame = _frame(d=pa.array(days), a=[1.0, 2.0, 3.0, 4.0, 5.0])
    with pytest.raises(DataError, match=r"column 'd' holds dates; --dates parts .* --drop d"):
        TableEncoder().fit(frame)
    enc = TableEncoder(dates="parts", standardize=False).fit(frame)
    assert enc.feature_names_out_ == ["d.year", "d.month", "d.day", "d.weekday", "a"]
    X = enc.transform(frame)
    assert X[1, :4].tolist() == [2024, 2, 10, 5]  # 2024-02-10 was a Saturday (Monday is 0)


def test_text_nulls_are_missing_in_every_format(tmp_path):
    (tmp_path / "t.csv").write_text("c,x\nNA,1\nred,2\n,3\nblue,4\nnull,5\n")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"c": ["NA", "red", "", "blue", "null"],
                             "x": [1.0, 2.0, 3.0, 4.0, 5.0]}), tmp_path / "t.parquet")
    np.savez(tmp_path / "t.npz", c=np.array(["NA", "red", "", "blue", "null"]),
             x=np.arange(1.0, 6.0))
    for name in ("t.csv", "t.parquet", "t.npz"):
        column = read_data(tmp_path / name).table.column("c")
        assert column.to_pylist() == [None, "red", None, "blue", None], name
    enc = TableEncoder(impute="median", impute_text="missing", standardize=False)
    enc.fit(read_data(tmp_path / "t.csv"))
    assert enc.feature_names_out_ == ["c=blue", "c=missing", "c=red", "x"]
    assert enc.fill_[-1] == 3.0


def test_unseen_category_error_counts_each_value_apart():
    enc = TableEncoder(standardize=False).fit(_frame(k=["a", "b", "a"]))
    with pytest.raises(DataError, match=r"column 'k' has category 'z' not seen in training "
                                        r"\(3 rows\) and 2 other unseen categories \(2 rows\)"):
        enc.transform(_frame("new.csv", k=["z", "z", "y", "z", "w", "a"]))


def test_reference_coding_drops_the_first_level_and_predicts_on_pandas_and_polars():
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    df = pd.DataFrame({"k": ["b", "a", "c", None], "x": [1.0, 2.0, 3.0, 4.0]})
    enc = TableEncoder(coding="reference", impute="mean", standardize=False).fit(df)
    assert enc.feature_names_out_ == ["k=b", "k=c", "x"]
    expected = [[1, 0, 1], [0, 0, 2], [0, 1, 3], [0, 0, 4]]  # missing k: most frequent, 'a'
    np.testing.assert_array_equal(enc.transform(df), expected)
    np.testing.assert_array_equal(enc.transform(pl.from_pandas(df)), expected)
