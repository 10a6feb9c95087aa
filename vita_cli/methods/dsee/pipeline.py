"""``run`` functions of ``vita dsee tune | eval | predict``: inputs checked first, then the run folder.

tune: phase 1 (the arm's tuning), optional phase 2 (unstructured masks or head removal) and phase 3
(re-tuning with the masks fixed), each phase's best state chosen on dev accuracy; the merged model
is exported as a Hugging Face directory and the update alone (A, B, S, Ω) as safetensors.
"""

from __future__ import annotations

import contextlib
import copy
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from vita_cli.core.context import RunContext
from vita_cli.core.errors import UserError
from vita_cli.core.recipe import dump_yaml
from vita_cli.core.seed import seed_everything
from vita_cli.methods.dsee import cost, heads, model_io, prune
from vita_cli.methods.dsee.adapter import (
    adapted_layers,
    merge_adapters,
    total_parameters,
    trainable_parameters,
)
from vita_cli.methods.dsee.arms import ArmSpec, build_arm, check_arm
from vita_cli.methods.dsee.config import DseeRecipe
from vita_cli.methods.dsee.data import BUILTIN, Corpus, load_corpus, split_corpus, write_jsonl
from vita_cli.methods.dsee.train import Encoded, collate, encode, evaluate, fit, logits_of


def arm_spec(recipe: DseeRecipe) -> ArmSpec:
    a = recipe.adapter
    return ArmSpec(
        method=recipe.method,
        r=a.r,
        alpha=a.alpha,
        n_sparse=a.n_sparse,
        omega=a.omega,
        targets=list(a.targets),
        init_std=a.init_std,
        grebsmo=asdict(a.grebsmo),
    )


@dataclass
class Prepared:
    model_dir: Path
    tokenizer: object
    model: torch.nn.Module
    corpus: Corpus
    splits: object
    encoded: dict[str, Encoded]


def prepare_tune(recipe: DseeRecipe, seed: int) -> Prepared:
    """Every input check (model files, data columns and labels, r, N, heads) before anything is written."""
    model_dir = model_io.resolve_model_dir(recipe.model.name)
    d = recipe.data
    corpus = load_corpus(d.source, d.text_column, d.label_column)
    splits = split_corpus(corpus, d.dev_fraction, d.test_fraction, d.split_seed, d.limit)
    tokenizer = model_io.load_tokenizer(model_dir)
    seed_everything(seed)  # the fresh classifier head
    model = model_io.load_classifier(model_dir, corpus.names, recipe.model.layers)
    try:
        check_arm(model, arm_spec(recipe))
    except ValueError as exc:
        raise UserError(str(exc), "lower the value or change adapter.targets") from exc
    if recipe.prune.heads:
        try:
            n = heads.num_heads(model)
            heads.attention_blocks(model)
        except (ValueError, AttributeError) as exc:
            raise UserError(f"--heads needs a BERT-style encoder: {exc}") from exc
        if recipe.prune.heads >= n:
            raise UserError(
                f"--heads {recipe.prune.heads} would remove every head (the model has {n} per layer)",
                f"choose fewer than {n}",
            )
    L = recipe.model.max_length
    encoded = {
        name: encode(tokenizer, part.texts, part.labels, L)
        for name, part in (("train", splits.train), ("dev", splits.dev), ("test", splits.test))
    }
    return Prepared(model_dir, tokenizer, model, corpus, splits, encoded)


@dataclass
class TuneResult:
    method: str
    model: str
    data: str
    rows: list[dict]
    trainable: int
    total: int
    trainable_pct: float
    step0_max_abs_diff: float | None
    export_max_abs_diff: float | None
    omega: str | None
    n_sparse_per_matrix: int | None
    adapted_matrices: int
    split_sizes: dict[str, int]
    train_step_ms: float
    wall_s: float
    model_dir: str
    adapter: str | None
    plot: str
    run_dir: str
    fits: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _cost(model, recipe: DseeRecipe, device, length: int | None = None) -> dict:
    merged = merge_adapters(copy.deepcopy(model))
    length = recipe.report.latency_length or length or recipe.model.max_length
    macs = cost.count_macs(merged, recipe.report.latency_batch, length, device)
    lat = cost.latency(
        merged,
        recipe.report.latency_batch,
        length,
        device,
        recipe.report.latency_repeats,
        recipe.report.latency_threads,
    )
    return {
        **macs,
        "latency_ms": round(lat["latency_ms"], 2),
        "cpu_ms": round(lat["cpu_ms"], 2),
        "latency_batch": recipe.report.latency_batch,
        "latency_length": length,
    }


