"""The ``torch.nn.utils.prune`` layout: ``<module>.weight_orig`` + ``<module>.weight_mask``.

Lottery-ticket code built on ``torch.nn.utils.prune`` saves state dicts in this layout; these two
functions convert between it and vita's (dense weights + bool masks keyed by parameter name).
"""

from __future__ import annotations

import torch

from vita_cli.core.errors import UserError

ORIG, MASK = "_orig", "_mask"


def to_torch_prune_layout(
    state_dict: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """A state dict that loads into modules prepared with ``prune.custom_from_mask``/``prune.identity``."""
    out = {}
    for name, tensor in state_dict.items():
        if name in masks:
            mask = masks[name].to(tensor.device)
            out[name + ORIG] = tensor.clone()
            out[name + MASK] = mask.to(tensor.dtype)  # torch.nn.utils.prune keeps masks in the weight dtype
        else:
            out[name] = tensor
    missing = sorted(set(masks) - set(state_dict))
    if missing:
        raise UserError(f"mask {missing[0]!r} has no tensor in the state dict")
    return out


def from_torch_prune_layout(
    state_dict: dict[str, torch.Tensor],
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(plain state dict with masked weights, bool masks). Dicts without pruned entries pass through."""
    out, masks = {}, {}
    for name, tensor in state_dict.items():
        if name.endswith(ORIG):
            base = name[: -len(ORIG)]
            mask = state_dict.get(base + MASK)
            if mask is None:
                raise UserError(
                    f"{name} has no matching {base + MASK}", "the pruned state dict is incomplete"
                )
            if mask.shape != tensor.shape:
                raise UserError(
                    f"{base + MASK} has shape {tuple(mask.shape)}, {name} has {tuple(tensor.shape)}"
                )
            keep = mask != 0
            masks[base] = keep.cpu()
            out[base] = tensor * keep.to(tensor.dtype)
        elif name.endswith(MASK) and (name[: -len(MASK)] + ORIG) in state_dict:
            continue
        else:
            out[name] = tensor
    return out, masks


def has_torch_prune_layout(state_dict: dict) -> bool:
    return any(k.endswith(ORIG) and (k[: -len(ORIG)] + MASK) in state_dict for k in state_dict)
