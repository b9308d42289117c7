"""The fit and predict machinery shared by :class:`LogisticRegression` and
:class:`SoftmaxRegression`.

The estimator layer only validates, encodes labels and weights, builds a
:class:`~softlogit.objective.LinearObjective` and hands it to :func:`softlogit.solvers.solve`;
the math lives below. Everything a fitted estimator needs to predict is in its public fitted
attributes (``classes_``, ``coef_``, ``intercept_``, ``n_features_in_`` and optionally
``feature_names_in_``): which model it is follows from ``coef_.shape[0]`` (1 logit: sigmoid;
K logits: softmax).
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from softlogit.estimators.diagnostics import (
    SeparationMonitor, convergence_message, separation_message,
)
from softlogit.estimators.labels import (
    check_partial_fit_classes, check_two_weighted_classes, class_weight_per_sample,
    encode_labels, is_soft_target,
)
from softlogit.estimators.validation import check_params, effective_penalty, penalty_args
from softlogit.estimators.warnings import ConvergenceWarning, SeparationWarning
from softlogit.losses import log_sigmoid, log_softmax, sigmoid, softmax
from softlogit.objective import LinearObjective
from softlogit.solvers import SolverResult, optimality_gradient, solve
from softlogit.solvers.sgd import sgd_partial_fit

#: The C of the L2 fit returned for separable data fitted with penalty=None.
SEPARATION_C = 1e4
#: The refit on separable data is solved by Newton to this tolerance (see _fit_separable).
SEPARATION_TOL = 1e-10
SEPARATION_MAX_ITER = 100

_X_CHECKS = {"accept_sparse": ("csr", "csc"), "dtype": (np.float64, np.float32)}
# fit and partial_fit leave X's NaN/inf check to the objective (one sum over X, which
# names the count of bad values): scikit-learn's check would be a second pass over X.
_FIT_X_CHECKS = dict(_X_CHECKS, ensure_all_finite=False)

PARAMETERS_DOC = """
    Parameters
    ----------
    penalty : {"l2", "l1", "elasticnet", "firth"} or None, default="l2"
        The penalty on the coefficients (never on the intercept), in scikit-learn's scaling:
        the objective is ``(1/Σs) Σ sᵢ ℓᵢ + (1−ρ)/(2 C Σs) ‖W‖² + ρ/(C Σs) ‖W‖₁`` with
        ``ρ = 0`` (l2), 1 (l1) or ``l1_ratio`` (elasticnet); None fits without a penalty.
        "firth" maximises ``ℓ + ½ log det I`` (Firth's bias reduction; finite on separated
        data; ``C`` unused), see :mod:`softlogit.inference.firth`.
    C : float, default=1.0
        Inverse regularisation strength (positive); smaller is stronger. ``np.inf`` means no
        penalty (scikit-learn ≥ 1.8's spelling of ``penalty=None``).
    l1_ratio : float in [0, 1] or None, default=None
        The elastic-net mixing ``ρ``. As in scikit-learn ≥ 1.8, ``l1_ratio`` alone (with the
        default ``penalty="l2"``) chooses the penalty: 0 is L2, 1 is L1, between them
        elastic-net. Ignored (with a warning) with ``penalty=None`` or ``"l1"``.
    fit_intercept : bool, default=True
        Whether to fit an (unpenalised) intercept per logit.
    solver : str, default="auto"
        A name from :func:`softlogit.solvers.available` ("auto", "lbfgs", "newton", "gd" …).
        "auto" picks one from the problem and records its choice in
        ``fit_report_.info["auto_choice"]``.
    tol : float, default=1e-5
        Stop when ``‖∇J(θ)‖ ≤ tol · ‖∇J(0)‖`` (the same rule for every solver). The default
        was chosen by measurement (``tests/solvers/measure_default_tol.py``): the largest tol
        at which the coefficients are at least as close to the exact optimum as
        scikit-learn's default ``LogisticRegression()`` on every problem of a parity suite
        (the bundled sets, statsmodels' spector and anes96 unscaled, penguins encoded).
    max_iter : int, default=100
        Most solver iterations (as scikit-learn's default for lbfgs; ample for the "auto"
        choices, Newton and L-BFGS; first-order solvers may need more).
    class_weight : dict, "balanced" or None, default=None
        Multiplies each sample's weight by its class's weight; "balanced" uses
        ``m / (K · m_k)``. With soft targets a sample gets ``Σ_k Y_ik w_k``.
    warm_start : bool, default=False
        Start ``fit`` from the current ``coef_`` / ``intercept_`` when their shapes match.
    random_state : int, RandomState or None, default=None
        Seed for the stochastic solvers (SGD, ``partial_fit``) and for the Hessian row samples
        of ``"subsampled-newton"`` (``None`` there means seed 0: a fit is reproducible, and
        its optimum does not depend on the seed).
    verbose : int, default=0
        Passed to the solver; > 0 prints progress.
    callback : callable or None, default=None
        Called after each iteration with an :class:`~softlogit.solvers.IterationState`;
        returning True stops the fit.

    Attributes
    ----------
    classes_ : ndarray of shape (K,)
        The class labels (sorted), or ``arange(K)`` after a fit on soft targets.
    coef_ : ndarray of shape (1, p) for the sigmoid model, (K, p) for the softmax model
        In the dtype of X (float32 stays float32).
    intercept_ : ndarray of shape (1,) or (K,)
        Zeros when ``fit_intercept=False``.
    n_iter_ : ndarray of shape (1,)
        Solver iterations (``partial_fit``: the number of calls).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (p,)
        Only when X has string column names.
    fit_report_ : SolverResult
        How the fit went: solver, iterations, convergence, objective and gradient histories.
"""


def _is_dask(X) -> bool:
    """A dask array or DataFrame (checked without importing dask: the core never does)."""
    return "dask" in sys.modules and hasattr(X, "__dask_graph__")


def _dask_aware(method):
    """Route dask input to :mod:`softlogit.backends.dask.estimator` before any validation
    converts it to NumPy (which would gather all of X into this process)."""
    @functools.wraps(method)
    def wrapper(self, X, *args, **kwargs):
        if _is_dask(X):
            from softlogit.backends.dask.estimator import dispatch
            return dispatch(self, method.__name__, X, *args, **kwargs)
        return method(self, X, *args, **kwargs)
    return wrapper


def _smooth_penalty(est) -> bool:
    """``partial_fit`` exists only for the penalties SGD handles ("l2" and None)."""
    if effective_penalty(est)[0] in ("l2", None):
        return True
    raise AttributeError(f"partial_fit (stochastic gradient) supports penalty='l2' or None, "
                         f"not penalty={est.penalty!r}; use fit")


class BaseCrossEntropyClassifier(ClassifierMixin, BaseEstimator):
    """A linear classifier fitted by minimising penalised cross-entropy (see subclasses)."""

    #: True: always the K-logit softmax model; False: the sigmoid model when K = 2.
    _always_softmax = False

    def __init__(self, penalty="l2", *, C=1.0, l1_ratio=None, fit_intercept=True,
                 solver="auto", tol=1e-5, max_iter=100, class_weight=None, warm_start=False,
                 random_state=None, verbose=0, callback=None):
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.callback = callback

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # --- fitting -------------------------------------------------------------------------------

    @_dask_aware
    def fit(self, X, y, sample_weight=None):
        """Fit the model to ``X`` (m, p) dense or sparse and ``y``.

        ``y`` is (m,) labels of any sortable type, or an (m, K) matrix of probability rows
        (soft targets; then ``classes_ = arange(K)``). ``sample_weight`` is (m,) non-negative.
        Returns ``self``.
        """
        check_params(self)
        if self.penalty == "firth":  # Firth's penalised likelihood: softlogit.inference.firth
            return self._fit_firth(X, y, sample_weight)
        X, classes, codes, Y, sw = self._prepare(X, y, sample_weight, fitted_classes=None)
        check_two_weighted_classes(classes, sw, codes=codes, Y=Y)
        penalty = penalty_args(self)
        objective = self._objective(X, classes, codes, Y, sw, **penalty)

        monitor = None
        if penalty["penalty"] is None and Y is None:  # separation is checked for hard labels
            monitor = SeparationMonitor(objective, codes)
        result = self._solve(objective, self._warm_params(objective, classes),
                             _combine(self.callback, monitor))
        if monitor is not None and monitor.separating_params is not None:
            objective, result = self._fit_separable(X, classes, codes, sw, monitor, result)
        self._store(objective, classes, result.params, result)
        self._sgd_state = None  # a later partial_fit starts its optimiser afresh
        self._warn(X, objective, result, codes)
        return self

    def _prepare(self, X, y, sample_weight, fitted_classes):
        """Validate ``(X, y, sample_weight)`` and encode the targets.

        Returns ``(X, classes, codes, Y, sw)``: hard labels give ``codes`` (indices into
        ``classes``; with ``fitted_classes`` given, labels outside them are refused) and
        ``Y = None``; soft targets give ``Y`` and ``codes = None``. ``sw`` already includes
        the class weights.
        """
        soft = is_soft_target(y)
        X, y = validate_data(self, X, y, reset=fitted_classes is None, multi_output=soft,
                             y_numeric=soft, **_FIT_X_CHECKS)
        if soft:
            classes, codes, Y = np.arange(y.shape[1]), None, y
        else:
            (classes, codes), Y = encode_labels(y, fitted_classes), None
        return X, classes, codes, Y, self._sample_weights(sample_weight, X, classes, codes, Y)

    def _sample_weights(self, sample_weight, X, classes, codes, Y=None):
        """The checked sample weights (X's dtype) times the class weights."""
        sw = _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)
        cw = class_weight_per_sample(self.class_weight, classes, codes=codes, Y=Y)
        return sw if cw is None else sw * cw.astype(sw.dtype)

    def objective_for(self, X, y, sample_weight=None):
        """The objective that the fitted coefficients minimise, on the data ``(X, y)``.

        The same loss, class weights, penalty and intercept as :meth:`fit` used (for
        separable data fitted with ``penalty=None``, the ``C = 1e4`` L2 refit), built on
        ``(X, y)`` with the fitted ``classes_``. ``objective.pack(coef_, intercept_)`` is the
        fitted point; on the training data its gradient is ≈ 0 there. For gradient checks
        (``softlogit gradcheck``) and for inspecting the fit.
        """
        check_is_fitted(self)
        X, classes, codes, Y, sw = self._prepare(X, y, sample_weight,
                                                 fitted_classes=self.classes_)
        return self._objective(X, self.classes_, codes, Y, sw, **self._fitted_penalty())

    def _fitted_penalty(self) -> dict:
        """The penalty arguments of the objective the fitted coefficients minimise."""
        if self.fit_report_.info.get("separable"):
            return {"penalty": "l2", "C": SEPARATION_C, "l1_ratio": None}
        return penalty_args(self)

    def _solve(self, objective, params0, callback):
        return solve(objective, self.solver, params0, tol=float(self.tol),
                     max_iter=int(self.max_iter), callback=callback,
                     random_state=self.random_state, verbose=self.verbose)

    def _fit_separable(self, X, classes, codes, sw, monitor, stopped):
        """Separable data without a penalty: refit with the tiny penalty ``C = SEPARATION_C``.

        The unpenalised fit has no minimiser; the L2 fit with a large C is the unique finite
        fit nearest to it, and its direction tends to the maximum-margin separator as C grows
        (Rosset, Zhu & Hastie 2004). That objective is very flat, so the user's ``tol``
        (relative to the gradient at zero) is met far from its minimiser, at a point that
        depends on the solver's path. The refit therefore always uses Newton's method at
        ``SEPARATION_TOL``: the returned coefficients are that unique minimiser, whatever
        ``solver`` was asked for.
        """
        objective = self._objective(X, classes, codes, None, sw, penalty="l2",
                                    C=SEPARATION_C, l1_ratio=None)
        result = solve(objective, "newton", monitor.separating_params, tol=SEPARATION_TOL,
                       max_iter=max(int(self.max_iter), SEPARATION_MAX_ITER),
                       callback=self.callback, verbose=self.verbose)
        reason = (f"the training data are perfectly separable: refitted with penalty='l2', "
                  f"C={SEPARATION_C:g} ({result.reason})")
        info = dict(result.info, separable=True, separation_C=SEPARATION_C,
                    separated_at_iteration=stopped.n_iter, separation_solver=stopped.solver)
        return objective, dataclasses.replace(result, n_iter=stopped.n_iter + result.n_iter,
                                              reason=reason, info=info)

    @available_if(_smooth_penalty)
    @_dask_aware
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One pass of stochastic gradient descent over the batch ``(X, y)``.

        Only with ``penalty="l2"`` or None (otherwise the method does not exist, as
        ``hasattr`` reports). ``classes`` (all labels the stream will hold) is required on
        the first call. The L2 strength follows the data seen so far, ``1 / (C · Σ s_seen)``
        (``Σ s_seen`` is kept in ``fit_report_.info["n_seen"]``), so a stream of batches
        targets the objective that a full-batch ``fit`` on all of them minimises. Hard labels
        only; ``class_weight="balanced"`` is refused (it needs the whole ``y``). Each call
        adds one to ``n_iter_``. Returns ``self``.
        """
        self._check_partial_fit_args(y)
        previous = getattr(self, "classes_", None)
        classes = check_partial_fit_classes(classes, previous)
        X, y = validate_data(self, X, y, reset=previous is None, **_FIT_X_CHECKS)
        classes, codes = encode_labels(y, classes)
        sw = self._sample_weights(sample_weight, X, classes, codes)
        return self._partial_fit_batch(
            classes, float(sw.sum(dtype=np.float64)), previous is not None,
            lambda **args: self._objective(X, classes, codes, None, sw, **args))

    def _check_partial_fit_args(self, y):
        check_params(self)
        if is_soft_target(y):
            raise ValueError("partial_fit takes class labels; fit soft targets with fit")
        if self.class_weight == "balanced":
            raise ValueError("class_weight='balanced' needs the whole y and is not supported "
                             "by partial_fit; pass a dict of class weights")

    def _partial_fit_batch(self, classes, sw_sum, fitted, make_objective):
        """The SGD pass of :meth:`partial_fit` on a batch of total weight ``sw_sum``, checked
        and encoded by the caller; ``make_objective(**penalty)`` builds the batch objective
        (wherever the batch lives), ``fitted`` tells whether earlier calls were made."""
        info = getattr(getattr(self, "fit_report_", None), "info", None) or {}
        seen_before = info.get("n_seen", 0.0) if fitted else 0.0
        n_seen = seen_before + sw_sum
        args = penalty_args(self)
        # C_batch · Σs_batch = C · n_seen gives the batch objective λ₂ = (1−ρ)/(C · n_seen).
        args["C"] = args["C"] * n_seen / sw_sum
        objective = make_objective(**args)
        params = (self._warm_params(objective, classes, always=True)
                  if fitted else objective.zeros())
        state = getattr(self, "_sgd_state", None)
        f0, g0 = objective.objective_value(params), _grad_norm(objective, params)
        params, state = sgd_partial_fit(objective, params, state,
                                        random_state=self.random_state)
        self._sgd_state = state  # optimiser moments: a rebuilt estimator restarts them
        f1, g1 = objective.objective_value(params), _grad_norm(objective, params)
        calls = (int(self.n_iter_[0]) if fitted else 0) + 1
        result = SolverResult(
            params=np.asarray(params), n_iter=1, converged=False,
            reason="one partial_fit pass of SGD over a batch (no convergence test)",
            objective_history=np.array([f0, f1]), grad_norm_history=np.array([g0, g1]),
            solver="sgd", info={"partial_fit_calls": calls, "n_seen": n_seen})
        self._store(objective, classes, params, result)
        self.n_iter_ = np.array([calls], dtype=np.int32)
        return self

    def _objective(self, X, classes, codes, Y, sw, **penalty):
        K = len(classes)
        binary = K == 2 and not self._always_softmax
        if Y is not None:
            targets = Y
        else:
            targets = codes.astype(X.dtype) if binary else codes
        return LinearObjective(X, targets, loss="binary" if binary else "multinomial",
                               n_classes=K, fit_intercept=self.fit_intercept,
                               sample_weight=sw, **penalty)

    def _warm_params(self, objective, classes, always=False):
        """The current coefficients as a start vector, or None for a cold start."""
        if not (always or self.warm_start) or not hasattr(self, "coef_"):
            return None
        k, p = objective.n_logits, objective.n_features
        if self.coef_.shape != (k, p) or not np.array_equal(self.classes_, classes):
            return None
        b = np.asarray(self.intercept_, dtype=np.float64) if self.fit_intercept else None
        coef = self.coef_.toarray() if hasattr(self.coef_, "toarray") else self.coef_
        return objective.pack(np.asarray(coef, dtype=np.float64), b)

    def _store(self, objective, classes, params, result):
        W, b = objective.unpack(np.asarray(params))
        if objective.n_logits > 1 and not objective.penalty.l1:
            # Softmax logits are defined up to a vector added to every class: keep the
            # convention Σ_k W_k = 0, Σ_k b_k = 0 that Newton's minimum-norm step and the L2
            # optimum satisfy, so every solver returns the same coefficients (L-BFGS drifts
            # off it by rounding). Probabilities are unchanged; with L1 the shift would change
            # the penalty, so it is not done there.
            W = W - W.mean(axis=0)
            if b is not None:
                b = b - b.mean()
        dtype = objective.dtype
        self.classes_ = classes
        self.coef_ = np.array(W, dtype=dtype)
        self.intercept_ = (np.array(b, dtype=dtype) if b is not None
                           else np.zeros(objective.n_logits, dtype=dtype))
        self.n_iter_ = np.array([result.n_iter], dtype=np.int32)
        self.fit_report_ = result

    def _warn(self, X, objective, result, codes):
        names = getattr(self, "feature_names_in_", None)
        if result.info.get("separable"):
            W, _ = objective.unpack(result.params)
            msg = separation_message(X, codes, objective.sample_weight, W, objective.design,
                                     names, self.classes_, SEPARATION_C)
            warnings.warn(msg, SeparationWarning, stacklevel=3)
        if not result.converged and "stopped by callback" not in result.reason:
            warnings.warn(convergence_message(result, objective, names, self.max_iter),
                          ConvergenceWarning, stacklevel=3)

    @_dask_aware
    def score(self, X, y, sample_weight=None):
        """Mean accuracy of ``predict(X)`` against ``y`` (weighted by ``sample_weight``)."""
        return super().score(X, y, sample_weight=sample_weight)

    # --- prediction ----------------------------------------------------------------------------

    def _logits(self, X) -> np.ndarray:
        """``X coef_ᵀ + intercept_``, shape (m, k)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, **_X_CHECKS)
        return np.asarray(safe_sparse_dot(X, self.coef_.T, dense_output=True)) + self.intercept_

    def sparsify(self):
        """Store ``coef_`` as a SciPy CSR matrix (for mostly-zero L1 fits); returns ``self``.

        Predictions are unchanged; :meth:`densify` converts back (``fit`` and saving need the
        dense form). As scikit-learn's ``sparsify``.
        """
        import scipy.sparse as sp

        check_is_fitted(self, "coef_")
        self.coef_ = sp.csr_matrix(self.coef_)
        return self

    def densify(self):
        """Store ``coef_`` as a NumPy array again (undoes :meth:`sparsify`); returns ``self``."""
        import scipy.sparse as sp

        check_is_fitted(self, "coef_")
        if sp.issparse(self.coef_):
            self.coef_ = self.coef_.toarray()
        return self

    @_dask_aware
    def decision_function(self, X):
        """Logits: (m,) for two classes (the log-odds of ``classes_[1]``), (m, K) otherwise."""
        Z = self._logits(X)
        if Z.shape[1] == 1:
            return Z[:, 0]
        if Z.shape[1] == 2:  # softmax with K = 2: only the difference of the logits matters
            return Z[:, 1] - Z[:, 0]
        return Z

    @_dask_aware
    def predict_proba(self, X):
        """Class probabilities, shape (m, K), computed from the logits."""
        Z = self._logits(X)
        if Z.shape[1] == 1:
            return np.stack([sigmoid(-Z[:, 0]), sigmoid(Z[:, 0])], axis=1)
        return softmax(Z)

    @_dask_aware
    def predict_log_proba(self, X):
        """Log class probabilities from the logits (log-sigmoid / log-softmax): finite where
        ``log(predict_proba)`` would round to ``-inf``."""
        Z = self._logits(X)
        if Z.shape[1] == 1:
            return np.stack([log_sigmoid(-Z[:, 0]), log_sigmoid(Z[:, 0])], axis=1)
        return log_softmax(Z)

    @_dask_aware
    def predict(self, X):
        """The most probable class of each row, shape (m,)."""
        Z = self._logits(X)
        index = (Z[:, 0] > 0).astype(np.intp) if Z.shape[1] == 1 else Z.argmax(axis=1)
        return self.classes_[index]


def _combine(callback, monitor):
    """One callback: the user's first (it may stop the fit), then the separation monitor."""
    if callback is None:
        return monitor
    if monitor is None:
        return callback

    def both(state):
        return callback(state) is True or monitor(state)

    return both


def _grad_norm(objective, params) -> float:
    return float(np.linalg.norm(optimality_gradient(objective, params)))
