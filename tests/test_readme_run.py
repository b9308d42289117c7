"""The README's ``make run`` block is what ``make run`` prints.

The command is read from the Makefile's ``run`` recipe, the expected output from the README's
block under "This is `make run`"; the command is run here (in-process, in a temporary working
directory, so the ``saved runs/digits`` line is the same) and every line must match, except the
wall-clock time of the fit, and trailing spaces (Rich pads lines to the console width).
A change that moves any number (an iteration count, an accuracy, a per-class F1) fails here
until the README is updated with the new output.
"""

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMING = re.compile(r"\bin \d+(\.\d+)? s\b")


def _make_run_command():
    recipe = ROOT.joinpath("Makefile").read_text().split("\nrun:", 1)[1].splitlines()[1]
    words = shlex.split(recipe.strip())
    assert Path(words[0]).name == "softlogit", recipe
    return words[1:]


def _readme_block():
    text = ROOT.joinpath("README.md").read_text()
    block = text.split("This is `make run`:\n\n```\n", 1)[1].split("\n```", 1)[0]
    command, *output = block.splitlines()
    return command, output


def _normalise(lines):
    return [TIMING.sub("in <time> s", line.rstrip()) for line in lines]


def test_readme_shows_the_output_of_make_run(tmp_path, monkeypatch, capsys):
    from softlogit.cli import main

    args = _make_run_command()
    command, expected = _readme_block()
    assert command == "$ softlogit " + shlex.join(args), "README shows another command"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    assert main(args) == 0
    got = _normalise(capsys.readouterr().out.splitlines())
    # the summary must carry the numbers the README quotes, not only the same shape
    assert any(line.startswith("accuracy ") for line in got)
    assert got == _normalise(expected), (
        "README.md's `make run` block differs from what `make run` prints now; paste:\n"
        + "\n".join(got))


def test_the_timing_pattern_only_hides_the_fit_time():
    _, expected = _readme_block()
    hidden = [line for line in expected if TIMING.search(line)]
    assert len(hidden) == 1 and hidden[0].startswith("fit "), hidden
    assert _normalise(["fit 75 iterations in 2.3 s"]) != _normalise(["fit 76 iterations in 2.3 s"])
