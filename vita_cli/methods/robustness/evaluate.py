"""Accuracy under corruption: clean accuracy (SA), accuracy per corruption × severity, their mean (RA),
and the corruption error relative to a baseline model (mCE, as in ImageNet-C):

    CE_c = Σ_s err(model, c, s) / Σ_s err(baseline, c, s),   mCE = mean_c CE_c   (in %)

plus the relative mCE, which discounts each model's clean error:
    rCE_c = Σ_s (err(model, c, s) − err_clean(model)) / Σ_s (err(baseline, c, s) − err_clean(baseline)).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from vita_cli.core.plots import new_figure, save_figure
from vita_cli.methods.robustness.corruptions import CorruptedSet, CorruptionInputError


def model_in_channels(model: nn.Module) -> int | None:
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return module.in_channels
    return None


def check_channels(model: nn.Module, images: np.ndarray, what: str) -> None:
    expected = model_in_channels(model)
    got = images.shape[3] if images.ndim == 4 else 1
    if expected is not None and expected != got:
        raise CorruptionInputError(
            f"the model takes {expected}-channel images but {what} have {got} channel(s) "
            f"(set data.channels={expected} or use a matching model)"
        )


@torch.no_grad()
def accuracy(
    model: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    normalize: Callable[[torch.Tensor], torch.Tensor],
    device: torch.device,
    batch_size: int = 256,
) -> float:
    """Top-1 accuracy (%) of ``model`` on uint8 N×H×W×C images."""
    model.eval()
    correct = 0
    for start in range(0, len(images), batch_size):
        batch = torch.from_numpy(
            np.array(images[start : start + batch_size])
        )  # a writable copy of the mmap slice
        x = batch.to(device).permute(0, 3, 1, 2).float().div_(255)
        y = torch.as_tensor(labels[start : start + batch_size], device=device, dtype=torch.long)
        correct += int((model(normalize(x)).argmax(1) == y).sum())
    return 100.0 * correct / max(1, len(images))


def evaluate_robustness(
    model: nn.Module,
    corrupted: CorruptedSet,
    normalize: Callable[[torch.Tensor], torch.Tensor],
    device: torch.device,
    clean_images: np.ndarray | None = None,
    clean_labels: np.ndarray | None = None,
    batch_size: int = 256,
    progress: Callable[[str, int], None] | None = None,
) -> dict:
    """Accuracy table over ``corrupted``; clean accuracy too when the clean images are given."""
    model.to(device).eval()
    result: dict = {
        "corruptions": list(corrupted.corruptions),
        "severities": list(corrupted.severities),
        "n": corrupted.n,
    }
    if clean_images is not None:
        check_channels(model, clean_images, "the clean test images")
        result["clean_acc"] = accuracy(model, clean_images, clean_labels, normalize, device, batch_size)
    table: dict[str, list[float]] = {}
    for name in corrupted.corruptions:
        row = []
        for severity in corrupted.severities:
            images = corrupted.images(name, severity)
            check_channels(model, images, f"the {name} images")
            row.append(accuracy(model, images, corrupted.labels, normalize, device, batch_size))
            if progress:
                progress(name, 1)
        table[name] = row
    result["accuracy"] = table
    result["per_corruption"] = {name: float(np.mean(row)) for name, row in table.items()}
    result["per_severity"] = [
        float(np.mean([table[c][i] for c in table])) for i in range(len(corrupted.severities))
    ]
    result["mean_corruption_acc"] = float(np.mean([v for row in table.values() for v in row]))
    return result


def corruption_errors(result: dict, baseline: dict) -> dict:
    """mCE and relative mCE of ``result`` against ``baseline`` (both from :func:`evaluate_robustness`)."""
    common = [c for c in result["corruptions"] if c in baseline.get("accuracy", {})]
    if not common or result["severities"] != baseline.get("severities"):
        raise CorruptionInputError(
            "the baseline was evaluated on different corruptions or severities; evaluate both on the same folder"
        )
    ce, rce = {}, {}
    for name in common:
        err = 100 - np.asarray(result["accuracy"][name])
        base = 100 - np.asarray(baseline["accuracy"][name])
        ce[name] = float(100 * err.sum() / max(base.sum(), 1e-9))
        if "clean_acc" in result and "clean_acc" in baseline:
            base_gap = (base - (100 - baseline["clean_acc"])).sum()
            rce[name] = (
                float(100 * (err - (100 - result["clean_acc"])).sum() / base_gap)
                if abs(base_gap) > 1e-9
                else float("nan")
            )
    out = {"ce": ce, "mce": float(np.mean(list(ce.values())))}
    if rce:
        out["relative_ce"] = rce
        out["relative_mce"] = float(np.nanmean(list(rce.values())))
    return out


def heatmap(result: dict, path, title: str = "accuracy under corruption (%)"):
    """Corruptions × severities accuracy as a PNG heat map."""
    names = result["corruptions"]
    data = np.array([result["accuracy"][n] for n in names])
    # wide enough for the two-line title even with one or two severities
    fig, ax = new_figure(max(4.6, 1.2 + 0.9 * data.shape[1]), 1.2 + 0.32 * len(names))
    image = ax.imshow(data, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(data.shape[1]), [str(s) for s in result["severities"]])
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_xlabel("severity")
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            ax.text(
                j,
                i,
                f"{data[i, j]:.0f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if data[i, j] < 60 else "black",
            )
    subtitle = f"clean {result['clean_acc']:.1f}  " if "clean_acc" in result else ""
    ax.set_title(f"{title}\n{subtitle}mean {result['mean_corruption_acc']:.1f}", fontsize=8)
    fig.colorbar(image, ax=ax)
    return save_figure(fig, path)
