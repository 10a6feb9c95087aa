"""The GDP pipeline on plain objects: gate training, thresholding, fold + remove, checks, fine-tuning.

``gdp_phase`` trains weights and gates together with :func:`vita_cli.training.fit`: the gates sit in
their own optimiser group without weight decay, the controller anneals ε and raises λ from a
``batch_hook``, and the ``epoch_callback`` logs hard FLOPs / λ / ε / a gate histogram, keeps a
snapshot of every gate value (the polarization picture) and stops once the FLOPs target is met and
the gates are polarized. ``finalize`` thresholds, folds and removes, then verifies that the compact
network computes the same logits and that its hook-counted MACs equal the bilinear formula.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from vita_cli.core.device import exact_float32
from vita_cli.core.flops import count_macs
from vita_cli.core.progress import SILENT, Reporter
from vita_cli.methods.gdp import baselines as B
from vita_cli.methods.gdp.compact import compact_model, harden
from vita_cli.methods.gdp.config import GdpConfig
from vita_cli.methods.gdp.controller import GdpController
from vita_cli.methods.gdp.flops import KeepPlan, dense_macs, hard_macs, resolve_keep
from vita_cli.methods.gdp.gates import GateBank, GateHooks, histogram_summary, polarization
from vita_cli.methods.gdp.graph import ChannelGraph
from vita_cli.training import TrainConfig, evaluate, fit, lr_factor


@dataclass
class PhaseResult:
    history: list[dict]
    snapshots: list[torch.Tensor]  # all gate values after epoch 0, 1, 2, ...
    epochs_run: int
    final_lam: float
    final_eps: float


@dataclass
class Compacted:
    model: nn.Module
    manifest: str
    plan: KeepPlan
    macs_formula: int
    macs_counted: int  # Conv2d + Linear MACs by forward hooks on the compact model
    max_logit_diff: float | None = None
    forced: dict = field(default_factory=dict)


def conv_linear_macs(model: nn.Module, input_shape) -> int:
    """MACs of Conv2d and Linear layers counted by forward hooks (BN's scale-and-shift excluded)."""
    report = count_macs(model, (1, *input_shape))
    by_type = report.macs_by_type()
    return int(by_type.get("Conv2d", 0) + by_type.get("Linear", 0))


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def continued_cosine(done_steps: int, total_steps: int):
    """lr factor of one cosine over ``total_steps`` for a run that starts ``done_steps`` into it."""
    total = max(1, total_steps)
    return lambda step: 0.5 * (1 + math.cos(math.pi * min(1.0, (step + done_steps) / total)))


def planned_epochs(cfg: GdpConfig, budget: int | None) -> int:
    """Gate phase + fine-tune epochs: ``budget`` when given, else the recipe's maximum."""
    return budget if budget is not None else cfg.epochs + cfg.finetune_epochs


def gdp_phase(
    model: nn.Module,
    graph: ChannelGraph,
    bank: GateBank,
    train_loader,
    val_loader,
    cfg: GdpConfig,
    train_cfg: TrainConfig,
    device,
    reporter: Reporter = SILENT,
    horizon_epochs: int | None = None,
    checkpoint_dir=None,
    resume=None,
) -> PhaseResult:
    """Train weights and gates with the FLOPs penalty until the target is met and gates polarize.

    ``horizon_epochs`` (schedule ``continuous``): the length of the one cosine the gate phase starts
    and the fine-tune finishes (:func:`planned_epochs`). ``checkpoint_dir`` / ``resume`` as in
    :func:`vita_cli.training.fit`; the checkpoint also holds the gates, λ, ε and the gate snapshots.
    """
    device = torch.device(device)
    bank.to(device)
    phase_cfg = dataclasses.replace(
        train_cfg,
        epochs=cfg.epochs,
        schedule="cosine" if cfg.schedule == "continuous" else cfg.schedule,
        warmup_epochs=0,
        milestones=[],
        lr=cfg.weight_lr or train_cfg.lr,
    )
    steps_per_epoch = _steps_per_epoch(train_loader, phase_cfg)
    controller = GdpController(
        cfg, graph, bank, dense_macs(graph), cfg.epochs * steps_per_epoch, steps_per_epoch
    )
    schedule = None
    if cfg.schedule == "continuous":
        schedule = continued_cosine(0, (horizon_epochs or planned_epochs(cfg, None)) * steps_per_epoch)
    gate_lr = cfg.gate_lr if cfg.gate_lr is not None else train_cfg.lr
    groups = [{"params": list(bank.parameters()), "weight_decay": 0.0, "lr": gate_lr}]
    snapshots = [bank.all_values()]

    def batch_hook(images, labels, step):
        previous = max(0, step - 1)  # the proximal step follows the optimiser step just taken
        factor = schedule(previous) if schedule else lr_factor(previous, phase_cfg, steps_per_epoch)
        controller.before_step(step, gate_lr * factor)
        return images, labels

    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]

    def loss_fn(net, images, labels):
        if (
            cfg.experimental.freeze_bn
        ):  # fit() switched the model to train mode: BN back to running statistics
            for bn in bns:
                bn.eval()
        logits = net(images)
        loss = F.cross_entropy(logits, labels, label_smoothing=train_cfg.label_smoothing)
        if cfg.experimental.penalty == "autograd":
            loss = loss + controller.penalty_loss().to(loss.device)
        return loss, logits

    def epoch_callback(epoch, net, metrics):
        values = bank.all_values()
        snapshots.append(values)
        ratio = controller.measure()
        polar = polarization(values, cfg.tau)
        reporter.log(
            f"gdp epoch {epoch}: hard FLOPs {ratio:.3f} of dense (target {cfg.flops_target:g})  "
            f"λ={controller.lam:.3g}  ε={bank.eps:.2g}  {histogram_summary(values, cfg.tau)}"
        )
        stop = (
            epoch >= cfg.min_epochs
            and ratio <= cfg.flops_target
            and polar <= cfg.polarized_tol
            and (cfg.experimental.eps_schedule == "geometric" or controller.annealed)
        )
        return {
            "hard_flops_ratio": ratio,
            "lam": controller.lam,
            "eps": bank.eps,
            "mid_gates": polar,
            "stop": stop,
        }

    def get_state() -> dict:
        return {
            "gates": {str(s): bank.raw(s).detach().cpu() for s in bank.space_ids},
            "lam": controller.lam,
            "reached_at": controller.reached_at,
            "eps": bank.eps,
            "snapshots": list(snapshots),
        }

    @torch.no_grad()
    def set_state(state: dict) -> None:
        for s in bank.space_ids:
            bank.raw(s).copy_(state["gates"][str(s)])
        controller.lam, controller.reached_at = state["lam"], state["reached_at"]
        bank.eps = state["eps"]
        snapshots[:] = state["snapshots"]

    with GateHooks(model, graph, bank):
        result = fit(
            model,
            train_loader,
            val_loader,
            phase_cfg,
            device,
            reporter,
            loss_fn=loss_fn,
            batch_hook=batch_hook,
            epoch_callback=epoch_callback,
            extra_param_groups=groups,
            lr_lambda=schedule,
            checkpoint_dir=checkpoint_dir,
            resume=resume,
            extra_state=(get_state, set_state),
        )
    return PhaseResult(result.history, snapshots, len(result.history), controller.lam, bank.eps)


