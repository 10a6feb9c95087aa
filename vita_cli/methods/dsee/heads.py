"""Structured sparsity: scoring and physically removing attention heads of BERT-style encoders.

A layer is BERT-style when it has ``attention.self.{query,key,value}`` (with ``attention_head_size``)
and ``attention.output.dense``. Removing head h slices its rows out of Q, K, V (and of the update's
B and S) and its columns out of the attention output; the forward pass reshapes with ``-1`` heads,
so the smaller layer runs as is.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn as nn

from vita_cli.methods.dsee.adapter import DseeLinear


def encoder_layers(model: nn.Module) -> nn.ModuleList:
    base = getattr(model, "base_model", model)
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    if not isinstance(layers, nn.ModuleList):
        raise ValueError(f"{type(model).__name__} has no BERT-style encoder.layer list")
    return layers


def attention_blocks(model: nn.Module) -> list[tuple[nn.Module, nn.Module]]:
    """(self-attention, attention-output) modules of every encoder layer."""
    blocks = []
    for layer in encoder_layers(model):
        attn = getattr(getattr(layer, "attention", None), "self", None)
        out = getattr(getattr(layer, "attention", None), "output", None)
        if attn is None or out is None or not all(hasattr(attn, p) for p in ("query", "key", "value")):
            raise ValueError(
                f"{type(layer).__name__} is not a BERT-style layer (attention.self.query/key/value)"
            )
        blocks.append((attn, out))
    return blocks


def num_heads(model: nn.Module) -> int:
    return int(model.config.num_attention_heads)


def _delta(lin: nn.Module) -> torch.Tensor | None:
    return lin.delta().detach().abs() if isinstance(lin, DseeLinear) else None


def head_scores(model: nn.Module) -> list[torch.Tensor]:
    """Per layer, s_h = Σ over head h's rows of |ΔW_q| + |ΔW_v| (the official code's ABS scoring)."""
    scores = []
    for attn, _ in attention_blocks(model):
        hd = attn.attention_head_size
        n = attn.query.out_features // hd
        total = torch.zeros(n)
        for proj in (attn.query, attn.value):
            d = _delta(proj)
            if d is not None:
                total += d.float().cpu().view(n, hd, -1).sum(dim=(1, 2))
        scores.append(total)
    return scores


def lowest_heads(scores: list[torch.Tensor], k: int) -> dict[int, list[int]]:
    return {i: sorted(torch.argsort(s, stable=True)[:k].tolist()) for i, s in enumerate(scores)}


def _slice_linear(
    lin: nn.Linear, rows: torch.Tensor | None = None, cols: torch.Tensor | None = None
) -> nn.Linear:
    w = lin.weight.detach()
    b = lin.bias.detach() if lin.bias is not None else None
    if rows is not None:
        w = w[rows]
        b = b[rows] if b is not None else None
    if cols is not None:
        w = w[:, cols]
    new = nn.Linear(w.shape[1], w.shape[0], bias=b is not None).to(w.device, w.dtype)
    with torch.no_grad():
        new.weight.copy_(w)
        if b is not None:
            new.bias.copy_(b)
    new.weight.requires_grad_(lin.weight.requires_grad)
    if b is not None:
        new.bias.requires_grad_(lin.bias.requires_grad)
    return new


def remove_heads(model: nn.Module, heads: dict[int, list[int]], record: bool = True) -> None:
    """Physically remove ``heads[layer]`` (original head ids) from every listed layer, in place."""
    if record and getattr(model.config, "vita_pruned_heads", None):
        raise ValueError("heads were already removed from this model")
    blocks = attention_blocks(model)
    for i, removed in heads.items():
        if not removed:
            continue
        attn, out = blocks[i]
        hd = attn.attention_head_size
        n = attn.query.out_features // hd
        kept = [h for h in range(n) if h not in set(removed)]
        if not kept:
            raise ValueError(f"cannot remove every head of layer {i}")
        rows = torch.cat([torch.arange(h * hd, (h + 1) * hd) for h in kept])
        for proj in ("query", "key", "value"):
            lin = getattr(attn, proj)
            if isinstance(lin, DseeLinear):
                lin.keep_outputs(rows)
            else:
                setattr(attn, proj, _slice_linear(lin, rows=rows))
        if isinstance(out.dense, DseeLinear):
            out.dense.keep_inputs(rows)
        else:
            out.dense = _slice_linear(out.dense, cols=rows)
        attn.num_attention_heads = len(kept)
        attn.all_head_size = len(kept) * hd
    if record:
        model.config.vita_pruned_heads = {str(i): sorted(v) for i, v in heads.items() if v}


@contextlib.contextmanager
def masked_heads(model: nn.Module, heads: dict[int, list[int]]):
    """Zero the outputs of ``heads[layer]`` with forward hooks (the reference for head removal)."""
    hooks = []
    for i, (attn, _) in enumerate(attention_blocks(model)):
        if not heads.get(i):
            continue
        hd = attn.attention_head_size

        def hook(module, inputs, output, _heads=tuple(heads[i]), _hd=hd):
            context = output[0] if isinstance(output, tuple) else output
            context = context.clone()
            for h in _heads:
                context[..., h * _hd : (h + 1) * _hd] = 0
            return (context, *output[1:]) if isinstance(output, tuple) else context

        hooks.append(attn.register_forward_hook(hook))
    try:
        yield model
    finally:
        for h in hooks:
            h.remove()
