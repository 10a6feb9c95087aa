"""The verb actions of ``vita tts-lifelong``: one ``run_*(recipe, ctx) -> Result`` each.

data     build (or read and check) the espeak-ng corpus
train    sequential training over the languages with one method; resumable at any epoch
eval     MCD-DTW matrix R[i][j] (language j after task i), forgetting, samples, plots
speak    text -> wav with a task checkpoint and Griffin-Lim
compare  evaluated runs side by side
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from vita_cli.core.context import RunContext
from vita_cli.core.errors import UserError
from vita_cli.methods.tts_lifelong import plots
from vita_cli.methods.tts_lifelong.audio import MelFeatures, write_wav
from vita_cli.methods.tts_lifelong.checkpoints import (
    load_resume,
    load_task,
    save_resume,
    save_task,
    task_checkpoints,
)
from vita_cli.methods.tts_lifelong.config import TTSLifelongRecipe
from vita_cli.methods.tts_lifelong.continual import (
    StepContext,
    dual_step,
    ewc_penalty,
    fisher_diagonal,
    gem_step,
    plain_step,
)
from vita_cli.methods.tts_lifelong.corpus import Corpus, build_corpus, ensure_corpus
from vita_cli.methods.tts_lifelong.dataset import SpeechData, collate, featurise
from vita_cli.methods.tts_lifelong.mcd import mcd_dtw
from vita_cli.methods.tts_lifelong.model import Tacotron
from vita_cli.methods.tts_lifelong.samplers import (
    ReplayBuffer,
    dual_batches,
    random_batches,
    weighted_batches,
)
from vita_cli.methods.tts_lifelong.text import SYMBOLS, encode, unknown_characters

REPLAY = ("random", "weighted", "dual")


# ---------------------------------------------------------------- data


@dataclass
class DataResult:
    root: str
    counts: dict
    seconds: float
    hours_of_audio: float
    built: bool

    def to_dict(self) -> dict:
        return asdict(self)


def run_data(recipe: TTSLifelongRecipe, ctx: RunContext) -> DataResult:
    """Synthesise the corpus into ``ctx.out`` (or check the one at ``data.root`` when ctx.out is None)."""
    start = time.perf_counter()
    if ctx.out is not None:
        root = Path(ctx.out)
        total = sum(
            recipe.data.n_train[lang] + recipe.data.n_val + recipe.data.n_test
            for lang in recipe.data.languages
        )
        with ctx.reporter.task("synthesising corpus", total) as task:
            corpus = build_corpus(recipe.data, root, task)
        built = True
    else:
        corpus, built = ensure_corpus(recipe.data, ctx.reporter.task)
    audio = sum(
        u.wav.stat().st_size - 44 for parts in corpus.splits.values() for us in parts.values() for u in us
    ) / (2 * recipe.data.sample_rate)
    return DataResult(
        str(corpus.root),
        corpus.counts(),
        round(time.perf_counter() - start, 1),
        round(audio / 3600, 4),
        built,
    )


def prepare(recipe: TTSLifelongRecipe, ctx: RunContext) -> tuple[Corpus, SpeechData]:
    """Corpus (built when missing and allowed) and its features; every input checked."""
    corpus, _ = ensure_corpus(recipe.data, ctx.reporter.task)
    total = sum(len(us) for parts in corpus.splits.values() for us in parts.values())
    with ctx.reporter.task("mel features", total) as task:
        data = featurise(corpus, recipe, task)
    return corpus, data


# ---------------------------------------------------------------- train


@dataclass
class TrainResult:
    run_dir: str
    method: str
    languages: list[str]
    checkpoints: list[str]
    buffer: dict[str, list[int]]  # buffer counts per language after each task
    final_loss: float
    steps: int
    seconds: float
    resumed_from: dict | None = None
    log: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _generator(seed: int, task: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + task * 1009 + epoch)


def _pool(method: str, task: int, data: SpeechData, buffer: ReplayBuffer):
    langs = data.languages
    new = [(langs[task], i) for i in range(len(data.split(langs[task], "train")))]
    if task == 0:
        return new
    if method == "joint":
        return [(lang, i) for lang in langs[: task + 1] for i in range(len(data.split(lang, "train")))]
    if method in REPLAY:
        return new + buffer.keys
    return new


def _epoch_batches(method, pool, cfg, gen, data: SpeechData, task: int):
    lengths = lambda key: data.split(key[0], "train")[key[1]].frames  # noqa: E731
    if task > 0 and method == "dual":
        return dual_batches(pool, cfg.batch_size, gen, lengths, cfg.bucket)
    if task > 0 and method == "weighted":
        return weighted_batches(pool, cfg.batch_size, gen, lengths, cfg.bucket)
    return random_batches(pool, cfg.batch_size, gen, lengths, cfg.bucket)


def _make_optimizer(model, cfg):
    return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


def _set_lr(optimizer, cfg, epoch: int, epochs: int) -> float:
    lr = cfg.lr * (cfg.lr_decay if epoch >= math.ceil(cfg.lr_decay_at * epochs) else 1.0)
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr


def build_model(recipe: TTSLifelongRecipe) -> Tacotron:
    return Tacotron(recipe.model, len(SYMBOLS), len(recipe.data.languages), recipe.features.n_mels)


def run_train(recipe: TTSLifelongRecipe, ctx: RunContext, data: SpeechData | None = None) -> TrainResult:
    """Train task 0 (the first language; or load ``train.init``), then one task per later language."""
    start_time = time.perf_counter()
    cfg, method = recipe.train, recipe.train.method
    if data is None:
        _, data = prepare(recipe, ctx)
    langs = data.languages
    device = ctx.device
    model = build_model(recipe).to(device)
    optimizer = _make_optimizer(model, cfg)
    scaler = torch.amp.GradScaler("cuda", enabled=ctx.amp)
    buffer = ReplayBuffer(cfg.buffer_size, cfg.buffer_policy)
    ewc: dict[str, dict[str, torch.Tensor]] = {}
    task, epoch, ga_step, log, buffer_log = 0, 0, 0, [], {}
    resume_path = ctx.run_dir / "resume.safetensors"
    resumed = None
    if ctx.resume and resume_path.is_file():
        meta, ewc = load_resume(resume_path, model, optimizer)
        task, epoch, ga_step = meta["task"], meta["epoch"], meta["ga_step"]
        buffer = ReplayBuffer(cfg.buffer_size, cfg.buffer_policy, [tuple(k) for k in meta["buffer"]])
        log, buffer_log = meta.get("log", []), meta.get("buffer_log", {})
        ewc = {k: {n: t.to(device) for n, t in v.items()} for k, v in ewc.items()}
        resumed = {"task": task, "epoch": epoch}
        ctx.log(f"resuming at task {task} ({langs[min(task, len(langs) - 1)]}), epoch {epoch}")
    elif cfg.init and task == 0:
        init_model, _, meta = load_task(Path(cfg.init), device)
        if init_model.spec() != model.spec():
            raise UserError(f"train.init {cfg.init} was trained with other model sizes or languages")
        model.load_state_dict(init_model.state_dict())
        save_task(ctx.run_dir / "task0.safetensors", model, data.normaliser, recipe, 0, langs)
        task, epoch = 1, 0
        buffer.add_language(langs[0], len(data.split(langs[0], "train")), _generator(ctx.seed, 0, -1))
        buffer_log = {langs[0]: [buffer.counts().get(lang, 0) for lang in langs]}
        if method == "ewc":
            ewc = _fisher(model, data, recipe, 0, ctx)
    steps = 0
    last_loss = float("nan")

    def checkpoint(next_task, next_epoch):
        meta = {
            "task": next_task,
            "epoch": next_epoch,
            "ga_step": ga_step,
            "buffer": buffer.keys,
            "log": log,
            "buffer_log": buffer_log,
            "method": method,
        }
        save_resume(resume_path, model, optimizer, meta, ewc)

    while task < len(langs):
        epochs = cfg.first_epochs if task == 0 else cfg.epochs
        if epoch == 0:
            optimizer = _make_optimizer(model, cfg)  # a fresh optimiser per task (as the official code)
            ga_step = 0  # the guided-attention criterion restarts per task
        penalty = ewc_penalty(ewc["fisher"], ewc["star"], cfg.ewc_lambda) if method == "ewc" and ewc else None
        with ctx.reporter.task(f"task {task} ({langs[task]}, {method})", max(epochs - epoch, 0)) as bar:
            while epoch < epochs:
                model.train()
                lr = _set_lr(optimizer, cfg, epoch, epochs)
                gen = _generator(ctx.seed, task, epoch)
                pool = _pool(method, task, data, buffer)
                batches = _epoch_batches(method, pool, cfg, gen, data, task)
                losses = []
                for b in batches:
                    sigma = (
                        cfg.guided_sigma * cfg.guided_growth**ga_step if ga_step < cfg.guided_steps else None
                    )
                    sc = StepContext(cfg, sigma, device, ctx.amp)
                    if task > 0 and method == "dual":
                        rrs, cbs = (_collate(data, keys, model, device) for keys in b)
                        out = dual_step(model, optimizer, scaler, rrs, cbs, sc)
                    elif task > 0 and method == "gem":
                        out = gem_step(
                            model,
                            optimizer,
                            _collate(data, b, model, device),
                            _memory_batches(data, buffer, model, device),
                            sc,
                        )
                    else:
                        out = plain_step(
                            model, optimizer, scaler, _collate(data, b, model, device), sc, penalty
                        )
                    losses.append(out["loss"])
                    ga_step += 1
                    steps += 1
                last_loss = float(np.mean(losses)) if losses else float("nan")
                record = {
                    "task": task,
                    "lang": langs[task],
                    "epoch": epoch + 1,
                    "loss": round(last_loss, 5),
                    "lr": lr,
                    "batches": len(batches),
                }
                log.append(record)
                epoch += 1
                bar.advance(1, loss=f"{last_loss:.4f}")
                if epoch < epochs:
                    checkpoint(task, epoch)
        save_task(ctx.run_dir / f"task{task}.safetensors", model, data.normaliser, recipe, task, langs)
        if method == "ewc":
            ewc = _fisher(model, data, recipe, task, ctx, ewc if cfg.ewc_accumulate else None)
        buffer.add_language(
            langs[task], len(data.split(langs[task], "train")), _generator(ctx.seed, task, -1)
        )
        buffer_log[langs[task]] = [buffer.counts().get(lang, 0) for lang in langs]
        task, epoch = task + 1, 0
        checkpoint(task, 0)
    ctx.run_dir.write_json("train_log.json", log)
    return TrainResult(
        str(ctx.run_dir.path),
        method,
        langs,
        [str(p) for p in task_checkpoints(ctx.run_dir.path)],
        buffer_log,
        last_loss,
        steps,
        round(time.perf_counter() - start_time, 1),
        resumed,
        log,
    )


def _collate(data: SpeechData, keys, model, device):
    return collate([data.split(lang, "train")[i] for lang, i in keys], model.cfg.reduction, device)


def _memory_batches(data: SpeechData, buffer: ReplayBuffer, model, device) -> list[dict]:
    """GEM's episodic memory: one batch per earlier language (the buffer's entries of it)."""
    out = []
    for lang in buffer.counts():
        keys = [k for k in buffer.keys if k[0] == lang]
        out.append(_collate(data, keys, model, device))
    return out


def _fisher(model, data: SpeechData, recipe, task: int, ctx: RunContext, previous=None):
    lang = data.languages[task]
    pool = [(lang, i) for i in range(len(data.split(lang, "train")))]
    batches = [
        _collate(data, keys, model, ctx.device)
        for keys in random_batches(pool, recipe.train.batch_size, _generator(ctx.seed, task, -2))
    ]
    sc = StepContext(recipe.train, None, ctx.device, False)
    fisher = fisher_diagonal(model, batches, sc)
    if previous:
        fisher = {n: f + previous["fisher"][n] for n, f in fisher.items()}
    star = {n: p.detach().clone() for n, p in model.named_parameters()}
    return {"fisher": fisher, "star": star}


# ---------------------------------------------------------------- eval


@dataclass
class EvalResult:
    run_dir: str
    method: str
    languages: list[str]
    R: list[list[float | None]]  # R[i][j]: MCD on language j after task i (None: not seen yet)
    final: dict[str, float]
    mean_final: float
    forgetting: float | None
    reduction_vs_finetune: float | None
    scale: str
    samples: list[str]
    plots: list[str]
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def synthesise(model: Tacotron, items, normaliser, device, max_steps: int | None = None):
    """Free-running dB mels (one per item, cut at the stop token) of a list of dataset items."""
    batch = collate(items, model.cfg.reduction, device)
    mels, lengths = model.infer(batch["text"], batch["text_lens"], batch["lang"], max_steps)
    return [normaliser.inverse(mels[k, : int(lengths[k])].float().cpu()) for k in range(len(items))]


def mcd_of(model, items, data: SpeechData, device, scale: str) -> float:
    ref_steps = max(i.frames for i in items) // model.cfg.reduction + 1
    outs = synthesise(model, items, data.normaliser, device, min(model.cfg.max_decoder_steps, 2 * ref_steps))
    values = [
        mcd_dtw(out.numpy(), data.normaliser.inverse(item.mel).numpy(), scale)
        for out, item in zip(outs, items, strict=True)
    ]
    return float(np.mean(values))


def forgetting(R: list[list[float | None]]) -> float | None:
    """Average forgetting F = mean_{j<T} (R[T][j] − R[j][j]) (MCD: positive means worse)."""
    t = len(R) - 1
    if t < 1:
        return None
    return float(np.mean([R[t][j] - R[j][j] for j in range(t)]))


def reduction(mean_method: float, mean_finetune: float) -> float:
    """Relative MCD reduction vs fine-tuning: 1 − mean(method) / mean(finetune)."""
    return 1.0 - mean_method / mean_finetune


def run_eval(
    recipe: TTSLifelongRecipe,
    ctx: RunContext,
    run: Path,
    finetune_run: Path | None = None,
    data: SpeechData | None = None,
) -> EvalResult:
    start = time.perf_counter()
    checkpoints = task_checkpoints(run)
    baseline = _read_eval(finetune_run) if finetune_run is not None else None
    if data is None:
        _, data = prepare(recipe, ctx)
    langs = data.languages
    R: list[list[float | None]] = []
    samples = []
    method = None
    with ctx.reporter.task(
        "MCD per task and language", sum(min(i + 1, len(langs)) for i in range(len(checkpoints)))
    ) as bar:
        for i, path in enumerate(checkpoints):
            model, _, meta = load_task(path, ctx.device)
            method = meta.get("method", method)
            row: list[float | None] = []
            for j, lang in enumerate(langs):
                if j > i:
                    row.append(None)
                    continue
                items = data.split(lang, "test")
                if recipe.eval.utterances:
                    items = items[: recipe.eval.utterances]
                torch.manual_seed(ctx.seed + 7919 * i + j)  # the prenet's inference dropout
                row.append(round(mcd_of(model, items, data, ctx.device, recipe.eval.mcd_scale), 4))
                if recipe.eval.samples:
                    out = synthesise(model, items[:1], data.normaliser, ctx.device)[0]
                    wave = data.features.griffin_lim(out, recipe.eval.griffin_lim_iters)
                    samples.append(
                        str(
                            write_wav(
                                ctx.run_dir / "samples" / f"task{i}-{lang}.wav", wave, recipe.data.sample_rate
                            )
                        )
                    )
                bar.advance(1, mcd=f"{row[-1]:.3f}")
            R.append(row)
    last = R[-1]
    final = {lang: last[j] for j, lang in enumerate(langs) if last[j] is not None}
    mean_final = float(np.mean(list(final.values())))
    red = reduction(mean_final, baseline["mean_final"]) if baseline else None
    heat = plots.heat_map(R, langs, f"MCD after each task ({method})", ctx.run_dir / "mcd_matrix.png")
    bars = plots.final_bars({method or "run": final}, ctx.run_dir / "mcd_final.png")
    result = EvalResult(
        str(run),
        method or "?",
        langs,
        R,
        final,
        round(mean_final, 4),
        forgetting(R),
        None if red is None else round(red, 4),
        recipe.eval.mcd_scale,
        samples,
        [str(heat), str(bars)],
        round(time.perf_counter() - start, 1),
    )
    ctx.run_dir.write_json("mcd.json", result.to_dict())
    return result


def _read_eval(run: Path) -> dict:
    for path in (Path(run) / "eval" / "mcd.json", Path(run) / "mcd.json", Path(run)):
        if path.is_file():
            return json.loads(path.read_text())
    raise UserError(f"no evaluation found in {run}", f"run `vita tts-lifelong eval {run}` first")


# ---------------------------------------------------------------- speak


@dataclass
class SpeakResult:
    wav: str
    lang: str
    text: str
    seconds_audio: float
    seconds_compute: float
    real_time_factor: float
    frames: int
    checkpoint: str

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_checkpoint(run: Path, task: int | None) -> Path:
    run = Path(run)
    if run.is_file():
        return run
    found = task_checkpoints(run)
    if task is None:
        return found[-1]
    if not 0 <= task < len(found):
        raise UserError(f"--task {task} out of range: {run} has tasks 0..{len(found) - 1}")
    return found[task]


def check_speak_inputs(checkpoint: Path, lang: str, text: str) -> list[str]:
    """The checkpoint's languages, after checking ``lang`` and ``text`` (nothing written yet)."""
    from vita_cli.core.checkpoint import read_metadata

    meta = read_metadata(checkpoint)
    langs = meta.get("languages") or []
    if lang not in langs:
        raise UserError(f"unknown language {lang!r}", f"this model speaks {', '.join(langs)}")
    bad = unknown_characters(text)
    if bad:
        raise UserError(
            "text has characters outside the symbol set: " + " ".join(repr(c) for c in bad),
            "Chinese: tone-numbered pinyin (ni3 hao3); Japanese: romaji",
        )
    if not text.strip():
        raise UserError("text is empty")
    return langs


