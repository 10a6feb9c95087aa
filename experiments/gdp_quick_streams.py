"""GDP against the L1 baseline on a model a user brings (recipe prune/gdp-quick), residual streams
gated (the adopted setting) or kept whole (gdp.gate_streams=false, the one declared variant).

Protocol, declared before running:
* models: untrained torchvision MobileNetV2 and ResNet-18 (10 classes), saved as plain state dicts and
  pruned with ``vita prune --method gdp MODEL`` and nothing else but ``--seed S`` (and the variant's
  override); seeds 0, 1, 2 (model initialisation and run seed);
* each run trains its dense model 2 epochs, then GDP (gate phase + 2 fine-tune epochs) and the L1-norm
  baseline (the same total epochs) at 0.5 of the dense MACs, both on the same channel graph: with the
  variant, neither may cut a residual stream;
* rule, per model and setting: GDP ≥ L1 when the mean test accuracy over the three seeds is at least
  L1's. The variant becomes gdp-quick's setting only if it holds on both models.

Diagnosis that motivated the variant (seed 0, streams gated, MobileNetV2): GDP kept 98 % of the
expansion channels and the whole 1 280-channel last convolution, and cut the residual streams to 51 %
(16 → 5 channels in the first) and the stem to 56 %; L1 kept 69 % of every layer. A stream channel is
read by every expansion of its stage, so its FLOPs price is ~16× an expansion channel's.

    .venv/bin/python experiments/gdp_quick_streams.py                       # 12 runs, ~40 min on 2 cores
    python experiments/gdp_quick_streams.py --device cuda --jobs 6           # on a GPU machine
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SETTINGS = {"streams gated": [], "streams whole": ["gdp.gate_streams=false"]}


def save_model(name: str, seed: int, folder: Path) -> Path:
    import torch
    import torchvision

    torch.manual_seed(seed)
    path = folder / f"{name}-s{seed}.pt"
    torch.save(torchvision.models.get_model(name, weights=None, num_classes=10).state_dict(), path)
    return path


def run_one(model: Path, seed: int, setting: str, device: str, threads: int, out: Path) -> dict:
    cmd = [sys.executable, "-m", "vita_cli", "prune", "--method", "gdp", str(model), "--seed", str(seed)]
    cmd += ["--device", device, "--out", str(out), "--json", "--quiet", *SETTINGS[setting]]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{model.name} {setting}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
    arms = {a["arm"]: a for a in json.loads(proc.stdout)["arms"]}
    return {
        "model": model.stem.rsplit("-s", 1)[0],
        "seed": seed,
        "setting": setting,
        "gdp_acc": arms["gdp"]["test_acc"],
        "gdp_flops": round(arms["gdp"]["flops_ratio"], 3),
        "gdp_before_ft": arms["gdp"]["test_acc_before_finetune"],
        "forced_off": arms["gdp"]["forced"]["forced_off"],
        "l1_acc": arms["l1"]["test_acc"],
        "l1_flops": round(arms["l1"]["flops_ratio"], 3),
    }


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mobilenet_v2,resnet18")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        jobs = [
            (save_model(name, seed, folder), seed, setting)
            for name in args.models.split(",")
            for seed in seeds
            for setting in SETTINGS
        ]
        with ThreadPoolExecutor(args.jobs) as pool:
            rows = list(
                pool.map(
                    lambda job: run_one(
                        *job,
                        args.device,
                        args.threads,
                        folder / f"run-{job[0].stem}-{job[2].replace(' ', '-')}",
                    ),
                    jobs,
                )
            )
    for row in rows:
        print(json.dumps(row))
    print("\n| model | setting | GDP % per seed | L1 % per seed | GDP mean | L1 mean | GDP ≥ L1 |")
    print("|---|---|---|---|---|---|---|")
    for name in args.models.split(","):
        for setting in SETTINGS:
            rs = [r for r in rows if r["model"] == name and r["setting"] == setting]
            g = [r["gdp_acc"] for r in rs]
            l1 = [r["l1_acc"] for r in rs]
            print(
                f"| {name} | {setting} | {' / '.join(f'{v:.1f}' for v in g)} | {' / '.join(f'{v:.1f}' for v in l1)} "
                f"| {statistics.mean(g):.2f} | {statistics.mean(l1):.2f} | {statistics.mean(g) >= statistics.mean(l1)} |"
            )
    if args.json_out:
        args.json_out.write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
