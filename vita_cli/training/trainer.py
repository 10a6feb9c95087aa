"""The one training loop every vision verb reuses: :func:`fit` and :func:`evaluate`.

Accuracies are in percent (0-100) everywhere. ``fit`` handles SGD/Adam/AdamW, multistep/cosine/
constant schedules with linear warmup (stepped per batch), label smoothing, AMP and gradient clipping
on CUDA, DDP under torchrun, and an atomic per-epoch
checkpoint that ``resume`` restores bit-for-bit (model, optimiser, scheduler, AMP scaler, every RNG,
epoch, the callbacks' state such as sparsity masks, and the caller's ``checkpoint_meta``). Methods hook
in through :mod:`vita_cli.training.callbacks`.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vita_cli.core.checkpoint import atomic_write, remove_stale_tmp
from vita_cli.core.device import autocast, grad_scaler
from vita_cli.core.errors import UserError
from vita_cli.core.progress import SILENT, Reporter
from vita_cli.training import distributed as ddp
from vita_cli.training.callbacks import FunctionCallback, TrainCallback
from vita_cli.training.config import TrainConfig

CHECKPOINT_NAME = "last.pt"
METRICS_NAME = "metrics.jsonl"


@dataclass
class TrainResult:
    history: list[dict]  # one record per epoch (train/val loss and accuracy, lr, images/s, ...)
    best_val_acc: float | None
    final_val_acc: float | None
    model: nn.Module
    stopped_early: bool = False


@dataclass
class EvalResult:
    accuracy: float  # percent
    loss: float
    per_class_accuracy: list[float]  # percent; nan for classes absent from the data
    confusion: torch.Tensor  # [true, predicted] counts
    count: int = 0

    def as_dict(self) -> dict:
        return {
            "accuracy": self.accuracy,
            "loss": self.loss,
            "per_class_accuracy": self.per_class_accuracy,
            "confusion": self.confusion.tolist(),
            "count": self.count,
        }


# ---------------------------------------------------------------- optimiser and schedule


def build_optimizer(model: nn.Module, cfg: TrainConfig, extra_param_groups: list[dict] | None = None):
    extra = list(extra_param_groups or [])
    taken = {id(p) for g in extra for p in g["params"]}
    params = [p for p in model.parameters() if p.requires_grad and id(p) not in taken]
    groups = [{"params": params}] + [dict(g, params=list(g["params"])) for g in extra]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            groups, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, nesterov=cfg.nesterov
        )
    if cfg.optimizer == "adam":
        return torch.optim.Adam(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)


def lr_factor(step: int, cfg: TrainConfig, steps_per_epoch: int) -> float:
    """Multiplier of the base lr after ``step`` optimiser steps (warmup, then the schedule)."""
    spe = max(1, steps_per_epoch)
    warm = cfg.warmup_epochs * spe
    if step < warm:
        return (step + 1) / warm
    if cfg.schedule == "constant":
        return 1.0
    if cfg.schedule == "multistep":
        epoch = step // spe
        return cfg.gamma ** sum(1 for m in cfg.milestones if epoch >= m)
    total = max(1, cfg.epochs * spe - warm)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / total)))


# ---------------------------------------------------------------- checkpoint (the only file I/O)


class TrainCheckpoint:
    """``<dir>/last.pt`` (written atomically each epoch) and ``<dir>/metrics.jsonl``."""

    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        self.path = self.dir / CHECKPOINT_NAME

    def save(self, state: dict) -> None:
        atomic_write(self.path, lambda tmp: torch.save(state, tmp))

    def append_metrics(self, record: dict) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / METRICS_NAME, "a") as f:
            f.write(json.dumps(record) + "\n")

    @staticmethod
    def load(path: str | Path) -> dict:
        path = Path(path)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises many types for damaged files
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise UserError(
                f"corrupt training checkpoint {path}: {first}",
                "delete it to start over, or resume from another file",
            ) from exc
        if not isinstance(state, dict) or "model" not in state or "epoch" not in state:
            raise UserError(
                f"{path} is not a vita training checkpoint", "pass a last.pt written by vita train"
            )
        return state


def resolve_resume(resume: str | Path | None, checkpoint_dir: str | Path | None) -> Path | None:
    """``None``: fresh run. ``"auto"``: the checkpoint in ``checkpoint_dir`` if one exists (else fresh).
    A path: that file (or ``<dir>/last.pt``), which must exist."""
    if resume is None or resume is False:
        return None
    if checkpoint_dir is not None:  # a write killed mid-way left a temporary file: the resumed run owns it
        remove_stale_tmp(Path(checkpoint_dir) / CHECKPOINT_NAME)
    if str(resume) == "auto":
        if checkpoint_dir is None:
            return None
        path = Path(checkpoint_dir) / CHECKPOINT_NAME
        return path if path.is_file() else None
    path = Path(resume)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise UserError(
            f"checkpoint to resume from not found: {path}",
            "use --resume auto to start fresh when none exists",
        )
    return path


def _rng_state(loader) -> dict:
    state = {
        "torch": torch.get_rng_state(),
        "numpy": _numpy_state(),
        "python": _python_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    gen = getattr(loader, "generator", None)
    if gen is not None:
        state["loader"] = gen.get_state()
    return state


def _numpy_state() -> dict:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "kind": kind,
        "keys": torch.from_numpy(keys.astype(np.int64)),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached": float(cached),
    }


def _python_state() -> dict:
    version, internal, gauss = random.getstate()
    return {"version": version, "internal": list(internal), "gauss": gauss}


def _set_rng_state(state: dict, loader) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(
        (n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"])
    )
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    gen = getattr(loader, "generator", None)
    if gen is not None and "loader" in state:
        gen.set_state(state["loader"])


# ---------------------------------------------------------------- the loop


def fit(
    model: nn.Module,
    train_loader,
    val_loader,
    cfg: TrainConfig,
    device: torch.device | str,
    reporter: Reporter = SILENT,
    callbacks: Sequence[TrainCallback] = (),
    loss_fn: Callable | None = None,
    batch_hook: Callable | None = None,
    epoch_callback: Callable | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: str | Path | None = None,
    extra_param_groups: list[dict] | None = None,
    checkpoint_meta: dict[str, Any] | None = None,
    lr_lambda: Callable[[int], float] | None = None,
    extra_state: tuple[Callable[[], dict], Callable[[dict], None]] | None = None,
) -> TrainResult:
    """Train ``model`` in place for ``cfg.epochs`` epochs and return its history.

    - ``loss_fn(model, images, labels) -> (loss, logits)`` replaces cross-entropy.
    - ``batch_hook(images, labels, step) -> (images, labels)`` edits each batch; ``step`` counts
      optimiser steps done so far (the model holds the weights after ``step`` steps).
    - ``epoch_callback(epoch, model, metrics) -> dict | None`` runs after each epoch (``epoch`` =
      epochs completed); returned keys are logged, ``{"stop": True}`` ends training.
    - ``callbacks``: :class:`~vita_cli.training.callbacks.TrainCallback` objects (e.g. sparsity's
      ``MaskCallback``: masked weights stay exactly zero); their state goes into every checkpoint.
    - ``checkpoint_dir``: write ``last.pt`` + ``metrics.jsonl`` each epoch (rank 0 only).
    - ``resume``: ``"auto"`` | path | None (see :func:`resolve_resume`).
    - ``extra_param_groups``: optimiser groups (e.g. gates without weight decay) besides the model's.
    - ``lr_lambda(step) -> factor`` replaces ``cfg``'s schedule (e.g. one cosine continued across two calls).
    - ``extra_state = (get, set)``: state outside the model and optimiser (tensors, numbers, lists) saved
      in every checkpoint by ``get()`` and handed back to ``set`` on resume. A run whose
      ``epoch_callback`` stopped it resumes as stopped.
    """
    device = torch.device(device)
    model.to(device)
    store = TrainCheckpoint(checkpoint_dir) if checkpoint_dir is not None else None
    resume_path = resolve_resume(resume, checkpoint_dir)
    state = TrainCheckpoint.load(resume_path) if resume_path is not None else None
    callbacks = list(callbacks)
    if batch_hook is not None or epoch_callback is not None or extra_state is not None:
        callbacks.append(FunctionCallback(batch_hook, epoch_callback, extra_state))
    for cb in callbacks:
        cb.on_train_start(model)

    train_loader = ddp.shard_loader(train_loader)
    net = ddp.wrap_model(model, device)
    steps_per_epoch = len(train_loader)
    if cfg.max_steps_per_epoch:
        steps_per_epoch = min(steps_per_epoch, cfg.max_steps_per_epoch)
    optimizer = build_optimizer(model, cfg, extra_param_groups)
    if lr_lambda is None:
        lr_lambda = lambda s: lr_factor(s, cfg, steps_per_epoch)  # noqa: E731
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)
    scaler = grad_scaler(device, cfg.amp)
    criterion = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    trainable = [p for g in optimizer.param_groups for p in g["params"]]

    start_epoch, history, best, stopped = 0, [], None, False
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        _set_rng_state(state["rng"], train_loader)
        start_epoch, history, best = int(state["epoch"]), list(state["history"]), state.get("best_val_acc")
        for cb in callbacks:
            if cb.state_key is not None and cb.state_key in state:
                cb.load_state_dict(state[cb.state_key])
        stopped = bool(state.get("stopped", False))  # the epoch callback had ended the run
        reporter.log(f"resumed from {resume_path} at epoch {start_epoch}")

    step = start_epoch * steps_per_epoch
    for epoch in range(start_epoch, start_epoch if stopped else cfg.epochs):
        if hasattr(train_loader.sampler, "set_epoch"):
            train_loader.sampler.set_epoch(epoch)
        net.train()
        loss_sum = torch.zeros((), device=device, dtype=torch.float64)
        correct = torch.zeros((), device=device, dtype=torch.long)
        seen = 0
        start = time.perf_counter()
        with reporter.task(f"epoch {epoch + 1}/{cfg.epochs}", total=steps_per_epoch) as task:
            pending = 0
            for i, (images, labels) in enumerate(train_loader):
                if i >= steps_per_epoch:
                    break
                for cb in callbacks:
                    images, labels = cb.on_batch(images, labels, step)
                images = images.to(device, non_blocking=True)
                labels = labels.to(device, non_blocking=True)
                with autocast(device, cfg.amp):
                    if loss_fn is not None:
                        loss, logits = loss_fn(net, images, labels)
                    else:
                        logits = net(images)
                        loss = criterion(logits, labels)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                for cb in callbacks:
                    cb.after_backward(model)
                if cfg.grad_clip is not None:
                    scaler.unscale_(optimizer)
                    nn.utils.clip_grad_norm_(trainable, cfg.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                n = labels.shape[0]
                seen += n
                step += 1
                for cb in callbacks:
                    cb.after_step(model, step)
                # accumulate on the device; no host sync per batch
                loss_sum += loss.detach().double() * n
                if labels.dim() == 1:
                    correct += (logits.detach().argmax(1) == labels).sum()
                pending += 1
                if pending >= cfg.log_every or i + 1 == steps_per_epoch:
                    elapsed = time.perf_counter() - start
                    task.advance(
                        pending, loss=f"{loss.item():.3f}", ips=f"{seen / max(elapsed, 1e-9):.0f} img/s"
                    )
                    pending = 0
        seconds = time.perf_counter() - start
        ddp.sync_buffers(model)
        total_loss, total_correct, total_seen = ddp.all_reduce_sum(
            [loss_sum.item(), float(correct.item()), float(seen)], device
        )
        record = {
            "epoch": epoch + 1,
            "lr": optimizer.param_groups[0]["lr"],
            "train_loss": total_loss / max(1, total_seen),
            "train_acc": 100.0 * total_correct / max(1, total_seen),
            "images_per_s": total_seen / max(seconds, 1e-9),
            "seconds": seconds,
        }
        if val_loader is not None:
            val = evaluate(model, val_loader, device)
            record["val_loss"], record["val_acc"] = val.loss, val.accuracy
            best = val.accuracy if best is None else max(best, val.accuracy)
        for cb in callbacks:
            extra = cb.on_epoch_end(epoch + 1, model, dict(record)) or {}
            stopped = bool(extra.pop("stop", False)) or stopped
            record.update(extra)
        history.append(record)
        reporter.log(_summary(record, cfg.epochs))
        if store is not None and ddp.is_main():
            store.save(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict() if scaler.is_enabled() else {},
                    "rng": _rng_state(train_loader),
                    "epoch": epoch + 1,
                    "history": history,
                    "best_val_acc": best,
                    "meta": dict(checkpoint_meta or {}),
                    "stopped": stopped,
                    **{cb.state_key: cb.state_dict() for cb in callbacks if cb.state_key is not None},
                }
            )
            store.append_metrics(record)
        ddp.barrier()
        if stopped:
            break
    final = history[-1].get("val_acc") if history else None
    return TrainResult(history, best, final, model, stopped)


def _summary(r: dict, epochs: int) -> str:
    text = f"epoch {r['epoch']}/{epochs}  loss {r['train_loss']:.4f}  acc {r['train_acc']:.2f}%"
    if "val_acc" in r:
        text += f"  val_loss {r['val_loss']:.4f}  val_acc {r['val_acc']:.2f}%"
    return text + f"  {r['images_per_s']:.0f} img/s  {r['seconds']:.1f}s"


@torch.no_grad()
def evaluate(
    model: nn.Module, loader, device: torch.device | str, num_classes: int | None = None, amp: bool = True
) -> EvalResult:
    """Accuracy (percent), mean cross-entropy, per-class accuracy and the confusion matrix."""
    device = torch.device(device)
    was_training = model.training
    model.eval()
    model.to(device)
    loss_sum, count = 0.0, 0
    confusion = None
    for images, labels in loader:
        images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        with autocast(device, amp):
            logits = model(images)
        logits = logits.float()
        loss_sum += nn.functional.cross_entropy(logits, labels, reduction="sum").item()
        count += labels.shape[0]
        k = num_classes or logits.shape[1]
        if confusion is None:
            confusion = torch.zeros(k, k, dtype=torch.long, device=device)
        confusion += torch.bincount(labels * k + logits.argmax(1), minlength=k * k).view(k, k)
    model.train(was_training)
    if confusion is None:
        k = num_classes or 0
        return EvalResult(
            float("nan"), float("nan"), [float("nan")] * k, torch.zeros(k, k, dtype=torch.long), 0
        )
    confusion = confusion.cpu()
    per_row = confusion.sum(1)
    per_class = [
        100.0 * confusion[i, i].item() / per_row[i].item() if per_row[i] else float("nan")
        for i in range(confusion.shape[0])
    ]
    accuracy = 100.0 * confusion.diag().sum().item() / max(1, count)
    return EvalResult(accuracy, loss_sum / max(1, count), per_class, confusion, count)
