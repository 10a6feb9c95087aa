"""HyperLISTA benchmark (`make bench`): side-by-side timings in one process, on 2 CPU threads.

1. HyperLISTA with 16 layers vs FISTA run until its LASSO objective stalls (relative change
   < 1e-6 per iteration): wall time per 1 000 problems and the NMSE each reaches.
2. The official three-parameter grid (c_β × c_θ × c_ss = 11 × 11 × 21 = 2 541 points, γ = 1/L,
   symmetric weight) scored on 512 training problems, batched over grid points: wall time, the
   optimum and its test NMSE (the faithful-port regression number, ≈ −23.5 dB).

    .venv/bin/python benchmarks/bench_hyperlista.py [--quick]

``--quick`` scores only the first 256 grid points (a smoke run). Results: printed as Markdown and
written to runs/bench/hyperlista.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from vita_cli.methods.hyperlista import classic, experiment
from vita_cli.methods.hyperlista.hyper import (
    HyperConstants,
    grid_points,
    hyperlista_curve,
    hyperlista_solve,
    nmse_db,
    score_points,
)
from vita_cli.schemas import load_any_recipe


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="score 256 grid points only")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results: dict = {"threads": args.threads}

    # ---- 1. HyperLISTA-16 vs FISTA until stall, 1 000 problems
    recipe, _ = load_any_recipe("hyperlista/default")
    recipe.problem.n_test = 1000
    problem, ops = experiment.build_problem(recipe.problem)
    tuned = experiment.tune(recipe, problem, ops)
    constants = tuned.constants
    test = problem.test
    hyperlista_solve(test.b[:64], ops, constants, 16)  # warm-up
    start = time.perf_counter()
    x_hyper = hyperlista_solve(test.b, ops, constants, 16)
    t_hyper = time.perf_counter() - start
    start = time.perf_counter()
    stall = classic.fista_until_stall(ops.A, test.b, lam=0.1, tol=1e-6, max_iterations=5000, L=ops.L)
    t_fista = time.perf_counter() - start
    nmse_hyper = float(nmse_db(((x_hyper - test.x) ** 2).sum(), test.x))
    nmse_fista = float(nmse_db(((stall.x - test.x) ** 2).sum(), test.x))
    results["speed"] = {
        "problems": len(test),
        "hyperlista": {"layers": 16, "seconds": round(t_hyper, 3), "nmse_db": round(nmse_hyper, 2)},
        "fista_until_stall": {
            "iterations": stall.iterations,
            "seconds": round(t_fista, 3),
            "nmse_db": round(nmse_fista, 2),
        },
        "speedup": round(t_fista / t_hyper, 1),
        "constants": constants.as_dict(),
    }
    print(f"| method (1 000 problems, {args.threads} threads) | iterations | wall time (s) | NMSE (dB) |")
    print("|---|---|---|---|")
    print(f"| HyperLISTA | 16 | {t_hyper:.3f} | {nmse_hyper:.1f} |")
    print(f"| FISTA until stall (λ=0.1, tol 1e-6) | {stall.iterations} | {t_fista:.3f} | {nmse_fista:.1f} |")
    print(f"speed-up {t_fista / t_hyper:.1f}×\n", flush=True)

    # ---- 2. the official 11×11×21 grid on 512 problems, batched over grid points
    official, _ = load_any_recipe("hyperlista/official")
    problem, ops = experiment.build_problem(official.problem)
    axes = experiment.search_axes(official, ops)
    points = grid_points(axes)
    if args.quick:
        points = points[:256]
    part = problem.train.head(512)
    start = time.perf_counter()
    scores = score_points(points, part.b, part.x, ops, 16, symmetric=True, chunk=official.tune.chunk)
    t_grid = time.perf_counter() - start
    best = int(torch.argmin(scores))

    best_constants = HyperConstants(*[round(float(v), 6) for v in points[best]])
    curve = hyperlista_curve(problem.test.b, problem.test.x, ops, best_constants, 16, symmetric=True)
    results["grid"] = {
        "points": points.shape[0],
        "problems": 512,
        "seconds": round(t_grid, 1),
        "seconds_per_point": round(t_grid / points.shape[0], 4),
        "best": best_constants.as_dict(),
        "test_nmse_db_at_16": round(curve[-1], 2),
        "gamma_times_L": round(best_constants.gamma * ops.L, 4),
    }
    print("| official grid | points | wall time (s) | optimum (c_β, c_θ, c_ss) | test NMSE@16 (dB) |")
    print("|---|---|---|---|---|")
    print(
        f"| 11×11×21, γ = 1/L, 512 problems | {points.shape[0]} | {t_grid:.1f} | "
        f"({best_constants.c_beta:.4g}, {best_constants.c_theta:.4g}, {best_constants.c_ss:.3g}) | {curve[-1]:.1f} |"
    )
    out = Path("runs/bench/hyperlista.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwritten {out}")


if __name__ == "__main__":
    main()
