"""One ``run`` per action of ``vita ticket-flow``: spectra, compare, transfer and the whole study.

Inputs are read and checked by :func:`load_flows` / :func:`check_flows` before anything is written,
so a bad input leaves no run folder behind.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from vita_cli.core.context import RunContext
from vita_cli.core.errors import UserError
from vita_cli.core.recipe import dump_yaml
from vita_cli.methods.ticket_flow import depth, elastic, plots, study
from vita_cli.methods.ticket_flow.analysis import (
    FlowSpectra,
    check_flow,
    check_same_architecture,
    flow_distances,
    flow_spectra,
)
from vita_cli.methods.ticket_flow.config import AnalysisConfig, TicketFlowRecipe
from vita_cli.methods.ticket_flow.flows import Flow, read_flow, unique_names
from vita_cli.methods.ticket_flow.tasks import load_task, parse_task
from vita_cli.methods.ticket_flow.transfer import spearman_interval, transfer_losses

# ------------------------------------------------------------------ inputs


def load_flows(paths: list[str | Path], cfg: AnalysisConfig) -> list[Flow]:
    if not paths:
        raise UserError(
            "no flow given", "pass one or more IMP run folders (or folders of per-round model files)"
        )
    names = unique_names([Path(p) for p in paths])
    return [read_flow(p, cfg.snapshot, n) for p, n in zip(paths, names, strict=True)]


def check_flows(flows: list[Flow], cfg: AnalysisConfig, same_architecture: bool) -> None:
    for f in flows:
        check_flow(f, cfg)
    if same_architecture and len(flows) > 1:
        check_same_architecture(flows)


def describe(cfg: AnalysisConfig) -> dict:
    rule = f"rank {cfg.rank}" if cfg.rank is not None else f"sigma_i > {cfg.tol:g} sigma_1"
    return {
        "observable": cfg.observable,
        "snapshot": cfg.snapshot,
        "rank_rule": rule,
        "first_round": cfg.first_round,
        "distance": "wasserstein-1 on C (optimal matching)",
        **({"bins": cfg.bins} if cfg.observable == "summaries" else {}),
    }


# ------------------------------------------------------------------ spectra


@dataclass
class SpectraResult:
    analysis: dict
    flows: list[dict]
    plot: str

    def to_dict(self) -> dict:
        return {"analysis": self.analysis, "flows": self.flows, "plot": self.plot}


def _write_recipe(recipe, ctx: RunContext) -> None:
    dump_yaml(recipe, ctx.run_dir / "recipe.yaml")


def run_spectra(recipe: TicketFlowRecipe, ctx: RunContext, flows: list[Flow]) -> SpectraResult:
    cfg = recipe.analysis
    _write_recipe(recipe, ctx)
    spectra = []
    with ctx.reporter.task("DMD spectra", total=len(flows)) as task:
        for f in flows:
            spectra.append(flow_spectra(f, cfg))
            task.advance(1)
    plot = plots.plot_spectra(
        spectra, ctx.run_dir / "spectra.png", f"DMD spectra ({cfg.observable}, {cfg.snapshot})"
    )
    out = SpectraResult(describe(cfg), [s.to_dict() for s in spectra], str(plot))
    ctx.run_dir.write_json("spectra.json", out.to_dict())
    return out


# ------------------------------------------------------------------ compare


@dataclass
class CompareResult:
    analysis: dict
    names: list[str]
    paths: list[str]
    distances: list[list[float]]
    classes: dict[str, int]
    diagnostics: dict[str, dict]
    heatmap: str
    spectra_plot: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _classes(matrix: np.ndarray, names: list[str]) -> dict[str, int]:
    """Average-linkage clusters cut at the median merge height: the "universality classes"."""
    if len(names) < 3:
        return {n: 1 for n in names}
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    z = linkage(squareform(matrix, checks=False), method="average")
    labels = fcluster(z, t=float(np.median(z[:, 2])), criterion="distance")
    return {n: int(c) for n, c in zip(names, labels, strict=True)}


def compare_spectra(
    spectra: list[FlowSpectra], cfg: AnalysisConfig, folder: Path, paths: list[str]
) -> CompareResult:
    names = [s.name for s in spectra]
    matrix = flow_distances(spectra)
    heat = plots.plot_distance(
        matrix, names, folder / "distances.png", f"spectral distance ({cfg.observable})"
    )
    sp = plots.plot_spectra(
        spectra, folder / "spectra.png", f"DMD spectra ({cfg.observable}, {cfg.snapshot})"
    )
    return CompareResult(
        describe(cfg),
        names,
        paths,
        matrix.tolist(),
        _classes(matrix, names),
        {s.name: s.diagnostics() for s in spectra},
        str(heat),
        str(sp),
    )


def run_compare(
    recipe: TicketFlowRecipe, ctx: RunContext, flows: list[Flow], paths: list[str]
) -> CompareResult:
    cfg = recipe.analysis
    _write_recipe(recipe, ctx)
    spectra = []
    with ctx.reporter.task("DMD spectra", total=len(flows)) as task:
        for f in flows:
            spectra.append(flow_spectra(f, cfg))
            task.advance(1)
    out = compare_spectra(spectra, cfg, ctx.run_dir.path, [str(p) for p in paths])
    ctx.run_dir.write_json("compare.json", out.to_dict())
    return out


# ------------------------------------------------------------------ transfer


@dataclass
class TransferResult:
    sources: list[dict]
    targets: list[str]
    accuracy: dict[str, dict[str, float]]  # source name -> target task -> test accuracy
    random: dict[str, float]  # target task -> random-mask accuracy
    losses: list[dict]
    correlation: dict | None
    plot: str | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _cache(path: Path) -> dict:
    out = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                out[rec["key"]] = rec["acc"]
    return out


def _cached(ctx: RunContext, cache: dict, path: Path, key: str, compute) -> float:
    if key in cache:
        return cache[key]
    acc = compute()
    cache[key] = acc
    with open(path, "a") as f:
        f.write(json.dumps({"key": key, "acc": acc}) + "\n")
    return acc


def check_sources(sources: list[Path], source_tasks: list[str] | None, round_index: int | None) -> list:
    """The tickets (mask + rewind point) of the source runs with their task specs; no writes."""
    if source_tasks and len(source_tasks) != len(sources):
        raise UserError("--source-task must be given once per --source (or not at all)")
    tickets = []
    for k, path in enumerate(sources):
        ticket = study.read_ticket(Path(path), round_index)
        task = source_tasks[k] if source_tasks else (ticket.task or {}).get("name")
        if task is None:
            raise UserError(f"{path} does not say which task it was trained on", "pass --source-task TASK")
        parse_task(task)
        tickets.append((Path(path), task, ticket))
    return tickets


def run_transfer(
    recipe: TicketFlowRecipe,
    ctx: RunContext,
    tickets: list,
    targets: list[str],
    distances: dict | None = None,
    seed: int | None = None,
) -> TransferResult:
    """Each source ticket trained on each target task; own tickets (source task = target) give the losses."""
    _write_recipe(recipe, ctx)
    seed = ctx.seed if seed is None else seed
    names = unique_names([p for p, _, _ in tickets])
    data = {t: load_task(parse_task(t), recipe.data) for t in targets}
    cache_path = ctx.run_dir / "transfer_cache.jsonl"
    cache = _cache(cache_path) if ctx.resume else {}
    if not ctx.resume and cache_path.exists():
        cache_path.unlink()
    acc, rnd = {}, {}
    jobs = len(tickets) * len(targets) + (len(targets) if recipe.transfer.random_baseline else 0)
    with ctx.reporter.task("ticket transfer", total=jobs) as task:
        for name, (_, _, ticket) in zip(names, tickets, strict=True):
            acc[name] = {}
            for t in targets:
                key = f"{name}->{t}"
                acc[name][t] = _cached(
                    ctx,
                    cache,
                    cache_path,
                    key,
                    lambda ticket=ticket, t=t: study.train_ticket(ticket, data[t], recipe, seed, ctx.device),
                )
                task.advance(1, last=f"{key} {acc[name][t]:.1f}%")
        if recipe.transfer.random_baseline:
            for t in targets:
                own = [tk for (_, st, tk) in tickets if st == t]
                ref = own[0] if own else tickets[0][2]
                rnd[t] = _cached(
                    ctx,
                    cache,
                    cache_path,
                    f"random->{t}",
                    lambda ref=ref, t=t: study.train_ticket(
                        ref, data[t], recipe, seed, ctx.device, random_mask=True
                    ),
                )
                task.advance(1, last=f"random->{t} {rnd[t]:.1f}%")
    by_task = {}
    for name, (_, src_task, _) in zip(names, tickets, strict=True):
        by_task.setdefault(src_task, name)
    pair_acc = {(src, t): acc[by_task[src]][t] for src in by_task for t in targets}
    losses = [{"source": i, "target": j, "loss": v} for (i, j), v in transfer_losses(pair_acc).items()]
    correlation, plot = None, None
    if distances is not None and losses:
        lookup = {
            (a, b): distances["distances"][x][y]
            for x, a in enumerate(distances["names"])
            for y, b in enumerate(distances["names"])
        }
        points = []
        for row in losses:
            a, b = by_task.get(row["source"]), by_task.get(row["target"])
            if (a, b) in lookup:
                points.append({**row, "distance": lookup[(a, b)], "pair": f"{row['source']}→{row['target']}"})
        if len(points) >= 3:
            correlation = spearman_interval(
                [p["distance"] for p in points],
                [p["loss"] for p in points],
                recipe.transfer.bootstrap,
                recipe.transfer.confidence,
            )
            plot = str(plots.plot_rho(points, ctx.run_dir / "rho.png", f"ρ = {correlation['rho']:.2f}"))
    out = TransferResult(
        [
            {"name": n, "path": str(p), "task": st, "round": tk.round}
            for n, (p, st, tk) in zip(names, tickets, strict=True)
        ],
        targets,
        acc,
        rnd,
        losses,
        correlation,
        plot,
    )
    ctx.run_dir.write_json("transfer.json", out.to_dict())
    return out


# ------------------------------------------------------------------ the whole study


@dataclass
class StudyResult:
    tasks: list[str]
    seeds: list[int]
    imp: dict[str, list[dict]]  # flow name -> IMP round table
    accuracy: dict[str, dict[str, dict[str, float]]]  # seed -> source task -> target task -> acc
    random: dict[str, dict[str, float]]  # seed -> target -> acc
    observables: dict[str, dict]  # observable -> distances, related/unrelated, correlation, verdict
    seconds: float
    figures: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def flow_name(task: str, seed: int) -> str:
    return f"{task}/s{seed}"


def _observable_report(recipe, spectra, losses_by_seed, folder: Path) -> dict:
    """Distances, related vs unrelated, ρ with its interval, and the declared verdict for one observable."""
    cfg = recipe.analysis
    names = [s.name for s in spectra]
    matrix = flow_distances(spectra)
    idx = {n: k for k, n in enumerate(names)}
    heat = plots.plot_distance(
        matrix, names, folder / "distances.png", f"spectral distance ({cfg.observable})"
    )
    sp = plots.plot_spectra(
        [s for s in spectra if s.name.endswith(f"/s{recipe.seeds[0]}")],
        folder / "spectra.png",
        f"DMD spectra, seed {recipe.seeds[0]} ({cfg.observable})",
    )
    d = lambda a, b, s: float(matrix[idx[flow_name(a, s)], idx[flow_name(b, s)]])  # noqa: E731
    task_d = {
        a: {b: float(np.mean([d(a, b, s) for s in recipe.seeds])) for b in recipe.tasks} for a in recipe.tasks
    }
    seed_noise = {}
    for t in recipe.tasks:
        vals = [
            matrix[idx[flow_name(t, s)], idx[flow_name(t, u)]]
            for s in recipe.seeds
            for u in recipe.seeds
            if s < u
        ]
        seed_noise[t] = float(np.mean(vals)) if vals else None
    related = [task_d[a][b] for a, b in recipe.related]
    unrelated = [task_d[a][b] for a, b in recipe.unrelated]
    points = []
    for s in recipe.seeds:
        for (i, j), loss in losses_by_seed.get(s, {}).items():
            points.append(
                {
                    "source": i,
                    "target": j,
                    "seed": s,
                    "loss": loss,
                    "distance": d(i, j, s),
                    "pair": f"{i}→{j}",
                }
            )
    corr = (
        spearman_interval(
            [p["distance"] for p in points],
            [p["loss"] for p in points],
            recipe.transfer.bootstrap,
            recipe.transfer.confidence,
        )
        if len(points) >= 3
        else None
    )
    rho_plot = (
        str(
            plots.plot_rho(
                points,
                folder / "rho.png",
                f"{cfg.observable}: ρ = {corr['rho']:.2f}" if corr else cfg.observable,
            )
        )
        if points
        else None
    )
    closer = bool(related and unrelated and max(related) < min(unrelated))
    positive = bool(corr and np.isfinite(corr["low"]) and corr["low"] > 0)
    return {
        "analysis": describe(cfg),
        "names": names,
        "distances": matrix.tolist(),
        "task_distances": task_d,
        "seed_noise": seed_noise,
        "related": {f"{a}~{b}": task_d[a][b] for a, b in recipe.related},
        "unrelated": {f"{a}~{b}": task_d[a][b] for a, b in recipe.unrelated},
        "related_closer": closer,
        "correlation": corr,
        "rho_positive": positive,
        "effect": closer and positive,
        "points": points,
        "diagnostics": {s.name: s.diagnostics() for s in spectra},
        "step_sizes": {s.name: s.steps for s in spectra},
        "figures": {"distances": str(heat), "spectra": str(sp), "rho": rho_plot},
    }


def run_study(recipe: TicketFlowRecipe, ctx: RunContext) -> StudyResult:
    """IMP per task and seed → spectra per observable → distances → transfer → ρ. Resumable.
    With ``depth.models`` set, the depth study instead (:func:`run_depth_study`)."""
    if recipe.depth.models:
        return run_depth_study(recipe, ctx)
    start = time.perf_counter()
    _write_recipe(recipe, ctx)
    specs = {t: parse_task(t) for t in recipe.tasks}
    data = {t: load_task(s, recipe.data) for t, s in specs.items()}
    sizes = {data[t].num_classes for t in recipe.tasks}
    if len(sizes) > 1:
        raise UserError(
            "the study's tasks have different numbers of classes, so their networks differ",
            "pick tasks with the same number of classes",
        )
    root = ctx.run_dir.path
    imp = {}
    total = len(recipe.tasks) * len(recipe.seeds)
    with ctx.reporter.task("IMP flows", total=total) as task:
        for s in recipe.seeds:
            for t in recipe.tasks:
                folder = root / "flows" / t / f"s{s}"
                imp[flow_name(t, s)] = study.imp_flow(
                    recipe, data[t], s, folder, ctx.device, resume=ctx.resume
                )
                last = imp[flow_name(t, s)][-1]
                task.advance(1, flow=f"{t}/s{s} {last['test_acc']:.1f}%")
    # transfer: ticket of (i, s) trained on j with seed s
    cache_path = root / "transfer_cache.jsonl"
    cache = _cache(cache_path) if ctx.resume else {}
    if not ctx.resume and cache_path.exists():
        cache_path.unlink()
    accuracy, random_acc, losses_by_seed = {}, {}, {}
    seeds = recipe.seeds if recipe.transfer.enabled else []
    jobs = len(seeds) * len(recipe.tasks) * (len(recipe.tasks) + int(recipe.transfer.random_baseline))
    with ctx.reporter.task("ticket transfer", total=jobs) as task:
        for s in seeds:
            tickets = {
                t: study.read_ticket(root / "flows" / t / f"s{s}", recipe.transfer.round)
                for t in recipe.tasks
            }
            acc = {}
            for i in recipe.tasks:
                for j in recipe.tasks:
                    key = f"{i}->{j}/s{s}"
                    acc[(i, j)] = _cached(
                        ctx,
                        cache,
                        cache_path,
                        key,
                        lambda tk=tickets[i], d=data[j], s=s: study.train_ticket(
                            tk, d, recipe, s, ctx.device
                        ),
                    )
                    task.advance(1, last=f"{key} {acc[(i, j)]:.1f}%")
            accuracy[str(s)] = {i: {j: acc[(i, j)] for j in recipe.tasks} for i in recipe.tasks}
            if recipe.transfer.random_baseline:
                random_acc[str(s)] = {}
                for j in recipe.tasks:
                    random_acc[str(s)][j] = _cached(
                        ctx,
                        cache,
                        cache_path,
                        f"random->{j}/s{s}",
                        lambda tk=tickets[j], d=data[j], s=s: study.train_ticket(
                            tk, d, recipe, s, ctx.device, random_mask=True
                        ),
                    )
                    task.advance(1)
            losses_by_seed[s] = transfer_losses(acc)
    reports, figures = {}, {}
    for obs in recipe.observables:
        cfg = replace(recipe.analysis, observable=obs)
        rec = replace(recipe, analysis=cfg)
        flows = [
            read_flow(root / "flows" / t / f"s{s}", cfg.snapshot, flow_name(t, s))
            for s in recipe.seeds
            for t in recipe.tasks
        ]
        check_flows(flows, cfg, same_architecture=True)
        spectra = [flow_spectra(f, cfg) for f in flows]
        folder = root / "analysis" / obs
        folder.mkdir(parents=True, exist_ok=True)
        reports[obs] = _observable_report(rec, spectra, losses_by_seed, folder)
        figures.update({f"{obs}-{k}": v for k, v in reports[obs]["figures"].items() if v})
    out = StudyResult(
        list(recipe.tasks),
        list(recipe.seeds),
        imp,
        accuracy,
        random_acc,
        reports,
        time.perf_counter() - start,
        figures,
    )
    ctx.run_dir.write_json("study.json", out.to_dict())
    return out


# ------------------------------------------------------------------ the depth study


@dataclass
class DepthStudyResult:
    models: list[str]
    depths: dict[str, int]
    tasks: list[str]
    seeds: list[int]
    analysis: dict
    imp: dict[str, list[dict]]  # flow name (model/task/seed) -> IMP round table
    uniformity: dict[str, dict]  # model -> the two measures (mean over flows, per seed, per flow)
    uniform_rule: dict
    block_maps: dict[str, str]  # "resnet14->resnet32" -> "0:0;1:1,2,3,4"
    accuracy: dict[str, dict[str, dict[str, dict[str, float]]]]  # seed -> task -> target -> source -> acc
    random: dict[str, dict[str, dict[str, float]]]  # seed -> task -> target -> acc
    density: dict[str, float]  # "source->target" -> the moved (or own) ticket's density, seed/task mean
    elt_rule: dict | None
    seconds: float
    figures: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def run_depth_study(recipe: TicketFlowRecipe, ctx: RunContext) -> DepthStudyResult:
    """IMP per depth, task and seed → per-layer uniformity per depth → every depth's ticket moved to
    every other depth (elastic transformation) and trained against the target's own ticket and a
    random mask. Resumable: finished flows and trainings are kept."""
    start = time.perf_counter()
    models = list(recipe.depth.models)
    depths = {m: elastic.depth_of(m) for m in models}
    specs = {t: parse_task(t) for t in recipe.tasks}
    data = {t: load_task(s, recipe.data) for t, s in specs.items()}
    _write_recipe(recipe, ctx)
    root = ctx.run_dir.path
    recipes = {m: replace(recipe, model=replace(recipe.model, name=m)) for m in models}
    folder = lambda m, t, s: root / "flows" / m / t / f"s{s}"  # noqa: E731
    imp = {}
    with ctx.reporter.task("IMP flows", total=len(models) * len(recipe.tasks) * len(recipe.seeds)) as task:
        for s in recipe.seeds:
            for m in models:
                for t in recipe.tasks:
                    key = depth.flow_key(m, t, s)
                    imp[key] = study.imp_flow(
                        recipes[m], data[t], s, folder(m, t, s), ctx.device, resume=ctx.resume
                    )
                    task.advance(1, flow=f"{key} {imp[key][-1]['test_acc']:.1f}%")
    cfg = recipe.analysis
    diagnostics = {}
    with ctx.reporter.task("per-layer DMD spectra", total=len(imp)) as task:
        for s in recipe.seeds:
            for m in models:
                for t in recipe.tasks:
                    key = depth.flow_key(m, t, s)
                    flow = read_flow(folder(m, t, s), cfg.snapshot, key)
                    check_flow(flow, cfg)
                    diagnostics[key] = flow_spectra(flow, cfg).diagnostics()
                    task.advance(1)
    table = depth.uniformity(diagnostics, models, recipe.tasks, recipe.seeds)
    uniform = depth.uniformity_rule(table, depths)
    maps = {f"{a}->{b}": elastic.describe_map(depths[a], depths[b]) for a in models for b in models if a != b}
    cache_path = root / "transfer_cache.jsonl"
    cache = _cache(cache_path) if ctx.resume else {}
    if not ctx.resume and cache_path.exists():
        cache_path.unlink()
    accuracy: dict = {}
    random_acc: dict = {}
    dens: dict[str, list[float]] = {}
    seeds = recipe.seeds if recipe.transfer.enabled else []
    per_target = len(models) + int(recipe.transfer.random_baseline)
    jobs = len(seeds) * len(recipe.tasks) * len(models) * per_target
    with ctx.reporter.task("elastic ticket transfer", total=jobs) as task:
        for s in seeds:
            accuracy[str(s)], random_acc[str(s)] = {}, {}
            for t in recipe.tasks:
                tickets = {m: study.read_ticket(folder(m, t, s), recipe.transfer.round) for m in models}
                accuracy[str(s)][t], random_acc[str(s)][t] = {}, {}
                for b in models:
                    row = {}
                    for a in models:
                        ticket = (
                            tickets[b]
                            if a == b
                            else depth.move_ticket(tickets[a], depths[a], tickets[b], depths[b])
                        )
                        dens.setdefault(f"{a}->{b}", []).append(depth.density(ticket.masks))
                        key = f"{a}->{b}:{t}/s{s}"
                        row[a] = _cached(
                            ctx,
                            cache,
                            cache_path,
                            key,
                            lambda tk=ticket, b=b, t=t, s=s: study.train_ticket(
                                tk, data[t], recipes[b], s, ctx.device
                            ),
                        )
                        task.advance(1, last=f"{key} {row[a]:.1f}%")
                    accuracy[str(s)][t][b] = row
                    if recipe.transfer.random_baseline:
                        key = f"random->{b}:{t}/s{s}"
                        random_acc[str(s)][t][b] = _cached(
                            ctx,
                            cache,
                            cache_path,
                            key,
                            lambda tk=tickets[b], b=b, t=t, s=s: study.train_ticket(
                                tk, data[t], recipes[b], s, ctx.device, random_mask=True
                            ),
                        )
                        task.advance(1, last=f"{key} {random_acc[str(s)][t][b]:.1f}%")
    rule = depth.elt_rule(accuracy, random_acc, models, depths, recipe.depth.margin) if accuracy else None
    figures = {
        "uniformity": str(
            plots.plot_uniformity(table, models, depth.MEASURES, root / "analysis" / "uniformity.png")
        )
    }
    if accuracy:
        figures["transfer"] = str(
            plots.plot_depth_transfer(
                accuracy, random_acc, models, root / "analysis" / "elastic_transfer.png"
            )
        )
    out = DepthStudyResult(
        models,
        depths,
        list(recipe.tasks),
        list(recipe.seeds),
        describe(cfg),
        imp,
        table,
        uniform,
        maps,
        accuracy,
        random_acc,
        {k: float(np.mean(v)) for k, v in dens.items()},
        rule,
        time.perf_counter() - start,
        figures,
    )
    ctx.run_dir.write_json("study.json", out.to_dict())
    return out
