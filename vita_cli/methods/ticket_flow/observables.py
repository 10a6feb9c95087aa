"""Observables φ of an IMP flow: the snapshot matrices DMD is run on.

* ``weights``: the whole masked weight vector (all weight layers concatenated) per round;
* ``layers``: one weight vector per layer (per-layer spectra);
* ``summaries``: per layer, the surviving fraction, mean and std of |w| over survivors and a
  histogram of log10|w| of the survivors (fractions in ``bins`` fixed bins on [-4, 1]); a
  low-dimensional observable that keeps N ≈ 10–15 snapshots well posed.
"""

from __future__ import annotations

import numpy as np

from vita_cli.methods.ticket_flow.flows import Flow

OBSERVABLES = ("weights", "layers", "summaries")
LOG_RANGE = (-4.0, 1.0)


def weight_snapshots(flow: Flow, layers: list[str] | None = None) -> np.ndarray:
    """D×(N+1): column n is the concatenated weights of ``layers`` (all by default) at round n."""
    names = flow.layers if layers is None else layers
    return np.stack([np.concatenate([w[n].ravel() for n in names]) for w in flow.weights], axis=1)


def layer_snapshots(flow: Flow) -> dict[str, np.ndarray]:
    return {n: weight_snapshots(flow, [n]) for n in flow.layers}


def layer_summary(w: np.ndarray, m: np.ndarray, bins: int) -> np.ndarray:
    alive = np.abs(w[m & (w != 0)])
    frac = m.sum() / max(1, m.size)
    if alive.size == 0:
        return np.concatenate([[frac, 0.0, 0.0], np.zeros(bins)])
    hist, _ = np.histogram(np.log10(alive), bins=bins, range=LOG_RANGE)
    return np.concatenate([[frac, alive.mean(), alive.std()], hist / alive.size])


def summary_snapshots(flow: Flow, bins: int = 8) -> np.ndarray:
    cols = []
    for w, m in zip(flow.weights, flow.masks, strict=True):
        cols.append(np.concatenate([layer_summary(w[n], m[n], bins) for n in flow.layers]))
    return np.stack(cols, axis=1)


def step_sizes(flow: Flow) -> list[float]:
    """‖θ^(n+1) − θ^(n)‖ / ‖θ^(n)‖ on the coordinates that survive round n+1, for n = 0..N-1."""
    out = []
    for n in range(len(flow.weights) - 1):
        num = den = 0.0
        for name in flow.layers:
            keep = flow.masks[n + 1][name]
            a, b = flow.weights[n][name][keep], flow.weights[n + 1][name][keep]
            num += float(np.sum((b - a) ** 2))
            den += float(np.sum(a**2))
        out.append(float(np.sqrt(num / den)) if den > 0 else float("nan"))
    return out
