"""``vita eval-robust MODEL``: accuracy under the 15 standard corruptions × 5 severities, and mCE.

vita eval-robust runs/augmax-train/<stamp>/model.safetensors                 # generate (cached) + score
vita eval-robust MODEL --baseline STANDARD_MODEL                            # + mCE relative to a baseline
vita eval-robust MODEL --constants cifar                                    # CIFAR-10-C severity constants
vita eval-robust MODEL --corruptions-dir CIFAR-10-C --dataset cifar10 --data-root DIR   # official files

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

from vita_cli.cli.common import Session, verb_command
from vita_cli.core.errors import UserError

CORRUPTION_SEED = 0  # one fixed corrupted test set, whatever seed the models were trained with
NATIVE_CHANNELS = {"fashion-mnist": 1, "cifar10": 3, "cifar100": 3}


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


def _load(path: Path, arch: str | None, trust_pickle: bool = False):
    from vita_cli.models import load_model

    return load_model(path, arch_name=arch, trust_pickle=trust_pickle)


def score_model(model, corrupted, bundle, device, clean, batch_size, reporter, label):
    from vita_cli.methods.robustness.evaluate import evaluate_robustness

    total = len(corrupted.corruptions) * len(corrupted.severities)
    with reporter.task(f"evaluate {label}", total=total) as task:
        return evaluate_robustness(
            model,
            corrupted,
            bundle.normalize,
            device,
            clean[0],
            clean[1],
            batch_size,
            progress=lambda name, k: task.advance(k, corruption=name),
        )


def run_eval(
    session: Session,
    model_path: Path,
    dataset: str | None = None,
    data_root: str | None = None,
    n_test: int = 1000,
    constants: str = "imagenet",
    corruptions: list[str] | None = None,
    severities: list[int] | None = None,
    corruptions_dir: Path | None = None,
    cache: Path | None = None,
    baseline: Path | None = None,
    arch: str | None = None,
    batch_size: int = 256,
    out_dir: Path | None = None,
    channels: int | None = None,
    image_size: int | None = None,
) -> dict:
    """Score ``model_path`` (and optionally a baseline) under corruption; writes robust.json / robust.png."""
    import numpy as np

    from vita_cli.data import DataConfig, load_data
    from vita_cli.methods.robustness import corruptions as C
    from vita_cli.methods.robustness.evaluate import (
        check_channels,
        corruption_errors,
        heatmap,
        model_in_channels,
    )

    out_dir = Path(out_dir or session.run_dir.path)
    severities = severities or [1, 2, 3, 4, 5]
    C.check_request(corruptions or C.STANDARD_CORRUPTIONS, severities, constants)
    loaded = _load(model_path, arch)
    data_meta = dict(loaded.meta.get("data") or {})
    name = dataset or data_meta.get("name", "fashion-mnist")
    if channels is None:  # the training data's channels, else the data set's own
        same = name == data_meta.get("name")
        channels = (
            int(data_meta["channels"]) if same and data_meta.get("channels") else NATIVE_CHANNELS.get(name)
        )
        channels = channels or int(model_in_channels(loaded.model) or 3)
    size = int(image_size or data_meta.get("image_size") or 32)
    if size < C.MIN_SIZE:
        raise UserError(
            f"images are {size}×{size} px but the corruption code needs at least {C.MIN_SIZE}×{C.MIN_SIZE}",
            "train at data.image_size=32 or larger",
        )
    external = C.open_corrupted(corruptions_dir, corruptions) if corruptions_dir is not None else None
    if external is not None and "n" not in external.meta:
        n_test = None  # official files hold the whole test split, in order
    elif external is not None:
        n_test = int(external.meta["n"])
    try:
        cfg = DataConfig(
            name=name,
            root=data_root or data_meta.get("root"),
            channels=channels,
            image_size=size,
            val_size=0,
            test_subset=n_test,
            augment=False,
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    bundle = load_data(cfg, seed=0)
    clean = bundle.raw_test()
    check_channels(loaded.model, clean[0], f"the {name} test images")
    if external is not None:
        corrupted = external
        if corrupted.n != len(clean[1]) or not np.array_equal(corrupted.labels, clean[1]):
            session.log(
                f"note: the labels in {corruptions_dir} do not match the first {len(clean[1])} {name} test images; "
                "clean accuracy is measured on the latter"
            )
    else:
        cache = (
            cache
            or Path(".cache/vita/corruptions") / f"{name}-{channels}x{size}-{constants}-n{len(clean[1])}"
        )
        todo = len(corruptions or C.STANDARD_CORRUPTIONS) * len(severities)
        with session.reporter.task(f"corrupt {len(clean[1])} images", total=todo) as task:
            corrupted = C.generate_corrupted(
                clean[0],
                clean[1],
                cache,
                corruptions,
                severities,
                constants,
                CORRUPTION_SEED,
                progress=lambda c, k: task.advance(k, corruption=c),
                source=f"{name} test, {len(clean[1])} images",
            )
        session.log(f"corrupted set: {cache}")
    device = session.device
    result = score_model(
        loaded.model, corrupted, bundle, device, clean, batch_size, session.reporter, "model"
    )
    result.update(
        model=str(model_path),
        dataset=name,
        constants=corrupted.meta.get("constants", "external"),
        corruptions_dir=str(corrupted.path),
    )
    if baseline is not None:
        if baseline.suffix == ".json":
            import json

            base = json.loads(baseline.read_text())
        else:
            base_model = _load(baseline, None).model
            base = score_model(
                base_model, corrupted, bundle, device, clean, batch_size, session.reporter, "baseline"
            )
            base["model"] = str(baseline)
        result["baseline"] = {k: base.get(k) for k in ("model", "clean_acc", "mean_corruption_acc")}
        result.update(corruption_errors(result, base))
    out_dir.mkdir(parents=True, exist_ok=True)
    from vita_cli.core.rundir import RunDir

    RunDir(out_dir).write_json("robust.json", result)
    result["plot"] = str(
        heatmap(result, out_dir / "robust.png", title=f"{Path(model_path).name}: accuracy (%)")
    )
    return result


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
        dataset: Annotated[
            str | None, typer.Option(help="Data set (default: the one the model was trained on).")
        ] = None,
        data_root: Annotated[
            str | None, typer.Option(help="Data folder for cifar10/cifar100/imagefolder.")
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
        channels: Annotated[
            int | None,
            typer.Option(help="Image channels (default: the training data's; 3 turns grey into RGB)."),
        ] = None,
        image_size: Annotated[
            int | None, typer.Option(help="Image size (default: the training data's, else 32; at least 32).")
        ] = None,
        arch: Annotated[
            str | None, typer.Option(help="Architecture name for plain state-dict files.")
        ] = None,
        batch_size: Annotated[int, typer.Option(help="Evaluation batch size.")] = 256,
        session: Session = None,
    ):
        if n_test < 1:
            raise UserError(f"--n-test must be >= 1, got {n_test}")
        result = run_eval(
            session,
            model,
            dataset,
            data_root,
            n_test,
            constants.value,
            _names(corruptions),
            _int_list(severities, "--severities"),
            corruptions_dir,
            cache,
            baseline,
            arch,
            batch_size,
            channels=channels,
            image_size=image_size,
        )
        session.emit(result, lambda console: render_table(result, console))
