"""``est.inference(X, y, ...)`` on dask input: :mod:`softlogit.inference` with the sums over
rows done on the workers.

Every data-dependent quantity of inference is a sum over rows (the conventions of
:mod:`softlogit.inference.model`): the information ``I = Σᵢ sᵢ Wᵢ ⊗ x̃ᵢx̃ᵢᵀ``, the sandwich meat
``M = Σᵢ sᵢ (řᵢ ⊗ x̃ᵢ)(řᵢ ⊗ x̃ᵢ)ᵀ``, the log-likelihood ``Σᵢ sᵢ log oᵢ,cᵢ`` and the class masses of
the null model. So X, y and the weights are placed as the fit places them (one chunk per row
block, on the workers), and each chunk computes its share with the in-memory
:class:`~softlogit.inference.model.LogitModel` of its own rows — the same code, so the same
formulas — summed in chunk order on the client. Only (n_params × n_params) matrices and a few
numbers reach the client; the algebra after the sums (the L2 bread, Cholesky inverse,
contrasts) is :mod:`softlogit.inference.fitted`'s own.

Rounds of the workers: one for ``nonrobust``, ``HC0`` and ``HC1`` (the information, the
log-likelihood and the meat together), two for ``HC2``/``HC3`` (the leverages need the inverse
bread first). Not on dask input, each for a reason: ``cov_type="cluster"`` (the score sums of
every cluster would reach the client), Firth fits (the null model is a Firth refit), the
separation LP and profile intervals (they solve problems over all rows at once), and marginal
effects (they need X in memory).
"""

from __future__ import annotations

import numpy as np

from softlogit.backends.dask import inputs
from softlogit.backends.dask.chunk import ChunkSpec, _single_thread
from softlogit.backends.dask.design import DaskDesign
from softlogit.backends.dask.executor import executor_for


class DaskModelShape:
    """The sizes and layout of the logit model (what the inference helpers and the result
    read of a :class:`~softlogit.inference.model.LogitModel`), without its rows."""

    def __init__(self, m, p, K, free, fit_intercept, nobs):
        self.m, self.p, self.K = int(m), int(p), int(K)
        self.free = tuple(int(k) for k in free)
        self.L = len(self.free)
        self.fit_intercept = bool(fit_intercept)
        self.q = self.p + int(self.fit_intercept)
        self.n_params = self.L * self.q
        self.nobs = float(nobs)

    def with_free(self, free) -> "DaskModelShape":
        return DaskModelShape(self.m, self.p, self.K, free, self.fit_intercept, self.nobs)

    @property
    def X(self):
        raise TypeError("this inference result was computed on dask input: X stays on the "
                        "workers, so marginal effects and predictions from the result are not "
                        "available; compute them on an in-memory sample")


# --- on a worker: one chunk's share -----------------------------------------------------------


def _chunk_model(chunk, K, free, fit_intercept):
    from softlogit.inference.model import LogitModel

    return LogitModel(chunk.X, chunk.y, chunk.s, K, free, fit_intercept)


def _first_pass(chunk, K, free, fit_intercept, beta, meat):
    """``(I, Σ sᵢ log oᵢ,cᵢ, class masses (K,), M or None)`` of the chunk at ``beta`` (the
    fit's parameters); ``meat``: also the HC0/HC1 meat ``Σ sᵢ (rᵢrᵢᵀ) ⊗ x̃ᵢx̃ᵢᵀ``."""
    _single_thread()
    n = len(free) * (chunk.X.shape[1] + int(fit_intercept))
    if chunk.n_rows == 0:
        return np.zeros((n, n)), 0.0, np.zeros(K), (np.zeros((n, n)) if meat else None)
    model = _chunk_model(chunk, K, free, fit_intercept)
    Z = model.logits(beta)
    O = model.probs(Z)
    mass = np.bincount(model.codes, weights=model.s, minlength=K)
    M = _meat(model, model.residuals(O)) if meat else None
    return model.information(O), model.loglik(Z), mass, M


def _meat(model, R):
    return model.block_matrix(R[:, :, None] * R[:, None, :] * model.s[:, None, None])


def _leverage_meat(chunk, K, free, fit_intercept, beta, bread_inv, power):
    """The HC2 (``power`` ½) or HC3 (1) meat of the chunk: leverage-adjusted residuals
    (:func:`softlogit.inference.covariance._leverage_adjusted`, per row)."""
    from softlogit.inference.covariance import _leverage_adjusted

    _single_thread()
    n = bread_inv.shape[0]
    if chunk.n_rows == 0:
        return np.zeros((n, n))
    model = _chunk_model(chunk, K, free, fit_intercept)
    O = model.probs(model.logits(beta))
    R = _leverage_adjusted(model, O, model.residuals(O), bread_inv, power)
    return _meat(model, R)


# --- on the client ----------------------------------------------------------------------------


