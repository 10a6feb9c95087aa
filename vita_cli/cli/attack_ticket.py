"""``vita attack-ticket``: removal / ambiguity attacks on a signed ticket, and Scheme-1 path removal.

    vita attack-ticket signed.safetensors --signature sig.json --attack prune --strength 0,0.5,0.9,0.98
    vita attack-ticket ticket.safetensors --attack paths --strength 0,50,100      # extreme-ticket fragility

Writes ``curves.json`` and ``curves.png`` into the run directory.
"""

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vita_cli.cli.common import ArchOpt, Overrides, Session, recipe_option, verb_command


class Attack(str, Enum):
    finetune = "finetune"
    prune = "prune"
    random_prune = "random-prune"
    add_connections = "add-connections"
    forge = "forge"
    paths = "paths"


def _parse_strengths(text: str) -> list[float]:
    from vita_cli.core.errors import UserError

    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"--strength must be comma-separated numbers, got {text!r}") from None
    if not values:
        raise UserError("--strength is empty")
    return values


def _plot(result: dict, path: Path) -> None:
    from vita_cli.core.plots import new_figure, save_figure

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
    save_figure(fig, path)


def register(app):
    @app.command(
        "attack-ticket",
        help="Attack a signed ticket (finetune, prune, random-prune, add-connections, forge) or remove "
        "weighted paths (Scheme 1); write curves JSON + PNG.",
    )
    @verb_command("attack-ticket")
    def attack_ticket(
        model_path: Annotated[Path, typer.Argument(help="Signed ticket (or any ticket for --attack paths).")],
        attack: Annotated[Attack, typer.Option("--attack", help="Which attack.")],
        signature: Annotated[
            Path | None, typer.Option("--signature", help="sig.json: measure QR / trigger survival.")
        ] = None,
        strength: Annotated[
            str | None, typer.Option("--strength", help="Comma-separated strengths (default: the recipe's).")
        ] = None,
        rewind: Annotated[Path | None, typer.Option("--rewind", help="Rewind-point weights (paths).")] = None,
        arch: ArchOpt = None,
        recipe: Annotated[str, recipe_option()] = "ticket/default",
        overrides: Overrides = None,
        session: Session = None,
    ):
        from vita_cli.core.errors import UserError
        from vita_cli.data import load_data
        from vita_cli.methods.ticket.attacks import Evaluator, run_attack
        from vita_cli.methods.ticket.engine import make_loaders
        from vita_cli.methods.ticket.fragility import run_fragility
        from vita_cli.methods.ticket.io import data_config, load_ticket
        from vita_cli.methods.ticket.signature import read_signature
        from vita_cli.methods.ticket.verify import check_host_layer, normalizer

        cfg = session.recipe(recipe, overrides)
        name = attack.value
        strengths = _parse_strengths(strength) if strength else list(cfg.attack.strengths.get(name, []))
        sig = read_signature(signature) if signature else None
        t = load_ticket(model_path, arch or (sig.data.get("arch", {}).get("name") if sig else None), rewind)
        if not t.masks:
            raise UserError(f"{model_path} has no masks: it is not a ticket")
        if sig is not None and sig.white_box:
            check_host_layer(t.masks, sig.white_box)
        bundle = load_data(data_config(cfg.data, t.arch), seed=session.seed)
        loaders = make_loaders(bundle, cfg.data.batch_size, seed=session.seed)
        if name == "paths":
            if cfg.attack.retrain_epochs is not None:
                from dataclasses import replace

                cfg.train = replace(cfg.train, epochs=cfg.attack.retrain_epochs)
            session.log(f"rewind point: {t.rewind_source}")
            result = run_fragility(
                t.model,
                t.masks,
                t.rewind_state,
                strengths,
                loaders,
                cfg.train,
                session.device,
                session.reporter,
                seed=session.seed,
            )
        else:
            if name == "forge" and sig is None:
                session.log("no --signature: the owner's block is unknown, the forger may overwrite it")
            triggers = sig.triggers() if sig is not None and sig.black_box else None
            evaluate_point = Evaluator(
                sig.white_box if sig else None,
                sig.owner_masks() if sig else None,
                triggers,
                normalizer(sig.black_box) if triggers is not None else None,
                loaders,
                session.device,
                kernel_floor=float((sig.data.get("thresholds") or {}).get("kernel_floor", 0.0))
                if sig
                else 0.0,
            )
            result = run_attack(
                name,
                strengths,
                t.model,
                t.masks,
                evaluate_point,
                cfg,
                loaders,
                session.device,
                white_box=sig.white_box if sig else None,
                reporter=session.reporter,
                seed=session.seed,
            )
        result["model"] = str(model_path)
        run = session.run_dir
        run.write_json("curves.json", result)
        _plot(result, run / "curves.png")
        result["files"] = {"json": str(run / "curves.json"), "png": str(run / "curves.png")}

        def render(console):
            pts = result["points"]
            cols = [k for k in pts[0] if k not in ("decoded",)] if pts else []
            table = Table(*cols, title=f"attack {name} on {model_path}")
            for p in pts:
                table.add_row(*[f"{p[c]:.4g}" if isinstance(p[c], float) else str(p[c]) for c in cols])
            console.print(table)
            if "summary" in result:
                console.print("breaks at: " + ", ".join(f"{k} = {v}" for k, v in result["summary"].items()))
            console.print(f"curves: {result['files']['json']}, {result['files']['png']}")

        session.emit(result, render)
