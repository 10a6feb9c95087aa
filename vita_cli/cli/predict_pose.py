"""``vita predict-pose train|eval|predict``: future 3D poses from observed 2D poses (Skeleton-Graph).

vita predict-pose train -r predict-pose/tiny                      # seconds: every model, one seed
vita predict-pose train -r predict-pose/default                   # the declared CPU protocol
vita predict-pose train --aggregation gcn --fixed-adjacency ...   # the Skeleton-Graph variants
vita predict-pose eval runs/predict-pose-train/STAMP data.noise_px=3
vita predict-pose predict track.npz --checkpoint runs/.../models/clips-s0-skeleton_graph.safetensors
"""

# no `from __future__ import annotations`: verb_command hands the real annotation objects to Typer
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vita_cli.cli.common import Invocation, Overrides, verb_command
from vita_cli.core.errors import UserError

app = typer.Typer(
    help="Skeleton-Graph: the next seconds of 3D motion from 2D poses, in one forward pass.",
    no_args_is_help=True,
)

RecipeOpt = Annotated[
    str, typer.Option("--recipe", "-r", help="Recipe name (predict-pose/NAME) or YAML path.")
]


class Aggregation(str, Enum):
    faithful = "faithful"
    gcn = "gcn"


class Split(str, Enum):
    time = "time"
    clips = "clips"


LABELS = {
    "skeleton_graph": "Skeleton-Graph",
    "skeleton_graph_gcn": "Skeleton-Graph gcn",
    "skeleton_graph_fixed": "Skeleton-Graph fixed A",
    "ar_gru": "AR-GRU",
    "zero_velocity": "zero-velocity lift",
    "constant_velocity": "const-velocity lift",
}


def _summary_tables(summary: dict, rule: dict):
    tables = []
    for split, rows in summary.items():
        table = Table(
            "model",
            "pose@0.25/0.5/0.75/1",
            "path@0.25/0.5/0.75/1",
            "FDE",
            "ADE",
            "STB",
            title=f"test, {split} split (mm, mean over {next(iter(rows.values()))['seeds']} seed(s))",
        )
        for name, r in rows.items():
            table.add_row(
                LABELS.get(name, name),
                "/".join(f"{v:.0f}" for v in r["pose"].values()),
                "/".join(f"{v:.0f}" for v in r["path"].values()),
                f"{r['fde']:.1f} ± {r['fde_std']:.1f}",
                f"{r['ade']:.1f}",
                f"{r['stb']:.1f} ± {r['stb_std']:.1f}",
            )
        tables.append(table)
        if split in rule:
            tables.append(
                f"rule ({split}): FDE −{rule[split]['fde_reduction_vs_gru']:.0%} vs GRU, STB "
                f"−{rule[split]['stb_reduction_vs_gru']:.0%} vs GRU, below constant velocity: "
                f"{rule[split].get('fde_below_constant_velocity')} → {'passed' if rule[split]['passed'] else 'not met'}"
            )
    return tables


@app.command(
    "train", help="Train Skeleton-Graph and the baselines on real motion clips; test metrics, figures."
)
@verb_command("predict-pose train")
def train_cmd(
    overrides: Overrides = None,
    recipe: RecipeOpt = "predict-pose/default",
    aggregation: Annotated[
        Aggregation | None, typer.Option(help="Skeleton-Graph layer: faithful (as released) or gcn.")
    ] = None,
    fixed_adjacency: Annotated[
        bool, typer.Option("--fixed-adjacency", help="Keep the limb adjacency fixed (do not learn A).")
    ] = False,
    motion: Annotated[
        list[Path] | None,
        typer.Option("--motion", help="Add your motion file (.bvh, .npz); repeat for several."),
    ] = None,
    joint_map: Annotated[
        Path | None, typer.Option("--joint-map", help="JSON/YAML common joint → your file's joint names.")
    ] = None,
    split: Annotated[
        list[Split] | None, typer.Option("--split", help="time and/or clips (default: the recipe's).")
    ] = None,
    invocation: Invocation = None,
):
    from vita_cli.methods.predict_pose import pipeline
    from vita_cli.schemas import load_any_recipe

    extra = list(overrides or [])
    if aggregation is not None:
        extra.append(f"model.aggregation={aggregation.value}")
    if fixed_adjacency:
        extra.append("model.learn_adjacency=false")
    if motion:
        extra.append("data.files=[" + ",".join(f"'{m}'" for m in motion) + "]")
    if joint_map is not None:
        extra.append(f"data.joint_map='{joint_map}'")
    if split:
        extra.append("splits=[" + ",".join(s.value for s in split) + "]")
    cfg, _ = load_any_recipe(recipe, extra)
    inputs = pipeline.load_inputs(cfg)  # every file checked before the run folder exists
    cfg = invocation.recipe(recipe, extra)
    result = pipeline.run_train(cfg, invocation.context(), inputs)

    def render(console):
        for t in _summary_tables(result.summary, result.rule):
            console.print(t)
        console.print(f"figures: {', '.join(result.figures)}")
        console.print(f"run folder: {result.run_dir} ({result.seconds:.0f} s)")

    invocation.emit(result.to_dict(), render)


