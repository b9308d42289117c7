"""GPU benchmark of the array-API backend (issue 12): per-pass speed and time to a 1e-8 gap.

For each library asked for (PyTorch, CuPy; array-api-strict or NumPy as a CPU dry run), on one
problem held on that library's device, it prints:

1. the device's copy bandwidth, measured: ``2·bytes(X) / time`` of a copy of X (a copy reads
   and writes X once each: STREAM's "copy" convention);
2. the time of one ``loss_gradient`` at a fitted point (DESIGN §5: never at θ = 0), the passes
   over X it made, and the rate it reads X at as a fraction of the copy bandwidth. The target
   is ≥ 0.7 on 10M × 100 float32. The array-API path reads X twice (``X Wᵀ``, then ``Gᵀ X``),
   so about 0.5 is its ceiling; docs/gpu.md says what a fused kernel would change;
3. the time to a 1e-8 relative objective gap ``(J(θ) − J*) / max(1, |J*|)`` of: softlogit on
   the device (``solver="auto"`` and ``"lbfgs"``), softlogit on the host CPU held to
   ``--cpu-threads`` threads (2: the development machine) on a host copy of the same X, and
   scikit-learn's array-API L-BFGS (``LogisticRegression(solver="lbfgs")`` under
   ``array_api_dispatch=True``) on the same device arrays. ``J`` is the float64 objective
   (same C, same scaling for all: scikit-learn's), evaluated on the device in float64 when it
   has float64, else on the host; ``J*`` is a float64 Newton fit to ``tol=1e-12``. Each fitter
   is run once untimed first (kernel compilation, cuBLAS/cuDNN handles, Numba's cache), then
   with tightening ``tol`` until the gap is ≤ 1e-8: the time of the first fit that gets there.
   The target: the device fit ≥ 10× faster than the CPU fit.

Usage (GPU; the first line runs every GPU library installed, then prints the summary)::

    python benchmarks/gpu_bench.py --m 10000000 --p 100 --json gpu.json
    python benchmarks/gpu_bench.py --library torch --device cuda --m 10000000 --p 100 --K 10
    python benchmarks/gpu_bench.py --library cupy --m 10000000 --p 100 --dtype float64

Dry run on a CPU (seconds; proves the script end to end, measures nothing about a GPU)::

    python benchmarks/gpu_bench.py --dry-run
    python benchmarks/gpu_bench.py --library numpy --m 20000 --p 20

Results go in BENCHMARKS.md, section "GPU (issue 12)", with the card named.
"""

from __future__ import annotations

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")  # scikit-learn's array-API dispatch requires it

import argparse  # noqa: E402
import contextlib  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

GAP = 1e-8
TOLS = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10)
GPU_LIBRARIES = ("torch", "cupy")


