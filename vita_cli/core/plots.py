"""Matplotlib without a display; figures are written as PNG into the run directory.

pyplot is imported on the first figure, not at import time: it costs about half a second, and every
verb module imports its method's plotting code, so ``vita --help`` would pay it for nothing.
"""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    import matplotlib  # lazy: see the module docstring

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def integer_ticks(axis) -> None:
    """Whole-number ticks only (epochs, rounds): a 3-epoch run should not show epoch 1.5."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def new_figure(width: float = 6.0, height: float = 4.0):
    fig, ax = _pyplot().subplots(figsize=(width, height), dpi=110)
    return fig, ax


def save_figure(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    _pyplot().close(fig)
    return path
