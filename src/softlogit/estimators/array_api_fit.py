"""``fit``, ``partial_fit`` and ``objective_for`` on array-API input: the steps of
:class:`~softlogit.estimators.base.BaseCrossEntropyClassifier` with X, y and the weights kept on
X's device (see :mod:`softlogit.estimators.array_api` for the rules).

Labels are encoded on the device (``unique_inverse``, or ``searchsorted`` into the fitted
classes); class weights, the two-class check and the separation test use per-class or
per-sample reductions there, and only K-sized results reach the host. The shared host steps
(the solver call, the separable refit, storing and normalising the coefficients, the SGD pass of
``partial_fit``) are the base class's own: they run with the fitted arrays as NumPy inside
:func:`~softlogit.estimators.array_api.fitted_arrays_on_host`, which moves them to X's device afterwards.
"""

from __future__ import annotations

import warnings

from sklearn.utils.validation import check_is_fitted

from softlogit.data import as_design
from softlogit.estimators.array_api import check_device_X, fitted_arrays_on_host
from softlogit.estimators.diagnostics import convergence_message, separation_message
from softlogit.estimators.labels import (
    check_class_mass, check_partial_fit_classes, class_weights,
)
from softlogit.estimators.validation import check_params, penalty_args
from softlogit.estimators.warnings import ConvergenceWarning, SeparationWarning
from softlogit.objective import LinearObjective

def fit_on_device(est, X, y, sample_weight):
    """Fit ``est`` on the device arrays ``(X, y, sample_weight)``; returns ``est``."""
    from softlogit.backends.xp.transfer import to_host
    from softlogit.estimators.base import _combine

    check_params(est)
    if est.penalty == "firth":
        raise ValueError("penalty='firth' is fitted on the host and does not take array-API "
                         "input; pass NumPy arrays (or use penalty=None or 'l2')")
    design, classes, codes, Y, onehot, sw = prepare_on_device(est, X, y, sample_weight)
    host_classes = to_host(classes)
    check_class_mass(host_classes, to_host(sw @ onehot))
    penalty = penalty_args(est)
    objective = est._objective(design, classes, codes, Y, sw, **penalty)
    monitor = None
    if penalty["penalty"] is None and Y is None:
        monitor = DeviceSeparationMonitor(objective, codes, onehot)
    with fitted_arrays_on_host(est, design):
        result = est._solve(objective, est._warm_params(objective, host_classes),
                            _combine(est.callback, monitor))
        if monitor is not None and monitor.separating_params is not None:
            objective, result = est._fit_separable(design, classes, codes, sw, monitor, result)
        est._store(objective, host_classes, result.params, result)
    _forget_feature_names(est)
    est._sgd_state = None
    _warn(est, objective, result)
    return est


def partial_fit_on_device(est, X, y, classes, sample_weight):
    """One SGD pass over the device batch ``(X, y)`` (``BaseCrossEntropyClassifier.partial_fit``
    on X's device: the batches are taken there, only their gradients reach the host)."""
    from softlogit.backends.xp.transfer import is_device_array, to_host

    est._check_partial_fit_args(y)
    fitted = hasattr(est, "classes_")
    previous = to_host(est.classes_) if fitted else None
    if classes is not None and is_device_array(classes):
        classes = to_host(classes)
    host_classes = check_partial_fit_classes(classes, previous)
    design, classes, codes, _, onehot, sw = prepare_on_device(
        est, X, y, sample_weight, fitted_classes=host_classes,
        n_features=est.n_features_in_ if fitted else None)
    sw_sum = float(to_host(design.xp.sum(sw)))
    with fitted_arrays_on_host(est, design):
        est._partial_fit_batch(
            host_classes, sw_sum, fitted,
            lambda **args: est._objective(design, classes, codes, None, sw, **args))
    _forget_feature_names(est)
    return est


def objective_for_on_device(est, X, y, sample_weight):
    """``est.objective_for`` on device arrays: the fitted objective on X's device (its
    ``pack``/``unpack`` take and give host NumPy arrays, as every objective's do)."""
    check_is_fitted(est)
    from softlogit.backends.xp.transfer import to_host

    design, classes, codes, Y, _, sw = prepare_on_device(
        est, X, y, sample_weight, fitted_classes=to_host(est.classes_),
        n_features=est.n_features_in_)
    return est._objective(design, classes, codes, Y, sw, **est._fitted_penalty())


def prepare_on_device(est, X, y, sample_weight, fitted_classes=None, n_features=None):
    """Check and encode ``(X, y, sample_weight)`` on X's device (``_prepare``'s twin).

    Returns ``(design, classes, codes, Y, onehot, sw)``: hard labels give ``codes`` (int64
    indices into the sorted ``classes``; with ``fitted_classes`` (host) given, labels outside
    them are refused) and ``Y = None``; soft targets give ``Y`` and ``codes = None``. ``onehot``
    is ``Y`` or the one-hot rows of ``codes``; ``sw`` already includes the class weights. All but
    ``design`` are arrays on X's device.
    """
    from softlogit.backends.xp.samples import _on_device, one_hot, place_weights
    from softlogit.backends.xp.transfer import to_device, to_host

    design = as_design(check_device_X(X, n_features))
    xp, m, dtype = design.xp, design.shape[0], design.X.dtype
    y = _on_device(design, y)
    if y.ndim == 0 or int(y.shape[0]) != m:
        raise ValueError(f"X has {m} rows but y has shape {tuple(y.shape)}")
    soft = y.ndim == 2 and int(y.shape[1]) >= 2
    if soft:
        Y = onehot = xp.astype(y, dtype)
        classes, codes = xp.arange(int(Y.shape[1]), device=design.device), None
    else:
        fitted = (None if fitted_classes is None
                  else to_device(xp, fitted_classes, design.device))
        classes, codes = _encode(xp, y, fitted)
        Y, onehot = None, one_hot(xp, codes, int(classes.shape[0]), dtype)
    sw = place_weights(design, sample_weight, m)
    if est.class_weight is not None:
        totals = to_host(xp.sum(onehot, axis=0))
        w = class_weights(est.class_weight, to_host(classes), totals, soft=soft)
        sw = sw * (onehot @ design.put(w))
    return design, classes, codes, Y, onehot, sw


