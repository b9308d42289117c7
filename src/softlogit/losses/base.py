"""The interface every cross-entropy loss of logits offers."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class CrossEntropyLoss(ABC):
    """Per-sample cross-entropy of logits.

    Subclasses implement the value ``ℓ(z, y)``, its gradient ``∂ℓ/∂z`` and the pieces of the
    Hessian ``∂²ℓ/∂z∂zᵀ`` (as products, never as an (m, K, K) array). All methods are unreduced:
    they return one value (or row) per sample. Arrays keep the dtype of the logits.
    """

    #: Name used by the objective, the kernels and the model file.
    name: str

    @abstractmethod
    def n_logits(self, n_classes: int) -> int:
        """Number of logit columns the linear model must produce for ``n_classes`` classes."""

    @abstractmethod
    def loss(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per-sample loss, shape (m,)."""

    @abstractmethod
    def gradient(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per-sample gradient with respect to the logits, shaped like ``z``."""

    @abstractmethod
    def loss_gradient(self, z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Loss and gradient together, sharing the exponentials."""

    @abstractmethod
    def hessian_factors(self, z: np.ndarray) -> np.ndarray:
        """What the Hessian needs, computed once per point (binary: h(1-h); softmax: o)."""

    @abstractmethod
    def hessian_logit_product(self, factors: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Per-sample product of the logit Hessian with ``v`` (shaped like the logits)."""

    @abstractmethod
    def hessian_block_weights(self, factors: np.ndarray, k: int, l: int) -> np.ndarray:
        """Per-sample weight of block (k, l) of the logit Hessian, shape (m,)."""

    @abstractmethod
    def predict_proba(self, z: np.ndarray) -> np.ndarray:
        """Class probabilities from logits."""

    @abstractmethod
    def predict_log_proba(self, z: np.ndarray) -> np.ndarray:
        """Log class probabilities computed from logits (never log of a rounded probability)."""

    @abstractmethod
    def check_targets(self, y: np.ndarray, n_classes: int) -> np.ndarray:
        """Validate targets and return them in the form the loss consumes.

        Raises ``ValueError`` naming what is wrong (values outside the range, soft rows not
        summing to 1, wrong shape).
        """
