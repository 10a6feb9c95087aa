"""The ticket verbs as pipelines: :func:`run_sign`, :func:`run_verify`, :func:`run_attack`.

Each takes the recipe (or the signature) and a :class:`RunContext`, writes its files into
``ctx.run_dir`` and returns a result dataclass (``to_dict()`` for JSON).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image

from vita_cli.core.context import RunContext
from vita_cli.core.errors import UserError
from vita_cli.core.plots import new_figure, save_figure
from vita_cli.data import load_data
from vita_cli.methods.ticket.attacks import Evaluator
from vita_cli.methods.ticket.attacks import run_attack as attack_curve
from vita_cli.methods.ticket.config import TicketRecipe, check_strengths
from vita_cli.methods.ticket.engine import make_loaders
from vita_cli.methods.ticket.fragility import run_fragility
from vita_cli.methods.ticket.io import data_config, load_suspect, load_ticket
from vita_cli.methods.ticket.qr import make_qr, render_modules
from vita_cli.methods.ticket.sign import sign_ticket
from vita_cli.methods.ticket.signature import read_signature, write_signature
from vita_cli.methods.ticket.verify import check_host_layer, normalizer, verify
from vita_cli.models import save_model


@dataclass
class TicketResult:
    """The verb's JSON result (flat keys, as written to the run folder)."""

    values: dict

    def to_dict(self) -> dict:
        return dict(self.values)


def data_info(bundle) -> dict:
    return {
        "name": bundle.name,
        "in_channels": bundle.in_channels,
        "image_size": bundle.image_size,
        "num_classes": bundle.num_classes,
        "mean": list(bundle.mean),
        "std": list(bundle.std),
    }


def run_sign(
    recipe: TicketRecipe,
    ctx: RunContext,
    ticket: Path,
    payload: str,
    *,
    signature: Path | None = None,
    signed: Path | None = None,
    rewind: Path | None = None,
    arch: str | None = None,
    trust_pickle: bool = False,
) -> TicketResult:
    """Embed a QR code carrying ``payload`` into the ticket's mask, retrain (with the trigger set when the
    recipe says so), write the signed ticket and sig.json (default: into the run folder) and qr.png."""
    t = load_ticket(ticket, arch, rewind, trust_pickle)
    if not t.masks:
        raise UserError(
            f"{ticket} has no masks: it is not a ticket", "prune it first (vita prune --method imp)"
        )
    # inputs checked before the first log line and any file: the payload fits, the host layer exists
    make_qr(payload, recipe.sign.qr_version, recipe.sign.ecc)
    layer = recipe.sign.layer
    if layer is not None and layer not in t.masks:
        raise UserError(f"layer {layer!r} has no mask", f"masked layers: {', '.join(t.masks) or 'none'}")
    ctx.log(f"ticket {ticket} ({t.source_format}), rewind point: {t.rewind_source}")
    bundle = load_data(data_config(recipe.data, t.arch), seed=ctx.seed)
    loaders = make_loaders(bundle, recipe.data.batch_size, seed=ctx.seed)
    result = sign_ticket(
        t.model,
        t.arch,
        t.masks,
        t.rewind_state,
        loaders,
        data_info(bundle),
        recipe,
        payload,
        ctx.device,
        ctx.reporter,
    )
    learned = result.metrics.get("signed_trigger_acc")
    needed = 100.0 * recipe.sign.thresholds.trigger_accuracy_min
    if learned is not None and learned < needed:
        ctx.log(
            f"warning: the signed model gets {learned:.0f}% of its trigger set (the check needs {needed:.0f}%): "
            "this signature's trigger check will not prove ownership, the QR alone decides"
        )
    run = ctx.run_dir
    sig_path = signature or run / "sig.json"
    model_path = signed or run / "signed.safetensors"
    meta = {"verb": "sign-ticket", "signature": Path(sig_path).name}
    save_model(model_path, result.model, t.arch, result.masks, meta=meta)
    write_signature(sig_path, result.body, result.masks, result.triggers)
    Image.fromarray(render_modules(result.qr)).save(run / "qr.png")
    e = result.embed
    out = {
        "signed": str(model_path),
        "signature": str(sig_path),
        "layer": e.placement.layer,
        "offset": [e.placement.row, e.placement.col],
        "polarity": e.placement.polarity,
        "agreement_before": e.placement.agreement,
        "live_weights_before": e.live_before,
        "live_weights_after": e.live_after,
        "modules_switched_on": e.modules_switched_on,
        "modules_switched_off": e.modules_switched_off,
        "weights_changed_outside_block": e.removed_outside_block,
        **result.metrics,
    }
    run.write_json("result.json", out)
    return TicketResult(out)


