"""Per-pass speed of the CSR kernels against SciPy's own products, in the same process.

Problems: the suite's S11 (binary, 60,000 × 20,000, ~50 stored entries a row) at full size and
at 2,000 and 6,000 rows (the size of its quick version and of row samples), and with ``--b4``
B4 (softmax K = 5, 200,000 × 100,000). Coefficients: for S11 the fitted optimum (softlogit,
``tol=1e-6``); for B4 random N(0, 0.5²) coefficients (its fit takes minutes; the CSR kernels'
cost hardly depends on the logits).

Each call is timed interleaved with the others, ``--repeats`` times (median wall ms; least
process CPU ms across all threads in brackets):

* ``scipy`` — ``X @ Wᵀ`` plus ``X.T @ R``: the two sparse products a reference pass makes
  (SciPy runs them on one thread);
* ``loss_grad``, ``hessp``, ``logits`` — this tree's kernels through the design's hooks
  (``fused_loss_gradient``, ``fused_hessian_product``, ``dot``);
* ``old loss_grad``, ``old hessp`` — the kernels of commit ``--old`` (default: the last commit
  before the two-phase CSR kernels), extracted by ``git show``.

It also prints the path each shape takes and the build time and bytes of the CSC copy.

    python benchmarks/csr_kernels.py [--repeats 11] [--b4] [--old COMMIT]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import problems  # noqa: E402
from kernels import load_old_kernels  # noqa: E402

from softlogit import LogisticRegression  # noqa: E402
from softlogit.kernels import partition, sparse, threads  # noqa: E402
from softlogit.kernels.designs import NumbaCSRDesign  # noqa: E402

OLD_COMMIT = "23a2e04"


def timed(fns, repeats):
    """Median wall and least CPU seconds per call, interleaved (first call is a warm-up)."""
    for fn in fns.values():
        fn()
    wall = {k: [] for k in fns}
    cpu = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            wall[k].append(time.perf_counter() - t0)
            cpu[k].append(time.process_time() - c0)
    return ({k: float(np.median(v)) for k, v in wall.items()},
            {k: float(np.min(v)) for k, v in cpu.items()})


def calls(X, y, W, b, old_sparse):
    """The timed closures for CSR X, targets y and coefficients W (K, p), b (K,)."""
    m, p = X.shape
    K = W.shape[0]
    loss = "binary" if K == 1 else "multinomial"
    design = NumbaCSRDesign(X)
    s = np.ones(m, X.dtype)
    rng = np.random.default_rng(1)
    V = rng.standard_normal(W.shape)
    vb = rng.standard_normal(K)
    F = np.full((m, K), 0.2 if K == 1 else 1.0 / K, X.dtype)
    R = rng.standard_normal((m, K)).astype(X.dtype)
    Wx = W.astype(X.dtype)
    t0 = time.perf_counter()
    design.fused_loss_gradient(loss, W, b, y, s)  # builds the CSC copy when the path needs it
    first = time.perf_counter() - t0
    Wt, Vt = np.ascontiguousarray(W.T), np.ascontiguousarray(V.T)
    bounds = partition.nnz_bounds(X.indptr, K * p)
    if K == 1:
        kind, yi, Y = sparse.BINARY, np.empty(0, np.intp), y.astype(X.dtype).reshape(m, 1)
    else:
        kind, yi, Y = sparse.SOFTMAX_HARD, y.astype(np.intp), np.empty((0, K), X.dtype)
    fns = {
        "scipy": lambda: (X @ Wx.T, X.T @ R),
        "loss_grad": lambda: design.fused_loss_gradient(loss, W, b, y, s),
        "hessp": lambda: design.fused_hessian_product(loss, F, V, vb, s),
        "logits": lambda: design.dot(W),
        "old loss_grad": lambda: old_sparse.csr_loss_grad(X, Wt, b, kind, yi, Y, s, bounds),
        "old hessp": lambda: old_sparse.csr_hessp(X, Vt, vb, kind, F, s, bounds),
    }
    new, old = fns["loss_grad"](), fns["old loss_grad"]()
    scale = np.abs(old[1]).max()
    assert np.allclose(new[1], old[1], rtol=1e-9, atol=1e-12 * scale), "kernels disagree"
    assert np.isclose(new[0], old[0], rtol=1e-12)
    return fns, design, first


def s11_rows(rows_list):
    pr = problems.make("S11")
    est = LogisticRegression(tol=1e-6, max_iter=500).fit(pr.X, pr.y)
    W = est.coef_.astype(np.float64).reshape(1, -1)
    b = est.intercept_.astype(np.float64).reshape(1)
    y = pr.y.astype(np.float64)
    for rows in rows_list:
        yield f"S11 {rows}×{pr.X.shape[1]}", pr.X[:rows], y[:rows], W, b


def b4():
    pr = problems.make("B4")
    K, p = pr.n_classes, pr.X.shape[1]
    rng = np.random.default_rng(2)
    yield (f"B4 {pr.X.shape[0]}×{p} K={K}", pr.X, pr.y, 0.5 * rng.standard_normal((K, p)),
           np.zeros(K))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=11)
    ap.add_argument("--b4", action="store_true", help="also B4 (softmax K=5, 10 M entries)")
    ap.add_argument("--old", default=OLD_COMMIT)
    args = ap.parse_args(argv)
    _, old_sparse = load_old_kernels(args.old)
    print(f"# numba threads {threads.n_threads()}, repeats {args.repeats}, old {args.old}, "
          f"load {open('/proc/loadavg').read().split()[:3]}")
    print("Median wall ms (least process CPU ms).\n")
    cols = ["scipy", "loss_grad", "hessp", "logits", "old loss_grad", "old hessp"]
    print("| problem | nnz | path | CSC copy: build ms, MB | " + " | ".join(cols)
          + " | scipy/loss_grad | old/new loss_grad | old/new hessp |")
    print("|---" * (len(cols) + 7) + "|")
    problems_ = list(s11_rows([2_000, 6_000, 60_000]))
    if args.b4:
        problems_ += list(b4())
    for name, X, y, W, b in problems_:
        m, p = X.shape
        fns, design, first = calls(X, y, W, b, old_sparse)
        wall, cpu = timed(fns, args.repeats)
        two = sparse.uses_transpose(m, p, W.shape[0])
        copy = (f"{first * 1e3:.0f} (with one pass), {design.transposed_nbytes / 1e6:.0f}"
                if two else "–")
        cells = " | ".join(f"{wall[k] * 1e3:.2f} ({cpu[k] * 1e3:.1f})" for k in cols)
        print(f"| {name} | {X.nnz:,} | {'two-phase' if two else 'fused'} | {copy} | {cells} | "
              f"{wall['scipy'] / wall['loss_grad']:.2f} | "
              f"{wall['old loss_grad'] / wall['loss_grad']:.2f} | "
              f"{wall['old hessp'] / wall['hessp']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
