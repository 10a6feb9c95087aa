"""Robust training on top of ``vita_cli.training.fit``: standard, AugMix, AugMax (BN / DuBN / DuBIN).

The trainer hands :class:`RobustLoss` normalized (cropped/flipped) batches; the loss un-normalizes them
to [0, 1] with the data set's mean/std, builds the augmented views there, and normalizes each view again
before the forward pass. Per batch:

- standard: CE(clean).
- augmix: two AugMix views; CE(clean) + λ·JS(clean, augmix₁, augmix₂) (AugMix's own recipe).
- augmax: one AugMax view (adversarial (m, w) over fresh chains, model in eval mode and on the
  ``augmax`` route during the search) and one AugMix view; CE(clean) + λ·JS(clean, augmax, augmix).
  The AugMax forward runs on the ``augmax`` route, the AugMix and clean forwards on ``main``.

Randomness comes from torch's global generator, which the trainer seeds and checkpoints, so runs are
reproducible and resumable. Time spent building views (operators + mixing) and in the inner
maximisation is accumulated in ``RobustLoss.timings``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from vita_cli.core.progress import SILENT
from vita_cli.data import DataConfig, load_data, make_loader
from vita_cli.methods.augmax.augmax import augmax_attack
from vita_cli.methods.augmax.augmix import augment_chains, mix, random_mixing_weights
from vita_cli.methods.augmax.config import RobustMethod
from vita_cli.methods.augmax.losses import js_divergence
from vita_cli.models import build_model
from vita_cli.models.dubin import ROUTE_AUGMAX, ROUTE_MAIN, dubin_spec, set_route
from vita_cli.training import evaluate, fit


def robust_arch(arch: dict, method: RobustMethod) -> dict:
    """The architecture spec to build: with DuBN/DuBIN the ``rebuild`` hook converts the plain model."""
    arch = dict(arch)
    if method.dual_norm:
        arch["rebuild"] = dubin_spec(method.norm, method.in_ratio, method.dubin_stages)
    return arch


@dataclass
class BatchStats:
    """Running sums over an epoch (reset by the epoch callback)."""

    n: int = 0
    ce_clean: float = 0.0
    ce_augmix: float = 0.0
    ce_augmax: float = 0.0
    acc_augmix: float = 0.0
    acc_augmax: float = 0.0
    js: float = 0.0
    attack_steps: float = 0.0
    batches: int = 0

    def summary(self) -> dict:
        n = max(1, self.n)
        for key in ("ce_clean", "ce_augmix", "ce_augmax", "acc_augmix", "acc_augmax", "js"):
            setattr(self, key, float(getattr(self, key)))
        out = {"ce_clean": self.ce_clean / n}
        if self.ce_augmix:
            out.update(
                ce_augmix=self.ce_augmix / n,
                acc_augmix=100 * self.acc_augmix / n,
                js=self.js / max(1, self.batches),
            )
        if self.ce_augmax:
            out.update(
                ce_augmax=self.ce_augmax / n,
                acc_augmax=100 * self.acc_augmax / n,
                attack_steps=self.attack_steps / max(1, self.batches),
            )
        return out


@dataclass
class RobustLoss:
    """``loss_fn(model, images, labels) -> (loss, clean_logits)`` for :func:`vita_cli.training.fit`."""

    method: RobustMethod
    mean: tuple[float, ...]
    std: tuple[float, ...]
    label_smoothing: float = 0.0
    sync_timing: bool = False  # synchronise CUDA around timed sections (benchmarks only)
    stats: BatchStats = field(default_factory=BatchStats)
    timings: dict = field(default_factory=lambda: {"views": 0.0, "attack": 0.0})

    def _norm(self, x01: torch.Tensor) -> torch.Tensor:
        m = torch.as_tensor(self.mean, dtype=x01.dtype, device=x01.device).view(1, -1, 1, 1)
        s = torch.as_tensor(self.std, dtype=x01.dtype, device=x01.device).view(1, -1, 1, 1)
        return (x01 - m) / s

    def _unnorm(self, x: torch.Tensor) -> torch.Tensor:
        m = torch.as_tensor(self.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        s = torch.as_tensor(self.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        return (x * s + m).clamp(0, 1)

    def _tick(self, device) -> float:
        if self.sync_timing and device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter()

    def _augmix_view(self, x01: torch.Tensor) -> torch.Tensor:
        cfg = self.method
        chains = augment_chains(x01, cfg.width, cfg.depth, cfg.severity, cfg.operators)
        m, w = random_mixing_weights(x01.shape[0], cfg.width)
        return mix(x01, chains, m.to(x01.device, x01.dtype), w.to(x01.device, x01.dtype))

    def __call__(self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor):
        cfg = self.method
        if cfg.name == "standard":
            logits = model(images)
            loss = F.cross_entropy(logits, labels, label_smoothing=self.label_smoothing)
            self.stats.n += labels.shape[0]
            self.stats.ce_clean += loss.detach() * labels.shape[0]
            return loss, logits
        device = images.device
        x01 = self._unnorm(images.float())
        t0 = self._tick(device)
        views = [self._augmix_view(x01)]
        if cfg.name == "augmix":
            views.append(self._augmix_view(x01))
        else:
            augmax_chains = augment_chains(x01, cfg.width, cfg.depth, cfg.severity, cfg.operators)
        t1 = self._tick(device)
        self.timings["views"] += t1 - t0
        logits_augmax = None
        if cfg.name == "augmax":
            was_training = model.training
            model.eval()  # the search must not move BN statistics
            if cfg.dual_norm:
                set_route(model, ROUTE_AUGMAX)
            try:
                # the search differentiates w.r.t. (m, q) only: call the bare module so a DDP wrapper
                # does not wait for parameter gradients that never come
                bare = getattr(model, "module", model)
                result = augmax_attack(
                    lambda z: bare(self._norm(z)),
                    x01,
                    augmax_chains,
                    labels,
                    steps=cfg.steps,
                    step_size=cfg.step_size,
                    tau=cfg.tau if cfg.attacker == "fat" else None,
                    legacy_fat=cfg.fat_legacy,
                    measure_end_loss=False,
                )
                self.timings["attack"] += self._tick(device) - t1
                model.train(was_training)
                logits_augmax = model(self._norm(result.images))  # training forward, augmax route
            finally:
                model.train(was_training)
                if cfg.dual_norm:
                    set_route(model, ROUTE_MAIN)
            self.stats.attack_steps += result.steps_taken
        view_logits = [model(self._norm(v)) for v in views]
        logits_clean = model(images)
        augmented = ([logits_augmax] if logits_augmax is not None else []) + view_logits
        ce = F.cross_entropy(logits_clean, labels, label_smoothing=self.label_smoothing)
        js = js_divergence(logits_clean, *augmented)
        loss = ce + cfg.lam * js
        self._record(labels, ce, js, view_logits[0], logits_augmax)
        return loss, logits_clean

    @torch.no_grad()
    def _record(self, labels, ce, js, logits_augmix, logits_augmax) -> None:
        # sums stay on the device (no host sync per batch); the epoch summary reads them once
        n = labels.shape[0]
        s = self.stats
        s.n += n
        s.batches += 1
        s.ce_clean += ce.detach() * n
        s.js += js.detach()
        s.ce_augmix += F.cross_entropy(logits_augmix.float(), labels, reduction="sum")
        s.acc_augmix += (logits_augmix.argmax(1) == labels).sum()
        if logits_augmax is not None:
            s.ce_augmax += F.cross_entropy(logits_augmax.float(), labels, reduction="sum")
            s.acc_augmax += (logits_augmax.argmax(1) == labels).sum()

    def epoch_callback(self, epoch: int, model: nn.Module, metrics: dict) -> dict:
        """Log the epoch's view statistics (AugMax CE should exceed AugMix CE) and reset them."""
        out = {k: round(v, 4) for k, v in self.stats.summary().items()}
        out.update({f"seconds_{k}": round(v, 3) for k, v in self.timings.items()})
        self.stats = BatchStats()
        self.timings = {"views": 0.0, "attack": 0.0}
        return out


