"""The Dask backend (issue 11): the same fit on a LocalCluster as in memory.

Reference throughout: the in-memory NumPy fit of the same estimator (itself checked against
scikit-learn and finite differences elsewhere) — the Dask design must reproduce it to 1e-8.
One in-process cluster (``processes=False``) serves the module; one test starts a cluster with
worker processes to kill one mid-fit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
dd = pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")

import softlogit  # noqa: E402
from softlogit.backends.dask import ClusterLostError, DaskDesign  # noqa: E402
from softlogit.backends.dask import executor as executor_module  # noqa: E402
from softlogit.data import DenseDesign, as_design  # noqa: E402
from softlogit.estimators.warnings import SeparationWarning  # noqa: E402

TOL = 1e-11  # solver tolerance: both fits converge far below the 1e-8 compared
FIT_TIMEOUT = 120  # seconds: a fit that hangs fails the test instead of the suite


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as c:
        yield c


def _data(m=1200, p=4, K=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, p))
    Wt = rng.normal(size=(K, p))
    y = np.argmax(X @ Wt.T + rng.gumbel(size=(m, K)), axis=1)
    return X, y


def _same_fit(est_mem, est_dask, atol=1e-8):
    np.testing.assert_allclose(est_dask.coef_, est_mem.coef_, rtol=0, atol=atol)
    np.testing.assert_allclose(est_dask.intercept_, est_mem.intercept_, rtol=0, atol=atol)
    np.testing.assert_array_equal(est_dask.classes_, est_mem.classes_)


@pytest.mark.parametrize("K,kwargs", [
    (2, {"solver": "newton"}),
    (2, {"solver": "lbfgs"}),
    (3, {"solver": "newton"}),
    (3, {"solver": "newton", "penalty": None, "C": 1.0, "fit_intercept": False}),
    (2, {"penalty": "l1", "C": 0.05}),
    (3, {"penalty": "elasticnet", "l1_ratio": 0.5, "C": 0.1}),
    (2, {"class_weight": "balanced"}),
    (3, {"class_weight": {0: 2.0, 2: 0.5}}),
])
def test_fit_equals_in_memory_fit(client, K, kwargs):
    X, y = _data(K=K)
    sw = np.random.default_rng(1).uniform(0.2, 3.0, size=len(y))
    params = dict(tol=TOL, max_iter=500, **kwargs)
    mem = softlogit.LogisticRegression(**params).fit(X, y, sample_weight=sw)
    Xd = da.from_array(X, chunks=(300, 2))  # column chunks are joined, rows kept
    yd = da.from_array(y, chunks=250)  # misaligned with X's rows: re-chunked to them
    est = softlogit.LogisticRegression(**params).fit(Xd, yd, sample_weight=sw)
    _same_fit(mem, est)
    if "solver" in kwargs:  # auto on a cluster has its own rule (test_auto_is_subsampled…)
        assert est.fit_report_.solver == mem.fit_report_.solver
    assert est.fit_report_.info["passes"] > 0
    assert est.fit_report_.info["dask"]["chunks"] == 4
    assert est.fit_report_.info["dask"]["workers"] == 2


@pytest.mark.parametrize("K", [2, 3])
@pytest.mark.parametrize("solver", ["newton", "auto"])
def test_newton_starts_at_the_null_model_on_the_cluster_too(client, K, solver):
    """The null start's sums come from one map over the chunks (Design.target_sums): the
    first iterate is the in-memory fit's (the intercept-only optimum of imbalanced classes)
    and the fits agree."""
    X, _ = _data(m=2000, K=K, seed=7)
    rng = np.random.default_rng(8)
    y = (rng.random(2000) < 0.1).astype(int) if K == 2 else rng.choice(3, 2000, p=[.8, .15, .05])
    sw = rng.uniform(0.2, 3.0, size=len(y))
    params = dict(tol=TOL, max_iter=200, solver=solver, random_state=0)
    mem = softlogit.LogisticRegression(**params).fit(X, y, sample_weight=sw)
    est = softlogit.LogisticRegression(**params).fit(
        da.from_array(X, chunks=(500, 4)), da.from_array(y, chunks=500), sample_weight=sw)
    _same_fit(mem, est)
    first_mem = mem.fit_report_.objective_history[0]
    assert est.fit_report_.objective_history[0] == pytest.approx(first_mem, rel=1e-12)
    # below J(0) = log K: the start was the null model, not θ = 0
    assert first_mem < np.log(K) - 0.1


@pytest.mark.parametrize("K", [2, 3])
def test_auto_is_subsampled_newton_with_one_sample(client, monkeypatch, K):
    """``auto`` on a cluster: sub-sampled Newton with ONE row sample on the client (a fetch
    per draw, no fetch per iteration), to the same optimum as the in-memory fit; a round per
    iteration plus the line search's extra trials."""
    from softlogit.backends.dask import sampled_newton

    monkeypatch.setattr(sampled_newton, "first_sample_size", lambda objective: 400)
    X, y = _data(m=3000, K=K, seed=K)
    sw = np.random.default_rng(2).uniform(0.0, 2.0, size=len(y))
    mem = softlogit.LogisticRegression(tol=TOL, max_iter=200, solver="newton").fit(
        X, y, sample_weight=sw)
    est = softlogit.LogisticRegression(tol=TOL, max_iter=200).fit(
        da.from_array(X, chunks=(700, 4)), da.from_array(y, chunks=700), sample_weight=sw)
    _same_fit(mem, est)
    info = est.fit_report_.info
    assert est.fit_report_.solver == "subsampled-newton" == info["auto_choice"]
    assert info["sample_rows"][0] == 400
    draws = [r for i, r in enumerate(info["sample_rows"]) if r < 3000 and (
        i == 0 or r != info["sample_rows"][i - 1])]
    assert info["sample_draws"] == len(draws) >= 1  # a fetch per size, not per iteration
    # the client held the sample, never X: X's rows fetched are the draws' rows
    assert info["passes"] >= sum(draws) / 3000
    # rounds: summaries, the start, one per iteration (+ backtracking trials), one per draw
    n_iter = est.fit_report_.n_iter
    assert info["dask"]["rounds"] <= 2 + 2 * n_iter + info["sample_draws"]
    assert info["passes"] < 2 * n_iter + 2


