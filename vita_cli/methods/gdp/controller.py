"""λ/ε control for the GDP phase [proposal: the paper's mechanism is not public].

* ε is annealed geometrically, ε_t = ε₀·(ε_min/ε₀)^{t/T}, per optimiser step: over the planned phase
  (``eps_schedule = "geometric"``) or, by default, over ``anneal_epochs`` starting when the hard FLOPs
  first meet the target (``"after_target"``);
* every ``controller_every`` steps the hard FLOPs (gates thresholded at τ) are measured and
  λ ← λ·(1 + growth) while they exceed ρ·F_dense; λ is held once the target is reached, or (``lam_backoff``)
  divided by (1 + growth)⁴ while the FLOPs are more than 0.02 below the target;
* ``penalty = "proximal"`` applies the FLOPs penalty as a semi-implicit step on the gate scalars after
  each optimiser step: with the bilinear term relaxed to per-space channel costs w_S = ∂F̃/∂n_S / F_dense
  (the other factor frozen at its current value), ``x ← x / (1 + lr·λ·w_S·2ε/(x²+ε)²)`` — the exact
  backward-Euler step for λ·w_S·g_ε(x) linearised in x, stable however small ε gets (an explicit
  step would overshoot once 2λw/ε·lr > 2). ``"autograd"`` adds λ·F̃/F_dense to the loss instead.
  With ``price = "channel"`` w is per gate, ∂F̃/∂g_c / F_dense (it differs within a space only where
  option-A shortcuts tie a channel to one downstream), which makes the proximal step's linearisation the
  same as the gradient of F̃; ``"space"`` charges every gate of S the space's w_S.
"""

from __future__ import annotations

import torch

from vita_cli.methods.gdp.config import GdpConfig
from vita_cli.methods.gdp.flops import (
    channel_costs,
    gate_prices,
    hard_macs,
    resolve_keep,
    smooth_counts,
    smooth_macs,
)
from vita_cli.methods.gdp.gates import GateBank
from vita_cli.methods.gdp.graph import ChannelGraph


class GdpController:
    def __init__(
        self,
        cfg: GdpConfig,
        graph: ChannelGraph,
        bank: GateBank,
        dense_macs: int,
        total_steps: int,
        steps_per_epoch: int = 1,
    ):
        self.cfg, self.graph, self.bank = cfg, graph, bank
        self.dense = float(dense_macs)
        self.target = cfg.flops_target * self.dense
        self.total_steps = max(1, total_steps)
        self.lam = cfg.lam_start
        self.step = 0
        self.hard_ratio = 1.0
        self.anneal_steps = max(1, round(cfg.anneal_epochs * steps_per_epoch))
        self.reached_at: int | None = None  # step at which the hard FLOPs first met the target
        bank.eps = cfg.eps_start

    def eps_at(self, step: int) -> float:
        if self.cfg.experimental.eps_schedule == "geometric":
            frac = min(1.0, step / self.total_steps)
        elif self.reached_at is None:
            frac = 0.0
        else:
            frac = min(1.0, (step - self.reached_at) / self.anneal_steps)
        return self.cfg.eps_start * (self.cfg.eps_end / self.cfg.eps_start) ** frac

    @property
    def annealed(self) -> bool:
        return self.bank.eps <= self.cfg.eps_end * (1 + 1e-9)

    @torch.no_grad()
    def measure(self) -> float:
        on = {s: v > self.cfg.tau for s, v in self.bank.values().items()}
        self.hard_ratio = hard_macs(self.graph, resolve_keep(self.graph, on)) / self.dense
        return self.hard_ratio

    @torch.no_grad()
    def smooth_ratio(self) -> float:
        return float(smooth_macs(self.graph, self.bank.gates())) / self.dense

    def penalty_loss(self) -> torch.Tensor:
        """λ·F̃/F_dense (autograd mode only; zero otherwise)."""
        if self.cfg.experimental.penalty != "autograd":
            return torch.zeros(())
        return self.lam * smooth_macs(self.graph, self.bank.gates()) / self.dense

    @torch.no_grad()
    def proximal_step(self, lr: float) -> None:
        if self.cfg.experimental.penalty != "proximal" or self.lam == 0:
            return
        gates = self.bank.gates()
        if self.cfg.price == "channel":
            costs = gate_prices(self.graph, gates)
        else:
            counts = {s: float(n) for s, n in smooth_counts(self.graph, gates).items()}
            costs = channel_costs(self.graph, counts)
        eps = self.bank.eps
        for s in self.bank.space_ids:
            x = self.bank.raw(s)
            w = costs[s] / self.dense
            x.div_(1 + lr * self.lam * w * 2 * eps / (x * x + eps) ** 2)

    def before_step(self, step: int, gate_lr: float) -> None:
        """Called before optimiser step ``step`` (the model holds the result of ``step`` steps)."""
        if step > 0:
            self.proximal_step(gate_lr)
            if self.cfg.gate_clamp is not None:
                with torch.no_grad():
                    for s in self.bank.space_ids:
                        self.bank.raw(s).clamp_(-self.cfg.gate_clamp, self.cfg.gate_clamp)
        self.step = step
        if step % self.cfg.controller_every == 0 and step > 0:
            ratio = self.measure()
            signal = ratio if self.cfg.experimental.controller_signal == "hard" else self.smooth_ratio()
            if signal > self.cfg.flops_target:
                self.lam *= 1 + self.cfg.lam_growth
            else:
                if self.reached_at is None:
                    self.reached_at = step
                if self.cfg.experimental.lam_backoff and ratio < self.cfg.flops_target - 0.02:
                    # gates already in the basin keep closing for a while: back off faster than λ grew
                    self.lam /= (1 + self.cfg.lam_growth) ** 4
        self.bank.eps = self.eps_at(step)
