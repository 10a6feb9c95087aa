"""The shared vision training loop: ``fit``/``evaluate`` and their configuration."""

from vita_cli.training.config import PruneRecipe, TrainConfig, TrainRecipe
from vita_cli.training.trainer import (
    EvalResult,
    TrainCheckpoint,
    TrainResult,
    evaluate,
    fit,
    lr_factor,
    resolve_resume,
)

__all__ = [
    "EvalResult",
    "PruneRecipe",
    "TrainCheckpoint",
    "TrainConfig",
    "TrainRecipe",
    "TrainResult",
    "evaluate",
    "fit",
    "lr_factor",
    "resolve_resume",
]
