"""``softlogit gradcheck``: the analytic gradient and Hessian checked on the user's own data.

The objective the fit minimises is built on DATA (encoded as ``fit`` would encode it) and its
analytic gradient and Hessian-vector products are compared with 5-point finite differences
(:func:`softlogit.check_gradient`) at a random point and at the fitted optimum.

At the optimum the gradient is (nearly) zero, so an error relative to its own size measures
only the finite-difference truncation error. There the gradient error is taken relative to the
problem's gradient scale ``‖∇J(0)‖∞`` (the cold start's gradient, the scale the solvers' ``tol``
refers to); the Hessian is far from zero at the optimum and keeps the relative measure.
"""

from __future__ import annotations

import sys

import numpy as np

EXAMPLE = """examples:
  softlogit gradcheck                          # the bundled digits data
  softlogit gradcheck data.csv --target label --penalty none --rtol 1e-5
"""


def add_parser(subparsers):
    import argparse

    from softlogit.cli.common import (
        add_data_argument, add_encoding_arguments, add_model_arguments, add_target_argument,
    )

    parser = subparsers.add_parser(
        "gradcheck", help="check the analytic gradient and Hessian on your data",
        description="Compare the analytic gradient and Hessian-vector product of the "
                    "cross-entropy objective on DATA with finite differences, at a random "
                    "point and at the fitted optimum; print the largest relative errors and "
                    "exit with status 1 if one exceeds --rtol.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_argument(parser, optional=True)
    add_target_argument(parser)
    add_model_arguments(parser)
    add_encoding_arguments(parser)
    parser.add_argument("--rtol", type=float, default=1e-6,
                        help="largest relative error accepted (default: 1e-6)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the random point and directions (default: 0)")
    parser.set_defaults(run=run)
    return parser


def run(args, console) -> int:
    from rich.table import Table

    from softlogit.cli.common import make_estimator
    from softlogit.gradcheck import check_gradient
    from softlogit.io.encoding import TableEncoder
    from softlogit.io.frame import check_classes, split_target
    from softlogit.io.readers import read_data

    frame = read_data(args.data)
    features, y, target = split_target(frame, args.target)
    classes = check_classes(y, frame.source, target)
    X = TableEncoder(impute=args.impute, handle_unknown=args.handle_unknown,
                     standardize=args.standardize).fit_transform(features)
    estimator = make_estimator(args, len(classes)).fit(X, y)
    objective = estimator.objective_for(X, y)
    optimum = objective.pack(estimator.coef_, estimator.intercept_)
    at_random = check_gradient(objective, None, random_state=args.seed)
    # At the optimum ∇J ≈ 0: judge the gradient on the problem's scale ‖∇J(0)‖∞.
    scale = float(np.max(np.abs(objective.gradient(objective.zeros()))))
    at_optimum = check_gradient(objective, optimum, gradient_scale=scale,
                                random_state=args.seed)
    errors = {"random point": (at_random.gradient_error, at_random.hessian_error),
              "fitted optimum": (at_optimum.gradient_error, at_optimum.hessian_error)}

    from softlogit.cli.text import markup

    table = Table(title=f"gradient check — {markup(frame.source)}: {X.shape[0]} rows, "
                        f"{objective.n_params} parameters ({objective.loss_fn.name} loss)",
                  title_justify="left")
    for column in ("point", "gradient rel. error", "Hessian·v rel. error", f"≤ {args.rtol:g}"):
        table.add_column(column, justify="left" if column == "point" else "right")
    worst = 0.0
    for name, (grad_error, hess_error) in errors.items():
        worst = max(worst, grad_error, hess_error)
        table.add_row(name + ("*" if name == "fitted optimum" else ""), f"{grad_error:.2e}",
                      f"{hess_error:.2e}",
                      "ok" if max(grad_error, hess_error) <= args.rtol else "FAIL")
    console.print(table)
    console.print("* where ∇J ≈ 0 the gradient error is relative to ‖∇J(0)‖∞, the problem's "
                  "gradient scale", highlight=False)
    if worst > args.rtol:
        print(f"gradient check failed: largest relative error {worst:.2e} exceeds --rtol "
              f"{args.rtol:g}", file=sys.stderr)
        return 1
    console.print(f"largest relative error {worst:.2e} ≤ {args.rtol:g}: the analytic "
                  f"derivatives match finite differences")
    return 0
