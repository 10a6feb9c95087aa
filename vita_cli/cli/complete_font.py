"""``vita complete-font prepare|train|complete|edit|interpolate``: font completion through a glyph graph.

vita complete-font prepare /usr/share/fonts                 # rasters + outline graphs, family split
vita complete-font train -r complete-font/tiny              # the three stages + the img2img baseline
vita complete-font complete --model RUN --font NEW.ttf --refs A,B,C   # sheet PNG, SVG graphs, .ttf
vita complete-font complete --model RUN --images a.png,b.png --refs A,B
vita complete-font edit --model RUN --svg RUN2/graphs/H.svg # re-render an edited graph, propagate
vita complete-font interpolate FONT_A FONT_B --model RUN
"""

# no `from __future__ import annotations`: verb_command hands the real annotation objects to Typer
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vita_cli.cli.common import Invocation, Overrides, verb_command

app = typer.Typer(
    help="Font completion by cycling image → graph → image (and the image-to-image baseline).",
    no_args_is_help=True,
)

RecipeOpt = Annotated[
    str, typer.Option("--recipe", "-r", help="Recipe name (complete-font/NAME) or YAML path.")
]
ModelOpt = Annotated[
    Path, typer.Option("--model", help="Run folder of `complete-font train`, or a .safetensors file.")
]
CacheOpt = Annotated[
    Path, typer.Option("--cache", help="Folder of per-font arrays (keyed by the font file's hash).")
]
DEFAULT_CACHE = Path("runs/cache/complete-font")


class Objective(str, Enum):
    faithful = "faithful"
    sum = "sum"


class Arm(str, Enum):
    graph = "graph"
    img2img = "img2img"


def _metric_table(summary: dict, title: str) -> Table:
    table = Table("arm", "k", "L1", "MSE", "PSNR", "SSIM", "IoU", "graph err (px²)", title=title)
    for arm, per_k in summary.items():
        for k, m in per_k.items():
            table.add_row(
                arm,
                str(k),
                f"{m['l1']:.4f}",
                f"{m['mse']:.4f}",
                f"{m['psnr']:.2f}",
                f"{m['ssim']:.4f}",
                f"{m['iou']:.4f}",
                f"{m['graph_error']:.1f}" if "graph_error" in m else "-",
            )
    return table


@app.command(
    "prepare", help="Read fonts (TTF/OTF/TTC): rasters and 150-point outline graphs, split by family."
)
@verb_command("complete-font prepare")
def prepare_cmd(
    font_dirs: Annotated[list[Path], typer.Argument(help="Folders (searched recursively) or font files.")],
    recipe: RecipeOpt = "complete-font/default",
    invocation: Invocation = None,
):
    from vita_cli.methods.font_graph import pipeline

    sources = [str(p) for p in font_dirs]
    pipeline.check_sources(sources)
    cfg = invocation.recipe(recipe, [])
    result = pipeline.run_prepare(cfg, invocation.context(), sources)

    def render(console):
        s = result.summary
        console.print(
            f"{s['fonts']} fonts ({s['train_fonts']} train / {s['test_fonts']} test, {s['families']} family groups), "
            f"{len(result.skipped)} skipped; dataset in {result.dataset}"
        )

    invocation.emit(result.to_dict(), render)


@app.command(
    "train",
    help="Train the graph cycle (three stages) and the img2img baseline; evaluate on unseen families.",
)
@verb_command("complete-font train")
def train_cmd(
    overrides: Overrides = None,
    recipe: RecipeOpt = "complete-font/default",
    data: Annotated[
        Path | None, typer.Option("--data", help="Run folder of `complete-font prepare`.")
    ] = None,
    objective: Annotated[
        Objective | None,
        typer.Option("--objective", help="Joint stage: faithful (pixels only) or sum (all losses)."),
    ] = None,
    invocation: Invocation = None,
):
    from vita_cli.core.errors import UserError
    from vita_cli.methods.font_graph import pipeline

    if data is not None and not (data / "dataset.json").is_file():
        raise UserError(f"no dataset.json in {data}", "give the run folder of `vita complete-font prepare`")
    extra = [f"study.objectives=[{objective.value}]", f"study.primary={objective.value}"] if objective else []
    cfg = invocation.recipe(recipe, list(overrides or []) + extra)
    result = pipeline.run_train(cfg, invocation.context(), data)

    def render(console):
        console.print(_metric_table(result.summary, "few-shot completion on unseen font families"))
        for c in result.comparison:
            console.print(
                f"{c['arm']} − img2img, {c['metric']} at k={c['k']}: {c['mean_diff']:+.4f} ± {c['sd_diff']:.4f} "
                f"over {c['fonts']} fonts, wins {c['wins']}, Wilcoxon p={c['p_wilcoxon']:.3g}"
            )
        console.print(result.verdict)
        console.print(f"run folder: {result.run_dir}")

    invocation.emit(result.to_dict(), render)


def _list(text: str | None) -> list[Path] | None:
    return [Path(s.strip()) for s in text.split(",") if s.strip()] if text else None


