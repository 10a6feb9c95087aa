"""Iterative magnitude pruning (IMP) with rewinding: the lottery-ticket procedure.

Round 0 trains the dense network and records the rewind point θ_k (weights after ``rewind_epoch``
epochs, or ``rewind_iteration`` steps). Round n ≥ 1 prunes the fraction ``rate`` of the surviving
prunable weights of round n-1's trained network by global (or layer-wise) magnitude, rewinds the
survivors (and every unpruned tensor: BN, biases, classifier) to θ_k, and retrains with the mask
fixed. Every round's mask, trained weights and rewound weights go to ``store`` (the
renormalization-group analysis needs the whole flow). Optional: a random-mask control with the same
layer-wise sparsity, and an "extreme ticket" search with finer rates that keeps the sparsest ticket
within ``delta`` points of dense accuracy.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from vita_cli.core.progress import SILENT, Reporter
from vita_cli.methods.imp.config import ImpConfig
from vita_cli.sparsity import (
    MaskCallback,
    Masks,
    apply_masks,
    magnitude_prune,
    ones_masks,
    prunable_names,
    random_masks_like,
)
from vita_cli.sparsity.masks import unwrap
from vita_cli.training import FunctionCallback, TrainConfig, evaluate, fit


@dataclass
class ImpRound:
    round: int
    kind: str  # "dense" | "imp" | "extreme"
    rate: float  # pruning rate that produced this round's mask (0 for dense)
    remaining: float  # fraction of prunable weights kept
    val_acc: float | None
    test_acc: float
    best_val_acc: float | None
    random_test_acc: float | None = None  # the random-mask control at the same layer-wise sparsity
    history: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class ImpResult:
    rounds: list[ImpRound]
    dense_acc: float
    extreme: ImpRound | None = None  # sparsest ticket within delta of dense (extreme search only)
    masks: Masks = field(default_factory=dict)  # the last round's masks

    def table(self) -> list[dict]:
        return [{k: v for k, v in r.as_dict().items() if k != "history"} for r in self.rounds]


class ImpStore:
    """Where the engine keeps per-round results; the CLI's subclass writes files. This one keeps memory."""

    def __init__(self):
        self.saved: dict[int, dict] = {}
        self.rewind: dict[str, torch.Tensor] | None = None

    def train_dir(self, round_index: int):
        """Directory for the trainer's resumable checkpoint of this round (None: no checkpoints)."""
        return None

    def save_rewind(self, state: dict[str, torch.Tensor]) -> None:
        self.rewind = state

    def load_rewind(self) -> dict[str, torch.Tensor] | None:
        return self.rewind

    def save_round(self, record: ImpRound, masks: Masks, trained: dict, rewound: dict) -> None:
        self.saved[record.round] = {"record": record, "masks": masks, "trained": trained, "rewound": rewound}

    def load_rounds(self) -> list[tuple[ImpRound, Masks, dict]]:
        """Completed rounds in order: (record, masks, trained state)."""
        return [(v["record"], v["masks"], v["trained"]) for _, v in sorted(self.saved.items())]


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in unwrap(model).state_dict().items()}


def run_imp(
    model: nn.Module,
    data,
    cfg: ImpConfig,
    device: torch.device | str,
    reporter: Reporter = SILENT,
    *,
    train_cfg: TrainConfig,
    store: ImpStore | None = None,
    resume: bool = False,
    masks: Masks | None = None,
    seed: int = 0,
) -> ImpResult:
    """Run IMP on ``model`` (modified in place; it ends holding the last round's trained weights).

    ``data`` is ``(train_loader, val_loader, test_loader)``; accuracy per round is measured on the
    test loader (the val loader when test is None). ``masks`` start the flow from an existing ticket
    (round 0 then trains that sparse network). ``resume`` continues after the last round ``store``
    holds, and inside a round from the trainer's checkpoint.
    """
    run = _ImpRun(
        model, data, cfg, torch.device(device), reporter, train_cfg, store or ImpStore(), resume, masks, seed
    )
    return run.run()


