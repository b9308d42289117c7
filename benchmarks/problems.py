"""The benchmark problems: the suite S1–S12 (the headline) and B1–B5 (kept as a section).

The suite (:data:`SUITE`, :func:`make_suite`) varies what a tuner could overfit — structure,
conditioning, column scales, class balance, K, width, dtype, sparsity and model fit — each
problem sized so that the peers take roughly 1–20 s on the 2-core benchmark machine; labels are
sampled (never separable) and every generator is seeded.

B1–B5: seeded synthetic data with realistic, non-separable signal.

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
    if name in SUITE:
        return make_suite(name, quick)
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


# --- the suite ---------------------------------------------------------------------------

#: name → (title, generator keyword arguments). ``quick`` divides m by QUICK_DIVISOR.
SUITE = {
    "S1": ("binary, independent N(0,1) features, 500,000×100 float64",
           dict(kind="independent", m=500_000, p=100)),
    "S2": ("binary, AR(0.9)-correlated features, 400,000×100 float64",
           dict(kind="ar", m=400_000, p=100, rho=0.9)),
    "S3": ("binary, make_classification 400,000×80 (30 informative, 20 redundant, 10 repeated)",
           dict(kind="redundant", m=400_000, p=80)),
    "S4": ("binary, unstandardised columns (scales 1e-3…1e3), 300,000×50 float64",
           dict(kind="unscaled", m=300_000, p=50)),
    "S5": ("binary, 2 % positives, 500,000×100 float64",
           dict(kind="rare", m=500_000, p=100, rate=0.02)),
    "S6": ("softmax K=3, 300,000×50 float64", dict(kind="softmax", m=300_000, p=50, K=3)),
    "S7": ("softmax K=10, 200,000×100 float64", dict(kind="softmax", m=200_000, p=100, K=10)),
    "S8": ("softmax K=50, 60,000×50 float64", dict(kind="softmax", m=60_000, p=50, K=50)),
    "S9": ("binary, wide 50,000×2,000 float64", dict(kind="independent", m=50_000, p=2000)),
    "S10": ("binary, float32 with a shared factor, 1,000,000×100",
            dict(kind="float32", m=1_000_000, p=100)),
    "S11": ("binary, sparse text-like CSR 60,000×20,000, ~50 nnz/row",
            dict(kind="text", m=60_000, p=20_000, nnz_row=50)),
    "S12": ("binary, misspecified (labels from interactions and squares), 1,200,000×50 float64",
            dict(kind="misspecified", m=1_200_000, p=50)),
}
QUICK_DIVISOR = 50
#: ``run.py --quick`` (``make bench-quick``, the harness's smoke test, under a minute): one
#: problem per code path — dense binary, badly scaled dense, dense softmax, float32, CSR.
QUICK_SUITE = "S1,S4,S6,S10,S11"


def make_suite(name: str, quick: bool = False) -> Problem:
    """Suite problem ``name`` (:data:`SUITE`), seeded by its name."""
    title, spec = SUITE[name]
    spec = dict(spec)
    kind = spec.pop("kind")
    if quick:
        spec["m"] = max(2_000, spec["m"] // QUICK_DIVISOR)
        title += f" [quick: m = {spec['m']:,}]"
    rng = np.random.default_rng([SEED, 1000 + int(name[1:])])
    X, y, K = _SUITE_MAKERS[kind](rng, **spec)
    return Problem(name, title, X, y, "binary" if K == 2 else "multinomial", K)


def _bernoulli(rng, z):
    return (rng.random(len(z)) < 1.0 / (1.0 + np.exp(-z))).astype(np.float64)


def _independent(rng, m, p):
    X = rng.standard_normal((m, p))
    return X, _bernoulli(rng, X @ _true_coef(rng, p, 1)[0] * 1.5 + 0.3), 2


def _ar(rng, m, p, rho):
    """Columns x_j = ρ x_{j−1} + √(1−ρ²) e_j (unit variance, correlation ρ^|i−j|)."""
    X = rng.standard_normal((m, p))
    c = np.sqrt(1.0 - rho**2)
    for j in range(1, p):
        X[:, j] *= c
        X[:, j] += rho * X[:, j - 1]
    return X, _bernoulli(rng, X @ _true_coef(rng, p, 1)[0] * 1.5), 2


def _redundant(rng, m, p):
    from sklearn.datasets import make_classification

    X, y = make_classification(m, p, n_informative=30, n_redundant=20, n_repeated=10,
                               n_clusters_per_class=2, flip_y=0.05, class_sep=0.8,
                               random_state=int(rng.integers(2**31)))
    return X, y.astype(np.float64), 2


def _unscaled(rng, m, p):
    scales = 10.0 ** rng.permutation(np.linspace(-3, 3, p))
    Z = rng.standard_normal((m, p))
    y = _bernoulli(rng, Z @ _true_coef(rng, p, 1)[0] * 1.5 + 0.5)
    Z *= scales
    Z += 0.5 * scales  # uncentred too
    return Z, y, 2


def _rare(rng, m, p, rate):
    X = rng.standard_normal((m, p))
    z = X @ _true_coef(rng, p, 1)[0] * 1.5
    z += np.log(rate / (1 - rate)) - 1.7  # ≈ rate positives after the spread of z
    return X, _bernoulli(rng, z), 2


def _softmax(rng, m, p, K):
    X = _dense_features(rng, m, p, np.float64)
    return X, _labels(rng, X, K), K


def _float32(rng, m, p):
    X = _dense_features(rng, m, p, np.float32)
    return X, _labels(rng, X, 2), 2


def _text(rng, m, p, nnz_row):
    X, y = _sparse_text(rng, m, p, 2, nnz_row)
    return X, y.astype(np.float64), 2


def _misspecified(rng, m, p):
    """Labels from x₀x₁ + sin(2x₂) + x₃² − 1 + 0.3·(linear in the rest): a linear model
    captures only part of the signal, so the optimum has large residuals everywhere."""
    X = rng.standard_normal((m, p))
    z = (2.0 * X[:, 0] * X[:, 1] + 1.5 * np.sin(2 * X[:, 2]) + X[:, 3] ** 2 - 1.0
         + 0.3 * X[:, 4:] @ _true_coef(rng, p - 4, 1)[0] * np.sqrt(p - 4) / 3)
    return X, _bernoulli(rng, z), 2


_SUITE_MAKERS = {"independent": _independent, "ar": _ar, "redundant": _redundant,
                 "unscaled": _unscaled, "rare": _rare, "softmax": _softmax,
                 "float32": _float32, "text": _text, "misspecified": _misspecified}
