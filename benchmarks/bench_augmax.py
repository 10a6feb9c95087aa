"""AugMax benchmark (`make bench`): epoch time of standard, AugMix and AugMax training, side by side.

The three arms train the same model (ResNet-20, Fashion-MNIST 32×32, batch 128) for the same number of
batches in one process, interleaved (arm A batch, arm B batch, …) so machine load affects them alike.
Reported per arm: seconds per batch, the ratio to standard training, and the share of the time spent
building augmented views (batched operators + mixing) and in AugMax's inner maximisation (forwards and
backwards through the model, so it is model time, not augmentation time).

    .venv/bin/python benchmarks/bench_augmax.py [--batches 8] [--threads 1] [--device cpu|cuda]

Results: printed as Markdown and written to runs/bench/augmax.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--model", default="resnet20")
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from vita_cli.core.device import resolve_device
    from vita_cli.data import DataConfig, load_data
    from vita_cli.methods.augmax.config import RobustMethod
    from vita_cli.methods.augmax.engine import RobustLoss, robust_arch
    from vita_cli.models import build_model

    device = resolve_device(args.device)
    n = args.batches * args.batch_size
    bundle = load_data(
        DataConfig(train_subset=n, val_size=0, test_subset=16, batch_size=args.batch_size), seed=0
    )
    batches = [
        bundle.train.get_batch(list(range(i, i + args.batch_size))) for i in range(0, n, args.batch_size)
    ]
    arms = {
        "standard": RobustMethod(name="standard"),
        "augmix": RobustMethod(name="augmix"),
        "augmax-dubin": RobustMethod(name="augmax", norm="dubin", steps=args.steps),
    }
    state = {}
    for label, method in arms.items():
        torch.manual_seed(0)
        arch = robust_arch({"name": args.model, "num_classes": 10, "in_channels": 1}, method)
        model = build_model(arch).to(device).train()
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        state[label] = (model, opt, RobustLoss(method, bundle.mean, bundle.std, sync_timing=True), [])

    def step(label, images, labels):
        model, opt, loss_fn, times = state[label]
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        loss, _ = loss_fn(model, images, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)

    images, labels = batches[0]
    for label in arms:  # warm-up, not timed
        step(label, images.to(device), labels.to(device))
        state[label][3].clear()
        state[label][2].timings = {"views": 0.0, "attack": 0.0}
        state[label][2].stats = type(state[label][2].stats)()
    for images, labels in batches:
        images, labels = images.to(device), labels.to(device)
        for label in arms:
            step(label, images, labels)

    rows = {}
    base = sum(state["standard"][3])
    for label in arms:
        _, _, loss_fn, times = state[label]
        total = sum(times)
        rows[label] = {
            "seconds_per_batch": total / len(times),
            "ratio_to_standard": total / base,
            "views_share": loss_fn.timings["views"] / total,
            "attack_share": loss_fn.timings["attack"] / total,
            "epoch_seconds_60k": total / len(times) * (60000 / args.batch_size),
            "mean_attack_steps": loss_fn.stats.attack_steps / max(1, loss_fn.stats.batches),
        }
    results = {
        "device": str(device),
        "threads": args.threads,
        "model": args.model,
        "batch_size": args.batch_size,
        "batches": args.batches,
        "augmax_steps": args.steps,
        "arms": rows,
    }
    if device.type == "cuda":
        results["gpu"] = torch.cuda.get_device_name(device)
    out = Path("runs/bench/augmax.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))

    print(
        f"## AugMax training cost ({args.model}, batch {args.batch_size}, {args.batches} batches, {device}, "
        f"{args.threads} thread(s))\n"
    )
    print("| arm | s / batch | × standard | views (ops + mixing) | inner max |")
    print("|---|---|---|---|---|")
    for label, r in rows.items():
        print(
            f"| {label} | {r['seconds_per_batch']:.3f} | {r['ratio_to_standard']:.2f} | "
            f"{100 * r['views_share']:.1f} % | {100 * r['attack_share']:.1f} % |"
        )
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
