"""Losses and the paper's metrics, exactly as its evaluation code computes them.

- ``MPJPE = mean_{b,t,j} ‖Ŷ − Y‖₂`` × 1000, truncated to an integer (mm).
- Horizon errors are **cumulative**: ``@h`` averages the first ``max(int(T_pred·h), 1)`` frames,
  h ∈ {0.25, 0.5, 0.75, 1.0}. *Pose* uses every joint, *path* only the torso joint.
- ``FDE = (pose@1 + path@1) / 2`` (the full-horizon average, not the last frame).
- ``ADE = (mean_h pose@h + mean_h path@h) / 2``.
- ``STB = sqrt(0.5·Var_h(pose@h) + 0.5·Var_h(path@h))`` (population variance over the 4 horizons):
  the divergence metric; small means the error does not grow with the horizon.
"""

from __future__ import annotations

import math

import numpy as np
import torch

HORIZONS = (0.25, 0.5, 0.75, 1.0)


def horizon_frames(t_pred: int, h: float) -> int:
    return max(int(t_pred * h), 1)


def mpjpe_mm(pred: np.ndarray, target: np.ndarray) -> int:
    """Mean per-joint position error of ``(..., 3)`` arrays in metres → integer millimetres."""
    return int(float(np.linalg.norm(pred - target, axis=-1).mean()) * 1000)


def horizon_metrics(pred: np.ndarray, target: np.ndarray, torso: int) -> dict:
    """``pred``, ``target`` ``(N, T_pred, J, 3)`` metres → pose@h, path@h, FDE, ADE, STB (mm)."""
    t_pred = pred.shape[1]
    pose, path = [], []
    for h in HORIZONS:
        k = horizon_frames(t_pred, h)
        pose.append(mpjpe_mm(pred[:, :k], target[:, :k]))
        path.append(mpjpe_mm(pred[:, :k, torso], target[:, :k, torso]))
    fde = (pose[-1] + path[-1]) / 2
    ade = (float(np.mean(pose)) + float(np.mean(path))) / 2
    stb = math.sqrt(0.5 * float(np.var(pose)) + 0.5 * float(np.var(path)))
    return {
        "pose": dict(zip([str(h) for h in HORIZONS], pose, strict=True)),
        "path": dict(zip([str(h) for h in HORIZONS], path, strict=True)),
        "fde": fde,
        "ade": ade,
        "stb": stb,
    }


def per_frame_error_mm(pred: np.ndarray, target: np.ndarray) -> list[float]:
    """Non-cumulative MPJPE of each future frame (mm): the horizon curve."""
    return [float(v) * 1000 for v in np.linalg.norm(pred - target, axis=-1).mean(axis=(0, 2))]


def error_parts_mm(pred: np.ndarray, target: np.ndarray, torso: int) -> dict:
    """Where the error comes from (mm, all predicted frames): the pose relative to the torso joint,
    the torso's depth (camera z) and its image-plane offset (camera x, y)."""
    rel = (pred - pred[..., torso : torso + 1, :]) - (target - target[..., torso : torso + 1, :])
    d = pred[..., torso, :] - target[..., torso, :]
    return {
        "root_relative_mm": float(np.linalg.norm(rel, axis=-1).mean()) * 1000,
        "torso_depth_mm": float(np.abs(d[..., 2]).mean()) * 1000,
        "torso_lateral_mm": float(np.linalg.norm(d[..., :2], axis=-1).mean()) * 1000,
    }


def bone_std_mm(pred: np.ndarray, edges) -> float:
    """Mean over limbs and windows of the std over predicted frames of each limb length (mm)."""
    i, k = np.array(edges).T
    lengths = np.linalg.norm(pred[..., i, :] - pred[..., k, :], axis=-1)  # (N, T, L)
    return float(lengths.std(axis=1).mean()) * 1000


# ------------------------------------------------------------------------------------ losses


def distance_consistency(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over all joint pairs i<k of |‖Y_i − Y_k‖ − ‖Ŷ_i − Ŷ_k‖|, averaged over batch and time."""
    j = pred.shape[-2]
    iu = torch.triu_indices(j, j, offset=1, device=pred.device)
    d_pred = (pred[..., iu[0], :] - pred[..., iu[1], :]).norm(dim=-1)
    d_true = (target[..., iu[0], :] - target[..., iu[1], :]).norm(dim=-1)
    return (d_pred - d_true).abs().mean()


def angle_consistency(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """sqrt((1/P) Σ_i |cos(Y_i, Y_{i+1}) − cos(Ŷ_i, Ŷ_{i+1})|) per sample and frame, P = J(J−1)/2; cosines of
    the position vectors of index-adjacent joints (as released), averaged over batch and time."""
    j = pred.shape[-2]
    nxt = torch.roll(torch.arange(j, device=pred.device), -1)
    cos_p = torch.nn.functional.cosine_similarity(pred, pred[..., nxt, :], dim=-1, eps=1e-6)
    cos_t = torch.nn.functional.cosine_similarity(target, target[..., nxt, :], dim=-1, eps=1e-6)
    pairs = j * (j - 1) / 2
    return torch.sqrt((cos_p - cos_t).abs().sum(-1) / pairs + 1e-12).mean()


def skeleton_graph_loss(pred, target, l_norm: float = 0.0, l_cos: float = 0.0) -> torch.Tensor:
    loss = torch.nn.functional.mse_loss(pred, target)
    if l_norm:
        loss = loss + l_norm * distance_consistency(pred, target)
    if l_cos:
        loss = loss + l_cos * angle_consistency(pred, target)
    return loss
