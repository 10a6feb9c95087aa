"""complete-font benchmark (`make bench`): completing all 26 capitals from k references, on the CPU.

For each recipe size (default: 32 px, paper: 128 px) and k ∈ {1, 3, 5}, times `complete` (encode k
references, average, decode 26 glyphs) for the graph cycle and the image-to-image baseline side by
side in one process, after loading (median of repeated calls). The target: ≤ 1 s per 26 glyphs.
With ``--model RUN`` the trained models of that run are timed instead of freshly built ones.

    .venv/bin/python benchmarks/bench_complete_font.py [--threads 1] [--repeats 10] [--model RUN]

Results: printed as Markdown and written to runs/bench/complete-font.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from vita_cli.methods.font_graph.complete import complete
from vita_cli.methods.font_graph.model import FontGraphModel
from vita_cli.schemas import load_any_recipe


def _time(model, refs, ends, repeats: int) -> float:
    complete(model, refs, ends, torch.device("cpu"))  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        complete(model, refs, ends, torch.device("cpu"))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)  # on a shared CPU, 2 threads ran 5-8x slower
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--model", type=Path, default=None, help="run folder of `vita complete-font train`")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    setups = []
    if args.model is not None:
        from vita_cli.methods.font_graph.pipeline import load_model

        graph = load_model(args.model, "graph", torch.device("cpu"))
        base = load_model(args.model, "img2img", torch.device("cpu"))
        setups.append((f"trained ({args.model})", graph.model, base.model, graph.ends))
    else:
        for name in ("default", "paper"):
            recipe, _ = load_any_recipe(f"complete-font/{name}")
            size, points = recipe.data.image_size, recipe.data.points
            torch.manual_seed(0)
            graph = FontGraphModel(recipe.model, size, points, 100, "graph").eval()
            base = FontGraphModel(recipe.model, size, points, 100, "img2img").eval()
            ends = np.zeros((26, points), bool)
            ends[:, -1] = True
            setups.append((f"{name} recipe, {size} px", graph, base, ends))
    for label, graph, base, ends in setups:
        size = graph.image_size
        rng = np.random.default_rng(0)
        for k in (1, 3, 5):
            refs = rng.random((k, size, size)).astype(np.float32)
            reps = args.repeats if size <= 64 else min(args.repeats, 3)  # 128 px: seconds per call
            tg, tb = _time(graph, refs, ends, reps), _time(base, refs, ends, reps)
            rows.append(
                {
                    "setup": label,
                    "k": k,
                    "graph_s": tg,
                    "img2img_s": tb,
                    "ratio": tg / tb,
                    "graph_params_M": sum(p.numel() for p in graph.parameters()) / 1e6,
                    "img2img_params_M": sum(p.numel() for p in base.parameters()) / 1e6,
                }
            )
    print(f"\n26 glyphs from k references on the CPU ({args.threads} threads), median of {args.repeats}\n")
    print("| setup | k | graph cycle (s) | img2img (s) | ratio | ≤ 1 s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        ok = "yes" if max(r["graph_s"], r["img2img_s"]) <= 1.0 else "no"
        print(
            f"| {r['setup']} | {r['k']} | {r['graph_s']:.3f} | {r['img2img_s']:.3f} | {r['ratio']:.2f} | {ok} |"
        )
    out = Path("runs/bench/complete-font.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
