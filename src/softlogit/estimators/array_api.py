"""The estimators on array-API input (PyTorch, CuPy, JAX, array-api-strict …), fitted on X's device.

When. As scikit-learn decides: inside ``sklearn.config_context(array_api_dispatch=True)`` (which
scikit-learn allows only with ``SCIPY_ARRAY_API=1`` set before SciPy is imported), an array-API
array that NumPy does not own is fitted and predicted where it lives. Outside it, such arrays are
converted to NumPy as scikit-learn converts them (a CPU tensor works as before); an array NumPy
cannot read (a CUDA tensor, array-api-strict's non-CPU devices) is refused before any conversion
with a sentence naming the switch. The same user code thus behaves alike with
``sklearn.linear_model.LogisticRegression`` and with softlogit's estimators.

What lives where. X, y, the sample weights and every m-sized quantity stay on X's device
(:mod:`softlogit.backends.xp`); the solvers run on the host on k·p-sized vectors. Fitted
``classes_``, ``coef_``, ``intercept_`` and ``n_iter_`` are arrays of X's namespace on X's
device (scikit-learn's array-API checks ask that every fitted array be in X's namespace), the
coefficients in X's dtype: float32 stays float32 and the fit reaches the float32 optimum (many
GPUs run float64 at a small fraction of their float32 speed, so prefer float32 data there).
``predict``, ``predict_proba``, ``predict_log_proba`` and ``decision_function`` return arrays of
X's namespace on its device; ``score`` is scikit-learn's accuracy on them. ``fit_report_``
stays a host object.

On device input: ``fit`` with every solver but ``"subsampled-newton"`` (which draws its
Hessian rows from host arrays) and every penalty but ``"firth"``; binary and softmax models;
hard labels or soft (probability-row) targets; sample and class weights; ``warm_start``;
``partial_fit`` (the SGD batches are taken on the device); ``objective_for`` (an objective on
X's device). Refused in one sentence: ``penalty="firth"`` and ``inference`` on device X (both
read X on the host); ``inference`` on host X of a model fitted on the device works.
"""

from __future__ import annotations

import contextlib

import numpy as np
import scipy.sparse as sp
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

#: Libraries whose arrays are array-API input (named without importing them).
_LIBRARIES = ("torch", "cupy", "jax", "jaxlib", "array_api_strict")
#: Libraries with paths of their own (NumPy/SciPy here, Dask in its backend).
_NOT_HERE = ("numpy", "scipy", "pandas", "dask", "polars", "pyarrow")


def _candidate(X) -> bool:
    """An array-API array NumPy does not own, told without importing array-api-compat."""
    if X is None or isinstance(X, np.ndarray) or sp.issparse(X):
        return False
    root = type(X).__module__.split(".")[0]
    if root in _NOT_HERE:
        return False
    return root in _LIBRARIES or hasattr(X, "__array_namespace__")


def dispatches(X) -> bool:
    """True when ``X`` is fitted on its own device (module docstring); False for the NumPy path.

    Raises ``TypeError`` for an array NumPy cannot read while dispatch is off.
    """
    if not _candidate(X):
        return False
    from sklearn import get_config

    if get_config().get("array_api_dispatch", False):
        try:
            from softlogit.backends.xp.transfer import is_device_array
        except ModuleNotFoundError as exc:
            if exc.name != "array_api_compat":
                raise
            raise ImportError("fitting array-API input on its device needs array-api-compat: "
                              "pip install 'softlogit[gpu]'") from exc
        return is_device_array(X)
    try:
        np.asarray(X[:1, ...] if getattr(X, "ndim", 0) else X)
    except (IndexError, ValueError):
        return False  # not an array NumPy's path refuses for its device: let it say what is wrong
    except Exception as exc:  # each library raises its own type for a device it cannot copy
        raise TypeError(
            f"X is a {type(X).__module__.split('.')[0]} array on device "
            f"{getattr(X, 'device', '?')}, which NumPy cannot read: fit it where it lives inside "
            "sklearn.config_context(array_api_dispatch=True) (set SCIPY_ARRAY_API=1 before "
            "importing SciPy), or move it to the host first") from exc
    return False


