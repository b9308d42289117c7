"""``softlogit fit``: read, split, fit, report, and save the model, metrics and figures."""

from __future__ import annotations

import time

import numpy as np

EXAMPLE = """examples:
  softlogit fit --out runs/digits                  # the bundled digits data (10 classes)
  softlogit fit data.csv --target species --test-size 0.25 --seed 1 --out runs/species
  softlogit fit data.parquet --impute mean --penalty l2 --C 0.5 --out runs/p
"""

#: The names ``fit --out DIR`` owns in DIR: replaced as one set, other files in DIR are kept.
FIT_OUTPUTS = ("model.softlogit", "metrics.json", "*.png")


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
    group.add_argument("--seed", type=int, default=0,
                       help="seed of the train/test split and of stochastic solvers "
                            "(default: 0)")
    group.add_argument("--figures", action=argparse.BooleanOptionalAction, default=True,
                       help="draw the PNG figures into --out (default: on)")
    group.add_argument("--out", metavar="DIR",
                       help="directory for model.softlogit, metrics.json and figures "
                            "(created if missing); without it nothing is written")
    parser.set_defaults(run=run)
    return parser


def _formatter():
    import argparse

    return argparse.RawDescriptionHelpFormatter


def split_rows(y, test_size: float, seed: int, source: str):
    """Stratified, seeded train/test row indices (``test_size`` 0: all rows train)."""
    from softlogit.io.errors import DataError

    rows = np.arange(len(y))
    if not 0 <= test_size < 1:
        raise DataError(f"--test-size must be in [0, 1); got {test_size}")
    if test_size == 0:
        return rows, rows[:0]
    from sklearn.model_selection import train_test_split

    classes, counts = np.unique(y, return_counts=True)
    n_test = int(np.ceil(test_size * len(y)))
    if counts.min() < 2 or n_test < len(classes) or len(y) - n_test < len(classes):
        raise DataError(f"{source}: cannot split {len(y)} rows of {len(classes)} classes "
                        f"(smallest class: {counts.min()} rows) into stratified train and test "
                        f"sets with --test-size {test_size}; use more data or --test-size 0")
    return train_test_split(rows, test_size=test_size, random_state=seed, stratify=y)


def run(args, console) -> int:
    from softlogit.cli.common import (
        json_bytes, make_estimator, output_directory, write_outputs,
    )
    from softlogit.cli.report import IterationProgress, print_fit_summary
    from softlogit.io.atomic import checkpoint
    from softlogit.io.encoding import TableEncoder
    from softlogit.io.frame import check_classes, split_target
    from softlogit.io.readers import read_data
    from softlogit.io.tabular import TabularModel

    frame = read_data(args.data)
    from softlogit.cli.summary import cluster_column

    groups, frame = cluster_column(frame, args.cluster)
    args.inference = args.inference or args.cluster is not None
    features, y, target = split_target(frame, args.target)
    classes = check_classes(y, frame.source, target)
    # Validate the whole file first, so errors count rows of the file, not of a split.
    TableEncoder(impute=args.impute, standardize=False).fit(features)
    train, test = split_rows(y, args.test_size, args.seed, frame.source)
    out = output_directory(args.out) if args.out else None

    encoder = TableEncoder(impute=args.impute, handle_unknown=args.handle_unknown,
                           standardize=args.standardize)
    estimator = make_estimator(args, len(classes))
    model = TabularModel(encoder, estimator, target_name=target)
    X_train = encoder.fit_transform(features.take(train))
    if args.C == "auto":  # choose C by cross-validation on the training rows (softlogit cv)
        from softlogit.cli.cv import choose_C_for_fit

        estimator.C = choose_C_for_fit(args, X_train, y[train], console)
    checkpoint("fit")  # a no-op outside the interrupt tests
    with IterationProgress(_stderr_console(), args.max_iter) as progress:
        estimator.callback = progress
        start = time.perf_counter()
        try:
            estimator.fit(X_train, y[train])
        finally:
            estimator.callback = None
        elapsed = time.perf_counter() - start

    doc = _document(args, frame.source, target, y, train, test, encoder, estimator, elapsed)
    sets = {"train": (X_train, y[train])}
    if len(test):
        # A category met only in the test rows is a fact of the split, not bad input.
        sets["test"] = (encoder.transform(features.take(test), handle_unknown="ignore"), y[test])
    probabilities = {}
    for name, (X, y_true) in sets.items():
        doc[name], probabilities[name] = _evaluate(estimator, X, y_true)
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
                estimator.coef_, encoder.feature_names_out_, estimator.classes_)
        if table is not None:
            files.update(table_files)
        doc["out"] = str(out)
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
                  "standardize": args.standardize, "impute": args.impute},
        "fit": {"solver": report.solver, "solver_reason": reason,
                "n_iter": int(report.n_iter), "converged": bool(report.converged),
                "stop_reason": report.reason, "time_s": elapsed,
                "final_objective": report.objective, "final_grad_norm": report.grad_norm},
    }


def _evaluate(estimator, X, y_true):
    from softlogit.cli.metrics import classification_metrics

    proba = estimator.predict_proba(X)
    y_pred = estimator.predict(X)
    return classification_metrics(y_true, proba, y_pred, estimator.classes_), proba


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)
