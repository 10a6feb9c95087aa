"""Inference cost of a (merged) classifier: MACs counted on a real forward pass, CPU latency measured.

MACs: every linear layer's ``rows × in × out`` (dense) or ``rows × nonzero weights`` (sparse kernels),
plus the two attention products per layer (QKᵀ and attention·V: ``2 × batch × T² × heads × head_dim``).
Embedding look-ups, softmax, layer norms and activations are not counted.
"""

from __future__ import annotations

import statistics
import time

import torch
import torch.nn as nn

from vita_cli.methods.dsee import heads as heads_mod
from vita_cli.methods.dsee.adapter import DseeLinear


def dummy_batch(vocab_size: int, batch: int, length: int, device: torch.device, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000 if vocab_size > 2000 else 1, vocab_size, (batch, length), generator=gen)
    return {"input_ids": ids.to(device), "attention_mask": torch.ones_like(ids).to(device)}


@torch.no_grad()
def count_macs(model: nn.Module, batch: int, length: int, device: torch.device) -> dict:
    dense, sparse = 0, 0
    hooks = []

    def hook(module, inputs, output):
        nonlocal dense, sparse
        x = inputs[0]
        w = module.merged_weight() if isinstance(module, DseeLinear) else module.weight
        rows = x.numel() // w.shape[1]
        dense += rows * w.numel()
        sparse += rows * int(torch.count_nonzero(w))

    for m in model.modules():
        if isinstance(m, (nn.Linear, DseeLinear)):
            hooks.append(m.register_forward_hook(hook))
    was = model.training
    model.eval()
    try:
        model(**dummy_batch(model.config.vocab_size, batch, length, device))
    finally:
        for h in hooks:
            h.remove()
        model.train(was)
    attention = 0
    try:
        for attn, _ in heads_mod.attention_blocks(model):
            attention += 2 * batch * length * length * attn.all_head_size
    except ValueError:
        pass
    return {
        "macs_per_sequence": (dense + attention) // batch,
        "sparse_macs_per_sequence": (sparse + attention) // batch,
        "linear_macs_per_sequence": dense // batch,
        "attention_macs_per_sequence": attention // batch,
    }


@torch.no_grad()
def latency(
    model: nn.Module, batch: int, length: int, device: torch.device, repeats: int = 5, threads: int | None = 1
) -> dict:
    """Median wall time and median process CPU time of one forward pass on ``batch`` × ``length`` tokens (ms).

    On a CPU shared with other jobs the wall time mostly measures the other jobs; with one thread the CPU
    time is the compute itself, so both are reported (``threads=None`` keeps torch's thread count).
    """
    was = model.training
    model.eval()
    saved = torch.get_num_threads()
    if threads and device.type == "cpu":
        torch.set_num_threads(threads)
    try:
        inputs = dummy_batch(model.config.vocab_size, batch, length, device)
        model(**inputs)  # warm-up
        walls, cpus = [], []
        for _ in range(repeats):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            t0, c0 = time.perf_counter(), time.process_time()
            model(**inputs)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            walls.append((time.perf_counter() - t0) * 1000)
            cpus.append((time.process_time() - c0) * 1000)
    finally:
        torch.set_num_threads(saved)
        model.train(was)
    return {"latency_ms": statistics.median(walls), "cpu_ms": statistics.median(cpus)}
