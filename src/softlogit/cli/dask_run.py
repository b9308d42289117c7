"""``--dask [SCHEDULER_ADDRESS]`` for ``fit``, ``predict`` and ``evaluate``: the same commands on a
Dask cluster (a new ``LocalCluster`` without an address).

DATA is then a Parquet dataset (directory, file or glob) or CSV/TSV files by glob, read by
Dask on the workers (:mod:`softlogit.backends.dask.sources`); the column handling is the
CLI's (target by name, text columns one-hot, ``--impute mean``, ``--standardize``), learned in one
distributed pass, and the saved model is the same ``TabularModel`` an in-memory fit writes.
Differences from the in-memory commands, each for a reason: the train/test split is a seeded
random split per row (not stratified: stratifying needs every label on one machine); the
metrics are computed on the workers from per-block confusion matrices and log-loss sums, and
ROC-AUC (a global ranking) is not computed; figures are the convergence and coefficients
plots only (the others need every prediction on one machine).
"""

from __future__ import annotations

import time

import numpy as np

from softlogit.io.errors import DataError


def add_dask_argument(parser) -> None:
    parser.add_argument(
        "--dask", nargs="?", const="local", default=None, metavar="SCHEDULER_ADDRESS",
        help="run on a Dask cluster: without an address a LocalCluster on this machine, with "
             "one (tcp://host:8786) the cluster of that scheduler; DATA is then a Parquet "
             "dataset or CSV files by glob (needs softlogit[dask])")


# --- shared steps ---------------------------------------------------------------------------------


def _read(args, target_arg):
    from softlogit.backends.dask import sources

    ddf = sources.read_table(args.data)
    target = sources.find_target(ddf.columns, target_arg, args.data)
    features = ddf.drop(columns=[target])
    if len(features.columns) == 0:
        raise DataError(f"{args.data}: no feature columns besides the target {target!r}")
    return ddf, features, target


def _split_sizes(lengths, test_size, seed):
    """Rows per partition of the seeded random test mask (the same draws as ``_take``)."""
    return [int(_mask(n, test_size, seed, i).sum()) for i, n in enumerate(lengths)]


def _mask(n, test_size, seed, i):
    return np.random.default_rng([seed, i]).random(n) < test_size


def _take(block, test_size, seed, test, block_id=None):
    i = block_id[0]
    mask = _mask(block.shape[0], test_size, seed, i)
    return block[mask if test else ~mask]


def _split(a, lengths, test_size, seed, test):
    sizes = _split_sizes(lengths, test_size, seed)
    rows = tuple(s if test else n - s for s, n in zip(sizes, lengths))
    chunks = (rows,) + a.chunks[1:]
    return a.map_blocks(_take, test_size, seed, test, chunks=chunks, dtype=a.dtype)


def _block_metrics(Xb, yb, est):
    """``(confusion K×K, Σ −log p_true, rows)`` of one block (labels outside classes_: error)."""
    classes = est.classes_
    K = len(classes)
    if len(yb) == 0:
        return np.zeros((K, K), np.int64), 0.0, 0
    codes = np.clip(np.searchsorted(classes, yb), 0, K - 1)
    if np.any(classes[codes] != yb):
        unseen = np.unique(yb[classes[codes] != yb])[:5].tolist()
        raise DataError(f"labels not among the model's classes {classes.tolist()!r}: {unseen}")
    P = est.predict_proba(Xb)
    pred = P.argmax(axis=1)
    eps = np.finfo(P.dtype).eps  # scikit-learn's log_loss clips the same way
    p_true = np.clip(P[np.arange(len(codes)), codes], eps, 1 - eps)
    cm = np.zeros((K, K), np.int64)
    np.add.at(cm, (codes, pred), 1)
    return cm, float(-np.log(p_true).sum()), len(codes)


def metrics(est, X, y) -> dict:
    """Accuracy, log-loss, macro-F1 and the confusion matrix, summed over blocks on the workers
    (same definitions as :func:`softlogit.cli.metrics.classification_metrics`)."""
    import dask

    parts = dask.compute(*[dask.delayed(_block_metrics)(xb, yb, est)
                           for xb, yb in zip(X.to_delayed().ravel(), y.to_delayed().ravel())])
    cm = sum(p[0] for p in parts)
    rows = int(sum(p[2] for p in parts))
    if rows == 0:
        return {"rows": 0, "accuracy": None, "log_loss": None, "macro_f1": None}
    tp = np.diag(cm).astype(float)
    denom = 2 * tp + (cm.sum(axis=0) - tp) + (cm.sum(axis=1) - tp)
    f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    out = {"rows": rows, "accuracy": float(tp.sum() / rows),
           "log_loss": float(sum(p[1] for p in parts) / rows), "macro_f1": float(f1.mean())}
    if len(est.classes_) == 2:
        out["roc_auc"] = None  # a global ranking: not computed on the cluster (module doc)
    out["confusion_matrix"] = cm.tolist()
    return out