def _place(est, X, y, sample_weight):
    """The rows as chunks on the workers, targets as indices into ``est.classes_``, class
    weights folded into the sample weights (as ``est._prepare`` does in memory)."""
    from softlogit.estimators.labels import is_soft_target

    X = inputs.as_rows(X)
    if X.shape[1] != est.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but {type(est).__name__} was fitted "
                         f"with {est.n_features_in_}")
    y = inputs.aligned(y, X, "y")
    if y is None:
        raise ValueError("inference needs y")
    if is_soft_target(y):
        raise ValueError("inference needs class labels, not soft (probability) targets")
    s = inputs.aligned(sample_weight, X, "sample_weight")
    classes = np.asarray(est.classes_)
    cw = None
    if est.class_weight is not None:
        counts = None
        if est.class_weight == "balanced":
            found, n = inputs.find_labels(y)
            counts = np.zeros(len(classes), np.int64)
            counts[np.searchsorted(classes, found)] = n
        cw = np.asarray(inputs.class_weights(est.class_weight, classes, counts=counts),
                        dtype=np.float64)
    spec = ChunkSpec(dtype=np.dtype(np.float64), n_features=int(X.shape[1]), classes=classes,
                     n_classes=len(classes), binary=False, class_weight=cw)
    return DaskDesign.build(executor_for(), X, y, s, spec)


def inference_for(est, X, y, *, cov_type="nonrobust", groups=None, sample_weight=None,
                  reference=None, feature_names=None):
    """:func:`softlogit.inference.fitted.inference_for` for dask ``X`` (module docstring)."""
    from softlogit.inference import fitted
    from softlogit.inference.covariance import check_cov_type
    from softlogit.inference.results import InferenceResult

    if cov_type == "cluster":
        raise ValueError("cov_type='cluster' is not available on dask input: the score sums "
                         "of every cluster would be gathered; use HC0-HC3, or an in-memory "
                         "sample")
    check_cov_type(cov_type, groups, 0)
    penalty = fitted._penalty_kind(est)
    if penalty == "firth":
        raise ValueError("inference for penalty='firth' is not available on dask input (its "
                         "null model is a Firth refit over all rows); use in-memory data")
    design = _place(est, X, y, sample_weight)
    classes = np.asarray(est.classes_)
    K = len(classes)
    ref = fitted._reference_index(classes, reference)
    free = tuple(k for k in range(K) if k != ref)
    _, sw_sum, _ = design.summaries(K, hard=True)
    model = DaskModelShape(design.shape[0], design.shape[1], K, free, est.fit_intercept, sw_sum)
    beta_fit, A = fitted._contrasts(est, ref, model)
    names = fitted._names(est, classes, ref, model, feature_names)
    notes = ["separation not checked (dask input)"] if penalty is None else []
    if penalty == "separable":
        notes.append("the fit found the data separable (refitted with a small L2 penalty)")
    fit_model, C = fitted.fit_space(est, penalty, A, model)
    args = (K, fit_model.free, est.fit_intercept, np.asarray(beta_fit, dtype=np.float64))
    ex = design.executor
    # One round: information, log-likelihood, class masses (and the HC0/HC1 meat).
    design.count_pass(3 if cov_type in ("HC0", "HC1") else 2)
    info, llf, mass, meat = ex.reduce_sum(design._map(
        _first_pass, reduce=True, K=K, free=fit_model.free, fit_intercept=est.fit_intercept, beta=args[3],
        meat=cov_type in ("HC0", "HC1")))
    info = fitted.penalized_information(info, fit_model, A, C, notes, stacklevel=5)
    bread_inv = fitted._inverse(info, model)
    if cov_type in ("HC2", "HC3"):
        design.count_pass(3)  # the logits, the leverages, the meat
        meat = ex.reduce_sum(design._map(
            _leverage_meat, reduce=True, K=K, free=fit_model.free, fit_intercept=est.fit_intercept,
            beta=args[3], bread_inv=bread_inv, power=0.5 if cov_type == "HC2" else 1.0))
    if cov_type == "nonrobust":
        cov = bread_inv
    else:
        cov = bread_inv @ meat @ bread_inv
        if cov_type == "HC1":
            cov *= fit_model.nobs / (fit_model.nobs - fit_model.n_params)
        notes.append(fitted._cov_note(cov_type, None))
    beta = A @ beta_fit if A is not None else beta_fit
    if A is not None:
        cov = A @ cov @ A.T
    nz = mass > 0
    llnull = (float(np.sum(mass[nz] * np.log(mass[nz] / sw_sum))) if est.fit_intercept
              else -sw_sum * float(np.log(K)))  # LogitModel.null_loglik, from the masses
    notes.append(f"computed on dask input: {design.n_chunks} chunks, {design.rounds} rounds")
    return InferenceResult(params=beta, cov=cov, names=names, llf=float(llf), llnull=llnull,
                           model=model, cov_type=cov_type, classes=classes,
                           reference=classes[ref],
                           penalty=None if penalty == "separable" else penalty,
                           profile=None, separation=None, notes=notes)
