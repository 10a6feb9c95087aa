"""``vita tts-lifelong data|train|eval|speak|compare``: lifelong multilingual TTS with replay.

vita tts-lifelong data --recipe tts-lifelong/default --out runs/tts-corpus/default
vita tts-lifelong train --recipe tts-lifelong/default --method dual --out runs/tts/dual
vita tts-lifelong eval runs/tts/dual --finetune runs/tts/finetune
vita tts-lifelong speak runs/tts/dual --lang de "guten morgen." --wav hallo.wav
vita tts-lifelong compare runs/tts/*
"""

# no `from __future__ import annotations`: verb_command hands the real annotation objects to Typer
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vita_cli.cli.common import Invocation, Overrides, verb_command
from vita_cli.core.errors import UserError
from vita_cli.core.recipe import load_recipe
from vita_cli.methods.tts_lifelong.config import TTSLifelongRecipe
from vita_cli.schemas import load_any_recipe

app = typer.Typer(
    help="Lifelong multilingual TTS: one Tacotron learns languages one after another.", no_args_is_help=True
)

RecipeOpt = Annotated[
    str, typer.Option("--recipe", "-r", help="Recipe name (tts-lifelong/NAME) or YAML path.")
]
RunArg = Annotated[Path, typer.Argument(help="A train run folder (its --out).")]


class Method(str, Enum):
    dual = "dual"
    random = "random"
    weighted = "weighted"
    finetune = "finetune"
    joint = "joint"
    ewc = "ewc"
    gem = "gem"


def _run_recipe(run: Path, overrides):
    path = Path(run) / "recipe.yaml"
    if not Path(run).is_dir():
        raise UserError(f"run folder not found: {run}", "pass the --out folder of `vita tts-lifelong train`")
    if not path.is_file():
        raise UserError(f"{run} has no recipe.yaml", "pass the --out folder of `vita tts-lifelong train`")
    return path


def _matrix_table(result: dict) -> Table:
    langs = result["languages"]
    table = Table(
        "after task", *langs, title=f"MCD ({result['scale']}) of {result['method']}: R[task][language]"
    )
    for i, row in enumerate(result["R"]):
        table.add_row(f"{i} ({langs[i]})", *("-" if v is None else f"{v:.3f}" for v in row))
    return table


@app.command("data", help="Build the multilingual espeak-ng corpus (CSS10/LJSpeech layout) into --out.")
@verb_command("tts-lifelong data")
def data_cmd(
    overrides: Overrides = None, recipe: RecipeOpt = "tts-lifelong/default", invocation: Invocation = None
):
    from vita_cli.methods.tts_lifelong import pipeline

    cfg, _ = load_any_recipe(recipe, overrides)
    if invocation.out is not None and (invocation.out / "metadata.csv").exists():
        raise UserError(f"{invocation.out} already holds a single-language corpus", "choose an empty folder")
    ctx = invocation.context() if invocation.out is not None else _no_folder_context(invocation)
    result = pipeline.run_data(cfg, ctx).to_dict()

    def render(console):
        table = Table("language", "train", "val", "test", title=f"corpus {result['root']}")
        for lang, c in result["counts"].items():
            table.add_row(lang, str(c["train"]), str(c["val"]), str(c["test"]))
        console.print(table)
        console.print(f"{result['hours_of_audio'] * 60:.1f} min of audio, {result['seconds']} s")

    invocation.emit(result, render)


def _no_folder_context(invocation: Invocation):
    from vita_cli.core.context import RunContext

    return RunContext(
        device=invocation.device,
        seed=invocation.seed,
        out=None,
        reporter=invocation.reporter,
        log=invocation.log,
    )


