"""Model files in and out: vita checkpoints, plain state dicts, the torch prune layout, pickles.

* vita checkpoint: ``.safetensors`` whose metadata holds ``arch`` (a :func:`build_model` spec); masks
  are bool tensors stored under ``mask::<parameter name>``.
* plain ``state_dict`` (``.pt``/``.pth``/``.bin``), read with ``weights_only=True``; the architecture
  is inferred from the tensor names and shapes (:mod:`vita_cli.models.infer`) unless ``--arch`` names it.
* ``torch.nn.utils.prune`` layout: ``<m>.weight_orig`` + ``<m>.weight_mask``; loaded as
  ``weight = orig * mask`` with the mask kept as a bool mask.
* a whole pickled module: only with ``trust_pickle=True``, since unpickling runs arbitrary code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from vita_cli.core.checkpoint import load_checkpoint, load_torch_state, save_checkpoint
from vita_cli.core.errors import UserError, require_regular_file
from vita_cli.models.infer import infer_arch
from vita_cli.models.registry import build_model

MASK_PREFIX = "mask::"
_PRUNE_SUFFIXES = ("_orig", "_mask")
_NESTED_KEYS = ("state_dict", "model_state_dict", "model", "net", "network", "weights")


@dataclass
class LoadedModel:
    model: nn.Module
    arch: dict
    masks: dict[str, torch.Tensor] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    source_format: str = "vita"  # vita | state_dict | prune | pickle
    inferred_arch: bool = False  # the architecture was read off the tensors, not named


# ------------------------------------------------------------------------------------------ saving


def save_model(
    path, model: nn.Module, arch: dict, masks: dict | None = None, meta: dict | None = None
) -> Path:
    """Write a vita checkpoint: the state dict, ``mask::<name>`` bool masks, ``meta["arch"] = arch``."""
    model = getattr(model, "module", model)  # unwrap DDP / DataParallel
    tensors: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for name, t in model.state_dict().items():
        t = t.detach().cpu()
        # safetensors refuses tensors sharing memory (tied weights): store independent copies
        ptr = t.untyped_storage().data_ptr() if t.numel() else -1
        tensors[name] = t.clone() if ptr in seen else t
        seen.add(ptr)
    params = dict(model.named_parameters())
    for name, mask in (masks or {}).items():
        if name not in params:
            raise ValueError(f"mask for unknown parameter {name!r}")
        if tuple(mask.shape) != tuple(params[name].shape):
            raise ValueError(
                f"mask {name!r} has shape {tuple(mask.shape)}, parameter has {tuple(params[name].shape)}"
            )
        tensors[MASK_PREFIX + name] = mask.detach().to("cpu", torch.bool)
    return save_checkpoint(path, tensors, {**(meta or {}), "arch": dict(arch)})


def export_prune_state_dict(model: nn.Module, masks: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A state dict in the ``torch.nn.utils.prune`` layout: masked ``p`` becomes ``p_orig`` + ``p_mask``.

    ``torch.save`` it to hand a ticket to other lottery-ticket code.
    """
    model = getattr(model, "module", model)
    out = {}
    for name, t in model.state_dict().items():
        if name in masks:
            out[name + "_orig"] = t.detach().cpu().clone()
            out[name + "_mask"] = masks[name].detach().to("cpu", t.dtype)
        else:
            out[name] = t.detach().cpu().clone()
    return out


# ----------------------------------------------------------------------------------------- loading


