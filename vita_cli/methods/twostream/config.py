"""The ``recipes/search-twostream/*.yaml`` schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from vita_cli.methods.twostream.space import Space


@dataclass
class DataConfig:
    """Where the clips are, how `data` renders them, how they are sampled."""

    root: str = "runs/search-twostream-data/actions"
    set: Literal["actions", "order"] = "actions"  # what `vita search-twostream data` renders
    train_per_class: int = 40
    val_per_class: int = 12
    test_per_class: int = 20
    frames: int = 16  # T (fast stream); the slow stream sees T / alpha
    size: int = 32
    fps: float = 15.0  # rendered frame rate at playback speed 1 (frames × 1/fps seconds of motion per clip)
    render_seed: int = 0
    flip: bool = False  # training augmentation: random horizontal flip per clip (supernet and retraining)
    split_seed: int = 0  # user folders without split.json
    val_fraction: float = 0.15
    test_fraction: float = 0.25

    def __post_init__(self):
        if min(self.train_per_class, self.val_per_class, self.test_per_class) < 1:
            raise ValueError("data.train_per_class, val_per_class and test_per_class must be at least 1")
        if self.fps <= 0:
            raise ValueError(f"data.fps must be positive, got {self.fps}")
        if self.frames < 2 or self.size < 8:
            raise ValueError(f"data.frames must be >= 2 and data.size >= 8, got {self.frames}, {self.size}")
        if not (
            0 < self.val_fraction < 1
            and 0 < self.test_fraction < 1
            and self.val_fraction + self.test_fraction < 1
        ):
            raise ValueError("data.val_fraction and data.test_fraction must be in (0, 1) and sum below 1")


@dataclass
class SpaceConfig:
    stages: int = 3
    blocks: int = 2
    widths: list[int] = field(default_factory=lambda: [16, 24, 32])
    stem: int = 8
    alpha: int = 4
    beta: float = 0.25
    t: list[int] = field(default_factory=lambda: [1, 3, 5])
    k: list[int] = field(default_factory=lambda: [3, 5])
    e: list[int] = field(default_factory=lambda: [1, 2, 3, 4])
    c: list[float] = field(default_factory=lambda: [0.5, 0.75, 1.0, 1.25])
    fusion: list[str] = field(default_factory=lambda: ["none", "t2c", "tsample", "tconv"])
    attention: list[str] = field(default_factory=lambda: ["none", "se", "tse"])
    dropout: float = 0.3

    def __post_init__(self):
        if self.stages < 1 or self.blocks < 1:
            raise ValueError("space.stages and space.blocks must be at least 1")
        self.build(2).check()

    def build(self, num_classes: int) -> Space:
        return Space(
            self.stages,
            self.blocks,
            tuple(self.widths),
            self.stem,
            self.alpha,
            self.beta,
            tuple(self.t),
            tuple(self.k),
            tuple(self.e),
            tuple(self.c),
            tuple(self.fusion),
            tuple(self.attention),
            num_classes,
            self.dropout,
        )


@dataclass
class SupernetConfig:
    """Weight-sharing training: sandwich rule (largest + smallest + ``random`` sampled per step)."""

    epochs: list[int] = field(default_factory=lambda: [6, 3, 3])  # progressive stages; joint: their sum
    batch_size: int = 32
    lr: float = 0.1
    weight_decay: float = 5e-5
    momentum: float = 0.9
    random: int = 2
    distill: bool = True  # in-place distillation: sampled subnets learn the largest's soft labels

    def __post_init__(self):
        if len(self.epochs) != 3 or min(self.epochs) < 0 or sum(self.epochs) < 1:
            raise ValueError(
                "supernet.epochs needs three non-negative epoch counts (streams, fusion, attention)"
            )
        if self.batch_size < 1 or self.lr <= 0 or self.random < 0:
            raise ValueError("supernet.batch_size >= 1, supernet.lr > 0 and supernet.random >= 0 required")


@dataclass
class SearchConfig:
    budget_mmacs: float = 4.0  # MACs budget per clip (millions)
    algorithm: Literal["evolution", "reinforce"] = "evolution"
    population: int = 16
    generations: int = 4  # per progressive stage; joint and random get stages × population × generations
    mutation: float = 0.2
    parents: float = 0.5  # fraction of the population kept as parents
    calib_batches: int = 2  # BN recalibration batches (training clips) before each score
    calib_batch_size: int = 64
    reinforce_lr: float = 0.1
    reinforce_penalty: float = 2.0  # reward = accuracy - penalty * max(0, MACs / budget - 1)
    controls: bool = True  # also run joint and random search at equal evaluation budget
    kendall: int = 0  # architectures sampled for the proxy-vs-stand-alone Kendall tau (0: none)

    def __post_init__(self):
        if self.budget_mmacs <= 0:
            raise ValueError("search.budget_mmacs must be positive")
        if self.population < 2 or self.generations < 1:
            raise ValueError("search.population must be >= 2 and search.generations >= 1")
        if not 0 <= self.mutation <= 1 or not 0 < self.parents <= 1:
            raise ValueError("search.mutation must lie in [0, 1] and search.parents in (0, 1]")
        if self.calib_batches < 0 or self.kendall < 0:
            raise ValueError("search.calib_batches and search.kendall must be >= 0")


@dataclass
class TrainConfig:
    """Stand-alone training from scratch (the searched winner and the hand-designed controls)."""

    epochs: int = 30
    batch_size: int = 32
    lr: float = 0.1
    weight_decay: float = 5e-5
    momentum: float = 0.9
    label_smoothing: float = 0.1
    seeds: list[int] = field(default_factory=lambda: [0])

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("train.epochs >= 1, train.batch_size >= 1 and train.lr > 0 required")
        if not self.seeds:
            raise ValueError("train.seeds needs at least one seed")


@dataclass
class TwoStreamRecipe:
    data: DataConfig = field(default_factory=DataConfig)
    space: SpaceConfig = field(default_factory=SpaceConfig)
    supernet: SupernetConfig = field(default_factory=SupernetConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    threads: int = 1  # torch CPU threads (1: fastest on a shared 2-core machine)

    def __post_init__(self):
        if self.data.frames % self.space.alpha:
            raise ValueError(
                f"data.frames ({self.data.frames}) must be a multiple of space.alpha ({self.space.alpha})"
            )
        if self.data.size // 2 ** (self.space.stages + 1) < 1:
            raise ValueError(
                f"data.size {self.data.size} is too small for {self.space.stages} stride-2 stages"
            )
        if self.threads < 1:
            raise ValueError("threads must be >= 1")
