"""FLOPs (MACs) of a gated network as a bilinear function of per-space channel counts.

``F = Σ_conv a_ℓ · n_in · n_out + Σ_dw a_ℓ · n + Σ_linear k · n_in · n_out`` with a_ℓ = k_h·k_w·H_out·W_out.
The *hard* count of a space is the number of channels that survive compaction (on-gates, plus
channels an option-A shortcut still needs downstream, minus everything inside a deleted residual
branch); the hook-based counter on the compact model must give the same integer. The *smoothed*
count replaces ‖g‖₀ by Σ g_ε(x) (and the option-A closure by a soft OR), which is what the penalty
differentiates.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vita_cli.methods.gdp.graph import ChannelGraph


@dataclass
class KeepPlan:
    """Which channels of every space survive, and which residual blocks are deleted."""

    kept: dict[int, torch.Tensor]  # bool per channel
    dead_blocks: list[str]

    def counts(self) -> dict[int, int]:
        return {s: int(k.sum()) for s, k in self.kept.items()}


def resolve_keep(graph: ChannelGraph, on: dict[int, torch.Tensor]) -> KeepPlan:
    """Turn per-gate on/off decisions into the channels compaction keeps."""
    kept = {}
    for s, sp in graph.spaces.items():
        if s in on:
            kept[s] = on[s].detach().cpu().bool().clone()
        elif sp.pinned or not sp.gated:
            kept[s] = torch.ones(sp.size, dtype=torch.bool)
        else:
            kept[s] = torch.ones(sp.size, dtype=torch.bool)
    dead = [b for b in graph.blocks if not bool(kept[b.inner_space].any())]
    dead_layers = {name for b in dead for name in b.branch_layers}
    for s, sp in graph.spaces.items():
        # spaces living entirely inside deleted branches disappear with them
        members = set(sp.producers) | {c for c, _ in sp.consumers}
        if members and members <= dead_layers:
            kept[s] = torch.zeros(sp.size, dtype=torch.bool)
    for r in graph.remap_order():
        # an option-A shortcut carries source channel index[j] into destination channel j
        for j, i in enumerate(r.index):
            if i >= 0 and kept[r.dst][j]:
                kept[r.src][i] = True
    return KeepPlan(kept, [b.path for b in dead])


def hard_macs(graph: ChannelGraph, plan: KeepPlan) -> int:
    counts = plan.counts()
    dead_layers = {name for b in graph.blocks if b.path in plan.dead_blocks for name in b.branch_layers}
    total = 0
    for lay in graph.layers:
        if lay.name in dead_layers:
            continue
        if lay.kind == "dw":
            total += lay.coeff * counts[lay.in_space]
        else:
            total += lay.coeff * counts[lay.in_space] * counts[lay.out_space]
    return int(total)


def dense_macs(graph: ChannelGraph) -> int:
    full = {s: torch.ones(sp.size, dtype=torch.bool) for s, sp in graph.spaces.items()}
    return hard_macs(graph, KeepPlan(full, []))


def smooth_counts(graph: ChannelGraph, gates: dict[int, torch.Tensor]) -> dict[int, torch.Tensor]:
    """n_S = Σ_c g_eff[c], where g_eff is the gate OR'ed (softly) with what option-A shortcuts need."""
    eff = dict(gates)
    for r in graph.remap_order():
        if r.src not in eff or r.dst not in eff:
            continue
        src = eff[r.src]
        keep_prob = torch.ones_like(src)
        idx = torch.tensor([i for i in r.index if i >= 0], dtype=torch.long, device=src.device)
        dst_idx = torch.tensor(
            [j for j, i in enumerate(r.index) if i >= 0], dtype=torch.long, device=src.device
        )
        keep_prob = keep_prob.index_put((idx,), 1 - eff[r.dst][dst_idx])
        eff[r.src] = 1 - (1 - src) * keep_prob
    out = {}
    for s, sp in graph.spaces.items():
        out[s] = eff[s].sum() if s in eff else float(sp.size)
    return out


def smooth_macs(graph: ChannelGraph, gates: dict[int, torch.Tensor]) -> torch.Tensor:
    """Differentiable F̃(x): the bilinear formula on smoothed channel counts."""
    n = smooth_counts(graph, gates)
    total = 0.0
    for lay in graph.layers:
        term = (
            lay.coeff * n[lay.in_space]
            if lay.kind == "dw"
            else lay.coeff * n[lay.in_space] * n[lay.out_space]
        )
        total = total + term
    return total if isinstance(total, torch.Tensor) else torch.tensor(total)


def channel_costs(graph: ChannelGraph, counts: dict[int, float]) -> dict[int, float]:
    """∂F/∂n_S: the MACs one more channel of space S costs (input side + output side + depth-wise).

    This is the "alternative relaxation" of the bilinear term: with the other factor frozen at its
    current value, the penalty becomes a per-space weighted L0 of the gates.
    """
    cost = {s: 0.0 for s in graph.spaces}
    for lay in graph.layers:
        if lay.kind == "dw":
            cost[lay.in_space] += lay.coeff
        else:
            cost[lay.in_space] += lay.coeff * counts[lay.out_space]
            cost[lay.out_space] += lay.coeff * counts[lay.in_space]
    return cost


def gate_prices(graph: ChannelGraph, gates: dict[int, torch.Tensor]) -> dict[int, torch.Tensor]:
    """∂F̃/∂g for every gate: what closing that one gate saves, the other gates held where they are.

    Equal to :func:`channel_costs` for every gate of a space unless option-A shortcuts link spaces: a
    source channel whose destination is open still has to be produced, so closing its gate saves only
    the readers' side (∂ of the soft OR: 1 − g_dst), and a destination channel also frees its source
    when that one's gate is closed (1 − g_src).
    """
    with torch.enable_grad():
        leaves = {s: g.detach().clone().requires_grad_(True) for s, g in gates.items()}
        total = smooth_macs(graph, leaves)
        grads = torch.autograd.grad(total, list(leaves.values()), allow_unused=True)
    return {
        s: (g if g is not None else torch.zeros_like(leaves[s])).detach()
        for s, g in zip(leaves, grads, strict=True)
    }