@app.command(
    "eval", help="Re-evaluate a train run's checkpoints on its test windows (recipe overrides allowed)."
)
@verb_command("predict-pose eval")
def eval_cmd(
    run: Annotated[Path, typer.Argument(help="Folder of a `vita predict-pose train` run.")],
    overrides: Overrides = None,
    invocation: Invocation = None,
):
    from vita_cli.core.recipe import load_recipe
    from vita_cli.methods.predict_pose import pipeline
    from vita_cli.methods.predict_pose.config import PosePredRecipe

    if not (run / "recipe.yaml").is_file():
        raise UserError(f"{run} has no recipe.yaml", "pass the folder of a `vita predict-pose train` run")
    cfg, _ = load_recipe(run / "recipe.yaml", PosePredRecipe, overrides)
    checkpoints = pipeline.load_models(run)
    inputs = pipeline.load_inputs(cfg)
    invocation.recipe(str(run / "recipe.yaml"), overrides, PosePredRecipe)
    result = pipeline.run_eval(cfg, checkpoints, invocation.context(), inputs)

    def render(console):
        for t in _summary_tables(result.summary, result.rule):
            console.print(t)

    invocation.emit(result.to_dict(), render)


@app.command("predict", help="A 2D track (.npz/.json) → the predicted 3D sequence, a PNG strip and a GIF.")
@verb_command("predict-pose predict")
def predict_cmd(
    track: Annotated[Path, typer.Argument(help="2D track: keypoints (T, 16, 2) pixels in .npz or .json.")],
    checkpoint: Annotated[Path, typer.Option("--checkpoint", "-c", help="A model from runs/.../models/.")],
    invocation: Invocation = None,
):
    from vita_cli.methods.predict_pose import pipeline

    inputs = pipeline.load_predict_inputs(track, checkpoint)  # checked before anything is written
    result = pipeline.run_predict(inputs, invocation.context())

    def render(console):
        console.print(
            f"{LABELS.get(result.model, result.model)}: {result.t_pred} frames at {result.fps:g} fps → {result.prediction}"
        )
        if result.fde_mm is not None:
            console.print(f"against the track's future_3d: FDE {result.fde_mm:.1f} mm")
        console.print(f"figures: {', '.join(result.figures)}")

    invocation.emit(result.to_dict(), render)


def register(root):
    root.add_typer(
        app, name="predict-pose", help="Skeleton-Graph 3D motion prediction from 2D: train, eval, predict."
    )


def _demo(invocation: Invocation, folder: Path) -> str:
    """The tiny recipe on the real clips (≲ 60 s on 2 cores): every model, test metrics, skeleton figure."""
    import torch

    from vita_cli.core.context import RunContext
    from vita_cli.methods.predict_pose import pipeline
    from vita_cli.schemas import load_any_recipe

    torch.set_num_threads(min(2, torch.get_num_threads()))
    cfg, _ = load_any_recipe("predict-pose/tiny")
    result = pipeline.run_train(
        cfg,
        RunContext(device=invocation.device, seed=invocation.seed, out=folder, reporter=invocation.reporter),
    )
    split = result.splits[0]
    rows = "\n".join(
        f"| {LABELS.get(n, n)} | {r['fde']:.0f} | {r['ade']:.0f} | {r['stb']:.1f} |"
        for n, r in result.summary[split].items()
    )
    return (
        f"Real motion clips ({', '.join(result.clips[split]['train'])} for training; test: "
        f"{', '.join(result.clips[split]['test'])}), seen by random virtual cameras; 5 observed 2D frames → 10 "
        f"future 3D frames at 5 fps, a few epochs only (the tiny recipe).\n\n"
        f"![skeletons](predict_pose/skeletons.png)\n\n| model | FDE (mm) | ADE (mm) | STB |\n|---|---|---|---|\n{rows}\n"
    )


DEMO = ("Skeleton-Graph: future 3D poses from 2D", _demo)
