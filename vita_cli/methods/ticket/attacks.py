"""Removal and ambiguity attacks on a signed ticket, measured as curves over attack strength.

Each point records what a thief keeps (test accuracy) against what the owner can still show (QR
decodable, data-module BER, mask overlap, trigger accuracy):

* ``finetune``: strength = epochs of training with the mask fixed (weights change, the mask cannot);
* ``prune`` / ``random-prune``: strength = fraction of the live weights removed (global magnitude /
  uniformly random) over the masked layers, no retraining;
* ``add-connections``: strength = probability that each pruned weight comes back, value N(0, σ²);
* ``forge``: the thief embeds its own QR elsewhere with the same rules, re-randomises the weights of
  that block (as the paper does) and keeps the sparsity; strength = retraining epochs afterwards.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import torch
from torch import nn

from vita_cli.core.progress import SILENT, Reporter
from vita_cli.methods.ticket.embed import choose_placement, embed_signature
from vita_cli.methods.ticket.engine import Loaders, retrain, test_accuracy
from vita_cli.methods.ticket.extract import extract_and_decode
from vita_cli.methods.ticket.qr import make_qr
from vita_cli.methods.ticket.triggers import TriggerSet, trigger_accuracy
from vita_cli.methods.ticket.verify import jaccard, owner_template
from vita_cli.sparsity import apply_masks

ATTACKS = ("finetune", "prune", "random-prune", "add-connections", "forge")


class Evaluator:
    """Measures one attacked (model, masks) pair against the owner's signature."""

    def __init__(
        self,
        white_box: dict | None,
        owner_masks: dict | None,
        triggers: TriggerSet | None,
        trigger_normalize,
        loaders: Loaders,
        device,
        kernel_floor: float = 0.0,
    ):
        self.wb, self.owner, self.triggers = white_box, owner_masks, triggers
        self.kernel_floor = kernel_floor
        self.trigger_normalize = trigger_normalize
        self.loaders, self.device = loaders, device
        self.template = owner_template(white_box) if white_box else None

    def __call__(self, model: nn.Module, masks: dict[str, torch.Tensor]) -> dict:
        point = {
            "test_acc": test_accuracy(model, self.loaders, self.device),
            "live_weights": sum(int(m.sum()) for m in masks.values()),
        }
        if self.wb is not None:
            qr = self.wb["qr"]
            weights = dict(model.named_parameters())[self.wb["layer"]] if self.kernel_floor > 0 else None
            ex = extract_and_decode(
                masks[self.wb["layer"]],
                int(self.wb["row"]),
                int(self.wb["col"]),
                qr["polarity"],
                self.template,
                int(qr["version"]),
                weights,
                self.kernel_floor,
            )
            point.update(
                qr_decodable=ex.decoded == self.wb["payload"],
                decoded=ex.decoded,
                bit_error_rate=ex.bit_error_rate,
            )
        if self.owner is not None:
            point["jaccard"] = jaccard(masks, self.owner)[0]
        if self.triggers is not None:
            c, n = trigger_accuracy(model, self.triggers, self.trigger_normalize, self.device)
            point["trigger_acc"] = 100.0 * c / n
        return point


def _masked_params(model: nn.Module, masks) -> dict[str, torch.Tensor]:
    params = dict(model.named_parameters())
    return {n: params[n] for n in masks}


@torch.no_grad()
def prune_attack(model: nn.Module, masks, fraction: float, random: bool, gen: torch.Generator):
    """Remove ``fraction`` of the live weights (smallest |w| globally, or uniformly at random)."""
    net, new = copy.deepcopy(model), {n: m.clone().bool() for n, m in masks.items()}
    params = _masked_params(net, new)
    live = [(n, torch.nonzero(new[n].reshape(-1)).squeeze(1)) for n in new]
    scores = []
    for n, idx in live:
        if random:
            scores.append(torch.rand(len(idx), generator=gen))
        else:
            scores.append(params[n].detach().abs().reshape(-1)[idx].float().cpu())
    total = sum(len(idx) for _, idx in live)
    k = int(round(fraction * total))
    if k > 0:
        order = torch.argsort(torch.cat(scores))[:k]
        offsets = np.cumsum([0] + [len(idx) for _, idx in live])
        for pos in order.tolist():
            layer = int(np.searchsorted(offsets, pos, side="right") - 1)
            n, idx = live[layer]
            new[n].view(-1)[idx[pos - offsets[layer]]] = False
    apply_masks(net, new)
    return net, new


