"""Recipe schema for ``recipes/augmax/*.yaml`` (``vita augmax-train``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from vita_cli.training.config import DataSection, ModelSection, TrainConfig

OPERATOR_NAMES = (
    "autocontrast", "equalize", "posterize", "rotate", "solarize",
    "shear_x", "shear_y", "translate_x", "translate_y",
)  # fmt: skip


@dataclass
class RobustMethod:
    """Which arm to train and the AugMix / AugMax / DuBIN settings."""

    name: Literal["standard", "augmix", "augmax"] = "augmax"
    norm: Literal["bn", "dubn", "dubin"] = "dubin"  # dual norms only matter for augmax
    lam: float = 10.0  # weight of the Jensen–Shannon consistency term
    width: int = 3  # augmentation chains per image
    depth: int = -1  # operators per chain; -1 = 1–3 drawn per sample
    severity: float = 3.0  # operator strength: level ~ U(0.1, severity)
    operators: list[str] = field(default_factory=lambda: list(OPERATOR_NAMES))
    steps: int = 5  # inner-maximisation steps
    step_size: float = 0.1  # sign-gradient step on (m, q)
    attacker: Literal["fat", "pgd"] = "fat"  # fat: per-sample early stop after tau misclassifications
    tau: int = 1
    fat_legacy: bool = False  # reproduce the official code (finished samples keep moving)
    in_ratio: float = 0.5  # share of DuBIN channels under instance norm
    dubin_stages: list[str] | None = None  # stages whose blocks get DuBIN; None = all but the last

    def __post_init__(self):
        if self.lam < 0:
            raise ValueError(f"method.lam must be >= 0, got {self.lam}")
        if self.width < 1:
            raise ValueError(f"method.width must be >= 1, got {self.width}")
        if self.depth == 0 or self.depth < -1:
            raise ValueError(f"method.depth must be -1 (random 1-3) or >= 1, got {self.depth}")
        if not 0.1 < self.severity <= 10:
            raise ValueError(f"method.severity must lie in (0.1, 10], got {self.severity}")
        unknown = [o for o in self.operators if o not in OPERATOR_NAMES]
        if unknown or not self.operators:
            raise ValueError(
                f"method.operators: unknown {unknown[:1] or 'empty list'}; choices: {', '.join(OPERATOR_NAMES)}"
            )
        if self.steps < 0:
            raise ValueError(f"method.steps must be >= 0, got {self.steps}")
        if self.step_size <= 0:
            raise ValueError(f"method.step_size must be > 0, got {self.step_size}")
        if self.tau < 1:
            raise ValueError(f"method.tau must be >= 1, got {self.tau}")
        if not 0 < self.in_ratio < 1:
            raise ValueError(f"method.in_ratio must lie in (0, 1), got {self.in_ratio}")

    @property
    def dual_norm(self) -> bool:
        return self.name == "augmax" and self.norm in ("dubn", "dubin")

    @property
    def label(self) -> str:
        if self.name != "augmax":
            return self.name
        return {"bn": "augmax-bn", "dubn": "augmax-dubn", "dubin": "augmax-dubin"}[self.norm]


@dataclass
class AugMaxRecipe:
    """``recipes/augmax/*.yaml``: data, model, optimisation and the robust-training arm."""

    data: DataSection = field(default_factory=DataSection)
    model: ModelSection = field(default_factory=ModelSection)
    train: TrainConfig = field(default_factory=TrainConfig)
    method: RobustMethod = field(default_factory=RobustMethod)
