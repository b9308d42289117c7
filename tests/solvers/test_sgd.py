"""Mini-batch SGD: reaches the full-batch optimum closely, determinism, the partial_fit API."""

import numpy as np
import pytest

from softlogit.objective import LinearObjective
from softlogit.solvers import solve
from softlogit.solvers.sgd import SGDState, sgd_partial_fit

from ._problems import load, objective


@pytest.mark.parametrize("learning_rate", ["adam", "constant"])
@pytest.mark.parametrize("name", ["breast_cancer", "iris", "wine"])
def test_reaches_full_batch_objective(name, learning_rate):
    obj = objective(name, C=0.1)
    best = solve(obj, "newton", tol=1e-10).objective
    res = solve(obj, "sgd", tol=1e-12, max_iter=100, random_state=0,
                learning_rate=learning_rate)
    assert res.solver == "sgd" and res.n_iter == 100 and not res.converged
    assert res.info["epochs"] == 100
    assert res.objective <= best * (1 + 1e-3)
    assert res.objective == pytest.approx(obj.loss(res.params), rel=1e-12)


def test_deterministic_given_random_state():
    obj = objective("wine")
    a = solve(obj, "sgd", max_iter=5, tol=1e-12, random_state=7)
    b = solve(obj, "sgd", max_iter=5, tol=1e-12, random_state=7)
    c = solve(obj, "sgd", max_iter=5, tol=1e-12, random_state=8)
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)


def test_partial_fit_state_carries_over_exactly():
    obj = objective("iris")
    once, s1 = sgd_partial_fit(obj, None, n_epochs=3, random_state=0, batch_size=16)
    p, s = sgd_partial_fit(obj, None, random_state=0, batch_size=16)
    for _ in range(2):
        p, s = sgd_partial_fit(obj, p, s, batch_size=16)
    np.testing.assert_array_equal(once, p)
    assert isinstance(s, SGDState) and s.epoch == 3 == s1.epoch
    assert s.step == 3 * int(np.ceil(obj.n_samples / 16))
    # the state passed in is not modified
    p2, s2 = sgd_partial_fit(obj, p, s, batch_size=16)
    assert s.epoch == 3 and s2.epoch == 4


def test_partial_fit_over_chunks_approaches_full_optimum():
    """The documented contract: each chunk's objective carries L2 = 1/(C·n_seen)."""
    X, y, loss = load("breast_cancer")
    C = 0.1
    full = LinearObjective(X, y, loss=loss, C=C)
    best = solve(full, "newton", tol=1e-10).objective
    chunks = np.array_split(np.random.default_rng(0).permutation(len(y)), 4)
    params, state = None, None
    n_total = len(y)
    for _ in range(30):
        for rows in chunks:
            chunk = LinearObjective(X[rows], y[rows], loss=loss, C=C * n_total / len(rows))
            assert chunk.penalty.l2 == pytest.approx(full.penalty.l2)
            params, state = sgd_partial_fit(chunk, params, state, random_state=1)
    assert full.loss(params) <= best * (1 + 1e-2)


def test_float32_stays_float32():
    obj = objective("wine", dtype=np.float32)
    res = solve(obj, "sgd", max_iter=3, tol=1e-12, random_state=0)
    assert res.params.dtype == np.float32
    p, _ = sgd_partial_fit(obj, None, random_state=0)
    assert p.dtype == np.float32


def test_bad_options_are_refused():
    obj = objective("iris")
    with pytest.raises(ValueError, match="learning_rate"):
        sgd_partial_fit(obj, None, learning_rate="adagrad")
    with pytest.raises(ValueError, match="batch_size"):
        sgd_partial_fit(obj, None, batch_size=0)
    with pytest.raises(ValueError, match="does not support penalty='l1'"):
        solve(objective("iris", penalty="l1"), "sgd")
    _, state = sgd_partial_fit(obj, None)
    with pytest.raises(ValueError, match="state is for"):
        sgd_partial_fit(objective("breast_cancer"), None, state)


@pytest.mark.parametrize("loss", ["binary", "multinomial"])
def test_sparse_matches_dense_and_approaches_optimum(loss):
    from ._problems import sparse_problem

    X, y, _ = sparse_problem(loss)
    sparse_obj = LinearObjective(X, y, loss=loss, C=0.1)
    dense_obj = LinearObjective(X.toarray(), y, loss=loss, C=0.1)
    a = solve(sparse_obj, "sgd", max_iter=60, tol=1e-12, random_state=0)
    b = solve(dense_obj, "sgd", max_iter=60, tol=1e-12, random_state=0)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-8, atol=1e-10)
    best = solve(dense_obj, "newton", tol=1e-10).objective
    assert a.objective <= best * (1 + 1e-3)