class _ImpRun:
    """The state one IMP flow carries from round to round."""

    def __init__(self, model, data, cfg, device, reporter, train_cfg, store, resume, masks, seed):
        self.model, self.cfg, self.device, self.reporter = model.to(device), cfg, device, reporter
        self.train_cfg, self.store, self.resume, self.seed = train_cfg, store, resume, seed
        self.train_loader, self.val_loader, test_loader = data
        self.score_loader = test_loader if test_loader is not None else self.val_loader
        names = list(masks) if masks else prunable_names(model, cfg.include, cfg.exclude)
        self.masks = {n: m.cpu().bool() for n, m in masks.items()} if masks else ones_masks(model, names)
        self.total = sum(m.numel() for m in self.masks.values())
        self.rewind_state: dict | None = None

    def remaining(self, masks: Masks) -> float:
        return sum(int(x.sum()) for x in masks.values()) / max(1, self.total)

    # -- one training run of a round
    def train(self, index: int, masks: Masks, capture_rewind: bool):
        cfg, captured = self.cfg, {}
        by_step = cfg.rewind_iteration is not None
        if capture_rewind and (
            (by_step and cfg.rewind_iteration == 0) or (not by_step and cfg.rewind_epoch == 0)
        ):
            captured["state"] = _state(self.model)

        def on_epoch(epoch, net, metrics):
            if not by_step and epoch == cfg.rewind_epoch:
                captured["state"] = _state(net)

        def on_batch(images, labels, step):
            if step == cfg.rewind_iteration:  # the model holds the weights after `step` optimiser steps
                captured["state"] = _state(self.model)
            return images, labels

        self.reporter.log(
            f"IMP round {index}: training with {100 * self.remaining(masks):.2f}% of the prunable weights"
        )
        train_dir = self.store.train_dir(index)
        result = fit(
            self.model,
            self.train_loader,
            self.val_loader,
            self.train_cfg,
            self.device,
            reporter=self.reporter,
            callbacks=[
                MaskCallback(masks),
                FunctionCallback(
                    batch_hook=on_batch if capture_rewind and by_step else None,
                    epoch_end=on_epoch if capture_rewind and not by_step else None,
                ),
            ],
            checkpoint_dir=train_dir,
            resume="auto" if (self.resume and train_dir is not None) else None,
            checkpoint_meta={"imp_round": index},
        )
        return result, captured.get("state")

    def record(self, result, index, kind, rate, masks) -> ImpRound:
        acc = evaluate(self.model, self.score_loader, self.device).accuracy
        return ImpRound(
            index,
            kind,
            rate,
            self.remaining(masks),
            result.final_val_acc,
            acc,
            result.best_val_acc,
            history=result.history,
        )

    def random_control(self, masks: Masks) -> float:
        """Same schedule, same rewind weights, a random mask with the same per-layer counts."""
        control = copy.deepcopy(unwrap(self.model))
        control.load_state_dict(self.rewind_state)
        rnd = random_masks_like(masks, torch.Generator().manual_seed(self.seed + 7919))
        apply_masks(control, rnd)
        fit(
            control,
            self.train_loader,
            self.val_loader,
            self.train_cfg,
            self.device,
            reporter=self.reporter,
            callbacks=[MaskCallback(rnd)],
        )
        return evaluate(control, self.score_loader, self.device).accuracy

    # -- the flow
    def dense_round(self) -> ImpRound:
        init_state = _state(self.model)
        apply_masks(self.model, self.masks)
        result, rewind = self.train(0, self.masks, capture_rewind=True)
        self.rewind_state = (
            rewind if rewind is not None else _state(self.model)
        )  # rewind point past the schedule
        self.store.save_rewind(self.rewind_state)
        record = self.record(result, 0, "dense", 0.0, self.masks)
        self.store.save_round(record, self.masks, _state(self.model), init_state)
        self.reporter.log(
            f"IMP round 0: test acc {record.test_acc:.2f}% with {100 * record.remaining:.2f}% weights"
        )
        return record

    def prune_round(self, index: int, rate: float, kind: str, with_control: bool) -> ImpRound:
        target = 1 - self.remaining(self.masks) * (1 - rate)
        self.masks = magnitude_prune(self.model, target, scope=self.cfg.scope, masks=self.masks)
        unwrap(self.model).load_state_dict(self.rewind_state)  # rewind every tensor, then re-mask
        apply_masks(self.model, self.masks)
        rewound = _state(self.model)
        result, _ = self.train(index, self.masks, capture_rewind=False)
        record = self.record(result, index, kind, rate, self.masks)
        if with_control:
            record.random_test_acc = self.random_control(self.masks)
        self.store.save_round(record, self.masks, _state(self.model), rewound)
        control = f", random mask {record.random_test_acc:.2f}%" if record.random_test_acc is not None else ""
        self.reporter.log(
            f"IMP round {index}: test acc {record.test_acc:.2f}% with {100 * record.remaining:.2f}% weights{control}"
        )
        return record

    def restore(self, masks: Masks, trained: dict) -> None:
        self.masks = masks
        unwrap(self.model).load_state_dict(trained)

    def run(self) -> ImpResult:
        cfg = self.cfg
        done = self.store.load_rounds() if self.resume else []
        rewind = self.store.load_rewind() if self.resume else None
        if done and rewind is not None:
            records = [r for r, _, _ in done]
            self.rewind_state = rewind
            self.restore(*done[-1][1:])
            self.reporter.log(f"IMP: resuming after round {records[-1].round}")
        else:
            records = [self.dense_round()]
        dense_acc = records[0].test_acc
        index = max(r.round for r in records)
        coarse_done = sum(1 for r in records if r.kind == "imp")
        while coarse_done < cfg.rounds:
            index, coarse_done = index + 1, coarse_done + 1
            control = cfg.random_baseline == "all" or (
                cfg.random_baseline == "last" and coarse_done == cfg.rounds
            )
            records.append(self.prune_round(index, cfg.rate, "imp", control))
        extreme = self.extreme_search(records, dense_acc, index) if cfg.extreme.enabled else None
        return ImpResult(records, dense_acc, extreme, self.masks)

    def extreme_search(self, records: list[ImpRound], dense_acc: float, index: int) -> ImpRound:
        """Finer rates after the coarse schedule: keep the sparsest ticket within ``delta`` of dense."""
        delta = self.cfg.extreme.delta
        good = [r for r in records if r.test_acc >= dense_acc - delta]
        best = min(good, key=lambda r: r.remaining) if good else records[0]
        saved = {r.round: (m, t) for r, m, t in self.store.load_rounds()}
        for rate in self.cfg.extreme.rates:
            self.restore(*saved[best.round])  # every finer rate starts from the sparsest good ticket
            for _ in range(self.cfg.extreme.max_rounds_per_rate):
                index += 1
                record = self.prune_round(index, rate, "extreme", False)
                records.append(record)
                saved[index] = (self.masks, _state(self.model))
                if record.test_acc < dense_acc - delta:
                    break  # too sparse at this rate: go on with the next, finer rate
                best = record
        self.restore(*saved[best.round])
        return best