def _routes(est, X, method) -> bool:
    """Whether ``method`` takes the device path for X (:func:`dispatches`), after refusing X
    of another namespace or device than a fitted model's (:func:`_check_same_namespace`)."""
    routed = dispatches(X)
    if hasattr(est, "coef_"):
        _check_same_namespace(est, X, method, routed)
    return routed


def _check_same_namespace(est, X, method, routed):
    """Refuse X of another namespace or device than the fit's (scikit-learn's rule and words:
    a fitted model is moved explicitly, e.g. by scikit-learn's ``move_estimator_to``). Without
    dispatch (``routed`` False) a NumPy-fitted model converts X to NumPy, as before."""
    coef = getattr(est, "coef_", None)
    fitted = _candidate(coef)
    given = _candidate(X) and routed
    if not fitted and not given:
        return
    if fitted and given:
        from softlogit.backends.xp.transfer import device, namespace
        if namespace(coef) is namespace(X) and device(coef) == device(X):
            return
        what = (f"Arrays used during fit ({_library(coef)} on {device(coef)}) and {method} "
                f"({_library(X)} on {device(X)}) differ.")
    else:
        what = (f"Array namespace used during fit ({_library(coef) if fitted else 'numpy'}) "
                f"differs from the one of X passed to {method} "
                f"({_library(X) if given else type(X).__name__}).")
    raise ValueError(
        f"Inputs passed to {type(est).__name__}.{method}() must use the same namespace and the "
        f"same device as those passed to fit(). {what} Move X, or the fitted attributes, first.")


def _library(a) -> str:
    return type(a).__module__.split(".")[0]


def _smooth_penalty(est):
    from softlogit.estimators.base import _smooth_penalty as check
    return check(est)


