"""softlogit.TableEncoder as a scikit-learn transformer: a CLI-made model predicts on pandas
and polars frames in Python, and a Pipeline of softlogit parts saves in the safe format."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

import softlogit
from softlogit.cli import main

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")


@pytest.fixture(scope="module")
def penguins():
    palmerpenguins = pytest.importorskip("palmerpenguins")
    return palmerpenguins.load_penguins()


def test_a_cli_model_predicts_on_pandas_and_polars_frames(penguins, tmp_path, capsys):
    penguins.to_csv(tmp_path / "p.csv", index=False)
    assert main(["fit", str(tmp_path / "p.csv"), "--target", "species", "--impute", "mean",
                 "--no-figures", "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    model = softlogit.load(tmp_path / "run" / "model.softlogit")
    from_file = model.predict_proba(str(tmp_path / "p.csv"))
    np.testing.assert_array_equal(model.predict_proba(penguins), from_file)
    np.testing.assert_array_equal(model.predict_proba(pl.from_pandas(penguins)), from_file)


def test_pipeline_of_softlogit_parts_is_a_sklearn_estimator_and_saves_safely(penguins,
                                                                              tmp_path):
    X, y = penguins.drop(columns="species"), penguins["species"].to_numpy()
    pipe = make_pipeline(softlogit.TableEncoder(impute="median"),
                         softlogit.LogisticRegression(C=0.5))
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.95
    clone(pipe)  # __init__ only stores its arguments
    assert list(pipe[0].get_feature_names_out()[:2]) == ["island=Biscoe", "island=Dream"]
    softlogit.save(pipe, tmp_path / "pipe.softlogit")
    loaded = softlogit.load(tmp_path / "pipe.softlogit")
    assert [name for name, _ in loaded.steps] == [name for name, _ in pipe.steps]
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict_proba(pl.from_pandas(X)),
                                  pipe.predict_proba(X))


def test_a_pipeline_with_a_foreign_step_is_refused_naming_it(tmp_path):
    from sklearn.preprocessing import StandardScaler

    X, y = np.arange(20.0).reshape(10, 2), np.arange(10) % 2
    pipe = make_pipeline(StandardScaler(), softlogit.LogisticRegression()).fit(X, y)
    with pytest.raises(ValueError, match=r"step 'standardscaler' is a StandardScaler; only "
                                         r"softlogit parts"):
        softlogit.save(pipe, tmp_path / "p.softlogit")
    assert not (tmp_path / "p.softlogit").exists()
