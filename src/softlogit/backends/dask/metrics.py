"""The CLI's classification metrics of predictions that stay on a cluster, computed exactly.

The input is a list of *scored blocks* (Dask delayed objects or futures), each ``(codes,
proba)``: the class index of every row's label and the (n, K) predicted probabilities. The
metrics are those of :func:`softlogit.cli.metrics.classification_metrics`, with the same
definitions (scikit-learn's), so that the same numbers come out as if every prediction had been
gathered on one machine:

- accuracy, per-class precision/recall/F1, macro-F1: from the K × K confusion matrix, summed
  over blocks; log-loss ``−(1/m) Σ log clip(p_true, ε, 1 − ε)`` and the Brier score
  ``(1/m) Σ (p₁ − [y = 1])²`` from per-block sums;
- two classes: ROC-AUC and average precision (PR-AUC), which depend on the global order of the
  scores ``s = p₁``. With ``P(v)``, ``N(v)`` the positives and negatives scoring exactly ``v``,

  .. math::

      \\mathrm{AUC} = \\frac{1}{P N} Σ_v P(v)\\,\\bigl(N(<v) + ½ N(v)\\bigr), \\qquad
      \\mathrm{AP} = Σ_v \\frac{P(v)}{P}\\, \\frac{P(≥v)}{P(≥v) + N(≥v)}

  (the trapezoidal area under the ROC curve with ties, i.e. the Mann–Whitney statistic; and
  scikit-learn's step-wise average precision). They are computed by a *sorted merge*: each
  block reduces its scores to sorted distinct values with positive and negative counts (on its
  worker); the score range is cut into buckets at quantiles of a small sample of every block;
  one task per bucket merges that bucket's pieces of all blocks (worker to worker); the client
  receives only each bucket's totals and returns each bucket's counts above and below it, and
  each bucket task returns its two terms. Counts are integers, so AUC is exact up to its final
  division (the doubled numerator is an int64: exact below ~4·10⁹ rows).

Nothing m-sized reaches the client: per block a K × K matrix, a few sums and a sample of at most
:data:`SAMPLE_PER_BLOCK` scores; per bucket two counts and two terms.
"""

from __future__ import annotations

import numpy as np

#: Target rows per bucket of the sorted merge (a bucket's distinct scores and counts: ≤ 24 B/row).
BUCKET_ROWS = 4_000_000
#: Scores per block sampled for the bucket boundaries (quantiles of the block's scores).
SAMPLE_PER_BLOCK = 64


def block_scores(X, labels, est, coded=False):
    """``(codes, proba)`` of one block: ``est.predict_proba(X)`` and the class index of each
    label (``coded``: the labels are already indices). A label outside ``est.classes_`` is an
    error naming it."""
    from softlogit.backends.dask.chunk import _single_thread
    from softlogit.io.errors import DataError

    _single_thread()
    classes = est.classes_
    K = len(classes)
    labels = np.asarray(labels)
    if coded:
        codes = labels.astype(np.intp)
    else:
        codes = np.clip(np.searchsorted(classes, labels), 0, K - 1)
        bad = classes[codes] != labels if labels.size else np.zeros(0, bool)
        if np.any(bad):
            unseen = np.unique(labels[bad])[:5].tolist()
            raise DataError(f"labels not among the model's classes {classes.tolist()!r}: "
                            f"{unseen}")
    if codes.size == 0:
        return codes, np.zeros((0, K))
    return codes, np.asarray(est.predict_proba(X), dtype=np.float64)


def chunk_scores(chunk, est):
    """:func:`block_scores` of a fit's chunk (its targets are class indices or 0/1)."""
    return block_scores(chunk.X, chunk.y, est, coded=True)


# --- per block (on the workers) -----------------------------------------------------------------


