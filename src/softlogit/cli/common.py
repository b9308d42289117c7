"""What several commands share: their common options, estimator choice and label checks."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from pathlib import Path

import numpy as np

from softlogit.io.errors import DataError


def add_data_argument(parser, *, optional: bool, default: str = "digits") -> None:
    help_text = ("data file (.csv, .tsv, .parquet, .npy, .npz, .svm/.svmlight/.libsvm) or a "
                 "bundled data set name (see `softlogit datasets`)")
    if optional:
        parser.add_argument("data", nargs="?", default=default, metavar="DATA",
                            help=f"{help_text}; default: {default}")
    else:
        parser.add_argument("data", metavar="DATA", help=help_text)


def add_target_argument(parser, extra: str = "") -> None:
    parser.add_argument("--target", metavar="COL",
                        help="name of the target column (default: a column named target, "
                             f"label, class or y){extra}")


def add_encoding_arguments(parser) -> None:
    group = parser.add_argument_group("encoding of the features (stored in the model)")
    group.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=True,
                       help="scale numeric columns to zero mean and unit variance (default: on)")
    group.add_argument("--impute", choices=["mean"], default=None,
                       help="fill missing numeric values with the training means (default: "
                            "missing values are an error)")
    group.add_argument("--handle-unknown", choices=["error", "ignore"], default="error",
                       help="a text category not seen in training: error (default) or all-zero "
                            "indicators")


def add_model_arguments(parser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument("--model", choices=["auto", "logistic", "softmax"], default="auto",
                       help="auto: logistic (sigmoid) for two classes, softmax beyond; "
                            "logistic: LogisticRegression; softmax: SoftmaxRegression "
                            "(K-logit softmax even for two classes)")
    group.add_argument("--penalty", choices=["l2", "l1", "elasticnet", "firth", "none"],
                       default="l2",
                       help="penalty on the coefficients, never the intercept (default: l2)")
    group.add_argument("--C", type=c_value, default=1.0, dest="C",
                       help="inverse regularisation strength, as in scikit-learn (default: 1); "
                            "auto: chosen by 5-fold cross-validation on the training rows "
                            "(as `softlogit cv`)")
    group.add_argument("--l1-ratio", type=float, default=None,
                       help="elastic-net mixing in [0, 1] (with --penalty elasticnet)")
    group.add_argument("--solver", default="auto",
                       help="solver name (default: auto, which picks one and says why)")
    group.add_argument("--tol", type=float, default=1e-6,
                       help="stop when ‖∇J‖ ≤ tol·‖∇J(0)‖ (default: 1e-6)")
    group.add_argument("--max-iter", type=int, default=1000,
                       help="most solver iterations (default: 1000)")
    group.add_argument("--class-weight", choices=["balanced"], default=None,
                       help="weight classes inversely to their frequency")


def c_value(text: str):
    """``--C``: a number, or ``"auto"`` (cross-validated; see ``softlogit cv``)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', got {text!r}") from None


def make_estimator(args, n_classes: int):
    """The estimator the options ask for (``--model auto`` looks at the number of classes)."""
    import softlogit

    choice = args.model
    if choice == "auto":
        choice = "logistic" if n_classes == 2 else "softmax"
    cls = softlogit.LogisticRegression if choice == "logistic" else softlogit.SoftmaxRegression
    return cls(penalty=None if args.penalty == "none" else args.penalty, C=args.C,
               l1_ratio=args.l1_ratio, solver=args.solver, tol=args.tol,
               max_iter=args.max_iter, class_weight=args.class_weight,
               random_state=getattr(args, "seed", None))


def align_labels(y: np.ndarray, classes: np.ndarray, source: str, what: str) -> np.ndarray:
    """``y`` in the type of the model's classes; an error naming labels the model never saw."""
    y = np.asarray(y)
    if classes.dtype.kind in "UO" and y.dtype.kind not in "UO":
        y = y.astype(str)
    elif classes.dtype.kind not in "UO" and y.dtype.kind in "UO":
        try:
            y = y.astype(classes.dtype)
        except ValueError:
            pass  # text that is not a number: reported as labels the model never saw
    known = set(classes.tolist())
    unseen = np.array([v for v in np.unique(y).tolist() if v not in known])
    if unseen.size:
        shown = ", ".join(repr(v) for v in unseen[:5].tolist())
        known = ", ".join(repr(v) for v in classes[:10].tolist())
        raise DataError(f"{source}: {what} has {unseen.size} label(s) the model never saw: "
                        f"{shown} (the model's classes: {known})")
    return y


def jsonable(value):
    """NumPy scalars and arrays inside ``value`` as plain Python values.

    A non-finite float (``C=inf`` for no penalty, say) is tagged as the model file tags it,
    ``{"__float__": "inf"}`` (:func:`softlogit.io.model_file.json_float`): JSON has no such
    numbers, and ``null`` would not say which one it was.
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float):
        from softlogit.io.model_file import json_float

        return json_float(value)
    return value


def output_directory(path) -> Path:
    """``path`` checked as an output directory (an error if it is a file); nothing is created
    until :func:`write_outputs` has every file ready, so a run that fails creates nothing."""
    from softlogit.io.atomic import check_output_directory

    return check_output_directory(path)


def json_bytes(document: dict) -> bytes:
    return (json.dumps(jsonable(document), indent=2, allow_nan=False) + "\n").encode()


#: What ``evaluate --out DIR`` owns in DIR (a fit's model and its other figures are kept).
EVALUATE_OUTPUTS = ("metrics.json", "confusion_matrix.png", "roc.png", "calibration.png")


def write_outputs(directory, files: dict[str, bytes], replaces=EVALUATE_OUTPUTS):
    """Write the named payloads into ``directory`` as one transaction; returns the names.

    Either every file is replaced or none is (:func:`softlogit.io.atomic.write_directory`):
    the files are written into a temporary directory beside ``directory`` and swapped in.
    Existing entries matching ``replaces`` (this command's outputs) are dropped; others kept.
    """
    from softlogit.io.atomic import write_directory

    with working_on(directory):
        return write_directory(directory, files, replaces=replaces)


@contextlib.contextmanager
def working_on(path):
    """Name ``path`` as the file at fault if an unexpected error escapes the ``with`` block
    (the command line's last-resort handler reads it)."""
    try:
        yield
    except Exception as exc:
        if getattr(exc, "softlogit_file", None) is None:
            with contextlib.suppress(AttributeError, TypeError):
                exc.softlogit_file = os.fspath(path)
        raise


def load_tabular_model(path):
    """The :class:`~softlogit.io.tabular.TabularModel` in ``path`` (as ``softlogit fit`` saves)."""
    from softlogit.io.errors import ModelFileError
    from softlogit.io.model_file import load
    from softlogit.io.tabular import TabularModel

    with working_on(path):
        model = load(path)
    if not isinstance(model, TabularModel):
        raise ModelFileError(f"{path}: holds a bare {type(model).__name__} saved from Python; "
                             f"the command line needs a model written by `softlogit fit`")
    return model