@app.command(
    "complete", help="Draw all 26 capitals from k reference glyphs: sheet PNG, SVG graphs, a .ttf font."
)
@verb_command("complete-font complete")
def complete_cmd(
    model: ModelOpt,
    font: Annotated[
        Path | None, typer.Option("--font", help="Font file holding the reference glyphs.")
    ] = None,
    refs: Annotated[str | None, typer.Option("--refs", help="Reference letters, e.g. A,B,C.")] = None,
    images: Annotated[
        str | None, typer.Option("--images", help="Glyph pictures a.png,b.png (letters in --refs order).")
    ] = None,
    arm: Annotated[Arm, typer.Option("--arm", help="graph (vita) or img2img (baseline).")] = Arm.graph,
    cache: CacheOpt = DEFAULT_CACHE,
    invocation: Invocation = None,
):
    from vita_cli.methods.font_graph import pipeline

    inputs = pipeline.check_complete(model, arm.value, invocation.device, font, refs, _list(images), cache)
    result = pipeline.run_complete(inputs, invocation.context())

    def render(console):
        console.print(f"completed A-Z from {result.refs} ({result.arm}) in {result.seconds * 1000:.0f} ms")
        console.print(f"sheet: {result.sheet}")
        if result.svgs:
            console.print(f"graphs: {Path(result.svgs[0]).parent}/*.svg   font: {result.font_file}")
        if result.metrics:
            console.print(
                "against the font's own glyphs: " + ", ".join(f"{k} {v}" for k, v in result.metrics.items())
            )

    invocation.emit(result.to_dict(), render)


@app.command("edit", help="Re-render an edited SVG glyph graph, and propagate the edit to A-Z as a style.")
@verb_command("complete-font edit")
def edit_cmd(
    model: ModelOpt,
    svg: Annotated[Path, typer.Option("--svg", help="A graph SVG written by `complete`, edited.")],
    letter: Annotated[
        str | None, typer.Option("--letter", help="The glyph's letter (default: from the SVG).")
    ] = None,
    invocation: Invocation = None,
):
    from vita_cli.methods.font_graph import pipeline

    inputs = pipeline.check_edit(model, svg, letter, invocation.device)
    result = pipeline.run_edit(inputs, invocation.context())

    def render(console):
        line = f"{result.letter}: IoU with the edited outline {result.iou_edited:.3f}"
        if result.iou_original is not None:
            line += f", with the original {result.iou_original:.3f}"
        console.print(line)
        console.print(f"glyph: {result.glyph}   propagated sheet: {result.sheet}")

    invocation.emit(result.to_dict(), render)


@app.command("interpolate", help="Glyph sheets along the line between two fonts' style codes.")
@verb_command("complete-font interpolate")
def interpolate_cmd(
    font_a: Annotated[Path, typer.Argument(help="First font file.")],
    font_b: Annotated[Path, typer.Argument(help="Second font file.")],
    model: ModelOpt,
    refs: Annotated[
        str, typer.Option("--refs", help="Letters whose codes are averaged per font.")
    ] = "A,E,H,O,R",
    steps: Annotated[int, typer.Option("--steps", min=2, max=20, help="Rows from A to B.")] = 5,
    arm: Annotated[Arm, typer.Option("--arm")] = Arm.graph,
    cache: CacheOpt = DEFAULT_CACHE,
    invocation: Invocation = None,
):
    from vita_cli.methods.font_graph import pipeline

    inputs = pipeline.check_interpolate(model, font_a, font_b, refs, arm.value, invocation.device, cache)
    result = pipeline.run_interpolate(inputs, invocation.context(), steps)
    invocation.emit(
        result.to_dict(),
        lambda c: c.print(
            f"sheet: {result.sheet}; mean ink per step {result.mean_ink} (monotone: {result.monotone})"
        ),
    )


def register(root):
    root.add_typer(app, name="complete-font", help="Font completion through an editable glyph graph.")


def _demo(invocation: Invocation, folder: Path) -> str:
    """Train the tiny recipe on a few fonts, then complete one unseen font from 3 references (≲ 60 s)."""
    from vita_cli.core.context import RunContext
    from vita_cli.methods.font_graph import pipeline
    from vita_cli.schemas import load_any_recipe

    cfg, _ = load_any_recipe("complete-font/tiny")

    def ctx(name):
        return RunContext(
            device=invocation.device,
            seed=invocation.seed,
            out=folder / name,
            reporter=invocation.reporter,
            log=invocation.log,
        )

    result = pipeline.run_train(cfg, ctx("train"))
    ds = pipeline.load_dataset(Path(result.run_dir))
    font = ds.fonts[ds.indices("test")[0]]
    inputs = pipeline.check_complete(
        Path(result.run_dir), "graph", invocation.device, Path(font.path), "A,H,O", None, cfg.data.cache_dir
    )
    done = pipeline.run_complete(inputs, ctx("complete"))
    sheet = Path(done.sheet).relative_to(folder.parent)
    rows = "\n".join(
        f"| {arm} | {m[1]['ssim']:.3f} | {m[1]['iou']:.3f} |"
        for arm, m in ((a, {int(k): v for k, v in per.items()}) for a, per in result.summary.items())
    )
    return (
        f"Tiny recipe ({result.data['train_fonts']} training fonts, 192 samples per stage: a smoke run, not a "
        "trained model), then "
        f"`complete` of the unseen font {font.name} from A, H, O. Top row: the font; bottom: the completion.\n\n"
        f"![completed sheet]({sheet})\n\n| arm | SSIM k=1 | IoU k=1 |\n|---|---|---|\n{rows}\n"
    )


DEMO = ("Font completion through a glyph graph (tiny recipe)", _demo)
