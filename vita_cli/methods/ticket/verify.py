"""Decide ownership from the evidence: QR decode, mask overlap, trigger-set accuracy.

Decision rules (thresholds are stored in ``sig.json``):

* **QR** (white-box, Scheme 2): verified iff a QR decoder reads exactly the owner's payload from the
  suspect's channel map at the key. The data-module bit error rate is reported beside it.
* **Mask overlap** (white-box, Scheme 1): Jaccard index of the suspect's and the owner's masks over the
  owner's masked layers, passed iff ≥ ``jaccard_min``; the chance level is what two independent random
  masks with the same per-layer densities would give. Supporting evidence only: the owner's own
  unsigned ticket (and any ticket derived from the same IMP run) overlaps as much, so overlap alone
  cannot say *who* signed.
* **Trigger set** (black-box, Scheme 3): verified iff accuracy ≥ ``trigger_accuracy_min`` and the
  binomial tail probability of that many hits at chance 1/K is below ``p_value_max``.

Ownership is verified when the QR or the trigger-set check passes (each a low-false-positive test):
:data:`RULE`, printed with every verdict; each evidence row says what it did to the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from vita_cli.core.errors import UserError
from vita_cli.methods.ticket.engine import suspect_masks
from vita_cli.methods.ticket.extract import extract_and_decode
from vita_cli.methods.ticket.qr import make_qr
from vita_cli.methods.ticket.triggers import trigger_accuracy

DEFAULT_THRESHOLDS = {
    "jaccard_min": 0.5,
    # 0 = off (the paper): every kernel with a live weight is "connected"
    "kernel_floor": 0.0,
    "trigger_accuracy_min": 0.5,
    "p_value_max": 1e-6,
    # reference only: zxing-cpp stops decoding v3-H codes near 4 % random data-module flips
    "qr_ber_reference": 0.03,
}


RULE = (
    "verified when the QR at the key decodes to the owner's payload, or when the trigger set passes "
    "(accuracy and p-value thresholds); either alone decides; mask overlap only supports"
)


@dataclass
class Evidence:
    check: str
    value: str
    threshold: str
    passed: bool
    details: dict = field(default_factory=dict)
    decisive: bool = True  # False: reported as supporting evidence, never decides the verdict alone

    def as_dict(self) -> dict:
        return {
            "check": self.check,
            "value": self.value,
            "threshold": self.threshold,
            "passed": self.passed,
            "decisive": self.decisive,
            **self.details,
        }


def owner_template(white_box: dict) -> np.ndarray:
    qr = white_box["qr"]
    modules, mask_pattern = make_qr(white_box["payload"], int(qr["version"]), qr["ecc"])
    if "mask_pattern" in qr and mask_pattern != int(qr["mask_pattern"]):
        raise UserError("the signature's QR mask pattern does not match its payload (edited signature?)")
    return modules


def check_host_layer(masks: dict[str, torch.Tensor], white_box: dict) -> torch.Tensor:
    """The suspect's mask of the host layer, or a UserError naming the mismatch."""
    layer = white_box["layer"]
    if layer not in masks:
        raise UserError(
            f"the suspect model has no mask for the signature's host layer {layer!r}",
            "was the signature made for another architecture?",
        )
    mask = masks[layer]
    expected = tuple(white_box["layer_shape"])
    if tuple(mask.shape) != expected:
        raise UserError(
            f"host layer {layer} has shape {tuple(mask.shape)} in the suspect, the signature expects {expected}"
        )
    return mask


def qr_evidence(
    masks: dict[str, torch.Tensor],
    white_box: dict,
    weights: torch.Tensor | None = None,
    kernel_floor: float = 0.0,
) -> Evidence:
    """Decode the QR at the key; ``kernel_floor`` > 0 ignores near-empty kernels (see extract.connectivity)."""
    mask = check_host_layer(masks, white_box)
    template = owner_template(white_box)
    qr = white_box["qr"]
    ex = extract_and_decode(
        mask,
        int(white_box["row"]),
        int(white_box["col"]),
        qr["polarity"],
        template,
        int(qr["version"]),
        weights,
        kernel_floor,
    )
    passed = ex.decoded == white_box["payload"]
    return Evidence(
        "QR signature",
        f"decoded {ex.decoded!r}" if ex.decoded is not None else "not decodable",
        f"== {white_box['payload']!r}",
        passed,
        {
            "decoded": ex.decoded,
            "bit_error_rate": ex.bit_error_rate,
            "modules": ["".join("1" if v else "0" for v in row) for row in ex.modules],  # 1 = dark
        },
    )


def jaccard(suspect: dict[str, torch.Tensor], owner: dict[str, torch.Tensor]) -> tuple[float, float, int]:
    """(Jaccard over the owner's layers present in the suspect, chance level, layers compared)."""
    inter = union = chance_inter = chance_union = 0.0
    compared = 0
    for name, own in owner.items():
        sus = suspect.get(name)
        if sus is None or sus.shape != own.shape:
            continue
        own, sus = own.bool(), sus.bool().to(own.device)
        inter += float((own & sus).sum())
        union += float((own | sus).sum())
        n = own.numel()
        da, db = float(own.sum()) / n, float(sus.sum()) / n
        chance_inter += n * da * db
        chance_union += n * (da + db - da * db)
        compared += 1
    if not compared:
        return 0.0, 0.0, 0
    return inter / max(union, 1.0), chance_inter / max(chance_union, 1.0), compared


