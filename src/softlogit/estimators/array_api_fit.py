"""``fit`` on array-API input: the steps of ``BaseCrossEntropyClassifier.fit`` with X, y and the
weights kept on X's device (see :mod:`softlogit.estimators.array_api` for the rules).

Labels are encoded on the device (``unique_inverse``); class weights, the two-class check and
the separation test use per-class or per-sample reductions there, and only K-sized results
reach the host.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from softlogit.data import as_design
from softlogit.estimators.array_api import check_device_X, class_weight_vector
from softlogit.estimators.diagnostics import convergence_message, separation_message
from softlogit.estimators.labels import check_class_mass
from softlogit.estimators.validation import check_params, penalty_args
from softlogit.estimators.warnings import ConvergenceWarning, SeparationWarning
from softlogit.objective import LinearObjective
from softlogit.solvers import solve


def fit_on_device(est, X, y, sample_weight):
    """Fit ``est`` on the device arrays ``(X, y, sample_weight)``; returns ``est``."""
    from softlogit.backends.xp.samples import _on_device, one_hot, place_weights
    from softlogit.backends.xp.transfer import to_host
    from softlogit.estimators.base import (
        SEPARATION_C, SEPARATION_MAX_ITER, SEPARATION_TOL, _combine,
    )

    check_params(est)
    if est.solver == "sgd":
        raise ValueError("solver='sgd' samples rows on the host and does not take array-API "
                         "input; use 'auto', 'lbfgs', 'newton' or pass NumPy arrays")
    design = as_design(check_device_X(X))
    xp, m = design.xp, design.shape[0]
    y = _on_device(design, y)
    if y.ndim == 0 or int(y.shape[0]) != m:
        raise ValueError(f"X has {m} rows but y has shape {tuple(y.shape)}")
    soft = y.ndim == 2 and int(y.shape[1]) >= 2
    if soft:
        Y = xp.astype(y, design.X.dtype)
        K = int(Y.shape[1])
        classes = xp.arange(K, device=design.device)
        codes, onehot = None, Y
    else:
        classes, codes = _encode(xp, y)
        K = int(classes.shape[0])
        Y, onehot = None, one_hot(xp, codes, K, design.X.dtype)
    sw = place_weights(design, sample_weight, m)
    if est.class_weight is not None:
        totals = to_host(xp.sum(onehot, axis=0))
        w = class_weight_vector(est.class_weight, to_host(classes), totals, soft)
        sw = sw * (onehot @ design.put(w))
    check_class_mass(to_host(classes), to_host(sw @ onehot))

    penalty = penalty_args(est)
    objective = _objective(est, design, K, codes, Y, sw, **penalty)
    monitor = None
    if penalty["penalty"] is None and Y is None:
        monitor = DeviceSeparationMonitor(objective, codes, onehot)
    result = est._solve(objective, _warm_params(est, objective, classes), _combine(est.callback,
                                                                                  monitor))
    if monitor is not None and monitor.separating_params is not None:
        stopped = result
        objective = _objective(est, design, K, codes, None, sw, penalty="l2", C=SEPARATION_C,
                               l1_ratio=None)
        result = solve(objective, "newton", monitor.separating_params, tol=SEPARATION_TOL,
                       max_iter=max(int(est.max_iter), SEPARATION_MAX_ITER),
                       callback=est.callback, verbose=est.verbose)
        reason = (f"the training data are perfectly separable: refitted with penalty='l2', "
                  f"C={SEPARATION_C:g} ({result.reason})")
        info = dict(result.info, separable=True, separation_C=SEPARATION_C,
                    separated_at_iteration=stopped.n_iter, separation_solver=stopped.solver)
        result = dataclasses.replace(result, n_iter=stopped.n_iter + result.n_iter,
                                     reason=reason, info=info)

    W, b = objective.unpack(np.asarray(result.params))
    est.classes_ = classes
    est.coef_ = design.put(W)
    est.intercept_ = design.put(b if b is not None else np.zeros(objective.n_logits))
    # Every fitted array in X's namespace, as scikit-learn's array-API checks require.
    est.n_iter_ = xp.asarray([result.n_iter], dtype=xp.int32, device=design.device)
    est.n_features_in_ = design.shape[1]
    if hasattr(est, "feature_names_in_"):
        del est.feature_names_in_
    est.fit_report_ = result
    est._sgd_state = None
    _warn(est, objective, result)
    return est


def _encode(xp, y):
    """Sorted classes and each label's index, on the device (scikit-learn's LabelEncoder rule:
    float labels must be whole numbers)."""
    from softlogit.backends.xp.samples import _count

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
    classes, codes = xp.unique_inverse(y)
    return classes, xp.astype(codes, xp.int64)


def _objective(est, design, K, codes, Y, sw, **penalty):
    xp = design.xp
    binary = K == 2 and not est._always_softmax
    targets = Y if Y is not None else (xp.astype(codes, design.X.dtype) if binary else codes)
    return LinearObjective(design, targets, loss="binary" if binary else "multinomial",
                           n_classes=K, fit_intercept=est.fit_intercept, sample_weight=sw,
                           **penalty)


def _warm_params(est, objective, classes):
    from softlogit.backends.xp.transfer import to_host

    if not est.warm_start or not hasattr(est, "coef_"):
        return None
    coef = to_host(est.coef_)
    if coef.shape != (objective.n_logits, objective.n_features):
        return None
    if not np.array_equal(to_host(est.classes_), to_host(classes)):
        return None
    b = to_host(est.intercept_).astype(np.float64) if est.fit_intercept else None
    return objective.pack(coef.astype(np.float64), b)


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
