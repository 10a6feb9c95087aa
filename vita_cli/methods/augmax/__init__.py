"""AugMax: adversarial composition of random augmentations, with DuBIN normalisation (NeurIPS 2021).

Public API: :class:`AugMaxRecipe`, :class:`RobustMethod`, :func:`run` (recipe + run context →
:class:`AugmaxTrainResult`). Scoring under corruption is ``vita_cli.methods.robustness``.
"""

from vita_cli.methods.augmax.config import AugMaxRecipe, RobustMethod
from vita_cli.methods.augmax.pipeline import AugmaxTrainResult, run

__all__ = ["AugMaxRecipe", "AugmaxTrainResult", "RobustMethod", "run"]
