"""Figures: gate values over epochs (polarization) and accuracy vs FLOPs for GDP and its baselines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vita_cli.core.plots import integer_ticks, new_figure, save_figure


def plot_polarization(snapshots: list[torch.Tensor], path: str | Path, tau: float = 1e-3) -> Path:
    """Left: histograms of all gate values at the first, middle and last epoch; right: every epoch's
    histogram as a column (log counts), so unimodal → bimodal is visible at a glance."""
    import matplotlib.pyplot as plt  # lazy, like vita_cli.core.plots: pyplot is slow to import

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
    bins = np.linspace(0, 1, 41)
    picks = sorted({0, len(snapshots) // 2, len(snapshots) - 1})
    for i in picks:
        # outlines, not filled bars: the first epoch's single spike at the initial value hides nothing
        left.hist(snapshots[i].numpy(), bins=bins, histtype="step", lw=1.5, label=f"epoch {i}")
    left.set_yscale("log")
    left.set_xlabel("gate value g = x²/(x²+ε)")
    left.set_ylabel("gates")
    left.axvspan(tau, 0.5, color="grey", alpha=0.15, label=f"undecided ({tau:g} < g < 0.5)")
    left.set_title("gate values: first, middle and last epoch", fontsize=9)
    left.legend(fontsize=8)
    grid = np.stack([np.histogram(s.numpy(), bins=bins)[0] for s in snapshots], axis=1)
    im = right.imshow(
        np.log10(1 + grid),
        aspect="auto",
        origin="lower",
        extent=(-0.5, len(snapshots) - 0.5, 0, 1),
        cmap="viridis",
    )
    right.set_xlabel("epoch")
    integer_ticks(right.xaxis)
    right.set_ylabel("gate value")
    right.set_title("gate histogram per epoch (log10(1+count))", fontsize=9)
    fig.colorbar(im, ax=right)
    return save_figure(fig, path)


def plot_accuracy_vs_flops(rows: list[dict], path: str | Path) -> Path:
    """``rows``: {"arm", "flops_ratio", "accuracy"} (several seeds per arm allowed)."""
    fig, ax = new_figure(6, 4)
    markers = {
        "gdp": "o",
        "gdp-scratch": "D",
        "gdp-arch": "P",
        "l1-early": "X",
        "l1": "s",
        "slimming": "^",
        "uniform": "v",
        "dense": "*",
    }
    arms = sorted({r["arm"] for r in rows}, key=lambda a: list(markers).index(a) if a in markers else 99)
    for arm in arms:
        pts = [(r["flops_ratio"], r["accuracy"]) for r in rows if r["arm"] == arm]
        xs, ys = zip(*pts, strict=True)
        ax.scatter(xs, ys, marker=markers.get(arm, "x"), s=60 if arm == "dense" else 35, label=arm)
    ax.set_xlabel("FLOPs kept (fraction of dense)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("test accuracy vs FLOPs kept, after fine-tuning", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)
