"""DuBIN: dual batch norm (one set of statistics per input route) plus instance norm on half the channels.

- :class:`DualBatchNorm2d` holds two BatchNorm2d: ``main`` for clean and AugMix images (and evaluation),
  ``augmax`` for AugMax images. Every such module follows the route set by :func:`set_route` /
  :func:`use_route`; the default route is ``main``, so a converted model evaluates with clean statistics.
- :class:`DuBIN` sends the first ⌊ratio·C⌋ channels through ``InstanceNorm2d(affine=True)`` (shared by
  both routes, no running statistics) and the rest through a DualBatchNorm2d.
- :func:`convert_to_dubin` turns a plain-BN model into DuBIN by module name, IBN-Net "a" style: the first
  BatchNorm2d of every block in the early stages (all stages but the last, unless named) becomes DuBIN,
  every other BatchNorm2d becomes a DualBatchNorm2d. ``norm="dubn"`` gives the dual-BN-only ablation.
  Existing BN weights and statistics are copied into both routes, so a trained model converts losslessly.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from vita_cli.core.errors import UserError

ROUTE_MAIN = "main"  # clean and AugMix images; evaluation
ROUTE_AUGMAX = "augmax"  # AugMax images
ROUTES = (ROUTE_MAIN, ROUTE_AUGMAX)


class DualBatchNorm2d(nn.Module):
    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.num_features = num_features
        self.bn_main = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum)
        self.bn_augmax = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum)
        self.route = ROUTE_MAIN

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn_augmax(x) if self.route == ROUTE_AUGMAX else self.bn_main(x)

    def extra_repr(self) -> str:
        return f"{self.num_features}, route={self.route}"


class DuBIN(nn.Module):
    def __init__(self, num_features: int, in_ratio: float = 0.5, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.num_features = num_features
        self.in_channels = int(num_features * in_ratio)
        if not 0 < self.in_channels < num_features:
            raise ValueError(
                f"DuBIN on {num_features} channels with in_ratio {in_ratio} leaves one part empty"
            )
        self.inorm = nn.InstanceNorm2d(self.in_channels, affine=True, eps=eps)
        self.dbn = DualBatchNorm2d(num_features - self.in_channels, eps=eps, momentum=momentum)

    @property
    def route(self) -> str:
        return self.dbn.route

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first, rest = torch.split(x, [self.in_channels, self.num_features - self.in_channels], dim=1)
        return torch.cat([self.inorm(first.contiguous()), self.dbn(rest.contiguous())], dim=1)


def set_route(model: nn.Module, route: str) -> None:
    if route not in ROUTES:
        raise ValueError(f"unknown normalisation route {route!r}; choices: {', '.join(ROUTES)}")
    for module in model.modules():
        if isinstance(module, DualBatchNorm2d):
            module.route = route


@contextlib.contextmanager
def use_route(model: nn.Module, route: str):
    """Switch every dual BN to ``route`` inside the block, back to ``main`` after."""
    set_route(model, route)
    try:
        yield model
    finally:
        set_route(model, ROUTE_MAIN)


# ---------------------------------------------------------------- conversion by name


def _contains_bn(module: nn.Module) -> bool:
    return any(isinstance(m, nn.BatchNorm2d) for m in module.modules())


def find_stages(model: nn.Module) -> list[str]:
    """Names of the top-level containers whose children are blocks (modules holding a BatchNorm2d).

    For the CIFAR ResNets these are ``layer1..layerN``, for wide ResNets ``block1..block3`` (whatever
    the backbone calls them): the stem and the classifier hold no block and are skipped.
    """
    stages = []
    for name, child in model.named_children():
        if isinstance(child, nn.BatchNorm2d):
            continue
        blocks = [c for c in child.children() if not isinstance(c, nn.BatchNorm2d) and _contains_bn(c)]
        if isinstance(child, (nn.Sequential, nn.ModuleList)) and blocks:
            stages.append(name)
    return stages


def dubin_targets(model: nn.Module, stages: list[str] | None = None) -> list[str]:
    """Qualified names of the BatchNorm2d that become DuBIN: the first BN of each block of ``stages``."""
    all_stages = find_stages(model)
    if stages is None:
        stages = all_stages[:-1]  # IBN-a: no instance norm in the last stage
    unknown = [s for s in stages if s not in all_stages]
    if unknown:
        raise ValueError(
            f"model has no stage {unknown[0]!r}; its stages are: {', '.join(all_stages) or 'none'}"
        )
    modules = dict(model.named_modules())
    targets = []
    for stage in stages:
        for block_name, block in modules[stage].named_children():
            if isinstance(block, nn.BatchNorm2d):
                continue
            for bn_name, bn in block.named_modules():
                if isinstance(bn, nn.BatchNorm2d):
                    targets.append(f"{stage}.{block_name}.{bn_name}")
                    break
    return targets


def _copy_bn(src: nn.BatchNorm2d, dst: nn.BatchNorm2d, channels: slice) -> None:
    with torch.no_grad():
        if src.affine and dst.affine:
            dst.weight.copy_(src.weight[channels])
            dst.bias.copy_(src.bias[channels])
        if src.running_mean is not None and dst.running_mean is not None:
            dst.running_mean.copy_(src.running_mean[channels])
            dst.running_var.copy_(src.running_var[channels])
            dst.num_batches_tracked.copy_(src.num_batches_tracked)


def _dual_from(bn: nn.BatchNorm2d, channels: slice) -> DualBatchNorm2d:
    n = len(range(bn.num_features)[channels])
    dual = DualBatchNorm2d(n, eps=bn.eps, momentum=bn.momentum if bn.momentum is not None else 0.1)
    _copy_bn(bn, dual.bn_main, channels)
    _copy_bn(bn, dual.bn_augmax, channels)
    return dual.train(bn.training)


def _dubin_from(bn: nn.BatchNorm2d, in_ratio: float) -> DuBIN:
    layer = DuBIN(
        bn.num_features, in_ratio, eps=bn.eps, momentum=bn.momentum if bn.momentum is not None else 0.1
    )
    k = layer.in_channels
    if bn.affine:
        with torch.no_grad():
            layer.inorm.weight.copy_(bn.weight[:k])
            layer.inorm.bias.copy_(bn.bias[:k])
    layer.dbn = _dual_from(bn, slice(k, None))
    return layer.train(bn.training)


def _set_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


def convert_to_dubin(
    model: nn.Module, norm: str = "dubin", in_ratio: float = 0.5, stages: list[str] | None = None
) -> nn.Module:
    """Replace the model's BatchNorm2d layers in place (see the module doc) and return the model."""
    if norm not in ("dubin", "dubn"):
        raise ValueError(f"unknown normalisation {norm!r}; choices: dubin, dubn")
    targets = set(dubin_targets(model, stages)) if norm == "dubin" else set()
    if norm == "dubin" and not targets:
        raise ValueError("found no block-level BatchNorm2d to turn into DuBIN (the model has no stages)")
    replacements = {}
    for name, module in model.named_modules():
        if isinstance(module, nn.BatchNorm2d):
            replacements[name] = (
                _dubin_from(module, in_ratio) if name in targets else _dual_from(module, slice(None))
            )
    for name, module in replacements.items():
        _set_submodule(model, name, module)
    return model


def dubin_spec(norm: str = "dubin", in_ratio: float = 0.5, stages: list[str] | None = None) -> dict:
    """The ``arch["rebuild"]`` entry that lets ``vita_cli.models.build_model`` rebuild a converted model."""
    return {
        "rebuilder": "dubin",
        "norm": norm,
        "in_ratio": in_ratio,
        "stages": stages,
    }


def rebuild(model: nn.Module, spec: dict) -> nn.Module:
    """Rebuilder ``dubin`` of ``build_model``: convert a freshly built plain-BN model as ``spec`` says."""
    try:
        return convert_to_dubin(
            model, spec.get("norm", "dubin"), spec.get("in_ratio", 0.5), spec.get("stages")
        )
    except ValueError as exc:
        raise UserError(
            f"cannot convert {type(model).__name__} to {spec.get('norm', 'dubin')}: {exc}",
            "DuBIN needs a residual model with stages (resnet20, resnet18_cifar, wrn*); or use method.norm=dubn/bn",
        ) from None