def _compact(scored, K, threshold):
    """The block's small sums and its sorted distinct scores with class counts (binary)."""
    codes, P = scored
    n = len(codes)
    if threshold is not None and n:
        pred = (P[:, 1] >= threshold).astype(np.intp)
    else:
        pred = np.argmax(P, axis=1) if n else np.zeros(0, np.intp)
    cm = np.zeros((K, K), np.int64)
    np.add.at(cm, (codes, pred), 1)
    eps = np.finfo(P.dtype).eps  # scikit-learn's log_loss clips the same way
    p_true = np.clip(P[np.arange(n), codes], eps, 1 - eps)
    out = {"rows": n, "cm": cm, "nll": float(-np.log(p_true).sum())}
    if K == 2:
        positive = codes == 1
        s = P[:, 1]
        out["brier"] = float(np.sum((s - positive) ** 2))
        v, inverse = np.unique(s, return_inverse=True)
        pos = np.bincount(inverse, weights=positive, minlength=len(v)).astype(np.int64)
        out["v"], out["pos"], out["neg"] = v, pos, np.bincount(inverse, minlength=len(v)) - pos
    return out


def _summary(compact):
    """What the client receives of a block: the sums and a sample of its scores."""
    out = {k: compact[k] for k in ("rows", "cm", "nll", "brier") if k in compact}
    if "v" in compact and len(compact["v"]):
        cum = np.cumsum(compact["pos"] + compact["neg"])
        at = np.linspace(0, cum[-1] - 1, min(SAMPLE_PER_BLOCK, int(cum[-1])))
        out["sample"] = compact["v"][np.searchsorted(cum, at, side="right")]
    else:
        out["sample"] = np.zeros(0)
    return out


def _piece(compact, lo, hi):
    """The block's distinct scores in ``[lo, hi)`` with their counts."""
    v = compact["v"]
    i, j = np.searchsorted(v, lo, side="left"), np.searchsorted(v, hi, side="left")
    return v[i:j], compact["pos"][i:j], compact["neg"][i:j]


def _merge(*pieces):
    """One bucket: distinct scores of all its pieces, ascending, with summed counts."""
    v = np.concatenate([p[0] for p in pieces])
    u, inverse = np.unique(v, return_inverse=True)
    pos = np.bincount(inverse, weights=np.concatenate([p[1] for p in pieces]),
                      minlength=len(u)).astype(np.int64)
    neg = np.bincount(inverse, weights=np.concatenate([p[2] for p in pieces]),
                      minlength=len(u)).astype(np.int64)
    return u, pos, neg


def _totals(bucket):
    return int(bucket[1].sum()), int(bucket[2].sum())


def _terms(bucket, neg_below, tp_above, fp_above, n_pos):
    """``(Σ P(v)(2N(<v) + N(v)), Σ P(v)/P · P(≥v)/(P(≥v)+N(≥v)))`` over the bucket's values."""
    _, a, n = bucket
    if len(a) == 0:
        return 0, 0.0
    below = neg_below + np.concatenate([[0], np.cumsum(n)[:-1]])
    u2 = int(np.dot(a, 2 * below + n))
    tp = tp_above + np.cumsum(a[::-1])
    fp = fp_above + np.cumsum(n[::-1])
    ap = float(np.sum(a[::-1] / n_pos * (tp / (tp + fp))))
    return u2, ap


# --- on the client -----------------------------------------------------------------------------


