"""A stratified, seeded train/test split of rows that stay on a cluster.

Every row gets a pseudo-random 64-bit key that depends only on the seed and the row's global
index (:func:`row_keys`: the SplitMix64 finaliser, a bijection of 64-bit integers, so no two rows
share a key). Within class ``c`` the test rows are the ``t_c`` rows with the smallest keys,
``t_c`` allocated as scikit-learn's ``StratifiedShuffleSplit`` allocates them: ``n_test =
⌈test_size · m⌉`` rows in all, ``⌊n_test · m_c / m⌋`` per class, and the remaining rows to
the classes with the largest remainders (ties to the lower class index, so it is
deterministic). Unlike scikit-learn's draw the choice depends on the seed and the row order
only, not on how the rows are chunked.

The ``t_c``-th smallest key of each class is found without gathering the labels: a radix
selection on the keys' bits, :data:`RADIX_BITS` bits per round, each round one task per label
block returning a (K, 2^bits) histogram; once the bin holding the ``t_c``-th key has at most
:data:`GATHER_MAX` keys those keys are fetched and sorted on the client. For 1M rows that is
one histogram round and one round fetching ~250 keys per class; each further 4,096-fold of
rows adds one round.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Bits of the key resolved per histogram round (a 4,096-bin histogram per class and block).
RADIX_BITS = 12
#: Keys fetched to the client once the selected bin holds at most this many of a class.
GATHER_MAX = 1 << 16

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser (Steele, Lea & Flood 2014): a bijection of uint64."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def row_keys(offset: int, n: int, seed: int) -> np.ndarray:
    """Keys of rows ``offset … offset + n − 1``: ``mix((row + 1)·φ + mix(seed))`` (uint64).

    ``row ↦ (row + 1)·φ + a`` is a bijection modulo 2⁶⁴ (φ is odd) and so is ``mix``: distinct
    rows always get distinct keys. Unsigned overflow wraps, which is the arithmetic intended.
    """
    with np.errstate(over="ignore"):
        base = _mix(np.array([np.uint64(seed % 2**64)]))[0]
        rows = np.arange(offset + 1, offset + n + 1, dtype=np.uint64)
        return _mix(rows * _GOLDEN + base)


def test_counts(counts, test_size: float) -> np.ndarray:
    """Test rows per class (module docstring): ``⌈test_size·m⌉`` in all, proportional."""
    counts = np.asarray(counts, dtype=np.int64)
    m = int(counts.sum())
    n_test = int(np.ceil(test_size * m))
    exact = n_test * counts / m
    t = np.floor(exact).astype(np.int64)
    left = n_test - int(t.sum())
    if left:
        order = np.lexsort((np.arange(len(counts)), -(exact - t)))  # largest remainder first
        t[order[:left]] += 1
    return np.minimum(t, counts)


@dataclass(frozen=True)
class StratifiedSplit:
    """Which rows are test rows: those of class ``c`` with ``key ≤ limits[c]`` (none where
    ``take[c]`` is false). Small (K values): it travels to the workers with the tasks."""

    classes: np.ndarray
    seed: int
    limits: np.ndarray
    take: np.ndarray

    def test_mask(self, labels, offset: int) -> np.ndarray:
        """Boolean test mask of the rows ``offset …`` whose labels are ``labels``."""
        codes = class_codes(labels, self.classes)
        keys = row_keys(offset, len(codes), self.seed)
        return self.take[codes] & (keys <= self.limits[codes])


def class_codes(labels, classes) -> np.ndarray:
    """Index of each label in the sorted ``classes`` (every label is one of them)."""
    labels = np.asarray(labels)
    codes = np.clip(np.searchsorted(classes, labels), 0, len(classes) - 1)
    if labels.size and np.any(classes[codes] != labels):
        raise ValueError("a label is not among the classes found in the first pass")
    return codes


# --- the selection rounds (each function runs on one label block) ----------------------------------


def _selected(labels, offset, seed, classes, prefixes, fixed):
    """Per class, the keys of the block's rows of that class whose top ``fixed`` bits equal
    the class's prefix."""
    codes = class_codes(labels, classes)
    keys = row_keys(offset, len(codes), seed)
    out = []
    for c in range(len(classes)):
        k = keys[codes == c]
        if fixed:
            k = k[(k >> np.uint64(64 - fixed)) == prefixes[c]]
        out.append(k)
    return out


def _histogram(labels, offset, seed, classes, prefixes, fixed, bits):
    """(K, 2^bits) counts of the selected keys by their next ``bits`` bits."""
    H = np.zeros((len(classes), 1 << bits), dtype=np.int64)
    shift = np.uint64(64 - fixed - bits)
    mask = np.uint64((1 << bits) - 1)
    for c, k in enumerate(_selected(labels, offset, seed, classes, prefixes, fixed)):
        H[c] = np.bincount(((k >> shift) & mask).astype(np.intp), minlength=1 << bits)
    return H


def _candidates(labels, offset, seed, classes, prefixes, fixed, wanted):
    """The selected keys of the classes in ``wanted`` (a few per block)."""
    sel = _selected(labels, offset, seed, classes, prefixes, fixed)
    return [sel[c] if wanted[c] else sel[c][:0] for c in range(len(classes))]


def _test_rows(labels, offset, split):
    return int(split.test_mask(labels, offset).sum())


def stratified_split(y, classes, counts, test_size: float, seed: int):
    """``(split, test rows per block)`` for the labels ``y`` (a dask array with known chunks;
    ``classes``/``counts`` from :func:`~softlogit.backends.dask.inputs.find_labels`).

    Each round is one ``dask.compute`` of small per-block results (module docstring); with a
    ``distributed`` client active they run on the workers, next to the labels.
    """
    import dask

    blocks = y.to_delayed().ravel()
    offsets = np.concatenate([[0], np.cumsum(y.chunks[0])])[:-1].astype(np.int64)
    K = len(classes)
    rank = test_counts(counts, test_size)            # the rank of the limit within its class
    take = rank > 0
    prefixes = np.zeros(K, dtype=np.uint64)
    fixed = 0
    limits = np.zeros(K, dtype=np.uint64)
    todo = take.copy()
    remaining = np.where(take, counts, 0).astype(np.int64)  # keys matching the prefix
    while todo.any():
        if fixed < 64 and np.max(remaining[todo]) > GATHER_MAX:
            bits = min(RADIX_BITS, 64 - fixed)
            H = sum(dask.compute(*[dask.delayed(_histogram)(b, int(o), seed, classes, prefixes,
                                                            fixed, bits)
                                   for b, o in zip(blocks, offsets)]))
            for c in np.flatnonzero(todo):
                cum = np.cumsum(H[c])
                j = int(np.searchsorted(cum, rank[c]))  # first bin reaching the rank
                rank[c] -= int(cum[j - 1]) if j else 0
                remaining[c] = int(H[c, j])
                prefixes[c] = (prefixes[c] << np.uint64(bits)) | np.uint64(j)
            fixed += bits
            continue
        parts = dask.compute(*[dask.delayed(_candidates)(b, int(o), seed, classes, prefixes,
                                                         fixed, todo)
                               for b, o in zip(blocks, offsets)])
        for c in np.flatnonzero(todo):
            keys = np.sort(np.concatenate([p[c] for p in parts]))
            limits[c] = keys[rank[c] - 1]
        todo[:] = False
    split = StratifiedSplit(classes=np.asarray(classes), seed=int(seed), limits=limits,
                            take=take)
    sizes = dask.compute(*[dask.delayed(_test_rows)(b, int(o), split)
                           for b, o in zip(blocks, offsets)])
    return split, [int(s) for s in sizes]
