"""Figures: spectra in the complex plane, distance heat map with dendrogram, distance vs transfer loss."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vita_cli.core.plots import new_figure, save_figure


def plot_spectra(spectra: list, path: Path, title: str) -> Path:
    """Every flow's whole-network eigenvalues in ℂ with the unit circle."""
    fig, ax = new_figure(5.2, 5.0)
    t = np.linspace(0, 2 * np.pi, 400)
    ax.plot(np.cos(t), np.sin(t), color="grey", lw=0.8, ls="--", label="unit circle")
    markers = "oxs^vD<>p*h"
    for i, s in enumerate(spectra):
        lam = s.whole.eigenvalues
        ax.scatter(lam.real, lam.imag, s=22, marker=markers[i % len(markers)], label=s.name, alpha=0.8)
    ax.axhline(0, color="k", lw=0.4)
    ax.axvline(0, color="k", lw=0.4)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("Re λ")
    ax.set_ylabel("Im λ")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc="best", ncol=1 + len(spectra) // 8)
    return save_figure(fig, path)


def plot_distance(matrix: np.ndarray, names: list[str], path: Path, title: str) -> Path:
    """Heat map of the distance matrix (rows in dendrogram order) beside an average-linkage dendrogram."""
    import matplotlib.pyplot as plt
    from scipy.cluster.hierarchy import dendrogram, linkage
    from scipy.spatial.distance import squareform

    n = len(names)
    fig, (ax_d, ax_h) = plt.subplots(
        1, 2, figsize=(9.5, max(3.5, 0.35 * n + 1.5)), dpi=110, gridspec_kw={"width_ratios": [1, 2.2]}
    )
    if n >= 2:
        z = linkage(squareform(matrix, checks=False), method="average")
        tree = dendrogram(z, labels=names, orientation="left", ax=ax_d, color_threshold=0)
        order = [names.index(lbl) for lbl in tree["ivl"]][::-1]
    else:
        order = list(range(n))
    ax_d.set_title("average linkage", fontsize=8)
    ax_d.tick_params(labelsize=7)
    m = matrix[np.ix_(order, order)]
    im = ax_h.imshow(m, cmap="viridis")
    ax_h.set_xticks(range(n), [names[i] for i in order], rotation=60, ha="right", fontsize=7)
    ax_h.set_yticks(range(n), [names[i] for i in order], fontsize=7)
    if n <= 12:
        for i in range(n):
            for j in range(n):
                ax_h.text(j, i, f"{m[i, j]:.2g}", ha="center", va="center", fontsize=6, color="w")
    fig.colorbar(im, ax=ax_h, fraction=0.046, label="spectral distance (W1)")
    ax_h.set_title(title, fontsize=9)
    return save_figure(fig, path)


def plot_rho(points: list[dict], path: Path, title: str) -> Path:
    """Spectral distance against transfer loss, one point per (source, target, seed): colour = target,
    marker = source."""
    fig, ax = new_figure(5.8, 4.3)
    targets = sorted({p["target"] for p in points})
    sources = sorted({p["source"] for p in points})
    markers = "oxs^vD<>p*h"
    colors = [f"C{k % 10}" for k in range(len(targets))]
    for p in points:
        ax.scatter(
            p["distance"],
            p["loss"],
            s=24,
            alpha=0.8,
            color=colors[targets.index(p["target"])],
            marker=markers[sources.index(p["source"]) % len(markers)],
        )
    for k, t in enumerate(targets):
        ax.scatter([], [], color=colors[k], marker="o", label=f"→ {t}")
    for k, src in enumerate(sources):
        ax.scatter([], [], color="grey", marker=markers[k % len(markers)], label=f"{src} →")
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_xlabel("spectral distance d(i, j)")
    ax.set_ylabel("transfer loss on j (points)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, ncol=2)
    return save_figure(fig, path)