def make_problem(m, p, K, seed=0):
    """Standard normal features (float32) and labels drawn from a logistic/softmax model."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, p), dtype=np.float32)
    if K == 2:
        w = rng.standard_normal(p) / np.sqrt(p) * 2
        y = (rng.random(m) < 1 / (1 + np.exp(-(X @ w)))).astype(np.int64)
    else:
        W = rng.standard_normal((K, p)) / np.sqrt(p) * 2
        Z = X @ W.T
        Z -= Z.max(axis=1, keepdims=True)
        P = np.exp(Z)
        P /= P.sum(axis=1, keepdims=True)
        y = (P.cumsum(axis=1) < rng.random((m, 1))).sum(axis=1).astype(np.int64)
    return X, y


class Device:
    """One library's arrays on one device: host→device copies, synchronisation, a copy of X."""

    def __init__(self, library, device=None):
        self.library = library
        if library == "torch":
            import torch
            self.mod = torch
            self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
            self.gpu = str(self.device).startswith("cuda")
            self.name = (f"{torch.cuda.get_device_name(self.device)} (torch {torch.__version__})"
                         if self.gpu else f"CPU (torch {torch.__version__})")
        elif library == "cupy":
            import cupy
            self.mod, self.device, self.gpu = cupy, None, True
            props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
            self.name = f"{props['name'].decode()} (cupy {cupy.__version__})"
        elif library == "array_api_strict":
            import array_api_strict
            self.mod, self.gpu = array_api_strict, False
            self.device = array_api_strict.Device(device or "device1")
            self.name = f"array-api-strict {self.device} (simulated on the CPU)"
        elif library == "numpy":
            self.mod, self.device, self.gpu = np, None, False
            self.name = "host NumPy (softlogit's NumPy/Numba path; dry run)"
        else:
            raise SystemExit(f"unknown library {library!r}")

    def put(self, a):
        if self.library in ("cupy", "numpy"):
            return self.mod.asarray(a)
        return self.mod.asarray(a, device=self.device)

    def sync(self):
        if self.library == "torch" and self.gpu:
            self.mod.cuda.synchronize()
        elif self.library == "cupy":
            self.mod.cuda.Device().synchronize()

    def copy(self, X):
        if self.library == "torch":
            return X.clone()
        if self.library in ("cupy", "numpy"):
            return X.copy()
        return self.mod.asarray(X, copy=True)

    def has_float64(self):
        if self.library == "torch" and str(self.device).startswith("mps"):
            return False
        return True


def timed(fn, repeat, sync):
    """Median wall time of ``fn()`` over ``repeat`` runs (after one untimed warm-up run)."""
    fn()
    sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def to_numpy(a):
    if isinstance(a, np.ndarray):
        return a
    from softlogit.backends.xp.transfer import to_host
    return to_host(a)


def dispatch():
    import sklearn
    return sklearn.config_context(array_api_dispatch=True)


def judge(dev, X, Xh, y, yd, K, C):
    """``(gap(coef, intercept), J*, where)``: the float64 objective and its optimum.

    On the device in float64 when it has float64 (no host copy of a 10M-row X in float64),
    else on the host. ``J*`` from Newton's method at ``tol=1e-12`` on that objective.
    """
    from softlogit import LogisticRegression, SoftmaxRegression
    from softlogit.data import as_design
    from softlogit.objective import LinearObjective

    Est = LogisticRegression if K == 2 else SoftmaxRegression
    loss = "binary" if K == 2 else "multinomial"
    on_device = dev.library != "numpy" and dev.has_float64()
    if on_device:
        from softlogit.backends.xp.transfer import namespace
        xp = namespace(X)
        X64 = xp.astype(X, xp.float64)
        targets = xp.astype(yd, xp.float64) if K == 2 else yd
        ctx, where = dispatch(), f"{dev.library} device, float64"
    else:
        X64, targets = Xh.astype(np.float64), (y.astype(np.float64) if K == 2 else y)
        ctx, where = contextlib.nullcontext(), "host, float64"
    obj64 = LinearObjective(as_design(X64), targets, loss=loss, n_classes=K, C=C)
    with ctx:
        ref = Est(C=C, solver="newton", tol=1e-12, max_iter=200).fit(X64, yd if on_device
                                                                       else y)
    f_star = obj64.loss(obj64.pack(to_numpy(ref.coef_), to_numpy(ref.intercept_)))

    def gap(coef, intercept):
        theta = obj64.pack(np.asarray(coef, np.float64), np.asarray(intercept, np.float64))
        return (obj64.loss(theta) - f_star) / max(1.0, abs(f_star))

    return gap, f_star, where


def time_to_gap(fit, gap, label, tols):
    """Fit once untimed (warm-up), then with tightening tolerances until the gap is ≤ GAP;
    returns ``(seconds, tol, gap, n_iter)`` of the first such fit (NaN seconds if none)."""
    fit(1e-2)
    g = float("nan")
    for tol in tols:
        t0 = time.perf_counter()
        coef, intercept, n_iter = fit(tol)
        elapsed = time.perf_counter() - t0
        g = gap(coef, intercept)
        print(f"  {label:<40} tol={tol:.0e} {elapsed:9.3f} s  {n_iter:4d} it  gap {g:.2e}")
        if g <= GAP:
            return elapsed, tol, g, n_iter
    return float("nan"), None, g, None