def _cluster_doc(client, design_info=None):
    from softlogit.backends.dask.cluster import describe

    info = describe(client)
    if design_info:
        info.update({k: design_info[k] for k in ("chunks", "tasks_per_pass", "rounds")
                     if k in design_info})
    return info


def _print_cluster(console, doc):
    from softlogit.backends.dask.cluster import cluster_line

    lines = [("cluster", cluster_line(doc["cluster"]))]
    fit = doc.get("fit")
    if fit and fit.get("passes") is not None:
        c = doc["cluster"]
        lines.append(("passes", f"{fit['passes']:g} over X by the solver (+ {fit['setup_passes']:g} "
                                f"to place it) in {c.get('rounds', '?')} rounds of "
                                f"{c.get('tasks_per_pass', '?')} tasks"))
    from softlogit.cli.report import _facts

    console.print(_facts(lines))


# --- fit ------------------------------------------------------------------------------------------


def run_fit(args, console) -> int:
    from softlogit import __version__
    from softlogit.backends.dask import inputs, sources
    from softlogit.backends.dask.cluster import connect
    from softlogit.cli.common import json_bytes, make_estimator, output_directory, write_outputs
    from softlogit.cli.report import print_fit_summary
    from softlogit.io.tabular import TabularModel

    if not 0 <= args.test_size < 1:
        raise DataError(f"--test-size must be in [0, 1); got {args.test_size}")
    out = output_directory(args.out) if args.out else None
    with connect(args.dask) as client:
        ddf, features, target = _read(args, args.target)
        parts = sources.partitions(ddf)
        encoder, lengths = sources.fit_encoder(
            features, parts, impute=args.impute, handle_unknown=args.handle_unknown,
            standardize=args.standardize, source=args.data)
        X = sources.encode(parts, encoder, lengths, source=args.data)
        y = sources.labels(ddf[target], parts, lengths, source=args.data, name=target)
        X, y = client.persist([X, y])  # read and encoded once; every pass reads the workers
        classes, counts = inputs.find_labels(y)
        if len(classes) < 2:
            raise DataError(f"{args.data}: target column {target!r} has only one class "
                            f"({classes.tolist()[0]!r}); a classifier needs at least two")
        if args.test_size:
            X_tr, y_tr = (_split(a, lengths, args.test_size, args.seed, False) for a in (X, y))
            X_te, y_te = (_split(a, lengths, args.test_size, args.seed, True) for a in (X, y))
        else:
            X_tr, y_tr, X_te, y_te = X, y, None, None
        estimator = make_estimator(args, len(classes))
        start = time.perf_counter()
        estimator.fit(X_tr, y_tr)
        elapsed = time.perf_counter() - start
        report = estimator.fit_report_
        doc = {
            "softlogit_version": __version__, "command": "fit",
            "data": {"source": args.data, "target": target, "rows": int(sum(lengths)),
                     "features": encoder.n_columns_in_,
                     "encoded_features": len(encoder.feature_names_out_),
                     "train_rows": int(X_tr.shape[0]),
                     "test_rows": int(X_te.shape[0]) if X_te is not None else 0,
                     "test_size": args.test_size, "seed": args.seed,
                     "split": "seeded random per row (not stratified)"},
            "classes": [{"label": c, "count": int(n)}
                        for c, n in zip(classes.tolist(), counts)],
            "model": {"class": type(estimator).__name__,
                      "params": {k: v for k, v in estimator.get_params().items()
                                 if k != "callback"},
                      "standardize": args.standardize, "impute": args.impute},
            "fit": {"solver": report.solver,
                    "solver_reason": report.info.get("auto_reason")
                    or f"chosen with --solver {args.solver}",
                    "n_iter": int(report.n_iter), "converged": bool(report.converged),
                    "stop_reason": report.reason, "time_s": elapsed,
                    "final_objective": report.objective, "final_grad_norm": report.grad_norm,
                    "passes": report.info.get("passes"),
                    "setup_passes": report.info["dask"]["setup_passes"]},
            "cluster": _cluster_doc(client, report.info.get("dask")),
        }
        doc["train"] = metrics(estimator, X_tr, y_tr)
        if X_te is not None and X_te.shape[0]:
            doc["test"] = metrics(estimator, X_te, y_te)
    if out is not None:
        from softlogit.cli import figures
        from softlogit.cli.fit import FIT_OUTPUTS
        from softlogit.io.model_file import model_bytes

        files = {}
        if args.figures:
            files["convergence.png"] = figures.convergence(estimator.fit_report_)
            files["coefficients.png"] = figures.coefficients(
                estimator.coef_, encoder.feature_names_out_, estimator.classes_)
        doc["out"] = str(out)
        doc["files"] = ["model.softlogit", "metrics.json", *files]
        # one transaction, as the in-memory fit writes its outputs (softlogit.cli.common)
        model = TabularModel(encoder, estimator, target_name=target)
        files = {"model.softlogit": model_bytes(model), **files, "metrics.json": json_bytes(doc)}
        write_outputs(out, files, replaces=FIT_OUTPUTS)
    print_fit_summary(console, doc)
    _print_cluster(console, doc)
    return 0


