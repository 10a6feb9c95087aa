"""Iterative magnitude pruning with rewinding (lottery tickets), and one-shot magnitude pruning.

Public API (other methods import only these names):

- :class:`PruneRecipe` — the ``recipes/prune`` schema; :class:`ImpConfig`, :class:`ExtremeConfig`,
  :class:`MagnitudeConfig` — its sections;
- :func:`run_imp` — the IMP flow on a model and loaders (engine); :class:`ImpStore` (in memory) and
  :class:`FileImpStore` (every round on disk) keep its rounds; :class:`ImpRound`, :class:`ImpResult`;
- :func:`run` (IMP) and :func:`run_magnitude` — the ``prune`` verb's pipelines: ``(recipe, ctx, model)``
  to a result with ``to_dict()``.
"""

from vita_cli.methods.imp.config import ExtremeConfig, ImpConfig, MagnitudeConfig, PruneRecipe
from vita_cli.methods.imp.engine import ImpResult, ImpRound, ImpStore, run_imp
from vita_cli.methods.imp.pipeline import ImpRunResult, MagnitudeResult, plot_imp, run, run_magnitude
from vita_cli.methods.imp.store import FileImpStore

__all__ = [
    "ExtremeConfig",
    "FileImpStore",
    "ImpConfig",
    "ImpResult",
    "ImpRound",
    "ImpRunResult",
    "MagnitudeResult",
    "ImpStore",
    "MagnitudeConfig",
    "PruneRecipe",
    "plot_imp",
    "run",
    "run_imp",
    "run_magnitude",
]
