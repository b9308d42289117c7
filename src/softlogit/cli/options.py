"""The options of ``softlogit fit`` for the table's encoding and the model, and their checks.

Option values are checked here, so that an error names the option as the user typed it
(``--C``, ``--l1-ratio``), not the Python parameter it becomes.
"""

from __future__ import annotations

import argparse
import math

from softlogit.io.errors import DataError

def add_delimiter_argument(parser) -> None:
    parser.add_argument("--delimiter", metavar="CHAR", default=None,
                        help="field separator of a CSV/TSV file (default: ',' for .csv, tab "
                             "for .tsv; ';' for the semicolon CSVs of many locales)")


def add_encoding_arguments(parser) -> None:
    group = parser.add_argument_group(
        "the table's columns and their encoding (stored in the model)",
        "Missing values are empty cells and the texts NA, NaN, null, N/A … (pandas' and "
        "PyArrow's null set), in every format. A saved pandas index column is left out.")
    add_delimiter_argument(group)
    group.add_argument("--features", nargs="+", action="extend", metavar="COL",
                       help="use only these columns as features (default: all but the target)")
    group.add_argument("--drop", nargs="+", action="extend", metavar="COL", default=[],
                       help="leave these columns out")
    group.add_argument("--id", metavar="COL",
                       help="a key column: not a feature, but written beside each prediction "
                            "by `softlogit predict`, so predictions join back to their rows")
    group.add_argument("--categorical", nargs="+", action="extend", metavar="COL", default=[],
                       help="encode these columns as categories (integer codes, or text that "
                            "would otherwise be refused as an identifier)")
    group.add_argument("--dates", choices=["error", "parts"], default="error",
                       help="date columns: error (default), or parts: year, month, day and "
                            "weekday as numbers")
    group.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=True,
                       help="scale numeric columns to zero mean and unit variance (default: on)")
    group.add_argument("--impute", choices=["mean", "median"], default=None,
                       help="fill missing numbers with the training rows' mean or median, and "
                            "missing text with the most frequent training category (default: "
                            "missing values are an error)")
    group.add_argument("--impute-text", choices=["most_frequent", "missing"], default=None,
                       help="missing text: most_frequent (the default with --impute), or "
                            "missing: a category of its own")
    group.add_argument("--handle-unknown", choices=["error", "ignore"], default="error",
                       help="a text category not seen in training: error (default) or all-zero "
                            "indicators")


def add_model_arguments(parser) -> None:
    from softlogit.estimators.base import BaseCrossEntropyClassifier

    defaults = BaseCrossEntropyClassifier().get_params()
    group = parser.add_argument_group("model")
    group.add_argument("--model", choices=["auto", "logistic", "softmax"], default="auto",
                       help="auto: logistic (sigmoid) for two classes, softmax beyond; "
                            "logistic: LogisticRegression; softmax: SoftmaxRegression "
                            "(K-logit softmax even for two classes)")
    group.add_argument("--penalty", choices=["l2", "l1", "elasticnet", "firth", "none"],
                       default=None,
                       help="penalty on the coefficients, never the intercept (default: l2, "
                            "or elasticnet when --l1-ratio is given); firth: Firth's "
                            "bias-reduced likelihood, finite on separated data. Without a "
                            "penalty (and with firth) the categories are coded against their "
                            "first level (reference coding)")
    from softlogit.cli.common import c_value

    group.add_argument("--C", type=c_value, default=1.0, dest="C",
                       help="inverse regularisation strength, as in scikit-learn; inf: no "
                            "penalty; auto: chosen by 5-fold cross-validation on the "
                            "training rows (as `softlogit cv`) (default: 1)")
    group.add_argument("--l1-ratio", type=float, default=None,
                       help="elastic-net mixing in [0, 1]: 0 is L2, 1 is L1")
    group.add_argument("--solver", default="auto",
                       help="solver name (default: auto, which picks one and says why)")
    group.add_argument("--tol", type=float, default=defaults["tol"],
                       help=f"stop when ‖∇J‖ ≤ tol·‖∇J(0)‖ (default: {defaults['tol']:g}, as "
                            f"in Python)")
    group.add_argument("--max-iter", type=int, default=defaults["max_iter"],
                       help=f"most solver iterations (default: {defaults['max_iter']}, as in "
                            f"Python)")
    group.add_argument("--class-weight", choices=["balanced"], default=None,
                       help="weight classes inversely to their frequency")


def penalty_of(args) -> str | None:
    """The penalty the options ask for (``--l1-ratio`` alone means elastic-net)."""
    if args.penalty is None:
        return "elasticnet" if args.l1_ratio is not None else "l2"
    return None if args.penalty == "none" else args.penalty


def is_unpenalised(args) -> bool:
    """No shrinkage of the coefficients (Firth's penalty shrinks none toward 0 by C)."""
    return penalty_of(args) in (None, "firth") or args.C == math.inf


def check_model_options(args) -> None:
    """A :class:`DataError` naming the first option out of range."""
    penalty = penalty_of(args)
    if args.C != "auto" and not (args.C > 0):  # also NaN
        raise DataError(f"--C must be a positive number (inf: no penalty); got {args.C:g}")
    if penalty == "elasticnet":
        if args.l1_ratio is None:
            raise DataError("--penalty elasticnet needs --l1-ratio, a number in [0, 1]")
        if not 0 <= args.l1_ratio <= 1:
            raise DataError(f"--l1-ratio must be in [0, 1]; got {args.l1_ratio:g}")
    elif args.l1_ratio is not None:
        raise DataError(f"--l1-ratio applies to --penalty elasticnet, not --penalty "
                        f"{args.penalty}")
    if penalty is None and args.C not in (1.0, math.inf, "auto"):
        raise DataError(f"--penalty none ignores --C; leave out --C {args.C:g}")
    if not (args.tol > 0) or math.isinf(args.tol):
        raise DataError(f"--tol must be a positive number; got {args.tol:g}")
    if args.max_iter < 0:
        raise DataError(f"--max-iter must be a non-negative integer; got {args.max_iter}")


def make_estimator(args, n_classes: int):
    """The estimator the options ask for (``--model auto`` looks at the number of classes)."""
    import softlogit

    check_model_options(args)
    choice = args.model
    if choice == "auto":
        choice = "logistic" if n_classes == 2 else "softmax"
    cls = softlogit.LogisticRegression if choice == "logistic" else softlogit.SoftmaxRegression
    C = 1.0 if args.C == "auto" else args.C  # auto: set after cross-validation (fit.py)
    return cls(penalty=penalty_of(args), C=C, l1_ratio=args.l1_ratio, solver=args.solver,
               tol=args.tol, max_iter=args.max_iter, class_weight=args.class_weight,
               random_state=getattr(args, "seed", None))


def encoder_options(args) -> dict:
    """The :class:`~softlogit.io.encoding.TableEncoder` parameters the options ask for."""
    drop = list(args.drop) + ([args.id] if args.id else [])
    return {"impute": args.impute, "impute_text": args.impute_text,
            "categorical": tuple(args.categorical), "drop": tuple(drop),
            "features": None if args.features is None else tuple(args.features),
            "dates": args.dates,
            "coding": "reference" if is_unpenalised(args) else "onehot"}