def test_subsampled_newton_grows_to_the_exact_hessian():
    """A sample that would be most of the rows is the full objective (its Hessian summed on
    the workers): sub-sampled Newton is then Newton, to the same optimum."""
    X, y = _data(m=1200, K=2)
    mem = softlogit.LogisticRegression(tol=TOL, solver="newton").fit(X, y)
    est = softlogit.LogisticRegression(tol=TOL, solver="subsampled-newton").fit(
        da.from_array(X, chunks=300), da.from_array(y, chunks=300))
    _same_fit(mem, est)
    assert est.fit_report_.info["sample_rows"][0] == 1200  # 5000 ≥ half of 1200 rows
    assert est.fit_report_.info["sample_draws"] == 0


@pytest.mark.filterwarnings("ignore::softlogit.estimators.warnings.ConvergenceWarning")
def test_fista_takes_the_same_path(client):
    """FISTA (the proximal-gradient solver) run for a fixed 20 iterations: the Dask design's
    gradients equal the in-memory ones to rounding, so both paths end at the same point."""
    X, y = _data(K=3)
    params = dict(penalty="elasticnet", l1_ratio=0.5, C=0.1, solver="proximal", max_iter=20,
                  tol=1e-14)
    mem = softlogit.LogisticRegression(**params).fit(X, y)
    est = softlogit.LogisticRegression(**params).fit(da.from_array(X, chunks=300), y)
    _same_fit(mem, est)
    assert est.n_iter_[0] == mem.n_iter_[0] == 20


def test_predictions_are_lazy_and_equal(client):
    X, y = _data(K=3)
    labels = np.array(["ant", "bee", "cat"])[y]  # labels of any type
    mem = softlogit.LogisticRegression(tol=TOL).fit(X, labels)
    Xd = da.from_array(X, chunks=(400, 4))
    est = softlogit.LogisticRegression(tol=TOL).fit(Xd, da.from_array(labels, chunks=400))
    _same_fit(mem, est)
    for method in ("predict", "predict_proba", "predict_log_proba", "decision_function"):
        out = getattr(est, method)(Xd)
        assert isinstance(out, da.Array), method
        np.testing.assert_allclose(out.compute(), getattr(mem, method)(X), rtol=0, atol=1e-8) \
            if method != "predict" else np.testing.assert_array_equal(out.compute(),
                                                                      mem.predict(X))
    assert est.score(Xd, labels) == pytest.approx(mem.score(X, labels), abs=1e-12)
    w = np.linspace(0.1, 2, len(y))
    assert est.score(Xd, labels, sample_weight=w) == pytest.approx(
        mem.score(X, labels, sample_weight=w), abs=1e-12)


def test_dask_dataframe_with_names_and_string_labels(client):
    X, y = _data(K=2, p=3)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    target = pd.Series(np.where(y == 1, "yes", "no"))
    mem = softlogit.LogisticRegression(tol=TOL).fit(frame, target)
    ddf = dd.from_pandas(frame, npartitions=3)
    est = softlogit.LogisticRegression(tol=TOL).fit(ddf, dd.from_pandas(target, npartitions=3))
    _same_fit(mem, est)
    assert list(est.feature_names_in_) == ["a", "b", "c"]
    pred = est.predict(ddf)
    assert isinstance(pred, da.Array)
    np.testing.assert_array_equal(pred.compute(), mem.predict(frame))
    with pytest.raises(ValueError, match="feature names should match"):
        est.predict(ddf[["c", "b", "a"]])


