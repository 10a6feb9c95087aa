"""DSEE cost ratios, measured side by side in one run on all-MiniLM-L6-v2 (or a random BERT of its shape).

1. Training step: DSEE (r = 16, N = 16 values + indices on Q, V) against peft's LoRA (r = 16) on the
   same model and batch; also vita's LoRA arm and, for reference, the sparse term kept as a dense masked
   d×d matrix (the official code's layout). Target: DSEE ≤ 1.1 × peft-LoRA.
2. Head removal: 3 of 12 heads per layer removed physically; CPU latency speed-up at batch 32 against
   the counted MACs reduction. Target: speed-up ≥ 70 % of the MACs reduction.

    .venv/bin/python benchmarks/bench_dsee.py [--steps 4] [--batch 16] [--latency-batch 32] [--length 48]
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from vita_cli.methods.dsee import cost, heads  # noqa: E402
from vita_cli.methods.dsee.adapter import DseeLinear, adapted_layers, merge_adapters, set_submodule  # noqa: E402
from vita_cli.methods.dsee.arms import ArmSpec, build_arm  # noqa: E402


def base_model():
    """MiniLM with a fresh 2-class head when its wheel is installed, else a random BERT of its shape."""
    from transformers import AutoModelForSequenceClassification, BertConfig, BertForSequenceClassification

    from vita_cli.core.errors import UserError
    from vita_cli.methods.dsee.model_io import resolve_model_dir

    torch.manual_seed(0)
    try:
        path = resolve_model_dir("minilm")
        return AutoModelForSequenceClassification.from_pretrained(
            str(path), num_labels=2, local_files_only=True
        ), "all-MiniLM-L6-v2"
    except UserError:
        cfg = BertConfig(
            hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536, num_labels=2
        )
        return BertForSequenceClassification(cfg), "random BERT 6x384"


class DenseMaskedSparse(nn.Module):
    """Reference layout: S as a dense d×d matrix multiplied by a fixed 0/1 mask each step."""

    def __init__(self, layer: DseeLinear):
        super().__init__()
        self.inner = layer
        mask = torch.zeros(layer.out_features * layer.in_features)
        mask[layer.sparse_index] = 1
        self.register_buffer("mask", mask.view(layer.out_features, layer.in_features))
        self.S = nn.Parameter(torch.zeros(layer.out_features, layer.in_features))
        layer.sparse_values.requires_grad_(False)

    def forward(self, x):
        L = self.inner
        y = F.linear(x, L.weight, L.bias)
        return y + L.scale * (F.linear(F.linear(x, L.lora_A), L.lora_B) + F.linear(x, self.S * self.mask))


def arms(model):
    import peft

    out = {}
    m = copy.deepcopy(model)
    build_arm(m, ArmSpec(method="dsee", r=16, alpha=32, n_sparse=16, omega="random"))
    out["dsee"] = m
    m = copy.deepcopy(model)
    build_arm(m, ArmSpec(method="lora", r=16, alpha=32))
    out["vita-lora"] = m
    cfg = peft.LoraConfig(
        r=16, lora_alpha=32, lora_dropout=0.0, target_modules=["query", "value"], task_type="SEQ_CLS"
    )
    out["peft-lora"] = peft.get_peft_model(copy.deepcopy(model), cfg)
    m = copy.deepcopy(out["dsee"])
    for name, layer in adapted_layers(m):
        set_submodule(m, name, DenseMaskedSparse(layer))
    out["dsee dense-S"] = m
    return out


def step_times(models: dict, batch: dict, steps: int) -> dict:
    """Median training-step seconds per arm, the arms interleaved step by step (fair under shared load)."""
    opts = {
        k: torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-4)
        for k, m in models.items()
    }
    times = {k: [] for k in models}
    cpu = {k: [] for k in models}
    labels = torch.randint(0, 2, (batch["input_ids"].shape[0],), generator=torch.Generator().manual_seed(0))
    for s in range(steps + 1):
        for k, m in models.items():
            m.train()
            t0, c0 = time.perf_counter(), time.process_time()
            loss = F.cross_entropy(m(**batch).logits, labels)
            opts[k].zero_grad(set_to_none=True)
            loss.backward()
            opts[k].step()
            if s:  # the first step warms up
                times[k].append(time.perf_counter() - t0)
                cpu[k].append(time.process_time() - c0)
    return {k: statistics.median(v) for k, v in cpu.items()}, {
        k: statistics.median(v) for k, v in times.items()
    }


def head_latency(model, batch_size: int, length: int, repeats: int) -> dict:
    dense = copy.deepcopy(model).eval()
    lora = copy.deepcopy(model)
    build_arm(lora, ArmSpec(method="lora", r=16, alpha=32))
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _, layer in adapted_layers(lora):
            layer.lora_B.copy_(torch.randn(layer.lora_B.shape, generator=g))
    heads.remove_heads(lora, heads.lowest_heads(heads.head_scores(lora), 3))
    pruned = merge_adapters(lora).eval()
    dev = torch.device("cpu")
    macs_d = cost.count_macs(dense, batch_size, length, dev)["macs_per_sequence"]
    macs_p = cost.count_macs(pruned, batch_size, length, dev)["macs_per_sequence"]
    t_d, t_p, c_d, c_p = [], [], [], []
    for _ in range(repeats):  # interleaved; one thread, so the process CPU time is the compute itself
        a = cost.latency(dense, batch_size, length, dev, repeats=1, threads=1)
        b = cost.latency(pruned, batch_size, length, dev, repeats=1, threads=1)
        t_d.append(a["latency_ms"])
        t_p.append(b["latency_ms"])
        c_d.append(a["cpu_ms"])
        c_p.append(b["cpu_ms"])
    lat_d, lat_p = statistics.median(c_d), statistics.median(c_p)
    wall_d, wall_p = statistics.median(t_d), statistics.median(t_p)
    mac_cut = 1 - macs_p / macs_d
    speed_cut = 1 - lat_p / lat_d
    return {
        "macs_dense": macs_d,
        "macs_pruned": macs_p,
        "macs_reduction": mac_cut,
        "latency_dense_ms": lat_d,
        "latency_pruned_ms": lat_p,
        "latency_reduction": speed_cut,
        "wall_dense_ms": wall_d,
        "wall_pruned_ms": wall_p,
        "ratio": speed_cut / mac_cut if mac_cut else float("nan"),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--batch", type=int, default=16, help="training-step batch")
    ap.add_argument("--latency-batch", type=int, default=32)
    ap.add_argument("--length", type=int, default=48)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    import transformers

    transformers.logging.set_verbosity_error()
    model, name = base_model()
    batch = cost.dummy_batch(model.config.vocab_size, args.batch, args.length, torch.device("cpu"))
    print(
        f"model: {name}; {args.threads} thread(s); CPU time is the measure (a shared machine's wall time is mostly other jobs)"
    )
    t, wall = step_times(arms(model), batch, args.steps)
    print(
        f"\ntraining step, batch {args.batch} x {args.length}: process CPU time (median of {args.steps} interleaved steps)"
    )
    for k, v in t.items():
        print(
            f"  {k:14s} {1000 * v:8.1f} ms CPU   {v / t['peft-lora']:.3f} x peft-lora   (wall {1000 * wall[k]:.0f} ms)"
        )
    ok1 = t["dsee"] <= 1.1 * t["peft-lora"]
    print(
        f"  DSEE / peft-LoRA = {t['dsee'] / t['peft-lora']:.3f}  (target <= 1.10: {'met' if ok1 else 'NOT met'})"
    )
    h = head_latency(model, args.latency_batch, args.length, args.repeats)
    print(
        f"\nhead removal, 3 of 12 heads per layer, batch {args.latency_batch} x {args.length} (median of {args.repeats})"
    )
    print(
        f"  MACs/sequence  {h['macs_dense'] / 1e6:8.1f} M -> {h['macs_pruned'] / 1e6:8.1f} M  (-{100 * h['macs_reduction']:.1f} %)"
    )
    print(
        f"  CPU time       {h['latency_dense_ms']:8.1f} ms -> {h['latency_pruned_ms']:8.1f} ms (-{100 * h['latency_reduction']:.1f} %)  (1 thread)"
    )
    print(
        f"  wall time      {h['wall_dense_ms']:8.1f} ms -> {h['wall_pruned_ms']:8.1f} ms  (shared machine: mostly other jobs)"
    )
    ok2 = h["ratio"] >= 0.7
    print(f"  speed-up / MACs reduction = {h['ratio']:.2f}  (target >= 0.70: {'met' if ok2 else 'NOT met'})")


if __name__ == "__main__":
    main()
