"""Typed training settings and the recipe schema for ``recipes/train``.

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
