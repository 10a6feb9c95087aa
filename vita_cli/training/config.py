"""Typed training settings and the recipe schemas for ``recipes/train`` and ``recipes/prune``.

``TrainConfig`` is the one set of optimisation knobs every vision verb shares; methods embed it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from vita_cli.data import DataConfig


@dataclass
class TrainConfig:
    """Optimiser, schedule and loop settings for :func:`vita_cli.training.fit`."""

    epochs: int = 10
    optimizer: Literal["sgd", "adam", "adamw"] = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    nesterov: bool = False
    schedule: Literal["multistep", "cosine", "constant"] = "cosine"
    milestones: list[int] = field(default_factory=list)  # epochs at which multistep multiplies lr by gamma
    gamma: float = 0.1
    warmup_epochs: int = 0
    label_smoothing: float = 0.0
    grad_clip: float | None = None
    amp: bool = True  # only takes effect on CUDA; CPU runs stay in float32 (exact and reproducible)
    log_every: int = 50  # batches between progress updates
    max_steps_per_epoch: int | None = None  # cap batches per epoch (short schedules, smoke tests)

    def __post_init__(self):
        if self.epochs < 0:
            raise ValueError(f"train.epochs must be >= 0, got {self.epochs}")
        if self.lr <= 0:
            raise ValueError(f"train.lr must be > 0, got {self.lr}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"train.momentum must lie in [0, 1), got {self.momentum}")
        if self.weight_decay < 0:
            raise ValueError(f"train.weight_decay must be >= 0, got {self.weight_decay}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"train.label_smoothing must lie in [0, 1), got {self.label_smoothing}")
        if self.grad_clip is not None and self.grad_clip <= 0:
            raise ValueError(f"train.grad_clip must be > 0 or null, got {self.grad_clip}")
        if self.nesterov and (self.optimizer != "sgd" or self.momentum == 0):
            raise ValueError("train.nesterov needs optimizer sgd with momentum > 0")
        if self.warmup_epochs < 0 or (self.epochs and self.warmup_epochs > self.epochs):
            raise ValueError(f"train.warmup_epochs must lie in [0, epochs], got {self.warmup_epochs}")
        if sorted(self.milestones) != list(self.milestones):
            raise ValueError(f"train.milestones must be increasing, got {self.milestones}")
        if self.log_every < 1:
            raise ValueError("train.log_every must be >= 1")
        if self.max_steps_per_epoch is not None and self.max_steps_per_epoch < 1:
            raise ValueError("train.max_steps_per_epoch must be >= 1 or null")


# The data section is the data loader's own config (one source of truth for its keys and checks).
DataSection = DataConfig


@dataclass
class ModelSection:
    """Architecture: a registry name plus its options (num_classes/in_channels come from the data)."""

    name: str = "resnet20"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainRecipe:
    """``recipes/train/*.yaml``: dense training."""

    data: DataSection = field(default_factory=DataSection)
    model: ModelSection = field(default_factory=ModelSection)
    train: TrainConfig = field(default_factory=TrainConfig)


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
    data: DataSection = field(default_factory=DataSection)
    model: ModelSection = field(default_factory=ModelSection)
    train: TrainConfig = field(default_factory=TrainConfig)
    magnitude: MagnitudeConfig = field(default_factory=MagnitudeConfig)
    imp: ImpConfig = field(default_factory=ImpConfig)
    # GDP's engine parses this into its own dataclass with core.recipe.from_dict (unknown keys rejected there)
    gdp: dict[str, Any] = field(default_factory=dict)


