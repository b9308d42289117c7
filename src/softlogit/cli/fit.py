"""``softlogit fit``: read, split, fit, report, and save the model, metrics and figures."""

from __future__ import annotations

import time
import warnings

import numpy as np

from softlogit.io.errors import DataError

EXAMPLE = """examples:
  softlogit fit --out runs/digits                  # the bundled digits data (10 classes)
  softlogit fit data.csv --target species --test-size 0.25 --seed 1 --out runs/species
  softlogit fit data.parquet --impute mean --penalty l2 --C 0.5 --out runs/p
  softlogit fit titanic.csv --target survived --id name --drop ticket --categorical pclass
  softlogit fit sales.csv --delimiter ';' --dates parts --penalty none --out runs/sales
"""

#: The names ``fit --out DIR`` owns in DIR: replaced as one set, other files in DIR are kept.
FIT_OUTPUTS = ("model.softlogit", "metrics.json", "coefficients.csv", "*.png")


def add_parser(subparsers):
    import argparse

    from softlogit.cli.common import (
        add_data_argument, add_encoding_arguments, add_model_arguments, add_target_argument,
    )

    parser = subparsers.add_parser(
        "fit", help="fit a model, print a summary, save model, metrics and figures",
        description="Fit logistic or softmax regression on DATA: split off a stratified test "
                    "set, fit on the rest, print a summary and, with --out, write the model "
                    "(model.softlogit), metrics.json and PNG figures into a directory.",
        epilog=EXAMPLE, formatter_class=_formatter())
    add_data_argument(parser, optional=True)
    add_target_argument(parser)
    add_model_arguments(parser)
    add_encoding_arguments(parser)
    from softlogit.cli.summary import add_inference_arguments

    add_inference_arguments(parser, flag=True)
    group = parser.add_argument_group("evaluation and output")
    group.add_argument("--test-size", type=float, default=0.2,
                       help="fraction of rows held out for testing, stratified by class "
                            "(0: fit on all rows; default: 0.2)")
    group.add_argument("--threshold", type=float, default=None,
                       help="two classes: predict the second class when its probability is at "
                            "least this (default: 0.5, the most probable class)")
    group.add_argument("--allow-many-classes", action="store_true",
                       help="fit a numeric target with many distinct values (refused by "
                            "default as a regression target)")
    group.add_argument("--seed", type=int, default=0,
                       help="seed of the train/test split and of stochastic solvers "
                            "(default: 0)")
    group.add_argument("--figures", action=argparse.BooleanOptionalAction, default=True,
                       help="draw the PNG figures into --out (default: on)")
    group.add_argument("--out", metavar="DIR",
                       help="directory for model.softlogit, metrics.json and figures "
                            "(created if missing); without it nothing is written")
    from softlogit.cli.dask_run import add_dask_argument
    add_dask_argument(parser)  # --dask [SCHEDULER_ADDRESS]: the same command on a cluster
    parser.set_defaults(run=run)
    return parser


def _formatter():
    import argparse

    return argparse.RawDescriptionHelpFormatter


def split_rows(y, test_size: float, seed: int, source: str):
    """Stratified, seeded train/test row indices (``test_size`` 0: all rows train)."""
    rows = np.arange(len(y))
    if not 0 <= test_size < 1:
        raise DataError(f"--test-size must be in [0, 1); got {test_size}")
    if test_size == 0:
        return rows, rows[:0]
    from sklearn.model_selection import train_test_split

    classes, counts = np.unique(y, return_counts=True)
    check_split_counts(classes, counts, test_size, source)
    return train_test_split(rows, test_size=test_size, random_state=seed, stratify=y)


def check_split_counts(classes, counts, test_size: float, source: str) -> None:
    """Refuse a stratified split that cannot be made: a class of one row, or too few train or
    test rows for the classes (from the class counts alone, so a cluster can check too)."""
    classes, counts = np.asarray(classes), np.asarray(counts)
    m = int(counts.sum())
    n_test = int(np.ceil(test_size * m))
    n_train = m - n_test
    few = classes[counts < 2]
    if few.size:
        shown = ", ".join(repr(c) for c in few[:5].tolist())
        raise DataError(f"{source}: class{'es' if few.size > 1 else ''} {shown} "
                        f"{'have' if few.size > 1 else 'has'} a single row, too few to be in "
                        f"both the train and the test set; --test-size 0 fits on all rows, "
                        f"or leave those rows out")
    if n_train < len(classes):
        raise DataError(f"{source}: --test-size {test_size:g} leaves {n_train} training "
                        f"row{'s' if n_train != 1 else ''} for {len(classes)} classes; use a "
                        f"smaller --test-size (the default is 0.2)")
    if n_test < len(classes):
        raise DataError(f"{source}: --test-size {test_size:g} holds out {n_test} row"
                        f"{'s' if n_test != 1 else ''}, fewer than the {len(classes)} classes; "
                        f"use a larger --test-size, or --test-size 0 to fit on all rows")


