"""The shared vision training loop: ``fit``/``evaluate`` and their configuration."""

from vita_cli.training.callbacks import FunctionCallback, TrainCallback
from vita_cli.training.config import TrainConfig, TrainRecipe
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
    "FunctionCallback",
    "TrainCallback",
    "EvalResult",
    "TrainCheckpoint",
    "TrainConfig",
    "TrainRecipe",
    "TrainResult",
    "evaluate",
    "fit",
    "lr_factor",
    "resolve_resume",
]
