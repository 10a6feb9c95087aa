"""Shared image-classification backbones behind a name registry, and model file I/O."""

from vita_cli.models.io import (
    MASK_PREFIX,
    LoadedModel,
    export_prune_state_dict,
    load_model,
    load_state_into,
    merge_prune_layout,
    save_model,
    split_masks,
)
from vita_cli.models.registry import MODEL_NAMES, MODELS, build_model, describe_models

__all__ = [
    "MASK_PREFIX",
    "MODELS",
    "MODEL_NAMES",
    "LoadedModel",
    "build_model",
    "describe_models",
    "export_prune_state_dict",
    "load_model",
    "load_state_into",
    "merge_prune_layout",
    "save_model",
    "split_masks",
]
