"""``run(recipe, ctx)`` for every action of ``vita search-twostream``: data, search, train, eval.

Inputs are checked (clip folder, MACs budget, architecture file) before anything is written.
Under ``torchrun`` (WORLD_SIZE > 1) the search joins a gloo/nccl group: rank 0 trains the supernets
and broadcasts them, every rank scores a share of each population, rank 0 writes the files.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import yaml

from vita_cli.core.checkpoint import load_checkpoint, save_checkpoint
from vita_cli.core.context import RunContext
from vita_cli.core.errors import UserError, require_regular_file
from vita_cli.core.recipe import dump_yaml
from vita_cli.methods.twostream import render
from vita_cli.methods.twostream import search as engine
from vita_cli.methods.twostream import space as S
from vita_cli.methods.twostream.config import TwoStreamRecipe
from vita_cli.methods.twostream.data import Dataset, load_folder, write_folder
from vita_cli.methods.twostream.supernet import TwoStreamNet

CONTROLS = ("slowfast-mini", "x3d-mini")
KIND = "search-twostream"


# ------------------------------------------------------------------------------------- shared


def _threads(recipe: TwoStreamRecipe) -> None:
    torch.set_num_threads(recipe.threads)


def load_data(recipe: TwoStreamRecipe, root: str | None = None) -> Dataset:
    d = recipe.data
    return load_folder(Path(root or d.root), d.frames, d.size, d.split_seed, d.val_fraction, d.test_fraction)


def build_space(recipe: TwoStreamRecipe, num_classes: int) -> S.Space:
    return recipe.space.build(num_classes)


def check_budget(space: S.Space, recipe: TwoStreamRecipe) -> int:
    budget = int(recipe.search.budget_mmacs * 1e6)
    smallest = S.macs(space.smallest(), recipe.data.frames, recipe.data.size)
    if smallest > budget:
        raise UserError(
            f"search.budget_mmacs={recipe.search.budget_mmacs} is below the smallest candidate "
            f"({smallest / 1e6:.3f} MMACs per clip)",
            f"raise the budget to at least {smallest / 1e6:.3f} or shrink the space",
        )
    return budget


def read_architecture(path: Path) -> S.Architecture:
    require_regular_file(path, "architecture file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise UserError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    if isinstance(data, dict) and "architecture" in data:
        data = data["architecture"]
    try:
        return S.architecture_from_dict(data, where=str(path))
    except S.ArchitectureError as exc:
        raise UserError(
            str(exc),
            "operations: fusion " + "/".join(S.FUSION_OPS) + ", attention " + "/".join(S.ATTENTION_OPS),
        ) from exc


def write_architecture(path: Path, arch: S.Architecture, info: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "# vita search-twostream train --arch " + str(path) + "\n"
    text += yaml.safe_dump({"architecture": arch.to_dict(), "info": info}, sort_keys=False)
    path.write_text(text)
    return path


def control_architecture(name: str, space: S.Space, frames: int, size: int) -> S.Architecture:
    sf = S.slowfast_mini(space)
    if name == "slowfast-mini":
        return sf
    return S.x3d_mini(space, S.macs(sf, frames, size), frames, size)


def resolve_arch(spec: str, space: S.Space, recipe: TwoStreamRecipe) -> S.Architecture:
    if spec in CONTROLS:
        return control_architecture(spec, space, recipe.data.frames, recipe.data.size)
    arch = read_architecture(Path(spec))
    if arch.num_classes != space.num_classes:
        raise UserError(
            f"{spec}: architecture has {arch.num_classes} classes, the data has {space.num_classes}",
            "search on the same data, or edit num_classes",
        )
    if arch.two_stream and recipe.data.frames % arch.alpha:
        raise UserError(f"{spec}: alpha {arch.alpha} does not divide data.frames {recipe.data.frames}")
    return arch


# ---------------------------------------------------------------------------------------- data


@dataclass
class DataResult:
    root: str
    set: str
    classes: list[str]
    counts: dict[str, int]
    frames: int
    size: int
    seconds: float
    preview: str

    def to_dict(self) -> dict:
        return asdict(self)


def run_data(recipe: TwoStreamRecipe, ctx: RunContext) -> DataResult:
    """Render the clip set into ``data.root`` (class sub-folders + split.json) and a preview PNG."""
    d = recipe.data
    root = Path(d.root)
    if root.exists() and any(root.iterdir()) and not ctx.resume:
        raise UserError(f"{root} already exists and is not empty", "pick another data.root or delete it")
    counts = {"train": d.train_per_class, "val": d.val_per_class, "test": d.test_per_class}
    classes = [c for c, _, _ in render.class_list(d.set)]
    total = sum(counts.values()) * len(classes)
    start = time.perf_counter()
    with ctx.reporter.task(f"render {d.set}", total=total) as task:
        splits = render.render_set(
            d.set, counts, d.frames, d.size, d.render_seed, lambda: task.advance(1), d.fps
        )
    meta = {
        "set": d.set,
        "frames": d.frames,
        "size": d.size,
        "fps": d.fps,
        "seed": d.render_seed,
        "source": "pybullet humanoid driven by DeepMimic motion clips",
    }
    write_folder(root, splits, classes, meta)
    preview = _preview(splits["train"], classes, root / "preview.png")
    return DataResult(
        str(root),
        d.set,
        classes,
        counts,
        d.frames,
        d.size,
        round(time.perf_counter() - start, 1),
        str(preview),
    )


def _preview(rows, classes, path: Path) -> Path:
    from vita_cli.core.plots import new_figure, save_figure

    firsts = {}
    for cls, clip in rows:
        firsts.setdefault(cls, clip)
    strip = [np.concatenate(list(firsts[c][:: max(1, len(firsts[c]) // 6)][:6]), axis=1) for c in classes]
    fig, ax = new_figure(6, 0.8 * len(classes))
    ax.imshow(np.concatenate(strip, axis=0))
    ax.set_yticks([(i + 0.5) * strip[0].shape[0] for i in range(len(classes))], classes, fontsize=7)
    ax.set_xticks([])
    return save_figure(fig, path)


# -------------------------------------------------------------------------------------- search


@dataclass
class SearchRunResult:
    data: dict
    space: dict
    budget_macs: int
    winners: dict  # method -> {"arch", "proxy", "macs", "file"}
    controls: dict  # name -> {"macs", "proxy"}
    evaluations: dict
    kendall_set: list[dict]
    seconds: float
    files: dict = field(default_factory=dict)
    world_size: int = 1

    def to_dict(self) -> dict:
        return asdict(self)


def _init_distributed(ctx: RunContext) -> bool:
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or (dist.is_available() and dist.is_initialized()):
        return False
    dist.init_process_group("nccl" if ctx.device.type == "cuda" else "gloo")
    return True


def _state_io(ctx: RunContext, name: str, main: bool):
    path = ctx.out / f"search-{name}.json"

    def load():
        if ctx.resume and path.is_file():
            return json.loads(path.read_text())
        return None

    def save(state):
        if main:
            ctx.run_dir.write_json(path.name, state)

    return load, save


def _supernet_stage(ctx, recipe, net, data, space, base, variables, epochs, seed, name, main, label):
    """Train (rank 0) or reload one supernet stage; every rank ends with the same weights."""
    ckpt = ctx.out / f"supernet-{name}.safetensors"
    if ctx.resume and ckpt.is_file():
        state = load_checkpoint(ckpt).tensors
        net.load_state_dict(state)
        ctx.log(f"resumed {ckpt.name}")
        return []
    history = []
    if main and epochs > 0:
        history = engine.train_supernet(
            net,
            data,
            space,
            base,
            variables,
            epochs,
            recipe.supernet,
            ctx.device,
            seed,
            ctx.reporter,
            label,
            recipe.data.flip,
        )
    engine.broadcast_module(net)
    if main:
        save_checkpoint(ckpt, net.state_dict(), {"kind": "supernet", "stage": name, "history": history})
    return history


def _search_stage(ctx, recipe, scorer, space, base, variables, budget, generations, seed, name, main):
    cfg = recipe.search
    load, save = _state_io(ctx, name, main)
    frames, size = recipe.data.frames, recipe.data.size
    if cfg.algorithm == "reinforce":
        state = load()
        if state and state.get("done"):
            return engine._result(state["cache"], budget)
        res = engine.reinforce(
            scorer,
            space,
            base,
            variables,
            budget,
            cfg,
            generations,
            seed,
            frames,
            size,
            ctx.reporter,
            f"reinforce {name}",
        )
        save({"cache": {str(i): r for i, r in enumerate(res.history)}, "done": True})
        return res
    return engine.evolution(
        scorer,
        space,
        base,
        variables,
        budget,
        cfg,
        generations,
        seed,
        frames,
        size,
        load(),
        save,
        ctx.reporter,
        f"evolution {name}",
    )


def run_search(recipe: TwoStreamRecipe, ctx: RunContext) -> SearchRunResult:
    _threads(recipe)
    data = load_data(recipe)
    space = build_space(recipe, len(data.classes))
    budget = check_budget(space, recipe)
    frames, size, cfg = recipe.data.frames, recipe.data.size, recipe.search
    started = _init_distributed(ctx)
    rank, world = engine.rank_and_world()
    main = rank == 0
    start = time.perf_counter()
    if main:
        dump_yaml(recipe, ctx.run_dir / "recipe.yaml")
    calib = engine.calibration_indices(len(data.train), cfg.calib_batches, cfg.calib_batch_size, ctx.seed)
    winners, histories, evaluations = {}, [], {}

    # ---- progressive: streams -> fusion -> attention, each on the supernet trained so far
    torch.manual_seed(ctx.seed)
    net = TwoStreamNet.supernet(space.largest(), space.fusion, space.attention).to(ctx.device)
    fixed_fusion = "tconv" if "tconv" in space.fusion else space.fusion[-1]
    base = S.set_many(space.largest(), {s: fixed_fusion for s in S.slots(space, ("fusion",))})
    base = S.set_many(base, {s: space.attention[0] for s in S.slots(space, ("attention",))})
    scorer = engine.Scorer(net, data, ctx.device, calib)
    for i, stage in enumerate(S.STAGES_OF_SEARCH):
        variables = S.variables_of(stage)
        _supernet_stage(
            ctx,
            recipe,
            net,
            data,
            space,
            base,
            variables,
            recipe.supernet.epochs[i],
            ctx.seed + i,
            f"progressive-{stage}",
            main,
            f"supernet ({stage})",
        )
        res = _search_stage(
            ctx,
            recipe,
            scorer,
            space,
            base,
            variables,
            budget,
            cfg.generations,
            ctx.seed + 10 + i,
            f"progressive-{stage}",
            main,
        )
        base = res.best
        histories += [{**r, "method": "progressive", "stage": stage} for r in res.history]
        evaluations[f"progressive-{stage}"] = res.evaluations
    winners["progressive"] = {"arch": res.best.to_dict(), "proxy": res.best_score, "macs": res.best_macs}
    sf = control_architecture("slowfast-mini", space, frames, size)
    x3d = control_architecture("x3d-mini", space, frames, size)
    controls = {
        "slowfast-mini": {"macs": S.macs(sf, frames, size), "arch": sf.to_dict()},
        "x3d-mini": {"macs": S.macs(x3d, frames, size), "arch": x3d.to_dict()},
    }

    kendall_set = []
    if cfg.controls:
        # ---- joint supernet: all six variables sampled from the start, same total epochs
        torch.manual_seed(ctx.seed)
        jnet = TwoStreamNet.supernet(space.largest(), space.fusion, space.attention).to(ctx.device)
        everything = S.variables_of("joint")
        _supernet_stage(
            ctx,
            recipe,
            jnet,
            data,
            space,
            base,
            everything,
            sum(recipe.supernet.epochs),
            ctx.seed + 20,
            "joint",
            main,
            "supernet (joint)",
        )
        jscorer = engine.Scorer(jnet, data, ctx.device, calib)
        total_generations = cfg.generations * len(S.STAGES_OF_SEARCH)
        res = _search_stage(
            ctx,
            recipe,
            jscorer,
            space,
            base,
            everything,
            budget,
            total_generations,
            ctx.seed + 30,
            "joint",
            main,
        )
        winners["joint"] = {"arch": res.best.to_dict(), "proxy": res.best_score, "macs": res.best_macs}
        histories += [{**r, "method": "joint", "stage": "joint"} for r in res.history]
        evaluations["joint"] = res.evaluations
        count = sum(v for k, v in evaluations.items() if k.startswith("progressive"))
        res = engine.random_search(
            jscorer, space, base, everything, budget, count, ctx.seed + 40, frames, size, ctx.reporter
        )
        winners["random"] = {"arch": res.best.to_dict(), "proxy": res.best_score, "macs": res.best_macs}
        histories += [{**r, "method": "random", "stage": "random"} for r in res.history]
        evaluations["random"] = res.evaluations
        controls["slowfast-mini"]["proxy"] = jscorer.score_many([sf])[0]
        if cfg.kendall:
            # proxy-vs-stand-alone check: architectures spread over the random-search candidates
            rows = sorted((r for r in res.history), key=lambda r: r["score"])
            step = max(1, len(rows) // cfg.kendall)
            picked = rows[::step][: cfg.kendall]
            kendall_set = [{"arch": r["arch"], "proxy": r["score"], "macs": r["macs"]} for r in picked]

    files = {}
    if main:
        for method, w in winners.items():
            path = write_architecture(
                ctx.out / "architectures" / f"{method}.yaml",
                S.architecture_from_dict(w["arch"]),
                {"method": method, "proxy_val_acc": w["proxy"], "macs": w["macs"], "budget_macs": budget},
            )
            w["file"] = str(path)
        best = write_architecture(
            ctx.out / "architecture.yaml",
            S.architecture_from_dict(winners["progressive"]["arch"]),
            {
                "method": "progressive",
                "proxy_val_acc": winners["progressive"]["proxy"],
                "macs": winners["progressive"]["macs"],
                "budget_macs": budget,
            },
        )
        files["architecture"] = str(best)
        files["candidates"] = str(ctx.run_dir.write_json("candidates.json", histories))
        files["pareto"] = str(
            pareto_plot(histories, controls, {}, budget, ctx.out / "pareto.png", proxy=True)
        )
    if started:
        dist.barrier()
        dist.destroy_process_group()
    result = SearchRunResult(
        data.summary(),
        S.space_summary(space),
        budget,
        winners,
        controls,
        evaluations,
        kendall_set,
        round(time.perf_counter() - start, 1),
        files,
        world,
    )
    if main:
        ctx.run_dir.write_json("result.json", result.to_dict())
    return result


def pareto_plot(histories, controls, standalone: dict, budget: int, path: Path, proxy: bool) -> Path:
    """Accuracy vs MACs: every evaluated candidate (proxy), the winners and the hand-designed controls."""
    from vita_cli.core.plots import new_figure, save_figure

    fig, ax = new_figure(8.4, 4.4)
    colours = {"progressive": "tab:blue", "joint": "tab:orange", "random": "tab:green"}
    for method, colour in colours.items():
        rows = [r for r in histories if r["method"] == method]
        if rows:
            ax.scatter(
                [r["macs"] / 1e6 for r in rows],
                [100 * r["score"] for r in rows],
                s=10,
                alpha=0.35,
                color=colour,
                label=f"{method} candidates (proxy)",
            )
    marks = {"slowfast-mini": ("s", "black"), "x3d-mini": ("^", "tab:red")}
    for name, c in controls.items():
        if proxy and c.get("proxy") is not None:
            ax.scatter(
                [c["macs"] / 1e6],
                [100 * c["proxy"]],
                marker=marks[name][0],
                color=marks[name][1],
                s=60,
                label=f"{name} (proxy)",
            )
        elif proxy:
            ax.axvline(c["macs"] / 1e6, color=marks[name][1], ls=":", lw=1, label=f"{name} MACs")
    for name, (macs, acc, err) in standalone.items():
        marker, colour = marks.get(name, ("*", colours.get(name, "purple")))
        ax.errorbar(
            [macs / 1e6],
            [acc],
            yerr=[err],
            fmt=marker,
            color=colour,
            ms=11 if marker == "*" else 8,
            mec="black",
            label=f"{name} (test, retrained)",
        )
    ax.axvline(budget / 1e6, color="grey", ls="--", lw=1, label="MACs budget")
    ax.set_xlabel("MMACs per clip")
    ax.set_ylabel("top-1 accuracy (%)")
    ax.grid(alpha=0.3)
    # outside the axes: the candidate cloud fills the corners
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save_figure(fig, path)


# ---------------------------------------------------------------------------------------- train


@dataclass
class TrainResult:
    arch: dict
    macs: int
    params: int
    test_acc: float
    val_acc: float
    seed: int
    seconds: float
    checkpoint: str
    history: list[dict]

    def to_dict(self) -> dict:
        return asdict(self)


def run_train(recipe: TwoStreamRecipe, ctx: RunContext, arch_spec: str) -> TrainResult:
    _threads(recipe)
    data = load_data(recipe)
    space = build_space(recipe, len(data.classes))
    arch = resolve_arch(arch_spec, space, recipe)
    dump_yaml(recipe, ctx.run_dir / "recipe.yaml")
    start = time.perf_counter()
    net, history = engine.train_standalone(
        arch, data, recipe.train, ctx.seed, ctx.device, ctx.reporter, flip=recipe.data.flip
    )
    test = engine.accuracy(net, data.test, ctx.device)
    val = max(h["val_acc"] for h in history)
    macs = S.macs(arch, recipe.data.frames, recipe.data.size)
    path = save_checkpoint(
        ctx.out / "model.safetensors",
        net.state_dict(),
        {
            "kind": KIND,
            "arch": arch.to_dict(),
            "macs": macs,
            "classes": data.classes,
            "frames": recipe.data.frames,
            "size": recipe.data.size,
        },
    )
    result = TrainResult(
        arch.to_dict(),
        macs,
        sum(p.numel() for p in net.parameters()),
        test,
        val,
        ctx.seed,
        round(time.perf_counter() - start, 1),
        str(path),
        history,
    )
    ctx.run_dir.write_json("result.json", result.to_dict())
    return result


# ----------------------------------------------------------------------------------------- eval


@dataclass
class EvalResult:
    rows: list[dict]
    verdict: dict
    kendall: dict | None
    seconds: float
    files: dict

    def to_dict(self) -> dict:
        return asdict(self)


def _load_model(path: Path) -> tuple[TwoStreamNet, dict]:
    ckpt = load_checkpoint(path)
    if ckpt.meta.get("kind") != KIND or "arch" not in ckpt.meta:
        raise UserError(
            f"{path} is not a search-twostream model", "train one with `vita search-twostream train`"
        )
    arch = S.architecture_from_dict(ckpt.meta["arch"], where=str(path))
    net = TwoStreamNet.standalone(arch)
    try:
        net.load_state_dict(ckpt.tensors)
    except RuntimeError as exc:
        raise UserError(f"{path}: weights do not match its architecture") from exc
    return net, ckpt.meta


def run_eval(
    recipe: TwoStreamRecipe, ctx: RunContext, checkpoint: Path | None = None, search_run: Path | None = None
) -> EvalResult:
    """Test accuracy of a trained model, or the whole comparison for a search run: retrain the
    searched winners and the controls from scratch for every ``train.seeds``, Kendall τ."""
    _threads(recipe)
    if (checkpoint is None) == (search_run is None):
        raise UserError("give exactly one of --checkpoint or --search-run")
    if checkpoint is not None:
        net, meta = _load_model(checkpoint)
        data = load_data(recipe)
        if len(data.classes) != net.envelope.num_classes:
            raise UserError(
                f"{checkpoint} predicts {net.envelope.num_classes} classes, the data has {len(data.classes)}"
            )
        start = time.perf_counter()
        acc = engine.accuracy(net.to(ctx.device), data.test, ctx.device)
        row = {"name": checkpoint.name, "macs": meta.get("macs"), "test_acc": acc}
        result = EvalResult([row], {}, None, round(time.perf_counter() - start, 1), {})
        ctx.run_dir.write_json("result.json", result.to_dict())
        return result
    return _study(recipe, ctx, search_run)


def _study(recipe: TwoStreamRecipe, ctx: RunContext, search_run: Path) -> EvalResult:
    result_file = search_run / "result.json"
    require_regular_file(result_file, "search result")
    try:
        found = json.loads(result_file.read_text())
        winners = found["winners"]
    except (json.JSONDecodeError, KeyError) as exc:
        raise UserError(f"{result_file} is not a search-twostream search result") from exc
    data = load_data(recipe)
    space = build_space(recipe, len(data.classes))
    frames, size = recipe.data.frames, recipe.data.size
    start = time.perf_counter()
    models = {m: S.architecture_from_dict(w["arch"]) for m, w in winners.items()}
    for name in CONTROLS:
        models[name] = control_architecture(name, space, frames, size)
    study = ctx.out / "study"
    rows = []
    for name, arch in models.items():
        accs = []
        for seed in recipe.train.seeds:
            accs.append(_trained_acc(recipe, ctx, data, arch, seed, study / f"{name}-s{seed}.json", name))
        rows.append(
            {
                "name": name,
                "macs": S.macs(arch, frames, size),
                "proxy": winners.get(name, {}).get("proxy"),
                "test_acc": accs,
                "mean": float(np.mean(accs)),
                "std": float(np.std(accs)),
            }
        )
    kendall = None
    if found.get("kendall_set"):
        proxies, standalone = [], []
        for i, item in enumerate(found["kendall_set"]):
            arch = S.architecture_from_dict(item["arch"])
            standalone.append(
                _trained_acc(
                    recipe, ctx, data, arch, recipe.train.seeds[0], study / f"kendall-{i}.json", f"tau {i}"
                )
            )
            proxies.append(item["proxy"])
        kendall = {
            "tau": engine.kendall_tau(proxies, standalone),
            "proxy": proxies,
            "standalone": standalone,
            "macs": [item["macs"] for item in found["kendall_set"]],
        }
    by = {r["name"]: r for r in rows}
    verdict = _verdict(by)
    histories = (
        json.loads((search_run / "candidates.json").read_text())
        if (search_run / "candidates.json").is_file()
        else []
    )
    standalone_points = {r["name"]: (r["macs"], 100 * r["mean"], 100 * r["std"]) for r in rows}
    controls = {k: {"macs": by[k]["macs"]} for k in CONTROLS}
    files = {
        "pareto": str(
            pareto_plot(
                histories,
                controls,
                standalone_points,
                found["budget_macs"],
                ctx.out / "pareto.png",
                proxy=False,
            )
        )
    }
    result = EvalResult(rows, verdict, kendall, round(time.perf_counter() - start, 1), files)
    ctx.run_dir.write_json("result.json", result.to_dict())
    return result


def _trained_acc(recipe, ctx, data, arch, seed, record: Path, label: str) -> float:
    if record.is_file():
        return json.loads(record.read_text())["test_acc"]
    net, history = engine.train_standalone(
        arch,
        data,
        recipe.train,
        seed,
        ctx.device,
        ctx.reporter,
        f"train {label} s{seed}",
        flip=recipe.data.flip,
    )
    acc = engine.accuracy(net, data.test, ctx.device)
    record.parent.mkdir(parents=True, exist_ok=True)
    ctx.run_dir.write_json(
        str(record.relative_to(ctx.out)),
        {"test_acc": acc, "seed": seed, "arch": arch.to_dict(), "history": history},
    )
    return acc


def _verdict(by: dict) -> dict:
    """The declared rule: the progressive winner matches SlowFast-mini (≥ its mean accuracy − 1 point)
    at ≤ 1/3 of its MACs, or beats it (> its mean accuracy) at ≤ its MACs; progressive ≥ random
    and ≥ joint (mean test accuracy over seeds)."""
    out = {}
    p, sf = by.get("progressive"), by.get("slowfast-mini")
    if p and sf:
        ratio = p["macs"] / sf["macs"]
        match = ratio <= 1 / 3 and p["mean"] >= sf["mean"] - 0.01
        beat = ratio <= 1 and p["mean"] > sf["mean"]
        out["macs_ratio_vs_slowfast"] = ratio
        out["beats_or_matches_slowfast"] = bool(match or beat)
    for other in ("random", "joint"):
        if p and other in by:
            out[f"progressive_ge_{other}"] = bool(p["mean"] >= by[other]["mean"])
    return out
