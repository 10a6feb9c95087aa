"""Reading tickets for the ticket verbs: model, masks, rewind point, and the data they were trained on."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors import safe_open

from vita_cli.core.checkpoint import load_checkpoint
from vita_cli.core.errors import UserError
from vita_cli.data import DataConfig
from vita_cli.models import build_model, load_model, load_state_into, merge_prune_layout, split_masks
from vita_cli.models.infer import infer_arch
from vita_cli.models.io import planned_state, read_torch_file

REWIND_PREFIX = "rewind::"


@dataclass
class Ticket:
    model: torch.nn.Module
    arch: dict
    masks: dict[str, torch.Tensor]
    meta: dict
    source_format: str
    rewind_state: dict[str, torch.Tensor] | None
    rewind_source: str


def load_ticket(
    path, arch: str | None = None, rewind: str | Path | None = None, trust_pickle: bool = False
) -> Ticket:
    """A ticket file (vita checkpoint, state dict with ``arch``, torch prune layout) and its rewind point.

    The rewind point is, in order: ``rewind`` (another model file), ``rewind::<name>`` tensors inside
    the checkpoint, a ``rewind_path`` entry of its metadata (relative to the file), or the layout
    ``vita prune --method imp`` writes: ``imp/rewind.safetensors`` beside ``ticket.safetensors``, or
    ``../rewind.safetensors`` for ``imp/round_NN/trained.safetensors``.
    """

    loaded = load_model(path, arch_name=arch, trust_pickle=trust_pickle)
    state_names = set(loaded.model.state_dict())
    rewind_state, source = None, "none (retraining starts from the ticket's trained weights)"
    if rewind is not None:
        rewind_state, source = _weights_of(rewind, loaded.arch, trust_pickle), str(rewind)
    else:
        embedded = _embedded_rewind(Path(path))
        if embedded:
            rewind_state, source = embedded, f"{path} (rewind:: tensors)"
        else:
            for candidate in _rewind_candidates(Path(path), loaded.meta):
                if candidate.is_file():
                    rewind_state, source = _weights_of(candidate, loaded.arch, trust_pickle), str(candidate)
                    break
    if rewind_state is not None:
        missing = sorted(state_names - set(rewind_state))
        if missing:
            raise UserError(
                f"rewind point {source} lacks tensor {missing[0]!r}",
                "was it saved from the same architecture?",
            )
        rewind_state = {k: rewind_state[k] for k in state_names}
    return Ticket(
        loaded.model, loaded.arch, loaded.masks, loaded.meta, loaded.source_format, rewind_state, source
    )


def _rewind_candidates(path: Path, meta: dict) -> list[Path]:
    out = []
    ref = meta.get("rewind_path")
    if isinstance(ref, str):
        out.append(Path(ref) if Path(ref).is_absolute() else path.parent / ref)
    out += [path.parent / "imp" / "rewind.safetensors", path.parent.parent / "rewind.safetensors"]
    return out


def _weights_of(path, arch: dict, trust_pickle: bool) -> dict[str, torch.Tensor]:

    return load_model(
        path,
        arch_name=arch.get("name"),
        trust_pickle=trust_pickle,
        num_classes=arch.get("num_classes"),
        in_channels=arch.get("in_channels"),
    ).model.state_dict()


def _embedded_rewind(path: Path) -> dict[str, torch.Tensor] | None:
    if path.suffix != ".safetensors":
        return None

    with safe_open(str(path), framework="pt") as f:
        keys = [k for k in f.keys() if k.startswith(REWIND_PREFIX)]
        return {k[len(REWIND_PREFIX) :]: f.get_tensor(k) for k in keys} or None


def data_config(section, arch: dict):
    """The recipe's data section as a DataConfig, with channels taken from the model."""
    fields = asdict(section)
    if "in_channels" in arch:
        fields["channels"] = int(arch["in_channels"])
    return DataConfig(**{k: v for k, v in fields.items() if k in DataConfig.__dataclass_fields__})


@dataclass
class Suspect:
    state: dict[str, torch.Tensor]  # weights (prune layout merged)
    masks: dict[str, torch.Tensor]  # stored masks (may be empty)
    model: torch.nn.Module | None  # built when the architecture is known and matches
    arch: dict | None
    source_format: str
    model_error: str | None  # why no model could be built (black-box checks need one)


def load_suspect(
    path, arch_name: str | None, fallback_arch: dict | None, trust_pickle: bool = False
) -> Suspect:
    """Read a suspect model file; the architecture comes from the file, ``--arch``, or the signature.

    White-box checks need only the masks, so a file whose architecture cannot be rebuilt still gets
    them; ``model_error`` then says why black-box checks are impossible.
    """

    path = Path(path)
    meta: dict = {}
    if path.suffix == ".safetensors":
        ckpt = load_checkpoint(path)
        state, masks = split_masks(ckpt.tensors)
        meta, fmt = dict(ckpt.meta), "vita"
    else:
        if not path.is_file():
            raise UserError(f"model file not found: {path}", "check the path")
        obj = read_torch_file(path, trust_pickle)
        if isinstance(obj, torch.nn.Module):
            obj = obj.state_dict()
        state, masks, fmt = dict(obj), {}, "state_dict"
        if state and all(k.startswith("module.") for k in state):
            state = {k[len("module.") :]: v for k, v in state.items()}
    state, prune_masks = merge_prune_layout(state)
    if prune_masks:
        fmt = "prune" if fmt == "state_dict" else fmt
        masks = {**prune_masks, **masks}
    arch = meta.get("arch") if isinstance(meta.get("arch"), dict) else None
    if arch is None and arch_name:
        same = fallback_arch and fallback_arch.get("name") == arch_name
        arch = dict(fallback_arch) if same else {"name": arch_name}
    if arch is None and fallback_arch:
        arch = dict(fallback_arch)
    model, error = None, None
    if arch is None:
        try:
            arch = infer_arch(state, source=str(path))
        except UserError as exc:
            error = f"the file does not name its architecture and it cannot be inferred: {exc.one_line()}"
    if arch is not None:
        planned_state(arch)  # metadata claiming an absurd size is bad input, not a 36 TB allocation
        try:
            model = build_model(arch)
            load_state_into(model, state, source=str(path))
        except UserError as exc:
            model, error = None, exc.one_line()
    return Suspect(state, masks, model, arch, fmt, error)
