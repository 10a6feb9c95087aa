"""The depth study's bookkeeping: per-layer uniformity of each depth's flows, tickets moved between
depths, and the two declared rules.

* uniformity of a flow: the std over its weight layers of the per-layer leading |λ_1| and the mean
  W1 distance between its layers' spectra (both from :meth:`FlowSpectra.diagnostics`); a depth's
  value is the mean over its flows (tasks × seeds);
* rule "smaller models have more uniform per-layer spectra": for every pair of depths, the
  shallower one is below the deeper one on both measures;
* rule "elastic tickets transfer": for every (source, target) pair of depths, the moved ticket's
  test accuracy on the target, mean over seeds and tasks, is within ``margin`` points of the
  target's own IMP ticket and above the random mask with the own ticket's per-layer sparsity.
"""

from __future__ import annotations

import numpy as np

from vita_cli.core.errors import UserError
from vita_cli.methods.ticket_flow.elastic import transform_ticket
from vita_cli.methods.ticket_flow.study import Ticket

MEASURES = ("layer_leading_modulus_std", "layer_spectra_spread")


def flow_key(model: str, task: str, seed: int) -> str:
    return f"{model}/{task}/s{seed}"


def move_ticket(ticket: Ticket, source_depth: int, target: Ticket, target_depth: int) -> Ticket:
    """``ticket`` (of depth ``source_depth``) as a ticket of ``target``'s architecture, checked
    tensor by tensor against ``target``'s rewind point (same width and shortcut option)."""
    state, masks = transform_ticket(ticket.rewind, ticket.masks, source_depth, target_depth)
    want = {k: tuple(v.shape) for k, v in target.rewind.items()}
    got = {k: tuple(v.shape) for k, v in state.items()}
    if want != got:
        diff = sorted(set(want) ^ set(got)) or [k for k in want if want[k] != got[k]]
        raise UserError(
            f"the ResNet-{source_depth} ticket does not fit ResNet-{target_depth} after the elastic "
            f"transformation (first difference: {diff[0]})",
            "move tickets only between CIFAR ResNets of the same width and shortcut option",
        )
    return Ticket(target.arch, state, masks, ticket.round, ticket.task)


def density(masks: dict) -> float:
    total = sum(int(m.numel()) for m in masks.values())
    return sum(int(m.sum()) for m in masks.values()) / max(1, total)


def uniformity(
    diagnostics: dict[str, dict], models: list[str], tasks: list[str], seeds: list[int]
) -> dict[str, dict]:
    """Per model: each measure's mean over its flows, its per-seed means (over tasks) and their std."""
    out = {}
    for m in models:
        row: dict = {"flows": {}}
        for measure in MEASURES:
            per_flow = {
                flow_key(m, t, s): float(diagnostics[flow_key(m, t, s)][measure])
                for s in seeds
                for t in tasks
            }
            per_seed = [float(np.mean([per_flow[flow_key(m, t, s)] for t in tasks])) for s in seeds]
            row[measure] = float(np.mean(list(per_flow.values())))
            row[f"{measure}_seed_std"] = float(np.std(per_seed))
            row[f"{measure}_per_seed"] = per_seed
            for k, v in per_flow.items():
                row["flows"].setdefault(k, {})[measure] = v
        out[m] = row
    return out


def uniformity_rule(table: dict[str, dict], depths: dict[str, int]) -> dict:
    """Every shallower depth below every deeper one on both measures."""
    order = sorted(depths, key=depths.get)
    pairs = []
    for i, a in enumerate(order):
        for b in order[i + 1 :]:
            below = {ms: table[a][ms] < table[b][ms] for ms in MEASURES}
            pairs.append({"shallower": a, "deeper": b, **below, "holds": all(below.values())})
    return {"pairs": pairs, "holds": bool(pairs) and all(p["holds"] for p in pairs)}


def elt_rule(
    accuracy: dict[str, dict[str, dict[str, dict[str, float]]]],
    random: dict[str, dict[str, dict[str, float]]],
    models: list[str],
    depths: dict[str, int],
    margin: float,
) -> dict:
    """``accuracy[seed][task][target][source]`` (source = target: the own ticket), ``random[seed][task][target]``.
    Per (source, target) pair: means over seeds and tasks and the verdict."""
    pairs = []
    for b in models:
        own = [accuracy[s][t][b][b] for s in accuracy for t in accuracy[s]]
        rnd = [random[s][t][b] for s in random for t in random[s]]
        for a in models:
            if a == b:
                continue
            moved = [accuracy[s][t][b][a] for s in accuracy for t in accuracy[s]]
            mo, ow = float(np.mean(moved)), float(np.mean(own))
            ra = float(np.mean(rnd)) if rnd else None
            within = mo >= ow - margin
            above = ra is not None and mo > ra
            pairs.append(
                {
                    "source": a,
                    "target": b,
                    "kind": "stretch" if depths[a] < depths[b] else "squeeze",
                    "moved": mo,
                    "moved_seed_std": float(np.std(_per_seed(accuracy, b, a))),
                    "own": ow,
                    "random": ra,
                    "gap": mo - ow,
                    "within_margin": within,
                    "above_random": above,
                    "holds": within and above,
                }
            )
    return {"margin": margin, "pairs": pairs, "holds": bool(pairs) and all(p["holds"] for p in pairs)}


def _per_seed(accuracy, target, source) -> list[float]:
    return [float(np.mean([accuracy[s][t][target][source] for t in accuracy[s]])) for s in accuracy]