@app.command("train", help="Sequential training over the languages with one method (resumable).")
@verb_command("tts-lifelong train")
def train_cmd(
    overrides: Overrides = None,
    recipe: RecipeOpt = "tts-lifelong/default",
    method: Annotated[Method | None, typer.Option("--method", "-m", help="Overrides train.method.")] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the run in --out from its last epoch.")
    ] = False,
    invocation: Invocation = None,
):
    import torch

    from vita_cli.methods.tts_lifelong import pipeline

    if invocation.device.type == "cpu":
        torch.set_num_threads(min(2, torch.get_num_threads()))
    over = list(overrides or []) + ([f"train.method={method.value}"] if method else [])
    if resume and (invocation.out is None or not (invocation.out / "resume.safetensors").is_file()):
        raise UserError("--resume needs --out pointing at an interrupted run (with resume.safetensors)")
    cfg, _ = load_any_recipe(recipe, over)
    if cfg.train.init and not Path(cfg.train.init).is_file():
        raise UserError(f"train.init checkpoint not found: {cfg.train.init}")
    ctx_probe = _no_folder_context(invocation)
    _, data = pipeline.prepare(cfg, ctx_probe)  # corpus and features checked before the run folder exists
    cfg = invocation.recipe(recipe, over)
    result = pipeline.run_train(cfg, invocation.context(resume=resume), data).to_dict()
    result.pop("log")

    def render(console):
        table = Table("after task", *result["languages"], title=f"replay buffer ({result['method']})")
        for lang, counts in result["buffer"].items():
            table.add_row(lang, *map(str, counts))
        console.print(table)
        console.print(
            f"{result['steps']} steps in {result['seconds']} s, last loss {result['final_loss']:.4f}"
        )
        console.print(f"checkpoints: {result['run_dir']}/task*.safetensors")

    invocation.emit(result, render)


@app.command("eval", help="MCD-DTW after every task on every seen language: matrix, forgetting, plots.")
@verb_command("tts-lifelong eval")
def eval_cmd(
    run: RunArg,
    overrides: Overrides = None,
    finetune: Annotated[
        Path | None, typer.Option("--finetune", help="A fine-tune run (evaluated): reduction vs fine-tune.")
    ] = None,
    invocation: Invocation = None,
):
    result = _evaluate(invocation, run, overrides, finetune)

    def render(console):
        console.print(_matrix_table(result))
        console.print(f"mean final MCD {result['mean_final']:.3f}  forgetting {result['forgetting']}")
        if result["reduction_vs_finetune"] is not None:
            console.print(f"reduction vs fine-tune {100 * result['reduction_vs_finetune']:.1f} %")
        console.print(f"plots: {', '.join(result['plots'])}")

    invocation.emit(result, render)


def _evaluate(invocation: Invocation, run: Path, overrides, finetune: Path | None) -> dict:
    import torch

    from vita_cli.methods.tts_lifelong import pipeline
    from vita_cli.methods.tts_lifelong.checkpoints import task_checkpoints

    if invocation.device.type == "cpu":
        torch.set_num_threads(min(2, torch.get_num_threads()))
    recipe_path = _run_recipe(run, overrides)
    task_checkpoints(run)
    if finetune is not None:
        pipeline._read_eval(finetune)
    cfg, _ = load_recipe(recipe_path, TTSLifelongRecipe, overrides)
    _, data = pipeline.prepare(cfg, _no_folder_context(invocation))
    if invocation.out is None:
        invocation.out = Path(run) / "eval"
    cfg = invocation.recipe(str(recipe_path), overrides, schema=TTSLifelongRecipe)
    return pipeline.run_eval(cfg, invocation.context(), Path(run), finetune, data).to_dict()


@app.command("speak", help="Say TEXT in a language with a trained model (Griffin-Lim vocoder), write a wav.")
@verb_command("tts-lifelong speak")
def speak_cmd(
    run: Annotated[Path, typer.Argument(help="A train run folder or a task*.safetensors checkpoint.")],
    text: Annotated[
        str, typer.Argument(help="What to say (Chinese: tone-numbered pinyin; Japanese: romaji).")
    ],
    lang: Annotated[str, typer.Option("--lang", "-l", help="Language code, e.g. de, nl, zh, ja.")] = "de",
    output: Annotated[Path, typer.Option("--wav", help="The wav file to write.")] = Path("speech.wav"),
    task: Annotated[
        int | None, typer.Option("--task", help="Use the model after this task (default: the last).")
    ] = None,
    iters: Annotated[int, typer.Option("--iters", help="Griffin-Lim iterations.", min=1)] = 32,
    invocation: Invocation = None,
):
    from vita_cli.methods.tts_lifelong import pipeline

    checkpoint = pipeline.resolve_checkpoint(run, task)
    pipeline.check_speak_inputs(checkpoint, lang, text)
    result = pipeline.run_speak(
        checkpoint, lang, text, output, invocation.device, invocation.seed, iters
    ).to_dict()
    invocation.emit(
        result,
        lambda console: console.print(
            f"wrote {result['wav']}: {result['seconds_audio']:.2f} s of audio in {result['seconds_compute']:.2f} s "
            f"(real-time factor {result['real_time_factor']:.3f})"
        ),
    )