def test_empty_and_single_class_partitions(client):
    X, y = _data(m=900, K=3)
    order = np.argsort(y, kind="stable")  # sorted labels: each chunk holds one class
    X, y = X[order], y[order]
    mem = softlogit.LogisticRegression(tol=TOL).fit(X, y)
    Xd = da.from_array(X, chunks=((0, 300, 300, 0, 300, 0), (4,)))
    yd = da.from_array(y, chunks=((0, 300, 300, 0, 300, 0),))
    est = softlogit.LogisticRegression(tol=TOL).fit(Xd, yd)
    _same_fit(mem, est)
    np.testing.assert_array_equal(est.predict(Xd).compute(), mem.predict(X))


def test_the_client_never_holds_X(client, monkeypatch):
    """No result of a pass is m-sized: what comes back to the client stays k·p-sized."""
    X, y = _data(m=20_000, p=10, K=3)
    gathered = []
    real_fetch = executor_module.ClusterExecutor._fetch  # every result reaches the client here

    def spy(self, futures):
        out = real_fetch(self, futures)
        gathered.append(sum(_nbytes(r) for r in out))
        return out

    monkeypatch.setattr(executor_module.ClusterExecutor, "_fetch", spy)
    Xd = client.persist(da.from_array(X, chunks=(5000, 10)))
    est = softlogit.LogisticRegression(tol=1e-8, solver="newton").fit(
        Xd, da.from_array(y, chunks=5000))
    assert est.fit_report_.converged
    # the largest result is the Hessian of every chunk, (K·(p+1))² each: independent of m
    hessians = 4 * (3 * 11) ** 2 * 8
    assert gathered and max(gathered) <= hessians + 1024
    assert sum(gathered) < X.nbytes / 4


def _nbytes(r):
    if isinstance(r, (tuple, list)):
        return sum(_nbytes(x) for x in r)
    return int(getattr(r, "nbytes", 8))


def test_one_task_per_worker_sums_in_chunk_order(client, monkeypatch):
    """A pass is one task per worker; the client adds the chunks' results in chunk order (so
    the sum equals, bit for bit, the chunk-by-chunk results added in order: no dependence on
    placement or timing). With results too large to gather, each worker adds its own (in
    chunk order) and the client adds the partials: equal to rounding."""
    from softlogit.backends.dask import chunk as chunk_tasks
    from softlogit.backends.dask import estimator as dask_estimator
    from softlogit.objective import LinearObjective

    X, y = _data(m=3000, p=5, K=3)
    Xd, yd = client.persist([da.from_array(X, chunks=(250, 5)), da.from_array(y, chunks=250)])
    design = dask_estimator.prepare(softlogit.SoftmaxRegression(), Xd, yd, None).design
    ex = design.executor
    rng = np.random.default_rng(3)
    W, b = rng.normal(size=(3, 5)), rng.normal(size=3)
    before = design.rounds
    loss, GW, Gb = design.fused_loss_gradient("multinomial", W, b, design.targets,
                                              design.weights)
    assert design.rounds == before + 1 and design.describe()["tasks_per_pass"] == 2
    each = ex.gather(ex.map(chunk_tasks.loss_gradient, design.chunks, loss_name="multinomial",
                            W=W, b=b))
    assert len(each) == design.n_chunks == 12
    assert loss == executor_module._sum_in_order(each)[0]
    np.testing.assert_array_equal(GW, executor_module._sum_in_order(each)[1])
    mem = LinearObjective(X, y, loss="multinomial", n_classes=3, penalty=None)
    np.testing.assert_allclose(GW / 3000, mem.unpack(mem.loss_gradient(mem.pack(W, b))[1])[0],
                               rtol=1e-12, atol=1e-14)
    H = design.hessian_sum("multinomial", W, b, True)
    monkeypatch.setattr(executor_module, "GATHER_MAX_BYTES", 1)  # every worker adds its own
    H_partial = design.hessian_sum("multinomial", W, b, True)
    np.testing.assert_allclose(H_partial, H, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(H / 3000, mem.hessian(mem.pack(W, b)), rtol=1e-11, atol=1e-13)
    with pytest.raises(TypeError, match="only be summed"):
        ex.gather(ex.map(chunk_tasks.hessian, design.chunks, reduce=True,
                         loss_name="multinomial", W=W, b=b, fit_intercept=True))


def test_chunks_with_copies_are_spread_over_their_holders():
    """Blocks held by several workers (e.g. after X was computed into the client, which
    concatenates them on one worker) go to the least-loaded holder, not all to the first."""
    spread = executor_module._spread
    assert spread([{"b", "a"}] * 4) == ["a", "b", "a", "b"]
    assert spread([{"a"}, {"a", "b"}, {"a", "b"}, set(), {"b"}]) == ["a", "b", "a", None, "b"]


def test_default_scheduler_without_client(monkeypatch):
    monkeypatch.setattr(executor_module, "current_client", lambda: None)
    X, y = _data(K=3)
    mem = softlogit.SoftmaxRegression(tol=TOL).fit(X, y)
    est = softlogit.SoftmaxRegression(tol=TOL).fit(da.from_array(X, chunks=(500, 4)),
                                                   da.from_array(y, chunks=500))
    _same_fit(mem, est)
    assert est.fit_report_.info["dask"]["scheduler"].startswith("local")


def test_separable_data_warns_and_matches(client):
    X, _ = _data(m=400, p=3)
    y = (X[:, 0] > 0).astype(int)
    with pytest.warns(SeparationWarning, match="Feature x0 separates") as rec_mem:
        mem = softlogit.LogisticRegression(penalty=None).fit(X, y)
    with pytest.warns(SeparationWarning, match="Feature x0 separates") as rec:
        est = softlogit.LogisticRegression(penalty=None).fit(da.from_array(X, chunks=100),
                                                             da.from_array(y, chunks=100))
    assert str(rec[0].message) == str(rec_mem[0].message)
    _same_fit(mem, est, atol=1e-6)


def test_partial_fit_is_one_call_per_block(client):
    X, y = _data(m=600, K=3)
    mem = softlogit.LogisticRegression(random_state=0)
    for r0 in range(0, 600, 200):
        mem.partial_fit(X[r0:r0 + 200], y[r0:r0 + 200], classes=[0, 1, 2])
    est = softlogit.LogisticRegression(random_state=0).partial_fit(
        da.from_array(X, chunks=200), da.from_array(y, chunks=200), classes=[0, 1, 2])
    np.testing.assert_allclose(est.coef_, mem.coef_, rtol=0, atol=1e-12)
    assert est.n_iter_[0] == 3


def test_design_products_match_the_reference(client):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(500, 6))
    design = as_design(da.from_array(X, chunks=(120, 6)))
    ref = DenseDesign(X)
    assert isinstance(design, DaskDesign) and design.n_chunks == 5
    W, R, d = rng.normal(size=(2, 6)), rng.normal(size=(500, 2)), rng.uniform(size=500)
    np.testing.assert_allclose(design.dot(W), ref.dot(W), atol=1e-12)
    np.testing.assert_allclose(design.tdot(R), ref.tdot(R), atol=1e-12)
    np.testing.assert_allclose(design.gram(d), ref.gram(d), atol=1e-12)
    np.testing.assert_allclose(design.wsum_rows(d), ref.wsum_rows(d), atol=1e-12)
    for got, want in zip(design.column_scale(), ref.column_scale()):
        np.testing.assert_allclose(got, want, atol=1e-12)
    assert design.passes == 5
    rows = np.array([499, 3, 250, 120, 119])
    batch = design.take(rows)
    np.testing.assert_array_equal(batch.X, X[rows])
    batch.dot(W)  # a pass over the 5 taken rows is 5/500 of a pass over X
    assert design.passes == pytest.approx(5 + 5 / 500)


