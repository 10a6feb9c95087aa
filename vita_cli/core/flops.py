"""Multiply-accumulate (MAC) counts for Conv2d / Linear / BatchNorm2d, dense or sparse.

Counted with forward hooks on one real forward pass, so any architecture works whose compute sits in
those layers (functional ops such as pooling, ReLU, additions and option-A shortcuts are free here).

* Conv2d: ``output positions × out_channels × (in_channels / groups) × kh × kw``; sparse mode counts
  only nonzero (and unmasked) kernel weights: ``nonzero kernel weights × output positions``.
* Linear: ``in × out`` per row of input; sparse mode ``nonzero weights`` per row.
* BatchNorm2d: one MAC per output element (scale and shift, foldable into the previous conv).
Biases are not counted. FLOPs are reported as 2 × MACs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn

COUNTED = (nn.Conv2d, nn.Linear, nn.BatchNorm2d)


@dataclass
class MacsReport:
    total_macs: int
    total_params: int
    per_layer: list[dict] = field(default_factory=list)
    nonzero_params: int = 0
    sparse: bool = False
    input_size: tuple[int, ...] = ()

    @property
    def total_flops(self) -> int:
        return 2 * self.total_macs

    def macs_by_type(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in self.per_layer:
            out[row["type"]] = out.get(row["type"], 0) + row["macs"]
        return out

    def as_dict(self) -> dict:
        return {
            "total_macs": self.total_macs,
            "total_flops": self.total_flops,
            "total_params": self.total_params,
            "nonzero_params": self.nonzero_params,
            "sparse": self.sparse,
            "input_size": list(self.input_size),
            "per_layer": self.per_layer,
        }


def effective_weight(weight: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    return weight if mask is None else weight * mask.to(weight.device, weight.dtype)


def _nonzero(t: torch.Tensor | None) -> int:
    return 0 if t is None else int(torch.count_nonzero(t).item())


def _layer_macs(
    module: nn.Module, inp: torch.Tensor, out: torch.Tensor, weight_nonzero: int, sparse: bool
) -> int:
    if isinstance(module, nn.Conv2d):
        positions = out.shape[0] * out.shape[2] * out.shape[3]
        if sparse:
            return weight_nonzero * positions
        per_output = (module.in_channels // module.groups) * module.kernel_size[0] * module.kernel_size[1]
        return positions * module.out_channels * per_output
    if isinstance(module, nn.Linear):
        rows = inp.numel() // module.in_features
        return rows * (weight_nonzero if sparse else module.in_features * module.out_features)
    return out.numel()  # BatchNorm2d


def count_macs(
    model: nn.Module, input_size=(1, 3, 32, 32), masks: dict | None = None, sparse: bool = False
) -> MacsReport:
    """Run one forward pass on zeros of ``input_size`` and count MACs per Conv2d/Linear/BatchNorm2d.

    ``masks`` maps parameter names (``layer1.0.conv1.weight``) to bool tensors; with ``sparse=True``
    masked-out and exactly-zero weights cost nothing. The model's mode is restored afterwards.
    """
    masks = masks or {}
    model = getattr(model, "module", model)
    rows: dict[str, dict] = {}
    hooks = []

    def hook_for(name: str):
        def hook(module, inputs, output):
            weight = getattr(module, "weight", None)
            key = f"{name}.weight" if name else "weight"
            w = effective_weight(weight.detach(), masks.get(key)) if weight is not None else None
            nz = _nonzero(w)
            row = rows.setdefault(
                name,
                {
                    "name": name,
                    "type": type(module).__name__,
                    "macs": 0,
                    "params": sum(p.numel() for p in module.parameters(recurse=False)),
                    "nonzero_params": nz + _nonzero(getattr(module, "bias", None)),
                    "output_shape": list(output.shape),
                },
            )
            row["macs"] += _layer_macs(module, inputs[0], output, nz, sparse)

        return hook

    for name, module in model.named_modules():
        if isinstance(module, COUNTED):
            hooks.append(module.register_forward_hook(hook_for(name)))
    was_training = model.training
    try:
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
        model.eval()
        with torch.no_grad():
            model(torch.zeros(tuple(input_size), device=device, dtype=dtype))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)

    order = [name for name, _ in model.named_modules() if name in rows]
    per_layer = [rows[n] for n in order]
    nonzero = 0
    for name, p in model.named_parameters():
        nonzero += _nonzero(effective_weight(p.detach(), masks.get(name)))
    return MacsReport(
        total_macs=sum(r["macs"] for r in per_layer),
        total_params=sum(p.numel() for p in model.parameters()),
        per_layer=per_layer,
        nonzero_params=nonzero,
        sparse=sparse,
        input_size=tuple(input_size),
    )