def device_objective(est, design, classes, codes, Y, sw, **penalty):
    """``BaseCrossEntropyClassifier._objective`` for a design with ``samples_on_device``."""
    xp = design.xp
    K = int(classes.shape[0])
    binary = K == 2 and not est._always_softmax
    targets = Y if Y is not None else (xp.astype(codes, design.X.dtype) if binary else codes)
    return LinearObjective(design, targets, loss="binary" if binary else "multinomial",
                           n_classes=K, fit_intercept=est.fit_intercept, sample_weight=sw,
                           **penalty)


def _forget_feature_names(est):
    if hasattr(est, "feature_names_in_"):  # device arrays have no column names
        del est.feature_names_in_
    est.n_features_in_ = int(est.coef_.shape[1])


def _encode(xp, y, fitted=None):
    """Sorted classes and each label's index, on the device (scikit-learn's LabelEncoder rule:
    float labels must be whole numbers). With ``fitted`` classes (a device array), labels
    outside them are refused, naming them."""
    from softlogit.backends.xp.samples import _count
    from softlogit.backends.xp.transfer import to_host

    if y.ndim != 1:
        raise ValueError(f"y must have shape (m,) or (m, K); got shape {tuple(y.shape)}")
    if xp.isdtype(y.dtype, "real floating"):
        if _count(xp, ~xp.isfinite(y)):
            raise ValueError("Input y contains NaN or infinite values")
        if _count(xp, y != xp.round(y)):
            raise ValueError("Unknown label type: continuous. A classifier needs discrete "
                             "class labels; y holds non-integer values")
    elif not xp.isdtype(y.dtype, ("integral", "bool")):
        raise ValueError(f"y must hold numeric class labels; got dtype {y.dtype}")
    if fitted is None:
        classes, codes = xp.unique_inverse(y)
        return classes, xp.astype(codes, xp.int64)
    common = xp.result_type(y.dtype, fitted.dtype)
    y, fitted = xp.astype(y, common), xp.astype(fitted, common)
    K = int(fitted.shape[0])
    codes = xp.clip(xp.astype(xp.searchsorted(fitted, y), xp.int64), 0, K - 1)
    if _count(xp, xp.take(fitted, codes, axis=0) != y):
        labels = to_host(xp.unique_values(y))  # only on this error path: the distinct labels
        known = to_host(fitted)
        unseen = [v for v in labels.tolist() if v not in set(known.tolist())]
        shown = ", ".join(repr(v) for v in unseen[:5])
        raise ValueError(f"y contains {len(unseen)} label(s) not in classes="
                         f"{known.tolist()!r}: {shown}")
    return fitted, codes


class DeviceSeparationMonitor:
    """Stops the solver once the coefficients classify every sample of positive weight strictly
    correctly (the device twin of :class:`~softlogit.estimators.diagnostics.SeparationMonitor`:
    one pass over X per check, only a count reaches the host)."""

    def __init__(self, objective, codes, onehot):
        self.objective, self.codes, self.onehot = objective, codes, onehot
        self.active = objective.sample_weight > 0
        self.separating_params = None

    def separates(self, params) -> bool:
        from softlogit.backends.xp.samples import _count

        design, obj = self.objective.design, self.objective
        xp = design.xp
        W, b = obj.unpack(params)
        Z = design.dot(W)
        if b is not None:
            Z = Z + design.put(b)[None, :]
        if Z.shape[1] == 1:
            margin = xp.where(self.codes == 1, Z[:, 0], -Z[:, 0])
        else:
            hot = self.onehot > 0
            own = xp.sum(xp.where(hot, Z, xp.zeros_like(Z)), axis=1)
            others = xp.max(xp.where(hot, xp.full_like(Z, -xp.inf), Z), axis=1)
            margin = own - others
        return _count(xp, self.active & ~(margin > 0)) == 0

    def __call__(self, state) -> bool:
        import numpy as np

        if self.separates(state.params):
            self.separating_params = np.array(state.params)
            return True
        return False


def _warn(est, objective, result):
    from softlogit.backends.xp.transfer import to_host

    if result.info.get("separable"):
        W, _ = objective.unpack(result.params)
        # alone=[]: the per-feature "separates on its own" test reads X on the host; skipped.
        msg = separation_message(None, None, None, W, objective.design, None,
                                 to_host(est.classes_), result.info["separation_C"], alone=[])
        warnings.warn(msg, SeparationWarning, stacklevel=4)
    if not result.converged and "stopped by callback" not in result.reason:
        warnings.warn(convergence_message(result, objective, None, est.max_iter),
                      ConvergenceWarning, stacklevel=4)