def _row(phase, model, enc, device, n_classes, trainable, total, costs) -> dict:
    dev = evaluate(model, enc["dev"], device, n_classes)
    test = evaluate(model, enc["test"], device, n_classes)
    return {
        "phase": phase,
        "dev_accuracy": round(dev["accuracy"], 2),
        "test_accuracy": round(test["accuracy"], 2),
        "test_f1": round(test["f1"], 2),
        "trainable": trainable,
        "trainable_pct": round(100.0 * trainable / total, 4),
        "sparsity": round(prune.backbone_sparsity(model), 4),
        "macs_per_sequence": costs["macs_per_sequence"],
        "sparse_macs_per_sequence": costs["sparse_macs_per_sequence"],
        "latency_ms": costs["latency_ms"],
        "cpu_ms": costs["cpu_ms"],
    }


def _fit(model, prep, recipe, ctx, label, epochs, lr, n_classes):
    t = recipe.train
    res = fit(
        model,
        prep.encoded["train"],
        prep.encoded["dev"],
        epochs=epochs,
        lr=lr,
        batch_size=t.batch_size,
        n_classes=n_classes,
        device=ctx.device,
        seed=ctx.seed,
        weight_decay=t.weight_decay,
        evals_per_epoch=t.evals_per_epoch,
        max_grad_norm=t.max_grad_norm,
        bucket=t.bucket,
        reporter=ctx.reporter,
        label=label,
        on_eval=lambda rec: ctx.run_dir.append_metrics({"phase": label, **rec}),
    )
    return res


def _plot(fits: dict, rows: list[dict], path: Path, title: str) -> Path:
    from vita_cli.core.plots import new_figure, save_figure

    fig, ax = new_figure(7.0, 3.8)
    offset = 0
    for label, res in fits.items():
        if not res.losses:
            continue
        xs = list(range(offset + 1, offset + len(res.losses) + 1))
        ax.plot(xs, res.losses, lw=0.8, label=f"{label} loss")
        offset += len(res.losses)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    offset = 0
    for label, res in fits.items():
        pts = [(offset + e["step"], e["dev_accuracy"]) for e in res.evals if e["step"]]
        if pts:
            ax2.plot(*zip(*pts, strict=True), marker="o", ls="--", label=f"{label} dev acc")
        offset += len(res.losses)
    ax2.set_ylabel("dev accuracy (%)")
    summary = ", ".join(f"{r['phase']} {r['test_accuracy']:.1f}" for r in rows)
    ax.set_title(f"{title}\ntest accuracy: {summary}", fontsize=9)
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=7, loc="center right")
    return save_figure(fig, path)


def _export_check(model, export_dir: Path, enc: Encoded, device) -> float:
    """Max |logits(vita) − logits(plain transformers on the exported folder)| on a few dev rows."""
    import transformers

    plain = transformers.AutoModelForSequenceClassification.from_pretrained(
        str(export_dir), local_files_only=True
    )
    plain.to(device).eval()
    idx = list(range(min(8, len(enc))))
    batch = collate(enc, idx, device)
    model.eval()
    with torch.no_grad():
        a = logits_of(model, batch).float()
        b = logits_of(plain, batch).float()
    return float((a - b).abs().max())


@contextlib.contextmanager
def _threads(n: int | None):
    """torch's CPU thread count for the run (restored afterwards)."""
    saved = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


def run_tune(recipe: DseeRecipe, ctx: RunContext) -> TuneResult:
    with _threads(recipe.threads):
        return _run_tune(recipe, ctx)