def run_library(library, device, args):
    """Every measurement of the module docstring for one library; returns a JSON-able dict."""
    from softlogit import LogisticRegression, SoftmaxRegression
    from softlogit.data import as_design
    from softlogit.objective import LinearObjective

    dev = Device(library, device)
    Xh, y = make_problem(args.m, args.p, args.K)
    Xh = Xh.astype(args.dtype)
    X, yd = dev.put(Xh), dev.put(y)
    nbytes = Xh.nbytes
    print(f"\n=== {dev.name}")
    print(f"problem     {args.m} × {args.p} {args.dtype}, K={args.K}, C={args.C}, "
          f"X = {nbytes / 1e6:.1f} MB")

    # 1. copy bandwidth
    t_copy = timed(lambda: dev.copy(X), args.repeat, dev.sync)
    copy_bw = 2 * nbytes / t_copy
    print(f"copy        {t_copy * 1e3:9.3f} ms per copy of X: {copy_bw / 1e9:.3g} GB/s "
          "(read + write)")

    Est = LogisticRegression if args.K == 2 else SoftmaxRegression
    ctx = dispatch if library != "numpy" else contextlib.nullcontext
    gap, f_star, where = judge(dev, X, Xh, y, yd, args.K, args.C)

    # 2. one loss_gradient at a fitted point, on the device
    with ctx(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # float32 may stop at its precision: still a fitted point
        est = Est(C=args.C, tol=1e-6).fit(X, yd)
    design = as_design(X)
    loss = "binary" if args.K == 2 else "multinomial"
    targets = (dev.put(y.astype(args.dtype)) if args.K == 2 else yd)
    obj = LinearObjective(design, targets, loss=loss, n_classes=args.K, C=args.C)
    theta = obj.pack(to_numpy(est.coef_), to_numpy(est.intercept_))
    passes0 = design.passes
    # the objective keeps its last data term: drop it so that every timed call makes its pass
    t_lg = timed(lambda: (obj.forget_data_terms(), obj.loss_gradient(theta)),
                 args.repeat, dev.sync)
    passes = (design.passes - passes0) / (args.repeat + 1)
    read_bw = nbytes / t_lg
    frac = read_bw / copy_bw
    print(f"loss+grad   {t_lg * 1e3:9.3f} ms, {passes:g} passes over X ({design.kind}): reads X "
          f"at {read_bw / 1e9:.3g} GB/s = {frac:.2f} of the copy bandwidth (target ≥ 0.7)")

    # 3. time to a 1e-8 gap
    print(f"time to a {GAP:g} objective gap (J* = {f_star:.12g}, judged on the {where}):")
    tols = tuple(t for t in TOLS if t <= args.start_tol)
    results = {}

    def device_fit(solver):
        def fit(tol):
            with ctx(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a float32 fit may stop at its precision
                e = Est(C=args.C, solver=solver, tol=tol, max_iter=10_000).fit(X, yd)
                dev.sync()
            return to_numpy(e.coef_), to_numpy(e.intercept_), int(to_numpy(e.n_iter_)[0])
        return fit

    for solver in ("auto", "lbfgs"):
        results[f"softlogit {library} {solver}"] = time_to_gap(
            device_fit(solver), gap, f"softlogit on {library}, {solver}", tols)
    if not args.skip_cpu:
        from threadpoolctl import threadpool_limits

        def cpu_fit(tol):
            import numba
            with threadpool_limits(args.cpu_threads), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                numba.set_num_threads(min(args.cpu_threads, numba.config.NUMBA_NUM_THREADS))
                e = Est(C=args.C, tol=tol, max_iter=10_000).fit(Xh, y)
            return e.coef_, e.intercept_, int(e.n_iter_[0])
        results["softlogit CPU"] = time_to_gap(
            cpu_fit, gap, f"softlogit host CPU, {args.cpu_threads} threads", tols)
    if not args.skip_sklearn:
        import sklearn
        from sklearn.linear_model import LogisticRegression as SkLR

        def sk_fit(tol):
            with ctx(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                e = SkLR(C=args.C, solver="lbfgs", tol=tol, max_iter=10_000).fit(X, yd)
                dev.sync()
            # Same J: scikit-learn's binary and multinomial losses and C scaling are ours.
            return to_numpy(e.coef_), to_numpy(e.intercept_), int(to_numpy(e.n_iter_)[0])
        label = f"scikit-learn {sklearn.__version__} lbfgs on {library}"
        try:
            results["scikit-learn lbfgs"] = time_to_gap(sk_fit, gap, label, tols)
        except Exception as exc:  # report, do not hide: a peer that cannot run is a finding
            print(f"  {label} failed: {type(exc).__name__}: {exc}")
            results["scikit-learn lbfgs"] = (float("nan"), None, float("nan"), None)

    base = results.get("softlogit CPU", (float("nan"),))[0]
    print("summary (time to the gap; CPU / this > 1: faster than the CPU fit; target ≥ 10):")
    for name, (t, tol, g, _) in results.items():
        ratio = base / t if t == t and base == base else float("nan")
        print(f"  {name:<40} {t:9.3f} s   CPU / this = {ratio:7.2f}×")
    return {"device": dev.name, "library": library, "gpu": dev.gpu, "m": args.m, "p": args.p,
            "K": args.K, "dtype": args.dtype, "C": args.C, "copy_GBps": copy_bw / 1e9,
            "loss_gradient_ms": t_lg * 1e3, "loss_gradient_passes": passes,
            "fraction_of_copy_bw": frac, "J_star": f_star, "judged_on": where,
            "time_to_gap_s": {k: v[0] for k, v in results.items()},
            "tol_reached": {k: v[1] for k, v in results.items()}}


def libraries(asked):
    """The libraries to run: those asked for, or (``auto``) every GPU library installed with a
    GPU, else the array-api-strict dry run."""
    if asked != "auto":
        return [asked]
    found = []
    if importlib.util.find_spec("torch") is not None:
        import torch
        if torch.cuda.is_available():
            found.append("torch")
    if importlib.util.find_spec("cupy") is not None:
        try:
            import cupy
            if cupy.cuda.runtime.getDeviceCount() > 0:
                found.append("cupy")
        except Exception as exc:  # no driver, no device: say so and go on
            print(f"cupy present but no usable GPU: {type(exc).__name__}: {exc}")
    if not found:
        print("no GPU library with a GPU found: dry run with array-api-strict on its simulated "
              "device (nothing here measures a GPU)")
        found.append("array_api_strict")
    return found


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--library", default="auto",
                    choices=["auto", *GPU_LIBRARIES, "array_api_strict", "numpy"])
    ap.add_argument("--device", default=None, help="cuda, cuda:1, cpu, device1 … (library "
                                                   "default)")
    ap.add_argument("--m", type=int, default=10_000_000)
    ap.add_argument("--p", type=int, default=100)
    ap.add_argument("--K", type=int, default=2, help="classes (2: the sigmoid model)")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--C", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--start-tol", type=float, default=1e-4,
                    help="the loosest tol of the time-to-gap ladder")
    ap.add_argument("--cpu-threads", type=int, default=2)
    ap.add_argument("--skip-cpu", action="store_true")
    ap.add_argument("--skip-sklearn", action="store_true")
    ap.add_argument("--dry-run", action="store_true",
                    help="a small problem (4000 × 20, 3 repeats) to prove the script runs")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)
    if args.dry_run:
        args.m, args.p, args.repeat = min(args.m, 4000), min(args.p, 20), min(args.repeat, 3)
    figures = [run_library(lib, args.device, args) for lib in libraries(args.library)]
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(figures, fh, indent=1)
    return figures


if __name__ == "__main__":
    main()
