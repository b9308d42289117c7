"""Why a fit did not converge, and perfect separation: detection and messages.

Convergence. When a solver stops short of its tolerance, :func:`convergence_message` tells the
causes apart from the :class:`~softlogit.solvers.SolverResult`:

(a) the objective was still falling at ``max_iter`` — says by how much per iteration lately;
(b) the line search failed — the numerical precision limit of the arithmetic was reached;
    with ``max_iter=0`` neither (a) nor (b) applies, and the message says no iteration was allowed;
(c) the features are on very different scales — names the features with the largest and the
    smallest standard deviation (from ``design.column_scale()``) and suggests StandardScaler.

Separation. Without a penalty, data that a hyperplane separates have no maximum-likelihood
fit: the loss tends to 0 as the coefficients grow without bound. :class:`SeparationMonitor`
checks after each iteration whether the current coefficients classify every training sample
(of positive weight) strictly correctly. Such coefficients are a certificate that the data are
separable, so the check has no false positives; the fit then stops there, and the estimator
returns the L2 fit with a large C instead (see ``BaseCrossEntropyClassifier._fit_separable``).
"""

from __future__ import annotations

import contextlib
import contextvars

import numpy as np
import scipy.sparse as sp

#: Features whose standard deviations (with 1 for the intercept column) spread by more than
#: this factor are reported as "not scaled".
SCALE_SPREAD = 1e2
#: Iterations over which the recent decrease of the objective is averaged.
RECENT = 10


#: Set by :func:`command_line_words` while the command line fits: feature names and its words.
_WORDS = contextvars.ContextVar("softlogit_message_words", default=None)

#: How the advice is worded for Python and for the command line.
ADVICE = {
    "standardize": ("Standardise the features, e.g. with sklearn.preprocessing.StandardScaler "
                    "in a Pipeline.", "Leave --standardize on (the default)."),
    "max_iter": ("max_iter", "--max-iter"),
    "newton": ("solver='newton'", "--solver newton"),
    "penalty": ("use a penalty", "use a penalty (--penalty l2)"),
    "tol": ("use a larger tol", "use a larger --tol"),
    "penalty_none": ("penalty=None", "--penalty none"),
}


@contextlib.contextmanager
def command_line_words(feature_names):
    """Within this block, warnings name features by ``feature_names`` and advise in the
    command line's options (``--max-iter``), not Python's (``max_iter``, Pipelines)."""
    token = _WORDS.set({"names": list(feature_names)})
    try:
        yield
    finally:
        _WORDS.reset(token)


def advice(key: str) -> str:
    python, cli = ADVICE[key]
    return cli if _WORDS.get() is not None else python


def feature_label(names, j) -> str:
    """How feature ``j`` is named in messages: its column name, else ``x{j}``."""
    words = _WORDS.get()
    if names is None and words is not None and j < len(words["names"]):
        names = words["names"]
    return repr(str(names[j])) if names is not None else f"x{j}"


# --- separation --------------------------------------------------------------------------------


class SeparationMonitor:
    """Callback part that stops the solver once the coefficients separate the training data.

    Parameters
    ----------
    objective : the :class:`~softlogit.objective.LinearObjective` being minimised.
    codes : (m,) class indices of the hard targets.
    """

    def __init__(self, objective, codes):
        self.objective = objective
        self.codes = np.asarray(codes, dtype=np.intp)
        self.active = objective.sample_weight > 0
        self.separating_params = None

    def separates(self, params) -> bool:
        """True when every sample of positive weight has a strictly correct logit margin."""
        Z = self.objective.logits(params)
        if Z.ndim == 1:
            margin = np.where(self.codes == 1, Z, -Z)
        else:
            rows = np.arange(Z.shape[0])
            own = Z[rows, self.codes]
            others = Z.copy()
            others[rows, self.codes] = -np.inf
            margin = own - others.max(axis=1)
        return bool(np.all(margin[self.active] > 0))

    def __call__(self, state) -> bool:
        if self.separates(state.params):
            self.separating_params = np.array(state.params)
            return True
        return False


