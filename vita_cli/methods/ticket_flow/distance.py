"""Distances between DMD spectra: Wasserstein-1 between eigenvalue sets in ℂ by optimal matching.

Each spectrum is the uniform measure on its eigenvalues. For two sets of equal size the optimal
transport plan is a permutation (Birkhoff), found with the Hungarian algorithm; for sizes m ≠ n each
eigenvalue of one set is repeated n times and each of the other m times, which keeps the measures
uniform, so the matching on the m·n copies is again exact. The ground cost is |λ − μ|.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import linear_sum_assignment


def wasserstein1(a, b) -> float:
    """W1 between the uniform measures on the complex numbers ``a`` and ``b`` (symmetric, order-free)."""
    a = np.asarray(a, dtype=np.complex128).ravel()
    b = np.asarray(b, dtype=np.complex128).ravel()
    if a.size == 0 or b.size == 0:
        raise ValueError("a spectrum is empty")
    if a.size != b.size:
        lcm = a.size * b.size // math.gcd(a.size, b.size)
        a, b = np.repeat(a, lcm // a.size), np.repeat(b, lcm // b.size)
    cost = np.abs(a[:, None] - b[None, :])
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())


def layerwise_distance(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    """Mean W1 over the layers both flows have (the layer names must agree)."""
    if set(a) != set(b):
        raise ValueError("the flows have different layers")
    return float(np.mean([wasserstein1(a[k], b[k]) for k in a]))


def distance_matrix(spectra: list, metric=wasserstein1) -> np.ndarray:
    """Symmetric matrix of ``metric`` between every pair; zero diagonal."""
    n = len(spectra)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            out[i, j] = out[j, i] = metric(spectra[i], spectra[j])
    return out
