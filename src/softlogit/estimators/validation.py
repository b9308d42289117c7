"""Checks of the estimator parameters, made at ``fit`` time (``__init__`` only stores them)."""

from __future__ import annotations

import numbers
import warnings

import numpy as np

PENALTIES = ("l2", "l1", "elasticnet", "firth", None)


def check_params(est) -> None:
    """Raise ``ValueError`` naming the first parameter of ``est`` that is out of range."""
    if est.penalty not in PENALTIES:
        raise ValueError(
            f"penalty must be one of 'l2', 'l1', 'elasticnet', 'firth' or None; got "
            f"{est.penalty!r}"
        )
    if not (isinstance(est.C, numbers.Real) and est.C == np.inf):  # inf: no penalty
        _check_real("C", est.C, low=0.0, low_open=True)
    _check_real("tol", est.tol, low=0.0, low_open=True)
    if not isinstance(est.max_iter, numbers.Integral) or isinstance(est.max_iter, bool) \
            or est.max_iter < 0:
        raise ValueError(f"max_iter must be a non-negative integer; got {est.max_iter!r}")
    if est.penalty == "elasticnet" and est.l1_ratio is None:
        raise ValueError("penalty='elasticnet' needs l1_ratio, a number in [0, 1]")
    if est.l1_ratio is not None:
        _check_real("l1_ratio", est.l1_ratio, low=0.0, high=1.0)
        if est.penalty is None:
            warnings.warn(f"l1_ratio={est.l1_ratio!r} is ignored with penalty=None",
                          UserWarning, stacklevel=3)
        elif est.penalty == "l1" and est.l1_ratio != 1:
            # scikit-learn's words: l1_ratio is ignored with penalty='l1'
            warnings.warn(f"l1_ratio parameter is only used when penalty is 'elasticnet'. Got "
                          f"(penalty=l1); l1_ratio={est.l1_ratio!r} is ignored",
                          UserWarning, stacklevel=3)
    if est.penalty is None and est.C != 1.0 and est.C != np.inf:
        # scikit-learn's warning: C does nothing without a penalty
        warnings.warn(f"Setting penalty=None will ignore the C and l1_ratio parameters "
                      f"(C={est.C!r})", UserWarning, stacklevel=3)
    if not isinstance(est.solver, str):
        raise ValueError(f"solver must be a solver name (a string); got {est.solver!r}")
    cw = est.class_weight
    if not (cw is None or cw == "balanced" or isinstance(cw, dict)):
        raise ValueError(f"class_weight must be None, 'balanced' or a dict; got {cw!r}")
    if est.callback is not None and not callable(est.callback):
        raise ValueError(f"callback must be callable or None; got {est.callback!r}")


def _check_real(name, value, *, low=None, high=None, low_open=False):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        lo = "" if low is None else (f"> {low}" if low_open else f">= {low}")
        hi = "" if high is None else f"<= {high}"
        rng = " and ".join(s for s in (lo, hi) if s)
        raise ValueError(f"{name} must be a finite number {rng}; got {value!r}")


def effective_penalty(est) -> tuple[str | None, float | None]:
    """``(penalty, l1_ratio)`` as fitted, in scikit-learn ≥ 1.8's reading of the parameters.

    ``C=inf`` means no penalty. With ``penalty="l2"`` (the default) a given ``l1_ratio``
    chooses the mix, as ``l1_ratio`` alone does in scikit-learn ≥ 1.8: 0 is L2, 1 is L1, and
    between them elastic-net (softlogit cannot tell an explicit ``"l2"`` from the default).
    ``penalty="l1"`` is L1 whatever ``l1_ratio`` says (with a warning at fit).
    """
    if est.C == np.inf or est.penalty is None:
        return None, None
    if est.penalty == "firth":
        return "firth", None
    if est.penalty == "l2" and est.l1_ratio is not None:
        rho = float(est.l1_ratio)
        return ("l2", None) if rho == 0 else ("l1", None) if rho == 1 else ("elasticnet", rho)
    if est.penalty == "elasticnet":
        return "elasticnet", float(est.l1_ratio)
    return est.penalty, None


def penalty_args(est) -> dict:
    """The penalty arguments of :class:`~softlogit.objective.LinearObjective` for ``est``
    (see :func:`effective_penalty`)."""
    penalty, l1_ratio = effective_penalty(est)
    if penalty is None or penalty == "firth":  # firth: the likelihood part of ℓ + ½ log|I|
        return {"penalty": None, "C": 1.0, "l1_ratio": None}
    return {"penalty": penalty, "C": float(est.C), "l1_ratio": l1_ratio}
