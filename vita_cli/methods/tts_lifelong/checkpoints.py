"""Task checkpoints (weights + what rebuilds the model and its features) and the resume state."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from vita_cli.core.checkpoint import load_checkpoint, save_checkpoint
from vita_cli.core.errors import UserError
from vita_cli.methods.tts_lifelong.audio import Normaliser
from vita_cli.methods.tts_lifelong.model import Tacotron

VERB = "tts-lifelong"


def save_task(path: Path, model: Tacotron, normaliser: Normaliser, recipe, task: int, languages: list[str]):
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    tensors["stats.mean"], tensors["stats.std"] = normaliser.mean, normaliser.std
    meta = {
        "verb": VERB,
        "arch": model.spec(),
        "task": task,
        "languages": languages,
        "method": recipe.train.method,
        "recipe": asdict(recipe),
    }
    return save_checkpoint(path, tensors, meta)


def load_task(path: Path, device: torch.device | None = None):
    """(model in eval mode, normaliser, metadata) from a task checkpoint."""
    ckpt = load_checkpoint(path)
    if ckpt.meta.get("verb") != VERB or "arch" not in ckpt.meta:
        raise UserError(
            f"{path} is not a tts-lifelong checkpoint", "use a task*.safetensors from a train run"
        )
    model = Tacotron.from_spec(ckpt.meta["arch"])
    model.load_state_dict({k[6:]: v for k, v in ckpt.tensors.items() if k.startswith("model.")})
    model.to(device or torch.device("cpu")).eval()
    normaliser = Normaliser(ckpt.tensors["stats.mean"], ckpt.tensors["stats.std"])
    return model, normaliser, ckpt.meta


def task_checkpoints(run: Path) -> list[Path]:
    """task0.safetensors, task1.safetensors, ... of a train run, in order."""
    run = Path(run)
    if not run.is_dir():
        raise UserError(f"run folder not found: {run}", "pass the --out folder of `vita tts-lifelong train`")
    found = sorted(
        run.glob("task*.safetensors"), key=lambda p: int(p.stem[4:]) if p.stem[4:].isdigit() else -1
    )
    found = [p for p in found if p.stem[4:].isdigit()]
    if not found:
        raise UserError(f"{run} holds no task checkpoints (task0.safetensors ...)", "train it first")
    return found


# ---------------------------------------------------------------- resume state


def save_resume(path: Path, model, optimizer, meta: dict, ewc: dict[str, dict[str, torch.Tensor]] | None):
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    opt = optimizer.state_dict()
    for i, state in opt["state"].items():
        for name, value in state.items():
            tensors[f"opt.{i}.{name}"] = value if torch.is_tensor(value) else torch.tensor(value)
    for part, values in (ewc or {}).items():
        for name, value in values.items():
            tensors[f"ewc.{part}.{name}"] = value
    meta = {**meta, "verb": VERB, "param_groups": opt["param_groups"]}
    return save_checkpoint(path, tensors, meta)


def load_resume(path: Path, model, optimizer):
    """Restore model and optimiser in place; returns (metadata, EWC tensors)."""
    ckpt = load_checkpoint(path)
    model.load_state_dict({k[6:]: v for k, v in ckpt.tensors.items() if k.startswith("model.")})
    state: dict[int, dict] = {}
    ewc: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in ckpt.tensors.items():
        head, _, rest = key.partition(".")
        if head == "opt":
            index, _, name = rest.partition(".")
            state.setdefault(int(index), {})[name] = value
        elif head == "ewc":
            part, _, name = rest.partition(".")
            ewc.setdefault(part, {})[name] = value
    if state or ckpt.meta.get("param_groups"):
        optimizer.load_state_dict({"state": state, "param_groups": ckpt.meta["param_groups"]})
    return ckpt.meta, ewc
