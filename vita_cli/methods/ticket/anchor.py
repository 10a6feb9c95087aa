"""Optional hardening of the QR against magnitude pruning (a vita extension, not in the paper).

A QR module flips from "on" to "off" only when *every* weight of its kernel is pruned. Magnitude
pruning removes the smallest weights first, so the weak "on" kernels (mostly those the embedding had
to switch on, which the network barely uses) go early. During the signed retraining this loss adds

    λ · mean over "on" data modules of relu(τ − max_{kernel} |w|),   τ = q-quantile of the host
    layer's live |w| (recomputed each step, not differentiated)

so every "on" kernel keeps at least one weight above the layer's q-quantile: a thief then has to
prune deeper than that quantile — past the weights the network relies on — to erase the code.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def anchor_loss_factory(
    layer: str,
    row: int,
    col: int,
    on_modules: np.ndarray,
    host_mask: torch.Tensor,
    strength: float,
    quantile: float = 0.75,
):
    """``loss_factory`` for :func:`vita_cli.methods.ticket.engine.retrain` (cross-entropy + anchor)."""
    n = on_modules.shape[0]
    on = torch.from_numpy(on_modules)

    def factory(net: nn.Module):
        param = dict(net.named_parameters())[layer]
        criterion = nn.CrossEntropyLoss()
        cache: dict = {}

        def loss_fn(model, images, labels):
            # The trainer moves the network to its device after this factory ran: follow the parameter.
            if cache.get("device") != param.device:
                cache.update(
                    device=param.device, mask=host_mask.to(param.device, torch.bool), on=on.to(param.device)
                )
            mask, on_dev = cache["mask"], cache["on"]
            logits = model(images)
            loss = criterion(logits, labels)
            live = param.detach().abs()[mask]
            tau = torch.quantile(live.float(), quantile) if live.numel() else param.new_zeros(())
            block = (param[row : row + n, col : col + n].abs() * mask[row : row + n, col : col + n]).flatten(
                2
            )
            strongest = block.max(dim=2).values[on_dev]
            return loss + strength * torch.relu(tau - strongest).mean(), logits

        return loss_fn

    return factory
