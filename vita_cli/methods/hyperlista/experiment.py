"""The experiments behind ``vita hyperlista tune|eval|compare``, callable from Python.

Each function takes the typed recipe and tensors and returns plain data; the CLI adds files,
tables and plots.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from vita_cli.core.errors import UserError, require_file
from vita_cli.core.progress import SILENT, Reporter
from vita_cli.methods.hyperlista import classic
from vita_cli.methods.hyperlista.analytic import Operators, build_operators, coherence
from vita_cli.methods.hyperlista.config import LEARNED_METHODS, HyperlistaRecipe, ProblemConfig
from vita_cli.methods.hyperlista.hyper import (
    HyperConstants,
    SearchResult,
    grid_search,
    hyperlista_curve,
    random_search,
    refine_axes,
)
from vita_cli.methods.hyperlista.learned import (
    Schedule,
    Unrolled,
    build_learned,
    learned_curve,
    train_layerwise,
)
from vita_cli.methods.hyperlista.problems import (
    Problem,
    SignalSpec,
    gaussian_matrix,
    load_matrix,
    make_problem,
    make_split,
)


def signal_of(cfg: ProblemConfig) -> SignalSpec:
    return SignalSpec(p=cfg.p, p_max=cfg.p_max, mu=cfg.mu, sigma=cfg.sigma, snr_db=cfg.snr_db)


def build_matrix(cfg: ProblemConfig) -> torch.Tensor:
    if cfg.matrix:
        return load_matrix(cfg.matrix, expect=(cfg.m, cfg.n))
    return gaussian_matrix(cfg.m, cfg.n, cfg.seed, cfg.condition_number)


def build_problem(
    cfg: ProblemConfig, device: torch.device | str = "cpu", saved: Problem | None = None
) -> tuple[Problem, Operators]:
    """The recipe's problem (splits from fixed seeds) and the operators derived from A.

    With ``saved`` (a problem file from an earlier run) its A and test set are used; training and
    validation problems are drawn from the recipe's distribution on that A.
    """
    if saved is not None:
        A = saved.A
        cfg = replace(cfg, m=A.shape[0], n=A.shape[1], matrix=None)
    else:
        A = build_matrix(cfg)
    problem = make_problem(
        A, signal_of(cfg), cfg.n_train, cfg.n_val, cfg.n_test if saved is None else 1, cfg.seed
    )
    if saved is not None and len(saved.test):
        problem = Problem(A, problem.train, problem.val, saved.test)
    ops = build_operators(A, "symmetric")  # cheap (a 500×500 solve); serves both weights
    problem = Problem(
        problem.A.to(device), problem.train.to(device), problem.val.to(device), problem.test.to(device)
    )
    return problem, ops.to(device)


def matrix_facts(ops: Operators) -> dict:
    return {
        "m": ops.m,
        "n": ops.n,
        "L": round(ops.L, 4),
        "coherence_A": round(coherence(ops.A, ops.A), 4),
        "coherence_W": round(coherence(ops.W, ops.A), 4),
    }


# ---------------------------------------------------------------- tuning


@dataclass
class TuneResult:
    constants: HyperConstants
    tune_nmse_db: float  # at layer K on the tuning problems
    points: int
    seconds: float
    search: SearchResult

    def to_json(self, recipe: HyperlistaRecipe) -> dict:
        return {
            "method": "hyperlista",
            **self.constants.as_dict(),
            "layers": recipe.tune.layers,
            "weight": recipe.tune.weight,
            "mag_ratio": recipe.tune.mag_ratio,
            "tune_nmse_db": round(self.tune_nmse_db, 3),
            "points": self.points,
            "seconds": round(self.seconds, 2),
        }


def search_axes(recipe: HyperlistaRecipe, ops: Operators) -> dict[str, list[float]]:
    t = recipe.tune
    unit = 1.0 / ops.L if t.gamma_unit == "1/L" else 1.0
    return {
        "c_beta": t.c_beta.values(),
        "c_theta": t.c_theta.values(),
        "c_ss": t.c_ss.values(),
        "gamma": [g * unit for g in t.gamma.values()],
    }


def tune(
    recipe: HyperlistaRecipe, problem: Problem, ops: Operators, reporter: Reporter = SILENT, seed: int = 0
) -> TuneResult:
    """Search the constants on the first ``tune_samples`` training problems (layer-K error)."""
    t = recipe.tune
    part = problem.train.head(t.tune_samples)
    symmetric = t.weight == "symmetric"
    axes = search_axes(recipe, ops)
    start = time.perf_counter()
    kwargs = dict(symmetric=symmetric, mag_ratio=t.mag_ratio, chunk=t.chunk, reporter=reporter)
    if t.search == "grid":
        result = grid_search(axes, part.b, part.x, ops, t.layers, **kwargs)
    else:
        bounds = {name: (min(v), max(v)) for name, v in axes.items()}
        result = random_search(bounds, t.trials, part.b, part.x, ops, t.layers, seed=seed, **kwargs)
    points = result.points.shape[0]
    if t.refine:
        finer = refine_axes(axes, result.best)
        second = grid_search(finer, part.b, part.x, ops, t.layers, **kwargs)
        points += second.points.shape[0]
        if second.best_score < result.best_score:
            result = second
    return TuneResult(result.best, result.best_nmse_db, points, time.perf_counter() - start, result)


def save_params(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data, indent=2))
    return path


def load_params(path: str | Path) -> HyperConstants:
    """Constants saved by ``vita hyperlista tune`` (hyperlista.json)."""
    require_file(path, "parameter file")
    try:
        data = json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(
            f"parameter file {path} is not valid JSON: {exc}", "use the hyperlista.json that tune wrote"
        ) from exc
    missing = [k for k in ("c_beta", "c_theta", "c_ss", "gamma") if not isinstance(data.get(k), (int, float))]
    if missing:
        raise UserError(
            f"parameter file {path} lacks numeric {', '.join(missing)}",
            "use the hyperlista.json that tune wrote",
        )
    return HyperConstants(
        float(data["c_beta"]), float(data["c_theta"]), float(data["c_ss"]), float(data["gamma"])
    )


# ---------------------------------------------------------------- baselines


def schedule_of(recipe: HyperlistaRecipe) -> Schedule:
    b = recipe.baselines
    return Schedule(
        epochs=list(b.epochs), best_wait=b.best_wait, lr=b.lr, lr_matrix=b.lr_matrix, batch_size=b.batch_size
    )


def train_baselines(
    recipe: HyperlistaRecipe,
    names: list[str],
    problem: Problem,
    ops: Operators,
    reporter: Reporter = SILENT,
    seed: int = 0,
) -> dict[str, Unrolled]:
    models = {}
    for name in names:
        torch.manual_seed(seed)
        model = build_learned(name, ops, recipe.tune.layers, recipe.baselines.tau)
        train_layerwise(model, problem.train, problem.val, schedule_of(recipe), reporter, seed)
        models[name] = model
    return models


def curves(
    recipe: HyperlistaRecipe,
    methods: list[str],
    split,
    ops: Operators,
    constants: HyperConstants | None,
    models: dict[str, Unrolled],
) -> dict[str, list[float]]:
    """NMSE (dB) per layer k = 1..K for every method on the same problems."""
    K, lam = recipe.tune.layers, recipe.baselines.lam
    out = {}
    for name in methods:
        if name == "ista":
            out[name] = classic.curve_db(classic.ista(ops.A, split.b, lam, K, ops.L), split.x)
        elif name == "fista":
            out[name] = classic.curve_db(classic.fista(ops.A, split.b, lam, K, ops.L), split.x)
        elif name == "hyperlista":
            out[name] = hyperlista_curve(
                split.b, split.x, ops, constants, K, recipe.tune.weight == "symmetric", recipe.tune.mag_ratio
            )
        elif name in LEARNED_METHODS:
            out[name] = learned_curve(models[name], split)
    return out


def default_shift_values(shift: str) -> list[float]:
    """Test p, σ or SNR (dB) values; the training value is included for reference."""
    return {
        "sparsity": [0.05, 0.1, 0.15, 0.2],
        "magnitude": [0.25, 0.5, 1.0, 2.0, 4.0],
        "noise": [40.0, 30.0, 20.0],
    }[shift]


def shifted_recipe(recipe: HyperlistaRecipe, shift: str, value: float) -> ProblemConfig:
    cfg = recipe.problem
    if shift == "sparsity":
        return replace(cfg, p=value, p_max=None)
    if shift == "magnitude":
        return replace(cfg, sigma=value)
    return replace(cfg, snr_db=value)


def shifted_test(recipe: HyperlistaRecipe, problem: Problem, shift: str, value: float):
    """A test split from the shifted distribution, same A, same seed as the original test set."""
    cfg = shifted_recipe(recipe, shift, value)
    split = make_split(problem.A.cpu(), cfg.n_test, signal_of(cfg), cfg.seed + 3)
    return split.to(problem.A.device)
