"""What ``vita inspect`` reports about a model file: size, sparsity, masks and MACs."""

from __future__ import annotations

from pathlib import Path

import torch

from vita_cli.core.errors import UserError
from vita_cli.core.flops import count_macs, effective_weight
from vita_cli.models.io import LoadedModel

_META_SKIP = {"sha256", "arch"}


def parse_input_size(text: str) -> tuple[int, int, int]:
    """``"1x32x32"`` → (1, 32, 32) (channels × height × width)."""
    try:
        dims = tuple(int(p) for p in text.lower().replace("×", "x").split("x"))
    except ValueError:
        dims = ()
    if len(dims) != 3 or min(dims) < 1:
        raise UserError(f"bad --input-size {text!r}", "write CxHxW, e.g. 1x32x32 or 3x224x224")
    return dims  # type: ignore[return-value]


def default_input_size(loaded: LoadedModel) -> tuple[int, int, int]:
    """``meta["input_size"]``, else the channels and the stored data's ``image_size`` (else 32×32)."""
    stored = loaded.meta.get("input_size")
    if isinstance(stored, (list, tuple)) and len(stored) in (3, 4):
        return tuple(int(v) for v in stored[-3:])  # type: ignore[return-value]
    channels = loaded.arch.get("in_channels")
    if channels is None:
        first_conv = next((p for p in loaded.model.parameters() if p.ndim == 4), None)
        channels = int(first_conv.shape[1]) if first_conv is not None else 3
    data = loaded.meta.get("data") or (loaded.meta.get("recipe") or {}).get("data") or {}
    size = data.get("image_size") if isinstance(data, dict) else None
    side = int(size) if isinstance(size, int) and not isinstance(size, bool) and 1 <= size <= 4096 else 32
    return (int(channels), side, side)  # the size the model was trained at, when its file says it


def summarize(
    loaded: LoadedModel, input_size: tuple[int, int, int] | None = None, path: str | Path | None = None
) -> dict:
    """Architecture, parameters, per-layer / global sparsity, dense and sparse MACs, mask presence.

    Sparsity is measured on the effective weights (weight × mask). "Prunable" weights are those of
    rank ≥ 2 (conv kernels and linear matrices), the ones pruning methods mask.
    """
    model, masks = loaded.model, loaded.masks
    size = tuple(input_size) if input_size else default_input_size(loaded)
    layers, prunable, prunable_nonzero, total, total_nonzero = [], 0, 0, 0, 0
    for name, p in model.named_parameters():
        w = effective_weight(p.detach(), masks.get(name))
        nz = int(torch.count_nonzero(w).item())
        total += p.numel()
        total_nonzero += nz
        if p.ndim < 2:
            continue
        prunable += p.numel()
        prunable_nonzero += nz
        mask = masks.get(name)
        layers.append(
            {
                "name": name,
                "shape": list(p.shape),
                "params": p.numel(),
                "nonzero": nz,
                "sparsity": 1.0 - nz / p.numel() if p.numel() else 0.0,
                "mask": mask is not None,
                "mask_density": float(mask.float().mean()) if mask is not None else None,
            }
        )
    try:
        dense = count_macs(model, (1, *size), masks, sparse=False)
        sparse = count_macs(model, (1, *size), masks, sparse=True)
    except RuntimeError as exc:
        raise UserError(
            f"a forward pass at input size {'x'.join(map(str, size))} failed: {str(exc).splitlines()[0]}",
            "pass --input-size CxHxW matching the model (e.g. 3x224x224)",
        ) from exc
    mask_kept = sum(int(m.sum()) for m in masks.values())
    mask_total = sum(m.numel() for m in masks.values())
    return {
        "file": str(path) if path else None,
        "format": loaded.source_format,
        "arch": loaded.arch,
        "params": total,
        "nonzero_params": total_nonzero,
        "prunable_params": prunable,
        "prunable_nonzero": prunable_nonzero,
        "global_sparsity": 1.0 - prunable_nonzero / prunable if prunable else 0.0,
        "overall_sparsity": 1.0 - total_nonzero / total if total else 0.0,
        "input_size": list(size),
        "macs_dense": dense.total_macs,
        "macs_sparse": sparse.total_macs,
        "flops_dense": dense.total_flops,
        "flops_sparse": sparse.total_flops,
        "masks": {
            "present": bool(masks),
            "count": len(masks),
            "density": mask_kept / mask_total if mask_total else None,
            "names": sorted(masks),
        },
        "layers": layers,
        "macs_per_layer": [
            {**d, "macs_sparse": s["macs"]} for d, s in zip(dense.per_layer, sparse.per_layer, strict=True)
        ],
        "meta": {k: v for k, v in loaded.meta.items() if k not in _META_SKIP},
    }