class ArrayAPIDispatchMixin:
    """Routes array-API input to the device path (module docstring); list it first in the bases."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        return tags

    def fit(self, X, y, sample_weight=None):
        if dispatches(X):
            from softlogit.estimators.array_api_fit import fit_on_device
            return fit_on_device(self, X, y, sample_weight)
        return super().fit(X, y, sample_weight)

    @available_if(_smooth_penalty)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        if _routes(self, X, "partial_fit"):
            from softlogit.estimators.array_api_fit import partial_fit_on_device
            return partial_fit_on_device(self, X, y, classes, sample_weight)
        return super().partial_fit(X, y, classes=classes, sample_weight=sample_weight)

    def objective_for(self, X, y, sample_weight=None):
        if _routes(self, X, "objective_for"):
            from softlogit.estimators.array_api_fit import objective_for_on_device
            return objective_for_on_device(self, X, y, sample_weight)
        return super().objective_for(X, y, sample_weight)

    def inference(self, X, y, **options):
        if dispatches(X):
            raise ValueError("inference reads X on the host (leverages, the separation LP, "
                             "profile likelihoods) and does not take array-API input; pass "
                             "host NumPy copies of X and y (a model fitted on the device is "
                             "read from there)")
        with fitted_arrays_on_host(self):
            return super().inference(X, y, **options)

    def _objective(self, X, classes, codes, Y, sw, **penalty):
        if getattr(X, "samples_on_device", False):  # a device design (array_api_fit)
            from softlogit.estimators.array_api_fit import device_objective
            return device_objective(self, X, classes, codes, Y, sw, **penalty)
        return super()._objective(X, classes, codes, Y, sw, **penalty)

    def decision_function(self, X):
        if not _routes(self, X, "decision_function"):
            return super().decision_function(X)
        Z = _device_logits(self, X)
        if Z.shape[1] == 1:
            return Z[:, 0]
        if Z.shape[1] == 2:  # softmax with K = 2: only the difference of the logits matters
            return Z[:, 1] - Z[:, 0]
        return Z

    def predict_proba(self, X):
        if not _routes(self, X, "predict_proba"):
            return super().predict_proba(X)
        from softlogit.backends.xp import losses as L
        Z = _device_logits(self, X)
        xp = _xp(Z)
        if Z.shape[1] == 1:  # both columns from the logit: 1 − σ(z) would round σ(−z) to 0
            return xp.stack([L.sigmoid(xp, -Z[:, 0]), L.sigmoid(xp, Z[:, 0])], axis=1)
        return L.softmax(xp, Z)

    def predict_log_proba(self, X):
        if not _routes(self, X, "predict_log_proba"):
            return super().predict_log_proba(X)
        from softlogit.backends.xp import losses as L
        Z = _device_logits(self, X)
        xp = _xp(Z)
        if Z.shape[1] == 1:
            return xp.stack([L.log_sigmoid(xp, -Z[:, 0]), L.log_sigmoid(xp, Z[:, 0])], axis=1)
        return L.log_softmax(xp, Z)

    def predict(self, X):
        if not _routes(self, X, "predict"):
            return super().predict(X)
        Z = _device_logits(self, X)
        xp = _xp(Z)
        index = (xp.astype(Z[:, 0] > 0, xp.int64) if Z.shape[1] == 1
                 else xp.argmax(Z, axis=1))
        return xp.take(self.classes_, index, axis=0)


#: The fitted arrays that live on X's device (``fit_report_`` and the SGD state stay host).
FITTED_ARRAYS = ("classes_", "coef_", "intercept_", "n_iter_")


@contextlib.contextmanager
def fitted_arrays_on_host(est, design=None):
    """Inside the block a device-fitted model's arrays are host NumPy copies (k·p values), for
    the host code that reads or writes them (the base class's solve and ``_store`` steps,
    :mod:`softlogit.inference`). At its end, error or not: with ``design`` (a fit), whatever
    arrays the block left move to that design's device, in X's namespace and, for the
    coefficients, X's dtype (scikit-learn's array-API checks require it); without (a reader),
    the device arrays are put back as they were."""
    from softlogit.backends.xp.transfer import to_device, to_host

    saved = {}
    for name in FITTED_ARRAYS:
        value = getattr(est, name, None)
        if _candidate(value):
            saved[name] = value
            setattr(est, name, to_host(value))
    before = {name: getattr(est, name, None) for name in FITTED_ARRAYS}
    try:
        yield
    finally:
        if design is None:
            for name, value in saved.items():
                setattr(est, name, value)
        else:
            for name in FITTED_ARRAYS:
                value = getattr(est, name, None)
                if value is None or not (name in saved or value is not before[name]):
                    continue  # a host model's arrays the block did not replace stay host
                setattr(est, name, design.put(value) if name in ("coef_", "intercept_")
                        else to_device(design.xp, value, design.device))


def _xp(a):
    from softlogit.backends.xp.transfer import namespace
    return namespace(a)


def check_device_X(X, n_features=None):
    """Validate X on its device: 2-D, ≥ 1 row and column, numeric, finite; float kept, else
    float64. ``n_features``: the fitted width to match (prediction)."""
    from softlogit.backends.xp.samples import _count

    xp = _xp(X)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-dimensional X (m, p); got {X.ndim} dimension(s)")
    m, p = (int(n) for n in X.shape)
    if m < 1 or p < 1:
        raise ValueError(f"X has shape ({m}, {p}): at least 1 sample and 1 feature are needed")
    if n_features is not None and p != n_features:
        raise ValueError(f"X has {p} features, but the model was fitted with {n_features} "
                         "features")
    if not xp.isdtype(X.dtype, "real floating"):
        if not xp.isdtype(X.dtype, ("integral", "bool")):
            raise ValueError(f"X must be numeric; got dtype {X.dtype}")
        X = xp.astype(X, xp.float64)
    bad = _count(xp, ~xp.isfinite(X))
    if bad:
        raise ValueError(f"Input X contains {bad} NaN or infinite values")
    return X


def _device_logits(est, X):
    """``X coef_ᵀ + intercept_`` (m, k) on X's device."""
    check_is_fitted(est)
    X = check_device_X(X, est.n_features_in_)
    return X @ est.coef_.T + est.intercept_[None, :]
