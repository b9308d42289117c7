"""Targets: class labels to indices, soft-target matrices, class weights.

Hard targets are any sortable labels (strings, integers …); ``classes_`` holds them sorted and
the objective sees their indices. Soft targets are an (m, K) matrix of probability rows; then
``classes_ = arange(K)``.
"""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets


def is_soft_target(y) -> bool:
    """True when ``y`` is a matrix with two or more columns (probability rows, one per class)."""
    if y is None:
        return False
    shape = getattr(y, "shape", None)  # pandas, NumPy, SciPy: no conversion needed to look
    if shape is None:
        shape = np.asarray(y).shape
    return len(shape) == 2 and shape[1] >= 2


def encode_labels(y, classes=None):
    """Return ``(classes, codes)``: sorted classes and each label's index in them.

    With ``classes`` given (``partial_fit``), a label outside it raises ``ValueError`` naming
    the unseen labels. Labels that already are the indices ``0..K−1`` (every one present) are
    recognised in O(m) without sorting (:func:`_index_labels`).
    """
    if classes is None:
        fast = _index_labels(y)
        if fast is not None:
            return fast
    check_classification_targets(y)
    enc = LabelEncoder()
    if classes is None:
        codes = enc.fit_transform(y)
        return enc.classes_, codes
    enc.fit(classes)
    unseen = np.setdiff1d(np.unique(y), enc.classes_)
    if unseen.size:
        shown = ", ".join(repr(v) for v in unseen[:5].tolist())
        raise ValueError(
            f"y contains {unseen.size} label(s) not in classes={enc.classes_.tolist()!r}: {shown}"
        )
    return enc.classes_, enc.transform(y)


def _index_labels(y):
    """``(arange(K), y as indices)`` when the labels are exactly ``0..K−1``, else ``None``.

    The common case (``make_classification``, label-encoded data) needs no ``np.unique``
    sort (O(m log m), and ``check_classification_targets`` sorts once more): a min, a max and
    a ``bincount`` (O(m)) prove that every label is an index and every index is used, which
    is what ``LabelEncoder`` would have returned. Integral floats (``0.0, 1.0 …``) qualify;
    other labels, gaps or negative values fall back to the sorting path.
    """
    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0 or y.dtype.kind not in "iuf":
        return None
    lo, hi = y.min(), y.max()
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo != 0 or hi >= y.size:
        return None
    codes = y.astype(np.intp, copy=False)
    if y.dtype.kind == "f" and not np.array_equal(codes, y):
        return None
    if np.count_nonzero(np.bincount(codes, minlength=int(hi) + 1)) != int(hi) + 1:
        return None
    return np.arange(int(hi) + 1, dtype=y.dtype), codes


def check_partial_fit_classes(classes, previous):
    """Validate the ``classes`` argument of ``partial_fit`` against earlier calls."""
    if previous is None:
        if classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: the full list of "
                "labels, since a batch need not contain all of them"
            )
        classes = np.unique(np.asarray(classes))
        if classes.size < 2:
            raise ValueError(
                f"classes must hold at least 2 labels; got {classes.size} class: "
                f"{classes.tolist()!r}"
            )
        return classes
    if classes is not None and not np.array_equal(np.unique(np.asarray(classes)), previous):
        raise ValueError(
            f"classes={np.asarray(classes).tolist()!r} differs from the classes of the first "
            f"partial_fit call, {previous.tolist()!r}"
        )
    return previous


def class_weights(class_weight, classes, totals, soft=False):
    """One weight per class (K,), or None: what ``class_weight`` gives each class.

    ``totals`` (K,) are the class totals: the label counts (hard targets) or the soft totals
    ``Σᵢ Yᵢₖ``. ``"balanced"`` gives class k the weight ``m / (K · mₖ)`` with ``m = Σₖ mₖ``
    (scikit-learn's :func:`~sklearn.utils.class_weight.compute_class_weight` when every class
    has samples); a dict maps labels (hard; scikit-learn's rules) or indices ``0..K−1`` (soft)
    to weights, 1 for the classes it leaves out. Only K-sized arrays: the NumPy, the device
    (:mod:`softlogit.estimators.array_api_fit`) and the Dask fits all count their totals where
    the data live and call this.
    """
    if class_weight is None:
        return None
    K = len(classes)
    totals = np.asarray(totals, dtype=np.float64)
    if class_weight == "balanced":
        if not soft and np.any(totals == 0):
            absent = np.asarray(classes)[totals == 0].tolist()
            raise ValueError(f"class_weight='balanced' needs samples of every class; "
                             f"{absent!r} have none in y")
        with np.errstate(divide="ignore"):
            return np.where(totals > 0, totals.sum() / (K * totals), 0.0)
    if not soft:
        return compute_class_weight(class_weight, classes=np.asarray(classes),
                                    y=np.asarray(classes))
    unknown = set(class_weight) - set(range(K))
    if unknown:
        raise ValueError(
            f"class_weight keys {sorted(unknown)!r} are not classes 0..{K - 1} of the soft "
            "targets"
        )
    return np.array([float(class_weight.get(k, 1.0)) for k in range(K)])


def class_weight_per_sample(class_weight, classes, codes=None, Y=None, labels=None):
    """Per-sample weights implied by ``class_weight`` (None, ``"balanced"`` or a dict).

    Hard targets pass ``codes`` (indices into ``classes``): sample i gets the weight of its
    class; soft targets pass ``Y``: a sample gets ``Σ_k Y_ik w_k``. The class weights are
    :func:`class_weights` (``labels`` is accepted for the callers that pass it; unused).
    """
    if class_weight is None:
        return None
    if Y is None:
        totals = np.bincount(codes, minlength=len(classes))
        return class_weights(class_weight, classes, totals)[codes]
    totals = Y.sum(axis=0, dtype=np.float64)
    return Y @ class_weights(class_weight, classes, totals, soft=True)


def check_two_weighted_classes(classes, sample_weight, codes=None, Y=None):
    """Refuse a fit where fewer than two classes carry positive weight."""
    if Y is None:
        mass = np.bincount(codes, weights=sample_weight, minlength=len(classes))
    else:
        mass = sample_weight @ Y
    check_class_mass(classes, mass)


def check_class_mass(classes, mass):
    """Refuse a fit where fewer than two classes have positive total weight ``mass`` (K,)."""
    present = classes[mass > 0]
    if present.size < 2:
        if len(classes) < 2:
            what = f"y has only 1 class ({classes.tolist()!r})"
        else:
            what = (f"only 1 class ({present.tolist()!r}) has samples of positive weight "
                    f"among the classes {classes.tolist()!r}")
        raise ValueError(f"{what}; a classifier needs samples of at least 2 classes")
