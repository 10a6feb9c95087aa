"""The ``recipes/complete-font/*.yaml`` schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class DataConfig:
    """Fonts, the glyph frame and the family split."""

    font_dirs: list[str] = field(default_factory=lambda: ["/usr/share/fonts"])
    cache_dir: str = "runs/cache/complete-font"  # per-font arrays, keyed by the font file's sha256
    max_fonts: int = 0  # 0: every usable font; else the first N (sorted by path) before the split
    image_size: int = 64  # raster side in pixels (the paper: 128)
    points: int = 150  # graph nodes per glyph
    test_fraction: float = 0.2  # share of font families held out (unseen styles)
    split_seed: int = 0
    dedup_threshold: float = 0.02  # fonts whose glyph rasters differ less than this (mean |Δ|) are one family

    def __post_init__(self):
        if not self.font_dirs:
            raise ValueError("data.font_dirs must list at least one folder or font file")
        if self.image_size not in (32, 64, 128):
            raise ValueError(f"data.image_size must be 32, 64 or 128, got {self.image_size}")
        if self.points < 30:
            raise ValueError(f"data.points must be at least 30, got {self.points}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"data.test_fraction must lie in (0, 1), got {self.test_fraction}")
        if self.max_fonts < 0:
            raise ValueError(f"data.max_fonts must be >= 0, got {self.max_fonts}")
        if not 0.0 <= self.dedup_threshold < 1.0:
            raise ValueError(f"data.dedup_threshold must lie in [0, 1), got {self.dedup_threshold}")


@dataclass
class ModelConfig:
    latent: int = 128  # style code size F (image encoder and graph encoder)
    width: int = 32  # base channel count of the image encoder / renderer
    hidden: int = 192  # graph constructor's hidden channels
    node_dim: int = 32  # per-node feature width inside the graph constructor
    embed: int = 64  # graph encoder's per-node embedding width E
    dropout: float = 0.1

    def __post_init__(self):
        for key in ("latent", "width", "hidden", "node_dim", "embed"):
            if getattr(self, key) < 4:
                raise ValueError(f"model.{key} must be at least 4, got {getattr(self, key)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"model.dropout must lie in [0, 1), got {self.dropout}")


@dataclass
class TrainConfig:
    """The three stages of the graph cycle and the image-to-image baseline."""

    epochs_img2graph: int = 10  # stage 1: image encoder + graph constructor (coordinates, directions)
    epochs_graph2img: int = 10  # stage 2: graph encoder + renderer on ground-truth graphs (pixels)
    epochs_joint: int = 10  # stage 3: the whole cycle, loss on the re-rendered image
    epochs_baseline: int = 0  # image-to-image; 0: the sum of the three stages (same number of passes)
    pairing: Literal["cross", "same"] = "cross"  # reference glyph: another letter of the font, or the target
    arms: list[str] = field(default_factory=lambda: ["graph", "img2img"])
    batch_size: int = 64
    lr: float = 1e-3
    xe_weight: float = 0.1  # style (font) classification on the latent codes
    cos_weight: float = 1.0  # direction channels of the graph
    px_weight: float = 1.0
    max_samples: int = 0  # 0: every (font, letter) pair per epoch; else a random subset of this size
    threads: int = 0  # torch CPU threads (0: leave as is)

    def __post_init__(self):
        for key in ("epochs_img2graph", "epochs_graph2img", "epochs_joint", "epochs_baseline", "max_samples"):
            if getattr(self, key) < 0:
                raise ValueError(f"train.{key} must be >= 0, got {getattr(self, key)}")
        if self.batch_size < 2:
            raise ValueError(f"train.batch_size must be at least 2, got {self.batch_size}")
        if self.lr <= 0:
            raise ValueError(f"train.lr must be positive, got {self.lr}")
        bad = [a for a in self.arms if a not in ("graph", "img2img")]
        if bad or not self.arms:
            raise ValueError(f"train.arms must list graph and/or img2img, got {self.arms}")
        for key in ("xe_weight", "cos_weight", "px_weight"):
            if getattr(self, key) < 0:
                raise ValueError(f"train.{key} must be >= 0, got {getattr(self, key)}")


@dataclass
class EvalConfig:
    """Few-shot completion on the held-out families."""

    k: list[int] = field(default_factory=lambda: [1, 3, 5])
    draws: int = 5  # random reference sets per font and k
    seed: int = 1234
    max_fonts: int = 0  # 0: every test font

    def __post_init__(self):
        if not self.k or min(self.k) < 1 or max(self.k) > 25:
            raise ValueError(f"eval.k must be reference counts in 1..25, got {self.k}")
        if self.draws < 1:
            raise ValueError(f"eval.draws must be at least 1, got {self.draws}")


@dataclass
class StudyConfig:
    """The declared comparison: seeds, objectives, and the rule that decides."""

    seeds: list[int] = field(default_factory=list)  # [] : the one seed given by --seed
    objectives: list[str] = field(
        default_factory=lambda: ["sum"]
    )  # joint stage: sum (all losses) / faithful (pixels only)
    primary: Literal["faithful", "sum"] = "sum"
    decide_k: list[int] = field(default_factory=lambda: [1, 5])
    alpha: float = 0.05

    def __post_init__(self):
        bad = [o for o in self.objectives if o not in ("faithful", "sum")]
        if bad:
            raise ValueError(f"study.objectives: unknown {bad[0]!r}; choose faithful or sum")
        if self.primary not in self.objectives:
            raise ValueError("study.primary must be one of study.objectives")


@dataclass
class CompleteFontRecipe:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    study: StudyConfig = field(default_factory=StudyConfig)
