"""A projection head and the CLIP loss in plain numpy: the whole of what the lab trains, readable in one page.

The head maps a picture's frozen features into the text tower's space:
``unit(relu(x W1 + b1) W2 + b2)``. The loss is CLIP's (Radford et al.
2021): a batch of B pictures and their B captions gives a B x B matrix of
cosines divided by the temperature; each picture must pick its own caption
among the B (cross-entropy over the row) and each caption its own picture
(over the column). Gradients are written out by hand (a test checks them
against finite differences), and AdamW updates the weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _softmax(z: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def clip_loss(pictures: np.ndarray, captions: np.ndarray, temperature: float) -> tuple[float, np.ndarray]:
    """(loss, d loss / d pictures) for ``(B, d)`` unit picture vectors and their own captions, row by row.

    >>> same = np.eye(3, dtype=np.float32)
    >>> round(clip_loss(same, same, 0.1)[0], 4)  # each picture far closer to its own caption
    0.0001
    """
    logits = pictures @ captions.T / temperature
    b = len(logits)
    rows, cols = _softmax(logits, axis=1), _softmax(logits, axis=0)
    diagonal = np.arange(b)
    loss = -(np.log(rows[diagonal, diagonal]).mean() + np.log(cols[diagonal, diagonal]).mean()) / 2
    eye = np.eye(b, dtype=logits.dtype)
    d_logits = ((rows - eye) + (cols - eye)) / (2 * b)
    return float(loss), (d_logits @ captions) / temperature


@dataclass
class Head:
    """A 2-layer MLP from ``features`` to ``dim``, unit-length outputs; seeded."""

    features: int
    dim: int
    hidden: int = 256
    seed: int = 0
    weights: dict[str, np.ndarray] = field(init=False)

    def __post_init__(self):
        rng = np.random.default_rng(self.seed)
        self.weights = {
            "W1": (rng.standard_normal((self.features, self.hidden)) * np.sqrt(2 / self.features)).astype(np.float32),
            "b1": np.zeros(self.hidden, np.float32),
            "W2": (rng.standard_normal((self.hidden, self.dim)) * np.sqrt(1 / self.hidden)).astype(np.float32),
            "b2": np.zeros(self.dim, np.float32),
        }

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Unit vectors ``(n, dim)`` of features ``(n, features)``."""
        return self._forward(x)[0]

    def _forward(self, x: np.ndarray):
        w = self.weights
        hidden = np.maximum(x @ w["W1"] + w["b1"], 0)
        raw = hidden @ w["W2"] + w["b2"]
        norm = np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12)
        return raw / norm, hidden, norm

    def gradients(self, x: np.ndarray, captions: np.ndarray, temperature: float) -> tuple[float, dict]:
        """(CLIP loss of this batch, its gradient for each weight)."""
        w = self.weights
        out, hidden, norm = self._forward(x)
        loss, d_out = clip_loss(out, captions, temperature)
        # Through the normalisation: only the part of the gradient across the unit sphere counts.
        d_raw = (d_out - out * (d_out * out).sum(axis=1, keepdims=True)) / norm
        d_hidden = (d_raw @ w["W2"].T) * (hidden > 0)
        return loss, {"W1": x.T @ d_hidden, "b1": d_hidden.sum(0), "W2": hidden.T @ d_raw, "b2": d_raw.sum(0)}


class AdamW:
    """Adam with decoupled weight decay on the matrices (Loshchilov & Hutter 2019)."""

    def __init__(self, weights: dict[str, np.ndarray], lr: float, weight_decay: float = 0.01):
        self.lr, self.weight_decay, self.t = lr, weight_decay, 0
        self.m = {k: np.zeros_like(v) for k, v in weights.items()}
        self.v = {k: np.zeros_like(v) for k, v in weights.items()}

    def step(self, weights: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.t += 1
        b1, b2 = 0.9, 0.999
        for k, g in grads.items():
            self.m[k] = b1 * self.m[k] + (1 - b1) * g
            self.v[k] = b2 * self.v[k] + (1 - b2) * g * g
            m_hat, v_hat = self.m[k] / (1 - b1**self.t), self.v[k] / (1 - b2**self.t)
            if weights[k].ndim == 2:
                weights[k] *= 1 - self.lr * self.weight_decay
            weights[k] -= (self.lr * m_hat / (np.sqrt(v_hat) + 1e-8)).astype(np.float32)
