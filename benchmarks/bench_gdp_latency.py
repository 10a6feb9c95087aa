"""Latency of a dense network vs its GDP-compacted version (batch 1 and 64), in one process.

    .venv/bin/python benchmarks/bench_gdp_latency.py                       # ResNet-20 and ResNet-56, ρ = 0.5, 0.3
    .venv/bin/python benchmarks/bench_gdp_latency.py --compact runs/gdp/compact.safetensors
    python benchmarks/bench_gdp_latency.py --device cuda                   # on a GPU

Without ``--compact`` the compact networks are made by the GDP machinery from gates with random
priorities, thresholded to the FLOPs target (what GDP prunes changes *which* layers shrink, not how a
physically smaller dense conv runs). With ``--compact`` a real GDP checkpoint is timed against the
dense architecture it was cut from. Dense and compact runs are interleaved, repeated many times, and
the medians are compared: absolute times on a shared machine are inflated, ratios much less so.
Each pair is timed in two runtimes: ``eager`` (the modules as saved) and ``torchscript`` (traced and
frozen with ``torch.jit.freeze``, which folds BatchNorm into the convolutions and drops the Python
per-module overhead: how a model is usually deployed on a CPU). Prints a Markdown table; ``--json``
writes the numbers too.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from vita_cli.methods.gdp.compact import compact_model, harden
from vita_cli.methods.gdp.engine import conv_linear_macs
from vita_cli.methods.gdp.flops import dense_macs, resolve_keep
from vita_cli.methods.gdp.gates import GateBank
from vita_cli.methods.gdp.graph import build_channel_graph
from vita_cli.models import build_model, load_model
from vita_cli.models.export import to_torchscript


def synthetic_compact(arch: dict, shape, rho: float, seed: int = 0):
    torch.manual_seed(seed)
    dense = build_model(arch).eval()
    graph = build_channel_graph(dense, shape)
    bank = GateBank(graph)
    priority = {s: torch.rand(graph.spaces[s].size) for s in graph.gated_spaces}
    on, _ = harden(graph, bank.values(), 1e-3, rho * dense_macs(graph), priority=priority)
    compact, _ = compact_model(dense, graph, bank.values(), resolve_keep(graph, on))
    return dense, compact.eval()


@torch.no_grad()
def interleaved_latency(a, b, x, repeats: int, warmup: int = 3):
    sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)
    for _ in range(warmup):
        a(x)
        b(x)
    ta, tb = [], []
    for _ in range(repeats):
        for model, store in ((a, ta), (b, tb)):
            sync()
            start = time.perf_counter()
            model(x)
            sync()
            store.append(time.perf_counter() - start)
    return (statistics.median(ta), statistics.median(tb)), (min(ta), min(tb))


def frozen(model, x):
    """TorchScript trace + freeze (what ``vita export`` writes): BN folded, no Python overhead."""
    return to_torchscript(model, x)[0]


def measure(name, dense, compact, shape, repeats, device="cpu", runtimes=("eager", "torchscript")):
    rows = []
    macs_d, macs_c = conv_linear_macs(dense, shape), conv_linear_macs(compact, shape)
    dense, compact = dense.to(device), compact.to(device)
    for batch in (1, 64):
        x = torch.randn(batch, *shape, device=device)
        reps = repeats if batch == 1 else max(5, repeats // 8)
        for runtime in runtimes:
            pair = (dense, compact) if runtime == "eager" else (frozen(dense, x), frozen(compact, x))
            # the TorchScript profiling executor optimises a graph only after a few calls
            warmup = 3 if runtime == "eager" else 10
            (td, tc), (md, mc) = interleaved_latency(*pair, x, reps, warmup)
            speedup, flops_gain = td / tc, macs_d / macs_c
            rows.append(
                {
                    "model": name,
                    "runtime": runtime,
                    "device": str(device),
                    "batch": batch,
                    "dense_ms": 1e3 * td,
                    "compact_ms": 1e3 * tc,
                    "flops_ratio": macs_c / macs_d,
                    "speedup": speedup,
                    "speedup_vs_flops": speedup / flops_gain,
                    "speedup_min": md / mc,
                    "repeats": reps,
                }
            )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compact", help="a GDP compact checkpoint to time against its dense architecture")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument(
        "--runtimes", nargs="+", default=["eager", "torchscript"], choices=["eager", "torchscript"]
    )
    parser.add_argument("--json", help="write the rows to this JSON file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    shape = (args.channels, args.image_size, args.image_size)
    rows = []
    if args.compact:
        loaded = load_model(args.compact)
        dense = build_model({k: v for k, v in loaded.arch.items() if k != "rebuild"}).eval()
        shape = (loaded.arch.get("in_channels", args.channels), args.image_size, args.image_size)
        rows += measure(
            f"{loaded.arch['name']} (checkpoint)",
            dense,
            loaded.model.eval(),
            shape,
            args.repeats,
            args.device,
            args.runtimes,
        )
    else:
        for depth in (20, 56):
            for rho in (0.5, 0.3):
                arch = {
                    "name": f"resnet{depth}",
                    "num_classes": 10,
                    "in_channels": args.channels,
                    "shortcut": "A",
                }
                dense, compact = synthetic_compact(arch, shape, rho)
                rows += measure(
                    f"resnet{depth} ρ={rho}", dense, compact, shape, args.repeats, args.device, args.runtimes
                )
    where = f"CPU, torch threads = {args.threads}" if args.device == "cpu" else args.device
    print(f"latency on {where}, input {shape}, median of interleaved repeats\n")
    print(
        "| model | runtime | batch | dense ms | compact ms | FLOPs kept | speed-up (medians) | speed-up (minima) "
        "| speed-up / FLOPs gain |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['model']} | {r['runtime']} | {r['batch']} | {r['dense_ms']:.2f} | {r['compact_ms']:.2f} "
            f"| {r['flops_ratio']:.3f} "
            f"| {r['speedup']:.2f}× | {r['speedup_min']:.2f}× | {100 * r['speedup_vs_flops']:.0f}% |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