def _run_tune(recipe: DseeRecipe, ctx: RunContext) -> TuneResult:
    start = time.perf_counter()
    prep = prepare_tune(recipe, ctx.seed)
    rd = ctx.run_dir  # inputs are valid: the run folder starts here
    dump_yaml(recipe, rd / "recipe.yaml")
    (rd / "data").mkdir(exist_ok=True)
    for name in ("train", "dev", "test"):
        write_jsonl(getattr(prep.splits, name), rd / "data" / f"{name}.jsonl")
    device, model = ctx.device, prep.model.to(ctx.device)
    n_classes = len(prep.corpus.names)
    model.config.vita_max_length = recipe.model.max_length
    probe = collate(prep.encoded["dev"], list(range(min(8, len(prep.encoded["dev"])))), device)
    model.eval()
    with torch.no_grad():
        reference = logits_of(model, probe).float()
    spec = arm_spec(recipe)
    with ctx.reporter.task(f"{recipe.method}: adapters", total=None) as task:
        build_arm(model, spec, seed=ctx.seed, on_layer=lambda i, n: task.advance(1, layer=f"{i}/{n}"))
    model.to(device).eval()
    with torch.no_grad():
        step0 = float((logits_of(model, probe).float() - reference).abs().max())
    trainable = trainable_parameters(model)
    total = total_parameters(model)
    base_cost = _cost(model, recipe, device)
    rows, fits = [], {}
    lr = recipe.train.lr_full if recipe.method == "full" else recipe.train.lr
    fits["tune"] = _fit(model, prep, recipe, ctx, "tune", recipe.train.epochs, lr, n_classes)
    rows.append(_row("tuned", model, prep.encoded, device, n_classes, trainable, total, base_cost))
    p = recipe.prune
    branches = ([("unstructured", "model")] if p.unstructured else []) + (
        [("heads", "model-heads" if p.unstructured else "model")] if p.heads else []
    )
    tuned_state = copy.deepcopy(model) if len(branches) > 1 else None
    exports = {}
    if not branches:
        exports["model"] = model
    for k, (kind, folder) in enumerate(branches):
        if k:
            model = copy.deepcopy(tuned_state).to(device)
        if kind == "unstructured":
            prune.prune_unstructured(model, p.unstructured, p.rank_qv_by)
            phase = f"unstructured {p.unstructured:g}"
        else:
            removed = heads.lowest_heads(heads.head_scores(model), p.heads)
            heads.remove_heads(model, removed)
            phase = f"{p.heads} heads/layer removed"
        model.to(device)
        pruned_cost = _cost(model, recipe, device)
        rows.append(
            _row(
                f"{phase}, pruned only",
                model,
                prep.encoded,
                device,
                n_classes,
                trainable_parameters(model),
                total,
                pruned_cost,
            )
        )
        fits[f"retune {kind}"] = _fit(
            model, prep, recipe, ctx, f"retune {kind}", p.retune_epochs, p.retune_lr, n_classes
        )
        rows.append(
            _row(
                f"{phase}, re-tuned",
                model,
                prep.encoded,
                device,
                n_classes,
                trainable_parameters(model),
                total,
                pruned_cost,
            )
        )
        exports[folder] = model
    export_dir = export_diff = adapter_path = None
    for folder, m in exports.items():
        out = model_io.export_hf(m, prep.tokenizer, rd / folder)
        diff = _export_check(m, out, prep.encoded["dev"], device)
        export_diff = diff if export_diff is None else max(export_diff, diff)
        if adapted_layers(m):
            name = (
                "adapter.safetensors"
                if folder == "model"
                else f"adapter-{folder.split('-', 1)[1]}.safetensors"
            )
            saved = str(model_io.save_adapter(m, rd / name, {"verb": "dsee tune", "method": recipe.method}))
            adapter_path = adapter_path or saved
        export_dir = export_dir or out
    for row in rows:
        rd.append_metrics({"row": row})
    plot = _plot(fits, rows, rd / "training.png", f"{recipe.method} on {prep.corpus.source}")
    n_adapted = len(adapted_layers(model))
    result = TuneResult(
        method=recipe.method,
        model=str(prep.model_dir),
        data=prep.corpus.source,
        rows=rows,
        trainable=trainable,
        total=total,
        trainable_pct=round(100.0 * trainable / total, 4),
        step0_max_abs_diff=step0,
        export_max_abs_diff=export_diff,
        omega=spec.omega if recipe.method == "dsee" else None,
        n_sparse_per_matrix=spec.n_sparse if recipe.method == "dsee" else None,
        adapted_matrices=n_adapted,
        split_sizes={k: len(v) for k, v in prep.encoded.items()},
        train_step_ms=round(1000 * fits["tune"].step_seconds, 1),
        wall_s=round(time.perf_counter() - start, 1),
        model_dir=str(export_dir),
        adapter=adapter_path,
        plot=str(plot),
        run_dir=str(rd.path),
        fits={k: {"steps": v.steps, "seconds": round(v.seconds, 1), "best": v.best} for k, v in fits.items()},
    )
    rd.write_json("results.json", result.to_dict())
    return result


