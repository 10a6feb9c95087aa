"""GDP: channel pruning with smoothed-L0 gates, differentiable polarization and exact gate folding.

Public API:

- :func:`run` — the ``prune --method gdp`` pipeline: recipe + run context → :class:`GdpResult`;
  :func:`gdp_config` — a recipe's typed ``gdp:`` section; :class:`GdpConfig`, :class:`GdpExperimental`;
- the arms a study composes (``experiments/``): :func:`run_gdp_arm`, :func:`run_baseline`,
  :func:`train_plain`, :func:`gdp_phase`, :func:`compact_arm`, :class:`Arm`, :func:`param_count`;
  the channel graph and FLOPs (:func:`build_channel_graph`, :func:`dense_macs`, :func:`hard_macs`);
  gates (:class:`GateBank`, :class:`GateHooks`); baseline scores (:func:`l1_scores`,
  :func:`per_space_ratio_masks`, :func:`reinitialize`); :func:`plot_accuracy_vs_flops`.
"""

from vita_cli.methods.gdp.baselines import l1_scores, per_space_ratio_masks, reinitialize
from vita_cli.methods.gdp.config import GdpConfig, GdpExperimental
from vita_cli.methods.gdp.engine import (
    Arm,
    compact_arm,
    gdp_phase,
    param_count,
    run_baseline,
    run_gdp_arm,
    train_plain,
)
from vita_cli.methods.gdp.flops import dense_macs, hard_macs
from vita_cli.methods.gdp.gates import GateBank, GateHooks
from vita_cli.methods.gdp.graph import build_channel_graph
from vita_cli.methods.gdp.pipeline import GdpResult, gdp_config, run
from vita_cli.methods.gdp.plots import plot_accuracy_vs_flops

__all__ = [
    "Arm",
    "GateBank",
    "GateHooks",
    "GdpConfig",
    "GdpExperimental",
    "GdpResult",
    "build_channel_graph",
    "compact_arm",
    "dense_macs",
    "gdp_config",
    "gdp_phase",
    "hard_macs",
    "l1_scores",
    "param_count",
    "per_space_ratio_masks",
    "plot_accuracy_vs_flops",
    "reinitialize",
    "run",
    "run_baseline",
    "run_gdp_arm",
    "train_plain",
]
