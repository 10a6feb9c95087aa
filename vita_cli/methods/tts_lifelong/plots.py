"""Figures: the MCD matrix as a heat map, final MCD per language as bars."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vita_cli.core.plots import new_figure, save_figure


def _matrix(R) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in row] for row in R], dtype=float)


def _draw(ax, R, langs, title, vmin=None, vmax=None):
    m = _matrix(R)
    im = ax.imshow(m, cmap="magma_r", vmin=vmin, vmax=vmax)
    low, high = im.norm.vmin, im.norm.vmax
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if not np.isnan(m[i, j]):
                dark = (m[i, j] - low) / max(high - low, 1e-9) > 0.55  # magma_r: high values are dark
                ax.text(
                    j,
                    i,
                    f"{m[i, j]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if dark else "black",
                )
    ax.set_xticks(range(len(langs)), langs)
    ax.set_yticks(range(m.shape[0]), [f"after {langs[i]}" for i in range(m.shape[0])])
    ax.set_xlabel("evaluated language")
    ax.set_title(title, fontsize=9)
    return im


def heat_map(R, langs, title: str, path: Path) -> Path:
    fig, ax = new_figure(4.6, 3.8)
    im = _draw(ax, R, langs, title)
    fig.colorbar(im, ax=ax, label="MCD")
    return save_figure(fig, path)


def heat_grid(matrices: dict[str, list], langs, path: Path) -> Path:
    names = list(matrices)
    values = np.concatenate([_matrix(matrices[n]).ravel() for n in names])
    vmin, vmax = np.nanmin(values), np.nanmax(values)
    cols = min(4, len(names))
    rows = (len(names) + cols - 1) // cols
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.9 * rows), dpi=110, squeeze=False)
    for k, name in enumerate(names):
        _draw(axes[k // cols][k % cols], matrices[name], langs, name, vmin, vmax)
    for k in range(len(names), rows * cols):
        axes[k // cols][k % cols].axis("off")
    return save_figure(fig, path)


def final_bars(finals: dict[str, dict[str, float]], path: Path) -> Path:
    names = list(finals)
    langs = list(next(iter(finals.values())))
    fig, ax = new_figure(max(4.5, 1.0 + 0.9 * len(names)), 3.6)
    width = 0.8 / max(len(langs), 1)
    for k, lang in enumerate(langs):
        xs = np.arange(len(names)) + (k - (len(langs) - 1) / 2) * width
        ax.bar(xs, [finals[n].get(lang, np.nan) for n in names], width, label=lang)
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("final MCD (lower is better)")
    ax.legend(fontsize=8, ncols=len(langs))
    ax.grid(axis="y", alpha=0.3)
    return save_figure(fig, path)
