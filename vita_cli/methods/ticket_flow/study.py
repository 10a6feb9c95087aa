"""The only bridge to vita's IMP engine and trainer: IMP flows per task and seed, and ticket training.

Everything this method needs from ``vita_cli.sparsity`` and ``vita_cli.training`` is imported here,
so a move of those packages changes these imports only. IMP runs are written in the same layout as
``vita prune --method imp`` (``<folder>/imp/round_NN/...``), so `spectra` reads both the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from vita_cli.core.errors import UserError
from vita_cli.core.progress import SILENT, Reporter
from vita_cli.data import make_loader
from vita_cli.methods.imp import FileImpStore, ImpConfig, run_imp
from vita_cli.methods.ticket_flow.config import TicketFlowRecipe
from vita_cli.methods.ticket_flow.tasks import TaskData
from vita_cli.models import build_model, load_model
from vita_cli.sparsity import MaskCallback, apply_masks, random_masks_like
from vita_cli.training import TrainConfig, evaluate, fit

TASK_FILE = "task.json"
DONE_FILE = "done.json"


def arch_for(recipe: TicketFlowRecipe, task: TaskData) -> dict:
    return {
        "name": recipe.model.name,
        "num_classes": task.num_classes,
        "in_channels": task.in_channels,
        **recipe.model.options,
    }


def train_config(recipe: TicketFlowRecipe) -> TrainConfig:
    t = recipe.train
    return TrainConfig(
        epochs=t.epochs,
        optimizer=t.optimizer,
        lr=t.lr,
        momentum=t.momentum,
        weight_decay=t.weight_decay,
        schedule="cosine",
        log_every=10_000,
        amp=True,
    )


def loaders(task: TaskData, batch_size: int, seed: int):
    train = make_loader(task.train, batch_size, shuffle=True, seed=seed)
    val = make_loader(task.val, 2 * batch_size, shuffle=False) if len(task.val) else None
    test = make_loader(task.test, 2 * batch_size, shuffle=False)
    return train, val, test


def imp_flow(
    recipe: TicketFlowRecipe,
    task: TaskData,
    seed: int,
    folder: Path,
    device,
    reporter: Reporter = SILENT,
    resume: bool = True,
) -> list[dict]:
    """IMP on ``task`` from a seed-``seed`` initialisation; rounds land in ``folder/imp``. Resumable."""
    folder = Path(folder)
    done = folder / DONE_FILE
    if resume and done.is_file():
        return json.loads(done.read_text())["rounds"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / TASK_FILE).write_text(json.dumps({**task.spec.as_dict(), "seed": seed}, indent=2))
    torch.manual_seed(seed)
    arch = arch_for(recipe, task)
    model = build_model(arch)
    cfg = ImpConfig(
        rounds=recipe.imp.rounds, rate=recipe.imp.rate, rewind_iteration=recipe.imp.rewind_iteration
    )
    meta = {"verb": "ticket-flow", "task": task.spec.as_dict(), "seed": seed}
    store = FileImpStore(folder / "imp", arch, meta)
    result = run_imp(
        model,
        loaders(task, recipe.data.batch_size, seed),
        cfg,
        device,
        reporter,
        train_cfg=train_config(recipe),
        store=store,
        resume=resume,
        seed=seed,
    )
    rounds = result.table()
    done.write_text(json.dumps({"rounds": rounds}, indent=2))
    return rounds


@dataclass
class Ticket:
    arch: dict
    rewind: dict[str, torch.Tensor]
    masks: dict[str, torch.Tensor]
    round: int
    task: dict | None


def read_ticket(run: Path, round_index: int | None = None) -> Ticket:
    """Mask of round ``round_index`` (default: the last finished IMP round) and the rewind point of an IMP run."""
    run = Path(run)
    base = run / "imp" if (run / "imp").is_dir() else run
    rewind_path = base / "rewind.safetensors"
    if not rewind_path.is_file():
        raise UserError(
            f"{run} is not an IMP run (no rewind.safetensors)", "give a `vita prune --method imp` run folder"
        )
    rounds = sorted(
        int(p.name.split("_")[1]) for p in base.glob("round_[0-9]*") if (p / "trained.safetensors").is_file()
    )
    if not rounds or rounds[-1] == 0:
        raise UserError(f"{run} has no pruned round yet", "let IMP finish at least one pruning round")
    index = rounds[-1] if round_index is None else round_index
    if index not in rounds:
        raise UserError(f"{run} has no finished round {index}", f"finished rounds: {rounds}")
    trained = load_model(base / f"round_{index:02d}" / "trained.safetensors")
    rewind = load_model(rewind_path)
    task_file = (base.parent if base.name == "imp" else base) / TASK_FILE
    task = json.loads(task_file.read_text()) if task_file.is_file() else None
    masks = {k: v.bool() for k, v in trained.masks.items()}
    return Ticket(trained.arch, rewind.model.state_dict(), masks, index, task)


def train_ticket(
    ticket: Ticket,
    task: TaskData,
    recipe: TicketFlowRecipe,
    seed: int,
    device,
    reporter: Reporter = SILENT,
    random_mask: bool = False,
) -> float:
    """Test accuracy (%) on ``task`` of the ticket's mask (or a random mask with its per-layer counts),
    started from the ticket's rewind point and trained with the recipe's schedule."""
    arch = dict(ticket.arch, num_classes=task.num_classes, in_channels=task.in_channels)
    torch.manual_seed(seed)
    model = build_model(arch)
    state = model.state_dict()
    for k, v in ticket.rewind.items():
        if k in state and state[k].shape == v.shape:
            state[k] = v.clone()  # a head of another size keeps its fresh initialisation
    model.load_state_dict(state)
    masks = ticket.masks
    if random_mask:
        masks = random_masks_like(masks, torch.Generator().manual_seed(seed + 7919))
    apply_masks(model, masks)
    train, val, test = loaders(task, recipe.data.batch_size, seed)
    fit(model, train, val, train_config(recipe), device, reporter=reporter, callbacks=[MaskCallback(masks)])
    return evaluate(model, test, device).accuracy
