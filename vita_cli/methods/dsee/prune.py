"""Unstructured sparsity of the final weights: global magnitude pruning in two groups.

* the adapted layers (Q, V) are ranked by their update |ΔW| (``update``, the paper's scripts) or by
  the merged |W + ΔW| (``merged``);
* every other linear layer of the backbone (K, attention output, FFN, pooler) is ranked by |W|.
Each group loses exactly ``ratio`` of its entries (ties broken by position). The classifier head is
never pruned. Masked layers keep (W + ΔW) ⊙ M, so the merged model is exactly sparse.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from vita_cli.methods.dsee.adapter import DseeLinear


def backbone_linears(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Linear (and adapted) layers inside the pretrained backbone, not the task head."""
    base = getattr(model, "base_model", model)
    return [(n, m) for n, m in base.named_modules() if isinstance(m, (nn.Linear, DseeLinear))]


def _global_masks(scores: list[torch.Tensor], ratio: float) -> list[torch.Tensor]:
    flat = torch.cat([s.reshape(-1).float().cpu() for s in scores])
    k = int(round(ratio * flat.numel()))
    keep = torch.ones(flat.numel(), dtype=torch.bool)
    if k:
        keep[torch.argsort(flat, stable=True)[:k]] = False
    masks, start = [], 0
    for s in scores:
        masks.append(keep[start : start + s.numel()].view_as(s))
        start += s.numel()
    return masks


def prune_unstructured(model: nn.Module, ratio: float, rank_qv_by: str = "update") -> dict:
    """Fix the masks in place; return the achieved sparsity per group."""
    layers = backbone_linears(model)
    adapted = [(n, m) for n, m in layers if isinstance(m, DseeLinear)]
    plain = [(n, m) for n, m in layers if not isinstance(m, DseeLinear)]
    out = {}
    with torch.no_grad():
        if adapted:
            scores = [(m.delta() if rank_qv_by == "update" else m.merged_weight()).abs() for _, m in adapted]
            for (_, m), mask in zip(adapted, _global_masks(scores, ratio), strict=True):
                m.set_mask(mask)
            out["adapted"] = sparsity([m.merged_weight() for _, m in adapted])
        if plain:
            masks = _global_masks([m.weight.abs() for _, m in plain], ratio)
            for (_, m), mask in zip(plain, masks, strict=True):
                m.weight.mul_(mask.to(m.weight.device, m.weight.dtype))
            out["other"] = sparsity([m.weight for _, m in plain])
    return out


def sparsity(weights: list[torch.Tensor]) -> float:
    total = sum(w.numel() for w in weights)
    zeros = sum(int((w == 0).sum()) for w in weights)
    return zeros / total if total else 0.0


def backbone_sparsity(model: nn.Module) -> float:
    """Fraction of exact zeros over the backbone's linear weights (merged)."""
    weights = [
        m.merged_weight().detach() if isinstance(m, DseeLinear) else m.weight.detach()
        for _, m in backbone_linears(model)
    ]
    return sparsity(weights)
