"""Dense X proven finite by its first full pass, and the objective's kept last evaluation.

The separate finiteness read is skipped for numba-dense designs
(:class:`softlogit.kernels.designs.NumbaDenseDesign`): a NaN or ±inf anywhere in X must still
be refused, with the same counted sentence, by the first ``loss_gradient`` (whatever the
row's weight, target or θ) or by any other method that reads X first.
"""

import numpy as np
import pytest

import softlogit
from softlogit.objective import LinearObjective

BAD = [np.nan, np.inf, -np.inf]


def _problem(rng, loss, dtype, order, m=37, p=5):
    X = np.asarray(rng.standard_normal((m, p)), dtype=dtype, order=order)
    y = rng.integers(0, 2 if loss == "binary" else 3, m).astype(float)
    return X, y


@pytest.mark.parametrize("loss", ["binary", "multinomial"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
def test_first_loss_gradient_refuses_each_bad_entry(loss, dtype, order):
    rng = np.random.default_rng([3, len(loss), np.dtype(dtype).itemsize, ord(order)])
    for trial in range(6):
        X, y = _problem(rng, loss, dtype, order)
        i, j = rng.integers(0, X.shape[0]), rng.integers(0, X.shape[1])
        X[i, j] = BAD[trial % 3]
        s = np.ones(X.shape[0])
        if trial >= 3:
            s[i] = 0.0  # a zero weight still makes 0·inf = NaN in G
        obj = LinearObjective(X, y, loss=loss, sample_weight=s)  # no read yet
        theta = obj.zeros() if trial % 2 else rng.standard_normal(obj.n_params)
        kind = "1 NaN and 0 infinite" if trial % 3 == 0 else "0 NaN and 1 infinite"
        with pytest.raises(ValueError, match=kind):
            obj.loss_gradient(theta)


def test_soft_targets_at_one_half_still_refuse_inf():
    """At θ = 0 every h = 1/2: with y = 1/2 each coefficient dᵢ is exactly 0."""
    X = np.ones((10, 3))
    X[4, 2] = np.inf
    obj = LinearObjective(X, np.full(10, 0.5), loss="binary")
    with pytest.raises(ValueError, match="1 infinite"):
        obj.loss_gradient(obj.zeros())


@pytest.mark.parametrize("first", ["loss", "hessian", "hessian_product", "logits", "scale",
                                   "take"])
def test_other_readers_check_first(first):
    rng = np.random.default_rng(1)
    X, y = _problem(rng, "binary", np.float64, "C")
    X[3, 1] = np.nan
    obj = LinearObjective(X, y, loss="binary")
    theta = rng.standard_normal(obj.n_params)
    calls = {"loss": lambda: obj.loss(theta), "hessian": lambda: obj.hessian(theta),
             "hessian_product": lambda: obj.hessian_product(theta, theta),
             "logits": lambda: obj.logits(theta),
             "scale": lambda: obj.design.column_scale(),
             "take": lambda: obj.design.take(np.arange(5))}
    with pytest.raises(ValueError, match="1 NaN"):
        calls[first]()


def test_overflow_of_finite_x_is_not_refused():
    """Finite X whose gradient overflows: the count finds no bad entry, the result passes."""
    X = np.full((8, 2), 1e308)
    obj = LinearObjective(X, np.ones(8), loss="binary", penalty=None)
    with np.errstate(all="ignore"):
        f, g = obj.loss_gradient(np.zeros(obj.n_params))
    assert not np.all(np.isfinite(g))
    assert obj.design._unproven is False


def test_estimator_refuses_nan_through_the_proof():
    X = np.random.default_rng(2).standard_normal((40, 3))
    X[7, 0] = np.nan
    with pytest.raises(ValueError, match="1 NaN and 0 infinite"):
        softlogit.LogisticRegression().fit(X, np.arange(40) % 2)


def test_repeated_evaluation_costs_no_pass_and_honours_a_new_penalty():
    from softlogit.objective.penalty import make_penalty

    rng = np.random.default_rng(4)
    X, y = _problem(rng, "multinomial", np.float64, "C", m=60)
    obj = LinearObjective(X, y, loss="multinomial", C=0.5)
    theta = rng.standard_normal(obj.n_params)
    f1, g1 = obj.loss_gradient(theta)
    passes = obj.design.passes
    g1[:] = 7.0  # a caller editing its copy changes nothing kept
    f2, g2 = obj.loss_gradient(theta.copy())
    assert obj.design.passes == passes
    fresh = LinearObjective(X, y, loss="multinomial", C=0.5)
    f_ref, g_ref = fresh.loss_gradient(theta)
    assert f2 == f_ref and np.array_equal(g2, g_ref)
    obj.penalty = make_penalty("l2", 3.0, None, obj.sw_sum)  # as a path does between Cs
    f3, g3 = obj.loss_gradient(theta)
    ref3 = LinearObjective(X, y, loss="multinomial", C=3.0).loss_gradient(theta)
    assert obj.design.passes == passes
    np.testing.assert_allclose(f3, ref3[0], rtol=1e-14)
    np.testing.assert_allclose(g3, ref3[1], rtol=1e-14, atol=1e-16)
    theta[0] += 1e-3
    obj.loss_gradient(theta)
    assert obj.design.passes == passes + 1
