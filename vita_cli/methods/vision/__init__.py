"""Dense image classification: train a recipe's model, evaluate or export a model file (public API)."""

from vita_cli.methods.vision.pipeline import (
    EvalRunResult,
    ExportResult,
    TrainRunResult,
    plot_history,
    run_evaluate,
    run_export,
    run_train,
)

__all__ = [
    "EvalRunResult",
    "ExportResult",
    "TrainRunResult",
    "plot_history",
    "run_evaluate",
    "run_export",
    "run_train",
]
