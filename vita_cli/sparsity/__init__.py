"""Masks and unstructured sparsity: magnitude pruning, IMP with rewinding, torch-prune layout."""

from vita_cli.sparsity.magnitude import magnitude_prune
from vita_cli.sparsity.masks import (
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
    "Masks",
    "apply_masks",
    "check_masks",
    "from_torch_prune_layout",
    "has_torch_prune_layout",
    "magnitude_prune",
    "ones_masks",
    "prunable_names",
    "random_masks_like",
    "run_imp",
    "sparsity_report",
    "to_torch_prune_layout",
]


def __getattr__(name):
    # imp.py imports the trainer, which imports masks: resolve lazily to avoid an import cycle
    if name in ("run_imp", "ImpRound", "ImpStore"):
        from vita_cli.sparsity import imp

        return getattr(imp, name)
    raise AttributeError(name)
