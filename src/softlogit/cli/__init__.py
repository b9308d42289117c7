"""The ``softlogit`` command: fit, predict, evaluate, gradcheck and datasets.

Each command is a module with ``add_parser(subparsers)`` and ``run(args, console)``; heavy
libraries (scikit-learn, Matplotlib) are imported inside the commands that need them, so
``softlogit --help`` and ``--version`` stay fast.

Every failure ends the command with one line ``error: <file>: <what>`` on stderr and exit
status 1, no traceback: bad input (a :class:`ValueError` such as
:class:`~softlogit.io.errors.DataError` or :class:`~softlogit.io.errors.ModelFileError`, or an
:class:`OSError`) with its own message, and any other exception through a last-resort handler
that names the file being worked on (``--debug`` shows the traceback instead). Ctrl-C and
SIGTERM end it with status 130 or 143 after removing its temporary files; outputs are written
as one transaction (:func:`softlogit.io.atomic.write_directory`), so they are left as they were.
Text from the data is printed escaped (:mod:`softlogit.cli.text`).
"""

from __future__ import annotations

import argparse
import sys
import warnings

from softlogit._version import __version__

COMMANDS = ("fit", "predict", "evaluate", "gradcheck", "datasets", "cv", "summary")


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
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an unexpected error instead of one line")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        import_module(f"softlogit.cli.{name}").add_parser(subparsers)
    for sub in subparsers.choices.values():  # --debug also after the command's name
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help=argparse.SUPPRESS)
    return parser


def main(argv=None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from rich.console import Console

    from softlogit.io.atomic import raise_on_sigterm, restore_sigterm

    previous_handler = raise_on_sigterm()
    try:
        return _run(args, Console(file=_NamedStream(sys.stdout, "<stdout>")))
    finally:
        restore_sigterm(previous_handler)


def _run(args, console) -> int:
    from softlogit.io.atomic import Terminated

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            status = args.run(args, console)
            console.file.flush()
        except KeyboardInterrupt:
            return _fail("interrupted", 130)
        except Terminated:
            return _fail("terminated (SIGTERM)", 143)
        except BrokenPipeError:
            # The reader of our output went away (``softlogit predict … | head``): not an error.
            _silence_stdout()
            return 1
        except Exception as exc:  # the last resort: one line, never a traceback
            if getattr(args, "debug", False):
                raise
            return _fail(describe_failure(exc, args), 1)
    for message in dict.fromkeys(_one_line(w.message) for w in caught):
        print(f"warning: {message}", file=sys.stderr)
    return status


def describe_failure(exc: BaseException, args=None) -> str:
    """The one line for ``exc``: its own message when it names its file, else
    ``<file>: <what>`` with the file being worked on (the model, the data, the output)."""
    from softlogit.io.errors import DataError, ModelFileError

    if isinstance(exc, (DataError, ModelFileError)):
        return _one_line(exc)
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return _one_line(exc)
    where = getattr(exc, "softlogit_file", None)
    if where is None and args is not None:
        where = getattr(args, "data", None) or getattr(args, "model", None)
    what = _one_line(exc)
    if isinstance(exc, RecursionError):
        what = "nested too deeply to process"
    elif isinstance(exc, MemoryError):
        what = "needs more memory than is available"
    elif not isinstance(exc, (ValueError, OSError)):
        what = f"{what} (unexpected {type(exc).__name__}; run with --debug for the traceback)"
    return f"{where}: {what}" if where else what


def _fail(message: str, status: int) -> int:
    try:
        print(f"error: {message}", file=sys.stderr)
    except OSError:
        pass
    return status


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


class _NamedStream:
    """A text stream whose write errors name it (``<stdout>: No space left on device``)."""

    def __init__(self, stream, name: str):
        self._stream = stream
        self._name = name

    def write(self, text):
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, self._name) from exc

    def flush(self):
        try:
            return self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, self._name) from exc

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _one_line(exc) -> str:
    from softlogit.cli.text import plain

    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
    else:
        text = str(exc).strip() or type(exc).__name__
    return plain(" ".join(text.split()))