def separation_message(X, codes, sample_weight, W, design, names, classes,
                       separation_C, alone=None) -> str:
    """The warning for separable data, naming the separating feature(s) where it can.

    ``alone`` (the features that separate two classes on their own, as ``[(j, lower class)]``)
    is computed from ``X`` when not given (the Dask backend computes it on its workers).
    """
    head = ("The training data are perfectly separable and penalty=None, so the cross-entropy "
            "has no minimum: the coefficients would grow without bound.")
    if alone is None:
        alone = _separating_alone(X, codes, sample_weight) if len(classes) == 2 else []
    if alone:
        j, lo_class = alone[0]
        hi_class = 1 - lo_class
        which = (f"Feature {feature_label(names, j)} separates the classes on its own (every "
                 f"{_label(classes[lo_class])} sample lies below every {_label(classes[hi_class])} "
                 "sample)")
        if len(alone) > 1:
            more = ", ".join(feature_label(names, k) for k, _ in alone[1:4])
            which += f"; so do {more}"
        which += "."
    else:
        top = _top_features(W, design.column_scale()[1])
        listed = ", ".join(feature_label(names, j) for j in top)
        which = (f"The features that weigh most along the separating direction (largest "
                 f"|coefficient| x std) are {listed}.")
    tail = (f"The fit stopped once its coefficients separated the training data and returns "
            f"instead the L2-penalised fit with C={separation_C:g}: finite and unique, but its "
            "probabilities are near 0 and 1 on the training data and not calibrated. Choose a "
            "penalty (penalty='l2' with a moderate C) deliberately for a calibrated model.")
    return " ".join((head, which, tail))