def overlap_evidence(
    suspect: dict[str, torch.Tensor], owner: dict[str, torch.Tensor], thresholds: dict
) -> Evidence:
    j, chance, compared = jaccard(suspect, owner)
    tau = float(thresholds.get("jaccard_min", DEFAULT_THRESHOLDS["jaccard_min"]))
    return Evidence(
        "mask overlap (Jaccard)",
        f"{j:.3f} (chance {chance:.3f})",
        f">= {tau:g}",
        compared > 0 and j >= tau,
        {"jaccard": j, "chance": chance, "layers_compared": compared, "owner_layers": len(owner)},
        decisive=False,
    )


def binomial_p_value(correct: int, total: int, chance: float) -> float:
    """P(X >= correct) for X ~ Binomial(total, chance)."""
    from scipy.stats import binom  # lazy: scipy.stats takes about a second to import

    if correct <= 0:
        return 1.0
    return float(binom.sf(correct - 1, total, chance))


def trigger_evidence(correct: int, total: int, num_classes: int, thresholds: dict) -> Evidence:
    chance = 1.0 / num_classes
    acc = correct / max(total, 1)
    p = binomial_p_value(correct, total, chance)
    acc_min = float(thresholds.get("trigger_accuracy_min", DEFAULT_THRESHOLDS["trigger_accuracy_min"]))
    p_max = float(thresholds.get("p_value_max", DEFAULT_THRESHOLDS["p_value_max"]))
    return Evidence(
        "trigger set",
        f"{correct}/{total} = {acc:.1%}, p = {p:.2g}",
        f"acc >= {acc_min:.0%} and p < {p_max:g}",
        acc >= acc_min and p < p_max,
        {"trigger_accuracy": acc, "correct": correct, "total": total, "chance": chance, "p_value": p},
    )


def verdict(evidence: list[Evidence]) -> dict:
    """Apply :data:`RULE`; every row gets ``effect``, the words the table prints for it."""
    if not evidence:
        raise UserError("nothing to verify: the signature has neither a white-box nor a black-box part")
    deciders = [e.check for e in evidence if e.passed and e.decisive]
    verified = bool(deciders)
    rows = []
    for e in evidence:
        if not e.decisive:
            effect = "supporting only (never decides)"
        elif e.passed:
            effect = "decides: verified"
        elif verified:
            effect = "not needed (another check verified)"
        else:
            effect = "no proof from this check"
        rows.append({**e.as_dict(), "effect": effect})
    return {"verified": verified, "rule": RULE, "decided_by": deciders, "evidence": rows}


def normalizer(black_box: dict):
    norm = black_box.get("normalization") or {}
    mean, std = norm.get("mean"), norm.get("std")
    if mean is None or std is None:
        return lambda x: x

    def normalize(x: torch.Tensor) -> torch.Tensor:
        m = torch.tensor(mean, dtype=x.dtype).view(-1, 1, 1)
        s = torch.tensor(std, dtype=x.dtype).view(-1, 1, 1)
        return (x - m) / s

    return normalize


def verify(
    sig,
    state: dict[str, torch.Tensor],
    stored_masks: dict[str, torch.Tensor],
    model: torch.nn.Module | None,
    model_error: str | None,
    device,
    black_box_only: bool = False,
    kernel_floor: float | None = None,
) -> dict:
    """All evidence the signature allows for this suspect, and the verdict.

    ``kernel_floor`` overrides the signature's threshold of that name (None: keep it).
    """

    thresholds = {**DEFAULT_THRESHOLDS, **(sig.data.get("thresholds") or {})}
    if kernel_floor is not None:
        thresholds["kernel_floor"] = kernel_floor
    evidence: list[Evidence] = []
    notes: list[str] = []
    mask_source = None
    if not black_box_only:
        wb = sig.white_box
        owner = sig.owner_masks()
        masks, mask_source = suspect_masks(stored_masks, state, list(owner), wb["layer"] if wb else None)
        if wb is not None:
            floor = float(thresholds["kernel_floor"])
            evidence.append(qr_evidence(masks, wb, state.get(wb["layer"]) if floor > 0 else None, floor))
        evidence.append(overlap_evidence(masks, owner, thresholds))
    bb = sig.black_box
    if bb is not None:
        if model is None:
            if black_box_only:
                raise UserError(f"cannot run the suspect for black-box verification: {model_error}")
            notes.append(f"trigger set skipped: {model_error}")
        else:
            triggers = sig.triggers()
            model.to(device)
            try:
                correct, total = trigger_accuracy(model, triggers, normalizer(bb), device)
            except RuntimeError as exc:  # e.g. the model expects other channels / sizes
                raise UserError(
                    f"the suspect cannot classify the trigger images: {str(exc).splitlines()[0]}"
                ) from exc
            evidence.append(trigger_evidence(correct, total, int(bb["num_classes"]), thresholds))
    elif black_box_only:
        raise UserError(
            f"signature {sig.path} has no trigger set", "sign with --trigger-set to verify black-box"
        )
    out = verdict(evidence)
    out["mask_source"] = mask_source
    out["notes"] = notes
    return out