def split_masks(tensors: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Separate ``mask::<name>`` entries from the state dict."""
    state = {k: v for k, v in tensors.items() if not k.startswith(MASK_PREFIX)}
    masks = {k[len(MASK_PREFIX) :]: v.bool() for k, v in tensors.items() if k.startswith(MASK_PREFIX)}
    return state, masks


def merge_prune_layout(
    state: dict[str, torch.Tensor],
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """``x_orig`` + ``x_mask`` pairs → ``x = x_orig * x_mask`` and a bool mask for ``x``."""
    out, masks = {}, {}
    for key, value in state.items():
        if key.endswith("_mask") and key[: -len("_mask")] + "_orig" in state:
            continue
        if key.endswith("_orig") and key[: -len("_orig")] + "_mask" in state:
            base = key[: -len("_orig")]
            mask = state[base + "_mask"]
            if mask.shape != value.shape:
                raise UserError(
                    f"prune mask {base}_mask has shape {tuple(mask.shape)} but {key} has {tuple(value.shape)}"
                )
            out[base] = value * mask.to(value.dtype)
            masks[base] = mask != 0
        else:
            out[key] = value
    return out, masks


def _strip_wrapper_prefix(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # checkpoints saved from DDP/DataParallel carry "module." on every key
    if state and all(k.startswith("module.") for k in state):
        return {k[len("module.") :]: v for k, v in state.items()}
    return state


def infer_dims(state: dict[str, torch.Tensor]) -> dict[str, int]:
    """num_classes from the last 2-D weight (the classifier), in_channels from the first 4-D weight."""
    dims = {}
    convs = [v for k, v in state.items() if k.endswith("weight") and v.ndim == 4]
    linears = [v for k, v in state.items() if k.endswith("weight") and v.ndim == 2]
    if convs:
        dims["in_channels"] = int(convs[0].shape[1])
    if linears:
        dims["num_classes"] = int(linears[-1].shape[0])
    return dims


def load_state_into(model: nn.Module, state: dict[str, torch.Tensor], source: str = "the file") -> None:
    """Strict load with messages that name the tensor and the expected and found shapes."""
    check_state_fits(model.state_dict(), state, source)
    model.load_state_dict({k: v for k, v in state.items()}, strict=False)


def check_state_fits(own: dict[str, torch.Tensor], state: dict[str, torch.Tensor], source: str) -> None:
    """A UserError naming the first missing, unexpected or wrongly shaped tensor."""
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensor(s) e.g. {', '.join(missing[:3])}")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} tensor(s) e.g. {', '.join(unexpected[:3])}")
        raise UserError(f"{source} does not match the architecture: {'; '.join(parts)}", "check --arch NAME")
    for key, value in state.items():
        if tuple(own[key].shape) != tuple(value.shape):
            raise UserError(
                f"shape mismatch for tensor {key!r}: the architecture expects {tuple(own[key].shape)}, "
                f"{source} has {tuple(value.shape)}",
                "check --arch NAME and the number of classes / input channels",
            )


MAX_PARAMETERS = 4_000_000_000  # 16 GB of float32: any larger "architecture" is a bad file


def planned_state(arch: dict) -> dict[str, torch.Tensor] | None:
    """The state dict ``arch`` would have, built on the meta device (allocates nothing), after checking
    its size; None for models rebuilt from a manifest (their shapes are checked after the real build)."""
    base = {k: v for k, v in arch.items() if k != "rebuild"}
    try:
        with torch.device("meta"):
            model = build_model(base)
    except NotImplementedError:  # a builder that computes with real tensors: checked after the real build
        return None
    except RuntimeError as exc:  # e.g. "Storage size calculation overflowed"
        raise UserError(f"cannot build architecture {base}: {str(exc).splitlines()[0]}") from exc
    size = sum(t.numel() for t in model.state_dict().values())
    if size > MAX_PARAMETERS:
        raise UserError(
            f"architecture {base} would hold {size:,} parameters (more than {MAX_PARAMETERS:,})",
            "the file's metadata is wrong or not from vita",
        )
    return None if "rebuild" in arch else model.state_dict()


def _check_masks(model: nn.Module, masks: dict[str, torch.Tensor], source: str) -> None:
    params = dict(model.named_parameters())
    for name, mask in masks.items():
        if name not in params:
            raise UserError(f"{source} has a mask for {name!r}, which the architecture does not have")
        if tuple(mask.shape) != tuple(params[name].shape):
            raise UserError(
                f"shape mismatch for mask {name!r}: expected {tuple(params[name].shape)}, found {tuple(mask.shape)}"
            )


def _unwrap_nested(path: Path) -> dict[str, torch.Tensor]:
    """A training checkpoint dict (``{"state_dict": ..., "epoch": ...}`` etc.), still weights-only."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # load_torch_state already gave the proper error for unreadable files
        obj = None
    if isinstance(obj, dict):
        for key in _NESTED_KEYS:
            inner = obj.get(key)
            if isinstance(inner, dict) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
                return dict(inner)
    raise UserError(
        f"{path} does not contain a state dict of tensors", "save model.state_dict() with torch.save"
    )


def _read_pickled(path: Path):
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise UserError(
            f"cannot unpickle {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from exc


def read_torch_file(path: Path, trust_pickle: bool):
    """A state dict, or (with trust_pickle) possibly an ``nn.Module``."""
    try:
        return load_torch_state(path)
    except UserError as exc:
        if "pickled Python objects" in exc.message:
            if not trust_pickle:
                raise UserError(
                    f"{path} holds pickled Python objects; loading them would run arbitrary code from the file",
                    "save model.state_dict() and pass --arch NAME, or pass --trust-pickle if you trust the file's author",
                ) from exc
            obj = _read_pickled(path)
            if isinstance(obj, nn.Module):
                return obj
            if isinstance(obj, dict):
                for key in ("state_dict", "model_state_dict", "model", "net"):
                    if isinstance(obj.get(key), nn.Module):
                        return obj[key]
                    if isinstance(obj.get(key), dict):
                        return {k: v for k, v in obj[key].items() if isinstance(v, torch.Tensor)}
                return {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
            raise UserError(f"{path} unpickles to a {type(obj).__name__}, not a model or state dict") from exc
        if "does not contain a state dict" in exc.message:
            return _unwrap_nested(path)
        raise


def load_model(
    path,
    arch_name: str | None = None,
    trust_pickle: bool = False,
    num_classes: int | None = None,
    in_channels: int | None = None,
) -> LoadedModel:
    """Read any supported model file and return the built model, its arch spec, masks and metadata."""
    path = Path(path)
    for name, value in (("--num-classes", num_classes), ("--in-channels", in_channels)):
        if value is not None and not 1 <= int(value) <= 1_000_000:
            raise UserError(f"{name} must be a positive count, got {value}")
    require_regular_file(path, "model file")
    meta: dict[str, Any] = {}
    if path.suffix == ".safetensors":
        ckpt = load_checkpoint(path)
        state, masks = split_masks(ckpt.tensors)
        meta = dict(ckpt.meta)
        fmt = "vita"
    else:
        if not path.exists():
            raise UserError(f"model file not found: {path}", "check the path")
        obj = read_torch_file(path, trust_pickle)
        if isinstance(obj, nn.Module):
            model = getattr(obj, "module", obj)
            arch = {"name": arch_name or f"pickle:{type(model).__name__}"}
            return LoadedModel(model, arch, {}, {"pickled_class": type(model).__qualname__}, "pickle")
        state, masks = {}, {}
        state = _strip_wrapper_prefix(obj)
        fmt = "state_dict"
    state, prune_masks = merge_prune_layout(state)
    if prune_masks:
        fmt = "prune" if fmt == "state_dict" else fmt
        masks = {**prune_masks, **masks}

    arch = meta.get("arch") if isinstance(meta.get("arch"), dict) else None
    named = bool(arch_name and (arch is None or arch.get("name") != arch_name))
    if named:
        arch = {"name": arch_name}
    inferred = arch is None
    if inferred:
        arch = infer_arch(state, source=str(path))
    arch = dict(arch)
    dims = infer_dims(state)
    if num_classes is not None:
        arch["num_classes"] = int(num_classes)
    if in_channels is not None:
        arch["in_channels"] = int(in_channels)
    for key in ("num_classes", "in_channels"):
        if key not in arch and key in dims:
            arch[key] = dims[key]
    # check the shapes before allocating anything: a file claiming width 1e12 must not start a 36 TB build
    expected = planned_state(arch)
    if expected is not None:
        try:
            check_state_fits(expected, state, str(path))
        except UserError as mismatch:
            if not named:
                raise
            # --arch NAME without its options (small_cnn width 8): read the options off the tensors
            try:
                found = infer_arch(state, only=arch_name, source=str(path))
            except UserError:
                raise mismatch from None
            arch = {**found, **{k: arch[k] for k in ("num_classes", "in_channels") if k in arch}}
    model = build_model(arch)
    load_state_into(model, state, source=str(path))
    _check_masks(model, masks, str(path))
    return LoadedModel(model, arch, masks, meta, fmt, inferred_arch=inferred)
