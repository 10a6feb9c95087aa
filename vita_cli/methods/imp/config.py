"""The ``recipes/prune`` schema: magnitude pruning, IMP with rewinding, and (parsed by GDP) GDP settings."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from vita_cli.training.config import DataSection, ModelSection, TrainConfig


@dataclass
class MagnitudeConfig:
    """One-shot unstructured magnitude pruning."""

    sparsity: float = 0.5
    scope: Literal["global", "layerwise"] = "global"
    include: list[str] | None = None  # fnmatch patterns on module/parameter names; None = all conv/linear
    exclude: list[str] | None = None  # None = the stem conv and the classifier (lottery-ticket default)
    finetune_epochs: int = 0  # optional masked fine-tuning after pruning (uses the train section)

    def __post_init__(self):
        if not 0 <= self.sparsity < 1:
            raise ValueError(f"magnitude.sparsity must lie in [0, 1), got {self.sparsity}")
        if self.finetune_epochs < 0:
            raise ValueError("magnitude.finetune_epochs must be >= 0")


@dataclass
class ExtremeConfig:
    """After the coarse schedule, finer rates search the sparsest ticket within ``delta`` of dense."""

    enabled: bool = False
    rates: list[float] = field(default_factory=lambda: [0.1, 0.05])
    max_rounds_per_rate: int = 5
    delta: float = 0.5  # accuracy points below dense that still count as a ticket

    def __post_init__(self):
        if any(not 0 < r < 1 for r in self.rates):
            raise ValueError(f"imp.extreme.rates must lie in (0, 1), got {self.rates}")
        if self.delta < 0:
            raise ValueError("imp.extreme.delta must be >= 0")
        if self.max_rounds_per_rate < 1:
            raise ValueError("imp.extreme.max_rounds_per_rate must be >= 1")


@dataclass
class ImpConfig:
    """Iterative magnitude pruning with rewinding."""

    rounds: int = 5  # pruning rounds after the dense round 0
    rate: float = 0.2  # fraction of the surviving prunable weights removed per round
    rewind_epoch: int = 1  # rewind survivors to the weights after this many epochs (0 = init)
    rewind_iteration: int | None = None  # or after this many optimiser steps (overrides rewind_epoch)
    scope: Literal["global", "layerwise"] = "global"
    include: list[str] | None = None
    exclude: list[str] | None = None
    random_baseline: Literal["none", "last", "all"] = "none"  # random masks, same layer-wise sparsity
    extreme: ExtremeConfig = field(default_factory=ExtremeConfig)

    def __post_init__(self):
        if self.rounds < 0:
            raise ValueError(f"imp.rounds must be >= 0, got {self.rounds}")
        if not 0 < self.rate < 1:
            raise ValueError(f"imp.rate must lie in (0, 1), got {self.rate}")
        if self.rewind_epoch < 0:
            raise ValueError("imp.rewind_epoch must be >= 0")
        if self.rewind_iteration is not None and self.rewind_iteration < 0:
            raise ValueError("imp.rewind_iteration must be >= 0 or null")


@dataclass
class PruneRecipe:
    """``recipes/prune/*.yaml``: magnitude, IMP and (parsed by the GDP engine) GDP settings."""

    method: Literal["magnitude", "imp", "gdp"] = "imp"
    # target sparsity in [0, 1): magnitude prunes to it in one shot (replaces magnitude.sparsity); IMP runs
    # enough rounds of imp.rate to reach it (replaces imp.rounds); GDP takes gdp.flops_target instead
    sparsity: float | None = None
    data: DataSection = field(default_factory=DataSection)
    model: ModelSection = field(default_factory=ModelSection)
    train: TrainConfig = field(default_factory=TrainConfig)
    magnitude: MagnitudeConfig = field(default_factory=MagnitudeConfig)
    imp: ImpConfig = field(default_factory=ImpConfig)
    # the GDP method parses this section into its own typed config (unknown keys rejected there)
    gdp: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.sparsity is None:
            return
        if self.method == "gdp":
            raise ValueError(
                "sparsity is for magnitude/IMP pruning; GDP takes gdp.flops_target (--flops-target)"
            )
        if not 0 <= self.sparsity < 1:
            raise ValueError(f"sparsity must lie in [0, 1), got {self.sparsity}")

    def imp_rounds(self) -> int:
        """Rounds of ``imp.rate`` that reach ``sparsity`` (``imp.rounds`` when no target is set)."""
        if self.sparsity is None:
            return self.imp.rounds
        return max(1, math.ceil(math.log(1 - self.sparsity) / math.log(1 - self.imp.rate) - 1e-9))

    def magnitude_sparsity(self) -> float:
        return self.magnitude.sparsity if self.sparsity is None else self.sparsity