def run_speak(
    checkpoint: Path,
    lang: str,
    text: str,
    out: Path,
    device: torch.device,
    seed: int,
    griffin_lim_iters: int = 32,
) -> SpeakResult:
    langs = check_speak_inputs(checkpoint, lang, text)
    model, normaliser, meta = load_task(checkpoint, device)
    recipe = meta["recipe"]
    from vita_cli.methods.tts_lifelong.config import FeatureConfig

    features = MelFeatures(FeatureConfig(**recipe["features"]), recipe["data"]["sample_rate"])
    torch.manual_seed(seed)
    start = time.perf_counter()
    ids = torch.tensor([encode(text)], device=device)
    mels, lengths = model.infer(
        ids, torch.tensor([ids.shape[1]], device=device), torch.tensor([langs.index(lang)], device=device)
    )
    mel = normaliser.inverse(mels[0, : int(lengths[0])].float().cpu())
    wave = features.griffin_lim(mel, griffin_lim_iters)
    compute = time.perf_counter() - start
    write_wav(out, wave, features.sample_rate)
    seconds = len(wave) / features.sample_rate
    return SpeakResult(
        str(out),
        lang,
        text,
        round(seconds, 3),
        round(compute, 3),
        round(compute / max(seconds, 1e-9), 4),
        int(lengths[0]),
        str(checkpoint),
    )


