"""The objective layer: the linear model on top of a cross-entropy loss."""

from softlogit.objective.linear import LinearObjective
from softlogit.objective.penalty import Penalty, make_penalty

__all__ = ["LinearObjective", "Penalty", "make_penalty"]
