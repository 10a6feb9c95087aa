"""``sign-ticket`` engine: embed the QR code, retrain with the trigger set, assemble the signature."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
from torch import nn

from vita_cli.core.progress import SILENT, Reporter
from vita_cli.methods.ticket.anchor import anchor_loss_factory
from vita_cli.methods.ticket.config import TicketRecipe
from vita_cli.methods.ticket.embed import EmbedReport, choose_placement, embed_signature, target_connectivity
from vita_cli.methods.ticket.engine import Loaders, retrain, test_accuracy
from vita_cli.methods.ticket.extract import extract_and_decode
from vita_cli.methods.ticket.qr import data_module_mask, make_qr, payload_sha256, qr_size
from vita_cli.methods.ticket.triggers import TriggerMixer, TriggerSet, make_trigger_set, trigger_accuracy


@dataclass
class SignResult:
    model: nn.Module
    masks: dict[str, torch.Tensor]
    embed: EmbedReport
    qr: np.ndarray
    triggers: TriggerSet | None
    body: dict  # sig.json fields besides format, mask file and checksum
    metrics: dict = field(default_factory=dict)


def plan_embedding(masks: dict[str, torch.Tensor], payload: str, sign, scores=None):
    """(signed masks, embed report, QR modules, QR mask pattern) — no training."""
    qr, mask_pattern = make_qr(payload, sign.qr_version, sign.ecc)
    placement = choose_placement(
        masks,
        qr,
        sign.qr_version,
        layer=sign.layer,
        offset=tuple(sign.offset) if sign.offset else None,
        polarity=None if sign.polarity == "auto" else sign.polarity,
    )
    signed, report = embed_signature(
        masks,
        qr,
        placement,
        sign.qr_version,
        seed=sign.embed_seed,
        scores=scores,
        min_weights=sign.min_weights_per_module,
    )
    return signed, report, qr, mask_pattern


def sign_ticket(
    model: nn.Module,
    arch: dict,
    masks: dict[str, torch.Tensor],
    rewind_state: dict[str, torch.Tensor] | None,
    loaders: Loaders,
    data_info: dict,
    recipe: TicketRecipe,
    payload: str,
    device,
    reporter: Reporter = SILENT,
) -> SignResult:
    """Sign ``model``'s ticket ``masks``; ``rewind_state`` is where retraining starts (None: its weights)."""
    sign = recipe.sign
    scores = {n: p.detach() for n, p in model.named_parameters() if n in masks}
    signed, report, qr, mask_pattern = plan_embedding(masks, payload, sign, scores)
    p = report.placement
    reporter.log(
        f"QR v{sign.qr_version}-{sign.ecc} into {p.layer} at ({p.row}, {p.col}), {p.polarity}, "
        f"agreement {p.agreement:.1%}; live weights {report.live_before} -> {report.live_after}"
    )

    triggers = None
    mixer = None
    if sign.trigger_set:
        triggers = make_trigger_set(
            sign.trigger_count,
            loaders.num_classes,
            data_info["in_channels"],
            data_info["image_size"],
            sign.trigger_seed,
        )
        mixer = TriggerMixer(triggers, loaders.normalize, sign.triggers_per_batch, seed=sign.trigger_seed)

    metrics: dict = {"retrained": bool(sign.retrain), "rewind_point": rewind_state is not None}
    if sign.compare_unsigned and sign.retrain:
        with reporter.task("unsigned ticket (baseline)", total=None):
            unsigned = retrain(model, rewind_state, masks, loaders, recipe.train, device, reporter)
        metrics["unsigned_test_acc"] = test_accuracy(unsigned, loaders, device)
        if triggers is not None:
            c, n = trigger_accuracy(unsigned, triggers, loaders.normalize, device)
            metrics["unsigned_trigger_acc"] = 100.0 * c / n
    anchor = None
    if sign.anchor_strength > 0:
        on = target_connectivity(qr, p.polarity) & data_module_mask(sign.qr_version)
        anchor = anchor_loss_factory(
            p.layer, p.row, p.col, on, signed[p.layer], sign.anchor_strength, sign.anchor_quantile
        )
    if sign.retrain:
        trained = retrain(
            model,
            rewind_state,
            signed,
            loaders,
            recipe.train,
            device,
            reporter,
            batch_hook=mixer,
            loss_factory=anchor,
        )
    else:
        trained = retrain(model, None, signed, loaders, _no_epochs(recipe.train), device)
    metrics["signed_test_acc"] = test_accuracy(trained, loaders, device)
    if triggers is not None:
        c, n = trigger_accuracy(trained, triggers, loaders.normalize, device)
        metrics["signed_trigger_acc"] = 100.0 * c / n
    if "unsigned_test_acc" in metrics:
        metrics["accuracy_cost"] = metrics["unsigned_test_acc"] - metrics["signed_test_acc"]
    ex = extract_and_decode(signed[p.layer], p.row, p.col, p.polarity, qr, sign.qr_version)
    metrics["qr_decoded"] = ex.decoded
    metrics["qr_bit_error_rate"] = ex.bit_error_rate

    body = {
        "arch": arch,
        "white_box": {
            "layer": p.layer,
            "layer_shape": list(signed[p.layer].shape),
            "row": p.row,
            "col": p.col,
            "payload": payload,
            "payload_sha256": payload_sha256(payload),
            "qr": {
                "version": sign.qr_version,
                "size": qr_size(sign.qr_version),
                "ecc": sign.ecc,
                "mask_pattern": mask_pattern,
                "polarity": p.polarity,
                "function_patterns": "painted from the template at extraction; not embedded",
                "min_weights_per_module": sign.min_weights_per_module,
                "anchor_strength": sign.anchor_strength,
            },
            "agreement_before_embedding": p.agreement,
        },
        "mask": {"layers": {n: list(m.shape) for n, m in signed.items()}},
        "thresholds": asdict(sign.thresholds),
        "data": {
            k: data_info[k]
            for k in ("name", "in_channels", "image_size", "num_classes", "mean", "std")
            if k in data_info
        },
    }
    if triggers is not None:
        body["black_box"] = {
            "count": len(triggers.labels),
            "num_classes": loaders.num_classes,
            "chance": 1.0 / loaders.num_classes,
            "image_shape": list(triggers.images.shape[1:]),
            "normalization": {"mean": list(data_info["mean"]), "std": list(data_info["std"])},
            "triggers_per_batch": sign.triggers_per_batch,
        }
    return SignResult(trained, signed, report, qr, triggers, body, metrics)


def _no_epochs(cfg):

    return replace(cfg, epochs=0)
