"""``vita search-twostream data|search|train|eval``: two-stream video architecture search.

vita search-twostream data -r search-twostream/tiny                  # render clips (pybullet mocap)
vita search-twostream search -r search-twostream/tiny --out runs/s   # progressive search + controls
vita search-twostream train --arch runs/s/architecture.yaml          # retrain the winner from scratch
vita search-twostream eval --search-run runs/s                       # winners vs SlowFast/X3D-mini
torchrun --nproc_per_node=2 -m vita_cli search-twostream search --out runs/s2   # ranks share scoring
"""

# no `from __future__ import annotations`: verb_command hands the real annotation objects to Typer
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vita_cli.cli.common import Invocation, Overrides, verb_command
from vita_cli.core.context import RunContext
from vita_cli.core.recipe import load_recipe
from vita_cli.core.rundir import default_run_dir
from vita_cli.methods.twostream import pipeline
from vita_cli.methods.twostream.config import TwoStreamRecipe

app = typer.Typer(help="Two-stream video architecture search under a MACs budget.", no_args_is_help=True)

RecipeOpt = Annotated[
    str, typer.Option("--recipe", "-r", help="Recipe name (search-twostream/NAME) or YAML path.")
]
DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data", help="Clip folder (class sub-folders of .npy/.npz/.mp4/.avi; optional split.json)."
    ),
]
ResumeOpt = Annotated[bool, typer.Option("--resume", help="Continue the run in --out from its checkpoints.")]


class Algorithm(str, Enum):
    evolution = "evolution"
    reinforce = "reinforce"


def _recipe(name: str, overrides, data: Path | None) -> TwoStreamRecipe:
    extra = [f"data.root={data}"] if data is not None else []
    recipe, _ = load_recipe(name, TwoStreamRecipe, list(overrides or []) + extra)
    return recipe


def _context(invocation: Invocation, resume: bool = False) -> RunContext:
    """Like ``invocation.context()`` but the run folder is created only when the method first writes
    (so bad inputs leave nothing behind)."""
    out = invocation.out or default_run_dir(invocation.verb)
    return RunContext(
        device=invocation.device,
        seed=invocation.seed,
        out=Path(out),
        reporter=invocation.reporter,
        resume=resume,
        log=invocation.log,
    )


def _pct(x):
    return "-" if x is None else f"{100 * x:.1f}"


@app.command("data", help="Render action clips from DeepMimic motion capture into class sub-folders.")
@verb_command("search-twostream data")
def data_cmd(
    overrides: Overrides = None,
    recipe: RecipeOpt = "search-twostream/default",
    root: Annotated[Path | None, typer.Option("--root", help="Where to write (default: data.root).")] = None,
    invocation: Invocation = None,
):
    cfg = _recipe(recipe, overrides, root)
    result = pipeline.run_data(cfg, _context(invocation))
    invocation.emit(
        result.to_dict(),
        lambda c: c.print(
            f"{sum(result.counts.values()) * len(result.classes)} clips ({len(result.classes)} classes: "
            f"{', '.join(result.classes)}) in {result.root} ({result.seconds} s); preview {result.preview}"
        ),
    )


@app.command(
    "search",
    help="Supernet training + progressive search (streams → fusion → attention) under a MACs budget.",
)
@verb_command("search-twostream search")
def search_cmd(
    overrides: Overrides = None,
    recipe: RecipeOpt = "search-twostream/default",
    data: DataOpt = None,
    budget: Annotated[
        float | None, typer.Option("--budget", help="MACs budget per clip, in millions.")
    ] = None,
    algorithm: Annotated[
        Algorithm | None, typer.Option("--algorithm", help="Search inside each stage.")
    ] = None,
    resume: ResumeOpt = False,
    invocation: Invocation = None,
):
    extra = list(overrides or [])
    if budget is not None:
        extra.append(f"search.budget_mmacs={budget}")
    if algorithm is not None:
        extra.append(f"search.algorithm={algorithm.value}")
    cfg = _recipe(recipe, extra, data)
    result = pipeline.run_search(cfg, _context(invocation, resume))

    def render(console):
        table = Table(
            "method",
            "MMACs",
            "proxy val top-1 (%)",
            "architecture file",
            title=f"searched under {result.budget_macs / 1e6:.2f} MMACs",
        )
        for name, w in result.winners.items():
            table.add_row(name, f"{w['macs'] / 1e6:.2f}", _pct(w["proxy"]), w.get("file", ""))
        for name, c in result.controls.items():
            table.add_row(name, f"{c['macs'] / 1e6:.2f}", _pct(c.get("proxy")), "(control)")
        console.print(table)
        console.print(
            f"{sum(result.evaluations.values())} candidate evaluations on {result.world_size} rank(s), "
            f"{result.seconds} s; Pareto plot {result.files.get('pareto')}"
        )

    invocation.emit(result.to_dict(), render)


