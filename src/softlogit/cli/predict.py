"""``softlogit predict``: labels or class probabilities for each row of a data file."""

from __future__ import annotations

import sys

EXAMPLE = """examples:
  softlogit predict runs/digits/model.softlogit digits --out predictions.csv
  softlogit predict model.softlogit new.parquet --proba --out probabilities.parquet
  softlogit predict model.softlogit new.csv | head
"""

OUTPUT_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def add_parser(subparsers):
    import argparse

    parser = subparsers.add_parser(
        "predict", help="predict labels or probabilities with a saved model",
        description="Predict with MODEL (written by `softlogit fit`) for each row of DATA. "
                    "DATA needs the training feature columns (by name); a target column, if "
                    "present, is ignored. Output: one column 'prediction', or with --proba "
                    "one column 'proba_<class>' per class, after the key column of `fit --id` "
                    "when the model has one; CSV or Parquet by the extension of --out, CSV "
                    "on stdout without it.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="MODEL", help="a .softlogit model file")
    parser.add_argument("data", metavar="DATA", help="data file or bundled data set name")
    from softlogit.cli.options import add_delimiter_argument

    add_delimiter_argument(parser)
    parser.add_argument("--threshold", type=float, default=None,
                        help="two classes: predict the second class when its probability is "
                             "at least this (default: 0.5)")
    parser.add_argument("--proba", action="store_true",
                        help="write class probabilities instead of labels")
    parser.add_argument("--out", metavar="FILE",
                        help="output file, .csv or .parquet (default: CSV to stdout)")
    parser.add_argument("--handle-unknown", choices=["error", "ignore"], default=None,
                        help="a text category not seen in training: error or all-zero "
                             "indicators (default: as chosen at fit time)")
    from softlogit.cli.dask_run import add_dask_argument
    add_dask_argument(parser)  # --dask [SCHEDULER_ADDRESS]: the same command on a cluster
    parser.set_defaults(run=run)
    return parser


def output_format(path) -> str:
    from pathlib import Path

    from softlogit.io.errors import DataError

    fmt = OUTPUT_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise DataError(f"{path}: unknown output format; use .csv or .parquet")
    return fmt


def prediction_table(model, frame, proba: bool, handle_unknown=None, threshold=None):
    """A :class:`pyarrow.Table` of predicted labels, or of probabilities per class, after the
    model's key column (``fit --id``) when it has one."""
    import pyarrow as pa

    from softlogit.cli.metrics import predict_labels
    from softlogit.io.errors import DataError

    columns = {}
    key = getattr(model, "id_name", None)
    if key is not None:
        if frame.table is None or key not in frame.column_names:
            raise DataError(f"{frame.source}: has no column {key!r}, the key column the model "
                            f"was fitted with (--id {key})")
        columns[key] = frame.table.column(key)
    P = model.predict_proba(frame, handle_unknown=handle_unknown)
    if proba:
        columns.update({f"proba_{c}": P[:, j] for j, c in enumerate(model.classes_.tolist())})
    else:
        labels = predict_labels(model.estimator, P, threshold)
        columns["prediction"] = pa.array(labels.tolist())
    return pa.table(columns)


def write_table(table, path) -> None:
    """Write ``table`` to ``path`` atomically (CSV or Parquet by extension), or to stdout."""
    import pyarrow.csv as pv

    if path is None:
        sink = __import__("io").BytesIO()
        pv.write_csv(table, sink)
        try:
            sys.stdout.buffer.write(sink.getvalue())
            sys.stdout.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:  # name the stream: "<stdout>: No space left on device"
            raise OSError(exc.errno, exc.strerror, "<stdout>") from exc
        return
    from softlogit.io.atomic import atomic_writer

    fmt = output_format(path)
    with atomic_writer(path, "wb") as fh:
        if fmt == "csv":
            pv.write_csv(table, fh)
        else:
            import pyarrow.parquet as pq

            pq.write_table(table, fh)


def run(args, console) -> int:
    if getattr(args, "dask", None) is not None:
        from softlogit.cli.dask_run import run_predict
        return run_predict(args, console)
    from softlogit.cli.common import load_tabular_model
    from softlogit.io.readers import read_data

    if args.out is not None:
        output_format(args.out)  # refuse an unknown extension before any work
    from softlogit.cli.metrics import check_threshold

    model = load_tabular_model(args.model)
    check_threshold(args.threshold, len(model.classes_))
    frame = read_data(args.data, delimiter=args.delimiter)
    table = prediction_table(model, frame, args.proba, args.handle_unknown, args.threshold)
    write_table(table, args.out)
    if args.out is not None:
        from softlogit.cli.text import markup

        console.print(f"wrote {table.num_rows} predictions to {markup(args.out)}",
                      highlight=False)
    return 0
