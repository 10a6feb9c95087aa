"""The ``recipes/predict-pose/*.yaml`` schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SG_MODELS = ("skeleton_graph", "skeleton_graph_gcn", "skeleton_graph_fixed")
MODELS = SG_MODELS + ("ar_gru", "lift")  # "lift" yields the zero- and constant-velocity baselines
SPLITS = ("time", "clips")


@dataclass
class CameraConfig:
    width: int = 1920
    height: int = 1080
    focal: float = 1150.0
    distance: tuple[float, float] = (3.0, 6.0)
    elevation: tuple[float, float] = (0.8, 2.5)
    jitter: float = 0.3

    def __post_init__(self):
        if self.width < 16 or self.height < 16 or self.focal <= 0:
            raise ValueError("data.camera.width/height must be ≥ 16 and data.camera.focal positive")
        if not 0 < self.distance[0] <= self.distance[1]:
            raise ValueError(
                f"data.camera.distance must be [near, far] with 0 < near ≤ far, got {self.distance}"
            )
        if not self.elevation[0] <= self.elevation[1]:
            raise ValueError(f"data.camera.elevation must be [low, high], got {self.elevation}")


@dataclass
class DataConfig:
    clips: list[str] | None = None  # built-in clips by name (None: every installed one)
    files: list[str] = field(default_factory=list)  # your motion files: .bvh, .npz, DeepMimic .txt
    joint_map: str | None = None  # JSON/YAML common joint → source joint, for files of unknown hierarchy
    fps: float = 5.0
    t_obs: int = 5
    t_pred: int = 10
    loop_seconds: float = 12.0  # DeepMimic "wrap" clips are tiled to at least this long
    time_fractions: tuple[float, float] = (0.1, 0.2)  # time split: val, test share of every clip
    val_clips: list[str] = field(default_factory=list)  # clips split
    test_clips: list[str] = field(default_factory=list)
    camera: CameraConfig = field(default_factory=CameraConfig)
    noise_px: float = 0.0
    train_windows: int = 4096  # fresh windows per epoch
    eval_cameras: int = 4  # views per evaluation window
    mirror: float = 0.5  # augmentation: probability of a left/right mirror
    warp: float = 1.25  # augmentation: playback speed in [1/warp, warp]
    target_norm: bool = True  # models work on per-coordinate standardised 3D (False: raw metres, as released)
    data_seed: int = 1234  # fixes the val/test windows and cameras (independent of the run seed)

    def __post_init__(self):
        if self.fps <= 0:
            raise ValueError(f"data.fps must be positive, got {self.fps}")
        if self.t_obs < 3 or self.t_pred < 1:
            raise ValueError(
                f"data.t_obs must be ≥ 3 (the ST-GCNN's temporal kernel) and data.t_pred ≥ 1, got {self.t_obs}, {self.t_pred}"
            )
        if not (
            0 <= self.time_fractions[0] < 1
            and 0 < self.time_fractions[1] < 1
            and sum(self.time_fractions) < 1
        ):
            raise ValueError(
                f"data.time_fractions (val, test) must be fractions summing below 1, got {self.time_fractions}"
            )
        if self.noise_px < 0 or self.train_windows < 1 or self.eval_cameras < 1:
            raise ValueError("data.noise_px must be ≥ 0, data.train_windows and data.eval_cameras ≥ 1")
        if not 0 <= self.mirror <= 1 or self.warp < 1:
            raise ValueError(
                f"data.mirror must lie in [0, 1] and data.warp be ≥ 1, got {self.mirror}, {self.warp}"
            )
        overlap = set(self.val_clips) & set(self.test_clips)
        if overlap:
            raise ValueError(f"data.val_clips and data.test_clips share {sorted(overlap)[0]!r}")


@dataclass
class ModelConfig:
    n_stgcnn: int = 5
    n_txpcnn: int = 11
    aggregation: Literal["faithful", "gcn"] = "faithful"  # of the plain "skeleton_graph" model
    learn_adjacency: bool = True  # of the plain "skeleton_graph" model
    gru_hidden: int = 128
    lifter_hidden: int = 256

    def __post_init__(self):
        if self.n_stgcnn < 1 or self.n_txpcnn < 1:
            raise ValueError("model.n_stgcnn and model.n_txpcnn must be at least 1")
        if self.gru_hidden < 1 or self.lifter_hidden < 1:
            raise ValueError("model.gru_hidden and model.lifter_hidden must be at least 1")


@dataclass
class TrainConfig:
    models: list[str] = field(default_factory=lambda: list(MODELS))
    ablation_models: list[str] = field(default_factory=list)  # trained only on the first ablation_seeds seeds
    ablation_seeds: int = 1
    ablation_splits: list[str] | None = None  # None: every split
    epochs: int = 60
    batch_size: int = 128
    optimizer: Literal["sgd", "adam"] = "sgd"
    lr: float = 0.01
    lr_step: float = 0.4  # StepLR every lr_step·epochs epochs ...
    lr_gamma: float = 0.2  # ... times lr_gamma
    l_norm: float = 0.1  # consistency losses (Skeleton-Graph only)
    l_cos: float = 0.1
    teacher_forcing: float = 0.0  # AR-GRU: probability of feeding the true previous frame in training
    eval_every: int = 5
    select_on: Literal["val", "test", "last"] = "val"

    def __post_init__(self):
        unknown = [m for m in self.models if m not in MODELS]
        if unknown or not self.models:
            raise ValueError(
                f"train.models: unknown {unknown[0] if unknown else '(empty)'!r}; choose from {', '.join(MODELS)}"
            )
        bad = [m for m in self.ablation_models if m not in MODELS or m in self.models]
        if bad:
            raise ValueError(f"train.ablation_models: {bad[0]!r} is unknown or already in train.models")
        if self.ablation_seeds < 1:
            raise ValueError("train.ablation_seeds must be at least 1")
        if self.epochs < 1 or self.batch_size < 1 or self.eval_every < 1:
            raise ValueError("train.epochs, train.batch_size and train.eval_every must be at least 1")
        if self.lr <= 0 or not 0 < self.lr_step <= 1 or not 0 < self.lr_gamma <= 1:
            raise ValueError("train.lr must be positive, train.lr_step and train.lr_gamma in (0, 1]")
        if self.l_norm < 0 or self.l_cos < 0 or not 0 <= self.teacher_forcing <= 1:
            raise ValueError("train.l_norm, train.l_cos must be ≥ 0 and train.teacher_forcing in [0, 1]")


@dataclass
class RuleConfig:
    """The declared acceptance rule, checked per split on the means over seeds."""

    fde_vs_gru: float = 0.20  # Skeleton-Graph FDE at least this much lower than the AR-GRU's
    stb_vs_gru: float = 0.50  # and its STB at least this much lower; and FDE below constant velocity


@dataclass
class PosePredRecipe:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    rule: RuleConfig = field(default_factory=RuleConfig)
    splits: list[str] = field(default_factory=lambda: ["time"])
    seeds: list[int] | None = None  # None: the --seed option

    def __post_init__(self):
        bad = [s for s in self.splits if s not in SPLITS]
        if bad or not self.splits:
            raise ValueError(
                f"splits: unknown {bad[0] if bad else '(empty)'!r}; choose from {', '.join(SPLITS)}"
            )
        if "clips" in self.splits and not self.data.test_clips:
            raise ValueError("splits: the clips split needs data.test_clips")