def run_verify(
    signature: Path,
    suspect: Path,
    ctx: RunContext,
    *,
    arch: str | None = None,
    black_box: bool = False,
    kernel_floor: float | None = None,
    trust_pickle: bool = False,
) -> TicketResult:
    """Ownership evidence of ``suspect`` against ``signature``: ``values["verified"]`` is the verdict."""
    if kernel_floor is not None and not 0.0 <= kernel_floor <= 1.0:
        raise UserError(f"--kernel-floor must lie in [0.0, 1.0], got {kernel_floor}")
    sig = read_signature(signature)
    s = load_suspect(suspect, arch, sig.data.get("arch"), trust_pickle)
    result = verify(
        sig,
        s.state,
        s.masks,
        s.model,
        s.model_error,
        ctx.device,
        black_box_only=black_box,
        kernel_floor=kernel_floor,
    )
    return TicketResult(
        {"suspect": str(suspect), "signature": str(signature), "format": s.source_format, **result}
    )


def plot_curves(result: dict, path: Path) -> Path:
    pts = result["points"]
    xs = [p["strength"] for p in pts]
    fig, ax = new_figure(6.5, 4.0)
    if result["attack"] == "paths":
        ax.plot(xs, [p["test_acc_paths"] for p in pts], "o-", label="weighted paths removed")
        ax.plot(xs, [p["test_acc_random"] for p in pts], "s--", label="same # random kernels")
        ax.set_xlabel("paths removed")
    else:
        ax.plot(xs, [p["test_acc"] for p in pts], "o-", label="test accuracy (%)")
        if any("trigger_acc" in p for p in pts):
            ax.plot(xs, [p.get("trigger_acc") for p in pts], "^-", label="trigger accuracy (%)")
        if any("bit_error_rate" in p for p in pts):
            ax.plot(xs, [100 * p["bit_error_rate"] for p in pts], "x:", label="QR data BER (%)")
            broken = [p["strength"] for p in pts if p.get("qr_decodable") is False]
            if broken:
                ax.axvline(min(broken), color="red", alpha=0.4, label="QR no longer decodes")
        ax.set_xlabel(f"{result['attack']} strength")
    ax.set_ylabel("%")
    ax.set_ylim(-2, 102)
    ax.legend(fontsize=8)
    ax.set_title(f"attack: {result['attack']}")
    return save_figure(fig, path)


def run_attack(
    recipe: TicketRecipe,
    ctx: RunContext,
    model_path: Path,
    attack: str,
    *,
    strengths: list[float] | None = None,
    signature: Path | None = None,
    rewind: Path | None = None,
    arch: str | None = None,
    trust_pickle: bool = False,
) -> TicketResult:
    """One attack curve (``strengths``; default: the recipe's for ``attack``): removal/ambiguity attacks on a
    signed ticket, or ``paths`` (Scheme-1 weighted-path removal). Writes curves.json and curves.png."""
    strengths = list(strengths) if strengths else list(recipe.attack.strengths.get(attack, []))
    try:
        check_strengths(attack, strengths)
    except ValueError as exc:
        raise UserError(f"--strength: {exc}") from None
    sig = read_signature(signature) if signature else None
    t = load_ticket(
        model_path, arch or (sig.data.get("arch", {}).get("name") if sig else None), rewind, trust_pickle
    )
    if not t.masks:
        raise UserError(f"{model_path} has no masks: it is not a ticket")
    if sig is not None and sig.white_box:
        check_host_layer(t.masks, sig.white_box)
    bundle = load_data(data_config(recipe.data, t.arch), seed=ctx.seed)
    loaders = make_loaders(bundle, recipe.data.batch_size, seed=ctx.seed)
    if attack == "paths":
        train = recipe.train
        if recipe.attack.retrain_epochs is not None:
            train = replace(train, epochs=recipe.attack.retrain_epochs)
        ctx.log(f"rewind point: {t.rewind_source}")
        result = run_fragility(
            t.model,
            t.masks,
            t.rewind_state,
            strengths,
            loaders,
            train,
            ctx.device,
            ctx.reporter,
            seed=ctx.seed,
        )
    else:
        if attack == "forge" and sig is None:
            ctx.log("no --signature: the owner's block is unknown, the forger may overwrite it")
        triggers = sig.triggers() if sig is not None and sig.black_box else None
        floor = float((sig.data.get("thresholds") or {}).get("kernel_floor", 0.0)) if sig else 0.0
        evaluate_point = Evaluator(
            sig.white_box if sig else None,
            sig.owner_masks() if sig else None,
            triggers,
            normalizer(sig.black_box) if triggers is not None else None,
            loaders,
            ctx.device,
            kernel_floor=floor,
        )
        result = attack_curve(
            attack,
            strengths,
            t.model,
            t.masks,
            evaluate_point,
            recipe,
            loaders,
            ctx.device,
            white_box=sig.white_box if sig else None,
            reporter=ctx.reporter,
            seed=ctx.seed,
        )
    result["model"] = str(model_path)
    run = ctx.run_dir
    run.write_json("curves.json", result)
    plot_curves(result, run / "curves.png")
    result["files"] = {"json": str(run / "curves.json"), "png": str(run / "curves.png")}
    return TicketResult(result)
