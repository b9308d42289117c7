"""The null-model cold start of the Newton solvers (``LinearObjective.null_start``).

The data terms it keeps for θ = 0 and θ₀ are formed from ``Design.target_sums`` and the class
totals instead of a pass at each point: they must equal the plain reference path's
``loss_gradient`` at both points (an independent computation: logits, loss and ``Gᵀ X`` by
NumPy/SciPy), for both losses, hard and soft targets, weights, float32/float64, C/F order and
CSR; θ₀ must be the intercept-only optimum (its intercept gradient 0), and all of it one pass.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from softlogit.objective import LinearObjective
from softlogit.solvers import solve


def _data(rng, m=301, p=7, dtype=np.float64, order="C", sparse=False):
    X = rng.standard_normal((m, p)) * rng.uniform(0.1, 5.0, p) + rng.normal(0, 2, p)
    if sparse:
        X[rng.random(X.shape) < 0.6] = 0.0
        return sp.csr_matrix(X.astype(dtype))
    return np.asarray(X, dtype=dtype, order=order)


def _targets(rng, loss, target, m, K=4):
    if loss == "binary":
        y = (rng.random(m) < 0.15).astype(float)  # imbalanced: θ₀ is far from 0
        return y if target == "hard" else np.clip(y * 0.8 + rng.random(m) * 0.2, 0, 1)
    labels = rng.choice(K, size=m, p=[0.6, 0.25, 0.1, 0.05])
    if target == "hard":
        return labels
    Y = np.eye(K)[labels] * 0.7 + rng.dirichlet(np.ones(K), size=m) * 0.3
    Y = Y / Y.sum(axis=1, keepdims=True)
    return Y * (1 + rng.uniform(-9e-7, 9e-7, (m, 1)))  # rows sum to 1 within the 1e-6 allowed


CASES = [(loss, target, dtype, layout)
         for loss in ("binary", "multinomial") for target in ("hard", "soft")
         for dtype in (np.float32, np.float64) for layout in ("C", "F", "csr")]


@pytest.mark.parametrize("order", ["C", "F"])
def test_one_read_of_x_whatever_its_order(order, monkeypatch):
    """F-ordered X goes through the kernel in C-ordered row blocks, like the fused passes:
    the pass is the finiteness proof, no separate check reads X."""
    rng = np.random.default_rng(10)
    X = _data(rng, m=5000, order=order)
    obj = LinearObjective(X, (rng.random(5000) < 0.2).astype(float))
    checks = []
    monkeypatch.setattr(obj.design, "check_finite", lambda: checks.append(1))
    obj.null_start()
    assert obj.design.passes == 1 and not checks


@pytest.mark.parametrize("loss,target,dtype,layout", CASES)
def test_kept_terms_equal_the_reference_evaluation(loss, target, dtype, layout):
    rng = np.random.default_rng([len(loss), len(target), np.dtype(dtype).itemsize, ord(layout[0])])
    X = _data(rng, dtype=dtype, order=layout if layout != "csr" else "C", sparse=layout == "csr")
    y = _targets(rng, loss, target, X.shape[0])
    s = rng.uniform(0.0, 3.0, X.shape[0])
    s[:5] = 0.0
    kw = dict(loss=loss, sample_weight=s, C=0.3)
    obj = LinearObjective(X, y, **kw)
    ref = LinearObjective(X, y, backend="reference", **kw)
    before = obj.design.passes
    theta0 = obj.null_start()
    assert obj.design.passes - before == 1  # one pass for both points
    rtol = 1e-5 if dtype == np.float32 else 1e-11
    for theta in (obj.zeros(), theta0):
        f, g = obj.loss_gradient(theta)
        f_ref, g_ref = ref.loss_gradient(theta)
        assert f == pytest.approx(f_ref, rel=rtol)
        np.testing.assert_allclose(g, g_ref, rtol=rtol, atol=rtol * np.abs(g_ref).max())
    assert obj.design.passes - before == 1  # both answered from what null_start kept
    W, b = obj.unpack(theta0)
    assert not np.any(W) and np.all(np.isfinite(b))
    # θ₀ is the intercept-only optimum: its intercept gradient vanishes, and J(θ₀) ≤ J(0)
    _, gb = ref.unpack(ref.gradient(theta0))
    assert np.abs(gb).max() < (1e-5 if dtype == np.float32 else 1e-12)
    assert ref.loss(theta0) <= ref.loss(ref.zeros())


def test_binary_intercept_is_the_log_odds_of_the_weighted_rate():
    rng = np.random.default_rng(5)
    X = _data(rng)
    y = (rng.random(X.shape[0]) < 0.02).astype(float)
    s = rng.uniform(0.5, 2.0, X.shape[0])
    rate = float(s @ y / s.sum())
    theta0 = LinearObjective(X, y, sample_weight=s).null_start()
    assert theta0[-1] == pytest.approx(np.log(rate / (1 - rate)), rel=1e-12)


def test_softmax_intercepts_are_centred_log_class_totals():
    rng = np.random.default_rng(6)
    X = _data(rng)
    y = rng.choice(3, size=X.shape[0], p=[0.7, 0.2, 0.1])
    obj = LinearObjective(X, y, loss="multinomial")
    _, b = obj.unpack(obj.null_start())
    logn = np.log(np.bincount(y, minlength=3))
    np.testing.assert_allclose(b, logn - logn.mean(), rtol=1e-12)


@pytest.mark.parametrize("case", ["no intercept", "one binary class", "empty softmax class",
                                  "all weight on one class", "one class, uneven weights"])
def test_no_null_start_where_it_does_not_exist(case):
    rng = np.random.default_rng(7)
    X = _data(rng)
    m = X.shape[0]
    if case == "no intercept":
        obj = LinearObjective(X, (rng.random(m) < 0.3).astype(float), fit_intercept=False)
    elif case == "one binary class":
        obj = LinearObjective(X, np.ones(m))
    elif case == "empty softmax class":
        obj = LinearObjective(X, rng.integers(0, 2, m), loss="multinomial", n_classes=3)
    elif case == "one class, uneven weights":  # S − N is rounding, not a class of weight
        obj = LinearObjective(X, np.ones(m), sample_weight=rng.uniform(0.1, 3.0, m))
    else:
        y = (np.arange(m) % 2).astype(float)
        obj = LinearObjective(X, y, sample_weight=y)  # every weighted row is positive
    before = obj.design.passes
    assert obj.null_start() is None
    # no intercept: nothing read; else the pass is made and ∇J(0) kept for the stopping rule
    read = 0 if case == "no intercept" else 1
    assert obj.design.passes == before + read
    obj.gradient(obj.zeros())
    assert obj.design.passes == before + 1


@pytest.mark.parametrize("solver", ["newton", "subsampled-newton", "newton-cd"])
def test_newton_solvers_start_there_and_reach_the_same_optimum(solver):
    rng = np.random.default_rng(8)
    X = _data(rng, m=12_000, p=6)
    y = (rng.random(12_000) < 1 / (1 + np.exp(4 - X[:, 0] * 0.3))).astype(float)
    penalty = "l1" if solver == "newton-cd" else "l2"
    obj = LinearObjective(X, y, penalty=penalty, C=0.5)
    res = solve(obj, solver, tol=1e-10, random_state=0)
    first = res.objective_history[0]
    assert first == pytest.approx(obj.objective_value(obj.null_start()), rel=1e-12)
    assert first < obj.objective_value(obj.zeros())
    ref = solve(LinearObjective(X, y, penalty=penalty, C=0.5), "proximal" if penalty == "l1"
                else "lbfgs", tol=1e-10, max_iter=5000)
    assert res.converged
    assert obj.objective_value(res.params) <= obj.objective_value(ref.params) + 1e-12


def test_a_nan_in_x_is_refused_by_the_null_start_pass():
    rng = np.random.default_rng(9)
    X = _data(rng)
    X[17, 3] = np.nan
    obj = LinearObjective(X, (rng.random(X.shape[0]) < 0.3).astype(float))  # no read yet
    with pytest.raises(ValueError, match="1 NaN"):
        obj.null_start()


def test_forgotten_terms_cost_a_pass_again():
    """What the benchmarks' per-pass timing relies on (benchmarks/run.py fresh_loss_gradient)."""
    rng = np.random.default_rng(11)
    obj = LinearObjective(_data(rng), (rng.random(301) < 0.3).astype(float))
    theta0 = obj.null_start()
    obj.loss_gradient(theta0)
    assert obj.design.passes == 1
    obj.forget_data_terms()
    obj.loss_gradient(theta0)
    assert obj.design.passes == 2
