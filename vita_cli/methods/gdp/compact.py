"""Threshold, fold and remove: from a gated network to a physically smaller dense one.

* **fold**: a consumer's weights absorb its input gate, ``W'[:, c] = W[:, c] · g_c``;
* **remove**: channels that survive nowhere are cut from producer convs (rows), their BN and
  depth-wise followers, and consumer convs/linears (columns) — exact, because every reader multiplies
  them by g_c = 0;
* **option-A shortcuts** become a :class:`ChannelRemap` around the original module (scatter the kept
  input channels, run it, gather the kept output channels);
* a residual **block** whose inner gate is all zero outputs ``act(shortcut(x) + c)`` with ``c`` the
  branch's BN constant: it becomes a :class:`ConstantBranchBlock`.

The result is described by a plain-text **shape manifest** (one line per changed layer) stored in the
checkpoint metadata; :func:`vita_cli.models.manifest.apply_manifest` replays it on a freshly built
base model, so compact models load without pickle.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn as nn

from vita_cli.core.errors import UserError
from vita_cli.methods.gdp.flops import KeepPlan, channel_costs, hard_macs, resolve_keep
from vita_cli.methods.gdp.graph import ChannelGraph
from vita_cli.models.manifest import (
    MANIFEST_HEADER,
    ChannelRemap,
    ConstantBranchBlock,
    set_module,
)

# ---------------------------------------------------------------- thresholding


def harden(
    graph: ChannelGraph,
    values: dict[int, torch.Tensor],
    tau: float,
    target_macs: float | None = None,
    priority: dict[int, torch.Tensor] | None = None,
    floor: float | None = None,
) -> tuple[dict[int, torch.Tensor], dict]:
    """On/off per gate: on iff g > τ; spaces that cannot vanish keep their best channel; then, if the
    hard FLOPs still exceed ``target_macs``, switch off the gates of lowest priority per MAC saved
    (priority defaults to the gate value) and report how many were forced.

    ``floor``: forcing never leaves a space with fewer than ``ceil(floor · size)`` channels (nor fewer
    than the gates kept), a residual block's inner space included: a block vanishes only when its own
    gates closed. When that stops forcing short of the target, the info says ``target_reached: False``
    instead of raising. ``None``: force down to one channel (blocks may vanish), or raise."""
    priority = priority or values
    on = {s: (v > tau).clone() for s, v in values.items()}
    removable = graph.removable_spaces()
    keep_min = {
        s: max(1, min(int(m.sum()), math.ceil(floor * m.numel()))) if floor is not None else 1
        for s, m in on.items()
    }
    # spaces forcing may not cut below keep_min: all of them under a floor, else those that cannot vanish
    guarded = set(on) if floor is not None else set(on) - removable
    forced_on = 0
    for s in on:
        if s not in removable and not bool(on[s].any()):
            on[s][int(torch.argmax(priority[s]))] = True
            forced_on += 1
    forced_off = 0
    reached = True
    if target_macs is not None:
        while True:
            plan = resolve_keep(graph, on)
            macs = hard_macs(graph, plan)
            if macs <= target_macs:
                break
            costs = channel_costs(graph, {s: float(c) for s, c in plan.counts().items()})
            cands = []  # (score, space, channel)
            for s, mask in on.items():
                n_on = int(mask.sum())
                if n_on == 0 or (n_on <= keep_min[s] and s in guarded) or costs[s] <= 0:
                    continue
                idx = mask.nonzero().flatten()
                scores = priority[s][idx].float() / costs[s]
                cands += [(float(sc), s, int(i)) for sc, i in zip(scores, idx, strict=False)]
            if not cands and floor is not None:
                reached = False
                break
            if not cands:
                raise UserError(
                    f"cannot reach the FLOPs target: {macs} MACs remain with one channel per layer",
                    "raise --flops-target",
                )
            cands.sort()
            # switch off the cheapest-to-lose gates until their (linearised) savings cover half the excess,
            # then re-measure: few rounds, and the result lands just under the target
            budget, taken = 0.5 * (macs - target_macs), {}
            for _, s, i in cands:
                left = int(on[s].sum()) - taken.get(s, 0)
                if left <= keep_min[s] and s in guarded:
                    continue  # never cut a guarded space below its floor
                on[s][i] = False
                taken[s] = taken.get(s, 0) + 1
                forced_off += 1
                budget -= costs[s]
                if budget <= 0:
                    break
    return on, {"forced_off": forced_off, "forced_on": forced_on, "target_reached": reached}


# ---------------------------------------------------------------- fold + remove


def _param(t: torch.Tensor) -> nn.Parameter:
    return nn.Parameter(t.detach().clone().contiguous())


def _slice_conv_out(conv: nn.Conv2d, idx: torch.Tensor) -> None:
    conv.weight = _param(conv.weight[idx])
    if conv.bias is not None:
        conv.bias = _param(conv.bias[idx])
    conv.out_channels = len(idx)


def _slice_conv_in(conv: nn.Conv2d, idx: torch.Tensor, gate: torch.Tensor | None) -> None:
    w = conv.weight
    if gate is not None:
        w = w * gate.to(w.dtype).view(1, -1, 1, 1)
    conv.weight = _param(w[:, idx])
    conv.in_channels = len(idx)


def _slice_linear_in(lin: nn.Linear, idx: torch.Tensor, gate: torch.Tensor | None, repeat: int) -> None:
    w = lin.weight.view(lin.out_features, -1, repeat)
    if gate is not None:
        w = w * gate.to(w.dtype).view(1, -1, 1)
    lin.weight = _param(w[:, idx].reshape(lin.out_features, -1))
    lin.in_features = len(idx) * repeat


def _slice_bn(bn: nn.BatchNorm2d, idx: torch.Tensor) -> None:
    if bn.affine:
        bn.weight = _param(bn.weight[idx])
        bn.bias = _param(bn.bias[idx])
    if bn.running_mean is not None:
        bn.running_mean = bn.running_mean[idx].clone()
        bn.running_var = bn.running_var[idx].clone()
    bn.num_features = len(idx)


def _slice_dw(conv: nn.Conv2d, idx: torch.Tensor) -> None:
    _slice_conv_out(conv, idx)
    conv.in_channels = conv.groups = len(idx)


def branch_constant(model: nn.Module, last_conv: str, last_bn: str | None) -> torch.Tensor:
    """What the branch outputs when ``last_conv`` sees only zeros: BN(bias) per channel (eval mode)."""
    conv = model.get_submodule(last_conv)
    value = conv.bias.detach().clone() if conv.bias is not None else torch.zeros(conv.out_channels)
    if last_bn is not None:
        bn = model.get_submodule(last_bn)
        if bn.running_mean is None:
            raise UserError(f"cannot remove the block of {last_conv}: {last_bn} has no running statistics")
        value = (value - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps)
        if bn.affine:
            value = value * bn.weight.detach() + bn.bias.detach()
    return value.detach().float()


@torch.no_grad()
def compact_model(
    model: nn.Module, graph: ChannelGraph, gates: dict[int, torch.Tensor], plan: KeepPlan
) -> tuple[nn.Module, str]:
    """A copy of ``model`` with gates folded and dead channels/blocks removed, plus its shape manifest.

    ``gates`` holds the (thresholded) gate values of every gated space; ungated spaces fold nothing.
    """
    net = copy.deepcopy(model).cpu()
    modules = dict(net.named_modules())
    dead = [b for b in graph.blocks if b.path in plan.dead_blocks]
    dead_layers = {name for b in dead for name in b.branch_layers}
    consts = {b.path: branch_constant(net, b.last_conv, b.last_bn)[plan.kept[b.out_space]] for b in dead}
    for s, sp in graph.spaces.items():
        keep = plan.kept[s]
        idx = keep.nonzero().flatten()
        gate = gates.get(s)
        gate = gate.detach().cpu().float() if gate is not None else None
        full = bool(keep.all())
        for name in sp.producers:
            if name not in dead_layers and not full:
                _slice_conv_out(modules[name], idx)
        for name in sp.followers:
            if name in dead_layers or full:
                continue
            m = modules[name]
            _slice_bn(m, idx) if isinstance(m, nn.BatchNorm2d) else _slice_dw(m, idx)
        for name, repeat in sp.consumers:
            if name in dead_layers:
                continue
            m = modules[name]
            if isinstance(m, nn.Linear):
                _slice_linear_in(m, idx, gate, repeat)
            else:
                _slice_conv_in(m, idx, gate)
    remap_lines = []
    for r in graph.remaps:
        in_idx = plan.kept[r.src].nonzero().flatten()
        out_idx = plan.kept[r.dst].nonzero().flatten()
        set_module(
            net,
            r.module,
            ChannelRemap(net.get_submodule(r.module), in_idx, graph.spaces[r.src].size, out_idx),
        )
        remap_lines.append(
            f"remap {r.module} full_in={graph.spaces[r.src].size} in={len(in_idx)} out={len(out_idx)}"
        )
    block_lines = []
    for b in dead:
        block = net.get_submodule(b.path)
        shortcut = getattr(block, b.shortcut_attr) if b.shortcut_attr else None
        set_module(net, b.path, ConstantBranchBlock(b.shortcut_attr, shortcut, consts[b.path], b.act))
        block_lines.append(
            f"block {b.path} shortcut={b.shortcut_attr or '-'} act={b.act} channels={len(consts[b.path])}"
        )
    model_was_training = model.training
    net.train(model_was_training)
    return net, _manifest(net, block_lines, remap_lines)


def _manifest(net: nn.Module, block_lines: list[str], remap_lines: list[str]) -> str:
    lines = [MANIFEST_HEADER] + block_lines + remap_lines
    for name, m in net.named_modules():
        if isinstance(m, nn.Conv2d):
            lines.append(f"conv {name} in={m.in_channels} out={m.out_channels} groups={m.groups}")
        elif isinstance(m, nn.BatchNorm2d):
            lines.append(f"bn {name} features={m.num_features}")
        elif isinstance(m, nn.Linear):
            lines.append(f"linear {name} in={m.in_features} out={m.out_features}")
    return "\n".join(lines) + "\n"