# ---------------------------------------------------------------- eval / predict


def load_tuned(model_dir: str | Path):
    path = model_io.resolve_model_dir(str(model_dir))
    model = model_io.load_classifier(path)
    tokenizer = model_io.load_tokenizer(path)
    return path, model, tokenizer


def _label_names(model) -> list[str]:
    n = model.config.num_labels
    return [str(model.config.id2label.get(i, i)) for i in range(n)]


@dataclass
class EvalResult:
    model: str
    data: str
    rows: int
    accuracy: float
    f1: float
    loss: float
    sparsity: float
    parameters: int
    macs_per_sequence: int
    sparse_macs_per_sequence: int
    latency_ms: float
    cpu_ms: float
    pruned_heads: dict | None
    run_dir: str

    def to_dict(self) -> dict:
        return asdict(self)


def run_eval(recipe: DseeRecipe, ctx: RunContext, model_dir: str | Path, data: str) -> EvalResult:
    """Accuracy / F1 on a labelled file (every row) or a built-in set's seeded test split, and the cost."""
    with _threads(recipe.threads):
        return _run_eval(recipe, ctx, model_dir, data)


def _run_eval(recipe: DseeRecipe, ctx: RunContext, model_dir: str | Path, data: str) -> EvalResult:
    path, model, tokenizer = load_tuned(model_dir)
    d = recipe.data
    corpus = load_corpus(data, d.text_column, d.label_column)
    if data in BUILTIN:
        corpus = split_corpus(corpus, d.dev_fraction, d.test_fraction, d.split_seed, d.limit).test
    names = _label_names(model)
    index = {n: i for i, n in enumerate(names)}
    missing = sorted({corpus.names[y] for y in corpus.labels} - set(index))
    if missing:
        raise UserError(
            f"labels {', '.join(missing[:5])} of {data} are not labels of the model ({', '.join(names)})",
            "evaluate on data with the labels the model was tuned on",
        )
    labels = [index[corpus.names[y]] for y in corpus.labels]
    length = getattr(model.config, "vita_max_length", None) or recipe.model.max_length
    enc = encode(tokenizer, corpus.texts, labels, length)
    device = ctx.device
    model.to(device)
    metrics = evaluate(model, enc, device, len(names))
    costs = _cost(model, recipe, device, length)
    result = EvalResult(
        model=str(path),
        data=corpus.source,
        rows=len(enc),
        accuracy=round(metrics["accuracy"], 2),
        f1=round(metrics["f1"], 2),
        loss=round(metrics["loss"], 4),
        sparsity=round(prune.backbone_sparsity(model), 4),
        parameters=total_parameters(model),
        macs_per_sequence=costs["macs_per_sequence"],
        sparse_macs_per_sequence=costs["sparse_macs_per_sequence"],
        latency_ms=costs["latency_ms"],
        cpu_ms=costs["cpu_ms"],
        pruned_heads=getattr(model.config, "vita_pruned_heads", None),
        run_dir=str(ctx.run_dir.path),
    )
    ctx.run_dir.write_json("results.json", result.to_dict())
    return result


@dataclass
class PredictResult:
    model: str
    predictions: list[dict]

    def to_dict(self) -> dict:
        return asdict(self)


def run_predict(model_dir: str | Path, texts: list[str], device: torch.device) -> PredictResult:
    if not texts or not all(t.strip() for t in texts):
        raise UserError("give at least one non-empty text to classify")
    path, model, tokenizer = load_tuned(model_dir)
    length = getattr(model.config, "vita_max_length", None) or 128
    names = _label_names(model)
    enc = encode(tokenizer, texts, [0] * len(texts), length)
    model.to(device).eval()
    with torch.no_grad():
        probs = torch.softmax(
            logits_of(model, collate(enc, list(range(len(texts))), device)).float(), -1
        ).cpu()
    preds = [
        {
            "text": t,
            "label": names[int(p.argmax())],
            "probabilities": {n: round(float(v), 4) for n, v in zip(names, p, strict=True)},
        }
        for t, p in zip(texts, probs, strict=True)
    ]
    return PredictResult(str(path), preds)


# ---------------------------------------------------------------- report over several runs


def arm_label(result: dict) -> str:
    return f"{result['method']} ({result['omega']} Ω)" if result.get("omega") else result["method"]


