"""Unstructured magnitude pruning: global (one threshold) or layer-wise (same rate per layer)."""

from __future__ import annotations

import torch
from torch import nn

from vita_cli.core.errors import UserError
from vita_cli.sparsity.masks import Masks, check_masks, ones_masks, prunable_names, unwrap


@torch.no_grad()
def magnitude_prune(
    model: nn.Module,
    sparsity: float,
    scope: str = "global",
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    masks: Masks | None = None,
) -> Masks:
    """Masks that zero the fraction ``sparsity`` of the prunable weights with the smallest |w|.

    ``sparsity`` is the target over the prunable layers in total (global) or per layer
    (layer-wise), counting weights already removed by ``masks`` (which stay removed). Exactly
    ``round(sparsity * n)`` weights are pruned; ties are broken by position. The model is not
    modified; call :func:`apply_masks` to zero the weights.
    """
    if not 0 <= sparsity < 1:
        raise UserError(f"sparsity must lie in [0, 1), got {sparsity}")
    if scope not in ("global", "layerwise"):
        raise UserError(f"unknown pruning scope {scope!r}", "use global or layerwise")
    model = unwrap(model)
    if masks:
        check_masks(model, masks)
        names = list(masks)
    else:
        names = prunable_names(model, include, exclude)
        if not names:
            raise UserError("no layer is left to prune", "check the include/exclude patterns")
    base = {**ones_masks(model, names), **{n: m.cpu().bool() for n, m in (masks or {}).items()}}
    params = dict(model.named_parameters())

    def scores(name):
        s = params[name].detach().abs().float().cpu().flatten()
        return torch.where(base[name].flatten(), s, torch.full_like(s, -1.0))  # removed weights go first

    if scope == "layerwise":
        return {n: _keep_top(scores(n), sparsity).view_as(base[n]) for n in names}
    flat = torch.cat([scores(n) for n in names])
    keep = _keep_top(flat, sparsity)
    out, start = {}, 0
    for n in names:
        size = base[n].numel()
        out[n] = keep[start : start + size].view_as(base[n])
        start += size
    return out


def _keep_top(scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    n_prune = int(round(sparsity * scores.numel()))
    keep = torch.ones(scores.numel(), dtype=torch.bool)
    if n_prune:
        # stable sort: equal magnitudes are pruned in index order, so results are deterministic
        order = torch.sort(scores, stable=True).indices
        keep[order[:n_prune]] = False
    return keep
