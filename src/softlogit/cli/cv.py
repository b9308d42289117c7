"""``softlogit cv``: choose C (and l1_ratio) by cross-validation, draw the curve and the path,
refit on all rows and save the model. ``softlogit fit --C auto`` uses :func:`cross_validate_C`.
"""

from __future__ import annotations

import numpy as np

EXAMPLE = """examples:
  softlogit cv breast_cancer --penalty l1 --out runs/cv
  softlogit cv data.csv --target species --penalty elasticnet --l1-ratio 0.2 0.5 0.9 --out runs/en
  softlogit cv data.parquet --penalty l2 --Cs 20 --folds 10 --rule 1se
"""


def add_parser(subparsers):
    import argparse

    from softlogit.cli.common import (
        add_data_argument, add_encoding_arguments, add_target_argument,
    )

    parser = subparsers.add_parser(
        "cv", help="choose C by cross-validation; curve, coefficient path, refitted model",
        description="Cross-validate a grid of C values (and elastic-net mixings) on DATA, print "
                    "the chosen C, the CV curve (mean ± 1 SE) and the non-zero coefficients "
                    "per C, and with --out write cv_curve.png, coef_path.png, cv.json and the "
                    "model refitted on all rows (model.softlogit).",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_argument(parser, optional=False)
    add_target_argument(parser)
    add_cv_arguments(parser)
    add_encoding_arguments(parser)
    parser.add_argument("--seed", type=int, default=0, help="seed of the folds (default: 0)")
    parser.add_argument("--figures", action=argparse.BooleanOptionalAction, default=True,
                        help="draw cv_curve.png and coef_path.png into --out (default: on)")
    parser.add_argument("--out", metavar="DIR",
                        help="directory for model.softlogit, cv.json and the figures")
    parser.set_defaults(run=run)
    return parser


def add_cv_arguments(parser, *, with_penalty: bool = True) -> None:
    group = parser.add_argument_group("cross-validation")
    if with_penalty:
        group.add_argument("--penalty", choices=["l1", "elasticnet", "l2"], default="l1",
                           help="penalty on the coefficients (default: l1)")
        group.add_argument("--l1-ratio", type=float, nargs="+", default=None, metavar="R",
                           help="elastic-net mixing(s) in [0, 1] to cross-validate "
                                "(with --penalty elasticnet)")
        group.add_argument("--tol", type=float, default=1e-8,
                           help="each fit stops when ‖∇J‖ ≤ tol·‖∇J(0)‖ (default: 1e-8)")
        group.add_argument("--max-iter", type=int, default=100,
                           help="most solver iterations per fit (default: 100)")
        group.add_argument("--class-weight", choices=["balanced"], default=None,
                           help="weight classes inversely to their frequency")
    group.add_argument("--Cs", type=int, default=10, dest="Cs",
                       help="grid size: from the C that zeroes every coefficient up by "
                            "1/--min-ratio (default: 10)")
    group.add_argument("--min-ratio", type=float, default=None,
                       help="smallest penalty over largest (default: 1e-4 if rows > "
                            "features, else 1e-2)")
    group.add_argument("--folds", type=int, default=5, help="stratified folds (default: 5)")
    group.add_argument("--rule", choices=["best", "1se"], default="best",
                       help="best mean score, or the strongest penalty within one standard "
                            "error of it (default: best)")
    group.add_argument("--scoring", default="neg_log_loss",
                       help="a scikit-learn scorer name (default: neg_log_loss)")
    group.add_argument("--n-jobs", type=int, default=None,
                       help="worker threads over folds (default: 1; -1: all cores)")


def l1_ratios_of(args) -> tuple[float, ...]:
    """The l1_ratios the options ask for (one error sentence when they do not fit)."""
    from softlogit.io.errors import DataError

    if args.penalty is None or args.penalty == "none":
        raise DataError("--C auto needs a penalty to choose: --penalty l1, elasticnet or l2")
    ratios = args.l1_ratio
    if args.penalty == "elasticnet":
        if ratios is None:
            raise DataError("--penalty elasticnet needs --l1-ratio (one or more values in "
                            "[0, 1])")
        ratios = ratios if isinstance(ratios, (list, tuple)) else [ratios]
        bad = [r for r in ratios if not 0 <= r <= 1]
        if bad:
            raise DataError(f"--l1-ratio must be in [0, 1]; got {bad[0]}")
        return tuple(float(r) for r in ratios)
    return (1.0,) if args.penalty == "l1" else (0.0,)


def cross_validate_C(args, X, y):
    """Fit a :class:`~softlogit.LogisticRegressionCV` as the options ask; returns it."""
    from sklearn.model_selection import StratifiedKFold

    from softlogit import LogisticRegressionCV
    from softlogit.io.errors import DataError

    if args.Cs < 1 or args.folds < 2:
        raise DataError(f"--Cs must be >= 1 and --folds >= 2; got {args.Cs} and {args.folds}")
    _, counts = np.unique(y, return_counts=True)
    if counts.min() < args.folds:
        raise DataError(f"the smallest class has {counts.min()} rows, fewer than --folds "
                        f"{args.folds}: use fewer folds")
    folds = StratifiedKFold(args.folds, shuffle=True, random_state=getattr(args, "seed", 0))
    cv = LogisticRegressionCV(Cs=args.Cs, l1_ratios=l1_ratios_of(args), cv=folds,
                              scoring=args.scoring, tol=args.tol, max_iter=args.max_iter,
                              class_weight=args.class_weight, n_jobs=args.n_jobs,
                              rule=args.rule, min_ratio=args.min_ratio)
    return cv.fit(X, y)


def curve(cv) -> dict:
    """The CV curve at the chosen l1_ratio: Cs, mean and standard error of the fold scores."""
    li = cv.best_index_[0]
    scores = cv.scores_[:, li, :]
    n = scores.shape[0]
    se = scores.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(scores.shape[1])
    return {"Cs": cv.Cs_, "mean": scores.mean(axis=0), "se": se,
            "best": int(np.argmax(scores.mean(axis=0))), "chosen": cv.best_index_[1]}


def run(args, console) -> int:
    from softlogit import LogisticRegression, regularization_path
    from softlogit.cli.common import json_bytes, output_directory, write_outputs
    from softlogit.io.encoding import TableEncoder
    from softlogit.io.frame import check_classes, split_target
    from softlogit.io.readers import read_data
    from softlogit.io.tabular import TabularModel

    frame = read_data(args.data)
    features, y, target = split_target(frame, args.target)
    classes = check_classes(y, frame.source, target)
    out = output_directory(args.out) if args.out else None
    encoder = TableEncoder(impute=args.impute, handle_unknown=args.handle_unknown,
                           standardize=args.standardize)
    X = encoder.fit_transform(features)
    cv = cross_validate_C(args, X, y)
    rho = cv.l1_ratio_
    penalty = "l2" if rho == 0 else ("l1" if rho == 1 else "elasticnet")
    path = regularization_path(X, y, Cs=cv.Cs_, penalty=penalty,
                               l1_ratio=rho if penalty == "elasticnet" else None,
                               tol=args.tol, max_iter=args.max_iter,
                               class_weight=args.class_weight)
    estimator = LogisticRegression(penalty=penalty, C=cv.C_,
                                   l1_ratio=rho if penalty == "elasticnet" else None,
                                   tol=args.tol, max_iter=args.max_iter,
                                   class_weight=args.class_weight, warm_start=True)
    estimator.classes_, estimator.coef_, estimator.intercept_ = cv.classes_, cv.coef_, \
        cv.intercept_  # start the refit where the CV's refit ended
    estimator.fit(X, y)
    names = list(encoder.feature_names_out_)
    doc = _document(args, frame.source, target, y, classes, cv, path, estimator, names)
    _print(console, doc)
    if out is not None:
        files = {}
        if args.figures:
            files["cv_curve.png"] = cv_curve_figure(doc)
            files["coef_path.png"] = coef_path_figure(path, cv.C_, names, cv.classes_)
        files["cv.json"] = json_bytes(doc)
        from softlogit.cli.text import markup
        from softlogit.io.model_file import model_bytes

        # One transaction with the model (softlogit.io.atomic.write_directory).
        model = model_bytes(TabularModel(encoder, estimator, target_name=target))
        write_outputs(out, {"model.softlogit": model, **files},
                      replaces=("model.softlogit", "cv.json", "cv_curve.png", "coef_path.png"))
        console.print(f"saved {markup(out)}: model.softlogit, {', '.join(files)}")
    return 0


def _document(args, source, target, y, classes, cv, path, estimator, names) -> dict:
    from softlogit import __version__

    c = curve(cv)
    return {
        "softlogit_version": __version__, "command": "cv",
        "data": {"source": source, "target": target, "rows": int(len(y)),
                 "features": len(names), "classes": [str(k) for k in classes]},
        "cv": {"folds": args.folds, "scoring": args.scoring, "rule": args.rule,
               "penalty": path.penalty, "l1_ratios": cv.l1_ratios_.tolist(),
               "C": cv.C_, "l1_ratio": cv.l1_ratio_, "seed": args.seed},
        "curve": [{"C": float(C), "mean": float(m), "se": float(s), "nonzero": int(nz)}
                  for C, m, s, nz in zip(c["Cs"], c["mean"], c["se"], path.n_active)],
        "best_index": c["best"], "chosen_index": c["chosen"],
        "refit": {"n_iter": int(estimator.n_iter_[0]),
                  "converged": bool(estimator.fit_report_.converged),
                  "nonzero": int(np.count_nonzero(np.any(estimator.coef_ != 0, axis=0)))},
    }


def _print(console, doc) -> None:
    from rich.table import Table

    cv = doc["cv"]
    from softlogit.cli.text import markup

    console.print(f"softlogit cv — {markup(doc['data']['source'])}: {doc['data']['rows']} rows × "
                  f"{doc['data']['features']} features, {len(doc['data']['classes'])} classes")
    ratio = f", l1_ratio={cv['l1_ratio']:g}" if cv["penalty"] == "elasticnet" else ""
    console.print(f"chosen      C={cv['C']:.4g}{ratio} ({cv['penalty']}, rule {cv['rule']}, "
                  f"{cv['folds']}-fold {cv['scoring']})")
    table = Table(title="CV curve (mean ± 1 SE over folds)")
    for name in ("C", "log10 C", cv["scoring"], "± SE", "non-zero", ""):
        table.add_column(name, justify="right")
    for i, row in enumerate(doc["curve"]):
        mark = "chosen" if i == doc["chosen_index"] else ""
        if i == doc["best_index"] and i != doc["chosen_index"]:
            mark = "best"
        table.add_row(f"{row['C']:.4g}", f"{np.log10(row['C']):.2f}", f"{row['mean']:.5f}",
                      f"{row['se']:.5f}", str(row["nonzero"]), mark)
    console.print(table)
    refit = doc["refit"]
    console.print(f"refit       all rows at the chosen C: {refit['nonzero']} non-zero "
                  f"feature(s), {refit['n_iter']} iteration(s), "
                  f"{'converged' if refit['converged'] else 'NOT converged'}")


def cv_curve_figure(doc) -> bytes:
    """Mean CV score against log10 C with ±1 SE bars; the chosen C marked."""
    from softlogit.cli.figures import _figure, _png

    C = np.array([row["C"] for row in doc["curve"]])
    mean = np.array([row["mean"] for row in doc["curve"]])
    se = np.array([row["se"] for row in doc["curve"]])
    fig = _figure(6.5, 4)
    ax = fig.subplots()
    ax.errorbar(np.log10(C), mean, yerr=se, marker="o", capsize=3, color="C0",
                label="mean ± 1 SE over folds")
    chosen, best = doc["chosen_index"], doc["best_index"]
    ax.axvline(np.log10(C[chosen]), color="C3", linestyle="--",
               label=f"chosen C = {C[chosen]:.3g} ({doc['cv']['rule']})")
    if best != chosen:
        ax.axvline(np.log10(C[best]), color="grey", linestyle=":",
                   label=f"best mean, C = {C[best]:.3g}")
    ax.set(xlabel="log10 C  (weaker penalty →)", ylabel=doc["cv"]["scoring"],
           title=f"{doc['cv']['folds']}-fold CV, {doc['cv']['penalty']} penalty")
    ax.legend(loc="lower right", fontsize="small")
    return _png(fig)


def coef_path_figure(path, C_chosen, names, classes, labelled: int = 8) -> bytes:
    """Coefficients against log10 C (one panel per logit, at most 6); the chosen C marked and
    the ``labelled`` largest coefficients at it named."""
    from softlogit.cli.figures import _figure, _png

    k = path.coefs.shape[1]
    panels = min(k, 6)
    cols = min(panels, 3)
    rows = int(np.ceil(panels / cols))
    fig = _figure(4.2 * cols + 1.5, 3.4 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    logC = np.log10(path.Cs)
    at = int(np.argmin(np.abs(path.Cs - C_chosen)))
    for j, ax in enumerate(axes):
        if j >= panels:
            ax.set_visible(False)
            continue
        W = path.coefs[:, j, :]
        moved = np.flatnonzero(np.any(W != 0, axis=0))
        top = set(moved[np.argsort(-np.abs(W[at, moved]))[:labelled]].tolist())
        for col in moved:
            ax.plot(logC, W[:, col], lw=1.2 if col in top else 0.7,
                    alpha=1.0 if col in top else 0.35,
                    label=str(names[col]) if col in top else None)
        ax.axvline(np.log10(C_chosen), color="C3", linestyle="--", lw=1)
        ax.axhline(0, color="black", lw=0.5)
        title = "coefficients" if k == 1 else f"class {classes[j]}"
        ax.set(xlabel="log10 C", ylabel="coefficient", title=title)
        if top:
            ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(f"{path.penalty} path, chosen C = {C_chosen:.3g} (dashed)")
    return _png(fig)


def choose_C_for_fit(args, X, y, console) -> float:
    """``softlogit fit --C auto``: cross-validate C on the training rows with the ``cv``
    command's defaults (10 Cs, 5 folds, neg_log_loss, rule best); prints one line."""
    from types import SimpleNamespace

    options = SimpleNamespace(penalty=args.penalty, l1_ratio=args.l1_ratio, tol=args.tol,
                              max_iter=args.max_iter, class_weight=args.class_weight, Cs=10,
                              min_ratio=None, folds=5, rule="best", scoring="neg_log_loss",
                              n_jobs=None, seed=getattr(args, "seed", 0))
    cv = cross_validate_C(options, X, y)
    c = curve(cv)
    console.print(f"C auto      5-fold CV on the training rows chose C={cv.C_:.4g} "
                  f"(neg_log_loss {c['mean'][c['chosen']]:.4f} ± {c['se'][c['chosen']]:.4f}; "
                  f"grid {cv.Cs_[0]:.3g}…{cv.Cs_[-1]:.3g}, 10 Cs)")
    return float(cv.C_)
