"""GDP on a model a user brings, as a new user runs it: a plain torchvision state dict and
``vita prune --method gdp model.pt`` with no other option (recipe prune/gdp-quick). Measures the wall
time of the whole command and GDP's test accuracy against the L1-norm baseline at the same FLOPs
target, side by side in one run.

    .venv/bin/python benchmarks/bench_gdp_quick.py                       # resnet18 and mobilenet_v2
    .venv/bin/python benchmarks/bench_gdp_quick.py --models resnet18 --tiny   # seconds (the test)

Pass: wall time <= 300 s on 2 CPU cores and GDP test accuracy >= L1's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torchvision

# a budget of seconds for the test: 96 training images at 16×16, one epoch per phase
TINY = [
    "data.image_size=16",
    "data.train_subset=96",
    "data.val_size=32",
    "data.test_subset=64",
    "data.batch_size=32",
    "gdp.pretrain_epochs=1",
    "gdp.epochs=1",
    "gdp.finetune_epochs=1",
]


def run_one(name: str, folder: Path, tiny: bool, threads: int) -> dict:
    torch.manual_seed(0)
    model = torchvision.models.get_model(name, weights=None, num_classes=10)
    path = folder / f"{name}.pt"
    torch.save(model.state_dict(), path)
    out = folder / f"run-{name}"
    cmd = [
        sys.executable,
        "-m",
        "vita_cli",
        "prune",
        "--method",
        "gdp",
        str(path),
        "--out",
        str(out),
        "--json",
    ]
    cmd += TINY if tiny else []
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{name}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
    result = json.loads(proc.stdout)
    arms = {a["arm"]: a for a in result["arms"]}
    gdp, l1 = arms["gdp"], arms.get("l1")
    return {
        "model": name,
        "wall_s": round(wall, 1),
        "dense_acc": result["dense"]["test_acc"],
        "gdp_acc": gdp["test_acc"],
        "gdp_flops": gdp["flops_ratio"],
        "l1_acc": l1["test_acc"] if l1 else None,
        "l1_flops": l1["flops_ratio"] if l1 else None,
        "target_reached": result["checks"].get("within_target"),
        "gdp_ge_l1": l1 is not None and gdp["test_acc"] >= l1["test_acc"],
        "within_5_min": wall <= 300,
    }


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="resnet18,mobilenet_v2")
    parser.add_argument("--tiny", action="store_true", help="a few seconds per model (smoke test)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            rows.append(run_one(name, Path(tmp), args.tiny, args.threads))
            print(json.dumps(rows[-1]), flush=True)
    print("| model | wall s | dense % | GDP % (FLOPs) | L1 % (FLOPs) | GDP >= L1 | <= 5 min |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['model']} | {r['wall_s']} | {r['dense_acc']:.2f} | {r['gdp_acc']:.2f} ({r['gdp_flops']:.3f}) | "
            f"{r['l1_acc']:.2f} ({r['l1_flops']:.3f}) | {r['gdp_ge_l1']} | {r['within_5_min']} |"
        )
    return rows


if __name__ == "__main__":
    main()
