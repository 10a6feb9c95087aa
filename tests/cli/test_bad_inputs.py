"""Every bad input a user can hand a verb: exit 2, one line starting ``error:``, no traceback, no file
left behind, and no pickle payload run (even with ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``).

Each case is (id, argv builder); the builder gets the folder of prepared bad files and returns the
arguments. Cases run in an empty working directory, so any ``runs/`` folder a case leaves is caught.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from vita_cli.core.checkpoint import tensors_sha256
from vita_cli.methods.ticket.signature import content_checksum, write_signature
from vita_cli.models import build_model, save_model

PAYLOAD_MARKER = "pickle-payload-ran"


class _Payload:
    """Unpickling this writes a marker file: the test fails if any verb unpickles it."""

    def __reduce__(self):
        return (Path.write_text, (Path(PAYLOAD_MARKER), "ran"))


def _safetensors_with_meta(path: Path, tensors: dict, meta_text: str) -> None:
    save_file(tensors, str(path), metadata={"vita": meta_text})


@pytest.fixture(scope="module")
def bad(tmp_path_factory) -> Path:
    """The bad files every case draws from, plus one good small model and signature."""
    root = tmp_path_factory.mktemp("bad")
    arch = {"name": "small_cnn", "num_classes": 10, "in_channels": 1, "width": 8}  # conv4 32×32 holds a QR
    torch.manual_seed(0)
    model = build_model(arch)
    masks = {n: torch.rand_like(p) > 0.5 for n, p in model.named_parameters() if p.dim() == 4}
    save_model(root / "good.safetensors", model, arch, masks=masks)
    torch.save(model.state_dict(), root / "good.pt")

    (root / "dir.safetensors").mkdir()
    os.mkfifo(root / "pipe.safetensors")
    os.mkfifo(root / "pipe.pt")
    (root / "garbage.safetensors").write_bytes(b"\x00\x01garbage" * 10)
    header = b'{"w": {"dtype": "F32", "shape": [1000000], "data_offsets": [0, 4000000]}}'
    (root / "truncated.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + b"\x00" * 16)
    (root / "garbage.pt").write_bytes(b"not a torch file at all")
    (root / "text.pt").write_text("hello\n")
    (root / "empty.pt").write_bytes(b"")
    state = {k: v.clone() for k, v in model.state_dict().items()}
    _safetensors_with_meta(root / "badmeta.safetensors", state, "{not json")
    _safetensors_with_meta(root / "listmeta.safetensors", state, "[1, 2]")
    _safetensors_with_meta(root / "nosha.safetensors", state, json.dumps({"arch": arch}))
    huge = {"arch": {**arch, "width": 10**12}}
    huge["sha256"] = tensors_sha256(state)
    _safetensors_with_meta(root / "huge.safetensors", state, json.dumps(huge))
    tampered = dict(state)
    first = next(iter(tampered))
    tampered[first] = tampered[first] + 1
    meta = {"arch": arch, "sha256": tensors_sha256(state)}
    _safetensors_with_meta(root / "tampered.safetensors", tampered, json.dumps(meta))
    torch.save({"weights": _Payload()}, root / "payload.pt")
    torch.save(_Payload(), root / "payload.pth")

    (root / "empty.yaml").write_text("")
    (root / "comment-only.yaml").write_text("# nothing here\n")
    (root / "binary.yaml").write_bytes(b"\xff\xfe\x00\x81\x92binary")
    (root / "list.yaml").write_text("- a\n- b\n")
    (root / "badyaml.yaml").write_text("a: [1, 2\n")
    (root / "dir.yaml").mkdir()
    os.mkfifo(root / "pipe.yaml")
    (root / "existing-dir").mkdir()

    _write_signatures(root, model, masks, arch)
    return root


def _write_signatures(root: Path, model, masks: dict, arch: dict) -> None:
    layer = sorted(masks)[-1]
    body = {
        "arch": arch,
        "white_box": {
            "layer": layer,
            "layer_shape": list(masks[layer].shape),
            "row": 0,
            "col": 0,
            "payload": "acme",
            "qr": {"version": 3, "size": 29, "ecc": "H", "mask_pattern": 0, "polarity": "dark-connected"},
        },
        "thresholds": {
            "jaccard_min": 0.5,
            "kernel_floor": 0.0,
            "trigger_accuracy_min": 0.5,
            "p_value_max": 1e-6,
        },
        "mask": {"layers": {n: list(m.shape) for n, m in masks.items()}},
    }
    good = write_signature(root / "sig.json", body, masks, None)
    data = json.loads(good.read_text())

    def variant(name: str, change) -> None:
        d = json.loads(json.dumps(data))
        change(d)
        d["checksum"] = content_checksum(d)
        (root / name).write_text(json.dumps(d))

    variant("sig-row-huge.json", lambda d: d["white_box"].__setitem__("row", 10**6))
    variant("sig-row-negative.json", lambda d: d["white_box"].__setitem__("col", -5))
    variant("sig-threshold-text.json", lambda d: d["thresholds"].__setitem__("trigger_accuracy_min", "high"))
    variant("sig-floor-nan.json", lambda d: d["thresholds"].__setitem__("kernel_floor", float("nan")))
    variant("sig-no-white-box.json", lambda d: d.pop("white_box"))
    variant(
        "sig-black-box-no-file.json",
        lambda d: d.__setitem__("black_box", {"count": 4, "num_classes": 10, "chance": 0.1}),
    )
    variant("sig-layer-list.json", lambda d: d["white_box"].__setitem__("layer", [1, 2]))
    edited = dict(data, vita_version="edited")
    (root / "sig-edited.json").write_text(json.dumps(edited))
    (root / "sig-not-json.json").write_text("{")


MODEL_FILES = [
    "missing.safetensors",
    "dir.safetensors",
    "pipe.safetensors",
    "garbage.safetensors",
    "truncated.safetensors",
    "garbage.pt",
    "text.pt",
    "empty.pt",
    "badmeta.safetensors",
    "listmeta.safetensors",
    "nosha.safetensors",
    "huge.safetensors",
    "tampered.safetensors",
    "payload.pt",
    "payload.pth",
    "pipe.pt",
]


def _model_readers(f: str) -> dict[str, list[str]]:
    """Every verb that reads a model file, with the least it needs besides the file."""
    arch = ["--arch", "small_cnn"] if f.endswith((".pt", ".pth")) else []
    return {
        "evaluate": ["evaluate", f, *arch],
        "inspect": ["inspect", f, *arch],
        "export": ["export", f, *arch],
        "prune-magnitude": ["prune", f, "--method", "magnitude", *arch],
        "verify-ticket": ["verify-ticket", f, "--signature", "sig.json", *arch],
        "eval-robust": ["eval-robust", f, *arch],
        "attack-ticket": ["attack-ticket", f, "--attack", "prune", *arch],
        "sign-ticket": ["sign-ticket", f, "--payload", "acme", *arch],
    }


CASES: list[tuple[str, list[str]]] = []
for _f in MODEL_FILES:
    for _verb, _argv in _model_readers(_f).items():
        CASES.append((f"{_verb}:{_f}", _argv))

CASES += [
    # recipes
    ("train:empty-recipe", ["train", "--recipe", "empty.yaml"]),
    ("train:comment-only-recipe", ["train", "--recipe", "comment-only.yaml"]),
    ("train:binary-recipe", ["train", "--recipe", "binary.yaml"]),
    ("train:list-recipe", ["train", "--recipe", "list.yaml"]),
    ("train:bad-yaml-recipe", ["train", "--recipe", "badyaml.yaml"]),
    ("train:dir-recipe", ["train", "--recipe", "dir.yaml"]),
    ("train:pipe-recipe", ["train", "--recipe", "pipe.yaml"]),
    ("train:unknown-recipe", ["train", "--recipe", "train/nope"]),
    ("recipes-validate:empty", ["recipes", "validate", "empty.yaml", "--verb", "train"]),
    ("recipes-validate:binary", ["recipes", "validate", "binary.yaml", "--verb", "train"]),
    ("hyperlista:empty-recipe", ["hyperlista", "tune", "--recipe", "empty.yaml"]),
    ("augmax:empty-recipe", ["augmax-train", "--recipe", "empty.yaml"]),
    ("prune:empty-recipe", ["prune", "--method", "imp", "--recipe", "empty.yaml"]),
    # numbers and keys
    ("train:lr-nan", ["train", "--recipe", "train/tiny", "train.lr=nan"]),
    ("train:lr-inf", ["train", "--recipe", "train/tiny", "train.lr=inf"]),
    ("train:batch-huge", ["train", "--recipe", "train/tiny", "data.batch_size=1e20"]),
    ("train:batch-zero", ["train", "--recipe", "train/tiny", "data.batch_size=0"]),
    ("train:epochs-negative", ["train", "--recipe", "train/tiny", "train.epochs=-1"]),
    ("train:unknown-key", ["train", "--recipe", "train/tiny", "data.nope=1"]),
    ("train:bad-override", ["train", "--recipe", "train/tiny", "novalue"]),
    ("evaluate:unknown-data-key", ["evaluate", "good.safetensors", "data.nope=1"]),
    ("inspect:num-classes-negative", ["inspect", "good.safetensors", "--num-classes", "-1"]),
    ("inspect:in-channels-zero", ["inspect", "good.safetensors", "--in-channels", "0"]),
    ("inspect:bad-input-size", ["inspect", "good.safetensors", "--input-size", "3x-1x32"]),
    ("eval-robust:batch-zero", ["eval-robust", "good.safetensors", "--batch-size", "0"]),
    ("eval-robust:n-test-zero", ["eval-robust", "good.safetensors", "--n-test", "0"]),
    ("eval-robust:severity-9", ["eval-robust", "good.safetensors", "--severities", "9"]),
    ("eval-robust:unknown-corruption", ["eval-robust", "good.safetensors", "--corruptions", "rain"]),
    ("export:output-is-dir", ["export", "good.safetensors", "--torchscript", "existing-dir"]),
    ("hyperlista:n-huge", ["hyperlista", "eval", "--recipe", "hyperlista/tiny", "problem.n=1e20"]),
    ("hyperlista:params-missing", ["hyperlista", "eval", "--params", "missing.json"]),
    (
        "attack-ticket:strength-negative",
        ["attack-ticket", "good.safetensors", "--attack", "prune", "--strength", "-1"],
    ),
    (
        "attack-ticket:strength-5",
        ["attack-ticket", "good.safetensors", "--attack", "prune", "--strength", "5"],
    ),
    (
        "attack-ticket:strength-text",
        ["attack-ticket", "good.safetensors", "--attack", "prune", "--strength", "a,b"],
    ),
    ("prune:sparsity-1", ["prune", "good.safetensors", "--method", "magnitude", "--sparsity", "1"]),
    ("prune:sparsity-negative", ["prune", "good.safetensors", "--method", "magnitude", "--sparsity", "-0.5"]),
    ("prune:flops-target-0", ["prune", "good.safetensors", "--method", "gdp", "--flops-target", "0"]),
    ("prune:flops-target-2", ["prune", "good.safetensors", "--method", "gdp", "--flops-target", "2"]),
    ("prune:unknown-method", ["prune", "good.safetensors", "--method", "lottery"]),
    # usage errors (parsed before any verb code runs) end the same way
    ("usage:unknown-option", ["train", "--recipe", "train/tiny", "--no-such-option"]),
    ("usage:attack-choice", ["attack-ticket", "good.safetensors", "--attack", "melt"]),
    ("usage:not-a-number", ["prune", "good.safetensors", "--method", "magnitude", "--sparsity", "half"]),
    ("prune:unknown-arch", ["prune", "good.pt", "--method", "magnitude", "--arch", "resnet999"]),
    ("prune:arch-mismatch", ["prune", "good.pt", "--method", "magnitude", "--arch", "resnet20"]),
    ("sign-ticket:payload-too-long", ["sign-ticket", "good.safetensors", "--payload", "x" * 200]),
    ("sign-ticket:bad-offset", ["sign-ticket", "good.safetensors", "--payload", "a", "--offset", "x,y"]),
    (
        "sign-ticket:unknown-layer",
        ["sign-ticket", "good.safetensors", "--payload", "a", "--layer", "nope.weight"],
    ),
    ("device:unknown", ["evaluate", "good.safetensors", "--device", "tpu"]),
    # signatures: checksummed but semantically wrong, edited, not JSON, missing
    ("verify:sig-missing", ["verify-ticket", "good.safetensors", "--signature", "nope.json"]),
    ("verify:sig-not-json", ["verify-ticket", "good.safetensors", "--signature", "sig-not-json.json"]),
    ("verify:sig-edited", ["verify-ticket", "good.safetensors", "--signature", "sig-edited.json"]),
    ("verify:sig-row-huge", ["verify-ticket", "good.safetensors", "--signature", "sig-row-huge.json"]),
    (
        "verify:sig-col-negative",
        ["verify-ticket", "good.safetensors", "--signature", "sig-row-negative.json"],
    ),
    (
        "verify:sig-threshold-text",
        ["verify-ticket", "good.safetensors", "--signature", "sig-threshold-text.json"],
    ),
    ("verify:sig-floor-nan", ["verify-ticket", "good.safetensors", "--signature", "sig-floor-nan.json"]),
    (
        "verify:sig-no-white-box",
        ["verify-ticket", "good.safetensors", "--signature", "sig-no-white-box.json"],
    ),
    (
        "verify:sig-black-box-no-file",
        ["verify-ticket", "good.safetensors", "--signature", "sig-black-box-no-file.json"],
    ),
    ("verify:sig-layer-list", ["verify-ticket", "good.safetensors", "--signature", "sig-layer-list.json"]),
    (
        "verify:kernel-floor-negative",
        ["verify-ticket", "good.safetensors", "--signature", "sig.json", "--kernel-floor", "-1"],
    ),
    (
        "verify:kernel-floor-nan",
        ["verify-ticket", "good.safetensors", "--signature", "sig.json", "--kernel-floor", "nan"],
    ),
    (
        "attack:sig-edited",
        ["attack-ticket", "good.safetensors", "--attack", "prune", "--signature", "sig-edited.json"],
    ),
]


@pytest.mark.parametrize("argv", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2(argv, bad, runner, monkeypatch, tmp_path):
    from vita_cli.cli.app import app

    work = tmp_path / "work"
    work.mkdir()
    for item in bad.iterdir():
        (work / item.name).symlink_to(item)
    monkeypatch.chdir(work)
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    before = set(os.listdir(work))
    out = work / "out-folder"
    common = [] if argv[0] == "recipes" else ["--out", str(out)]
    if argv[0] != "recipes" and "--device" not in argv:
        common += ["--device", "cpu"]
    result = runner.invoke(app, [*argv, *common], catch_exceptions=False)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, f"exit {result.exit_code}: {result.stderr[-600:]}"
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr[-600:]
    assert "Traceback" not in result.stderr
    assert not (work / PAYLOAD_MARKER).exists(), "a pickle payload ran"
    assert not out.exists(), f"left a run folder behind: {sorted(os.listdir(out))}"
    assert set(os.listdir(work)) == before, f"left files behind: {set(os.listdir(work)) - before}"
