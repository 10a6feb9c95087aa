"""Transfer losses and their rank correlation with spectral distance (Spearman ρ, bootstrap interval)."""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr


def spearman(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


def spearman_interval(x, y, samples: int = 1000, confidence: float = 0.95, seed: int = 0) -> dict:
    """ρ on all points, and the percentile interval of ρ over bootstrap resamples of the points."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    rho = spearman(x, y)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(samples):
        idx = rng.integers(0, len(x), len(x))
        r = spearman(x[idx], y[idx])
        if np.isfinite(r):
            boots.append(r)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(boots, [alpha, 1 - alpha]).tolist() if boots else [float("nan")] * 2
    return {
        "rho": rho,
        "low": float(low),
        "high": float(high),
        "n": int(len(x)),
        "confidence": confidence,
        "resamples": len(boots),
    }


def transfer_losses(acc: dict[tuple[str, str], float]) -> dict[tuple[str, str], float]:
    """loss(i→j) = acc(j's own ticket on j) − acc(i's ticket on j), for i ≠ j with an own ticket for j."""
    out = {}
    for (i, j), a in acc.items():
        if i != j and (j, j) in acc:
            out[(i, j)] = acc[(j, j)] - a
    return out
