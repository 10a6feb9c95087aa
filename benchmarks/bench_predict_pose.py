"""Skeleton-Graph vs the autoregressive GRU on the CPU: training windows/s and single-window latency.

    .venv/bin/python benchmarks/bench_predict_pose.py [--steps 20] [--repeats 5] [--threads 1] [--json]

Same random batches for every model (B=128, 5 observed 2D frames of 16 joints → 10 future 3D frames),
Adam steps on the MSE; trials alternate between models so drifting CPU contention hits all alike.
Reported per model: best trial windows/s for training, median single-window inference latency (ms),
parameters, and ratios against the GRU measured in the same run.
"""

import argparse
import json
import statistics
import time

import torch

from vita_cli.methods.predict_pose import engine
from vita_cli.methods.predict_pose.config import ModelConfig
from vita_cli.methods.predict_pose.model import count_parameters

MODELS = ("skeleton_graph", "skeleton_graph_gcn", "skeleton_graph_fixed", "ar_gru")


def train_rate(model, x, y, steps):
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    model.train()
    start = time.perf_counter()
    for _ in range(steps):
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return steps * len(x) / (time.perf_counter() - start)


@torch.no_grad()
def latency_ms(model, x1, calls=50):
    model.eval()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        model(x1)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(args.batch, 5, 16, 2)
    y = torch.randn(args.batch, 10, 16, 3)
    models = {k: engine.build_model(engine.model_spec(k, ModelConfig(), 5, 10)) for k in MODELS}
    for m in models.values():  # warm-up
        train_rate(m, x, y, 2)
        latency_ms(m, x[:1], 5)
    rates = {k: [] for k in MODELS}
    lat = {k: [] for k in MODELS}
    for _ in range(args.repeats):
        for k, m in models.items():
            rates[k].append(train_rate(m, x, y, args.steps))
            lat[k].append(latency_ms(m, x[:1]))
    rows = {
        k: {
            "params": count_parameters(models[k]),
            "train_windows_per_s": round(max(rates[k]), 1),
            "latency_ms": round(statistics.median(lat[k]), 3),
        }
        for k in MODELS
    }
    gru = rows["ar_gru"]
    for r in rows.values():
        r["train_rate_vs_gru"] = round(r["train_windows_per_s"] / gru["train_windows_per_s"], 3)
        r["latency_vs_gru"] = round(r["latency_ms"] / gru["latency_ms"], 3)
    if args.json:
        print(json.dumps({"threads": args.threads, "batch": args.batch, "rows": rows}))
        return
    print(f"threads={args.threads} batch={args.batch} steps={args.steps} repeats={args.repeats}")
    print(
        f"{'model':22s} {'params':>8s} {'train win/s':>12s} {'× GRU':>7s} {'latency ms':>11s} {'× GRU':>7s}"
    )
    for k, r in rows.items():
        print(
            f"{k:22s} {r['params']:8d} {r['train_windows_per_s']:12.1f} {r['train_rate_vs_gru']:7.2f} "
            f"{r['latency_ms']:11.3f} {r['latency_vs_gru']:7.2f}"
        )


if __name__ == "__main__":
    main()