@torch.no_grad()
def finalize(
    model: nn.Module,
    graph: ChannelGraph,
    bank: GateBank,
    cfg: GdpConfig,
    check_images: torch.Tensor | None = None,
) -> Compacted:
    """Threshold (forcing the FLOPs target if needed), fold + remove, and verify exactness and MACs."""
    dense = dense_macs(graph)
    on, forced = harden(graph, bank.values(), cfg.tau, cfg.flops_target * dense, floor=cfg.force_floor)
    bank.switch_off(on)
    plan = resolve_keep(graph, on)
    gates = bank.values()
    compact, manifest = compact_model(model, graph, gates, plan)
    out = Compacted(
        compact,
        manifest,
        plan,
        hard_macs(graph, plan),
        conv_linear_macs(compact, graph.input_shape),
        forced=forced,
    )
    if check_images is not None:
        out.max_logit_diff = logit_gap(model, graph, bank, compact, check_images)
    return out


@torch.no_grad()
def logit_gap(model, graph, bank, compact, images) -> float:
    """max |logits(gated, thresholded) − logits(compact)| in eval mode."""
    device = next(model.parameters()).device
    modes = model.training, compact.training
    model.eval()
    compact.eval()
    bank.to(device)
    with exact_float32():
        with GateHooks(model, graph, bank):
            ref = model(images.to(device)).float().cpu()
        got = compact.to(device)(images.to(device)).float().cpu()
    model.train(modes[0])
    compact.train(modes[1])
    return float((ref - got).abs().max())


def gated_accuracy(model, graph, bank, loader, device) -> float:
    bank.to(device)
    with GateHooks(model, graph, bank):
        return evaluate(model, loader, device).accuracy


