"""``vita eval-robust MODEL``: accuracy under the 15 standard corruptions × 5 severities, and mCE.

vita eval-robust runs/augmax-train/<stamp>/model.safetensors                 # generate (cached) + score
vita eval-robust MODEL --baseline STANDARD_MODEL                            # + mCE relative to a baseline
vita eval-robust MODEL --constants cifar                                    # CIFAR-10-C severity constants
vita eval-robust MODEL data.name=cifar10 data.root=DIR --corruptions-dir CIFAR-10-C    # official files

The corrupted test set is generated offline from the data set's test split (the first ``--n-test``
images of a fixed seeded subset) and cached as ``<corruption>.npy`` + ``labels.npy`` (CIFAR-10-C layout).
Writes robust.json, robust.png (heat map) and prints the table.
"""

# no `from __future__ import annotations`: verb_command hands the real annotation objects to Typer
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vita_cli.cli.common import Invocation, TrustPickleOpt, verb_command
from vita_cli.core.errors import UserError
from vita_cli.methods import robustness


class Constants(str, Enum):
    imagenet = "imagenet"
    cifar = "cifar"


def _int_list(text: str | None, what: str) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"{what} must be comma-separated integers, got {text!r}") from None


def _names(text: str | None) -> list[str] | None:
    return [v.strip() for v in text.split(",") if v.strip()] if text else None


def render_table(result: dict, console) -> None:
    sev = result["severities"]
    table = Table(
        "corruption",
        *(f"s{s}" for s in sev),
        "mean",
        *(["CE"] if "ce" in result else []),
        title="accuracy under corruption (%)",
    )
    for name in result["corruptions"]:
        row = result["accuracy"][name]
        table.add_row(
            name,
            *(f"{v:.1f}" for v in row),
            f"{result['per_corruption'][name]:.1f}",
            *([f"{result['ce'][name]:.1f}"] if "ce" in result else []),
        )
    console.print(table)
    line = f"clean {result['clean_acc']:.2f}%  mean corruption accuracy {result['mean_corruption_acc']:.2f}%"
    if "mce" in result:
        line += f"  mCE {result['mce']:.1f}"
        if "relative_mce" in result:
            line += f"  relative mCE {result['relative_mce']:.1f}"
    console.print(line)
    console.print(f"heat map: {result['plot']}")


def register(app):
    @app.command(
        "eval-robust", help="Accuracy under 15 corruptions x 5 severities (CIFAR-C layout), and mCE."
    )
    @verb_command("eval-robust")
    def eval_robust(
        model: Annotated[
            Path, typer.Argument(help="Model file (.safetensors from vita, or .pt with --arch).")
        ],
        overrides: Annotated[
            list[str] | None,
            typer.Argument(
                help="data.name=, data.root=, data.channels=, data.image_size= (default: the model's "
                "training data; data.channels=3 turns grey into RGB; image size at least 32).",
                show_default=False,
            ),
        ] = None,
        n_test: Annotated[int, typer.Option(help="Test images per severity (a fixed seeded subset).")] = 1000,
        constants: Annotated[
            Constants,
            typer.Option(help="Severity constants: imagenet (imagecorruptions) or cifar (CIFAR-10-C)."),
        ] = Constants.imagenet,
        corruptions: Annotated[
            str | None, typer.Option(help="Comma-separated corruption names (default: the 15 standard).")
        ] = None,
        severities: Annotated[
            str | None, typer.Option(help="Comma-separated severities in 1-5 (default: all).")
        ] = None,
        corruptions_dir: Annotated[
            Path | None, typer.Option(help="Existing CIFAR-C layout folder (e.g. official CIFAR-10-C).")
        ] = None,
        cache: Annotated[Path | None, typer.Option(help="Where generated corrupted sets are cached.")] = None,
        baseline: Annotated[
            Path | None, typer.Option(help="Baseline model file or its robust.json, for mCE.")
        ] = None,
        arch: Annotated[
            str | None, typer.Option(help="Architecture name for plain state-dict files.")
        ] = None,
        batch_size: Annotated[int, typer.Option(help="Evaluation batch size.")] = 256,
        trust_pickle: TrustPickleOpt = False,
        invocation: Invocation = None,
    ):
        cfg = robustness.RobustEvalConfig(
            **robustness.data_fields(overrides),
            n_test=n_test,
            constants=constants.value,
            corruptions=_names(corruptions),
            severities=_int_list(severities, "--severities"),
            corruptions_dir=corruptions_dir,
            cache=cache,
            baseline=baseline,
            arch=arch,
            batch_size=batch_size,
        )
        result = robustness.run(cfg, model, invocation.context(), trust_pickle=trust_pickle).to_dict()
        invocation.emit(result, lambda console: render_table(result, console))