@dataclass
class ReportResult:
    runs: int
    table: list[dict]  # one row per (arm, phase): mean and std over seeds of every metric
    markdown: str
    plot: str
    run_dir: str

    def to_dict(self) -> dict:
        return asdict(self)


def _mean_std(values: list[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    std = (sum((v - mean) ** 2 for v in values) / (n - 1)) ** 0.5 if n > 1 else 0.0
    return mean, std


def read_tune_results(paths: list[str | Path]) -> list[dict]:
    import json

    results = []
    for p in paths:
        path = Path(p)
        path = path / "results.json" if path.is_dir() else path
        if not path.is_file():
            raise UserError(f"no results.json in {p}", "give folders written by `vita dsee tune`")
        try:
            data = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"{path} is not a JSON results file") from exc
        if not isinstance(data, dict) or "rows" not in data or "method" not in data:
            raise UserError(f"{path} is not a `vita dsee tune` result")
        results.append(data)
    if not results:
        raise UserError("give at least one run folder")
    return results


METRICS = (
    "test_accuracy",
    "test_f1",
    "dev_accuracy",
    "trainable_pct",
    "sparsity",
    "macs_per_sequence",
    "sparse_macs_per_sequence",
    "latency_ms",
    "cpu_ms",
)


def run_report(paths: list[str | Path], ctx: RunContext) -> ReportResult:
    """Mean ± std over seeds of every (arm, phase) row of several tune runs; Markdown, JSON and a PNG."""
    results = read_tune_results(paths)
    groups: dict[tuple[str, str], list[dict]] = {}
    for res in results:
        for row in res["rows"]:
            groups.setdefault((arm_label(res), row["phase"]), []).append(row)
    table = []
    for (arm, phase), rows in groups.items():
        entry = {"arm": arm, "phase": phase, "seeds": len(rows)}
        for m in METRICS:
            mean, std = _mean_std([float(r.get(m, "nan")) for r in rows])
            entry[m] = round(mean, 4)
            entry[f"{m}_std"] = round(std, 4)
        entry["test_accuracy_per_seed"] = [r["test_accuracy"] for r in rows]
        table.append(entry)
    lines = [
        "| arm | phase | seeds | test acc (%) | test F1 | trainable (%) | sparsity | MACs/seq (M) | latency wall (ms) | CPU (ms) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in table:
        lines.append(
            f"| {e['arm']} | {e['phase']} | {e['seeds']} | {e['test_accuracy']:.2f} ± {e['test_accuracy_std']:.2f} "
            f"| {e['test_f1']:.2f} ± {e['test_f1_std']:.2f} | {e['trainable_pct']:.3f} | {e['sparsity']:.3f} "
            f"| {e['macs_per_sequence'] / 1e6:.1f} | {e['latency_ms']:.0f} ± {e['latency_ms_std']:.0f} "
            f"| {e['cpu_ms']:.0f} ± {e['cpu_ms_std']:.0f} |"
        )
    markdown = "\n".join(lines) + "\n"
    rd = ctx.run_dir
    (rd / "report.md").write_text(markdown)
    plot = _plot_report(table, rd / "report.png")
    result = ReportResult(len(results), table, markdown, str(plot), str(rd.path))
    rd.write_json("report.json", result.to_dict())
    return result


def _plot_report(table: list[dict], path: Path) -> Path:
    from vita_cli.core.plots import new_figure, save_figure

    fig, ax = new_figure(7.5, 0.45 * len(table) + 1.5)
    labels = [f"{e['arm']}: {e['phase']}" for e in table]
    ys = list(range(len(table)))[::-1]
    ax.barh(
        ys, [e["test_accuracy"] for e in table], xerr=[e["test_accuracy_std"] for e in table], color="#4c78a8"
    )
    for y, e in zip(ys, table, strict=True):
        ax.text(
            e["test_accuracy"] + e["test_accuracy_std"] + 0.3,
            y,
            f"{e['trainable_pct']:.2f} % trained, {e['macs_per_sequence'] / 1e6:.0f} M MACs",
            va="center",
            fontsize=7,
        )
    ax.set_yticks(ys)
    ax.set_yticklabels(labels, fontsize=7)
    low = min(e["test_accuracy"] - e["test_accuracy_std"] for e in table)
    ax.set_xlim(max(0, low - 5), 100)
    ax.set_xlabel("test accuracy (%), mean ± std over seeds")
    return save_figure(fig, path)