def run(args, console) -> int:
    if getattr(args, "dask", None) is not None:
        from softlogit.cli.dask_run import run_fit
        return run_fit(args, console)
    from softlogit.cli.common import (
        json_bytes, make_estimator, output_directory, write_outputs,
    )
    from softlogit.cli.options import check_model_options, encoder_options
    from softlogit.cli.report import IterationProgress, print_fit_summary
    from softlogit.io.atomic import checkpoint
    from softlogit.estimators.diagnostics import command_line_words
    from softlogit.io.encoding import TableEncoder
    from softlogit.io.errors import DataWarning
    from softlogit.io.frame import check_classes, check_target, find_target, split_target
    from softlogit.io.readers import read_data
    from softlogit.io.tabular import TabularModel

    check_model_options(args)
    frame = read_data(args.data, delimiter=args.delimiter)
    target = find_target(frame, args.target)
    options = encoder_options(args)
    if args.id is not None and frame.table is not None and args.id not in frame.column_names:
        raise DataError(f"{frame.source}: --id names column {args.id!r}, which is not in the "
                        f"data")
    from softlogit.cli.summary import cluster_column

    cluster_column(frame, args.cluster)  # the --cluster column exists and has no nulls
    args.inference = args.inference or args.cluster is not None
    # Check the columns on the whole file first, so errors count rows of the file.
    checked = frame.drop(target) if target is not None else frame
    TableEncoder(standardize=False, **options).fit(
        checked.drop(args.cluster) if args.cluster is not None else checked)
    features, y, target = split_target(frame, target, missing="drop")
    # Taken after rows with a missing target are dropped, so the groups align with y.
    groups, features = cluster_column(features, args.cluster)
    check_target(y, frame.source, target, allow_many=args.allow_many_classes)
    classes = check_classes(y, frame.source, target)
    train, test = split_rows(y, args.test_size, args.seed, frame.source)
    out = output_directory(args.out) if args.out else None

    encoder = TableEncoder(handle_unknown=args.handle_unknown, standardize=args.standardize,
                           **options)
    estimator = make_estimator(args, len(classes))
    model = TabularModel(encoder, estimator, target_name=target, id_name=args.id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # said once already, for the whole file
        X_train = encoder.fit_transform(features.take(train))
    if args.C == "auto":  # choose C by cross-validation on the training rows (softlogit cv)
        import argparse

        from softlogit.cli.cv import choose_C_for_fit
        from softlogit.cli.options import penalty_of

        chosen = argparse.Namespace(**dict(vars(args), penalty=penalty_of(args) or "none"))
        estimator.C = choose_C_for_fit(chosen, X_train, y[train], console)
    checkpoint("fit")  # a no-op outside the interrupt tests
    with IterationProgress(_stderr_console(), args.max_iter) as progress, \
            command_line_words(encoder.feature_names_out_):
        estimator.callback = progress
        start = time.perf_counter()
        try:
            estimator.fit(X_train, y[train])
        finally:
            estimator.callback = None
        elapsed = time.perf_counter() - start
    _warn_all_zero(args, estimator)

    doc = _document(args, frame.source, target, y, train, test, encoder, estimator, elapsed)
    sets = {"train": (X_train, y[train])}
    if len(test):
        # A category met only in the test rows is a fact of the split, not bad input.
        sets["test"] = (encoder.transform(features.take(test), handle_unknown="ignore"), y[test])
    probabilities = {}
    for name, (X, y_true) in sets.items():
        doc[name], probabilities[name] = _evaluate(estimator, X, y_true, args.threshold)
    doc["coefficients"] = coefficient_table(encoder, estimator)
    table = None
    if args.inference:  # softlogit.cli.summary: the coefficient table on the training rows
        from softlogit.cli.summary import inference_report

        table, table_files = inference_report(
            encoder, estimator, features.take(train), y[train], cov_type=args.cov_type,
            groups=None if groups is None else groups[train])
    if out is not None:
        from softlogit.cli import figures
        from softlogit.io.model_file import model_bytes

        files = {}
        if args.figures:
            shown = "test" if len(test) else "train"  # figures show held-out data when any
            files = figures.evaluation_figures(doc[shown], sets[shown][1], probabilities[shown],
                                               estimator.classes_, f"{shown} set")
            files["convergence.png"] = figures.convergence(estimator.fit_report_)
            files["coefficients.png"] = figures.coefficients(
                estimator.coef_, encoder.feature_names_out_, estimator.classes_,
                standardized=bool(args.standardize))
        doc["out"] = str(out)
        files["coefficients.csv"] = coefficients_csv(doc["coefficients"])
        if table is not None:  # --inference: its coefficients.csv carries the standard errors
            files.update(table_files)
        doc["files"] = ["model.softlogit", "metrics.json", *files]
        # One transaction: the model, metrics and figures replace the old set together or not
        # at all (softlogit.io.atomic.write_directory); nothing is created before this point.
        files = {"model.softlogit": model_bytes(model), **files,
                 "metrics.json": json_bytes(doc)}
        write_outputs(out, files, replaces=FIT_OUTPUTS)
    # The summary formats the document's own values (``C=inf`` prints as inf), not their JSON.
    print_fit_summary(console, doc)
    if table is not None:
        console.out(table, highlight=False)
    return 0


def _document(args, source, target, y, train, test, encoder, estimator, elapsed) -> dict:
    """The metrics.json document, before the metrics of each split are added."""
    from softlogit import __version__

    report = estimator.fit_report_
    classes, counts = np.unique(y, return_counts=True)
    reason = report.info.get("auto_reason") or f"chosen with --solver {args.solver}"
    return {
        "softlogit_version": __version__,
        "command": "fit",
        "data": {"source": source, "target": target, "rows": int(len(y)),
                 "features": encoder.n_columns_in_,
                 "encoded_features": len(encoder.feature_names_out_),
                 "train_rows": int(len(train)), "test_rows": int(len(test)),
                 "test_size": args.test_size, "seed": args.seed},
        "classes": [{"label": c, "count": int(n)} for c, n in zip(classes.tolist(), counts)],
        "model": {"class": type(estimator).__name__,
                  "params": {k: v for k, v in estimator.get_params().items()
                             if k != "callback"},
                  "standardize": args.standardize, "impute": args.impute,
                  "impute_text": encoder.impute_text, "coding": encoder.coding,
                  "threshold": args.threshold,
                  "columns": [c["name"] for c in encoder.columns_ or []],
                  "left_out": list(encoder.ignored_ or []), "id": args.id},
        "fit": {"solver": report.solver, "solver_reason": reason,
                "n_iter": int(report.n_iter), "converged": bool(report.converged),
                "stop_reason": report.reason, "time_s": elapsed,
                "final_objective": report.objective, "final_grad_norm": report.grad_norm},
    }


def _evaluate(estimator, X, y_true, threshold=None):
    from softlogit.cli.metrics import classification_metrics, predict_labels

    proba = estimator.predict_proba(X)
    y_pred = predict_labels(estimator, proba, threshold)
    return classification_metrics(y_true, proba, y_pred, estimator.classes_,
                                  threshold=threshold), proba


def _warn_all_zero(args, estimator) -> None:
    from softlogit.cli.options import penalty_of

    penalty = penalty_of(args)
    if penalty in ("l1", "elasticnet") and not np.any(estimator.coef_):
        warnings.warn(f"--penalty {penalty} with --C {estimator.C:g} set every coefficient to 0: "
                      f"the model predicts the class frequencies of the training rows for "
                      f"every row; a larger --C keeps the strongest features", UserWarning,
                      stacklevel=2)


def coefficient_table(encoder, estimator) -> list[dict]:
    """One row per logit and encoded feature: the coefficient per unit of the original column
    (``coef / scale``), per standard deviation (the fitted value when standardised), and, for
    categories, the level and the reference it is measured against; the intercept in original
    units (``b − Σ coef·center/scale``) comes first.
    """
    coef = np.asarray(estimator.coef_, dtype=np.float64)
    intercept = np.asarray(estimator.intercept_, dtype=np.float64)
    classes = estimator.classes_.tolist()
    logits = [classes[1]] if coef.shape[0] == 1 else classes
    scale, center = encoder.scale_, encoder.center_
    names = encoder.feature_names_out_
    source = _source_columns(encoder)
    rows = []
    for k, label in enumerate(logits):
        original = coef[k] / scale
        rows.append({"logit": label, "feature": "(intercept)", "column": None, "level": None,
                     "reference": None, "coefficient": float(intercept[k] - original @ center),
                     "per_std": None})
        for j, name in enumerate(names):
            column, level, reference = source[j]
            rows.append({"logit": label, "feature": name, "column": column, "level": level,
                         "reference": reference, "coefficient": float(original[j]),
                         "per_std": (float(coef[k, j]) if encoder.standardize and level is None
                                     else None)})
    return rows


def _source_columns(encoder) -> list[tuple]:
    if encoder.columns_ is None:
        return [(n, None, None) for n in encoder.feature_names_out_]
    out = []
    for spec in encoder.columns_:
        if spec["kind"] == "categorical":
            levels = spec["categories"][1:] if spec["reference"] else spec["categories"]
            ref = spec["categories"][0] if spec["reference"] else None
            out += [(spec["name"], level, ref) for level in levels]
        elif spec["kind"] == "date":
            out += [(spec["name"], None, None)] * len(spec["parts"])
        else:
            out.append((spec["name"], None, None))
    return out


def coefficients_csv(rows: list[dict]) -> bytes:
    """The coefficient table as CSV bytes (header: the keys of :func:`coefficient_table`)."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)
