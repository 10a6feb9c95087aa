"""A flow's spectra and fixed-point diagnostics, and the distances between flows.

``flow_spectra`` gives, for one flow, the whole-network DMD spectrum of the chosen observable, the
per-layer spectra of the layer weights, the relative step sizes and how far the leading eigenvalues
sit from 1. ``flow_distances`` compares flows by the Wasserstein-1 distance of their spectra.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vita_cli.core.errors import UserError
from vita_cli.methods.ticket_flow.config import AnalysisConfig
from vita_cli.methods.ticket_flow.distance import distance_matrix, layerwise_distance, wasserstein1
from vita_cli.methods.ticket_flow.dmd import DmdResult, RankError, exact_dmd
from vita_cli.methods.ticket_flow.flows import Flow
from vita_cli.methods.ticket_flow.observables import (
    layer_snapshots,
    step_sizes,
    summary_snapshots,
    weight_snapshots,
)


@dataclass
class FlowSpectra:
    name: str
    observable: str
    rounds: list[int]
    whole: DmdResult  # the observable's spectrum (weights for observable "layers")
    layers: dict[str, DmdResult]
    steps: list[float]
    density: list[float]
    arch: str = "?"
    records: list[dict] = field(default_factory=list)

    def spectrum(self):
        """What `compare` measures: the whole spectrum, or per-layer spectra for observable layers."""
        if self.observable == "layers":
            return {k: v.eigenvalues for k, v in self.layers.items()}
        return self.whole.eigenvalues

    def leading(self) -> complex:
        return complex(self.whole.eigenvalues[0])

    def diagnostics(self) -> dict:
        lam = self.whole.eigenvalues
        lead = [abs(v.eigenvalues[0]) for v in self.layers.values()]
        names = list(self.layers)
        pair = [
            wasserstein1(self.layers[a].eigenvalues, self.layers[b].eigenvalues)
            for i, a in enumerate(names)
            for b in names[i + 1 :]
        ]
        return {
            "leading_modulus": float(abs(lam[0])),
            "leading_argument": float(np.angle(lam[0])),
            "nearest_to_one": float(np.min(np.abs(lam - 1))),  # distance of the closest eigenvalue from 1
            "leading_distance_from_one": float(abs(lam[0] - 1)),
            "final_step": self.steps[-1] if self.steps else None,
            "layer_leading_modulus_std": float(np.std(lead)) if lead else None,
            "layer_spectra_spread": float(np.mean(pair)) if pair else 0.0,  # mean W1 between layers
        }

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "arch": self.arch,
            "observable": self.observable,
            "rounds": self.rounds,
            "density": self.density,
            "step_sizes": self.steps,
            "whole": self.whole.as_dict(),
            "layers": {k: v.as_dict() for k, v in self.layers.items()},
            "diagnostics": self.diagnostics(),
        }


def _dmd(snapshots: np.ndarray, cfg: AnalysisConfig, what: str) -> DmdResult:
    try:
        return exact_dmd(snapshots, cfg.rank, cfg.tol)
    except RankError as exc:
        raise UserError(
            f"{what}: {exc}", "use fewer rounds' worth of rank (--rank) or a longer flow"
        ) from exc


def trim(flow: Flow, first_round: int) -> Flow:
    """The flow from ``first_round`` on."""
    if first_round == 0:
        return flow
    keep = [i for i, r in enumerate(flow.rounds) if r >= first_round]
    pick = lambda xs: [xs[i] for i in keep] if xs else xs  # noqa: E731
    return Flow(
        flow.name,
        flow.source,
        pick(flow.rounds),
        flow.layers,
        flow.shapes,
        pick(flow.weights),
        pick(flow.masks),
        flow.arch,
        pick(flow.stored_masks),
        pick(flow.records),
    )


def check_flow(flow: Flow, cfg: AnalysisConfig) -> None:
    """Enough rounds for the rank rule (raises a UserError naming the flow)."""
    n = len([r for r in flow.rounds if r >= cfg.first_round])
    need = (cfg.rank + 1) if cfg.rank is not None else 3
    if n < need:
        rule = f"rank {cfg.rank}" if cfg.rank is not None else "DMD"
        raise UserError(
            f"flow {flow.name} has {n} rounds from round {cfg.first_round}; {rule} needs at least {need}",
            "run more IMP rounds or lower --rank",
        )


def flow_spectra(flow: Flow, cfg: AnalysisConfig) -> FlowSpectra:
    check_flow(flow, cfg)
    f = trim(flow, cfg.first_round)
    layers = {n: _dmd(s, cfg, f"flow {f.name}, layer {n}") for n, s in layer_snapshots(f).items()}
    if cfg.observable == "summaries":
        whole = _dmd(summary_snapshots(f, cfg.bins), cfg, f"flow {f.name} (summaries)")
    else:
        whole = _dmd(weight_snapshots(f), cfg, f"flow {f.name} (weights)")
    return FlowSpectra(
        f.name, cfg.observable, f.rounds, whole, layers, step_sizes(f), f.density(), f.arch, f.records
    )


def check_same_architecture(flows: list[Flow]) -> None:
    base = flows[0]
    for other in flows[1:]:
        if other.signature != base.signature:
            diff = next(
                (
                    f"layer {a[0]} {a[1]} vs {b[0]} {b[1]}"
                    for a, b in zip(base.signature, other.signature, strict=False)
                    if a != b
                ),
                f"{len(base.layers)} vs {len(other.layers)} weight layers",
            )
            raise UserError(
                f"flows of different architectures cannot be compared: {base.name} is {base.describe()}, "
                f"{other.name} is {other.describe()} ({diff})",
                "compare flows of one architecture at a time",
            )


def flow_distances(spectra: list[FlowSpectra]) -> np.ndarray:
    """The spectral distance matrix (W1; the mean per-layer W1 for observable layers)."""
    metric = layerwise_distance if spectra and spectra[0].observable == "layers" else wasserstein1
    return distance_matrix([s.spectrum() for s in spectra], metric)
