"""What the estimators gain from :mod:`softlogit.inference`: ``inference()`` and Firth's fit.

One mixin, listed in each estimator's bases before the base class (after the array-API
dispatch, which routes device input first), so the estimator classes stay one line.
"""

from __future__ import annotations

import numpy as np


class InferenceMixin:
    """Adds :meth:`inference` (and the ``penalty="firth"`` fit) to an estimator."""

    def inference(self, X, y, *, cov_type="nonrobust", groups=None, sample_weight=None,
                  reference=None, feature_names=None):
        """Standard errors, tests and intervals of this fit on ``(X, y)``.

        Parameters
        ----------
        X, y : the data (normally the training data) in the form ``fit`` takes.
        cov_type : {"nonrobust", "HC0", "HC1", "HC2", "HC3", "cluster"}
            See :mod:`softlogit.inference.covariance`.
        groups : (m,) or (m, 2) cluster labels for ``cov_type="cluster"``.
        sample_weight : (m,) frequency weights (as given to ``fit``).
        reference : the base class of the multinomial contrasts (default ``classes_[0]``).
        feature_names : names for the table (default ``feature_names_in_``, else x0, x1 …).

        Returns
        -------
        InferenceResult
            ``params``, ``bse``, ``pvalues``, ``conf_int()``, ``summary()`` … in statsmodels'
            names; for a model with K > 2 classes the (K−1) contrasts against ``reference``.

        Examples
        --------
        >>> import numpy as np
        >>> from softlogit import LogisticRegression
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(200, 2)); y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
        >>> res = LogisticRegression(penalty=None).fit(X, y).inference(X, y)
        >>> res.names, res.bse.shape
        (['x0', 'x1', 'intercept'], (3,))
        """
        from softlogit.inference.fitted import inference_for

        return inference_for(self, X, y, cov_type=cov_type, groups=groups,
                             sample_weight=sample_weight, reference=reference,
                             feature_names=feature_names)

    def _fit_firth(self, X, y, sample_weight):
        """``penalty="firth"``: Firth's bias-reduced fit (:mod:`softlogit.inference.firth`).

        The contrasts against ``classes_[0]`` are stored as ``coef_``/``intercept_``; a softmax
        model gets a zero row for ``classes_[0]`` (the same probabilities).
        """
        from softlogit.estimators.labels import check_two_weighted_classes
        from softlogit.inference.firth import fit_firth
        from softlogit.solvers import SolverResult

        X, classes, codes, Y, sw = self._prepare(X, y, sample_weight, fitted_classes=None)
        if Y is not None:
            raise ValueError("penalty='firth' needs class labels, not soft targets")
        check_two_weighted_classes(classes, sw, codes=codes, Y=Y)
        K = len(classes)
        beta, n_iter, converged, value = fit_firth(X, codes, sw, K, self.fit_intercept,
                                                   max_iter=max(int(self.max_iter), 1))
        objective = self._objective(X, classes, codes, None, sw, penalty=None, C=1.0,
                                    l1_ratio=None)
        q = X.shape[1] + int(self.fit_intercept)
        B = beta.reshape(K - 1, q)
        if objective.n_logits == K:
            B = np.vstack([np.zeros((1, q)), B])
        reason = ("penalised score below tolerance" if converged else
                  "stopped at max_iter before the penalised score met the tolerance")
        result = SolverResult(params=B.ravel(), n_iter=n_iter, converged=converged,
                              reason=reason, objective_history=np.array([-value]),
                              grad_norm_history=np.array([np.nan]), solver="firth",
                              info={"penalized_loglik": value})
        self._store(objective, classes, objective.pack(B[:, :X.shape[1]],
                                                       B[:, -1] if self.fit_intercept else None),
                    result)
        if not converged:
            import warnings

            from softlogit.estimators.warnings import ConvergenceWarning

            warnings.warn(f"Firth's fit did not converge in {n_iter} iterations; raise max_iter",
                          ConvergenceWarning, stacklevel=3)
        return self