def _label(value) -> str:
    """A class label as written by the user (``0``, ``'cat'``), not ``np.int64(0)``."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _separating_alone(X, codes, sample_weight):
    """Features j with every class-0 value strictly below (or above) every class-1 value."""
    active = sample_weight > 0
    found = []
    idx0 = np.flatnonzero(active & (codes == 0))
    idx1 = np.flatnonzero(active & (codes == 1))
    mn0, mx0 = _column_min_max(X, idx0)
    mn1, mx1 = _column_min_max(X, idx1)
    for j in np.flatnonzero(mx0 < mn1):
        found.append((int(j), 0))
    for j in np.flatnonzero(mx1 < mn0):
        found.append((int(j), 1))
    return sorted(found)


def _column_min_max(X, rows):
    """Per-column minimum and maximum over the selected rows (dense or sparse X)."""
    if sp.issparse(X):
        sub = X.tocsr()[rows]
        return (np.asarray(sub.min(axis=0).toarray()).ravel(),
                np.asarray(sub.max(axis=0).toarray()).ravel())
    sub = X[rows]
    return sub.min(axis=0), sub.max(axis=0)


def _top_features(W, std, n=3):
    """Indices of the features with the largest |coefficient| x standard deviation ``std``."""
    W = np.asarray(W, dtype=np.float64)
    if W.shape[0] > 1:  # softmax: only differences between class rows matter
        W = W - W.mean(axis=0)
    weight = np.linalg.norm(W, axis=0) * np.asarray(std, dtype=np.float64)
    return [int(j) for j in np.argsort(-weight)[:n] if weight[j] > 0]


# --- convergence -------------------------------------------------------------------------------


def convergence_message(result, objective, names, max_iter) -> str:
    """The warning for a fit that stopped before meeting its tolerance (see module docstring)."""
    tol = result.info.get("tol")
    ref = result.info.get("reference_grad_norm")
    target = f"{tol * ref:.3g}" if tol is not None and ref is not None else "the tolerance"
    parts = [f"Solver {result.solver!r} did not converge after {result.n_iter} iterations "
             f"({result.reason}): the gradient norm is {result.grad_norm:.3g}, the target "
             f"{target} (tol={tol} times the gradient norm at zero)."]
    hist = np.asarray(result.objective_history, dtype=np.float64)
    k = min(RECENT, hist.size - 1)
    drop = (hist[-k - 1] - hist[-1]) / k if k > 0 else 0.0
    resolution = np.finfo(objective.dtype).eps * max(abs(hist[-1]), np.finfo(float).tiny)
    stalled = any(word in result.reason for word in ("line search", "precision"))
    if result.n_iter == 0 and max_iter == 0:
        # (c) no iteration was allowed: nothing can be said about progress or precision
        parts.append(
            f"No iteration was allowed ({advice('max_iter')}=0), so the coefficients are the "
            f"starting point; increase {advice('max_iter')} to fit."
        )
    elif stalled or result.info.get("line_search_failures") or drop <= resolution:
        # (b) the objective no longer moves: the arithmetic, not the budget, is the limit
        last = abs(hist[-2] - hist[-1]) if hist.size > 1 else 0.0
        parts.append(
            "No step decreased the objective any further: the numerical "
            f"precision limit of {np.dtype(objective.dtype).name} arithmetic was reached "
            f"(last change of the objective {last:.2g} at value {hist[-1]:.10g}). The "
            f"coefficients are as accurate as this arithmetic allows; {advice('tol')}, fit in "
            "float64, or scale the features."
        )
    elif result.reason.startswith("maximum"):
        # (a) still making progress when the budget ran out
        rel = drop / max(abs(hist[-1]), np.finfo(float).tiny)
        smooth = not objective.penalty.l1
        parts.append(
            f"The objective was still falling at {advice('max_iter')}={max_iter}: by "
            f"{drop:.3g} per iteration ({rel:.2g} relative) over the last {k} iterations. "
            f"Increase {advice('max_iter')}"
            + (f", or use Newton's method ({advice('newton')}), which needs few iterations."
               if smooth and result.solver != "newton" else ".")
        )
    # one pass over X for the column scales, shared by both diagnoses below
    mean, std = (np.asarray(v, dtype=np.float64) for v in objective.design.column_scale())
    scale = scale_message(objective, names, mean, std)
    if scale:
        parts.append(scale)
    if not objective.penalty.l2 and not objective.penalty.l1:
        W, _ = objective.unpack(result.params)
        top = _top_features(W, std, n=1)
        if top and np.max(np.abs(W[:, top[0]])) * std[top[0]] > 30:
            parts.append(
                f"With {advice('penalty_none')} the coefficients are large (feature "
                f"{feature_label(names, top[0])} most): the classes may be separated up to "
                f"ties (quasi-separation), where no finite fit exists; {advice('penalty')}."
            )
    return " ".join(parts)


def scale_message(objective, names, mean, std) -> str | None:
    """Name the features that make the problem ill-conditioned, or return None.

    ``mean`` and ``std`` are X's column scales (float64). Two causes: standard deviations
    spread by more than SCALE_SPREAD (with 1 for the intercept column), and — with an
    intercept — features whose mean exceeds SCALE_SPREAD standard deviations (nearly collinear
    with the column of ones).
    """
    varying = np.flatnonzero(std > 0)
    if varying.size == 0:
        return None
    scales = std[varying]
    ref = np.append(scales, 1.0) if objective.fit_intercept else scales
    parts = []
    if ref.max() / ref.min() > SCALE_SPREAD:
        order = varying[np.argsort(scales)]
        big = [f"{feature_label(names, j)} (std {std[j]:.3g})" for j in order[::-1][:2]]
        small = [f"{feature_label(names, j)} (std {std[j]:.3g})" for j in order[:2]]
        parts.append(
            f"the largest standard deviations are {', '.join(big)} and the smallest "
            f"{', '.join(small)}"
            + (" (the intercept's column of ones has 1)" if objective.fit_intercept else ""))
    offset = np.abs(mean[varying]) / scales
    if objective.fit_intercept and offset.max() > SCALE_SPREAD:
        far = varying[np.argsort(offset)[::-1][:2]]
        listed = ", ".join(f"{feature_label(names, j)} (mean {mean[j]:.3g}, std {std[j]:.3g})"
                           for j in far)
        parts.append(f"features far from centred, nearly collinear with the intercept: {listed}")
    if not parts:
        return None
    return ("The data are not scaled, which slows the solver: " + "; ".join(parts)
            + ". " + advice("standardize"))