# ---------------------------------------------------------------- compare


@dataclass
class CompareResult:
    runs: list[dict]
    methods: dict[str, dict]  # method -> mean over its runs
    languages: list[str]
    ordering: list[str]  # methods by mean final MCD, best first
    plots: list[str]

    def to_dict(self) -> dict:
        return asdict(self)


def run_compare(evals: list[dict], ctx: RunContext) -> CompareResult:
    """Runs (their eval results) side by side; means per method; reduction vs fine-tune per method."""
    langs = evals[0]["languages"]
    for e in evals:
        if e["languages"] != langs:
            raise UserError(f"run {e['run_dir']} has languages {e['languages']}, not {langs}")
    rows, by_method = [], {}
    for e in evals:
        newest = langs[len(e["R"]) - 1]
        row = {
            "run": e["run_dir"],
            "method": e["method"],
            "final": e["final"],
            "mean_final": e["mean_final"],
            "forgetting": e["forgetting"],
            "newest": e["final"].get(newest),
        }
        rows.append(row)
        by_method.setdefault(e["method"], []).append(row)
    methods = {}
    for name, group in by_method.items():
        methods[name] = {
            "runs": len(group),
            "mean_final": round(float(np.mean([r["mean_final"] for r in group])), 4),
            "std_final": round(float(np.std([r["mean_final"] for r in group])), 4),
            "final": {
                lang: round(float(np.mean([r["final"][lang] for r in group])), 4)
                for lang in group[0]["final"]
            },
            "forgetting": _mean_or_none([r["forgetting"] for r in group]),
            "newest": _mean_or_none([r["newest"] for r in group]),
        }
    if "finetune" in methods:
        ft = methods["finetune"]
        for stats in methods.values():
            stats["reduction_vs_finetune"] = round(reduction(stats["mean_final"], ft["mean_final"]), 4)
            if ft["newest"] and stats["newest"] is not None:
                stats["newest_vs_finetune"] = round(stats["newest"] / ft["newest"] - 1, 4)
    ordering = sorted(methods, key=lambda m: methods[m]["mean_final"])
    bar = plots.final_bars({m: methods[m]["final"] for m in ordering}, ctx.run_dir / "compare_final.png")
    grid = plots.heat_grid(
        {m: _mean_matrix([e["R"] for e in evals if e["method"] == m]) for m in ordering},
        langs,
        ctx.run_dir / "compare_matrices.png",
    )
    result = CompareResult(rows, methods, langs, ordering, [str(bar), str(grid)])
    ctx.run_dir.write_json("compare.json", result.to_dict())
    return result


def _mean_matrix(matrices: list[list[list[float | None]]]) -> list[list[float | None]]:
    """Element-wise mean of R matrices (runs of one method); None where a language was not seen."""
    rows = min(len(m) for m in matrices)
    return [
        [
            None if matrices[0][i][j] is None else round(float(np.mean([m[i][j] for m in matrices])), 4)
            for j in range(len(matrices[0][i]))
        ]
        for i in range(rows)
    ]


def _mean_or_none(values):
    values = [v for v in values if v is not None]
    return round(float(np.mean(values)), 4) if values else None