# --- predict and evaluate -------------------------------------------------------------------------


def _encoded(args, model):
    from softlogit.backends.dask import sources

    ddf = sources.read_table(args.data)
    names = [c["name"] for c in model.encoder.columns_ or []]
    if model.encoder.columns_ is None:
        raise DataError(f"{args.model}: the model was trained on svmlight data; --dask reads "
                        "tables")
    missing = [n for n in names if n not in ddf.columns]
    if missing:
        raise DataError(f"{args.data}: missing the feature column(s) {', '.join(missing[:10])} "
                        "the model was trained on")
    parts = sources.partitions(ddf)
    import dask

    lengths = list(dask.compute(*[dask.delayed(len)(p) for p in parts]))
    X = sources.encode(parts, model.encoder, lengths, source=args.data,
                       handle_unknown=getattr(args, "handle_unknown", None))
    return ddf, parts, X, lengths


def run_predict(args, console) -> int:
    import pyarrow as pa

    from softlogit.backends.dask.cluster import connect
    from softlogit.cli.common import load_tabular_model
    from softlogit.cli.predict import output_format

    if args.out is None:
        raise DataError("predict --dask needs --out (.parquet: a dataset directory written by "
                        "the workers; .csv: one file)")
    fmt = output_format(args.out)
    model = load_tabular_model(args.model)
    est = model.estimator
    with connect(args.dask) as client:
        _, _, X, lengths = _encoded(args, model)
        P = est.predict_proba(X) if args.proba else est.predict(X)
        columns = ([f"proba_{c}" for c in model.classes_.tolist()] if args.proba
                   else ["prediction"])
        n = int(sum(lengths))
        if fmt == "parquet":
            _write_parquet_dataset(P, columns, args.out)
        else:
            _write_csv_in_order(P, columns, args.out)
        del client
    console.print(f"wrote {n} predictions to {args.out}", highlight=False)
    return 0


def _frame(block, columns):
    import pandas as pd

    block = np.asarray(block)
    if block.ndim == 1:
        block = block.tolist() if block.dtype.kind in "OUS" else block
        return pd.DataFrame({columns[0]: block})
    return pd.DataFrame(block, columns=columns)


def _write_parquet_dataset(P, columns, path):
    """One Parquet file per block, written by the workers into a temporary directory that is
    renamed into place (an existing dataset is replaced only once the new one is complete)."""
    import os
    import shutil
    import tempfile

    import dask
    import pyarrow as pa
    import pyarrow.parquet as pq

    parent = os.path.dirname(os.path.abspath(path)) or "."
    tmp = tempfile.mkdtemp(prefix=".softlogit-", dir=parent)

    def write(block, i):
        pq.write_table(pa.Table.from_pandas(_frame(block, columns), preserve_index=False),
                       os.path.join(tmp, f"part.{i:05d}.parquet"))
        return 0

    try:
        dask.compute(*[dask.delayed(write)(b, i) for i, b in enumerate(P.to_delayed().ravel())])
        if os.path.isdir(path):
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_csv_in_order(P, columns, path):
    """Blocks computed one after the other and appended in row order (one block in memory)."""
    import pyarrow as pa
    import pyarrow.csv as pv

    from softlogit.io.atomic import atomic_writer

    with atomic_writer(path, "wb") as fh:
        for i, block in enumerate(P.to_delayed().ravel()):
            table = pa.Table.from_pandas(_frame(block.compute(), columns), preserve_index=False)
            pv.write_csv(table, fh, write_options=pv.WriteOptions(include_header=i == 0))


def run_evaluate(args, console) -> int:
    from softlogit.backends.dask import sources
    from softlogit.backends.dask.cluster import connect
    from softlogit.cli.common import load_tabular_model
    from softlogit.cli.report import print_evaluation

    model = load_tabular_model(args.model)
    with connect(args.dask) as client:
        ddf, parts, X, lengths = _encoded(args, model)
        target = sources.find_target(ddf.columns, args.target or model.target_name, args.data)
        y = sources.labels(ddf[target], parts, lengths, source=args.data, name=target)
        X, y = client.persist([X, y])
        from softlogit.backends.dask.inputs import find_labels

        labels, counts = find_labels(y)
        doc = {"command": "evaluate", "model_file": str(args.model),
               "data": {"source": args.data, "target": target, "rows": int(sum(lengths)),
                        "features": model.encoder.n_columns_in_},
               "classes": [{"label": c, "count": int(n)}
                           for c, n in zip(labels.tolist(), counts)],
               "evaluation": metrics(model.estimator, X, y),
               "cluster": _cluster_doc(client)}
    if args.out:
        from softlogit.cli.common import json_bytes, output_directory, write_outputs

        out = output_directory(args.out)
        doc["out"], doc["files"] = str(out), ["metrics.json"]
        write_outputs(out, {"metrics.json": json_bytes(doc)})
    print_evaluation(console, doc)
    _print_cluster(console, doc)
    return 0
