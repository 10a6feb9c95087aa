"""Masks and unstructured sparsity: magnitude pruning, the trainer's mask callback, torch-prune layout."""

from vita_cli.sparsity.magnitude import magnitude_prune
from vita_cli.sparsity.masks import (
    MaskCallback,
    Masks,
    apply_masks,
    check_masks,
    ones_masks,
    prunable_names,
    random_masks_like,
    sparsity_report,
)
from vita_cli.sparsity.torch_prune_layout import (
    from_torch_prune_layout,
    has_torch_prune_layout,
    to_torch_prune_layout,
)

__all__ = [
    "MaskCallback",
    "Masks",
    "apply_masks",
    "check_masks",
    "from_torch_prune_layout",
    "has_torch_prune_layout",
    "magnitude_prune",
    "ones_masks",
    "prunable_names",
    "random_masks_like",
    "sparsity_report",
    "to_torch_prune_layout",
]
