"""Channel-pruning baselines at equal FLOPs, on the same channel graph and compaction as GDP.

* **uniform width**: keep the first ⌈r·C⌉ channels of every prunable space, r chosen so the MACs meet
  the target; the compact network is re-initialised and trained from scratch.
* **L1-norm filter pruning** (Li et al., ICLR 2017): rank a space's channels by the L1 norm of the
  filters producing them (summed over all producers of a shared space), keep the same fraction r in
  every space; fine-tune.
* **network slimming** (Liu et al., ICCV 2017): train with an L1 penalty on the BN scales, rank all
  channels globally by |γ| (mean over a shared space's BNs), one global threshold chosen so the MACs
  meet the target; fine-tune.

Each returns on/off masks per gated space; :func:`vita_cli.methods.gdp.compact.compact_model` with
unit gates then removes the channels exactly as for GDP.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from vita_cli.core.errors import UserError
from vita_cli.methods.gdp.flops import hard_macs, resolve_keep
from vita_cli.methods.gdp.graph import ChannelGraph


def _macs_of(graph: ChannelGraph, on: dict[int, torch.Tensor]) -> int:
    return hard_macs(graph, resolve_keep(graph, on))


def per_space_ratio_masks(graph: ChannelGraph, scores: dict[int, torch.Tensor], target_macs: float) -> dict:
    """Keep the top ⌈r·C⌉ channels of every space by ``scores``; the largest r with MACs ≤ target."""

    def masks(r: float):
        out = {}
        for s, sc in scores.items():
            k = max(1, math.ceil(r * len(sc) - 1e-9))
            mask = torch.zeros(len(sc), dtype=torch.bool)
            mask[torch.argsort(sc, descending=True, stable=True)[:k]] = True
            out[s] = mask
        return out

    lo, hi = 0.0, 1.0
    if _macs_of(graph, masks(lo)) > target_macs:
        raise UserError("the FLOPs target is below what one channel per layer costs", "raise the target")
    for _ in range(30):
        mid = (lo + hi) / 2
        if _macs_of(graph, masks(mid)) <= target_macs:
            lo = mid
        else:
            hi = mid
    return masks(lo)


def global_threshold_masks(graph: ChannelGraph, scores: dict[int, torch.Tensor], target_macs: float) -> dict:
    """One threshold on all scores (every space keeps at least its best channel)."""

    def masks(thr: float):
        out = {}
        for s, sc in scores.items():
            mask = sc > thr
            if not mask.any():
                mask[int(torch.argmax(sc))] = True
            out[s] = mask
        return out

    ordered = torch.cat(list(scores.values())).sort().values
    lo, hi = 0, len(ordered) - 1  # index of the threshold in the sorted scores
    if _macs_of(graph, masks(float(ordered[-1]))) > target_macs:
        raise UserError("the FLOPs target is below what one channel per layer costs", "raise the target")
    while lo < hi:
        mid = (lo + hi) // 2
        if _macs_of(graph, masks(float(ordered[mid]))) <= target_macs:
            hi = mid
        else:
            lo = mid + 1
    return masks(float(ordered[lo]))


def uniform_scores(graph: ChannelGraph) -> dict[int, torch.Tensor]:
    """Earlier channels first: width scaling keeps channels 0..k-1."""
    return {s: torch.arange(graph.spaces[s].size, 0, -1).float() for s in graph.gated_spaces}


def l1_scores(model: nn.Module, graph: ChannelGraph) -> dict[int, torch.Tensor]:
    modules = dict(model.named_modules())
    out = {}
    for s in graph.gated_spaces:
        total = torch.zeros(graph.spaces[s].size)
        for name in graph.spaces[s].producers:
            w = modules[name].weight.detach().cpu()
            total += w.abs().flatten(1).sum(1)
        out[s] = total
    return out


def bn_modules(model: nn.Module, graph: ChannelGraph) -> list[nn.BatchNorm2d]:
    modules = dict(model.named_modules())
    return [
        modules[f]
        for s in graph.gated_spaces
        for f in graph.spaces[s].followers
        if isinstance(modules[f], nn.BatchNorm2d) and modules[f].affine
    ]


def slimming_scores(model: nn.Module, graph: ChannelGraph) -> dict[int, torch.Tensor]:
    modules = dict(model.named_modules())
    out = {}
    for s in graph.gated_spaces:
        bns = [
            modules[f]
            for f in graph.spaces[s].followers
            if isinstance(modules[f], nn.BatchNorm2d) and modules[f].affine
        ]
        if not bns:  # no BN to read: fall back to L1 of the producing filters
            out[s] = l1_scores(model, graph)[s]
            out[s] = out[s] / out[s].max().clamp_min(1e-12)
            continue
        out[s] = torch.stack([bn.weight.detach().abs().cpu() for bn in bns]).mean(0)
    return out


def slimming_penalty(bns: list[nn.BatchNorm2d], strength: float) -> torch.Tensor:
    return strength * sum(bn.weight.abs().sum() for bn in bns)


def reinitialize(model: nn.Module) -> None:
    """Fresh weights for a train-from-scratch baseline (every layer's own reset_parameters)."""
    for m in model.modules():
        if m is not model and hasattr(m, "reset_parameters"):
            m.reset_parameters()
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