@torch.no_grad()
def add_connections(model: nn.Module, masks, probability: float, std: float, gen: torch.Generator):
    """Re-enable each pruned weight with ``probability``, drawing its value from N(0, std²)."""
    net, new = copy.deepcopy(model), {}
    params = _masked_params(net, masks)
    for n, m in masks.items():
        m = m.bool()
        revive = (~m) & (torch.rand(m.shape, generator=gen) < probability)
        values = torch.randn(m.shape, generator=gen) * std
        params[n].copy_(torch.where(revive.to(params[n].device), values.to(params[n]), params[n]))
        new[n] = m | revive
    return net, new


@torch.no_grad()
def forge(model: nn.Module, masks, white_box: dict | None, payload: str, sign, std: float, seed: int):
    """The thief's second signature, placed away from the owner's block; returns (model, masks, placement)."""
    qr, _ = make_qr(payload, sign.qr_version, sign.ecc)
    avoid = None
    if white_box is not None:
        avoid = (white_box["layer"], int(white_box["row"]), int(white_box["col"]), qr.shape[0])
    placement = choose_placement(masks, qr, sign.qr_version, avoid=avoid)
    new, _ = embed_signature(masks, qr, placement, sign.qr_version, seed=seed)
    net = copy.deepcopy(model)
    p = dict(net.named_parameters())[placement.layer]
    gen = torch.Generator().manual_seed(seed)
    n = qr.shape[0]
    block = p[placement.row : placement.row + n, placement.col : placement.col + n]
    block.copy_(
        (torch.randn(block.shape, generator=gen) * std).to(block)
    )  # the paper re-randomises the block
    apply_masks(net, new)
    return net, new, placement


def run_attack(
    attack: str,
    strengths: list[float],
    model: nn.Module,
    masks: dict[str, torch.Tensor],
    evaluate_point: Evaluator,
    recipe,
    loaders: Loaders,
    device,
    white_box: dict | None = None,
    reporter: Reporter = SILENT,
    seed: int = 0,
) -> dict:
    """The curve of ``attack`` over ``strengths``: a list of measured points plus a summary."""
    cfg = recipe.attack
    points = []
    baseline = evaluate_point(model, masks)
    extra: dict = {}
    with reporter.task(f"attack {attack}", total=len(strengths)) as task:
        for strength in strengths:
            gen = torch.Generator().manual_seed(seed)
            if attack in ("prune", "random-prune"):
                net, new = prune_attack(model, masks, float(strength), attack == "random-prune", gen)
            elif attack == "add-connections":
                net, new = add_connections(model, masks, float(strength), cfg.add_std, gen)
            elif attack == "finetune":
                tcfg = replace(recipe.train, epochs=int(strength), lr=cfg.finetune_lr)
                net, new = retrain(model, None, masks, loaders, tcfg, device), masks
            elif attack == "forge":
                net, new, placement = forge(
                    model, masks, white_box, cfg.forge_payload, recipe.sign, cfg.forge_std, seed
                )
                if strength:
                    tcfg = replace(recipe.train, epochs=int(strength), lr=cfg.finetune_lr)
                    net = retrain(net, None, new, loaders, tcfg, device)
                qr, _ = make_qr(cfg.forge_payload, recipe.sign.qr_version, recipe.sign.ecc)
                thief = extract_and_decode(
                    new[placement.layer],
                    placement.row,
                    placement.col,
                    placement.polarity,
                    qr,
                    recipe.sign.qr_version,
                )
                extra = {"forged_layer": placement.layer, "forged_offset": [placement.row, placement.col]}
            else:
                raise ValueError(f"unknown attack {attack!r}")
            point = {"strength": float(strength), **evaluate_point(net, new)}
            if attack == "forge":
                point["forged_decodes"] = thief.decoded == cfg.forge_payload
                point["accuracy_cost"] = baseline["test_acc"] - point["test_acc"]
            points.append(point)
            task.advance(1, acc=f"{point['test_acc']:.1f}")
    return {
        "attack": attack,
        "baseline": baseline,
        "points": points,
        "summary": summarize(attack, baseline, points),
        **extra,
    }


def summarize(attack: str, baseline: dict, points: list[dict], collapse_drop: float = 10.0) -> dict:
    """Where each property breaks: first strength at which the QR no longer decodes, the trigger
    accuracy falls below 50 %, and the test accuracy has dropped by ``collapse_drop`` points."""

    def first(pred):
        return next((p["strength"] for p in points if pred(p)), None)

    return {
        "qr_breaks_at": first(lambda p: p.get("qr_decodable") is False),
        "trigger_breaks_at": first(lambda p: "trigger_acc" in p and p["trigger_acc"] < 50.0),
        "accuracy_collapses_at": first(lambda p: p["test_acc"] < baseline["test_acc"] - collapse_drop),
        "collapse_drop_points": collapse_drop,
    }
