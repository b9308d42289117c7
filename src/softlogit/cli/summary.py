"""``softlogit summary MODEL DATA`` and ``fit --inference``: the coefficient table in the
data's original units, ``coefficients.csv`` and an odds-ratio forest plot.

*Original units.* The CLI fits on standardised columns ``zⱼ = (xⱼ − cⱼ)/sⱼ`` (indicators keep
``c = 0, s = 1``), so per logit ``η = Σ wⱼ zⱼ + b = Σ (wⱼ/sⱼ) xⱼ + (b − Σ wⱼ cⱼ/sⱼ)``: the
estimates map through the linear ``T`` and the covariance exactly as ``T V Tᵀ``.

*Reference coding.* One-hot columns with an intercept are collinear, so for inference each text
column loses its first category (drop-first): its coefficients are contrasts against that
category. When the fitted model has such columns, the table comes from a refit of the same
estimator on the drop-first columns (for ``--penalty none``/``firth`` the same model in another
parameterisation); the saved model is unchanged.
"""

from __future__ import annotations

import csv
import io

import numpy as np

EXAMPLE = """examples:
  softlogit fit data.csv --target y --penalty none --test-size 0 --inference --out runs/m
  softlogit summary runs/m/model.softlogit data.csv --cov-type HC1
  softlogit summary runs/m/model.softlogit data.csv --cluster school --out runs/m
"""


def add_inference_arguments(parser, *, flag: bool) -> None:
    """--inference (fit only), --cov-type, --cluster."""
    group = parser.add_argument_group("inference")
    if flag:
        group.add_argument("--inference", action="store_true",
                           help="print the coefficient table (standard errors, p-values, "
                                "intervals) in original units; with --out also write "
                                "coefficients.csv and odds_ratios.png")
    group.add_argument("--cov-type", default="nonrobust",
                       choices=["nonrobust", "HC0", "HC1", "HC2", "HC3"],
                       help="covariance of the estimates (default: nonrobust)")
    group.add_argument("--cluster", metavar="COL",
                       help="cluster-robust (CR1) covariance by the groups in column COL "
                            "(never used as a feature; implies --inference)")


