"""Smoothed-L0 gates in front of convolutions: ``y = conv(W, g ⊙ a)`` with ``g = x² / (x² + ε)``.

The gates live outside the model in a :class:`GateBank` (one trainable vector per gated channel
space) and act through forward pre-hooks on every consumer of that space, so the model's own
modules, names and state dict are untouched.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from vita_cli.methods.gdp.graph import ChannelGraph


def smoothed_l0(x: torch.Tensor, eps: float) -> torch.Tensor:
    """g_ε(x) = x² / (x² + ε): exactly 0 at x = 0, → 1 for |x| ≫ √ε."""
    sq = x * x
    return sq / (sq + eps)


class GateBank(nn.Module):
    """One trainable scalar per channel of every gated space; ``eps`` is annealed by the engine."""

    def __init__(self, graph: ChannelGraph, init: float = 1.0, eps: float = 1e-2):
        super().__init__()
        self.space_ids = list(graph.gated_spaces)
        self.x = nn.ParameterDict(
            {
                self.key(s): nn.Parameter(torch.full((graph.spaces[s].size,), float(init)))
                for s in self.space_ids
            }
        )
        self.eps = float(eps)

    @staticmethod
    def key(space: int) -> str:
        return f"s{space}"

    def raw(self, space: int) -> torch.Parameter:
        return self.x[self.key(space)]

    def gate(self, space: int) -> torch.Tensor:
        return smoothed_l0(self.raw(space), self.eps)

    def gates(self) -> dict[int, torch.Tensor]:
        return {s: self.gate(s) for s in self.space_ids}

    @torch.no_grad()
    def values(self) -> dict[int, torch.Tensor]:
        return {s: self.gate(s).detach().cpu() for s in self.space_ids}

    @torch.no_grad()
    def all_values(self) -> torch.Tensor:
        vals = [self.gate(s).detach().float().cpu() for s in self.space_ids]
        return torch.cat(vals) if vals else torch.zeros(0)

    @torch.no_grad()
    def switch_off(self, on: dict[int, torch.Tensor]) -> None:
        """Thresholding: gates not ``on`` get x = 0, hence g = 0 exactly."""
        for s in self.space_ids:
            self.raw(s).mul_(on[s].to(self.raw(s).device, self.raw(s).dtype))


class GateHooks:
    """Forward pre-hooks that multiply each consumer's input by its space's gate vector."""

    def __init__(self, model: nn.Module, graph: ChannelGraph, bank: GateBank):
        self.handles = []
        modules = dict(model.named_modules())
        for s in bank.space_ids:
            for name, repeat in graph.spaces[s].consumers:
                self.handles.append(modules[name].register_forward_pre_hook(_make_hook(bank, s, repeat)))

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _make_hook(bank: GateBank, space: int, repeat: int):
    def hook(module, inputs):
        a = inputs[0]
        g = bank.gate(space).to(a.dtype)
        if a.dim() == 4:
            g = g.view(1, -1, 1, 1)
        else:  # a linear layer reading a flattened C×k map
            g = g.repeat_interleave(repeat).view(1, -1)
        return (a * g,) + tuple(inputs[1:])

    return hook


def polarization(values: torch.Tensor, tau: float = 1e-3, high: float = 0.5) -> float:
    """Fraction of gates strictly between ``tau`` and ``high`` (≈ 0 once gates are polarized)."""
    if values.numel() == 0:
        return 0.0
    return float(((values > tau) & (values < high)).float().mean())


def histogram_summary(values: torch.Tensor, tau: float = 1e-3) -> str:
    """One line: how many gates are off, in between, on."""
    n = values.numel()
    off = int((values <= tau).sum())
    low = int(((values > tau) & (values < 0.5)).sum())
    mid = int(((values >= 0.5) & (values < 0.9)).sum())
    on = n - off - low - mid
    return f"gates off(≤{tau:g}) {off}  (τ,0.5) {low}  [0.5,0.9) {mid}  ≥0.9 {on}  of {n}"
