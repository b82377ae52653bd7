"""The PCA "noise filter": keep the directions along which a collection varies most, compare angles there."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PCAFilter:
    """Project onto the top principal components and renormalise.

    As in the white paper's noise filter: keep the directions along which the
    collection varies most, drop the rest, and compare angles there.
    """

    mean: np.ndarray  # (d,)
    components: np.ndarray  # (c, d)
    explained: np.ndarray  # (c,) explained variance ratio per component

    def truncated(self, n: int) -> PCAFilter:
        """The same filter keeping only the first ``n`` components."""
        return PCAFilter(self.mean, self.components[:n], self.explained[:n])

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        reduced = (np.atleast_2d(vectors) - self.mean) @ self.components.T
        norms = np.linalg.norm(reduced, axis=1, keepdims=True)
        return (reduced / np.maximum(norms, 1e-12)).astype(np.float32)


def fit_pca(vectors: np.ndarray, n_components: int, seed: int = 0) -> PCAFilter:
    """Fit the noise filter on a collection's vectors ``(n, d)``."""
    from sklearn.decomposition import PCA

    limit = min(vectors.shape)
    if not 1 <= n_components <= limit:
        raise ValueError(
            f"choose between 1 and {limit} components for {len(vectors)} vectors of {vectors.shape[1]} dims"
        )
    # Full SVD: the first c components are the same whatever n_components is.
    pca = PCA(n_components=n_components, svd_solver="full", random_state=seed).fit(vectors)
    return PCAFilter(pca.mean_.astype(np.float32), pca.components_.astype(np.float32), pca.explained_variance_ratio_)
