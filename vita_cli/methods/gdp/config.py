"""``GdpConfig``: the ``gdp:`` section of a ``recipes/prune`` recipe."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

BASELINES = ("l1", "slimming", "uniform")


@dataclass
class GdpExperimental:
    """Switches kept for ablation studies; their defaults are the adopted method. ``gdp.experimental.*``."""

    # what λ is raised on: the hard FLOPs (adopted) or the smoothed F̃ (reacts before gates cross τ)
    controller_signal: Literal["hard", "smooth"] = "hard"
    # λ ← λ/(1 + growth)⁴ while the hard FLOPs are below ρ − 0.02 (the hard count lags the gates, so a
    # held λ over-prunes in short schedules); False: hold λ, as the method notes do
    lam_backoff: bool = True
    # after_target: hold ε₀ until the hard FLOPs first meet the target, then anneal over anneal_epochs;
    # geometric: ε₀ → ε_min over all GDP epochs (the method notes)
    eps_schedule: Literal["geometric", "after_target"] = "after_target"
    # proximal: a closed-form step on the penalty after each optimiser step; autograd: the penalty in the loss
    penalty: Literal["proximal", "autograd"] = "proximal"
    # BN uses running statistics during the GDP phase (stale statistics hurt in short CPU schedules)
    freeze_bn: bool = False


@dataclass
class GdpConfig:
    """GDP phase, thresholding, fine-tuning and baselines: the defaults are the adopted settings (the CPU
    quality protocol's, chosen on the validation split). [proposal] marks choices the paper leaves open."""

    flops_target: float = 0.5  # ρ: fraction of dense MACs kept, in (0, 1)
    pretrain_epochs: int = 0  # dense training first (when the input model is untrained)
    epochs: int = 10  # at most this many GDP epochs (stops early once the target is met and gates polarized)
    min_epochs: int = 1
    finetune_epochs: int = 2  # after compaction (train section's optimiser, cosine)
    # x₀: g₀ = x₀²/(x₀²+ε₀) = 0.9 with ε₀ = 1e-2 [proposal: x₀ = 1 (g₀ = 0.99) leaves the penalty almost no
    # grip in short schedules: its pull on x scales like ε/x³]
    gate_init: float = 0.3
    gate_lr: float | None = None  # None: the train section's lr (adopted: gates learn at the weights' lr)
    weight_lr: float | None = None  # weights' lr during the GDP phase; None: the train section's lr
    # lr schedule during the GDP phase; continuous [proposal]: one cosine over gate phase + fine-tune (the
    # paper's "no interruption to training"): no restart at the fold, the fine-tune gets the rest of the epochs
    schedule: Literal["constant", "cosine", "continuous"] = "constant"
    eps_start: float = 1e-2
    eps_end: float = 1e-4
    anneal_epochs: float = 1.0
    # λ₀ with gates at lr 0.1: lr·λ₀ = 0.2 sets how fast the cut happens (scale λ₀ by 1/lr at another lr)
    lam_start: float = 2.0
    lam_growth: float = 0.1  # λ ← λ·(1 + growth) at every controller check while hard FLOPs > target
    controller_every: int = 2  # optimiser steps between controller checks
    # proximal step: each gate charged ∂F̃/∂g (channel) or its space's ∂F̃/∂n (space: the same for every
    # gate of a space; over-charges option-A shortcut sources whose destination channel is open)
    price: Literal["channel", "space"] = "channel"
    gate_clamp: float | None = 1.0  # |x| ≤ this after every step (no runaway gates that can never close)
    tau: float = 1e-3  # g ≤ τ ⇒ gate off
    # forcing the FLOPs target after the gate phase never leaves a layer (a stem, a residual stream, a
    # residual block's own channels) with fewer than this fraction of its channels; below it the target
    # is reported as not reached instead of cutting the network to one channel or deleting a block
    force_floor: float = 0.25
    # False: residual streams (channel spaces merged by an addition) stay whole in GDP and in the baselines;
    # only the channels inside blocks (and non-residual layers) are pruned
    gate_streams: bool = True
    polarized_tol: float = 0.0  # stop when the fraction of gates in (τ, 0.5) is at most this
    baselines: list[str] = field(default_factory=list)  # any of l1, slimming, uniform
    slimming_l1: float = 1e-4  # network slimming: L1 strength on BN scales during its sparsity phase
    check_batch: int = 16  # images used to verify folding (max |Δlogits|)
    experimental: GdpExperimental = field(default_factory=GdpExperimental)

    def __post_init__(self):
        if not 0 < self.flops_target < 1:
            raise ValueError(f"gdp.flops_target must lie in (0, 1), got {self.flops_target}")
        for key in ("pretrain_epochs", "finetune_epochs", "min_epochs"):
            if getattr(self, key) < 0:
                raise ValueError(f"gdp.{key} must be >= 0")
        if self.epochs < 1:
            raise ValueError("gdp.epochs must be >= 1")
        if not 0 < self.eps_end <= self.eps_start:
            raise ValueError(f"gdp.eps_end must lie in (0, eps_start], got {self.eps_end} > {self.eps_start}")
        if self.lam_start < 0 or self.lam_growth < 0:
            raise ValueError("gdp.lam_start and gdp.lam_growth must be >= 0")
        if self.anneal_epochs <= 0:
            raise ValueError("gdp.anneal_epochs must be > 0")
        if self.controller_every < 1:
            raise ValueError("gdp.controller_every must be >= 1")
        if self.gate_clamp is not None and self.gate_clamp <= 0:
            raise ValueError("gdp.gate_clamp must be > 0 or null")
        if self.weight_lr is not None and self.weight_lr <= 0:
            raise ValueError("gdp.weight_lr must be > 0 or null")
        if self.gate_lr is not None and self.gate_lr <= 0:
            raise ValueError("gdp.gate_lr must be > 0 or null")
        if not 0 < self.tau < 0.5:
            raise ValueError(f"gdp.tau must lie in (0, 0.5), got {self.tau}")
        if not 0 <= self.force_floor <= 1:
            raise ValueError(f"gdp.force_floor must lie in [0, 1], got {self.force_floor}")
        if not 0 <= self.polarized_tol < 1:
            raise ValueError("gdp.polarized_tol must lie in [0, 1)")
        unknown = [b for b in self.baselines if b not in BASELINES]
        if unknown:
            raise ValueError(f"gdp.baselines: unknown {unknown[0]!r}; choose from {', '.join(BASELINES)}")
        if self.gate_init == 0:
            raise ValueError("gdp.gate_init must be non-zero (x = 0 is a closed gate)")
