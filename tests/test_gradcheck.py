"""Tests of softlogit.check_gradient: it passes correct objectives and catches wrong ones."""

import numpy as np
import pytest

from softlogit import GradientCheck, LinearObjective, check_gradient


def Obj(X, y, **options):
    """A LinearObjective on the reference (NumPy/SciPy) backend unless a backend is given: these
    tests pin down the core; registered fast backends are compared with it separately."""
    options.setdefault("backend", "reference")
    return LinearObjective(X, y, **options)


def _problem(loss, seed=0, m=50, p=4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, p))
    y = rng.integers(0, 2 if loss == "binary" else 3, m)
    return X, y


class Broken:
    """An objective whose gradient or Hessian-vector product is deliberately wrong.

    Forwards everything else to a correct :class:`LinearObjective`.
    """

    def __init__(self, objective, *, grad=None, hessp=None):
        self._obj = objective
        self._grad = grad
        self._hessp = hessp

    def __getattr__(self, name):
        return getattr(self._obj, name)

    def gradient(self, params):
        g = self._obj.gradient(params)
        return g if self._grad is None else self._grad(self._obj, params, g)

    def hessian_operator(self, params):
        inner = self._obj.hessian_operator(params)
        if self._hessp is None:
            return inner
        return lambda v: self._hessp(self._obj, params, v, inner(v))


@pytest.mark.parametrize("kind", ["binary", "logistic", "multinomial", "softmax"])
def test_passes_on_correct_objectives_built_from_X_and_y(kind):
    loss = "binary" if kind in ("binary", "logistic") else "multinomial"
    X, y = _problem(loss)
    check = check_gradient(X=X, y=y, kind=kind, sample_weight=np.linspace(0.5, 2, 50), C=0.3,
                           backend="reference")
    assert isinstance(check, GradientCheck)
    assert check.passed(1e-6), check
    assert check.gradient_error < 1e-8 and check.hessian_error < 1e-8
    assert check.n_directions == 4


def _sign_flip(obj, params, g):
    return -g


def _missing_mean(obj, params, g):
    return g * obj.sw_sum  # forgot the 1/m factor


def _one_coordinate_off(obj, params, g):
    g = g.copy()
    g[2] += 1e-3 * max(np.abs(g).max(), 1e-3)
    return g


def _penalty_on_intercept(obj, params, g):
    # A common slip: penalising the intercept in the gradient only.
    return g + obj.penalty.l2 * np.where(obj.penalized_mask, 0.0, params)


def _swapped_residual(obj, params, g):
    # y − h instead of h − y for the data term, penalty kept right.
    W, _ = obj.unpack(params)
    pen = obj.pack(obj.penalty.l2 * W, np.zeros(obj.n_logits) if obj.fit_intercept else None)
    return -(g - pen) + pen


@pytest.mark.parametrize("loss", ["binary", "multinomial"])
@pytest.mark.parametrize("bug", [_sign_flip, _missing_mean, _one_coordinate_off,
                                 _penalty_on_intercept, _swapped_residual])
def test_catches_a_wrong_gradient(loss, bug):
    X, y = _problem(loss, seed=1)
    obj = Obj(X, y, loss=loss, C=0.05)
    good = check_gradient(obj)
    bad = check_gradient(Broken(obj, grad=bug), hessian=False)
    assert good.passed(1e-6)
    assert not bad.passed(1e-6)
    assert bad.gradient_error > 1e-4, bad


def _hessp_scaled(obj, params, v, hv):
    return 0.99 * hv


def _hessp_without_penalty(obj, params, v, hv):
    V, _ = obj.unpack(v)
    return hv - obj.pack(obj.penalty.l2 * V, np.zeros(obj.n_logits))


def _hessp_diagonal_blocks_only(obj, params, v, hv):
    # Drops the −oₖoₗ cross-class terms (softmax) or the intercept cross terms (binary).
    H = obj.hessian(params)
    q = obj.n_features + 1
    D = np.zeros_like(H)
    for k in range(obj.n_logits):
        D[k * q:(k + 1) * q, k * q:(k + 1) * q] = H[k * q:(k + 1) * q, k * q:(k + 1) * q]
    if obj.n_logits == 1:
        D[:-1, -1] = D[-1, :-1] = 0.0
    return D @ v


@pytest.mark.parametrize("loss", ["binary", "multinomial"])
@pytest.mark.parametrize("bug", [_hessp_scaled, _hessp_without_penalty,
                                 _hessp_diagonal_blocks_only])
def test_catches_a_wrong_hessian_product(loss, bug):
    X, y = _problem(loss, seed=2)
    obj = Obj(X, y, loss=loss, C=0.05)
    bad = check_gradient(Broken(obj, hessp=bug))
    assert bad.gradient_error < 1e-8  # the gradient is still right ...
    assert bad.hessian_error > 1e-4, bad  # ... and the Hessian is caught
    assert not bad.passed(1e-6)


def test_checks_a_random_subset_of_coordinates_for_large_models():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 30))
    y = rng.integers(0, 5, 40)
    obj = Obj(X, y, loss="multinomial")
    check = check_gradient(obj, max_coordinates=20, n_directions=2)
    assert check.n_coordinates == 20 and check.n_directions == 2
    assert check.passed(1e-6)
    # A bug confined to coordinates outside the sampled subset is still seen by the random
    # directions (each direction touches every coordinate).
    def bug(o, params, g):
        g = g.copy()
        g[-1] += 1e-2
        return g
    assert not check_gradient(Broken(obj, grad=bug), max_coordinates=1, hessian=False).passed()


def test_step_and_hessian_options():
    X, y = _problem("binary", seed=4)
    check = check_gradient(X=X, y=y, hessian=False, step=1e-3, backend="reference")
    assert check.hessian_error is None and check.step == 1e-3
    assert check.passed(1e-6)
    # A step far too large makes the stencil itself wrong: the checker reports that honestly.
    assert not check_gradient(X=X, y=y, step=5.0, backend="reference").passed(1e-6)


def test_requires_an_objective_or_data():
    with pytest.raises(ValueError, match="either an objective or both X and y"):
        check_gradient(X=np.zeros((3, 2)))


def test_passed_threshold():
    check = GradientCheck(gradient_error=1e-7, hessian_error=1e-5, n_coordinates=3,
                          n_directions=4, step=1e-3)
    assert not check.passed(1e-6) and check.passed(1e-4)
    assert GradientCheck(1e-7, None, 3, 4, 1e-3).passed(1e-6)


def test_gradient_scale_judges_the_optimum_on_the_problem_scale():
    """At an optimum ∇J ≈ 0, so the plain relative error only measures stencil noise; with
    gradient_scale = ‖∇J(0)‖∞ a correct gradient passes there and a wrong one still fails."""
    from softlogit import solve

    X, y = _problem("multinomial", seed=3, m=80)
    obj = Obj(X, y, loss="multinomial", C=1.0)
    optimum = solve(obj, "gd", tol=1e-10, max_iter=20000).params
    scale = float(np.max(np.abs(obj.gradient(obj.zeros()))))
    assert np.max(np.abs(obj.gradient(optimum))) < 1e-8 * scale  # it is an optimum

    good = check_gradient(obj, optimum, gradient_scale=scale)
    assert good.passed(1e-6), good

    # A gradient off by 1e-4 of the problem's scale in one coordinate is caught at the optimum.
    def shifted(o, params, g):
        g = g.copy()
        g[2] += 1e-4 * scale
        return g

    bad = check_gradient(Broken(obj, grad=shifted), optimum, gradient_scale=scale, hessian=False)
    assert bad.gradient_error > 5e-5
