"""Corruption robustness: CIFAR-C style corrupted test sets and accuracy / mCE under corruption.

Public API: :class:`RobustEvalConfig`, :func:`run` (``(cfg, model_path, ctx)`` → :class:`RobustResult`).
"""

from vita_cli.methods.robustness.config import RobustEvalConfig, data_fields
from vita_cli.methods.robustness.pipeline import RobustResult, run

__all__ = ["RobustEvalConfig", "RobustResult", "data_fields", "run"]