def train_plain(
    model,
    train_loader,
    val_loader,
    train_cfg: TrainConfig,
    epochs: int,
    device,
    reporter=SILENT,
    loss_fn=None,
    checkpoint_dir=None,
    resume=None,
    lr_lambda=None,
):
    """Ordinary training for ``epochs`` epochs with the train section's optimiser (cosine unless set);
    ``checkpoint_dir`` / ``resume`` / ``lr_lambda`` as in :func:`vita_cli.training.fit`."""
    if epochs <= 0:
        return []
    cfg = dataclasses.replace(train_cfg, epochs=epochs, warmup_epochs=min(train_cfg.warmup_epochs, epochs))
    return fit(
        model,
        train_loader,
        val_loader,
        cfg,
        device,
        reporter,
        loss_fn=loss_fn,
        checkpoint_dir=checkpoint_dir,
        resume=resume,
        lr_lambda=lr_lambda,
    ).history


# ---------------------------------------------------------------- the whole pipeline and the baselines


@dataclass
class Arm:
    """One pruned network: GDP or a baseline."""

    name: str
    model: nn.Module
    manifest: str
    flops_ratio: float
    macs: int
    params: int
    test_acc: float
    test_acc_before_finetune: float | None
    epochs: int  # training epochs this arm spent after the dense model (budget)
    extra: dict = field(default_factory=dict)
    val_acc: float | None = None  # on the validation split: what a study tunes GDP's settings on, never test


def _steps_per_epoch(loader, train_cfg: TrainConfig) -> int:
    steps = len(loader)  # as fit() counts them
    return min(steps, train_cfg.max_steps_per_epoch) if train_cfg.max_steps_per_epoch else steps


def _val_accuracy(model, loaders, device) -> float | None:
    if loaders.val is None:  # build_loaders gives None for an empty validation split
        return None
    return evaluate(model, loaders.val, device).accuracy


def compact_arm(model, graph, on, name):
    """Cut ``model`` to the channels ``on`` keeps (gates of one): (compact model, shape manifest, keep plan)."""
    plan = resolve_keep(graph, on)
    ones = {s: torch.ones(graph.spaces[s].size) for s in graph.gated_spaces}
    compact, manifest = compact_model(model, graph, ones, plan)
    return compact, manifest, plan


def run_baseline(
    kind: str,
    dense: nn.Module,
    graph: ChannelGraph,
    loaders,
    cfg: GdpConfig,
    train_cfg: TrainConfig,
    device,
    reporter: Reporter = SILENT,
    scratch_epochs: int = 0,
) -> Arm:
    """L1-norm filter pruning / network slimming (+ fine-tune) or uniform width from scratch, at
    ρ·F_dense with the same training budget as GDP (its phase epochs + fine-tune epochs)."""

    target = cfg.flops_target * dense_macs(graph)
    model = copy.deepcopy(dense)
    budget = cfg.epochs + cfg.finetune_epochs
    before = None
    if kind == "uniform":
        on = B.per_space_ratio_masks(graph, B.uniform_scores(graph), target)
        compact, manifest, plan = compact_arm(model, graph, on, kind)
        B.reinitialize(compact)
        epochs = scratch_epochs + budget
        train_plain(compact, loaders.train, loaders.val, train_cfg, epochs, device, reporter)
    elif kind == "l1":
        on = B.per_space_ratio_masks(graph, B.l1_scores(model, graph), target)
        compact, manifest, plan = compact_arm(model, graph, on, kind)
        before = evaluate(compact, loaders.test, device).accuracy
        epochs = budget
        train_plain(compact, loaders.train, loaders.val, train_cfg, epochs, device, reporter)
    elif kind == "slimming":
        bns = B.bn_modules(model, graph)

        def sparse_loss(net, images, labels):
            logits = net(images)
            loss = F.cross_entropy(logits, labels, label_smoothing=train_cfg.label_smoothing)
            return loss + B.slimming_penalty(bns, cfg.slimming_l1), logits

        train_plain(
            model, loaders.train, loaders.val, train_cfg, cfg.epochs, device, reporter, loss_fn=sparse_loss
        )
        on = B.global_threshold_masks(graph, B.slimming_scores(model, graph), target)
        compact, manifest, plan = compact_arm(model, graph, on, kind)
        before = evaluate(compact, loaders.test, device).accuracy
        epochs = budget
        train_plain(compact, loaders.train, loaders.val, train_cfg, cfg.finetune_epochs, device, reporter)
    else:
        raise ValueError(f"unknown baseline {kind!r}")
    macs = hard_macs(graph, plan)
    return Arm(
        kind,
        compact,
        manifest,
        macs / dense_macs(graph),
        macs,
        param_count(compact),
        evaluate(compact, loaders.test, device).accuracy,
        before,
        epochs,
        {"dead_blocks": plan.dead_blocks},
        _val_accuracy(compact, loaders, device),
    )


