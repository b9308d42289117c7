"""Per-pass speed of the fused kernels at a fitted optimum, against a plain read of X.

For each problem: fit the model (softlogit, default solver, ``tol=1e-6``), then time at the
fitted coefficients, interleaved so that the shared machine's disturbances hit all alike:

* ``read`` — one plain parallel read of X (a Numba sum over X on the kernels' threads and
  chunks: :func:`softlogit.kernels.dense.read_pass`; for CSR the same over ``data`` and
  ``indices``): the bandwidth floor;
* ``new`` — one fused ``loss_gradient`` (and one Hessian-vector product) of this tree's kernels;
* ``old`` — the same calls of the row-at-a-time kernels of commit ``--old`` (default: the last
  commit before the block kernels), extracted with ``git show`` into a temporary package.

Prints medians and the ratios ``read/new`` (1.0 = at the memory limit) and ``old/new``.

    python benchmarks/kernels.py [--quick] [--repeats 15] [--only binary-f64,...]
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from numba import njit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from softlogit import LogisticRegression  # noqa: E402
from softlogit.kernels import dense, designs, partition, sparse, threads, transpose  # noqa: E402
from softlogit.objective import LinearObjective  # noqa: E402

OLD_COMMIT = "514386e"


def load_old_kernels(commit):
    """The kernel modules of ``commit`` as a package ``oldkernels`` (own Numba cache dir)."""
    where = Path(tempfile.gettempdir()) / f"softlogit-oldkernels-{commit}"
    pkg = where / "oldkernels"
    pkg.mkdir(parents=True, exist_ok=True)
    listing = subprocess.run(["git", "ls-tree", "--name-only", f"{commit}:src/softlogit/kernels"],
                             cwd=ROOT, check=True, capture_output=True, text=True).stdout
    for name in listing.split():
        if not name.endswith(".py") or name == "__init__.py":
            continue
        text = subprocess.run(["git", "show", f"{commit}:src/softlogit/kernels/{name}"],
                              cwd=ROOT, check=True, capture_output=True, text=True).stdout
        text = text.replace("softlogit.kernels.", "oldkernels.")
        target = pkg / name
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
    (pkg / "__init__.py").write_text("")
    sys.path.insert(0, str(where))
    return (importlib.import_module("oldkernels.dense"),
            importlib.import_module("oldkernels.sparse"))


@njit(cache=True, nogil=True)
def _csr_read_chunks(data, indices, indptr, bounds, part_l, c0, c1):
    """Σ data + Σ indices over the rows of chunks c0..c1 (reads everything a CSR pass reads)."""
    for c in range(c0, c1):
        acc = np.zeros(8)
        iacc = 0
        a, e = indptr[bounds[c]], indptr[bounds[c + 1]]
        nz = a
        while nz + 8 <= e:
            for lane in range(8):
                acc[lane] += data[nz + lane]
                iacc += indices[nz + lane]
            nz += 8
        while nz < e:
            acc[0] += data[nz]
            iacc += indices[nz]
            nz += 1
        part_l[c] = acc.sum() + iacc


def read_csr(X, bounds):
    part = np.zeros(len(bounds) - 1)
    threads.run_chunks(_csr_read_chunks, len(bounds) - 1, X.data, X.indices, X.indptr, bounds,
                       part)
    return part.sum()


# --- problems ---------------------------------------------------------------------------------

def make_problem(name, quick):
    from sklearn.datasets import make_classification

    scale = 10 if quick else 1
    specs = {
        "binary-f64": dict(m=600_000, p=100, K=2, dtype=np.float64),
        "binary-f32": dict(m=400_000, p=80, K=2, dtype=np.float32),
        "softmax3-f64": dict(m=300_000, p=50, K=3, dtype=np.float64),  # S6's shape
        "softmax7-f64": dict(m=80_000, p=60, K=7, dtype=np.float64),
        "softmax10p100-f64": dict(m=200_000, p=100, K=10, dtype=np.float64),  # S7's shape
        "softmax10-f64": dict(m=100_000, p=60, K=10, dtype=np.float64),
        "softmax10-f32": dict(m=150_000, p=60, K=10, dtype=np.float32),
        "csr-binary": dict(m=400_000, p=20_000, K=2, dtype=np.float64, density=0.002),
        "csr-softmax5": dict(m=200_000, p=10_000, K=5, dtype=np.float64, density=0.003),
    }
    s = specs[name]
    m = s["m"] // scale
    rng = np.random.default_rng(0)
    if "density" in s:
        X = sp.random(m, s["p"], density=s["density"], format="csr", random_state=rng,
                      data_rvs=lambda k: rng.exponential(1.0, k)).astype(s["dtype"])
        w = rng.standard_normal((s["K"] if s["K"] > 2 else 1, s["p"])) * 2.0
        z = np.asarray(X @ w.T) + rng.gumbel(size=(m, w.shape[0]))
        y = (z[:, 0] > np.median(z[:, 0])).astype(int) if s["K"] == 2 else z.argmax(1)
        return X, y, s
    X, y = make_classification(n_samples=m, n_features=s["p"], n_informative=40,
                               n_redundant=10, n_classes=s["K"], n_clusters_per_class=1,
                               random_state=0)
    return np.ascontiguousarray(X, dtype=s["dtype"]), y, s


def fitted_objective(X, y, K):
    est = LogisticRegression(tol=1e-6, max_iter=500).fit(X, y)
    loss = "binary" if K == 2 else "multinomial"
    obj = LinearObjective(X, y if K == 2 else y, loss=loss,
                          n_classes=None if K == 2 else K)
    W = est.coef_.astype(np.float64)
    b = est.intercept_.astype(np.float64)
    theta = obj.pack(W if K > 2 else W.reshape(1, -1), b)
    return obj, theta, est


def calls(obj, theta, old_dense, old_sparse):
    """Closures: (read, new loss_gradient, old loss_gradient, new hessp, old hessp)."""
    X = obj.design.X
    m, p = X.shape
    W, b = obj.unpack(np.asarray(theta, dtype=np.float64))
    W = np.ascontiguousarray(W, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    dt = X.dtype
    s = np.ones(m, dt)
    K = W.shape[0]
    rng = np.random.default_rng(1)
    V = rng.standard_normal(W.shape)
    vb = rng.standard_normal(K)
    if sp.issparse(X):
        bounds = partition.nnz_bounds(X.indptr, K * p)
        Wt = np.ascontiguousarray(W.T)
        Vt = np.ascontiguousarray(V.T)
        T = transpose.Transposed(X) if sparse.uses_transpose(m, p, K) else None
        if K == 1:
            kind, yi, Y = sparse.BINARY, np.empty(0, np.intp), obj.y.astype(dt).reshape(m, 1)
            F = np.full((m, 1), 0.2, dt)
        else:
            kind, yi, Y = sparse.SOFTMAX_HARD, obj.y.astype(np.intp), np.empty((0, K), dt)
            F = np.full((m, K), 1.0 / K, dt)
        return {
            "read": lambda: read_csr(X, bounds),
            "lg_new": lambda: sparse.csr_loss_grad(X, W, b, kind, yi, Y, s, T),
            "lg_old": lambda: old_sparse.csr_loss_grad(X, Wt, b, kind, yi, Y, s, bounds),
            "hv_new": lambda: sparse.csr_hessp(X, V, vb, kind, F, s, T),
            "hv_old": lambda: old_sparse.csr_hessp(X, Vt, vb, kind, F, s, bounds),
        }
    bounds = partition.row_bounds(m, K * p)
    read_bounds = partition.row_bounds(m, p)
    out = {"read": lambda: dense.read_pass(X, read_bounds)}
    if K == 1:
        y = obj.y.astype(dt)
        f = np.full(m, 0.2, dt)
        out["lg_new"] = lambda: dense.binary_loss_grad(X, W[0], float(b[0]), y, s, bounds)
        out["lg_old"] = lambda: old_dense.binary_loss_grad(X, W[0], float(b[0]), y, s, bounds)
        out["hv_new"] = lambda: dense.binary_hessp(X, V[0], float(vb[0]), f, s, bounds)
        out["hv_old"] = lambda: old_dense.binary_hessp(X, V[0], float(vb[0]), f, s, bounds)
    else:
        yi = obj.y.astype(np.intp)
        Y = np.empty((0, K), dt)
        O = np.full((m, K), 1.0 / K, dt)
        out["lg_new"] = lambda: dense.softmax_loss_grad(X, W, b, yi, Y, True, s, bounds)
        out["lg_old"] = lambda: old_dense.softmax_loss_grad(X, W, b, yi, Y, True, s, bounds)
        out["hv_new"] = lambda: dense.softmax_hessp(X, V, vb, O, s, bounds)
        out["hv_old"] = lambda: old_dense.softmax_hessp(X, V, vb, O, s, bounds)
    return out


def interleaved_times(fns, repeats):
    """Per call: median wall time, and the least CPU time of the process (all threads).

    On a shared machine the wall time includes time the threads were descheduled; the CPU
    time does not (memory stalls still count), so its minimum is the steadier figure.
    """
    for fn in fns.values():
        fn()  # warm-up (compilation, page faults)
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="problems 10x smaller")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--old", default=OLD_COMMIT, help="commit of the kernels to compare with")
    ap.add_argument("--only", default="", help="comma-separated problem names")
    ap.add_argument("--block-bytes", type=int, default=None,
                    help="override partition.BLOCK_BYTES (bytes of X per row block)")
    args = ap.parse_args(argv)
    if args.block_bytes:
        partition.BLOCK_BYTES = args.block_bytes
    old_dense, old_sparse = load_old_kernels(args.old)
    names = ["binary-f64", "binary-f32", "softmax3-f64", "softmax7-f64", "softmax10-f64",
             "softmax10p100-f64", "softmax10-f32", "csr-binary", "csr-softmax5"]
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"numba threads {threads.n_threads()}, repeats {args.repeats}, old kernels {args.old}, "
          f"block {partition.BLOCK_BYTES} bytes")
    print("Wall: median ms per call. CPU: least process CPU ms per call (all threads).\n")
    print("| problem | MB of X | read wall | new loss_grad wall | **read/new** wall | CPU "
          "| old loss_grad wall | old/new wall | CPU | new hessp wall | read/hessp wall | CPU "
          "| old hessp wall |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        X, y, spec = make_problem(name, args.quick)
        obj, theta, est = fitted_objective(X, y, spec["K"])
        fns = calls(obj, theta, old_dense, old_sparse)
        # the new and old kernels agree at the optimum (a check that the right thing is timed)
        new, old = fns["lg_new"](), fns["lg_old"]()
        assert np.allclose(new[1], old[1], rtol=1e-6, atol=1e-9 * np.abs(old[1]).max())
        t, c = interleaved_times(fns, args.repeats)
        mb = (X.data.nbytes + X.indices.nbytes if sp.issparse(X) else X.nbytes) / 1e6
        print(f"| {name} {X.shape[0]}×{X.shape[1]} {X.dtype} | {mb:.0f} | "
              f"{t['read']*1e3:.2f} | {t['lg_new']*1e3:.2f} | **{t['read']/t['lg_new']:.2f}** | "
              f"{c['read']/c['lg_new']:.2f} | "
              f"{t['lg_old']*1e3:.2f} | {t['lg_old']/t['lg_new']:.2f} | "
              f"{c['lg_old']/c['lg_new']:.2f} | "
              f"{t['hv_new']*1e3:.2f} | {t['read']/t['hv_new']:.2f} | "
              f"{c['read']/c['hv_new']:.2f} | {t['hv_old']*1e3:.2f} |", flush=True)


if __name__ == "__main__":
    main()
