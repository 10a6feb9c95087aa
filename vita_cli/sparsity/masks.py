"""Masks: ``torch.bool`` tensors keyed by parameter name (``"layer1.0.conv1.weight"``).

True = the weight is kept. A masked weight stays exactly zero through training because the trainer
zeroes its gradient after backward (so momentum and Adam moments never see it) and multiplies the
weight by its mask after every optimiser step (decoupled weight decay, numerical drift).
"""

from __future__ import annotations

import fnmatch

import torch
from torch import nn

from vita_cli.core.errors import UserError
from vita_cli.training import distributed as ddp
from vita_cli.training.callbacks import TrainCallback

Masks = dict[str, torch.Tensor]


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside DDP/DataParallel wrappers (parameter names without ``module.``)."""
    return (
        getattr(model, "module", model)
        if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel))
        else model
    )


def check_masks(model: nn.Module, masks: Masks) -> None:
    """Every mask names a parameter of ``model`` and has its shape."""
    params = dict(unwrap(model).named_parameters())
    for name, mask in masks.items():
        if name not in params:
            raise UserError(
                f"mask for {name!r} matches no parameter of the model",
                "was the mask made for another architecture?",
            )
        if tuple(mask.shape) != tuple(params[name].shape):
            raise UserError(
                f"mask {name!r} has shape {tuple(mask.shape)}, the parameter has {tuple(params[name].shape)}",
                "was the mask made for another architecture?",
            )


def mask_pairs(model: nn.Module, masks: Masks | None) -> list[tuple[nn.Parameter, torch.Tensor]]:
    """(parameter, mask on the parameter's device) pairs, resolved once so the hot loop is cheap."""
    if not masks:
        return []
    check_masks(model, masks)
    params = dict(unwrap(model).named_parameters())
    return [(params[name], m.to(device=params[name].device, dtype=torch.bool)) for name, m in masks.items()]


@torch.no_grad()
def apply_masks(model: nn.Module, masks: Masks | None) -> nn.Module:
    """Zero the masked weights in place."""
    for param, mask in mask_pairs(model, masks):
        param.mul_(mask)
    return model


@torch.no_grad()
def mask_weights_(pairs) -> None:
    for param, mask in pairs:
        param.mul_(mask)


@torch.no_grad()
def mask_grads_(pairs) -> None:
    for param, mask in pairs:
        if param.grad is not None:
            param.grad.mul_(mask)


def prunable_names(
    model: nn.Module, include: list[str] | None = None, exclude: list[str] | None = None
) -> list[str]:
    """Weight names of Conv/Linear layers that pruning may touch, in module order.

    ``include``/``exclude`` are fnmatch patterns matched against the module name and the parameter
    name. ``exclude=None`` excludes the stem (first conv) and the classifier (last linear), as
    lottery-ticket work does; pass ``[]`` to prune everything.
    """
    model = unwrap(model)
    layers = [
        (name, m)
        for name, m in model.named_modules()
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear))
    ]
    if exclude is None:
        convs = [n for n, m in layers if not isinstance(m, nn.Linear)]
        linears = [n for n, m in layers if isinstance(m, nn.Linear)]
        default = {convs[0]} if convs else set()
        if linears:
            default.add(linears[-1])
        if len(layers) <= len(default):  # a single-layer model: keep it prunable
            default = set()
        exclude_fn = lambda module_name, _param: module_name in default  # noqa: E731
    else:
        exclude_fn = lambda module_name, param: _matches(module_name, param, exclude)  # noqa: E731
    names = []
    for module_name, _module in layers:
        param_name = f"{module_name}.weight" if module_name else "weight"
        if include is not None and not _matches(module_name, param_name, include):
            continue
        if exclude_fn(module_name, param_name):
            continue
        names.append(param_name)
    return names


def _matches(module_name: str, param_name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(module_name, p) or fnmatch.fnmatchcase(param_name, p) for p in patterns)


def ones_masks(model: nn.Module, names: list[str]) -> Masks:
    params = dict(unwrap(model).named_parameters())
    return {n: torch.ones_like(params[n], dtype=torch.bool, device="cpu") for n in names}


def random_masks_like(masks: Masks, generator: torch.Generator | None = None) -> Masks:
    """Random masks with exactly the same number of kept weights in every layer (the IMP control)."""
    out = {}
    for name, mask in masks.items():
        keep = int(mask.sum())
        order = torch.randperm(mask.numel(), generator=generator)
        flat = torch.zeros(mask.numel(), dtype=torch.bool)
        flat[order[:keep]] = True
        out[name] = flat.view_as(mask)
    return out


def sparsity_report(model: nn.Module, masks: Masks | None = None) -> dict:
    """Per-layer and global sparsity of Conv/Linear weights (zeros counted from masks, else weights)."""
    model = unwrap(model)
    masks = masks or {}
    params = dict(model.named_parameters())
    layers = []
    for module_name, module in model.named_modules():
        if not isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)):
            continue
        name = f"{module_name}.weight" if module_name else "weight"
        w = params.get(name)
        if w is None:
            continue
        zeros = int((~masks[name]).sum()) if name in masks else int((w.detach() == 0).sum())
        layers.append(
            {
                "name": name,
                "shape": list(w.shape),
                "numel": w.numel(),
                "zeros": zeros,
                "sparsity": zeros / max(1, w.numel()),
                "masked": name in masks,
            }
        )
    total = sum(p.numel() for p in params.values())
    layer_total = sum(r["numel"] for r in layers)
    layer_zeros = sum(r["zeros"] for r in layers)
    masked_total = sum(r["numel"] for r in layers if r["masked"])
    masked_zeros = sum(r["zeros"] for r in layers if r["masked"])
    return {
        "layers": layers,
        "params": total,
        "nonzero_params": total - layer_zeros,
        "global_sparsity": layer_zeros / max(1, total),  # over all parameters
        "weight_sparsity": layer_zeros / max(1, layer_total),  # over conv/linear weights
        "masked_sparsity": masked_zeros / max(1, masked_total) if masks else 0.0,  # over masked layers
        "remaining": 1 - masked_zeros / max(1, masked_total) if masks else 1.0,
    }


class MaskCallback(TrainCallback):
    """Keeps masked weights at exactly zero during :func:`vita_cli.training.fit`.

    Gradients of masked weights are zeroed after backward (momentum and Adam moments never see them),
    and weights are multiplied by their mask after every optimiser step (decoupled weight decay,
    rounding). The masks are saved in the trainer's checkpoint (key ``masks``); on resume the
    checkpoint's masks win, since they belong to its weights. Under torchrun every rank uses rank 0's.
    """

    state_key = "masks"

    def __init__(self, masks: Masks | None):
        self.masks: Masks = {k: v.cpu() for k, v in (masks or {}).items()}
        self.model: nn.Module | None = None
        self.pairs: list = []

    def on_train_start(self, model: nn.Module) -> None:
        if self.masks and ddp.is_distributed():
            self.masks = ddp.broadcast_object(self.masks)  # every rank prunes the same weights
        self.model = model
        self._bind()

    def _bind(self) -> None:
        self.pairs = mask_pairs(self.model, self.masks)
        mask_weights_(self.pairs)

    def after_backward(self, model: nn.Module) -> None:
        mask_grads_(self.pairs)

    def after_step(self, model: nn.Module, step: int) -> None:
        mask_weights_(self.pairs)

    def state_dict(self) -> Masks:
        return {k: v.cpu() for k, v in self.masks.items()}

    def load_state_dict(self, state: Masks) -> None:
        if state:
            self.masks = dict(state)
        if self.model is not None:
            self._bind()
