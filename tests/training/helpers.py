"""Tiny models and datasets for trainer tests (seconds on one CPU core)."""

import os

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def tiny_cnn(num_classes: int = 3) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 8, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(32, 16),
        nn.ReLU(),
        nn.Linear(16, num_classes),
    )


def tiny_data(n: int = 96, num_classes: int = 3, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, num_classes, (n,), generator=g)
    images = torch.randn(n, 1, 8, 8, generator=g) * 0.5
    for c in range(num_classes):  # class c brightens quadrant c: easy to learn
        r, q = divmod(c % 4, 2)
        images[labels == c, 0, r * 4 : r * 4 + 4, q * 4 : q * 4 + 4] += 1.5
    return TensorDataset(images, labels)


def loaders(n: int = 96, batch_size: int = 16, seed: int = 0):
    train = DataLoader(tiny_data(n, seed=seed), batch_size=batch_size, shuffle=True)
    val = DataLoader(tiny_data(48, seed=seed + 1), batch_size=batch_size)
    return train, val


def ddp_worker(rank: int, world: int, port: int, out_dir: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        WORLD_SIZE=str(world),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
    from vita_cli.sparsity import MaskCallback, magnitude_prune
    from vita_cli.training import TrainConfig, distributed, fit

    distributed.init_from_env(torch.device("cpu"))
    torch.manual_seed(rank)  # different init per rank: DDP must broadcast rank 0's weights
    model = tiny_cnn()
    masks = magnitude_prune(model, 0.5)
    train, val = loaders(seed=0)
    cfg = TrainConfig(epochs=2, lr=0.05, amp=False, max_steps_per_epoch=3)
    result = fit(
        model,
        train,
        val,
        cfg,
        "cpu",
        callbacks=[MaskCallback(masks)],
        checkpoint_dir=os.path.join(out_dir, "ckpt"),
    )
    torch.save(
        {"state": model.state_dict(), "history": result.history}, os.path.join(out_dir, f"rank{rank}.pt")
    )
    distributed.shutdown()
