"""sig.json I/O, tamper detection and the decision statistics (fast)."""

import json

import pytest
import torch

from vita_cli.core.errors import UserError
from vita_cli.methods.ticket.embed import choose_placement, embed_signature
from vita_cli.methods.ticket.qr import make_qr
from vita_cli.methods.ticket.signature import read_signature, write_signature
from vita_cli.methods.ticket.triggers import TriggerMixer, make_trigger_set
from vita_cli.methods.ticket.verify import (
    DEFAULT_THRESHOLDS,
    binomial_p_value,
    jaccard,
    overlap_evidence,
    qr_evidence,
    trigger_evidence,
    verdict,
)


def _signed(tmp_path, triggers=True):
    gen = torch.Generator().manual_seed(0)
    masks = {"host.weight": torch.rand(32, 32, 3, 3, generator=gen) < 0.1}
    qr, mask_pattern = make_qr("owner")
    p = choose_placement(masks, qr, 3)
    signed, _ = embed_signature(masks, qr, p, 3)
    body = {
        "white_box": {
            "layer": p.layer,
            "layer_shape": list(masks[p.layer].shape),
            "row": p.row,
            "col": p.col,
            "payload": "owner",
            "qr": {"version": 3, "ecc": "H", "mask_pattern": mask_pattern, "polarity": p.polarity},
        },
        "thresholds": DEFAULT_THRESHOLDS,
    }
    ts = make_trigger_set(20, 10, 1, 16) if triggers else None
    if ts is not None:
        body["black_box"] = {"count": 20, "num_classes": 10}
    path = write_signature(tmp_path / "sig.json", body, signed, ts)
    return path, signed, masks


def test_round_trip_and_qr_evidence(tmp_path):
    path, signed, unsigned = _signed(tmp_path)
    sig = read_signature(path)
    assert sig.data["mask"]["live_weights"] == int(signed["host.weight"].sum())
    assert qr_evidence(signed, sig.white_box).passed
    unsigned_ev = qr_evidence(unsigned, sig.white_box)
    assert not unsigned_ev.passed and unsigned_ev.details["bit_error_rate"] > 0.1
    assert torch.equal(sig.owner_masks()["host.weight"], signed["host.weight"])
    ts = sig.triggers()
    assert ts.images.shape == (20, 1, 16, 16) and ts.labels.dtype == torch.int64


def test_tampered_json_is_rejected(tmp_path):
    path, _, _ = _signed(tmp_path)
    data = json.loads(path.read_text())
    data["white_box"]["row"] += 1
    path.write_text(json.dumps(data))
    with pytest.raises(UserError, match="modified after signing"):
        read_signature(path)


def test_tampered_side_file_is_rejected(tmp_path):
    path, _, _ = _signed(tmp_path)
    side = tmp_path / "sig.triggers.safetensors"
    side.write_bytes(side.read_bytes()[:-3] + b"xyz")
    with pytest.raises(UserError, match="does not match the sha256"):
        read_signature(path).triggers()


def test_wrong_layer_or_shape_is_user_error(tmp_path):
    path, signed, _ = _signed(tmp_path)
    sig = read_signature(path)
    with pytest.raises(UserError, match="no mask for the signature's host layer"):
        qr_evidence({"other.weight": signed["host.weight"]}, sig.white_box)
    with pytest.raises(UserError, match="has shape"):
        qr_evidence({"host.weight": torch.ones(32, 30, 3, 3, dtype=torch.bool)}, sig.white_box)


def test_jaccard_and_chance_level():
    gen = torch.Generator().manual_seed(1)
    a = {"w": torch.rand(200, 200, generator=gen) < 0.1}
    b = {"w": torch.rand(200, 200, generator=gen) < 0.1}
    j, chance, n = jaccard(a, a)
    assert j == 1.0 and n == 1
    j, chance, _ = jaccard(a, b)
    assert abs(chance - 0.1 / 1.9) < 0.01 and abs(j - chance) < 0.01
    assert not overlap_evidence(b, a, DEFAULT_THRESHOLDS).passed
    assert overlap_evidence(a, a, DEFAULT_THRESHOLDS).passed


def test_binomial_decision():
    assert binomial_p_value(0, 100, 0.1) == 1.0
    assert abs(binomial_p_value(30, 100, 0.1) - 2.4e-8) < 0.3e-8
    assert trigger_evidence(95, 100, 10, DEFAULT_THRESHOLDS).passed
    assert not trigger_evidence(12, 100, 10, DEFAULT_THRESHOLDS).passed
    v = verdict([trigger_evidence(12, 100, 10, DEFAULT_THRESHOLDS)])
    assert v["verified"] is False and v["evidence"][0]["p_value"] > 0.1


def test_trigger_mixer_appends_one_trigger_per_batch():
    ts = make_trigger_set(5, 10, 1, 8, seed=0)
    mixer = TriggerMixer(ts, lambda x: x, per_batch=1, seed=0)
    seen = []
    for step in range(10):
        x, y = mixer(torch.zeros(4, 1, 8, 8), torch.zeros(4, dtype=torch.long), step)
        assert x.shape == (5, 1, 8, 8) and y.shape == (5,)
        seen.append(int(y[-1]))
    # every trigger is used once per cycle of 5 batches
    assert sorted(seen[:5]) == sorted(ts.labels.tolist())
