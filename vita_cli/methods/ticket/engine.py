"""Shared steps: loaders, retraining a ticket with its mask fixed, evaluation, masks of a suspect."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from vita_cli.core.errors import UserError
from vita_cli.core.progress import SILENT, Reporter
from vita_cli.data import make_loader
from vita_cli.sparsity import MaskCallback, apply_masks
from vita_cli.training import TrainConfig, evaluate, fit


@dataclass
class Loaders:
    train: object
    val: object | None
    test: object
    normalize: object  # float [0,1] batch -> model input
    num_classes: int


def make_loaders(bundle, batch_size: int, seed: int = 0) -> Loaders:

    val = make_loader(bundle.val, batch_size, shuffle=False) if len(bundle.val) else None
    return Loaders(
        train=make_loader(bundle.train, batch_size, shuffle=True, seed=seed),
        val=val,
        test=make_loader(bundle.test, 512, shuffle=False),
        normalize=bundle.normalize,
        num_classes=bundle.num_classes,
    )


def retrain(
    model: nn.Module,
    start_state: dict[str, torch.Tensor] | None,
    masks: dict[str, torch.Tensor],
    loaders: Loaders,
    cfg: TrainConfig,
    device,
    reporter: Reporter = SILENT,
    batch_hook=None,
    loss_factory=None,
) -> nn.Module:
    """Train a copy of ``model`` from ``start_state`` (the rewind point; None = its current weights).

    ``loss_factory(net) -> loss_fn`` builds a trainer ``loss_fn`` bound to the copy being trained.
    """
    net = copy.deepcopy(model)
    if start_state is not None:
        net.load_state_dict(start_state)
    apply_masks(net, masks)
    loss_fn = loss_factory(net) if loss_factory is not None else None
    if cfg.epochs > 0:
        fit(
            net,
            loaders.train,
            loaders.val,
            cfg,
            device,
            reporter=reporter,
            callbacks=[MaskCallback(masks)],
            batch_hook=batch_hook,
            loss_fn=loss_fn,
        )
    return net


def test_accuracy(model: nn.Module, loaders: Loaders, device) -> float:
    return float(evaluate(model, loaders.test, device).accuracy)


def masks_from_zeros(state: dict[str, torch.Tensor], names: list[str]) -> dict[str, torch.Tensor]:
    """Masks read off exact zeros, for files saved after ``prune.remove`` (masks folded into weights)."""
    return {n: state[n] != 0 for n in names if n in state}


def suspect_masks(
    stored: dict[str, torch.Tensor], state: dict[str, torch.Tensor], owner_layers: list[str], host: str | None
) -> tuple[dict[str, torch.Tensor], str]:
    """The suspect's masks and where they came from.

    Owner layers without a stored mask are read through their exact zeros (a thief may fold masks
    into the weights, e.g. with ``prune.remove``). A host layer that is missing, or dense with no
    mask, leaves nothing to check: bad input rather than "not verified".
    """
    masks = dict(stored)
    inferred = []
    for name in owner_layers:
        if name not in masks and name in state and bool((state[name] == 0).any()):
            masks[name] = state[name] != 0
            inferred.append(name)
    if host is not None and host not in masks:
        if host not in state:
            raise UserError(
                f"the suspect model has no layer {host!r}, the signature's host layer",
                "was the signature made for another architecture?",
            )
        raise UserError(
            f"the suspect model has no mask for the signature's host layer {host!r} (no mask tensor, no pruned zeros)",
            "pass the ticket with its masks (vita checkpoint or torch prune layout)",
        )
    if not masks:
        raise UserError(
            "the suspect model has no mask (no mask tensors, and its weights have no pruned zeros)",
            "pass a ticket saved with its masks (vita checkpoint or torch prune layout)",
        )
    if not inferred:
        return masks, "stored"
    if not stored:
        return masks, "inferred from zero weights"
    return masks, f"stored; {len(inferred)} layer(s) inferred from zero weights"
