"""The ``softlogit`` command: fit, predict, evaluate, gradcheck and datasets.

Each command is a module with ``add_parser(subparsers)`` and ``run(args, console)``; heavy
libraries (scikit-learn, Matplotlib) are imported inside the commands that need them, so
``softlogit --help`` and ``--version`` stay fast.

Bad input (a :class:`ValueError` such as :class:`~softlogit.io.errors.DataError` or
:class:`~softlogit.io.errors.ModelFileError`, or an :class:`OSError`) ends the command with one
line ``error: …`` on stderr and exit status 1, no traceback; any other exception is a bug and
surfaces as one.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from softlogit._version import __version__

COMMANDS = ("fit", "predict", "evaluate", "gradcheck", "datasets", "cv")


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors as one line like every other error (exit status 2)."""

    def error(self, message):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of all commands."""
    from importlib import import_module

    parser = _Parser(
        prog="softlogit",
        description="Logistic and softmax regression by cross-entropy with exact gradients.",
        epilog="example: softlogit fit --out runs/digits   (then: softlogit <command> --help)",
    )
    parser.add_argument("--version", action="version", version=f"softlogit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        import_module(f"softlogit.cli.{name}").add_parser(subparsers)
    return parser


def main(argv=None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from rich.console import Console

    console = Console()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            status = args.run(args, console)
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            return 130
        except (ValueError, OSError) as exc:
            print(f"error: {_one_line(exc)}", file=sys.stderr)
            return 1
    for message in dict.fromkeys(_one_line(w.message) for w in caught):
        print(f"warning: {message}", file=sys.stderr)
    return status


def _one_line(exc) -> str:
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
    else:
        text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())
