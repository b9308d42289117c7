"""The figures of ``fit`` and ``evaluate``, drawn with Matplotlib's Agg backend into PNG bytes.

Each function returns the PNG file's bytes, so the caller writes it atomically with the other
outputs. Figures are :class:`matplotlib.figure.Figure` objects, never pyplot-managed windows.
"""

from __future__ import annotations

import io
import math

import numpy as np

DPI = 100


def _figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg")  # no display needed; must come before anything imports pyplot
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def convergence(report) -> bytes:
    """Objective and gradient norm per iteration of a :class:`~softlogit.solvers.SolverResult`."""
    fig = _figure(8, 3.2)
    left, right = fig.subplots(1, 2)
    steps = np.arange(len(report.objective_history))
    left.plot(steps, report.objective_history, marker=".", color="C0")
    left.set(xlabel="iteration", ylabel="objective J(θ)", title="objective")
    grad = np.asarray(report.grad_norm_history, dtype=float)
    right.semilogy(steps, np.where(grad > 0, grad, np.nan), marker=".", color="C1")
    info = report.info or {}
    if "tol" in info and "reference_grad_norm" in info:
        threshold = float(info["tol"]) * float(info["reference_grad_norm"])
        right.axhline(threshold, color="grey", linestyle="--", label="tolerance")
        right.legend(loc="upper right")
    right.set(xlabel="iteration", ylabel="‖∇J(θ)‖", title="gradient norm")
    from matplotlib.ticker import MaxNLocator

    for ax in (left, right):  # iterations are whole numbers
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(f"{report.solver}: {report.n_iter} iterations, {report.reason}")
    return _png(fig)


def confusion_matrix(matrix, classes, title: str) -> bytes:
    """The confusion matrix (rows: true class, columns: predicted), counts in each cell."""
    from sklearn.metrics import ConfusionMatrixDisplay

    k = len(classes)
    size = min(3.0 + 0.45 * k, 9.0)
    fig = _figure(size + 1.0, size)
    ax = fig.subplots()
    ConfusionMatrixDisplay(np.asarray(matrix), display_labels=[str(c) for c in classes]).plot(
        ax=ax, cmap="Blues", colorbar=True, values_format="d")
    ax.set_title(title)
    return _png(fig)


def roc_curve(y_true, score, pos_label, title: str) -> bytes:
    """The ROC curve of a binary model; ``score`` is the probability of ``pos_label``."""
    from sklearn.metrics import RocCurveDisplay

    fig = _figure(4.5, 4.5)
    ax = fig.subplots()
    RocCurveDisplay.from_predictions(y_true, score, pos_label=pos_label, ax=ax,
                                     plot_chance_level=True)
    ax.set_title(title)
    return _png(fig)


def calibration_curve(y_true, probability, pos_label, title: str) -> bytes:
    """Mean predicted probability of ``pos_label`` against its observed frequency, in bins
    (10, fewer for under 100 rows)."""
    from sklearn.calibration import CalibrationDisplay

    fig = _figure(4.5, 4.5)
    ax = fig.subplots()
    n_bins = int(max(2, min(10, len(y_true) // 10)))
    display = CalibrationDisplay.from_predictions(y_true, probability, n_bins=n_bins,
                                                  pos_label=pos_label, ax=ax)
    # The rows behind each point (the curve leaves out empty bins, as np.histogram counts them).
    counts, _ = np.histogram(np.asarray(probability, dtype=float),
                             bins=np.linspace(0.0, 1.0, n_bins + 1))
    counts = counts[counts > 0]
    for x, y, n in zip(display.prob_pred, display.prob_true, counts):
        ax.annotate(f"{n}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7,
                    color="C0")
    ax.set_title(f"{title}\n(numbers: rows in each of {n_bins} bins)", fontsize=10)
    return _png(fig)


def coefficients(coef, feature_names, classes, top: int = 8, standardized: bool = True,
                 max_panels: int = 12) -> bytes:
    """The ``top`` largest coefficients (by magnitude) of each logit, one panel per class
    (at most ``max_panels``; metrics.json and coefficients.csv have them all).

    A binary sigmoid model has one row of coefficients: the log-odds of ``classes[1]``. With
    ``standardized`` the numeric features were scaled, so a coefficient is the change of the
    log-odds per standard deviation of its feature (an indicator's: for that level).
    """
    import textwrap

    coef = np.asarray(coef, dtype=float)
    rows = coef.shape[0]
    titles = ([f"log-odds of {classes[1]}"] if rows == 1 else [f"class {c}" for c in classes])
    panels = min(rows, max_panels)
    shown = min(top, coef.shape[1])
    names = ["\n".join(textwrap.wrap(str(n), 40)) or "''" for n in feature_names]
    longest = max((len(line) for n in names for line in n.split("\n")), default=1)
    ncols = min(panels, 4)
    nrows = math.ceil(panels / ncols)
    width = ncols * (2.4 + 0.055 * longest)
    fig = _figure(width, (0.32 * shown + 1.2) * nrows + 0.4)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    unit = ("per standard deviation of the feature (indicators: per level)" if standardized
            else "per unit of the feature (indicators: per level)")
    for ax, row, title in zip(axes, coef[:panels], titles):
        order = np.argsort(-np.abs(row), kind="stable")[:shown][::-1]
        values = row[order]
        ax.barh(np.arange(order.size), values, color=np.where(values >= 0, "C0", "C3"))
        ax.set_yticks(np.arange(order.size), [names[j] for j in order], fontsize=7)
        ax.axvline(0, color="black", linewidth=0.5)
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
        ax.set_xlabel("change of the logit", fontsize=7)
    for ax in axes[panels:]:
        ax.set_visible(False)
    what = (f"all {shown} coefficients" if shown == coef.shape[1]
            else f"the {shown} largest of {coef.shape[1]} coefficients")
    per = "per class" if rows > 1 else ""
    more = f"; first {panels} of {rows} classes" if panels < rows else ""
    fig.suptitle(f"{what} {per}{more}\n{unit}", fontsize=9)
    return _png(fig)


def evaluation_figures(metrics: dict, y_true, proba, classes, split: str) -> dict[str, bytes]:
    """Confusion matrix, and for two classes the ROC and calibration curves, of one data split.

    Returns ``{file name: PNG bytes}``.
    """
    files = {"confusion_matrix.png": confusion_matrix(
        metrics["confusion_matrix"], classes, f"confusion matrix ({split})")}
    if len(classes) == 2:
        positive = np.asarray(y_true) == classes[1]
        if 0 < positive.sum() < positive.size:  # a ROC curve needs both classes
            files["roc.png"] = roc_curve(y_true, proba[:, 1], classes[1], f"ROC curve ({split})")
        files["calibration.png"] = calibration_curve(y_true, proba[:, 1], classes[1],
                                                     f"calibration ({split})")
    return files
