"""Model names → builders. ``build_model({"name": ..., "num_classes": ..., "in_channels": ..., **options})``.

Names: the fixed table below, any ``wrn{depth}_{widen}``, and ``torchvision:NAME`` for any torchvision
classification model (random init; the first conv is replaced when ``in_channels`` is not 3).
An ``arch["rebuild"] = {"rebuilder": NAME, ...}`` entry reshapes the built model (a GDP-compacted
network from its shape manifest, a DuBIN conversion) without pickles; NAME is a key of the fixed
table :data:`REBUILDERS`. A checkpoint names data, never code to import.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable

import torch.nn as nn

from vita_cli.core.errors import UserError
from vita_cli.models import dubin, manifest
from vita_cli.models.cifar_resnet import CifarResNet, torchvision_cifar_resnet
from vita_cli.models.small_cnn import SmallCNN
from vita_cli.models.vgg import VGG
from vita_cli.models.wide_resnet import WideResNet


def _cifar_resnet(depth):
    def build(num_classes=10, in_channels=3, shortcut="A", width=16):
        return CifarResNet(depth, num_classes, in_channels, shortcut=shortcut, width=width)

    build.__doc__ = f"CIFAR ResNet-{depth} (option A or B shortcuts)"
    return build


def _tv_cifar(variant):
    def build(num_classes=10, in_channels=3):
        return torchvision_cifar_resnet(variant, num_classes, in_channels)

    build.__doc__ = f"torchvision {variant} with a 3×3 stem and no max-pool"
    return build


def _small_cnn(num_classes=10, in_channels=1, width=32, dropout=0.0):
    """small 4-conv CNN"""
    return SmallCNN(num_classes, in_channels, width=width, dropout=dropout)


def _vgg16_bn(num_classes=10, in_channels=3):
    """VGG-16 with batch norm, 32×32 head"""
    return VGG(None, num_classes, in_channels)


def _wrn(depth, widen):
    def build(num_classes=10, in_channels=3, dropout=0.0):
        return WideResNet(depth, widen, num_classes, in_channels, dropout=dropout)

    build.__doc__ = f"WideResNet-{depth}-{widen}"
    return build


MODELS: dict[str, Callable[..., nn.Module]] = {
    "small_cnn": _small_cnn,
    "resnet14": _cifar_resnet(14),
    "resnet20": _cifar_resnet(20),
    "resnet32": _cifar_resnet(32),
    "resnet44": _cifar_resnet(44),
    "resnet56": _cifar_resnet(56),
    "resnet18_cifar": _tv_cifar("resnet18"),
    "resnet50_cifar": _tv_cifar("resnet50"),
    "vgg16_bn": _vgg16_bn,
    "wrn16_2": _wrn(16, 2),
    "wrn16_4": _wrn(16, 4),
    "wrn40_2": _wrn(40, 2),
}
MODEL_NAMES: list[str] = sorted(MODELS) + ["wrn{depth}_{widen}", "torchvision:NAME"]

_WRN = re.compile(r"^wrn(\d+)_(\d+)$")


def _choices() -> str:
    return ", ".join(MODEL_NAMES)


def _builder(name: str) -> Callable[..., nn.Module]:
    if name in MODELS:
        return MODELS[name]
    match = _WRN.match(name)
    if match:
        depth, widen = int(match.group(1)), int(match.group(2))
        if (depth - 4) % 6 or widen < 1:
            raise UserError(
                f"bad WideResNet name {name!r}: depth must be 6n+4 and widen >= 1", "e.g. wrn16_4, wrn28_10"
            )
        return _wrn(depth, widen)
    if name.startswith("torchvision:"):
        return _torchvision_builder(name.split(":", 1)[1])
    raise UserError(f"unknown architecture {name!r}", f"choose one of: {_choices()}")


def _torchvision_builder(tv_name: str):
    import torchvision  # lazy: about a second to import, and only torchvision:NAME models need it

    known = torchvision.models.list_models(module=torchvision.models)
    if tv_name not in known:
        raise UserError(
            f"unknown torchvision classification model {tv_name!r}",
            f"choose one of: {', '.join(known)}",
        )

    def build(num_classes=1000, in_channels=3, **kwargs):
        model = torchvision.models.get_model(tv_name, weights=None, num_classes=num_classes, **kwargs)
        if in_channels != 3:
            replace_first_conv(model, in_channels)
        return model

    return build


def replace_first_conv(model: nn.Module, in_channels: int) -> None:
    """Swap the first Conv2d for one with ``in_channels`` inputs (same kernel, stride, padding, width)."""
    for parent in model.modules():
        for child_name, child in parent.named_children():
            if isinstance(child, nn.Conv2d):
                conv = nn.Conv2d(
                    in_channels,
                    child.out_channels,
                    child.kernel_size,
                    child.stride,
                    child.padding,
                    child.dilation,
                    1,
                    child.bias is not None,
                    child.padding_mode,
                )
                setattr(parent, child_name, conv)
                return
    raise UserError("this torchvision model has no Conv2d to adapt to in_channels != 3")


def _call_builder(name: str, builder, options: dict) -> nn.Module:
    params = inspect.signature(builder).parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    unknown = [k for k in options if k not in params and not accepts_any]
    if unknown:
        valid = [k for k in params if k not in ("num_classes", "in_channels")]
        raise UserError(
            f"architecture {name!r} has no option {', '.join(map(repr, unknown))}",
            f"its options are: {', '.join(valid) or 'none'}",
        )
    try:
        return builder(**options)
    except (ValueError, TypeError) as exc:
        raise UserError(f"cannot build {name!r} with {options}: {exc}") from exc


# Rebuilders: name → function(model, rebuild_spec) -> model, applied after the base model is built.
REBUILDERS: dict[str, Callable[[nn.Module, dict], nn.Module]] = {
    "gdp_manifest": manifest.apply_manifest,
    "dubin": dubin.rebuild,
}
# Files written by earlier vita versions name their rebuilder by its old function path: read as a name.
_LEGACY_REBUILDER_NAMES = {
    "vita_cli.methods.gdp.compact:apply_manifest": "gdp_manifest",
    "vita_cli.methods.augmax.dubin:rebuild": "dubin",
}


def rebuilder_for(rebuild: dict) -> Callable[[nn.Module, dict], nn.Module]:
    """The rebuild function an ``arch["rebuild"]`` entry names (a key of :data:`REBUILDERS`)."""
    if not isinstance(rebuild, dict):
        raise UserError(f"arch.rebuild must be a mapping with a 'rebuilder' name; got {rebuild!r}")
    name = rebuild.get("rebuilder")
    if name is None and "fn" in rebuild:
        name = _LEGACY_REBUILDER_NAMES.get(str(rebuild["fn"]), rebuild["fn"])
    if name not in REBUILDERS:
        raise UserError(
            f"unknown model rebuilder {name!r} in the checkpoint's arch.rebuild",
            f"this vita knows: {', '.join(sorted(REBUILDERS))}; is the file from a newer vita?",
        )
    return REBUILDERS[name]


def build_model(arch: dict) -> nn.Module:
    """Build a freshly initialised model from an architecture spec (a plain dict, stored in checkpoints)."""
    if isinstance(arch, str):
        arch = {"name": arch}
    if not isinstance(arch, dict) or not arch.get("name"):
        raise UserError(
            f"architecture spec must be a dict with a 'name'; got {arch!r}", f"names: {_choices()}"
        )
    name = str(arch["name"])
    options = {k: v for k, v in arch.items() if k not in ("name", "rebuild")}
    model = _call_builder(name, _builder(name), options)
    rebuild = arch.get("rebuild")
    if rebuild:
        model = rebuilder_for(rebuild)(model, rebuild)
    return model


def describe_models() -> list[dict]:
    """Name and one-line description of every fixed registry entry (for help text and listings)."""
    return [{"name": n, "description": (MODELS[n].__doc__ or "").strip()} for n in sorted(MODELS)]