def classification_metrics(scored, classes, threshold=None, *, bucket_rows=BUCKET_ROWS) -> dict:
    """The metrics of :func:`softlogit.cli.metrics.classification_metrics` (same keys and
    definitions) from scored blocks on the cluster (module docstring).

    Parameters
    ----------
    scored : list of delayed objects or futures, each ``(codes (n,), proba (n, K))``.
    classes : (K,) the model's classes (labels of the per-class entries).
    threshold : for two classes, the decision threshold on ``p₁`` (``None``: the argmax).
    bucket_rows : target rows per bucket of the sorted merge.
    """
    import dask

    classes = np.asarray(classes)
    K = len(classes)
    compact = dask.persist(*[dask.delayed(_compact)(s, K, threshold) for s in scored])
    parts = dask.compute(*[dask.delayed(_summary)(c) for c in compact])
    cm = np.sum([p["cm"] for p in parts], axis=0)
    m = int(sum(p["rows"] for p in parts))
    if m == 0:
        return {"rows": 0}
    tp = np.diag(cm).astype(np.float64)
    support, predicted = cm.sum(axis=1), cm.sum(axis=0)
    fp, fn = predicted - tp, support - tp
    out = {"rows": m, "accuracy": float(tp.sum() / m),
           "log_loss": float(sum(p["nll"] for p in parts) / m)}
    f1_den = 2 * tp + fp + fn
    out["per_class"] = [
        {"label": c, "support": int(support[k]),
         "precision": float(tp[k] / predicted[k]) if predicted[k] else None,
         "recall": float(tp[k] / support[k]) if support[k] else None,
         "f1": float(2 * tp[k] / f1_den[k]) if f1_den[k] else None}
        for k, c in enumerate(classes.tolist())]
    present = support > 0
    if present.sum() >= 2:
        used = present | (predicted > 0)  # the classes in the data or the predictions
        out["macro_f1"] = float(np.mean(2 * tp[used] / f1_den[used]))
    if K == 2:
        out["brier"] = float(sum(p["brier"] for p in parts) / m)
        if 0 < support[1] < m:
            out["roc_auc"], out["pr_auc"] = _ranking(compact, parts, int(support[1]),
                                                     int(support[0]), bucket_rows)
        out["threshold"] = 0.5 if threshold is None else float(threshold)
    out["confusion_matrix"] = cm.tolist()
    return out


def _ranking(compact, parts, n_pos, n_neg, bucket_rows):
    """``(ROC-AUC, average precision)`` by the sorted merge (module docstring)."""
    import dask

    m = n_pos + n_neg
    n_buckets = max(1, int(np.ceil(m / bucket_rows)))
    edges = np.array([-np.inf, np.inf])
    if n_buckets > 1:
        sample = np.concatenate([p["sample"] for p in parts])
        weight = np.concatenate([np.full(len(p["sample"]), p["rows"] / max(len(p["sample"]), 1))
                                 for p in parts])
        order = np.argsort(sample, kind="stable")
        cum = np.cumsum(weight[order])
        cuts = sample[order][np.searchsorted(cum, cum[-1] * np.arange(1, n_buckets) / n_buckets)]
        edges = np.concatenate([[-np.inf], np.unique(cuts), [np.inf]])
    buckets = []
    for lo, hi in zip(edges[:-1], edges[1:]):  # [lo, hi): equal scores share a bucket
        buckets.append(dask.delayed(_merge)(*[dask.delayed(_piece)(c, lo, hi) for c in compact]))
    buckets = dask.persist(*buckets)
    totals = dask.compute(*[dask.delayed(_totals)(b) for b in buckets])
    pos = np.array([t[0] for t in totals], dtype=np.int64)
    neg = np.array([t[1] for t in totals], dtype=np.int64)
    neg_below = np.concatenate([[0], np.cumsum(neg)[:-1]])
    tp_above = np.concatenate([np.cumsum(pos[::-1])[::-1][1:], [0]])
    fp_above = np.concatenate([np.cumsum(neg[::-1])[::-1][1:], [0]])
    terms = dask.compute(*[dask.delayed(_terms)(b, int(nb), int(ta), int(fa), n_pos)
                           for b, nb, ta, fa in zip(buckets, neg_below, tp_above, fp_above)])
    u2 = sum(t[0] for t in terms)
    ap = sum(t[1] for t in terms[::-1])  # from the highest scores down, in a fixed order
    return float(u2 / (2 * n_pos * n_neg)), float(ap)