def add_parser(subparsers):
    import argparse

    from softlogit.cli.common import add_target_argument

    parser = subparsers.add_parser(
        "summary", help="the coefficient table of a saved model on data",
        description="Print standard errors, z-tests, p-values and intervals of a model saved "
                    "by `softlogit fit`, on DATA (normally its training data), in the "
                    "original units of the columns.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="MODEL", help="a model.softlogit file")
    parser.add_argument("data", metavar="DATA", help="the data (CSV, Parquet, …)")
    add_target_argument(parser)
    add_inference_arguments(parser, flag=False)
    parser.add_argument("--out", metavar="DIR",
                        help="also write coefficients.csv and odds_ratios.png into DIR")
    parser.set_defaults(run=run)
    return parser


def run(args, console) -> int:
    from softlogit.cli.common import (
        align_labels, load_tabular_model, output_directory, write_outputs,
    )
    from softlogit.io.frame import split_target
    from softlogit.io.readers import read_data

    model = load_tabular_model(args.model)
    frame = read_data(args.data)
    groups, frame = cluster_column(frame, args.cluster)
    features, y, _ = split_target(frame, args.target or model.target_name)
    y = align_labels(y, model.estimator.classes_, frame.source, "target")
    out = output_directory(args.out) if args.out else None
    text, files = inference_report(model.encoder, model.estimator, features, y,
                                   cov_type=args.cov_type, groups=groups)
    console.out(text, highlight=False)
    if out is not None:
        write_outputs(out, files)
    return 0


def cluster_column(frame, name):
    """``(group labels, frame without the column)`` for ``--cluster COL`` (else None, frame)."""
    if name is None:
        return None, frame
    from softlogit.io.errors import DataError

    if frame.table is None or name not in frame.column_names:
        raise DataError(f"{frame.source}: --cluster column {name!r} is not in the data")
    column = frame.table.column(name)
    if column.null_count:
        raise DataError(f"{frame.source}: --cluster column {name!r} has {column.null_count} "
                        "missing values")
    return np.asarray(column.to_pylist(), dtype=object).astype(str), frame.drop(name)


def reference_coding(encoder):
    """Boolean mask over the encoder's output columns without each text column's first
    category (the drop-first coding of the module docstring). A column the encoder already
    codes against its first level (``reference``, as for every unpenalised CLI fit) keeps all
    its indicators; dates and numbers keep theirs."""
    from softlogit.io.encoding import output_names

    keep = []
    for column in encoder.columns_ or []:
        width = len(output_names(column))
        drop = column["kind"] == "categorical" and not column.get("reference") and width > 0
        keep.extend([not drop] + [True] * (width - 1) if width else [])
    if len(keep) != len(encoder.feature_names_out_):  # no column specs: numeric arrays
        return np.ones(len(encoder.feature_names_out_), bool)
    return np.asarray(keep, bool)


def inference_report(encoder, estimator, features, y, *, cov_type="nonrobust", groups=None):
    """``(summary text, {"coefficients.csv": …, "odds_ratios.png": …})`` in original units."""
    from sklearn.base import clone

    X = encoder.transform(features, handle_unknown="ignore")
    keep = reference_coding(encoder)
    names = [n for n, k in zip(encoder.feature_names_out_, keep) if k]
    est = estimator
    if not keep.all():
        est = clone(estimator).set_params(callback=None, warm_start=False)
        est.fit(X[:, keep], y)
    if groups is not None:
        cov_type = "cluster"
    res = est.inference(X[:, keep], y, cov_type=cov_type, groups=groups, feature_names=names)
    T = original_units_map(res, encoder.center_[keep], encoder.scale_[keep])
    res = res.transformed(T, res.names)
    if not keep.all():
        res.notes.append("text columns in reference (drop-first) coding: contrasts against "
                         "their first category; table from the refit on those columns")
    res.notes.append("coefficients in the original units of the columns")
    return res.summary(), {"coefficients.csv": coefficients_csv(res),
                           "odds_ratios.png": forest_plot(res)}


def original_units_map(res, center, scale) -> np.ndarray:
    """``T`` with ``β_orig = T β_std`` (module docstring), block-diagonal over the logits."""
    model = res.model
    p, q, L = model.p, model.q, model.L
    block = np.zeros((q, q))
    block[np.arange(p), np.arange(p)] = 1.0 / scale
    if model.fit_intercept:
        block[p, :p] = -center / scale
        block[p, p] = 1.0
    return np.kron(np.eye(L), block)


def _labels(res, names):
    feats = list(names) + (["intercept"] if res.model.fit_intercept else [])
    if len(res.classes) == 2:
        return feats
    return [f"{res.classes[k]}:{f}" for k in res.model.free for f in feats]


def coefficients_csv(res) -> bytes:
    """One row per parameter: estimate, SE, z, p, Wald interval, odds ratio and its interval."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["name", "coef", "std_err", "z", "p_value", "ci_lower", "ci_upper",
                     "odds_ratio", "or_lower", "or_upper"])
    ci = res.conf_int()
    with np.errstate(over="ignore"):
        for j, name in enumerate(res.names):
            b, lo, hi = res.params[j], ci[j, 0], ci[j, 1]
            writer.writerow([name, repr(float(b)), repr(float(res.bse[j])),
                             repr(float(res.zvalues[j])), repr(float(res.pvalues[j])),
                             repr(float(lo)), repr(float(hi)), repr(float(np.exp(b))),
                             repr(float(np.exp(lo))), repr(float(np.exp(hi)))])
    return buf.getvalue().encode()


def forest_plot(res, top: int = 25) -> bytes:
    """Odds ratios (log axis) with their Wald intervals, intercepts left out; one panel per
    logit, at most ``top`` parameters each (the smallest p-values)."""
    from softlogit.cli.figures import _figure, _png

    model = res.model
    ci = res.conf_int()
    panels = []
    for l in range(model.L):
        idx = np.arange(l * model.q, l * model.q + model.p)
        idx = idx[np.isfinite(res.bse[idx])]
        idx = idx[np.argsort(res.pvalues[idx], kind="stable")[:top]][::-1]
        title = (f"odds of {res.classes[1]}" if len(res.classes) == 2
                 else f"{res.classes[model.free[l]]} vs {res.reference}")
        panels.append((idx, title))
    ncols = min(len(panels), 3)
    nrows = int(np.ceil(len(panels) / ncols))
    height = max(len(i) for i, _ in panels) if panels else 1
    fig = _figure(5.2 * ncols, (0.28 * height + 1.2) * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    with np.errstate(over="ignore"):
        for ax, (idx, title) in zip(axes, panels):
            ypos = np.arange(idx.size)
            orr = np.exp(res.params[idx])
            lo, hi = np.exp(ci[idx, 0]), np.exp(ci[idx, 1])
            ax.errorbar(orr, ypos, xerr=[orr - lo, hi - orr], fmt="o", color="C0",
                        ecolor="C0", markersize=4, capsize=2, linewidth=1)
            ax.axvline(1.0, color="black", linewidth=0.6, linestyle="--")
            ax.set_xscale("log")
            label = [res.names[j].split(":", 1)[-1] if len(res.classes) > 2 else res.names[j]
                     for j in idx]
            ax.set_yticks(ypos, [n if len(n) <= 24 else n[:23] + "…" for n in label],
                          fontsize=7)
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("odds ratio (95% CI, log scale)", fontsize=8)
            ax.tick_params(axis="x", labelsize=7)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    fig.suptitle("odds ratios per unit of each feature (original units)", fontsize=10)
    return _png(fig)
