"""What the commands print: Rich summaries of a fit or an evaluation, and the fit progress bar.

Summaries are built from the same document that is written to ``metrics.json``, so the two
never disagree. Rich leaves out colour and styling when the output is not a terminal.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.table import Table

from softlogit.cli.text import markup as _safe  # text from data is shown as written

#: Below this many seconds of fitting no progress bar is shown.
PROGRESS_DELAY_S = 0.5
_MAX_CLASSES_SHOWN = 12


def _fmt(value, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _classes_line(classes: list[dict]) -> str:
    shown = ", ".join(f"{_safe(c['label'])} ({c['count']})" for c in classes[:_MAX_CLASSES_SHOWN])
    more = len(classes) - _MAX_CLASSES_SHOWN
    return f"{len(classes)}: {shown}" + (f", … ({more} more)" if more > 0 else "")


def _metrics_table(splits: dict[str, dict], binary: bool) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("metric")
    for name in splits:
        table.add_column(name, justify="right")
    rows = [("accuracy", "accuracy"), ("log-loss", "log_loss")]
    if binary:
        rows += [("ROC-AUC", "roc_auc"), ("PR-AUC", "pr_auc"), ("Brier", "brier")]
    rows.append(("macro-F1", "macro_f1"))
    for label, key in rows:
        if any(key in m for m in splits.values()):  # a metric that applies nowhere is left out
            table.add_row(label, *(_fmt(m.get(key)) for m in splits.values()))
    table.add_row("rows", *(str(m["rows"]) for m in splits.values()))
    return table


def _per_class_table(metrics: dict, title: str) -> Table:
    """Precision, recall and F1 of each class on one split (– where undefined)."""
    table = Table(box=None, pad_edge=False, header_style="bold", title=title,
                  title_justify="left", title_style="bold")
    for name, justify in (("class", "left"), ("precision", "right"), ("recall", "right"),
                          ("F1", "right"), ("rows", "right")):
        table.add_column(name, justify=justify)
    for c in metrics["per_class"][:_MAX_CLASSES_SHOWN]:
        table.add_row(_safe(str(c["label"])), _fmt(c["precision"]), _fmt(c["recall"]),
                      _fmt(c["f1"]), str(c["support"]))
    more = len(metrics["per_class"]) - _MAX_CLASSES_SHOWN
    if more > 0:
        table.add_row(f"… ({more} more in metrics.json)", "", "", "", "")
    return table


def _facts(rows) -> Table:
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    return table


def print_fit_summary(console: Console, doc: dict) -> None:
    """The concise summary of ``softlogit fit`` (``doc`` is the metrics.json document)."""
    data, fit, model = doc["data"], doc["fit"], doc["model"]
    split = f"train {data['train_rows']}"
    if data["test_rows"]:
        split += f", test {data['test_rows']}"
    shape = f"{data['rows']} rows × {data['features']} features"
    if data["encoded_features"] != data["features"]:
        shape += f" ({data['encoded_features']} after encoding)"
    reason = fit.get("solver_reason")
    status = "converged" if fit["converged"] else "did not converge"
    console.print(f"[bold]softlogit fit[/bold] — {_safe(data['source'])}")
    console.print(_facts([
        ("data", f"{shape}; {split}"),
        ("target", _safe(data['target'])),
        ("classes", _classes_line(doc["classes"])),
        ("model", f"{model['class']} (penalty={model['params']['penalty']}, "
                  f"C={model['params']['C']:g})"),
        ("solver", fit["solver"] + (f" — {reason}" if reason else "")),
        ("fit", f"{fit['n_iter']} iterations in {fit['time_s']:.3f} s, {status} "
                f"({fit['stop_reason']})"),
        ("final ‖∇J‖", f"{fit['final_grad_norm']:.3e}"),
    ]))
    splits = {"train": doc["train"]}
    if doc.get("test"):
        splits["test"] = doc["test"]
    console.print(_metrics_table(splits, binary=len(doc["classes"]) == 2))
    shown = "test" if doc.get("test") else "train"
    if "per_class" in doc[shown]:
        console.print(_per_class_table(doc[shown], f"per class ({shown})"))
    _print_saved(console, doc)


def print_evaluation(console: Console, doc: dict) -> None:
    """The summary of ``softlogit evaluate``."""
    data = doc["data"]
    console.print(f"[bold]softlogit evaluate[/bold] — {_safe(data['source'])} with "
                  f"{_safe(doc['model_file'])}")
    console.print(_facts([
        ("data", f"{data['rows']} rows × {data['features']} features"),
        ("target", _safe(data['target'])),
        ("classes", _classes_line(doc["classes"])),
    ]))
    console.print(_metrics_table({"evaluation": doc["evaluation"]},
                                 binary=len(doc["evaluation"]["confusion_matrix"]) == 2))
    if "per_class" in doc["evaluation"]:
        console.print(_per_class_table(doc["evaluation"], "per class"))
    _print_saved(console, doc)


def _print_saved(console: Console, doc: dict) -> None:
    if doc.get("out"):
        console.print(f"[bold]saved[/bold] {_safe(doc['out'])}: "
                      f"{_safe(', '.join(doc['files']))}")


class IterationProgress:
    """A solver callback that shows a transient progress bar once a fit runs long.

    Nothing is drawn when ``console`` is not a terminal, or before :data:`PROGRESS_DELAY_S`.
    Use it as a context manager so the bar is removed when the fit ends.
    """

    def __init__(self, console: Console, max_iter: int):
        self.console = console
        self.max_iter = max(int(max_iter), 1)
        self.enabled = console.is_terminal
        self.start = time.perf_counter()
        self.progress = None
        self.task = None

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.stop()
        return False

    def __call__(self, state) -> None:
        if not self.enabled:
            return None
        if self.progress is None:
            if time.perf_counter() - self.start < PROGRESS_DELAY_S:
                return None
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                     MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                                     console=self.console, transient=True)
            self.task = self.progress.add_task(f"fitting ({state.solver})", total=self.max_iter,
                                               info="")
            self.progress.start()
        self.progress.update(self.task, completed=state.iteration,
                             info=f"J={state.objective:.6g} ‖∇J‖={state.grad_norm:.2e}")
        return None
