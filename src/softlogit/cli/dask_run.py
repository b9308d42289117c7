"""``--dask [SCHEDULER_ADDRESS]`` for ``fit``, ``predict`` and ``evaluate``: the same commands on a
Dask cluster (a new ``LocalCluster`` without an address).

DATA is then a Parquet dataset (directory, file or glob) or CSV/TSV files by glob, read by
Dask on the workers (:mod:`softlogit.backends.dask.sources`); the column handling is the
CLI's (target by name, text columns one-hot, ``--impute mean``, ``--standardize``), learned in one
distributed pass, and the saved model is the same ``TabularModel`` an in-memory fit writes.
The train/test split is stratified and seeded like the in-memory one (the same number of test
rows per class as scikit-learn's stratified split; which rows, a hash of the seed and the row
number: :mod:`softlogit.backends.dask.split`), found without gathering the labels; the
encoding is learned on the training rows. The metrics are the in-memory ones — accuracy,
log-loss, per-class precision/recall/F1, macro-F1, and for two classes Brier, ROC-AUC and
PR-AUC — computed exactly on the workers (:mod:`softlogit.backends.dask.metrics`). The workers
hold the data once: the labels are persisted, the training rows are read and encoded straight
into the fit's chunks, the test rows read again only to be scored. Figures are the convergence
and coefficients plots only (the others draw every prediction on one machine).
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



def _take_rows(block, split, test, block_info=None):
    """The train or test rows of one block of the labels (its global offset from Dask)."""
    offset = block_info[0]["array-location"][0][0]
    mask = split.test_mask(block, offset)
    return block[mask if test else ~mask]


def _split_labels(y, split, test_rows, test):
    rows = tuple(t if test else n - t for t, n in zip(test_rows, y.chunks[0]))
    return y.map_blocks(_take_rows, split, test, chunks=(rows,), dtype=y.dtype)


def _scored_partition(part, encoder, est, source, target, handle_unknown):
    """``(codes, proba)`` of one partition: encoded, labelled and predicted on its worker."""
    from softlogit.backends.dask import sources
    from softlogit.backends.dask.metrics import block_scores

    X = sources._encode_partition(part, encoder, source, handle_unknown)
    return block_scores(X, sources._labels(part, source, target), est)


def metrics(scored, est, threshold=None) -> dict:
    """The in-memory CLI's metrics (:func:`softlogit.cli.metrics.classification_metrics`) of
    scored blocks on the workers (:mod:`softlogit.backends.dask.metrics`)."""
    from softlogit.backends.dask.metrics import classification_metrics

    return classification_metrics(scored, est.classes_, threshold)


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
        lines.append(("passes", f"{fit['passes']:.3g} over X by the solver (+ {fit['setup_passes']:g} "
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
    not_here = [name for name, given in (
        ("--inference", getattr(args, "inference", False)),
        ("--cluster", getattr(args, "cluster", None) is not None),
        ("--C auto", getattr(args, "C", None) == "auto")) if given]
    if not_here:
        raise DataError(f"{' and '.join(not_here)} {'is' if len(not_here) == 1 else 'are'} not "
                        "available with --dask (in Python, est.inference takes dask arrays)")
    from softlogit.cli.fit import check_split_counts
    from softlogit.cli.metrics import check_threshold

    out = output_directory(args.out) if args.out else None
    with connect(args.dask) as client:
        import dask

        from softlogit.backends.dask.estimator import fit_placed
        from softlogit.backends.dask.metrics import chunk_scores
        from softlogit.backends.dask.split import stratified_split

        ddf, features, target = _read(args, args.target)
        parts = sources.partitions(ddf)
        # One read: the labels (small) stay on the workers; X is never persisted whole — the
        # training chunks are read and encoded straight into the fit's design, the test rows
        # read again for scoring, so the workers hold the data once.
        y, lengths = sources.read_labels(ddf[target], parts, source=args.data, name=target)
        classes, counts = inputs.find_labels(y)
        if len(classes) < 2:
            raise DataError(f"{args.data}: target column {target!r} has only one class "
                            f"({classes.tolist()[0]!r}); a classifier needs at least two")
        check_threshold(args.threshold, len(classes))
        offsets = np.concatenate([[0], np.cumsum(lengths)])[:-1].tolist()
        if args.test_size:
            check_split_counts(classes, counts, args.test_size, args.data)
            split, test_rows = stratified_split(y, classes, counts, args.test_size, args.seed)
            train_parts = [dask.delayed(sources.split_part)(p, split, o, test=False,
                                                            source=args.data, name=target)
                           for p, o in zip(parts, offsets)]
            stats_args = {"parts": parts, "split": split, "offsets": offsets, "target": target}
            test_parts = [dask.delayed(sources.split_part)(p, split, o, test=True,
                                                           source=args.data, name=target)
                          for p, o in zip(parts, offsets)]
            y_tr = _split_labels(y, split, test_rows, test=False)
        else:
            train_parts, test_parts, test_rows, y_tr = parts, [], [0] * len(parts), y
            stats_args = {"parts": parts}
        # The encoding is learned on the training rows, as in memory (cli.fit).
        encoder, train_lengths = sources.fit_encoder(
            features, **stats_args, impute=args.impute, handle_unknown=args.handle_unknown,
            standardize=args.standardize, source=args.data)
        X_tr = sources.encode(train_parts, encoder, train_lengths, source=args.data)
        estimator = make_estimator(args, len(classes))
        start = time.perf_counter()
        estimator, design = fit_placed(estimator, X_tr, y_tr)
        elapsed = time.perf_counter() - start
        del X_tr
        report = estimator.fit_report_
        n_test = int(sum(test_rows))
        doc = {
            "softlogit_version": __version__, "command": "fit",
            "data": {"source": args.data, "target": target, "rows": int(sum(lengths)),
                     "features": encoder.n_columns_in_,
                     "encoded_features": len(encoder.feature_names_out_),
                     "train_rows": int(sum(lengths)) - n_test, "test_rows": n_test,
                     "test_size": args.test_size, "seed": args.seed,
                     "split": "stratified by class, seeded (rows chosen by a hash of the "
                              "seed and the row number)"},
            "classes": [{"label": c, "count": int(n)}
                        for c, n in zip(classes.tolist(), counts)],
            "model": {"class": type(estimator).__name__,
                      "params": {k: v for k, v in estimator.get_params().items()
                                 if k != "callback"},
                      "standardize": args.standardize, "impute": args.impute,
                      "threshold": args.threshold},
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
        # Training metrics from the placed chunks (no new read); then they are released.
        doc["train"] = metrics([dask.delayed(chunk_scores)(c, estimator)
                                for c in design.chunks], estimator, args.threshold)
        del design
        if n_test:
            # A category met only in the test rows is a fact of the split (as in memory).
            doc["test"] = metrics([dask.delayed(_scored_partition)(p, encoder, estimator,
                                                                   args.data, target, "ignore")
                                   for p in test_parts], estimator, args.threshold)
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
    from softlogit.cli.metrics import check_threshold, predict_labels

    fmt = output_format(args.out)
    model = load_tabular_model(args.model)
    est = model.estimator
    threshold = getattr(args, "threshold", None)
    check_threshold(threshold, len(model.classes_))
    with connect(args.dask) as client:
        _, _, X, lengths = _encoded(args, model)
        if args.proba:
            P = est.predict_proba(X)
        elif threshold is not None:  # the in-memory rule (cli.metrics.predict_labels), per block
            P = est.predict_proba(X).map_blocks(
                lambda b: predict_labels(est, b, threshold), drop_axis=1,
                dtype=est.classes_.dtype, meta=np.empty(0, dtype=est.classes_.dtype))
        else:
            P = est.predict(X)
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

    from softlogit.cli.metrics import check_threshold

    model = load_tabular_model(args.model)
    check_threshold(getattr(args, "threshold", None), len(model.classes_))
    with connect(args.dask) as client:
        import dask

        from softlogit.backends.dask.inputs import find_labels

        ddf, parts, _, lengths = _encoded(args, model)
        target = sources.find_target(ddf.columns, args.target or model.target_name, args.data)
        y, _ = sources.read_labels(ddf[target], parts, source=args.data, name=target)
        labels, counts = find_labels(y)
        scored = [dask.delayed(_scored_partition)(p, model.encoder, model.estimator, args.data,
                                                  target, getattr(args, "handle_unknown", None))
                  for p in parts]
        doc = {"command": "evaluate", "model_file": str(args.model),
               "data": {"source": args.data, "target": target, "rows": int(sum(lengths)),
                        "features": model.encoder.n_columns_in_},
               "classes": [{"label": c, "count": int(n)}
                           for c, n in zip(labels.tolist(), counts)],
               "evaluation": metrics(scored, model.estimator, getattr(args, "threshold", None)),
               "cluster": _cluster_doc(client)}
    if args.out:
        from softlogit.cli.common import json_bytes, output_directory, write_outputs

        out = output_directory(args.out)
        doc["out"], doc["files"] = str(out), ["metrics.json"]
        write_outputs(out, {"metrics.json": json_bytes(doc)})
    print_evaluation(console, doc)
    _print_cluster(console, doc)
    return 0
