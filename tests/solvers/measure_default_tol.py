"""How the default ``tol`` was chosen (not a test: a report).

Run: ``OMP_NUM_THREADS=1 .venv/bin/python tests/solvers/measure_default_tol.py``

For each problem of a parity suite (the bundled sets standardised, as in the parity tests, and
real tables as an analyst gives them: statsmodels' spector and anes96 unscaled, penguins with
the CLI's encoding), with L2 (C=1) and without a penalty, it prints the relative coefficient
error ``‖θ − θ*‖ / ‖θ*‖`` (intercepts included) of scikit-learn's default
``LogisticRegression()`` and of softlogit's defaults at each candidate ``tol`` (the default
``max_iter``), where ``θ*`` is softlogit's Newton fit at ``tol=1e-12``. The default is the
largest ``tol`` at which softlogit is at least as accurate as scikit-learn's default on every
problem.
"""

import sys
import warnings

import numpy as np
import sklearn.linear_model as sklm

sys.path.insert(0, __import__("os").path.dirname(__file__))
from _problems import load  # noqa: E402

import softlogit  # noqa: E402

CANDIDATES = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8)


def problems():
    for name in ("breast_cancer", "iris", "wine", "digits"):
        X, y, _ = load(name)
        yield name, X, y
    import statsmodels.api as sm

    d = sm.datasets.spector.load_pandas().data
    yield "spector (raw)", d[["GPA", "TUCE", "PSI"]].to_numpy(), d["GRADE"].to_numpy()
    d = sm.datasets.anes96.load_pandas().data
    yield ("anes96 (raw)", d.drop(columns=["vote", "PID"]).to_numpy(),
           d["vote"].to_numpy())
    d = sm.datasets.anes96.load_pandas().data
    yield "anes96 PID (raw)", d.drop(columns=["PID"]).to_numpy(), d["PID"].to_numpy()
    import palmerpenguins

    from softlogit.io.encoding import TableEncoder

    p = palmerpenguins.load_penguins()
    X = TableEncoder(impute="mean").fit_transform(p.drop(columns="species"))
    yield "penguins (encoded)", X, p["species"].to_numpy()


def params(est):
    return np.concatenate([np.ravel(est.coef_), np.ravel(est.intercept_)])


def error(est, ref):
    return float(np.linalg.norm(params(est) - ref) / np.linalg.norm(ref))


def main():
    header = f"{'problem':<20} {'penalty':<7} {'sklearn':>9} " + " ".join(
        f"{t:>9.0e}" for t in CANDIDATES)
    print(header)
    worst_ok = {t: True for t in CANDIDATES}
    for name, X, y in problems():
        for penalty in ("l2", None):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exact = softlogit.LogisticRegression(penalty=penalty, solver="newton",
                                                     tol=1e-12, max_iter=500).fit(X, y)
                if exact.fit_report_.info.get("separable"):
                    continue
                ref = params(exact)
                sk = error(sklm.LogisticRegression(C=1.0 if penalty else np.inf).fit(X, y), ref)
                ours = [error(softlogit.LogisticRegression(penalty=penalty, tol=t).fit(X, y),
                              ref) for t in CANDIDATES]
            for t, e in zip(CANDIDATES, ours):
                worst_ok[t] &= e <= max(sk, 1e-9)
            print(f"{name:<20} {str(penalty):<7} {sk:9.1e} " + " ".join(f"{e:9.1e}"
                                                                        for e in ours))
    good = [t for t in CANDIDATES if worst_ok[t]]
    print("largest tol at least as accurate as scikit-learn's default everywhere:",
          max(good) if good else "none")


if __name__ == "__main__":
    main()
