"""The three training stages of the graph cycle and the image-to-image baseline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from vita_cli.core.progress import SILENT, Reporter
from vita_cli.methods.font_graph.config import TrainConfig
from vita_cli.methods.font_graph.model import FontGraphModel


@dataclass
class TrainData:
    """Training tensors: images [F, 26, R, R] in [0, 1], graphs [F, 26, N, 4], ends, template ends per letter."""

    images: torch.Tensor
    graphs: torch.Tensor
    ends: torch.Tensor
    matches: torch.Tensor  # [F, 26] graph follows the letter's template (coordinate losses apply)
    template_ends: torch.Tensor  # [26, N]

    @classmethod
    def from_arrays(cls, arrays: dict, fonts: list[int], template_ends: np.ndarray) -> TrainData:
        return cls(
            torch.from_numpy(arrays["images"][fonts].astype(np.float32) / 255.0),
            torch.from_numpy(arrays["graphs"][fonts]),
            torch.from_numpy(arrays["ends"][fonts]),
            torch.from_numpy(arrays["matches"][fonts]),
            torch.from_numpy(template_ends),
        )

    @property
    def n_fonts(self) -> int:
        return self.images.shape[0]


def _batches(data: TrainData, cfg: TrainConfig, gen: torch.Generator):
    """(font, target letter, reference letter) triples, shuffled, in batches."""
    fonts = torch.arange(data.n_fonts).repeat_interleave(26)
    letters = torch.arange(26).repeat(data.n_fonts)
    order = torch.randperm(len(fonts), generator=gen)
    if cfg.max_samples:
        order = order[: cfg.max_samples]
    fonts, letters = fonts[order], letters[order]
    if cfg.pairing == "cross":  # another letter of the same font as the reference
        refs = (letters + torch.randint(1, 26, letters.shape, generator=gen)) % 26
    else:
        refs = letters.clone()
    for s in range(0, len(fonts) - 1, cfg.batch_size):
        sl = slice(s, s + cfg.batch_size)
        if len(fonts[sl]) >= 2:  # batch norm needs two samples
            yield fonts[sl], letters[sl], refs[sl]


def _losses(
    model: FontGraphModel, stage: str, objective: str, data: TrainData, f, t, r, cfg: TrainConfig, device
):
    target_img = data.images[f, t].to(device)
    letter = t.to(device)
    styles = f.to(device)
    out = {}
    if stage in ("img2graph", "joint", "img2img"):
        z, logits = model.image_encoder(data.images[f, r].to(device))
        out["xe_img"] = F.cross_entropy(logits, styles)
    if stage == "img2img":
        out["px"] = F.mse_loss(model.renderer(z, letter), target_img)
        total = cfg.px_weight * out["px"] + cfg.xe_weight * out["xe_img"]
        return total, out
    if stage in ("img2graph", "joint"):
        graph = model.constructor(z, letter)
        true = data.graphs[f, t].to(device)
        w = data.matches[f, t].to(device).float()[:, None, None]
        denom = w.sum().clamp(min=1) * graph.shape[1] * 2
        out["cr"] = (((graph[..., :2] - true[..., :2]) ** 2) * w).sum() / denom
        out["cos"] = (((graph[..., 2:] - true[..., 2:]) ** 2) * w).sum() / denom
    if stage == "img2graph":
        total = out["cr"] + cfg.cos_weight * out["cos"] + cfg.xe_weight * out["xe_img"]
        return total, out
    if stage == "graph2img":
        zg, logits_g = model.graph_encoder(data.graphs[f, t].to(device), data.ends[f, t].to(device))
    else:  # joint: the predicted graph, read with the letter's template flags
        zg, logits_g = model.graph_encoder(graph, data.template_ends[t].to(device))
    out["xe_graph"] = F.cross_entropy(logits_g, styles)
    out["px"] = F.mse_loss(model.renderer(zg, letter), target_img)
    if stage == "graph2img":
        return cfg.px_weight * out["px"] + cfg.xe_weight * out["xe_graph"], out
    if objective == "faithful":  # the released joint stage: only the re-rendered image's loss
        return cfg.px_weight * out["px"], out
    total = (
        out["cr"]
        + cfg.cos_weight * out["cos"]
        + cfg.px_weight * out["px"]
        + cfg.xe_weight * (out["xe_img"] + out["xe_graph"])
    )
    return total, out


STAGE_MODULES = {
    "img2graph": ("image_encoder", "constructor"),
    "graph2img": ("graph_encoder", "renderer"),
    "joint": ("image_encoder", "constructor", "graph_encoder", "renderer"),
    "img2img": ("image_encoder", "renderer"),
}


def train_stage(
    model: FontGraphModel,
    stage: str,
    data: TrainData,
    cfg: TrainConfig,
    epochs: int,
    seed: int,
    device: torch.device,
    objective: str = "sum",
    reporter: Reporter = SILENT,
    label: str = "",
) -> list[dict]:
    """Train the stage's modules for ``epochs``; returns per-epoch mean losses."""
    if epochs <= 0:
        return []
    params = [p for name in STAGE_MODULES[stage] for p in getattr(model, name).parameters()]
    opt = torch.optim.Adam(params, lr=cfg.lr)
    gen = torch.Generator().manual_seed(seed)
    history = []
    n_per_epoch = (cfg.max_samples or data.n_fonts * 26) // cfg.batch_size + 1
    with reporter.task(f"{label or stage}", total=epochs * n_per_epoch) as task:
        for epoch in range(epochs):
            model.train()
            sums: dict[str, float] = {}
            n = 0
            for f, t, r in _batches(data, cfg, gen):
                loss, parts = _losses(model, stage, objective, data, f, t, r, cfg, device)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                n += 1
                for k, v in parts.items():
                    sums[k] = sums.get(k, 0.0) + float(v.detach())
                sums["loss"] = sums.get("loss", 0.0) + float(loss.detach())
                task.advance(1, epoch=epoch + 1, loss=f"{float(loss.detach()):.4f}")
            record = {"stage": stage, "epoch": epoch + 1, **{k: v / max(n, 1) for k, v in sums.items()}}
            history.append(record)
            task.log(
                f"{label or stage} epoch {epoch + 1}: "
                + " ".join(f"{k}={v:.4f}" for k, v in record.items() if isinstance(v, float))
            )
    model.eval()
    return history
