"""Architecture inference for plain state dicts: which registered model has exactly these tensors?

A candidate matches when building it (on the ``meta`` device, so nothing is allocated) gives the same
tensor names and the same shapes as the file (``num_batches_tracked`` counters ignored). Candidates:

* vita's own models, with the options read off the tensors: ``small_cnn`` width from the first conv,
  CIFAR ResNet depth from the block count, shortcut kind and width, WideResNet depth and widen factor;
* torchvision classification models, pre-selected by their tensor count (:data:`TORCHVISION_TENSORS`)
  so only a handful are built.

``num_classes`` comes from the classifier (last 2-D weight, or the last conv for conv-only heads) and
``in_channels`` from the first conv, so a 1-channel or a 10-class model matches too.
"""

from __future__ import annotations

import re
import warnings

import torch

from vita_cli.core.errors import UserError
from vita_cli.models.registry import MODEL_NAMES, MODELS, build_model

# Tensors in the state dict of each torchvision classification model (num_batches_tracked excluded);
# independent of num_classes and in_channels. A test checks these against the installed torchvision.
TORCHVISION_TENSORS: dict[str, int] = {
    "alexnet": 16,
    "convnext_base": 344,
    "convnext_large": 344,
    "convnext_small": 344,
    "convnext_tiny": 182,
    "densenet121": 606,
    "densenet161": 806,
    "densenet169": 846,
    "densenet201": 1006,
    "efficientnet_b0": 311,
    "efficientnet_b1": 439,
    "efficientnet_b2": 439,
    "efficientnet_b3": 496,
    "efficientnet_b4": 610,
    "efficientnet_b5": 738,
    "efficientnet_b6": 852,
    "efficientnet_b7": 1037,
    "efficientnet_v2_l": 1331,
    "efficientnet_v2_m": 963,
    "efficientnet_v2_s": 672,
    "googlenet": 305,
    "inception_v3": 484,
    "maxvit_t": 548,
    "mnasnet0_5": 262,
    "mnasnet0_75": 262,
    "mnasnet1_0": 262,
    "mnasnet1_3": 262,
    "mobilenet_v2": 262,
    "mobilenet_v3_large": 266,
    "mobilenet_v3_small": 210,
    "regnet_x_16gf": 357,
    "regnet_x_1_6gf": 297,
    "regnet_x_32gf": 372,
    "regnet_x_3_2gf": 402,
    "regnet_x_400mf": 357,
    "regnet_x_800mf": 267,
    "regnet_x_8gf": 372,
    "regnet_y_16gf": 369,
    "regnet_y_1_6gf": 540,
    "regnet_y_32gf": 407,
    "regnet_y_3_2gf": 426,
    "regnet_y_400mf": 331,
    "regnet_y_800mf": 293,
    "regnet_y_8gf": 350,
    "resnet101": 522,
    "resnet152": 777,
    "resnet18": 102,
    "resnet34": 182,
    "resnet50": 267,
    "resnext101_32x8d": 522,
    "resnext101_64x4d": 522,
    "resnext50_32x4d": 267,
    "shufflenet_v2_x0_5": 282,
    "shufflenet_v2_x1_0": 282,
    "shufflenet_v2_x1_5": 282,
    "shufflenet_v2_x2_0": 282,
    "squeezenet1_0": 52,
    "squeezenet1_1": 52,
    "swin_b": 353,
    "swin_s": 353,
    "swin_t": 185,
    "swin_v2_b": 449,
    "swin_v2_s": 449,
    "swin_v2_t": 233,
    "vgg11": 22,
    "vgg11_bn": 54,
    "vgg13": 26,
    "vgg13_bn": 66,
    "vgg16": 32,
    "vgg16_bn": 84,
    "vgg19": 38,
    "vgg19_bn": 102,
    "vit_b_16": 152,
    "vit_b_32": 152,
    "vit_h_14": 392,
    "vit_l_16": 296,
    "vit_l_32": 296,
    "wide_resnet101_2": 522,
    "wide_resnet50_2": 267,
}

_COUNTER = "num_batches_tracked"


def _shapes(state: dict) -> dict[str, tuple]:
    return {k: tuple(v.shape) for k, v in state.items() if not k.endswith(_COUNTER)}


