"""Matplotlib without a display; figures are written as PNG into the run directory."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def new_figure(width: float = 6.0, height: float = 4.0):
    fig, ax = plt.subplots(figsize=(width, height), dpi=110)
    return fig, ax


def save_figure(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
