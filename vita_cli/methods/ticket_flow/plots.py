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


def plot_uniformity(table: dict, models: list[str], measures: tuple[str, ...], path: Path) -> Path:
    """Per depth: each flow's per-layer uniformity measure (points) and their mean (bar), one panel each."""
    import matplotlib.pyplot as plt

    labels = {
        "layer_leading_modulus_std": "std over layers of per-layer |λ_1|",
        "layer_spectra_spread": "mean W1 between layer spectra",
    }
    fig, axes = plt.subplots(1, len(measures), figsize=(4.2 * len(measures), 3.8), dpi=110)
    for ax, measure in zip(np.atleast_1d(axes), measures, strict=True):
        x = np.arange(len(models))
        ax.bar(x, [table[m][measure] for m in models], color="C0", alpha=0.35, label="mean over flows")
        for k, m in enumerate(models):
            vals = [v[measure] for v in table[m]["flows"].values()]
            ax.scatter(np.full(len(vals), k), vals, s=16, color="C0", zorder=3)
        ax.set_xticks(x, models)
        ax.set_ylabel(labels.get(measure, measure), fontsize=8)
        ax.set_title("per flow (points) and mean (bar); lower = more uniform", fontsize=8)
        ax.grid(alpha=0.3, axis="y")
    return save_figure(fig, path)


def plot_depth_transfer(accuracy: dict, random: dict, models: list[str], path: Path) -> Path:
    """Mean test accuracy (over seeds and tasks) of every depth's ticket on every depth, with the
    random-mask row: rows = ticket source (elastically moved off the diagonal), columns = target."""
    rows = [*models, "random mask"]
    m = np.full((len(rows), len(models)), np.nan)
    for j, b in enumerate(models):
        for i, a in enumerate(models):
            m[i, j] = np.mean([accuracy[s][t][b][a] for s in accuracy for t in accuracy[s]])
        vals = [random[s][t][b] for s in random for t in random[s] if b in random[s][t]]
        if vals:
            m[-1, j] = np.mean(vals)
    fig, ax = new_figure(1.2 * len(models) + 2.6, 0.55 * len(rows) + 1.8)
    im = ax.imshow(m, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(models)), models, fontsize=7)
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    ax.set_xlabel("target depth (trained)")
    ax.set_ylabel("ticket from")
    for i in range(len(rows)):
        for j in range(len(models)):
            if np.isfinite(m[i, j]):
                ax.text(j, i, f"{m[i, j]:.1f}", ha="center", va="center", fontsize=7, color="w")
    fig.colorbar(im, ax=ax, fraction=0.046, label="test accuracy (%)")
    ax.set_title("elastic ticket transfer (diagonal: own ticket)", fontsize=9)
    return save_figure(fig, path)
