"""Tokenised batches, the training loop (AdamW, linear decay, best dev state) and evaluation."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from vita_cli.core.device import autocast, grad_scaler
from vita_cli.core.progress import SILENT, Reporter


@dataclass
class Encoded:
    ids: list[list[int]]
    labels: list[int]
    pad_id: int

    def __len__(self) -> int:
        return len(self.ids)


def encode(tokenizer, texts: list[str], labels: list[int], max_length: int) -> Encoded:
    ids = tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return Encoded([list(x) for x in ids], list(labels), pad)


def collate(data: Encoded, idx: list[int], device: torch.device) -> dict[str, torch.Tensor]:
    """Pad the chosen rows to their longest; input_ids, attention_mask, labels."""
    length = max(len(data.ids[i]) for i in idx)
    ids = torch.full((len(idx), length), data.pad_id, dtype=torch.long)
    mask = torch.zeros((len(idx), length), dtype=torch.long)
    for row, i in enumerate(idx):
        seq = data.ids[i]
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    labels = torch.tensor([data.labels[i] for i in idx], dtype=torch.long)
    return {"input_ids": ids.to(device), "attention_mask": mask.to(device), "labels": labels.to(device)}


def batches(data: Encoded, batch_size: int, gen: torch.Generator, bucket: int = 0) -> list[list[int]]:
    """One epoch of shuffled batches; with ``bucket`` > 0, rows are sorted by length inside windows of
    ``bucket`` batches (less padding) and the batches shuffled again."""
    order = torch.randperm(len(data), generator=gen).tolist()
    if bucket > 0:
        window = batch_size * bucket
        order = [
            i
            for w in range(0, len(order), window)
            for i in sorted(order[w : w + window], key=lambda j: len(data.ids[j]))
        ]
    out = [order[s : s + batch_size] for s in range(0, len(order), batch_size)]
    if bucket > 0:
        out = [out[k] for k in torch.randperm(len(out), generator=gen).tolist()]
    return out


def logits_of(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits


def macro_f1(pred: list[int], gold: list[int], n_classes: int) -> float:
    scores = []
    for c in range(n_classes):
        tp = sum(1 for p, g in zip(pred, gold, strict=True) if p == c and g == c)
        fp = sum(1 for p, g in zip(pred, gold, strict=True) if p == c and g != c)
        fn = sum(1 for p, g in zip(pred, gold, strict=True) if p != c and g == c)
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(scores) / n_classes


@torch.no_grad()
def predict(model: nn.Module, data: Encoded, device: torch.device, batch_size: int = 64) -> torch.Tensor:
    """Logits of every row, in order (sorted by length inside for less padding)."""
    was = model.training
    model.eval()
    order = sorted(range(len(data)), key=lambda i: len(data.ids[i]))
    out = torch.empty(len(data), model.config.num_labels)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        with autocast(device):
            out[idx] = logits_of(model, collate(data, idx, device)).float().cpu()
    model.train(was)
    return out


def evaluate(
    model: nn.Module, data: Encoded, device: torch.device, n_classes: int, batch_size: int = 64
) -> dict:
    logits = predict(model, data, device, batch_size)
    gold = torch.tensor(data.labels)
    pred = logits.argmax(-1)
    return {
        "accuracy": float((pred == gold).float().mean()) * 100,
        "f1": macro_f1(pred.tolist(), data.labels, n_classes) * 100,
        "loss": float(F.cross_entropy(logits, gold)),
    }


@dataclass
class FitResult:
    steps: int = 0
    losses: list[float] = field(default_factory=list)
    evals: list[dict] = field(default_factory=list)  # {"step", "epoch", "dev_accuracy", ...}
    best: dict | None = None
    seconds: float = 0.0
    step_seconds: float = 0.0


def fit(
    model: nn.Module,
    train: Encoded,
    dev: Encoded,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    n_classes: int,
    device: torch.device,
    seed: int = 0,
    weight_decay: float = 0.0,
    evals_per_epoch: int = 1,
    max_grad_norm: float = 1.0,
    bucket: int = 0,
    reporter: Reporter = SILENT,
    label: str = "train",
    on_eval=None,
) -> FitResult:
    """Train the parameters that require grad; keep (and restore) the state with the best dev accuracy."""
    params = [p for p in model.parameters() if p.requires_grad]
    result = FitResult()
    if epochs == 0 or not params:
        metrics = evaluate(model, dev, device, n_classes)
        result.best = {"step": 0, "epoch": 0, **{f"dev_{k}": v for k, v in metrics.items()}}
        result.evals.append(result.best)
        return result
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    steps_per_epoch = math.ceil(len(train) / batch_size)
    total = epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1 - s / total))
    scaler = grad_scaler(device)
    gen = torch.Generator().manual_seed(seed)
    eval_at = {round(steps_per_epoch * (k + 1) / evals_per_epoch) for k in range(evals_per_epoch)}
    best_acc, best_state = -1.0, None
    start = time.perf_counter()
    train_time = 0.0
    model.train()
    with reporter.task(label, total=total) as task:
        for epoch in range(epochs):
            epoch_batches = batches(train, batch_size, gen, bucket)
            for s in range(steps_per_epoch):
                t0 = time.perf_counter()
                batch = collate(train, epoch_batches[s], device)
                with autocast(device):
                    loss = F.cross_entropy(logits_of(model, batch).float(), batch["labels"])
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                if max_grad_norm:
                    scaler.unscale_(opt)
                    torch.nn.utils.clip_grad_norm_(params, max_grad_norm)
                scaler.step(opt)
                scaler.update()
                sched.step()
                train_time += time.perf_counter() - t0
                result.steps += 1
                result.losses.append(float(loss.detach()))
                task.advance(1, loss=f"{result.losses[-1]:.3f}")
                if (s + 1) in eval_at:
                    metrics = evaluate(model, dev, device, n_classes)
                    record = {
                        "step": result.steps,
                        "epoch": epoch + 1,
                        **{f"dev_{k}": v for k, v in metrics.items()},
                    }
                    result.evals.append(record)
                    if on_eval is not None:
                        on_eval(record)
                    task.log(
                        f"{label} epoch {epoch + 1} step {result.steps}: dev accuracy {metrics['accuracy']:.2f}"
                    )
                    if metrics["accuracy"] > best_acc:
                        best_acc = metrics["accuracy"]
                        result.best = record
                        best_state = {
                            n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad
                        }
                    model.train()
    if best_state is not None:
        with torch.no_grad():
            for n, p in model.named_parameters():
                if n in best_state:
                    p.copy_(best_state[n])
    model.eval()
    result.seconds = time.perf_counter() - start
    result.step_seconds = train_time / max(1, result.steps)
    return result
