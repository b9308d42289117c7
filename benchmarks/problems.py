"""The benchmark problems B1–B5: seeded synthetic data with realistic, non-separable signal.

Dense X: standard normal columns with scales in [0.5, 2] plus a shared latent factor (columns
correlate at ~0.1), generated chunk by chunk *in place* (no second copy of X, which matters for
B5's 4 GB). Labels are *sampled* from the true model — Bernoulli(σ(z)) or a categorical draw
from softmax(z) (Gumbel-max) — so classes overlap and the problem is not separable.
Sparse X (B4): text-like CSR — column frequencies follow a Zipf law, tf-idf-like values, rows
scaled to unit L2 norm, ~50 stored entries a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

SEED = 20261121
CHUNK_ROWS = 200_000


@dataclass
class Problem:
    name: str
    title: str
    X: object
    y: np.ndarray
    loss: str  # "binary" or "multinomial"
    n_classes: int
    C: float = 1.0
    peers: bool = True  # B5 times softlogit only
    notes: list = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        X = self.X
        if sp.issparse(X):
            return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
        return X.nbytes


FULL = {
    "B1": dict(m=1_000_000, p=100, K=2, dtype=np.float64),
    "B2": dict(m=200_000, p=100, K=10, dtype=np.float64),
    "B3": dict(m=1_000_000, p=100, K=2, dtype=np.float32),
    "B4": dict(m=200_000, p=100_000, K=5, nnz_row=50),
    "B5": dict(m=10_000_000, p=100, K=2, dtype=np.float32),
}
QUICK = {
    "B1": dict(m=20_000, p=100, K=2, dtype=np.float64),
    "B2": dict(m=5_000, p=50, K=10, dtype=np.float64),
    "B3": dict(m=20_000, p=100, K=2, dtype=np.float32),
    "B4": dict(m=4_000, p=2_000, K=5, nnz_row=50),
    "B5": dict(m=200_000, p=100, K=2, dtype=np.float32),
}
TITLES = {
    "B1": "binary dense {m:,}×{p} float64",
    "B2": "softmax dense {m:,}×{p}, K={K}, float64",
    "B3": "binary dense {m:,}×{p} float32",
    "B4": "softmax sparse CSR {m:,}×{p:,}, ~{nnz_row} nnz/row, K={K}",
    "B5": "binary dense {m:,}×{p} float32 (scale)",
}


def make(name: str, quick: bool = False) -> Problem:
    spec = (QUICK if quick else FULL)[name]
    rng = np.random.default_rng([SEED, int(name[1:])])
    title = TITLES[name].format(**spec)
    if name == "B4":
        X, y = _sparse_text(rng, spec["m"], spec["p"], spec["K"], spec["nnz_row"])
    else:
        X = _dense_features(rng, spec["m"], spec["p"], spec["dtype"])
        y = _labels(rng, X, spec["K"])
    K = spec["K"]
    return Problem(name, title, X, y, "binary" if K == 2 else "multinomial", K,
                   peers=name != "B5")


def _dense_features(rng, m, p, dtype):
    X = np.empty((m, p), dtype=dtype)
    scales = rng.uniform(0.5, 2.0, p).astype(dtype)
    for r0 in range(0, m, CHUNK_ROWS):
        block = X[r0:r0 + CHUNK_ROWS]
        rng.standard_normal(out=block, dtype=dtype)
        latent = rng.standard_normal(len(block)).astype(dtype)
        block += 0.35 * latent[:, None]
        block *= scales
    return X


def _true_coef(rng, p, k):
    # logits of standard deviation ≈ 2–3: informative yet far from separable
    return rng.standard_normal((k, p)) * (1.2 / np.sqrt(p))


def _labels(rng, X, K):
    m, p = X.shape
    W = _true_coef(rng, p, 1 if K == 2 else K)
    b = rng.normal(0, 0.5, W.shape[0])
    y = np.empty(m, dtype=np.float64 if K == 2 else np.intp)
    for r0 in range(0, m, CHUNK_ROWS):
        Z = X[r0:r0 + CHUNK_ROWS] @ W.T.astype(X.dtype) + b
        y[r0:r0 + len(Z)] = _draw(rng, Z, K)
    return y


def _draw(rng, Z, K):
    if K == 2:
        return (rng.random(len(Z)) < 1.0 / (1.0 + np.exp(-Z[:, 0]))).astype(np.float64)
    return np.argmax(Z + rng.gumbel(size=Z.shape), axis=1)


def _sparse_text(rng, m, p, K, nnz_row):
    ranks = np.arange(1, p + 1, dtype=np.float64)
    freq = 1.0 / (ranks + 20.0) ** 1.05
    cdf = np.cumsum(freq / freq.sum())
    rows = np.repeat(np.arange(m, dtype=np.int32), nnz_row)
    cols = np.minimum(np.searchsorted(cdf, rng.random(m * nnz_row)), p - 1).astype(np.int32)
    X = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(m, p))  # sums repeated words
    X.sum_duplicates()
    df = np.bincount(X.indices, minlength=p)
    idf = np.log((1.0 + m) / (1.0 + df)) + 1.0
    X.data = np.log1p(X.data) * idf[X.indices]
    norms = np.sqrt(np.add.reduceat(X.data**2, X.indptr[:-1]))
    X.data /= np.repeat(norms, np.diff(X.indptr))
    W = _true_coef(rng, p, K) * np.sqrt(p) * 1.5  # a word moves the logits by O(1)
    Z = np.asarray(X @ W.T)
    Z *= 2.5 / max(Z.std(), 1e-12)
    return X, _draw(rng, Z, K)
