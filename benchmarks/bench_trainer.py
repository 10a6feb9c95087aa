"""Trainer throughput vs a minimal hand-written PyTorch loop: same model, data and process.

    .venv/bin/python benchmarks/bench_trainer.py [--steps 40] [--repeats 5] [--width 16] [--masks]

Both sides train small_cnn on the same in-memory batches (SGD, momentum, weight decay); trials alternate
(loop, fit, loop, fit, ...) so drifting CPU contention hits both alike; reported: the best trial of each
side and the median of the paired fit/loop ratios.
Acceptance: fit's overhead <= 10% (ratio of images/s).
"""

import argparse
import json
import time

import torch
from torch.utils.data import DataLoader, TensorDataset

from vita_cli.models import build_model
from vita_cli.sparsity import MaskCallback, apply_masks, magnitude_prune
from vita_cli.training import TrainConfig, fit


def make_data(n: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.randn(n, 1, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g))


def hand_loop(model, loader, steps, lr):
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    start = time.perf_counter()
    for i, (x, y) in enumerate(loader):
        if i >= steps:
            break
        loss = loss_fn(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return steps * loader.batch_size / (time.perf_counter() - start)


def vita_fit(model, loader, steps, lr, masks):
    cfg = TrainConfig(
        epochs=1,
        lr=lr,
        momentum=0.9,
        weight_decay=5e-4,
        schedule="cosine",
        amp=False,
        max_steps_per_epoch=steps,
        log_every=20,
    )
    start = time.perf_counter()
    fit(model, loader, None, cfg, "cpu", callbacks=[MaskCallback(masks)])
    return steps * loader.batch_size / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--repeats", type=int, default=9)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument(
        "--masks",
        action="store_true",
        help="train with 80%% sparse masks on both sides' models (fit only applies them)",
    )
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    arch = {"name": "small_cnn", "num_classes": 10, "in_channels": 1, "width": args.width}
    data = make_data(args.steps * args.batch_size)
    loader = DataLoader(data, batch_size=args.batch_size, shuffle=False)
    model = build_model(arch)
    masks = magnitude_prune(model, 0.8) if args.masks else None
    if masks:
        apply_masks(model, masks)
    init = {k: v.clone() for k, v in model.state_dict().items()}
    hand_loop(model, loader, 3, 0.01)  # warm-up (allocator, kernels)
    loop_ips, fit_ips = [], []
    for _ in range(args.repeats):
        model.load_state_dict(init)
        loop_ips.append(hand_loop(model, loader, args.steps, 0.01))
        model.load_state_dict(init)
        fit_ips.append(vita_fit(model, loader, args.steps, 0.01, masks))
    best_loop, best_fit = max(loop_ips), max(fit_ips)
    ratios = sorted(f / loop for f, loop in zip(fit_ips, loop_ips, strict=True))
    result = {
        "model": f"small_cnn(width={args.width})",
        "batch_size": args.batch_size,
        "steps": args.steps,
        "threads": args.threads,
        "masks": bool(args.masks),
        "loop_images_per_s": [round(x, 1) for x in loop_ips],
        "fit_images_per_s": [round(x, 1) for x in fit_ips],
        "overhead_best": round(1 - best_fit / best_loop, 4),
        "overhead_paired_median": round(1 - ratios[len(ratios) // 2], 4),
    }
    print(json.dumps(result))
    print(
        f"trainer overhead vs hand loop: {100 * result['overhead_best']:.1f}% (best of {args.repeats} each), "
        f"{100 * result['overhead_paired_median']:.1f}% (median of paired trials); target <= 10%"
    )
    return 0 if result["overhead_paired_median"] <= 0.10 else 1


if __name__ == "__main__":
    raise SystemExit(main())
