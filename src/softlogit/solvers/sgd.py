"""Mini-batch stochastic gradient (Adam or a constant step), and the ``partial_fit`` engine.

One *epoch* visits the objective's rows once, in a fresh random order, in mini-batches ``B``.
The stochastic gradient of a batch is

.. math::

    ĝ = \\frac{1}{Σ_{i∈B} sᵢ} Σ_{i∈B} sᵢ ∇ℓ(zᵢ, yᵢ) + λ₂ (W, 0_b),

an unbiased estimate of ``∇J`` whose penalty part is the objective's own ``penalty.l2`` (the
full-data strength, not one rescaled to the batch). Updates:

- ``learning_rate="adam"`` (default): ``m ← β₁m + (1−β₁)ĝ``, ``v ← β₂v + (1−β₂)ĝ²``,
  ``θ ← θ − η m̂ / (√v̂ + ε)`` with bias-corrected ``m̂ = m/(1−β₁ᵗ)``, ``v̂ = v/(1−β₂ᵗ)``
  (Kingma & Ba 2015); robust to badly scaled features.
- ``learning_rate="constant"``: ``θ ← θ − η ĝ``.

The step is ``η = eta0 / (1 + epoch)^power_t`` (``power_t = 0``: constant; ``0.5`` lets the
iterates settle at the optimum instead of hovering around it).

Batches are evaluated by building, per batch, a penalty-free
:class:`~softlogit.objective.LinearObjective` on ``objective.design.take(rows)`` (so every data
backend works unchanged) and adding the L2 term here.

**Contract for ``partial_fit``.** :func:`sgd_partial_fit` runs on whatever rows it is given,
with that objective's ``penalty.l2``. For a sequence of ``partial_fit`` calls to approach the
optimum of the whole data, every call's objective must carry the strength of the whole data
seen so far: ``penalty.l2 = 1 / (C · n_seen)`` where ``n_seen`` is the total sample weight seen
(build it with ``C_batch = C · n_seen / Σs_batch``). The optimiser state (:class:`SGDState`:
Adam moments, step count, random generator) carries over between calls; the result is
deterministic given ``random_state``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from softlogit.objective import LinearObjective
from softlogit.solvers.common import final_params, initial_params, with_verbose
from softlogit.solvers.iteration import Tracker
from softlogit.solvers.registry import register
from softlogit.solvers.result import grad_norm

DEFAULT_BATCH_SIZE = 64
DEFAULT_ETA0 = {"adam": 0.05, "constant": 1.0}
ADAM_BETA1, ADAM_BETA2, ADAM_EPS = 0.9, 0.999, 1e-8


@dataclass
class SGDState:
    """Optimiser state carried between :func:`sgd_partial_fit` calls.

    Attributes
    ----------
    m, v : Adam's first and second moment estimates (float64, shape (n_params,)).
    step : number of updates taken so far (Adam's bias correction uses it).
    epoch : number of epochs run so far (the step-size schedule uses it).
    rng_state : the ``bit_generator.state`` of the NumPy generator that orders the rows.
    """

    m: np.ndarray
    v: np.ndarray
    step: int
    epoch: int
    rng_state: dict

    @classmethod
    def new(cls, n_params: int, random_state=None) -> "SGDState":
        rng = _generator(random_state)
        return cls(np.zeros(n_params), np.zeros(n_params), 0, 0, rng.bit_generator.state)

    def generator(self) -> np.random.Generator:
        rng = np.random.default_rng()
        rng.bit_generator.state = self.rng_state
        return rng


def sgd_partial_fit(objective, params, state=None, *, learning_rate="adam", eta0=None,
                    batch_size=DEFAULT_BATCH_SIZE, n_epochs=1, power_t=0.5,
                    random_state=None):
    """Run ``n_epochs`` passes of mini-batch SGD over ``objective``'s rows.

    Parameters
    ----------
    objective : :class:`~softlogit.objective.LinearObjective` (its ``penalty.l2`` is used as is;
        see the module docstring for the ``partial_fit`` contract).
    params : flat start vector, or ``None`` for zeros.
    state : :class:`SGDState` from the previous call, or ``None`` to start afresh (then
        ``random_state`` seeds the row order).
    learning_rate : ``"adam"`` or ``"constant"``.
    eta0 : base step size (default 0.05 for Adam, 1.0 constant).
    batch_size : rows per mini-batch (the last batch of an epoch may be smaller).
    n_epochs : passes over the rows.
    power_t : step-size decay exponent, ``η = eta0 / (1 + epoch)^power_t``.

    Returns
    -------
    (params, state) : the new flat parameters (X's dtype) and a new :class:`SGDState`
        (the ``state`` passed in is not modified).

    Examples
    --------
    >>> import numpy as np
    >>> from softlogit.objective import LinearObjective
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    >>> obj = LinearObjective(X, np.array([0.0, 1.0, 1.0, 0.0]), loss="binary")
    >>> params, state = sgd_partial_fit(obj, None, batch_size=2, random_state=0)
    >>> params, state = sgd_partial_fit(obj, params, state, batch_size=2)
    >>> state.epoch, state.step
    (2, 4)
    """
    if learning_rate not in ("adam", "constant"):
        raise ValueError(f"learning_rate must be 'adam' or 'constant'; got {learning_rate!r}")
    eta0 = DEFAULT_ETA0[learning_rate] if eta0 is None else float(eta0)
    if not eta0 > 0:
        raise ValueError(f"eta0 must be positive; got {eta0!r}")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be at least 1; got {batch_size!r}")
    if objective.penalty.l1:
        raise ValueError("sgd supports penalties 'l2' and None, not an L1 term")
    theta = initial_params(objective, params)
    if state is None:
        state = SGDState.new(objective.n_params, random_state)
    elif state.m.shape != (objective.n_params,):
        raise ValueError(f"state is for {state.m.size} parameters; the objective has "
                         f"{objective.n_params}")
    m_vec, v_vec, step = state.m.copy(), state.v.copy(), state.step
    rng = state.generator()
    lam = objective.penalty.l2
    mask = objective.penalized_mask
    batch_size = int(batch_size)
    epoch = state.epoch
    for _ in range(int(n_epochs)):
        eta = eta0 / (1.0 + epoch) ** power_t
        order = rng.permutation(objective.n_samples)
        for start in range(0, order.size, batch_size):
            g = _batch_gradient(objective, np.sort(order[start:start + batch_size]), theta)
            if lam:
                g += lam * theta * mask
            step += 1
            if learning_rate == "adam":
                m_vec = ADAM_BETA1 * m_vec + (1 - ADAM_BETA1) * g
                v_vec = ADAM_BETA2 * v_vec + (1 - ADAM_BETA2) * g * g
                m_hat = m_vec / (1 - ADAM_BETA1 ** step)
                v_hat = v_vec / (1 - ADAM_BETA2 ** step)
                theta -= eta * m_hat / (np.sqrt(v_hat) + ADAM_EPS)
            else:
                theta -= eta * g
        epoch += 1
    new_state = dataclasses.replace(state, m=m_vec, v=v_vec, step=step, epoch=epoch,
                                    rng_state=rng.bit_generator.state)
    return final_params(objective, theta), new_state


def _batch_gradient(objective, rows, theta):
    """Gradient of the weighted mean loss over ``rows`` (no penalty), float64."""
    design, y, s = objective.design.take_samples(rows, objective.y, objective.sample_weight)
    batch = LinearObjective(design, y, loss=objective.loss_fn.name,
                            n_classes=objective.n_classes, fit_intercept=objective.fit_intercept,
                            sample_weight=s, penalty=None)
    return np.asarray(batch.gradient(theta), dtype=np.float64)


@register("sgd", penalties=("l2", None),
          description="mini-batch stochastic gradient (Adam or constant step)")
def sgd(objective, params0=None, *, tol=1e-4, max_iter=200, callback=None,
        reference_norm=None, random_state=None, verbose=0, learning_rate="adam", eta0=None,
        batch_size=DEFAULT_BATCH_SIZE, power_t=0.5, **_ignored):
    """Minimise the smooth objective by mini-batch SGD; one iteration = one epoch.

    After every epoch the full gradient is evaluated (one extra pass over X) for the shared
    stopping rule. Returns a :class:`SolverResult`; ``info["epochs"]`` and ``info["updates"]``
    count the work. Other parameters as in :func:`sgd_partial_fit`.
    """
    theta = initial_params(objective, params0)
    track = Tracker(objective, "sgd", tol=tol, max_iter=max_iter,
                    callback=with_verbose(callback, verbose, "sgd"),
                    reference_norm=reference_norm)
    f, g = objective.loss_gradient(theta)
    reason = track.record(theta, f, grad_norm(g))
    state = None if reason is not None else SGDState.new(objective.n_params, random_state)
    while reason is None:
        theta, state = sgd_partial_fit(objective, theta, state, learning_rate=learning_rate,
                                       eta0=eta0, batch_size=batch_size, power_t=power_t)
        f, g = objective.loss_gradient(theta)
        track.n_iter += 1
        reason = track.record(theta, f, grad_norm(g))
    if state is not None:
        track.info.update(epochs=state.epoch, updates=state.step)
    return track.result(final_params(objective, theta), reason)


def _generator(random_state) -> np.random.Generator:
    """A NumPy ``Generator`` from ``random_state``: None, an int, a ``Generator``, or a legacy
    ``RandomState`` (scikit-learn's convention; ``default_rng`` refuses it). A ``RandomState``
    is drawn from, so it advances between fits as scikit-learn's estimators advance it."""
    if isinstance(random_state, np.random.RandomState):
        random_state = int(random_state.randint(np.iinfo(np.int32).max))
    return np.random.default_rng(random_state)