@app.command("compare", help="Evaluated runs side by side (runs not yet evaluated are evaluated first).")
@verb_command("tts-lifelong compare")
def compare_cmd(
    runs: Annotated[list[Path], typer.Argument(help="Train run folders.")],
    invocation: Invocation = None,
):
    import json

    from vita_cli.methods.tts_lifelong import pipeline

    for run in runs:
        _run_recipe(run, None)
    evals = []
    for run in runs:
        path = Path(run) / "eval" / "mcd.json"
        if path.is_file():
            evals.append(json.loads(path.read_text()))
        else:
            invocation.log(f"evaluating {run}")
            sub = Invocation(
                verb="tts-lifelong eval",
                device_spec=invocation.device_spec,
                seed=invocation.seed,
                out=Path(run) / "eval",
                quiet=invocation.quiet,
            )
            evals.append(_evaluate(sub, run, None, None))
    result = pipeline.run_compare(evals, invocation.context()).to_dict()

    def render(console):
        langs = result["languages"]
        table = Table(
            "method", "runs", *langs, "mean", "forgetting", "vs fine-tune", title="final MCD (mean over runs)"
        )
        for name in result["ordering"]:
            m = result["methods"][name]
            red = m.get("reduction_vs_finetune")
            table.add_row(
                name,
                str(m["runs"]),
                *(f"{m['final'].get(x, float('nan')):.3f}" for x in langs),
                f"{m['mean_final']:.3f}",
                "-" if m["forgetting"] is None else f"{m['forgetting']:+.3f}",
                "-" if red is None else f"{100 * red:.1f} %",
            )
        console.print(table)
        console.print(f"plots: {', '.join(result['plots'])}")

    invocation.emit(result, render)


def register(root):
    root.add_typer(
        app, name="tts-lifelong", help="Lifelong multilingual TTS: data, train, eval, speak, compare."
    )


def _demo(invocation: Invocation, folder: Path) -> str:
    """Tiny corpus, German then Dutch with the dual sampler, MCD matrix (≲ 60 s on 2 cores)."""
    import torch

    from vita_cli.core.context import RunContext
    from vita_cli.methods.tts_lifelong import pipeline

    torch.set_num_threads(min(2, torch.get_num_threads()))
    cfg, _ = load_any_recipe(
        "tts-lifelong/tiny",
        [
            "data.languages=[de, nl]",
            f"data.root={folder / 'corpus'}",
            "train.first_epochs=6",
            "train.epochs=4",
        ],
    )
    ctx = RunContext(
        device=invocation.device, seed=invocation.seed, out=folder / "run", reporter=invocation.reporter
    )
    _, data = pipeline.prepare(cfg, ctx)
    pipeline.run_train(cfg, ctx, data)
    ev = pipeline.run_eval(cfg, ctx.child("eval"), folder / "run", None, data)
    rows = "\n".join(
        f"| after {ev.languages[i]} | " + " | ".join("-" if v is None else f"{v:.2f}" for v in row) + " |"
        for i, row in enumerate(ev.R)
    )
    return (
        "A tiny espeak-ng corpus (German, then Dutch; one voice per language), a compact Tacotron 2 trained "
        "on German and then on Dutch + a 6-utterance replay buffer with the dual sampler; MCD-DTW of "
        "free-running synthesis on each seen language's test sentences (smoke scale: the model is barely "
        "trained).\n\n![MCD matrix](tts_lifelong/run/eval/mcd_matrix.png)\n\n"
        f"| | {' | '.join(ev.languages)} |\n|---|{'---|' * len(ev.languages)}\n{rows}\n"
    )


DEMO = ("Lifelong multilingual TTS: German then Dutch with the dual sampler", _demo)
