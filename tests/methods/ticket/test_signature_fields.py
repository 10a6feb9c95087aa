"""Checksummed but semantically wrong sig.json fields are bad input naming the field."""

import json
import math

import pytest
import torch

from vita_cli.core.errors import UserError
from vita_cli.methods.ticket.signature import content_checksum, read_signature, write_signature


@pytest.fixture()
def sig(tmp_path):
    masks = {"host.weight": torch.rand(32, 32, 3, 3, generator=torch.Generator().manual_seed(0)) < 0.2}
    body = {
        "white_box": {
            "layer": "host.weight",
            "layer_shape": [32, 32, 3, 3],
            "row": 3,
            "col": 0,
            "payload": "owner",
            "qr": {"version": 3, "ecc": "H", "mask_pattern": 0, "polarity": "dark-connected"},
        },
        "thresholds": {
            "jaccard_min": 0.5,
            "kernel_floor": 0.0,
            "trigger_accuracy_min": 0.5,
            "p_value_max": 1e-6,
        },
        "black_box": {
            "file": "sig.triggers.safetensors",
            "num_classes": 10,
            "normalization": {"mean": [0.5], "std": [0.25]},
        },
    }
    return write_signature(tmp_path / "sig.json", body, masks, None)


def _rewrite(path, change):
    data = json.loads(path.read_text())
    change(data)
    data["checksum"] = content_checksum(data)
    path.write_text(json.dumps(data))
    return path


def test_a_signature_as_written_reads(sig):
    assert read_signature(sig).white_box["row"] == 3


@pytest.mark.parametrize(
    "field,change",
    [
        ("white_box.row", lambda d: d["white_box"].__setitem__("row", 10**6)),
        ("white_box.row", lambda d: d["white_box"].__setitem__("row", 4)),  # 4 + 29 > 32
        ("white_box.col", lambda d: d["white_box"].__setitem__("col", -5)),
        ("white_box.col", lambda d: d["white_box"].__setitem__("col", 1.5)),
        (
            "thresholds.trigger_accuracy_min",
            lambda d: d["thresholds"].__setitem__("trigger_accuracy_min", "high"),
        ),
        ("thresholds.kernel_floor", lambda d: d["thresholds"].__setitem__("kernel_floor", math.nan)),
        ("thresholds.p_value_max", lambda d: d["thresholds"].__setitem__("p_value_max", 2)),
        ("thresholds.jaccard_min", lambda d: d["thresholds"].__setitem__("jaccard_min", True)),
        ("white_box", lambda d: d.pop("white_box")),
        ("white_box.payload", lambda d: d["white_box"].pop("payload")),
        ("white_box.layer", lambda d: d["white_box"].__setitem__("layer", [1, 2])),
        ("white_box.layer_shape", lambda d: d["white_box"].__setitem__("layer_shape", [32, 32])),
        ("white_box.qr.version", lambda d: d["white_box"]["qr"].__setitem__("version", 99)),
        ("white_box.qr.ecc", lambda d: d["white_box"]["qr"].__setitem__("ecc", "Z")),
        ("white_box.qr.polarity", lambda d: d["white_box"]["qr"].__setitem__("polarity", "auto")),
        ("black_box.file", lambda d: d["black_box"].pop("file")),
        ("black_box.num_classes", lambda d: d["black_box"].update(num_classes=0)),
        ("black_box.normalization.std", lambda d: d["black_box"].update(normalization={"std": [0.0]})),
        ("mask.file", lambda d: d["mask"].pop("file")),
    ],
)
def test_wrong_field_is_named(sig, field, change):
    _rewrite(sig, change)
    with pytest.raises(UserError) as exc:
        read_signature(sig)
    assert f"field {field} " in exc.value.message
