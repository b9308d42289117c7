"""The plain-text report of an :class:`~softlogit.inference.results.InferenceResult`."""

from __future__ import annotations

import numpy as np


def format_summary(res, alpha=0.05) -> str:
    """Header of fit statistics, then one row per parameter: estimate, SE, z, p, interval."""
    K = len(res.classes)
    base = res.reference.item() if hasattr(res.reference, "item") else res.reference
    model = "Logit" if K == 2 else f"MNLogit (base outcome {base!r})"
    if res.penalty == "firth":
        model += ", Firth's penalised likelihood"
    elif res.penalty == "l2":
        model += ", L2-penalised"
    lines = [f"{model} — inference",
             f"nobs {res.nobs:>12g}   df_model {res.df_model:>6d}   df_resid {res.df_resid:>10g}",
             f"llf  {res.llf:>12.6g}   llnull {res.llnull:>12.6g}   LLR p-value "
             f"{res.llr_pvalue:.4g}",
             f"pseudo-R² {res.prsquared:.4f}   AIC {res.aic:.6g}   BIC {res.bic:.6g}   "
             f"cov_type {res.cov_type}"]
    ci = res.conf_int(alpha)
    lo, hi = f"[{alpha / 2:g}", f"{1 - alpha / 2:g}]"
    width = max([len(n) for n in res.names] + [9])
    head = (f"{'':<{width}} {'coef':>11} {'std err':>11} {'z':>8} {'P>|z|':>8} "
            f"{lo:>11} {hi:>11}")
    rule = "─" * len(head)
    lines += [rule, head, rule]
    for j, name in enumerate(res.names):
        row = [res.params[j], res.bse[j], res.zvalues[j], res.pvalues[j], ci[j, 0], ci[j, 1]]
        if not np.isfinite(row[1]):
            lines.append(f"{name:<{width}} {row[0]:>11.4g}   (infinite MLE: separated)")
            continue
        lines.append(f"{name:<{width}} {row[0]:>11.4f} {row[1]:>11.4f} {row[2]:>8.3f} "
                     f"{row[3]:>8.3f} {row[4]:>11.4f} {row[5]:>11.4f}")
    lines.append(rule)
    lines += [f"note: {n}" for n in res.notes]
    return "\n".join(lines)
