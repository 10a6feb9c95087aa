"""Few-shot completion on held-out fonts: reference draws, metrics per font, the paired comparison."""

from __future__ import annotations

import numpy as np
from scipy import stats

from vita_cli.core.progress import SILENT, Reporter
from vita_cli.methods.font_graph.complete import complete
from vita_cli.methods.font_graph.config import EvalConfig
from vita_cli.methods.font_graph.metrics import METRICS, graph_error, image_metrics


def reference_draws(n_fonts: int, cfg: EvalConfig) -> dict[tuple[int, int], list[list[int]]]:
    """(font position, k) → ``draws`` sets of k distinct letters; fixed by ``cfg.seed`` for every model."""
    rng = np.random.default_rng(cfg.seed)
    return {
        (i, k): [sorted(rng.choice(26, k, replace=False).tolist()) for _ in range(cfg.draws)]
        for i in range(n_fonts)
        for k in cfg.k
    }


def evaluate_models(
    models: dict,
    images: np.ndarray,
    graphs: np.ndarray,
    matches: np.ndarray,
    template_ends: np.ndarray,
    cfg: EvalConfig,
    device,
    reporter: Reporter = SILENT,
) -> list[dict]:
    """Rows (arm, font, k, draw, metrics) over the non-reference letters. images [F, 26, R, R] in [0, 1]."""
    draws = reference_draws(len(images), cfg)
    rows = []
    with reporter.task("evaluating", total=len(draws) * len(models)) as task:
        for arm, model in models.items():
            for (i, k), sets in draws.items():
                for d, refs in enumerate(sets):
                    pred, pred_graph = complete(model, images[i, refs], template_ends, device)
                    rest = [c for c in range(26) if c not in refs]
                    row = {"arm": arm, "font": i, "k": k, "draw": d, "refs": refs}
                    row.update({m: float(v) for m, v in image_metrics(pred[rest], images[i, rest]).items()})
                    ok = [c for c in rest if matches[i, c]]
                    if pred_graph is not None and ok:
                        row["graph_error"] = graph_error(pred_graph[ok], graphs[i, ok])
                    rows.append(row)
                task.advance(1, arm=arm)
    return rows


def summarise(rows: list[dict]) -> dict:
    """arm → k → metric → mean over fonts and draws."""
    out: dict = {}
    for arm in dict.fromkeys(r["arm"] for r in rows):
        out[arm] = {}
        for k in sorted({r["k"] for r in rows}):
            sel = [r for r in rows if r["arm"] == arm and r["k"] == k]
            keys = list(METRICS) + (["graph_error"] if any("graph_error" in r for r in sel) else [])
            out[arm][k] = {m: float(np.mean([r[m] for r in sel if m in r])) for m in keys}
    return out


def per_font(rows: list[dict], arm: str, k: int, metric: str) -> dict:
    """font → mean of ``metric`` over draws (and over seeds when rows hold several)."""
    acc: dict = {}
    for r in rows:
        if r["arm"] == arm and r["k"] == k:
            acc.setdefault(r["font"], []).append(r[metric])
    return {f: float(np.mean(v)) for f, v in acc.items()}


def paired_test(rows: list[dict], arm: str, baseline: str, k: int, metric: str) -> dict:
    """arm − baseline per font: mean, sd, wins, one-sided Wilcoxon signed-rank and paired t p-values."""
    a, b = per_font(rows, arm, k, metric), per_font(rows, baseline, k, metric)
    fonts = sorted(set(a) & set(b))
    diff = np.array([a[f] - b[f] for f in fonts])
    res = {
        "k": k,
        "metric": metric,
        "fonts": len(fonts),
        "mean_diff": float(diff.mean()) if len(diff) else 0.0,
        "sd_diff": float(diff.std(ddof=1)) if len(diff) > 1 else 0.0,
        "wins": int((diff > 0).sum()),
    }
    if len(diff) > 1 and np.any(diff != 0):
        res["p_wilcoxon"] = float(stats.wilcoxon(diff, alternative="greater").pvalue)
        res["p_ttest"] = float(stats.ttest_1samp(diff, 0.0, alternative="greater").pvalue)
    else:
        res["p_wilcoxon"] = res["p_ttest"] = 1.0
    return res