def state_dims(state: dict) -> dict[str, int]:
    """``in_channels`` from the first 4-D weight, ``num_classes`` from the classifier."""
    dims: dict[str, int] = {}
    convs = [v for k, v in state.items() if k.endswith("weight") and v.ndim == 4]
    linears = [v for k, v in state.items() if k.endswith("weight") and v.ndim == 2]
    if convs:
        dims["in_channels"] = int(convs[0].shape[1])
    if linears:
        dims["num_classes"] = int(linears[-1].shape[0])
    elif convs:  # a conv-only head (squeezenet)
        dims["num_classes"] = int(convs[-1].shape[0])
    return dims


def _blocks(shapes: dict, stage: str) -> int:
    pattern = re.compile(rf"^{stage}\.(\d+)\.")
    found = {int(m.group(1)) for k in shapes for m in [pattern.match(k)] if m}
    return max(found) + 1 if found else 0


def _vita_candidates(shapes: dict) -> list[dict]:
    """Specs of vita's own models with the options the tensors imply (only the options not at default)."""
    cands: list[dict] = []
    first = shapes.get("conv1.weight")
    if first is not None:
        width = first[0]
        cands.append({"name": "small_cnn", **({"width": width} if width != 32 else {})})
        n = _blocks(shapes, "layer1")
        if n:
            name = f"resnet{6 * n + 2}"
            if name in MODELS:
                opts: dict = {}
                if any(".shortcut.0.weight" in k for k in shapes):
                    opts["shortcut"] = "B"
                if width != 16:
                    opts["width"] = width
                cands.append({"name": name, **opts})
            block = shapes.get("layer1.0.conv1.weight")
            if block is not None and block[0] % 16 == 0:
                cands.append({"name": f"wrn{6 * n + 4}_{block[0] // 16}"})
    covered = {"small_cnn", "resnet20", "resnet32", "resnet44", "resnet56"}
    covered |= {n for n in MODELS if n.startswith("wrn")}
    cands += [{"name": n} for n in sorted(MODELS) if n not in covered]
    return cands


def _torchvision_candidates(shapes: dict) -> list[dict]:
    count = len(shapes)
    return [{"name": f"torchvision:{n}"} for n, c in TORCHVISION_TENSORS.items() if c == count]


def _built_shapes(arch: dict) -> dict[str, tuple] | None:
    """Tensor shapes of ``arch`` built on the meta device (CPU for the few models that need real data)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchvision's init-scheme FutureWarnings
        try:
            try:
                with torch.device("meta"):
                    model = build_model(arch)
            except NotImplementedError:  # regnet computes its widths from tensors at build time
                model = build_model(arch)
        except (UserError, ValueError, TypeError, RuntimeError):
            return None
    return _shapes(model.state_dict())


def infer_arch(state: dict, only: str | None = None, source: str = "the file") -> dict:
    """The one architecture spec whose tensors match ``state``; a UserError when none or several do.

    ``only`` restricts the search to one registry name (``--arch NAME`` without its options: the
    options, e.g. ``small_cnn`` width, are still read off the tensors).
    """
    shapes = _shapes(state)
    if not shapes:
        raise UserError(f"{source} holds no tensors")
    dims = state_dims(state)
    cands = _vita_candidates(shapes) + _torchvision_candidates(shapes)
    if only is not None:
        cands = [c for c in cands if c["name"] == only]
    matches: list[dict] = []
    closest: tuple[int, str] | None = None
    for cand in cands:
        arch = {**cand, **dims}
        built = _built_shapes(arch)
        if built is None:
            continue
        if built == shapes:
            matches.append(arch)
        elif set(built) == set(shapes):
            bad = next(k for k in built if built[k] != shapes[k])
            closest = closest or (0, f"{cand['name']} ({bad}: expected {built[bad]}, found {shapes[bad]})")
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = ", ".join(describe_arch(m) for m in matches)
        raise UserError(f"{source} matches several architectures: {names}", "pass --arch NAME to choose one")
    near = f"; closest: {closest[1]}" if closest else ""
    if only is not None:
        raise UserError(
            f"{source} does not match architecture {only!r} with any options{near}",
            "check --arch NAME, or leave --arch out to let vita find the architecture",
        )
    raise UserError(
        f"{source} holds a plain state dict of {len(shapes)} tensors that matches none of vita's "
        f"architectures{near}",
        f"pass --arch NAME (one of: {', '.join(MODEL_NAMES)}) with model options if it has any",
    )


def describe_arch(arch: dict) -> str:
    """``small_cnn(width=8)``-style label (num_classes and in_channels left out)."""
    opts = {k: v for k, v in arch.items() if k not in ("name", "num_classes", "in_channels", "rebuild")}
    inner = ", ".join(f"{k}={v}" for k, v in opts.items())
    return f"{arch['name']}({inner})" if inner else str(arch["name"])
