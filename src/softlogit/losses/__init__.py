"""Per-sample cross-entropy losses of logits (the bottom layer).

Pure functions on arrays: no coefficients, no intercept, no penalty, no reduction over samples.
Every quantity is computed from the logits ``z``, never from rounded probabilities, so that the
value and the gradient are finite for every finite logit (``|z| = 1e300`` included).

Two losses share one interface (:class:`CrossEntropyLoss`):

- :class:`BinaryCrossEntropy` — logistic regression; logits ``z`` of shape (m,), targets ``y``
  of shape (m,) in [0, 1] (hard 0/1 labels or soft probabilities).
- :class:`MultinomialCrossEntropy` — softmax regression; logits ``Z`` of shape (m, K), targets
  either class indices of shape (m,) in 0..K-1 or probability rows of shape (m, K) summing to 1.
"""

from softlogit.losses.base import CrossEntropyLoss
from softlogit.losses.binary import BinaryCrossEntropy, log_sigmoid, sigmoid
from softlogit.losses.multinomial import MultinomialCrossEntropy, log_softmax, softmax

__all__ = [
    "CrossEntropyLoss",
    "BinaryCrossEntropy",
    "MultinomialCrossEntropy",
    "sigmoid",
    "log_sigmoid",
    "softmax",
    "log_softmax",
    "get_loss",
]


def get_loss(name: str) -> CrossEntropyLoss:
    """Return the loss called ``name``: ``"binary"`` or ``"multinomial"``."""
    losses = {"binary": BinaryCrossEntropy, "multinomial": MultinomialCrossEntropy}
    try:
        return losses[name]()
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; expected one of {sorted(losses)}") from None
