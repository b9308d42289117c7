"""``softlogit datasets``: the bundled data sets that DATA may name."""

from __future__ import annotations

EXAMPLE = """examples:
  softlogit datasets
  softlogit fit iris --out runs/iris
"""


def add_parser(subparsers):
    import argparse

    parser = subparsers.add_parser(
        "datasets", help="list the bundled data sets usable by name",
        description="List the data sets bundled with scikit-learn (no network) that any "
                    "command accepts as DATA, with their rows, features and classes.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(run=run)
    return parser


def run(args, console) -> int:
    from rich.table import Table

    from softlogit.io.datasets import BUNDLED, describe

    table = Table(title="bundled data sets (target column: target)", title_justify="left")
    for column in ("name", "rows", "features", "classes", "description"):
        table.add_column(column, justify="right" if column in ("rows", "features") else "left")
    for name in BUNDLED:
        info = describe(name)
        table.add_row(name, str(info["rows"]), str(info["features"]),
                      ", ".join(info["classes"]) if len(info["classes"]) <= 3
                      else f"{len(info['classes'])}: " + ", ".join(info["classes"]),
                      info["description"])
    console.print(table)
    return 0