@app.command(
    "train", help="Train an architecture (YAML from `search`, or slowfast-mini / x3d-mini) from scratch."
)
@verb_command("search-twostream train")
def train_cmd(
    overrides: Overrides = None,
    recipe: RecipeOpt = "search-twostream/default",
    arch: Annotated[
        str, typer.Option("--arch", help="architecture.yaml, or slowfast-mini / x3d-mini.")
    ] = "slowfast-mini",
    data: DataOpt = None,
    invocation: Invocation = None,
):
    cfg = _recipe(recipe, overrides, data)
    result = pipeline.run_train(cfg, _context(invocation), arch)
    invocation.emit(
        result.to_dict(),
        lambda c: c.print(
            f"{arch}: test top-1 {100 * result.test_acc:.1f} % (val {100 * result.val_acc:.1f} %), "
            f"{result.macs / 1e6:.2f} MMACs, {result.params} parameters, {result.seconds} s -> {result.checkpoint}"
        ),
    )


@app.command(
    "eval", help="Test a trained model, or retrain a search run's winners and the controls and compare."
)
@verb_command("search-twostream eval")
def eval_cmd(
    overrides: Overrides = None,
    recipe: RecipeOpt = "search-twostream/default",
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", help="model.safetensors from `train`.")
    ] = None,
    search_run: Annotated[Path | None, typer.Option("--search-run", help="Run folder of `search`.")] = None,
    data: DataOpt = None,
    invocation: Invocation = None,
):
    cfg = _recipe(recipe, overrides, data)
    result = pipeline.run_eval(cfg, _context(invocation), checkpoint, search_run)

    def render(console):
        table = Table("model", "MMACs", "proxy (%)", "test top-1 (%) per seed", "mean")
        for r in result.rows:
            accs = r["test_acc"] if isinstance(r["test_acc"], list) else [r["test_acc"]]
            table.add_row(
                r["name"],
                f"{(r['macs'] or 0) / 1e6:.2f}",
                _pct(r.get("proxy")),
                " ".join(_pct(a) for a in accs),
                _pct(r.get("mean", accs[0])),
            )
        console.print(table)
        if result.kendall:
            console.print(
                f"Kendall tau (proxy vs stand-alone, {len(result.kendall['proxy'])} archs): {result.kendall['tau']:.2f}"
            )
        if result.verdict:
            console.print(f"verdict: {result.verdict}")

    invocation.emit(result.to_dict(), render)


def register(root):
    root.add_typer(
        app, name="search-twostream", help="Two-stream video architecture search: data, search, train, eval."
    )


def _demo(invocation: Invocation, folder: Path) -> str:
    """Tiny clips, a tiny progressive search with its controls, the Pareto plot (≲ 60 s on 2 cores)."""
    from vita_cli.core.recipe import load_recipe as load

    cfg, _ = load("search-twostream/tiny", TwoStreamRecipe, [f"data.root={folder / 'clips'}"])
    ctx = RunContext(
        device=invocation.device, seed=0, out=folder, reporter=invocation.reporter, log=invocation.log
    )
    if not (folder / "clips" / "split.json").is_file():
        pipeline.run_data(cfg, ctx)
    result = pipeline.run_search(cfg, ctx)
    rows = "\n".join(
        f"| {name} | {w['macs'] / 1e6:.2f} | {_pct(w['proxy'])} |" for name, w in result.winners.items()
    )
    sf = result.controls["slowfast-mini"]
    return (
        f"{result.data['train']} training clips of {len(result.data['classes'])} motion-capture actions rendered with "
        f"pybullet; a tiny supernet searched progressively (streams → fusion → attention) under "
        f"{result.budget_macs / 1e6:.2f} MMACs, with joint and random search as controls "
        f"({sum(result.evaluations.values())} candidate evaluations).\n\n"
        f"![accuracy vs MACs](search_twostream/pareto.png)\n\n| method | MMACs | proxy val top-1 (%) |\n|---|---|---|\n"
        f"{rows}\n| SlowFast-mini | {sf['macs'] / 1e6:.2f} | {_pct(sf.get('proxy'))} |\n"
    )


DEMO = ("Two-stream video architecture search", _demo)