def test_bad_input_names_the_problem(client):
    X, y = _data(m=400)
    X[250, 1] = np.nan
    with pytest.raises(ValueError, match=r"X contains 1 NaN and 0 infinite values in rows 200"):
        softlogit.LogisticRegression().fit(da.from_array(X, chunks=200), y)
    X, y = _data(m=400)
    with pytest.raises(ValueError, match="X has 400 rows but y has 399"):
        softlogit.LogisticRegression().fit(da.from_array(X, chunks=200), y[:-1])
    with pytest.raises(ValueError, match="only 1 class"):
        softlogit.LogisticRegression().fit(da.from_array(X, chunks=200), np.zeros(400),
                                           sample_weight=None)
    with pytest.raises(ValueError, match="negative"):
        softlogit.LogisticRegression().fit(da.from_array(X, chunks=200), y,
                                           sample_weight=-np.ones(400))


def test_worker_killed_mid_fit_completes_or_fails_clearly():
    """A worker process killed during the fit: the chunks it held are recomputed on the
    survivors (the fit equals the in-memory one), or one ClusterLostError — never a hang."""
    X, y = _data(m=4000, p=5, K=3)
    # Newton reaches the optimum to rounding, so both fits agree far below the 1e-8 compared
    # (L-BFGS stops at the float64 floor of ‖∇J‖ ≈ 1e-9 here, where the chunked and in-memory
    # sums, added in different orders, leave coefficients ~1e-8 apart).
    mem = softlogit.LogisticRegression(solver="newton", tol=TOL, max_iter=500).fit(X, y)
    # Forked workers inherit the imported (and compiled) kernels: seconds, not tens of them.
    with dask.config.set({"distributed.worker.multiprocessing-method": "fork"}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                     dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as c:
        pids = c.run(os.getpid)
        victim = pids[sorted(pids)[0]]
        killed = threading.Event()

        def kill_at_second_iteration(state):
            if state.iteration == 2 and not killed.is_set():
                os.kill(victim, signal.SIGKILL)
                killed.set()

        est = softlogit.LogisticRegression(solver="newton", tol=TOL, max_iter=500,
                                           callback=kill_at_second_iteration)
        Xd = da.from_array(X, chunks=(1000, 5))
        yd = da.from_array(y, chunks=1000)
        with ThreadPoolExecutor(1) as pool:
            future = pool.submit(est.fit, Xd, yd)
            try:
                future.result(timeout=FIT_TIMEOUT)
            except ClusterLostError as exc:
                assert "cluster" in str(exc)
                return
        assert killed.is_set()
        _same_fit(mem, est)


def test_core_does_not_import_dask():
    code = ("import sys, numpy as np, softlogit; "
            "X = np.random.default_rng(0).normal(size=(50, 3)); y = (X[:, 0] > 0) * 1; "
            "softlogit.LogisticRegression().fit(X, y).predict(X); "
            "assert not [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# --- data sources and the CLI's --dask (pointed at the module's in-process scheduler) -----------


@pytest.fixture(scope="module")
def table_files(tmp_path_factory):
    """The same table as one CSV (for the in-memory CLI), a Parquet dataset directory of three
    files and three CSV parts (for --dask): a text column, missing numbers, string labels."""
    root = tmp_path_factory.mktemp("tables")
    rng = np.random.default_rng(5)
    m = 1500
    frame = pd.DataFrame({"a": rng.normal(size=m), "b": rng.normal(size=m) * 3 + 1,
                          "color": rng.choice(["red", "green", "blue"], m)})
    frame.loc[rng.choice(m, 40, replace=False), "b"] = np.nan
    z = 1.5 * frame.a - (frame.color == "red") + 0.3 * frame.b.fillna(0)
    frame["label"] = np.where(z + rng.logistic(size=m) > 0, "yes", "no")
    frame.to_csv(root / "all.csv", index=False)
    (root / "ds").mkdir()
    for i in range(3):
        part = frame.iloc[i * 500:(i + 1) * 500]
        part.to_parquet(root / "ds" / f"part{i}.parquet", index=False)
        part.to_csv(root / f"part{i}.csv", index=False)
    return root


def _cli(*argv):
    from softlogit.cli import main

    return main([str(a) for a in argv])


@pytest.mark.parametrize("source", ["ds", "part*.csv"])
def test_cli_fit_on_a_dataset_equals_the_in_memory_fit(client, table_files, source, capsys):
    from softlogit.io.model_file import load

    addr = client.scheduler.address
    common = ["--impute", "mean", "--test-size", "0", "--tol", "1e-10", "--no-figures"]
    assert _cli("fit", table_files / "all.csv", *common, "--out", table_files / "mem") == 0
    out = table_files / f"dask-{source.replace('*', '')}"
    assert _cli("fit", table_files / source, "--dask", addr, *common, "--out", out) == 0
    printed = capsys.readouterr().out
    assert "cluster  2 workers, 2 threads" in printed and "passes" in printed
    mem, dist = load(table_files / "mem" / "model.softlogit"), load(out / "model.softlogit")
    assert dist.encoder.feature_names_out_ == mem.encoder.feature_names_out_
    for name in ("fill_", "center_", "scale_"):
        np.testing.assert_allclose(getattr(dist.encoder, name), getattr(mem.encoder, name),
                                   rtol=1e-12)
    _same_fit(mem.estimator, dist.estimator)
    doc = __import__("json").loads((out / "metrics.json").read_text())
    mem_doc = __import__("json").loads((table_files / "mem" / "metrics.json").read_text())
    for key in ("accuracy", "log_loss"):
        assert doc["train"][key] == pytest.approx(mem_doc["train"][key], abs=1e-9)
    assert doc["train"]["confusion_matrix"] == mem_doc["train"]["confusion_matrix"]
    assert doc["cluster"]["workers"] == 2 and doc["fit"]["passes"] > 0


def test_cli_predict_and_evaluate_on_a_dataset(client, table_files, capsys):
    addr = client.scheduler.address
    model = table_files / "m2" / "model.softlogit"
    assert _cli("fit", table_files / "ds", "--dask", addr, "--impute", "mean", "--no-figures",
                "--out", table_files / "m2") == 0
    assert _cli("predict", model, table_files / "all.csv", "--proba", "--out",
                table_files / "p_mem.csv") == 0
    assert _cli("predict", model, table_files / "ds", "--proba", "--dask", addr, "--out",
                table_files / "p_dask.parquet") == 0
    mem = pd.read_csv(table_files / "p_mem.csv")
    dist = pd.read_parquet(table_files / "p_dask.parquet")
    np.testing.assert_allclose(dist.to_numpy(), mem.to_numpy(), rtol=0, atol=1e-12)
    assert _cli("predict", model, table_files / "ds", "--dask", addr, "--out",
                table_files / "labels.csv") == 0
    assert _cli("predict", model, table_files / "all.csv", "--out",
                table_files / "labels_mem.csv") == 0
    assert pd.read_csv(table_files / "labels.csv")["prediction"].tolist() == \
        pd.read_csv(table_files / "labels_mem.csv")["prediction"].tolist()
    assert _cli("predict", model, table_files / "ds", "--dask", addr, "--threshold", "0.3",
                "--out", table_files / "labels_t.csv") == 0
    assert _cli("predict", model, table_files / "all.csv", "--threshold", "0.3", "--out",
                table_files / "labels_t_mem.csv") == 0
    at_03 = pd.read_csv(table_files / "labels_t.csv")["prediction"].tolist()
    assert at_03 == pd.read_csv(table_files / "labels_t_mem.csv")["prediction"].tolist()
    assert at_03 != pd.read_csv(table_files / "labels.csv")["prediction"].tolist()
    capsys.readouterr()
    assert _cli("evaluate", model, table_files / "ds", "--dask", addr) == 0
    printed = capsys.readouterr().out
    assert "softlogit evaluate" in printed and "cluster" in printed


def test_cli_dask_errors_are_one_line(client, table_files, capsys):
    addr = client.scheduler.address
    assert _cli("fit", table_files / "ds", "--dask", addr) == 1  # missing values, no --impute
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing values in column 'b' (40 rows)" in err
    assert err.count("\n") == 1
    assert _cli("fit", table_files / "nothing*.parquet", "--dask", addr) == 1
    assert "no such file" in capsys.readouterr().err
    assert _cli("fit", table_files / "ds", "--dask", addr, "--target", "nope") == 1
    assert "target column 'nope' not found" in capsys.readouterr().err
    assert _cli("fit", table_files / "ds", "--dask", addr, "--inference") == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --inference is not available with --dask") and \
        err.count("\n") == 1


def test_estimator_on_a_parquet_dataset_with_column_selections(client, table_files):
    """Dask may fuse the partitions of a one-column selection differently from a wider one:
    X and y taken from the same Parquet dataset must still line up row by row."""
    frame = dd.read_parquet(table_files / "ds")
    X, y = frame[["a"]], frame["label"]
    mem_frame = pd.read_csv(table_files / "all.csv")
    mem = softlogit.LogisticRegression(tol=TOL).fit(mem_frame[["a"]], mem_frame["label"])
    est = softlogit.LogisticRegression(tol=TOL).fit(X, y)
    _same_fit(mem, est)
    assert est.score(X, y) == pytest.approx(mem.score(mem_frame[["a"]], mem_frame["label"]))


def test_float32_and_sparse_chunks(client):
    import scipy.sparse as sp

    X, y = _data(m=800, K=3)
    X32 = X.astype(np.float32)
    mem = softlogit.LogisticRegression(tol=1e-6).fit(X32, y)
    est = softlogit.LogisticRegression(tol=1e-6).fit(da.from_array(X32, chunks=200), y)
    assert est.coef_.dtype == np.float32
    np.testing.assert_allclose(est.coef_, mem.coef_, rtol=0, atol=1e-5)
    Xs = np.where(X > 0.3, X, 0.0)
    mem = softlogit.LogisticRegression(tol=TOL).fit(sp.csr_matrix(Xs), y)
    chunks = da.from_array(Xs, chunks=200).map_blocks(sp.csr_matrix,
                                                      meta=sp.csr_matrix((0, 0)))
    est = softlogit.LogisticRegression(tol=TOL).fit(chunks, y)  # CSR chunks: sparse kernels
    _same_fit(mem, est)


# --- the CLI's stratified split and exact metrics on the cluster -------------------------------


def _same_metrics(got, ref):
    """Every key of the in-memory metrics (scikit-learn's, on gathered predictions) equal."""
    assert list(got) == list(ref)
    for key, value in ref.items():
        if key == "per_class":
            for g, r in zip(got[key], value):
                assert g.keys() == r.keys()
                for k in r:
                    assert g[k] == (pytest.approx(r[k], abs=1e-12) if r[k] is not None else None)
        elif isinstance(value, float):
            assert got[key] == pytest.approx(value, abs=1e-12), key
        else:
            assert got[key] == value, key


def test_split_is_stratified_exact_and_independent_of_chunks(client, monkeypatch):
    """Per-class test counts equal scikit-learn's stratified split's; the selected rows are
    those with the smallest keys of their class (checked by sorting all keys in memory), with
    several histogram rounds forced; the same split whatever the chunking."""
    from sklearn.model_selection import train_test_split

    from softlogit.backends.dask import split as S
    from softlogit.backends.dask.inputs import find_labels

    rng = np.random.default_rng(3)
    y = rng.choice(np.array(["a", "b", "c"]), size=20_011, p=[0.75, 0.2, 0.05])
    yd = da.from_array(y, chunks=3000)
    classes, counts = find_labels(yd)
    monkeypatch.setattr(S, "GATHER_MAX", 20)  # force radix rounds before the final gather
    split, sizes = S.stratified_split(yd, classes, counts, 0.3, 11)
    mask = split.test_mask(y, 0)
    _, test = train_test_split(np.arange(y.size), test_size=0.3, stratify=y, random_state=0)
    assert [int(mask[y == c].sum()) for c in classes] == [int((y[test] == c).sum())
                                                          for c in classes]
    assert sum(sizes) == mask.sum() == np.ceil(0.3 * y.size)
    keys = S.row_keys(0, y.size, 11)
    assert np.unique(keys).size == y.size  # a bijection: no ties between rows
    for c in classes:
        rows = np.flatnonzero(y == c)
        smallest = rows[np.argsort(keys[rows])[:mask[rows].sum()]]
        assert set(smallest) == set(np.flatnonzero(mask & (y == c)))
    again, _ = S.stratified_split(da.from_array(y, chunks=7001), classes, counts, 0.3, 11)
    np.testing.assert_array_equal(again.limits, split.limits)
    other, _ = S.stratified_split(yd, classes, counts, 0.3, 12)
    assert not np.array_equal(other.test_mask(y, 0), mask)


@pytest.mark.parametrize("K,threshold", [(2, None), (2, 0.3), (3, None)])
def test_distributed_metrics_equal_scikit_learn(client, K, threshold):
    """The sorted-merge ROC-AUC / PR-AUC (several buckets, many tied scores) and every other
    metric equal scikit-learn's on the gathered predictions (cli.metrics)."""
    from softlogit.backends.dask.metrics import classification_metrics
    from softlogit.cli.metrics import classification_metrics as reference, predict_labels

    rng = np.random.default_rng(K)
    m = 3000
    P = np.round(rng.dirichlet(np.ones(K), size=m), 2)  # rounded: ties within and across blocks
    P /= P.sum(axis=1, keepdims=True)
    codes = rng.integers(0, K, m)
    classes = np.array(["x", "y", "z"][:K])
    blocks = client.scatter([(codes[i:i + 700], P[i:i + 700]) for i in range(0, m, 700)],
                            hash=False)  # fresh keys: the K = 2 cases scatter equal data
    got = classification_metrics(blocks, classes, threshold, bucket_rows=700)
    est = softlogit.LogisticRegression()
    est.classes_ = classes
    _same_metrics(got, reference(classes[codes], P, predict_labels(est, P, threshold), classes,
                                 threshold))


def _held_bytes(client):
    """Bytes of every result the scheduler knows to be in a worker's memory."""
    return client.run_on_scheduler(lambda dask_scheduler: sum(
        ts.nbytes for ts in dask_scheduler.tasks.values() if ts.state == "memory"))


def test_cli_split_metrics_and_memory_on_the_cluster(client, table_files, monkeypatch, capsys):
    """``fit --dask --test-size``: the test rows are the stratified split's; the model equals
    the in-memory fit on the same training rows; train and test metrics (ROC-AUC included)
    equal the in-memory CLI's on the same rows; the workers hold the training rows once."""
    import json

    from softlogit.backends.dask import split as S
    from softlogit.backends.dask.inputs import find_labels
    from softlogit.io.model_file import load

    from softlogit.backends.dask import estimator as dask_estimator

    held, fit_placed = {}, dask_estimator.fit_placed

    def fit_and_measure(est, X, y):  # what the workers hold right after the fit
        est, design = fit_placed(est, X, y)
        held["keys"] = _held_bytes(client) - before
        held["chunk_bytes"] = sum(client.gather(client.map(lambda c: c.nbytes, design.chunks)))
        return est, design

    monkeypatch.setattr(dask_estimator, "fit_placed", fit_and_measure)  # run_fit imports it
    before = _held_bytes(client)  # what earlier tests of the module left on the workers
    addr = client.scheduler.address
    frame = pd.read_csv(table_files / "all.csv")
    out = table_files / "split"
    common = ["--impute", "mean", "--tol", "1e-10", "--no-figures"]
    assert _cli("fit", table_files / "ds", "--dask", addr, *common, "--test-size", "0.3",
                "--seed", "4", "--out", out) == 0, capsys.readouterr().err
    doc = json.loads((out / "metrics.json").read_text())
    y = frame["label"].to_numpy().astype(str)
    classes, counts = find_labels(da.from_array(y, chunks=500))
    split, _ = S.stratified_split(da.from_array(y, chunks=500), classes, counts, 0.3, 4)
    test = split.test_mask(y, 0)
    assert doc["data"]["test_rows"] == test.sum() == np.ceil(0.3 * len(y))
    frame[~test].to_csv(table_files / "train.csv", index=False)
    frame[test].to_csv(table_files / "test.csv", index=False)
    mem_out = table_files / "split-mem"
    assert _cli("fit", table_files / "train.csv", *common, "--test-size", "0",
                "--out", mem_out) == 0
    _same_fit(load(mem_out / "model.softlogit").estimator, load(out / "model.softlogit").estimator)
    mem_doc = json.loads((mem_out / "metrics.json").read_text())
    _same_metrics(doc["train"], mem_doc["train"])
    assert _cli("evaluate", out / "model.softlogit", table_files / "test.csv",
                "--out", table_files / "split-eval") == 0
    ref = json.loads((table_files / "split-eval" / "metrics.json").read_text())["evaluation"]
    assert "roc_auc" in ref
    _same_metrics(doc["test"], ref)
    # Held on the workers after the fit: the training chunks and the labels, nothing else of
    # X (before, the whole encoded X was persisted besides the chunks: about twice).
    labels_bytes = y.size * 4 * 3  # '<U3' labels of every row
    assert held["keys"] <= held["chunk_bytes"] + labels_bytes + 4096


# --- inference on dask input (issue 9): the sums on the workers -------------------------------


@pytest.mark.parametrize("K,kwargs,cov_type,reference", [
    (2, {"penalty": None}, "nonrobust", None),
    (2, {"class_weight": "balanced"}, "HC1", None),    # L2 bread, class weights folded in
    (3, {"penalty": None}, "HC3", 2),                  # leverages: a second round
    (3, {}, "HC2", None),                              # L2 softmax: all K logits, contrasts
    (3, {"penalty": None, "fit_intercept": False}, "HC0", None),
])
def test_inference_on_dask_equals_in_memory(client, K, kwargs, cov_type, reference):
    """``est.inference`` on dask X equals the in-memory inference (itself checked against
    statsmodels and Stata in tests/inference): estimates, standard errors, log-likelihoods."""
    import warnings

    X, y = _data(m=900, p=3, K=K, seed=K)
    s = np.random.default_rng(1).uniform(0.5, 2.0, X.shape[0])
    est = softlogit.LogisticRegression(tol=1e-10, **kwargs).fit(X, y, sample_weight=s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the L2 fits' PenalizedInferenceWarning, both sides
        mem = est.inference(X, y, cov_type=cov_type, sample_weight=s, reference=reference)
        got = est.inference(da.from_array(X, chunks=250), da.from_array(y, chunks=250),
                            cov_type=cov_type, sample_weight=s, reference=reference)
    assert got.names == mem.names
    np.testing.assert_allclose(got.params, mem.params, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.cov_params(), mem.cov_params(), rtol=1e-10, atol=1e-14)
    assert got.llf == pytest.approx(mem.llf, rel=1e-12)
    assert got.llnull == pytest.approx(mem.llnull, rel=1e-12)
    assert got.nobs == pytest.approx(mem.nobs, rel=1e-12)


def test_inference_on_dask_gathers_no_rows_and_refuses_clearly(client, monkeypatch):
    X, y = _data(m=600, p=3)
    est = softlogit.LogisticRegression(penalty=None).fit(X, y)
    Xd, yd = da.from_array(X, chunks=200), da.from_array(y, chunks=200)
    gathered = []
    real = client.gather

    def sizes(obj):
        if isinstance(obj, (list, tuple)):
            for o in obj:
                yield from sizes(o)
        elif isinstance(obj, np.ndarray):
            yield obj.size

    def gather(futures, *a, **k):
        out = real(futures, *a, **k)
        gathered.extend(sizes(out))
        return out

    monkeypatch.setattr(client, "gather", gather)
    res = est.inference(Xd, yd, cov_type="HC1")
    assert res.bse.shape == (4,) and max(gathered) <= 16  # (q × q) matrices at most
    with pytest.raises(ValueError, match="cluster.*not available on dask"):
        est.inference(Xd, yd, cov_type="cluster", groups=np.arange(600) % 5)
    with pytest.raises(TypeError, match="marginal effects"):
        res.model.X


def test_chunks_are_built_and_read_where_their_rows_are(client):
    """With X persisted, each chunk is built on the worker holding its X block (the chunk is
    then that block, no copy), and every task of a pass is pinned to its chunk's worker: work
    stealing moved tasks and made workers fetch copies of others' chunks (BENCHMARKS.md)."""
    from softlogit.backends.dask.estimator import fit_placed

    X, y = _data(m=2000, p=3)
    Xd, yd = client.persist([da.from_array(X, chunks=250), da.from_array(y, chunks=250)])
    distributed.wait([Xd, yd])
    blocks = {f.key: f for f in distributed.futures_of(Xd)}
    keys = [k for row in Xd.__dask_keys__() for k in row]
    x_where = client.who_has([blocks[k] for k in keys])  # before the fit
    _, design = fit_placed(softlogit.LogisticRegression(tol=TOL), Xd, yd)
    c_where = client.who_has(design.chunks)
    assert all(set(c_where[c.key]) <= set(x_where[k]) for k, c in zip(keys, design.chunks))
    futures = design.executor.map(lambda chunk: __import__("distributed").get_worker().address,
                                  design.chunks)
    ran_on = design.executor.gather(futures)
    assert ran_on == [list(c_where[c.key])[0] for c in design.chunks]
    # one task per worker holding chunks, each running over all of that worker's chunks
    holders = {list(c_where[c.key])[0] for c in design.chunks}
    assert len(futures) == len(holders) == design.describe()["tasks_per_pass"]
