"""The estimators on dask input: what ``fit``, ``partial_fit``, ``predict*``,
``decision_function`` and ``score`` do when X is a dask array or DataFrame.

``fit`` follows :meth:`BaseCrossEntropyClassifier.fit` step by step — validate, encode labels
and weights, build the objective, solve, refit separable data, store, warn — with the data
placed once as row chunks on the workers (:class:`DaskDesign`) and the solver on the client.
Without a ``distributed.Client`` the same runs with Dask's default scheduler in this process.

``predict*`` and ``decision_function`` return lazy dask arrays: each row block is predicted by
the estimator's own NumPy method (so the predictions equal an in-memory ``predict`` exactly).
``score`` computes the (weighted) accuracy in one distributed pass. ``partial_fit`` makes one
SGD ``partial_fit`` call per row block, in order, fetching one block at a time.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from softlogit.backends.dask import inputs, sampled_newton
from softlogit.backends.dask.chunk import ChunkSpec
from softlogit.backends.dask.design import DaskDesign
from softlogit.backends.dask.executor import executor_for
from softlogit.backends.dask.objective import DaskObjective, DaskSeparationMonitor
from softlogit.estimators.diagnostics import convergence_message, feature_label
from softlogit.estimators.labels import check_two_weighted_classes, is_soft_target
from softlogit.estimators.validation import check_params, penalty_args
from softlogit.estimators.warnings import ConvergenceWarning, SeparationWarning
from softlogit.solvers import solve


def dispatch(est, method: str, X, *args, **kwargs):
    """Run ``est.<method>`` on dask input (called by the estimators for dask X)."""
    return _METHODS[method](est, X, *args, **kwargs)


# --- fit -----------------------------------------------------------------------------------------


@dataclasses.dataclass
class DaskFitData:
    design: DaskDesign
    classes: np.ndarray
    binary: bool
    hard: bool
    sw_sum: float
    mass: np.ndarray


def prepare(est, X, y, sample_weight, client=None) -> DaskFitData:
    """Validate and place ``(X, y, sample_weight)`` for a fit of ``est`` (module docstring)."""
    names = inputs.feature_names(X)
    X = inputs.as_rows(X)
    y = inputs.aligned(y, X, "y")
    if y is None:
        raise ValueError("y is required for fit")
    s = inputs.aligned(sample_weight, X, "sample_weight")
    soft = is_soft_target(y)
    if soft:
        K = int(y.shape[1])
        classes = np.arange(K)
        totals = None
        if est.class_weight == "balanced":
            totals = np.asarray(y.sum(axis=0, dtype=np.float64).compute())
        cw = inputs.class_weights(est.class_weight, classes, totals=totals)
    else:
        classes, counts = inputs.find_labels(y)
        check_classification_targets(classes)
        K = len(classes)
        cw = inputs.class_weights(est.class_weight, classes, counts=counts)
    binary = K == 2 and not est._always_softmax and not soft
    spec = ChunkSpec(dtype=inputs.fit_dtype(X), n_features=int(X.shape[1]),
                     classes=None if soft else classes, n_classes=K, binary=binary,
                     class_weight=None if cw is None else np.asarray(cw, dtype=np.float64))
    if soft and K == 2 and not est._always_softmax:
        raise ValueError("soft targets with 2 columns need SoftmaxRegression on dask input")
    design = DaskDesign.build(executor_for(client), X, y, s, spec)
    rows, sw_sum, mass = design.summaries(K, hard=not soft)
    est.n_features_in_ = int(X.shape[1])
    if names is not None:
        est.feature_names_in_ = names
    elif hasattr(est, "feature_names_in_"):
        del est.feature_names_in_
    return DaskFitData(design, classes, binary, not soft, sw_sum, np.asarray(mass))


def fit(est, X, y, sample_weight=None, *, client=None):
    """``est.fit(X, y, sample_weight)`` on dask input (module docstring). Returns ``est``."""
    return fit_placed(est, X, y, sample_weight, client=client)[0]


def fit_placed(est, X, y, sample_weight=None, *, client=None):
    """:func:`fit`, returning ``(est, design)``: the placed chunks too, for work on the
    training rows after the fit without placing them again (the CLI's training metrics). The
    chunks are released on the workers once ``design`` is dropped."""
    from softlogit.estimators.base import (
        SEPARATION_C, SEPARATION_MAX_ITER, SEPARATION_TOL, _combine,
    )

    check_params(est)
    data = prepare(est, X, y, sample_weight, client)
    if data.sw_sum <= 0:
        raise ValueError("sample_weight sums to zero")
    check_two_weighted_classes(data.classes, data.mass, codes=np.arange(len(data.classes)))
    penalty = penalty_args(est)
    objective = DaskObjective(data.design, loss="binary" if data.binary else "multinomial",
                              n_classes=len(data.classes), fit_intercept=est.fit_intercept,
                              sw_sum=data.sw_sum, **penalty)
    monitor = DaskSeparationMonitor(objective) if penalty["penalty"] is None and data.hard \
        else None
    result = _solve(est, objective, est._warm_params(objective, data.classes),
                    _combine(est.callback, monitor))
    if monitor is not None and monitor.separating_params is not None:
        stopped = result
        objective = objective.with_penalty("l2", SEPARATION_C)
        result = solve(objective, "newton", monitor.separating_params, tol=SEPARATION_TOL,
                       max_iter=max(int(est.max_iter), SEPARATION_MAX_ITER),
                       callback=est.callback, verbose=est.verbose)
        reason = (f"the training data are perfectly separable: refitted with penalty='l2', "
                  f"C={SEPARATION_C:g} ({result.reason})")
        info = dict(result.info, separable=True, separation_C=SEPARATION_C,
                    separated_at_iteration=stopped.n_iter, separation_solver=stopped.solver)
        result = dataclasses.replace(result, n_iter=stopped.n_iter + result.n_iter,
                                     reason=reason, info=info)
    result.info["dask"] = dict(data.design.describe(), setup_passes=data.design.setup_passes)
    est._store(objective, data.classes, result.params, result)
    est._sgd_state = None
    _warn(est, objective, result, data)
    return est, data.design


#: ``q·(k+1)`` up to which a full Hessian costs a few gradients' arithmetic (see choose_solver).
CHEAP_HESSIAN = 32


def choose_solver(objective) -> tuple[str, dict, str]:
    """``solver="auto"`` on a cluster: ``(name, options, reason)``, the fewest rounds first.

    Every pass is a round trip to the workers. Smooth problems take sub-sampled Newton with
    one row sample kept on the client (:mod:`~softlogit.backends.dask.sampled_newton`: a
    round per iteration, robust to badly scaled columns like Newton) while its sample and
    Hessian fit there; else Newton (its inner solve — Cholesky on a cheap Hessian, else CG
    on one-pass Hessian-vector products — by the Newton solver's own flop rule). L1 terms
    follow the in-memory rule: proximal Newton while its full Hessian is cheap, else FISTA.
    (Forcing Cholesky-Newton on a cluster was tried: a softmax K = 5 fit on 1M × 50 took
    104 s against 23 s for Newton-CG, BENCHMARKS.md.)
    """
    from softlogit.solvers.auto import choose_solver as in_memory_choice

    if objective.penalty.l1:
        name, reason = in_memory_choice(objective)
        return name, {}, reason + " (the in-memory rule, on a Dask cluster)"
    if sampled_newton.fits_on_client(objective):
        return "subsampled-newton", {}, (
            f"{objective.n_params} parameters on a Dask cluster: sub-sampled Newton with one "
            "row sample on the client — one round per iteration (the fewest rounds)")
    from softlogit.solvers.newton import CHOLESKY_MAX_PARAMS, prefers_cholesky

    k, q = objective.n_logits, objective.n_features + objective.fit_intercept
    # A Hessian costs ~q(k+1)/4 gradients of arithmetic per row but one round of the workers:
    # worth it while that is a few gradients' work (q(k+1) ≤ CHEAP_HESSIAN) or tiny anyway.
    cheap = objective.n_params <= CHOLESKY_MAX_PARAMS and (
        q * (k + 1) <= CHEAP_HESSIAN or prefers_cholesky(objective))
    inner = "cholesky" if cheap else "cg"
    what = ("the exact Hessian, one round each" if cheap
            else "CG on one-pass Hessian-vector products")
    return "newton", {"inner": inner}, (
        f"{objective.n_params} parameters on a Dask cluster: Newton with {what} — the fewest "
        "passes (each is a round of the workers)")


def _solve(est, objective, params0, callback):
    if est.solver == "subsampled-newton":  # its Dask form: the sample drawn once
        return _run(objective, "subsampled-newton", params0, est, callback, {})
    if est.solver != "auto":
        return est._solve(objective, params0, callback)
    name, options, reason = choose_solver(objective)
    result = _run(objective, name, params0, est, callback, options)
    return dataclasses.replace(result, info=dict(result.info, auto_choice=name,
                                                 auto_reason=reason))


def _run(objective, name, params0, est, callback, options):
    kwargs = dict(tol=float(est.tol), max_iter=int(est.max_iter), callback=callback,
                  random_state=est.random_state, verbose=est.verbose, **options)
    if name == "subsampled-newton":
        return sampled_newton.sampled_newton(objective, params0, **kwargs)
    return solve(objective, name, params0, **kwargs)


def _warn(est, objective, result, data):
    names = getattr(est, "feature_names_in_", None)
    if result.info.get("separable"):
        warnings.warn(_separation_message(est, objective, data, names), SeparationWarning,
                      stacklevel=4)
    if not result.converged and "stopped by callback" not in result.reason:
        warnings.warn(convergence_message(result, objective, names, est.max_iter),
                      ConvergenceWarning, stacklevel=4)


def _separation_message(est, objective, data, names):
    """The in-memory separation warning; the per-feature test (a feature that separates the
    classes alone) runs on the workers: per-class column minima and maxima, one pass."""
    from softlogit.estimators.base import SEPARATION_C
    from softlogit.estimators.diagnostics import separation_message

    alone = []
    if len(data.classes) == 2:
        lo, hi = objective.design.class_min_max(2)
        alone = sorted([(int(j), 0) for j in np.flatnonzero(hi[0] < lo[1])]
                       + [(int(j), 1) for j in np.flatnonzero(hi[1] < lo[0])])
    return separation_message(None, None, None, est.coef_, objective.design, names,
                              data.classes, SEPARATION_C, alone=alone)


# --- prediction ----------------------------------------------------------------------------------


def _rows_for_predict(est, X):
    import dask.array as da

    check_is_fitted(est)
    names = getattr(est, "feature_names_in_", None)
    if inputs.is_dataframe(X):
        cols = list(X.columns)
        if names is not None and cols != list(names):
            raise ValueError(f"The feature names should match those that were passed during "
                             f"fit: got {cols[:5]!r}…, expected {list(names)[:5]!r}…")
        X = X.to_dask_array()
    elif not isinstance(X, da.Array):
        raise TypeError(f"X must be a dask array or DataFrame; got {type(X).__name__}")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-dimensional; got {X.ndim} dimensions")
    if X.shape[1] != est.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but {type(est).__name__} is expecting "
                         f"{est.n_features_in_} features as input")
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    return X


def _block_method(block, est, method):
    """``est.<method>(block)`` on one NumPy row block (named columns when fitted with names)."""
    block = np.asarray(block)
    if block.shape[0] == 0:
        K = len(est.classes_)
        if method == "predict":
            return np.empty(0, dtype=est.classes_.dtype)
        if method == "decision_function" and est.coef_.shape[0] <= 2:
            return np.empty(0)
        return np.empty((0, K if method != "decision_function" else est.coef_.shape[0]))
    names = getattr(est, "feature_names_in_", None)
    if names is not None:
        import pandas as pd

        block = pd.DataFrame(block, columns=names)
    return getattr(est, method)(block)  # NumPy input: the estimator's own method


def _lazy(est, X, method):
    X = _rows_for_predict(est, X)
    K = len(est.classes_)
    k = est.coef_.shape[0]
    one_column = method == "predict" or (method == "decision_function" and k <= 2)
    if one_column:
        dtype = est.classes_.dtype if method == "predict" else est.coef_.dtype
        return X.map_blocks(_block_method, est, method, drop_axis=1, dtype=dtype,
                            meta=np.empty(0, dtype=dtype))
    width = K if method != "decision_function" else k
    return X.map_blocks(_block_method, est, method, chunks=(X.chunks[0], (width,)),
                        dtype=np.float64 if method != "decision_function" else est.coef_.dtype,
                        meta=np.empty((0, width)))


def predict(est, X):
    return _lazy(est, X, "predict")


def predict_proba(est, X):
    return _lazy(est, X, "predict_proba")


def predict_log_proba(est, X):
    return _lazy(est, X, "predict_log_proba")


def decision_function(est, X):
    return _lazy(est, X, "decision_function")


def score(est, X, y, sample_weight=None):
    """Mean (weighted) accuracy, ``Σ sᵢ [ŷᵢ = yᵢ] / Σ sᵢ``, in one distributed pass."""
    import dask.array as da

    if inputs.is_dataframe(X):
        Xr = _rows_for_predict(est, X)
        if any(np.isnan(c) for c in Xr.chunks[0]):
            Xr = Xr.compute_chunk_sizes()
        X_rows = Xr
    else:
        X_rows = _rows_for_predict(est, X)
        if any(np.isnan(c) for c in X_rows.chunks[0]):
            X_rows = X_rows.compute_chunk_sizes()
    pred = _lazy(est, X_rows, "predict")
    y = inputs.aligned(y, X_rows, "y")
    hit = (pred == y).astype(np.float64)
    if sample_weight is None:
        return float(hit.mean().compute())
    s = inputs.aligned(sample_weight, X_rows, "sample_weight").astype(np.float64)
    num, den = da.compute((hit * s).sum(), s.sum())
    return float(num / den)


# --- partial_fit ---------------------------------------------------------------------------------


def partial_fit(est, X, y, classes=None, sample_weight=None):
    """One SGD ``partial_fit`` call per row block of X, in order (one block fetched at a time)."""
    import dask

    frame = inputs.is_dataframe(X)
    if frame:
        n = X.npartitions
        blocks = [X.partitions[i] for i in range(n)]
        rows = inputs.as_rows(X)
    else:
        rows = inputs.as_rows(X)
        blocks = [rows.blocks[i] for i in range(rows.numblocks[0])]
    yd = inputs.aligned(y, rows, "y")
    sd = inputs.aligned(sample_weight, rows, "sample_weight")
    first = True
    for i, Xb in enumerate(blocks):
        parts = dask.compute(Xb, yd.blocks[i], None if sd is None else sd.blocks[i])
        Xc, yc, sc = parts
        if len(yc) == 0:
            continue
        est.partial_fit(Xc, np.asarray(yc), classes=classes if first else None,
               sample_weight=None if sc is None else np.asarray(sc))
        first = False
    return est


_METHODS = {
    "fit": fit, "partial_fit": partial_fit, "predict": predict, "predict_proba": predict_proba,
    "predict_log_proba": predict_log_proba, "decision_function": decision_function,
    "score": score,
}