def train_robust(
    model: nn.Module,
    bundle,
    method: RobustMethod,
    train_cfg,
    device: torch.device,
    reporter=None,
    seed: int = 0,
    batch_size: int = 128,
    checkpoint_dir=None,
    resume=None,
) -> dict:
    """Train ``model`` (already DuBIN-converted when the arm needs it) and score it on the clean test set."""
    reporter = reporter or SILENT
    train_loader = make_loader(bundle.train, batch_size, shuffle=True, seed=seed)
    val_loader = make_loader(bundle.val, 512, shuffle=False) if len(bundle.val) else None
    test_loader = make_loader(bundle.test, 512, shuffle=False)
    loss = RobustLoss(method, bundle.mean, bundle.std, label_smoothing=train_cfg.label_smoothing)
    result = fit(
        model,
        train_loader,
        val_loader,
        train_cfg,
        device,
        reporter,
        loss_fn=loss,
        epoch_callback=loss.epoch_callback,
        checkpoint_dir=checkpoint_dir,
        resume=resume,
    )
    test = evaluate(model, test_loader, device)
    return {
        "method": method.label,
        "history": result.history,
        "best_val_acc": result.best_val_acc,
        "final_val_acc": result.final_val_acc,
        "test_acc": test.accuracy,
        "test_loss": test.loss,
    }


def build_for_recipe(recipe, seed: int = 0):
    """Data bundle, model (converted for DuBN/DuBIN arms) and its arch spec for an :class:`AugMaxRecipe`."""
    bundle = load_data(DataConfig(**asdict(recipe.data)), seed=seed)
    arch = {
        "name": recipe.model.name,
        "num_classes": bundle.num_classes,
        "in_channels": bundle.in_channels,
        **recipe.model.options,
    }
    arch = robust_arch(arch, recipe.method)
    return bundle, build_model(arch), arch
