"""torchrun / DDP helpers: one process per device, gloo on CPU, nccl on CUDA.

Launch any training verb with ``torchrun --nproc_per_node=N -m vita_cli train ...``; torchrun
sets ``WORLD_SIZE``/``RANK``/``LOCAL_RANK`` and :func:`init_from_env` joins the group. Rank 0
resolves the run directory and broadcasts it; only rank 0 writes files.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch.utils.data import BatchSampler, DataLoader, DistributedSampler, SequentialSampler


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def is_main() -> bool:
    return rank() == 0


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_from_env(device: torch.device) -> torch.device:
    """Join the process group torchrun describes; returns this rank's device (cuda:LOCAL_RANK)."""
    if not launched_by_torchrun() or (dist.is_available() and dist.is_initialized()):
        return device
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        dist.init_process_group("nccl")
    else:
        dist.init_process_group("gloo")
    return device


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def broadcast_object(obj):
    """Rank 0's ``obj`` on every rank (the run directory, a resolved path)."""
    if not is_distributed():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_reduce_sum(values: list[float], device: torch.device) -> list[float]:
    """Element-wise sum over ranks (counts and loss sums, so means are exact over the global batch)."""
    if not is_distributed():
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=device if device.type == "cuda" else "cpu")
    dist.all_reduce(t)
    return t.tolist()


def sync_buffers(model: torch.nn.Module) -> None:
    """Rank 0's buffers (BatchNorm running stats) everywhere: DDP syncs them only before a forward."""
    if is_distributed():
        for buf in model.buffers():
            dist.broadcast(buf, src=0)


def wrap_model(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    if not is_distributed():
        return model
    return torch.nn.parallel.DistributedDataParallel(
        model, device_ids=[device.index] if device.type == "cuda" else None
    )


def shard_loader(loader: DataLoader, seed: int = 0) -> DataLoader:
    """The same loader with each rank reading its own 1/world of every epoch."""
    if not is_distributed():
        return loader
    batch_sampler = loader.sampler if isinstance(loader.sampler, BatchSampler) else None
    inner = batch_sampler.sampler if batch_sampler is not None else loader.sampler
    if isinstance(inner, DistributedSampler):
        return loader
    shuffle = not isinstance(inner, SequentialSampler)
    sampler = DistributedSampler(loader.dataset, shuffle=shuffle, seed=seed, drop_last=loader.drop_last)
    common = dict(num_workers=loader.num_workers, collate_fn=loader.collate_fn, pin_memory=loader.pin_memory)
    if batch_sampler is not None:  # a loader fetching whole batches from the dataset (vita's in-memory sets)
        batches = type(batch_sampler)(sampler, batch_sampler.batch_size, batch_sampler.drop_last)
        return DataLoader(loader.dataset, sampler=batches, batch_size=None, **common)
    return DataLoader(
        loader.dataset, batch_size=loader.batch_size, sampler=sampler, drop_last=loader.drop_last, **common
    )
