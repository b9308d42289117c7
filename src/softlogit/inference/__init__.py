"""Statistical inference for fitted logit models, matched to Stata, R and statsmodels.

``estimator.inference(X, y, cov_type=…, groups=…, sample_weight=…)`` returns an
:class:`InferenceResult` (statsmodels' names). Modules, one idea each:

- :mod:`~softlogit.inference.model` — the log-likelihood, score and information in the
  contrast parameterisation (the package's conventions are stated there);
- :mod:`~softlogit.inference.grams` — all weighted Gram blocks in one pass over X;
- :mod:`~softlogit.inference.covariance` — nonrobust, HC0–HC3, one- and two-way cluster;
- :mod:`~softlogit.inference.fitted` — from a fitted estimator to a result (which covariance
  for which penalty; the cost at scale);
- :mod:`~softlogit.inference.results` — :class:`InferenceResult`, :func:`lr_test`;
- :mod:`~softlogit.inference.profile` — profile-likelihood intervals;
- :mod:`~softlogit.inference.margins` — marginal effects, prediction intervals;
- :mod:`~softlogit.inference.firth` — Firth's bias-reduced fit (``penalty="firth"``);
- :mod:`~softlogit.inference.separation` — complete/quasi-complete separation by LP.
"""

from softlogit.inference.fitted import PenalizedInferenceWarning
from softlogit.inference.firth import firth_drop_test
from softlogit.inference.margins import MarginalEffects, PredictionInterval
from softlogit.inference.results import InferenceResult, LRTest, lr_test
from softlogit.inference.separation import SeparationReport, detect_separation

__all__ = ["InferenceResult", "LRTest", "lr_test", "PenalizedInferenceWarning",
           "MarginalEffects", "PredictionInterval", "SeparationReport", "detect_separation",
           "firth_drop_test"]
