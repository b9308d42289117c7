"""``softlogit evaluate``: the metrics and figures of a saved model on new labelled data."""

from __future__ import annotations

import numpy as np

EXAMPLE = """examples:
  softlogit evaluate runs/digits/model.softlogit digits
  softlogit evaluate model.softlogit holdout.csv --target species --out runs/holdout
"""


def add_parser(subparsers):
    import argparse

    from softlogit.cli.common import add_target_argument
    from softlogit.cli.options import add_delimiter_argument

    parser = subparsers.add_parser(
        "evaluate", help="metrics and figures of a saved model on labelled data",
        description="Evaluate MODEL on labelled DATA: accuracy, log-loss, precision, recall "
                    "and F1 per class, macro-F1, for two classes ROC-AUC, PR-AUC and the "
                    "Brier score, and the confusion matrix; with --out, also metrics.json and "
                    "figures. Metrics that do not apply (macro-F1 or ROC-AUC on data of one "
                    "class) are left out. Rows with a missing label are left out, with a "
                    "count.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="MODEL", help="a .softlogit model file")
    parser.add_argument("data", metavar="DATA", help="data file or bundled data set name")
    add_target_argument(parser, "; default: the training target's name when present")
    parser.add_argument("--handle-unknown", choices=["error", "ignore"], default=None,
                        help="a text category not seen in training: error or all-zero "
                             "indicators (default: as chosen at fit time)")
    add_delimiter_argument(parser)
    parser.add_argument("--threshold", type=float, default=None,
                        help="two classes: predict the second class when its probability is "
                             "at least this (default: 0.5)")
    parser.add_argument("--figures", action=argparse.BooleanOptionalAction, default=True,
                        help="draw the PNG figures into --out (default: on)")
    parser.add_argument("--out", metavar="DIR",
                        help="directory for metrics.json and figures (created if missing)")
    from softlogit.cli.dask_run import add_dask_argument
    add_dask_argument(parser)  # --dask [SCHEDULER_ADDRESS]: the same command on a cluster
    parser.set_defaults(run=run)
    return parser


def run(args, console) -> int:
    if getattr(args, "dask", None) is not None:
        from softlogit.cli.dask_run import run_evaluate
        return run_evaluate(args, console)
    from softlogit import __version__
    from softlogit.cli.common import (
        align_labels, json_bytes, load_tabular_model, output_directory, write_outputs,
    )
    from softlogit.cli.metrics import check_threshold, classification_metrics, predict_labels
    from softlogit.cli.report import print_evaluation
    from softlogit.io.frame import split_target
    from softlogit.io.readers import read_data

    model = load_tabular_model(args.model)
    check_threshold(args.threshold, len(model.classes_))
    frame = read_data(args.data, delimiter=args.delimiter)
    target = args.target
    if target is None and frame.table is not None and model.target_name in frame.column_names:
        target = model.target_name
    features, y, target = split_target(frame, target, missing="drop")
    classes = model.classes_
    y = align_labels(y, classes, frame.source, f"target column {target!r}" if target
                     else "the labels")
    X = model.encoder.transform(features, handle_unknown=args.handle_unknown)
    proba = model.estimator.predict_proba(X)
    y_pred = predict_labels(model.estimator, proba, args.threshold)
    metrics = classification_metrics(y, proba, y_pred, classes, threshold=args.threshold)
    present, counts = np.unique(y, return_counts=True)
    doc = {"softlogit_version": __version__, "command": "evaluate",
           "model_file": str(args.model),
           "data": {"source": frame.source, "target": target, "rows": int(len(y)),
                    "features": model.encoder.n_columns_in_},
           "classes": [{"label": c, "count": int(n)}
                       for c, n in zip(present.tolist(), counts)],
           "evaluation": metrics}
    if args.out:
        from softlogit.cli import figures

        out = output_directory(args.out)
        files = (figures.evaluation_figures(metrics, y, proba, classes, "evaluation data")
                 if args.figures else {})
        doc["out"] = str(out)
        doc["files"] = ["metrics.json", *files]
        files["metrics.json"] = json_bytes(doc)
        write_outputs(out, files)
    print_evaluation(console, doc)
    return 0
