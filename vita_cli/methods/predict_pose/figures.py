"""Figures: horizon curves and skeleton strips (observed 2D, predicted 3D, ground truth), PNG and GIF."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vita_cli.core.plots import new_figure, save_figure
from vita_cli.methods.predict_pose.skeleton import EDGES


def _plt():
    import matplotlib  # lazy, like vita_cli.core.plots: pyplot is only needed when a figure is drawn

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


LABELS = {
    "skeleton_graph": "Skeleton-Graph",
    "skeleton_graph_gcn": "Skeleton-Graph (gcn aggregation)",
    "skeleton_graph_fixed": "Skeleton-Graph (fixed A)",
    "ar_gru": "autoregressive GRU",
    "zero_velocity": "zero-velocity lift",
    "constant_velocity": "constant-velocity lift",
}


def horizon_plot(curves: dict[str, list[float]], fps: float, path: Path, title: str) -> Path:
    """Per-frame MPJPE (mm) over the prediction horizon, one line per model (± band when given)."""
    fig, ax = new_figure(6.4, 4.0)
    for name, values in curves.items():
        values = np.asarray(values, dtype=float)
        mean = values.mean(0) if values.ndim == 2 else values
        t = np.arange(1, len(mean) + 1) / fps
        ax.plot(t, mean, marker="o", markersize=3, label=LABELS.get(name, name))
        if values.ndim == 2 and len(values) > 1:
            ax.fill_between(t, values.min(0), values.max(0), alpha=0.15)
    ax.set_xlabel("prediction horizon (s)")
    ax.set_ylabel("MPJPE of that frame (mm)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def _draw_2d(ax, pose2d, color="k"):
    for i, k in EDGES:
        ax.plot([pose2d[i, 0], pose2d[k, 0]], [pose2d[i, 1], pose2d[k, 1]], color=color, lw=1.5)


def _draw_side(ax, pose3d, color, lw=1.5, ls="-"):
    """Camera-frame pose seen from the side: x (right) horizontal... drawn as z (depth) vs -y (up)."""
    for i, k in EDGES:
        ax.plot([pose3d[i, 0], pose3d[k, 0]], [-pose3d[i, 1], -pose3d[k, 1]], color=color, lw=lw, ls=ls)


def skeleton_strip(
    obs2d: np.ndarray,
    preds: dict[str, np.ndarray],
    truth: np.ndarray | None,
    fps: float,
    path: Path,
    every: int = 2,
    title: str = "",
) -> Path:
    """One row of observed 2D frames, then one row per model of predicted 3D frames (camera x vs up),
    ground truth dashed grey when known."""
    t_obs, t_pred = len(obs2d), len(next(iter(preds.values())))
    shown = list(range(every - 1, t_pred, every)) or [t_pred - 1]
    cols = max(t_obs, len(shown))
    rows = 1 + len(preds)
    fig, axes = _plt().subplots(rows, cols, figsize=(1.5 * cols, 1.7 * rows), dpi=100, squeeze=False)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_aspect("equal")
    lo, hi = obs2d.reshape(-1, 2).min(0), obs2d.reshape(-1, 2).max(0)
    pad = 0.1 * (hi - lo).max() + 1
    for c in range(cols):
        ax = axes[0, c]
        if c < t_obs:
            _draw_2d(ax, obs2d[c])
            ax.set_xlim(lo[0] - pad, hi[0] + pad)
            ax.set_ylim(hi[1] + pad, lo[1] - pad)
            ax.set_title(f"2D t={(c - t_obs + 1) / fps:+.1f}s", fontsize=7)
        else:
            ax.axis("off")
    everything = [p for p in preds.values()] + ([truth] if truth is not None else [])
    xs = np.concatenate([p[..., 0].ravel() for p in everything])
    ys = np.concatenate([-p[..., 1].ravel() for p in everything])
    for r, (name, pred) in enumerate(preds.items(), start=1):
        for c in range(cols):
            ax = axes[r, c]
            if c >= len(shown):
                ax.axis("off")
                continue
            k = shown[c]
            if truth is not None:
                _draw_side(ax, truth[k], "0.6", lw=1.2, ls="--")
            _draw_side(ax, pred[k], f"C{r - 1}")
            ax.set_xlim(xs.min() - 0.1, xs.max() + 0.1)
            ax.set_ylim(ys.min() - 0.1, ys.max() + 0.1)
            if c == 0:
                ax.set_ylabel(LABELS.get(name, name), fontsize=6)
            ax.set_title(f"3D t=+{(k + 1) / fps:.1f}s", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def skeleton_gif(
    obs2d: np.ndarray, pred: np.ndarray, truth: np.ndarray | None, fps: float, path: Path
) -> Path:
    """An animated GIF: the observed 2D frames, then the predicted 3D frames (truth dashed when known)."""
    from matplotlib.animation import FuncAnimation, PillowWriter

    fig, (a2, a3) = _plt().subplots(1, 2, figsize=(6, 3.2), dpi=80)
    t_obs, t_pred = len(obs2d), len(pred)
    lo, hi = obs2d.reshape(-1, 2).min(0), obs2d.reshape(-1, 2).max(0)
    both = np.concatenate([pred] + ([truth] if truth is not None else []))

    def frame(i):
        a2.cla()
        a3.cla()
        a2.set_title("observed 2D", fontsize=8)
        a3.set_title("predicted 3D (camera x, up)", fontsize=8)
        _draw_2d(a2, obs2d[min(i, t_obs - 1)], "k" if i < t_obs else "0.7")
        a2.set_xlim(lo[0] - 50, hi[0] + 50)
        a2.set_ylim(hi[1] + 50, lo[1] - 50)
        if i >= t_obs:
            k = i - t_obs
            if truth is not None:
                _draw_side(a3, truth[k], "0.6", ls="--")
            _draw_side(a3, pred[k], "C0")
            a3.text(0.02, 0.95, f"t=+{(k + 1) / fps:.1f}s", transform=a3.transAxes, fontsize=8, va="top")
        a3.set_xlim(both[..., 0].min() - 0.1, both[..., 0].max() + 0.1)
        a3.set_ylim(-both[..., 1].max() - 0.1, -both[..., 1].min() + 0.1)
        for ax in (a2, a3):
            ax.set_xticks([])
            ax.set_yticks([])

    anim = FuncAnimation(fig, frame, frames=t_obs + t_pred)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    anim.save(str(path), writer=PillowWriter(fps=max(1, int(round(fps)))))
    _plt().close(fig)
    return path
