"""In-process checks of the CLI's parts: progress bar, metrics, figures, gradcheck, datasets."""

import io

import numpy as np
import pytest
from rich.console import Console

from softlogit.cli import main, report
from softlogit.cli.figures import coefficients
from softlogit.cli.metrics import classification_metrics
from softlogit.solvers import IterationState

PNG = b"\x89PNG\r\n\x1a\n"


def _states(n):
    return [IterationState(i, None, 1.0 / (i + 1), 10.0 ** -i, "lbfgs") for i in range(1, n + 1)]


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_bar_only_on_a_terminal_and_only_for_long_fits(monkeypatch, terminal):
    sink = io.StringIO()
    console = Console(file=sink, force_terminal=terminal, width=100)
    monkeypatch.setattr(report, "PROGRESS_DELAY_S", 0.0)
    with report.IterationProgress(console, max_iter=10) as progress:
        for state in _states(3):
            assert progress(state) is None  # never asks the solver to stop
        drawn = progress.progress is not None
    assert drawn is terminal
    assert ("fitting (lbfgs)" in sink.getvalue()) is terminal
    monkeypatch.setattr(report, "PROGRESS_DELAY_S", 3600.0)
    with report.IterationProgress(Console(file=io.StringIO(), force_terminal=True), 10) as slow:
        slow(_states(1)[0])
        assert slow.progress is None  # a fast fit shows nothing


def test_metrics_of_a_binary_model():
    classes = np.array(["no", "yes"])
    y = np.array(["no", "yes", "yes", "no"])
    proba = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.9, 0.1]])
    pred = classes[proba.argmax(axis=1)]
    m = classification_metrics(y, proba, pred, classes)
    assert m["accuracy"] == 0.75 and m["roc_auc"] == 1.0
    assert m["confusion_matrix"] == [[2, 0], [1, 1]]
    assert np.isclose(m["log_loss"], -np.mean(np.log([0.8, 0.7, 0.4, 0.9])))
    single = classification_metrics(y[:1], proba[:1], pred[:1], classes)
    # one class in the data: no ROC-AUC, PR-AUC or macro-F1 (they mean nothing there)
    assert not {"roc_auc", "pr_auc", "macro_f1"} & set(single) and single["accuracy"] == 1.0


@pytest.mark.parametrize("rows", [1, 3])
def test_coefficient_figure_is_a_png(rows):
    coef = np.arange(rows * 5, dtype=float).reshape(rows, 5) - 6
    png = coefficients(coef, [f"f{j}" for j in range(5)], np.array(["a", "b", "c"][:max(rows, 2)]),
                       top=3)
    assert png.startswith(PNG) and len(png) > 1000


def test_gradcheck_on_a_bundled_set_passes_and_fails_by_tolerance(capsys):
    assert main(["gradcheck", "iris"]) == 0
    out = capsys.readouterr().out
    assert "random point" in out and "fitted optimum" in out and "FAIL" not in out
    errors = [float(tok) for line in out.splitlines() if line.startswith("│")
              for tok in line.replace("│", " ").split() if "e-" in tok]
    assert len(errors) == 4 and max(errors) < 1e-6
    assert main(["gradcheck", "iris", "--rtol", "1e-300"]) == 1
    captured = capsys.readouterr()
    assert "FAIL" in captured.out and "gradient check failed" in captured.err


def test_datasets_lists_the_bundled_names(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name, rows in [("digits", "1797"), ("iris", "150"), ("wine", "178"),
                       ("breast_cancer", "569")]:
        line = next(line for line in out.splitlines() if f" {name} " in line)
        assert rows in line


def test_solver_warnings_become_one_line_each_after_the_summary(capsys):
    assert main(["fit", "iris", "--max-iter", "2", "--test-size", "0"]) == 0
    captured = capsys.readouterr()
    assert "did not converge" in captured.out
    lines = captured.err.splitlines()
    assert lines and all(line.startswith("warning: ") for line in lines)
    assert any("iteration" in line for line in lines)