def _subdir(directory, name: str) -> Path | None:
    return None if directory is None else Path(directory) / name


def run_gdp_arm(
    model: nn.Module,
    graph: ChannelGraph,
    loaders,
    cfg: GdpConfig,
    train_cfg: TrainConfig,
    device,
    reporter: Reporter = SILENT,
    budget: int | None = None,
    checkpoint_dir=None,
    resume: bool = False,
) -> tuple[Arm, PhaseResult, Compacted, dict]:
    """GDP on ``model`` (modified in place): gate phase, threshold, fold + remove, verify, fine-tune.

    ``checkpoint_dir``: the gate phase and the fine-tune write per-epoch checkpoints under it
    (``gate-phase/``, ``fine-tune/``); ``resume`` continues from them (compaction is deterministic, so
    the resumed fine-tune finds the same compact shapes).

    ``budget``: total epochs after the dense model; when the gate phase stops early (target met and gates
    polarized) the fine-tune gets the rest, ``budget − epochs run``, instead of ``cfg.finetune_epochs``
    (schedule ``continuous``: the rest of :func:`planned_epochs` in any case, at the gate phase's lr,
    continuing its cosine instead of restarting one).
    """
    continuous = cfg.schedule == "continuous"
    horizon = planned_epochs(cfg, budget)
    bank = GateBank(graph, cfg.gate_init, cfg.eps_start)
    auto = "auto" if resume else None
    phase = gdp_phase(
        model,
        graph,
        bank,
        loaders.train,
        loaders.val,
        cfg,
        train_cfg,
        device,
        reporter,
        horizon,
        checkpoint_dir=_subdir(checkpoint_dir, "gate-phase"),
        resume=auto,
    )
    acc_gated = gated_accuracy(model, graph, bank, loaders.test, device)
    check = next(iter(loaders.test))[0][: cfg.check_batch]
    final_values = bank.all_values()
    comp = finalize(model, graph, bank, cfg, check)
    acc_thresholded = gated_accuracy(model, graph, bank, loaders.test, device)
    acc_compact = evaluate(comp.model, loaders.test, device).accuracy
    val_compact = _val_accuracy(comp.model, loaders, device)
    if continuous or budget is not None:
        ft_epochs = max(0, horizon - phase.epochs_run)
    else:
        ft_epochs = cfg.finetune_epochs
    ft_cfg, schedule = train_cfg, None
    if continuous:
        steps = _steps_per_epoch(loaders.train, train_cfg)
        ft_cfg = dataclasses.replace(train_cfg, lr=cfg.weight_lr or train_cfg.lr)
        schedule = continued_cosine(phase.epochs_run * steps, horizon * steps)
    train_plain(
        comp.model,
        loaders.train,
        loaders.val,
        ft_cfg,
        ft_epochs,
        device,
        reporter,
        lr_lambda=schedule,
        checkpoint_dir=_subdir(checkpoint_dir, "fine-tune"),
        resume=auto,
    )
    acc_ft = evaluate(comp.model, loaders.test, device).accuracy
    val_ft = _val_accuracy(comp.model, loaders, device)
    dense = dense_macs(graph)
    checks = {
        "test_acc_gated": acc_gated,
        "test_acc_thresholded": acc_thresholded,
        "test_acc_compact": acc_compact,
        "val_acc_before_finetune": val_compact,
        # fine-tuning that loses more than 5 validation points has diverged (the compact model before it
        # was better): the pipeline says so rather than hand back a broken model silently
        "finetune_diverged": val_compact is not None and val_ft is not None and val_ft < val_compact - 5,
        "max_logit_diff": comp.max_logit_diff,
        "macs_formula": comp.macs_formula,
        "macs_counted": comp.macs_counted,
        "macs_match": comp.macs_formula == comp.macs_counted,
        "within_target": comp.macs_formula <= cfg.flops_target * dense,
        "mid_gates_fraction": polarization(final_values, cfg.tau),
        "forced": comp.forced,
        "dead_blocks": comp.plan.dead_blocks,
        "epochs_run": phase.epochs_run,
        "final_lambda": phase.final_lam,
        "final_eps": phase.final_eps,
    }
    arm = Arm(
        "gdp",
        comp.model,
        comp.manifest,
        comp.macs_formula / dense,
        comp.macs_formula,
        param_count(comp.model),
        acc_ft,
        acc_compact,
        phase.epochs_run + ft_epochs,
        checks,
        val_ft,
    )
    return arm, phase, comp, checks
