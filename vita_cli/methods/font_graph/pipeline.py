"""One ``run`` per action of ``vita complete-font``: prepare, train (+ evaluate), complete, edit, interpolate.

Inputs that a user gives (font files, reference letters, glyph images, SVG graphs) are checked by the
``check_*`` functions before anything is written, so a bad input leaves no half-written run folder.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vita_cli.core.checkpoint import load_checkpoint, save_checkpoint
from vita_cli.core.context import RunContext
from vita_cli.core.errors import UserError
from vita_cli.methods.font_graph import LETTERS
from vita_cli.methods.font_graph.complete import complete, decode_all, encode_refs, interpolate, render_graph
from vita_cli.methods.font_graph.config import CompleteFontRecipe, ModelConfig
from vita_cli.methods.font_graph.dataset import (
    FontDataset,
    Template,
    build_dataset,
    load_dataset,
    save_dataset,
)
from vita_cli.methods.font_graph.evaluate import evaluate_models, paired_test, summarise
from vita_cli.methods.font_graph.fontfile import build_font
from vita_cli.methods.font_graph.glyphs import (
    BASELINE,
    CAP_SHARE,
    FIT,
    FRAME,
    FontReadError,
    load_font_cached,
    rasterize,
)
from vita_cli.methods.font_graph.metrics import binary_iou, image_metrics, mean_ink
from vita_cli.methods.font_graph.model import FontGraphModel
from vita_cli.methods.font_graph.svg import GraphSvgError, graph_to_svg, read_graph_svg
from vita_cli.methods.font_graph.train import TrainData, train_stage

# ------------------------------------------------------------------ prepare


@dataclass
class PrepareResult:
    summary: dict
    dataset: str
    skipped: list

    def to_dict(self) -> dict:
        return asdict(self)


def check_sources(sources: list[str]) -> None:
    for s in sources:
        if not Path(s).exists():
            raise UserError(
                f"font folder or file not found: {s}", "give folders holding .ttf/.otf/.ttc files"
            )


def _dataset(recipe: CompleteFontRecipe, ctx: RunContext, sources: list[str] | None) -> FontDataset:
    try:
        return build_dataset(recipe.data, ctx.reporter, sources)
    except ValueError as exc:
        raise UserError(str(exc), "point data.font_dirs (or the folders you give) at fonts with A-Z") from exc


def run_prepare(
    recipe: CompleteFontRecipe, ctx: RunContext, sources: list[str] | None = None
) -> PrepareResult:
    """Read fonts, split by family, write ``dataset.npz`` + ``dataset.json`` into the run folder."""
    ds = _dataset(recipe, ctx, sources)
    npz, _ = save_dataset(ds, ctx.run_dir.path)
    return PrepareResult(ds.summary(), str(npz.parent), [f"{p}: {r}" for p, r in ds.skipped])


# ------------------------------------------------------------------ models on disk


def template_ends(templates: list[Template], points: int) -> np.ndarray:
    return np.stack([t.ends(points) for t in templates])


def save_model(
    path: Path, model: FontGraphModel, cfg: ModelConfig, n_styles: int, templates, extra: dict
) -> Path:
    meta = {
        "method": "complete-font",
        "arch": {
            "kind": model.kind,
            "image_size": model.image_size,
            "points": model.points,
            "n_styles": n_styles,
            "model": asdict(cfg),
        },
        "templates": [t.alloc for t in templates],
        **extra,
    }
    return save_checkpoint(path, model.state_dict(), meta)


@dataclass
class LoadedModel:
    model: FontGraphModel
    templates: list[Template]
    meta: dict
    path: Path

    @property
    def ends(self) -> np.ndarray:
        return template_ends(self.templates, self.model.points)


def find_model(path: Path, arm: str) -> Path:
    """A ``.safetensors`` file, or a run folder: its ``<arm>.safetensors`` (first seed's folder if a study)."""
    if path.is_file():
        return path
    if not path.is_dir():
        raise UserError(
            f"model not found: {path}",
            "give a run folder of `vita complete-font train` or a .safetensors file",
        )
    names = {
        "graph": ["graph.safetensors", "graph-sum.safetensors", "graph-faithful.safetensors"],
        "img2img": ["img2img.safetensors"],
    }[arm]
    for folder in [path, *sorted(p for p in path.glob("seed-*") if p.is_dir())]:
        for name in names:
            if (folder / name).is_file():
                return folder / name
    raise UserError(f"no {arm} model in {path}", "train one with `vita complete-font train`")


def load_model(path: Path, arm: str, device) -> LoadedModel:
    file = find_model(Path(path), arm)
    ckpt = load_checkpoint(file)
    meta = ckpt.meta
    if meta.get("method") != "complete-font":
        raise UserError(f"{file} is not a complete-font model", "train one with `vita complete-font train`")
    arch = meta["arch"]
    model = FontGraphModel(
        ModelConfig(**arch["model"]), arch["image_size"], arch["points"], arch["n_styles"], arch["kind"]
    )
    missing, unexpected = model.load_state_dict(ckpt.tensors, strict=False)
    if missing or unexpected:
        raise UserError(
            f"{file}: weights do not match the model ({len(missing)} missing, {len(unexpected)} unexpected)"
        )
    model.to(device).eval()
    templates = [Template(len(a), a) for a in meta["templates"]]
    return LoadedModel(model, templates, meta, file)


# ------------------------------------------------------------------ train + evaluate


@dataclass
class TrainResult:
    run_dir: str
    data: dict
    seeds: list
    arms: list
    summary: dict  # arm → k → metric (mean over seeds, fonts, draws)
    comparison: list  # paired tests of the primary objective against img2img
    verdict: str
    seconds: dict
    figures: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _arms_for(recipe: CompleteFontRecipe, objectives: list[str]) -> list[str]:
    arms = []
    if "graph" in recipe.train.arms:
        arms += [f"graph-{o}" for o in objectives]
    if "img2img" in recipe.train.arms:
        arms.append("img2img")
    return arms


def _train_seed(
    recipe, ds: FontDataset, data: TrainData, seed: int, objectives, ctx: RunContext, folder: Path
):
    """Every arm of one seed; returns {arm: model} and seconds per arm."""
    cfg, tcfg, device = recipe.model, recipe.train, ctx.device
    n_styles = data.n_fonts
    models, seconds, history = {}, {}, []
    meta = {
        "seed": seed,
        "recipe": asdict(recipe),
        "test_fonts": [ds.fonts[i].name for i in ds.indices("test")],
    }
    if "graph" in tcfg.arms:
        torch.manual_seed(seed)
        base = FontGraphModel(cfg, ds.image_size, ds.points, n_styles, "graph").to(device)
        start = time.perf_counter()
        history += train_stage(
            base,
            "img2graph",
            data,
            tcfg,
            tcfg.epochs_img2graph,
            seed,
            device,
            reporter=ctx.reporter,
            label=f"seed {seed} stage 1 img→graph",
        )
        history += train_stage(
            base,
            "graph2img",
            data,
            tcfg,
            tcfg.epochs_graph2img,
            seed + 1,
            device,
            reporter=ctx.reporter,
            label=f"seed {seed} stage 2 graph→img",
        )
        shared = time.perf_counter() - start
        state = {k: v.clone() for k, v in base.state_dict().items()}
        for obj in objectives:
            start = time.perf_counter()
            model = FontGraphModel(cfg, ds.image_size, ds.points, n_styles, "graph").to(device)
            model.load_state_dict(state)
            history += [
                dict(h, objective=obj)
                for h in train_stage(
                    model,
                    "joint",
                    data,
                    tcfg,
                    tcfg.epochs_joint,
                    seed + 2,
                    device,
                    obj,
                    reporter=ctx.reporter,
                    label=f"seed {seed} stage 3 joint ({obj})",
                )
            ]
            arm = f"graph-{obj}"
            models[arm] = model
            seconds[arm] = round(shared + time.perf_counter() - start, 1)
            save_model(
                folder / f"{arm}.safetensors", model, cfg, n_styles, ds.templates, {**meta, "objective": obj}
            )
    if "img2img" in tcfg.arms:
        torch.manual_seed(seed)
        model = FontGraphModel(cfg, ds.image_size, ds.points, n_styles, "img2img").to(device)
        epochs = tcfg.epochs_baseline or (tcfg.epochs_img2graph + tcfg.epochs_graph2img + tcfg.epochs_joint)
        start = time.perf_counter()
        history += train_stage(
            model,
            "img2img",
            data,
            tcfg,
            epochs,
            seed + 3,
            device,
            reporter=ctx.reporter,
            label=f"seed {seed} img2img baseline",
        )
        models["img2img"] = model
        seconds["img2img"] = round(time.perf_counter() - start, 1)
        save_model(folder / "img2img.safetensors", model, cfg, n_styles, ds.templates, meta)
    return models, seconds, history


def run_train(recipe: CompleteFontRecipe, ctx: RunContext, data_dir: Path | None = None) -> TrainResult:
    """Train every arm for each study seed, evaluate few-shot completion on the held-out families."""
    if recipe.train.threads:
        torch.set_num_threads(recipe.train.threads)
    if data_dir is not None:
        ds = load_dataset(data_dir)
    else:
        ds = _dataset(recipe, ctx, None)
        save_dataset(ds, ctx.run_dir.path)
    train_idx, test_idx = ds.indices("train"), ds.indices("test")
    if not train_idx or not test_idx:
        raise UserError(
            "the family split left no training or no test font", "add fonts or change data.test_fraction"
        )
    ends = template_ends(ds.templates, ds.points)
    data = TrainData.from_arrays(ds.arrays, train_idx, ends)
    if recipe.eval.max_fonts:
        test_idx = test_idx[: recipe.eval.max_fonts]
    test_images = ds.arrays["images"][test_idx].astype(np.float32) / 255.0
    test_graphs, test_matches = ds.arrays["graphs"][test_idx], ds.arrays["matches"][test_idx]
    seeds = list(recipe.study.seeds) or [ctx.seed]
    objectives, primary = list(recipe.study.objectives), recipe.study.primary
    rows, seconds, last_models = [], {}, {}
    for seed in seeds:
        folder = ctx.run_dir / f"seed-{seed}" if len(seeds) > 1 else ctx.run_dir.path
        folder.mkdir(parents=True, exist_ok=True)
        models, secs, history = _train_seed(recipe, ds, data, seed, objectives, ctx, folder)
        for h in history:
            ctx.run_dir.append_metrics({"seed": seed, **h})
        seconds[str(seed)] = secs
        start = time.perf_counter()
        seed_rows = evaluate_models(
            models, test_images, test_graphs, test_matches, ends, recipe.eval, ctx.device, ctx.reporter
        )
        seconds[str(seed)]["eval"] = round(time.perf_counter() - start, 1)
        rows += [dict(r, seed=seed) for r in seed_rows]
        ctx.run_dir.write_json("rows.json", rows)
        last_models = models
    arms = list(last_models)
    summary = summarise(rows)
    comparison, verdict = [], "no comparison (one arm)"
    primary_arm = f"graph-{primary}"
    if primary_arm in arms and "img2img" in arms:
        for k in recipe.study.decide_k:
            if k in recipe.eval.k:
                for metric in ("ssim", "iou"):
                    comparison.append(
                        {"arm": primary_arm, **paired_test(rows, primary_arm, "img2img", k, metric)}
                    )
        ok = [c["mean_diff"] > 0 and c["p_wilcoxon"] < recipe.study.alpha for c in comparison]
        verdict = (
            f"{primary_arm} beats img2img on SSIM and IoU at k = {recipe.study.decide_k}"
            if comparison and all(ok)
            else f"{primary_arm} does not beat img2img on every declared test ({sum(ok)}/{len(ok)} pass)"
        )
        for obj in objectives:
            if obj != primary:
                for k in recipe.study.decide_k:
                    for metric in ("ssim", "iou"):
                        comparison.append(
                            {
                                "arm": f"graph-{obj}",
                                "secondary": True,
                                **paired_test(rows, f"graph-{obj}", "img2img", k, metric),
                            }
                        )
    figures = _train_figures(ctx, last_models, test_images, ends, ds, test_idx)
    result = TrainResult(
        str(ctx.run_dir.path), ds.summary(), seeds, arms, summary, comparison, verdict, seconds, figures
    )
    ctx.run_dir.write_json("results.json", result.to_dict())
    return result


def _sheet(rows: list[np.ndarray], pad: int = 2) -> Image.Image:
    """Rows of glyph images [26, R, R] → one white-background PNG image."""
    r = rows[0].shape[-1]
    out = np.ones((len(rows) * (r + pad) + pad, 26 * (r + pad) + pad), np.float32)
    for i, row in enumerate(rows):
        for c in range(len(row)):
            y, x = pad + i * (r + pad), pad + c * (r + pad)
            out[y : y + r, x : x + r] = 1.0 - np.clip(row[c], 0, 1)
    return Image.fromarray((out * 255).astype(np.uint8))


def comparison_figure(path: Path, blocks: list[tuple[str, list[int], dict[str, np.ndarray]]]) -> Path:
    """Per font: a row of ground truth and one per arm; reference letters framed in red."""
    from vita_cli.core.plots import new_figure, save_figure

    rows, labels, refs_per_row = [], [], []
    for name, refs, arms in blocks:
        for arm, imgs in arms.items():
            rows.append(imgs)
            labels.append(f"{name[:22]}: {arm}")
            refs_per_row.append(refs)
    sheet = np.asarray(_sheet(rows), np.float32) / 255.0
    r = rows[0].shape[-1]
    fig, ax = new_figure(13, 0.5 * len(rows) + 0.6)
    ax.imshow(sheet, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks([2 + i * (r + 2) + r / 2 for i in range(len(rows))], labels, fontsize=7)
    ax.set_xticks([2 + c * (r + 2) + r / 2 for c in range(26)], list(LETTERS), fontsize=7)
    for i, refs in enumerate(refs_per_row):
        for c in refs:
            ax.add_patch(
                __import__("matplotlib").patches.Rectangle(
                    (1 + c * (r + 2), 1 + i * (r + 2)),
                    r + 1,
                    r + 1,
                    fill=False,
                    edgecolor="red",
                    linewidth=0.8,
                )
            )
    ax.tick_params(length=0)
    return save_figure(fig, path)


def graph_figure(graphs: np.ndarray, ends: np.ndarray, path: Path, refs: list[int]) -> Path:
    """The 26 predicted glyph graphs: each contour a closed polyline through its nodes (dots)."""
    import matplotlib.pyplot as plt

    from vita_cli.core.plots import save_figure
    from vita_cli.methods.font_graph.glyphs import split_contours

    fig, axes = plt.subplots(2, 13, figsize=(13, 2.4), dpi=110)
    for c, ax in enumerate(axes.flat):
        for contour in split_contours(graphs[c], ends[c]):
            loop = np.vstack([contour, contour[:1]]) * FRAME
            ax.plot(loop[:, 0], loop[:, 1], lw=0.8, color="tab:red" if c in refs else "black")
            ax.plot(loop[:-1, 0], loop[:-1, 1], ".", ms=1.2, color="tab:blue")
        ax.set_xlim(0, FRAME)
        ax.set_ylim(FRAME, 0)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(LETTERS[c], fontsize=7)
    return save_figure(fig, path)


def _train_figures(ctx, models, test_images, ends, ds, test_idx) -> list[str]:
    if not models:
        return []
    rng = np.random.default_rng(0)
    picks = sorted(set(np.linspace(0, len(test_idx) - 1, min(3, len(test_idx))).round().astype(int).tolist()))
    blocks = []
    for p in picks:
        refs = sorted(rng.choice(26, 1, replace=False).tolist())
        arms = {"ground truth": test_images[p]}
        for arm, model in models.items():
            arms[arm] = complete(model, test_images[p, refs], ends, ctx.device)[0]
        blocks.append((ds.fonts[test_idx[p]].name, refs, arms))
    path = comparison_figure(ctx.run_dir / "comparison.png", blocks)
    return [str(path)]


# ------------------------------------------------------------------ user inputs


def parse_letters(text: str, what: str = "--refs") -> list[int]:
    letters = [s.strip().upper() for s in text.split(",") if s.strip()]
    if not letters:
        raise UserError(f"{what} is empty", "give capitals separated by commas, e.g. A,B,C")
    bad = [s for s in letters if len(s) != 1 or s not in LETTERS]
    if bad:
        raise UserError(f"{what}: {bad[0]!r} is not a capital letter A-Z", "e.g. --refs A,B,C")
    if len(set(letters)) != len(letters):
        raise UserError(f"{what} repeats a letter", "give each reference letter once")
    return [LETTERS.index(s) for s in letters]


def check_font(path: Path, image_size: int, letters: list[int] | None = None, cache_dir=None):
    """A user's font file → FontGlyphs; corrupt, non-Latin or missing letters → UserError naming the file."""
    from vita_cli.core.errors import require_regular_file

    require_regular_file(path, "font file")
    try:
        glyphs = load_font_cached(path, image_size, cache_dir)
    except FontReadError as exc:
        raise UserError(
            f"font {path}: {exc}", "give a TrueType/OpenType font with Latin capitals A-Z"
        ) from exc
    except OSError as exc:
        raise UserError(f"cannot read font {path}: {exc.strerror}") from exc
    for c in letters or []:
        if not glyphs.present[c]:
            have = "".join(ch for ch, ok in zip(LETTERS, glyphs.present, strict=True) if ok)
            raise UserError(f"reference letter {LETTERS[c]} is not in font {path}", f"the font has {have}")
    return glyphs


def glyph_from_image(path: Path, size: int) -> np.ndarray:
    """A glyph picture (any size, dark on light or light on dark) → [size, size] in the glyph frame."""
    from vita_cli.core.errors import require_regular_file

    require_regular_file(path, "glyph image")
    try:
        img = np.asarray(Image.open(path).convert("L"), np.float32) / 255.0
    except Exception as exc:
        raise UserError(
            f"glyph image {path} cannot be read ({type(exc).__name__})", "give a PNG or JPEG"
        ) from exc
    border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
    if border.mean() > 0.5:  # dark ink on a light background
        img = 1.0 - img
    ys, xs = np.nonzero(img > 0.5)
    if len(ys) == 0:
        raise UserError(f"glyph image {path} has no ink", "give a picture of one letter")
    crop = img[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    h, w = crop.shape
    scale = min(CAP_SHARE * FRAME / h, FIT * FRAME / w) * size / FRAME
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = (
        np.asarray(
            Image.fromarray((crop * 255).astype(np.uint8)).resize((nw, nh), Image.BILINEAR), np.float32
        )
        / 255
    )
    out = np.zeros((size, size), np.float32)
    top = int(round(BASELINE * size)) - nh
    left = (size - nw) // 2
    top = max(0, min(size - nh, top))
    out[top : top + nh, left : left + nw] = small[: size - top, : size - left]
    return out


# ------------------------------------------------------------------ complete


@dataclass
class CompleteInputs:
    loaded: LoadedModel
    refs: list[int]
    images: np.ndarray  # [k, R, R]
    source: str
    truth: np.ndarray | None  # [26, R, R] when a complete font was given
    present: np.ndarray | None


@dataclass
class CompleteResult:
    sheet: str
    svgs: list
    font_file: str | None
    refs: str
    arm: str
    seconds: float
    metrics: dict | None

    def to_dict(self) -> dict:
        return asdict(self)


def check_complete(
    model_path: Path,
    arm: str,
    device,
    font: Path | None,
    refs: str | None,
    image_paths: list[Path] | None,
    cache_dir=None,
) -> CompleteInputs:
    if (font is None) == (not image_paths):
        raise UserError("give either --font FILE (with --refs) or --images FILES (with --refs)")
    if refs is None:
        raise UserError("--refs is required", "the letters of the reference glyphs, e.g. --refs A,B,C")
    letters = parse_letters(refs)
    loaded = load_model(model_path, arm, device)
    size = loaded.model.image_size
    if font is not None:
        glyphs = check_font(Path(font), size, letters, cache_dir)
        images = glyphs.images[letters].astype(np.float32) / 255.0
        truth = glyphs.images.astype(np.float32) / 255.0
        return CompleteInputs(loaded, letters, images, str(font), truth, glyphs.present)
    if len(image_paths) != len(letters):
        raise UserError(
            f"{len(image_paths)} images but {len(letters)} letters in --refs",
            "one letter per image, in order",
        )
    images = np.stack([glyph_from_image(Path(p), size) for p in image_paths])
    return CompleteInputs(loaded, letters, images, ",".join(map(str, image_paths)), None, None)


def run_complete(inputs: CompleteInputs, ctx: RunContext, export_font: bool = True) -> CompleteResult:
    """Complete A-Z from the references: sheet PNG, one SVG graph per letter, a .ttf (graph models)."""
    lm = inputs.loaded
    start = time.perf_counter()
    images, graphs = complete(lm.model, inputs.images, lm.ends, ctx.device)
    seconds = time.perf_counter() - start
    out = ctx.run_dir.path
    rows = [images] if inputs.truth is None else [inputs.truth, images]
    _sheet(rows).save(out / "sheet.png")
    svgs, font_file = [], None
    if graphs is not None:
        (out / "graphs").mkdir(exist_ok=True)
        for c, ch in enumerate(LETTERS):
            p = out / "graphs" / f"{ch}.svg"
            p.write_text(graph_to_svg(graphs[c], lm.ends[c], ch, graphs[c]))
            svgs.append(str(p))
        graph_figure(graphs, lm.ends, out / "graphs.png", inputs.refs)
        if export_font:
            font_file = str(build_font(graphs, lm.ends, out / "completed.ttf"))
    metrics = None
    if inputs.truth is not None:
        rest = [c for c in range(26) if c not in inputs.refs and inputs.present[c]]
        if rest:
            metrics = {
                k: round(float(v), 4) for k, v in image_metrics(images[rest], inputs.truth[rest]).items()
            }
    refs = ",".join(LETTERS[c] for c in inputs.refs)
    return CompleteResult(
        str(out / "sheet.png"), svgs, font_file, refs, lm.model.kind, round(seconds, 4), metrics
    )


# ------------------------------------------------------------------ edit


@dataclass
class EditInputs:
    loaded: LoadedModel
    letter: int
    graph: np.ndarray
    ends: np.ndarray
    contours: list
    original: np.ndarray | None
    svg: str


@dataclass
class EditResult:
    letter: str
    glyph: str
    sheet: str
    iou_edited: float
    iou_original: float | None
    changed_pixels: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def check_edit(model_path: Path, svg: Path, letter: str | None, device) -> EditInputs:
    from vita_cli.core.errors import require_regular_file

    require_regular_file(svg, "SVG file")
    loaded = load_model(model_path, "graph", device)
    try:
        text = svg.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError) as exc:
        raise UserError(
            f"SVG {svg} cannot be read as text", "give an SVG written by vita complete-font complete"
        ) from exc
    try:
        found, _, _, _ = read_graph_svg(text, loaded.model.points)
        name = (letter or found or svg.stem).strip().upper()
        if len(name) != 1 or name not in LETTERS:
            raise GraphSvgError(
                f"no capital letter (data-letter attribute, --letter or file name), got {name!r}"
            )
        c = LETTERS.index(name)
        alloc = loaded.templates[c].alloc
        _, graph, ends, contours = read_graph_svg(text, loaded.model.points, alloc)
        original = None
        try:
            original = read_graph_svg(text, loaded.model.points, alloc, element="original")[1]
        except GraphSvgError:
            pass
    except GraphSvgError as exc:
        raise UserError(
            f"{svg} is not a glyph graph: {exc}", "edit an SVG from `vita complete-font complete`"
        ) from exc
    return EditInputs(loaded, c, graph, ends, contours, original, str(svg))


def run_edit(inputs: EditInputs, ctx: RunContext) -> EditResult:
    """Re-render the edited graph; re-encode that glyph and decode A-Z (the edit as a style change)."""
    lm, c = inputs.loaded, inputs.letter
    size = lm.model.image_size
    glyph = render_graph(lm.model, inputs.graph, inputs.ends, c, ctx.device)
    edited_raster = rasterize(inputs.contours, size)
    iou_edit = binary_iou(glyph, edited_raster)
    iou_orig = changed = None
    if inputs.original is not None:
        orig_contours = [x * FRAME for x in _contours_of(inputs.original, inputs.ends)]
        orig_raster = rasterize(orig_contours, size)
        iou_orig = binary_iou(glyph, orig_raster)
        before = render_graph(lm.model, inputs.original, inputs.ends, c, ctx.device)
        changed = float((np.abs(glyph - before) > 0.25).mean())
    out = ctx.run_dir.path
    Image.fromarray(((1 - np.clip(glyph, 0, 1)) * 255).astype(np.uint8)).resize((4 * size, 4 * size)).save(
        out / "glyph.png"
    )
    z = encode_refs(lm.model, glyph[None], ctx.device)
    images, _ = decode_all(lm.model, z, lm.ends, ctx.device)
    _sheet([images]).save(out / "sheet.png")
    return EditResult(
        LETTERS[c],
        str(out / "glyph.png"),
        str(out / "sheet.png"),
        round(iou_edit, 4),
        None if iou_orig is None else round(iou_orig, 4),
        changed,
    )


def _contours_of(graph: np.ndarray, ends: np.ndarray) -> list[np.ndarray]:
    from vita_cli.methods.font_graph.glyphs import split_contours

    return split_contours(graph, ends)


# ------------------------------------------------------------------ interpolate


@dataclass
class InterpolateResult:
    sheet: str
    steps: int
    mean_ink: list
    monotone: bool

    def to_dict(self) -> dict:
        return asdict(self)


def check_interpolate(
    model_path: Path, font_a: Path, font_b: Path, refs: str, arm: str, device, cache_dir=None
):
    letters = parse_letters(refs)
    loaded = load_model(model_path, arm, device)
    size = loaded.model.image_size
    a = check_font(font_a, size, letters, cache_dir)
    b = check_font(font_b, size, letters, cache_dir)
    return loaded, letters, a.images[letters] / 255.0, b.images[letters] / 255.0


def run_interpolate(inputs, ctx: RunContext, steps: int) -> InterpolateResult:
    lm, _, ra, rb = inputs
    za, zb = encode_refs(lm.model, ra, ctx.device), encode_refs(lm.model, rb, ctx.device)
    sheets = interpolate(lm.model, za, zb, steps, lm.ends, ctx.device)
    ink = [float(mean_ink(s).mean()) for s in sheets]
    diffs = np.diff(ink)
    monotone = bool(np.all(diffs >= -1e-4) or np.all(diffs <= 1e-4))
    path = ctx.run_dir / "interpolation.png"
    _sheet(list(sheets)).save(path)
    return InterpolateResult(str(path), steps, [round(v, 4) for v in ink], monotone)
