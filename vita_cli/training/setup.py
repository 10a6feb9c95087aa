"""Glue every vision verb shares: data bundle + loaders, and a model from a recipe or a file."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn

from vita_cli.core.errors import UserError
from vita_cli.core.flops import count_macs
from vita_cli.core.recipe import apply_overrides, from_dict
from vita_cli.data import DataConfig, load_data, make_loader
from vita_cli.models import build_model, load_model, load_state_into


@dataclass
class Loaders:
    bundle: object  # vita_cli.data.DataBundle
    train: object
    val: object | None
    test: object


def build_loaders(data_cfg, seed: int = 0) -> Loaders:

    bundle = load_data(data_cfg, seed=seed)
    bs = data_cfg.batch_size
    train = make_loader(bundle.train, bs, shuffle=True, seed=seed, num_workers=data_cfg.num_workers)
    val = make_loader(bundle.val, 2 * bs, shuffle=False) if len(bundle.val) else None
    test = make_loader(bundle.test, 2 * bs, shuffle=False)
    return Loaders(bundle, train, val, test)


def arch_spec(model_section, bundle, arch_name: str | None = None) -> dict:
    """``{"name", "num_classes", "in_channels", **options}``; ``--arch`` replaces the recipe's name."""
    name = arch_name or model_section.name
    options = dict(model_section.options) if not arch_name or arch_name == model_section.name else {}
    return {"name": name, "num_classes": bundle.num_classes, "in_channels": bundle.in_channels, **options}


def build_from_spec(arch: dict) -> nn.Module:

    return build_model(arch)


def load_weights_into(model: nn.Module, path: str | Path, arch_name: str | None, trust_pickle: bool) -> dict:
    """Weights-only initialisation from a model file (returns its masks, possibly empty)."""
    loaded = load_model(path, arch_name, trust_pickle=trust_pickle)
    state = loaded.model.state_dict()
    try:
        load_state_into(model, state, source=str(path))
    except UserError as exc:
        raise UserError(f"--init {path}: {exc.message}", exc.hint) from exc
    return loaded.masks


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def input_shape(bundle) -> tuple[int, int, int, int]:
    return (1, bundle.in_channels, bundle.image_size, bundle.image_size)


def macs(model: nn.Module, bundle, masks=None, sparse: bool = False) -> int | None:
    """MACs at the data's input size."""
    with torch.no_grad():
        report = count_macs(model, input_shape(bundle), masks=masks, sparse=sparse)
    return int(getattr(report, "total_macs", report))


def match_model_channels(data_cfg, arch: dict, overrides: list[str] | None = None, log=None):
    """The data brought to the model's input channels (its first layer), unless ``data.channels`` is
    overridden: grey images are replicated to 3 channels for an RGB model, with a log line."""
    want = arch.get("in_channels")
    if any(o.startswith("data.channels=") for o in overrides or []) or want not in (1, 3):
        return data_cfg
    if want == data_cfg.channels:
        return data_cfg
    if log is not None:
        how = "replicated to 3 channels" if want == 3 else "converted to 1 grey channel"
        log(f"the model's first layer takes {want} input channel(s): {data_cfg.name} images {how}")
    return replace(data_cfg, channels=want)


def data_config_for(loaded, overrides: list[str] | None = None):
    """The data a saved model was trained on (its recipe's data section), with ``data.key=value`` overrides."""
    meta = loaded.meta or {}
    stored = meta.get("data") or (meta.get("recipe") or {}).get("data") or {}
    base = {"data": dict(stored)}
    if not stored and loaded.arch.get("in_channels") in (1, 3):
        base["data"]["channels"] = loaded.arch["in_channels"]
    for item in overrides or []:
        if not item.split("=", 1)[0].startswith("data."):
            raise UserError(
                f"override {item!r} is not a data.key=value setting", "evaluate only takes data.* overrides"
            )
    data = apply_overrides(base, overrides)["data"]
    fields = DataConfig.__dataclass_fields__
    for item in (
        overrides or []
    ):  # the file's own keys from other vita versions are dropped, the user's are not
        key = item.split("=", 1)[0][len("data.") :]
        if key.split(".")[0] not in fields:
            raise UserError(
                f"unknown recipe key data.{key}", f"valid keys in data: {', '.join(sorted(fields))}"
            )
    data = {k: v for k, v in data.items() if k in fields}
    return from_dict(DataConfig, data, "data")
