"""Image and graph metrics of completed glyphs against the real ones (values in [0, 1], ink = 1)."""

from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

from vita_cli.methods.font_graph.glyphs import FRAME

METRICS = ("l1", "mse", "psnr", "ssim", "iou")


def image_metrics(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """Mean over glyphs [G, R, R] of L1, MSE, PSNR (dB, data range 1), SSIM (scikit-image), IoU at 0.5."""
    pred = np.clip(np.asarray(pred, np.float64), 0, 1)
    true = np.asarray(true, np.float64)
    l1 = np.abs(pred - true).mean(axis=(1, 2))
    mse = ((pred - true) ** 2).mean(axis=(1, 2))
    psnr = 10 * np.log10(1.0 / np.maximum(mse, 1e-10))
    ssim = np.array([structural_similarity(p, t, data_range=1.0) for p, t in zip(pred, true, strict=True)])
    iou = np.array([binary_iou(p, t) for p, t in zip(pred, true, strict=True)])
    return {"l1": l1.mean(), "mse": mse.mean(), "psnr": psnr.mean(), "ssim": ssim.mean(), "iou": iou.mean()}


def binary_iou(a: np.ndarray, b: np.ndarray, threshold: float = 0.5) -> float:
    ma, mb = a > threshold, b > threshold
    union = np.logical_or(ma, mb).sum()
    return 1.0 if union == 0 else float(np.logical_and(ma, mb).sum() / union)


def graph_error(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean squared coordinate error in px² at the 256-unit frame (graphs with x, y in [0, 1])."""
    d = (np.asarray(pred)[..., :2] - np.asarray(true)[..., :2]) * FRAME
    return float((d**2).mean())


def mean_ink(images: np.ndarray) -> np.ndarray:
    """Share of ink per glyph: a stroke-weight proxy (grows with stroke width at fixed size)."""
    return np.asarray(images).reshape(len(images), -1).mean(axis=1)
