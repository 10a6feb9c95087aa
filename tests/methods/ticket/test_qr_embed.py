"""QR generation/decoding and mask embedding on plain tensors (fast)."""

import numpy as np
import pytest
import torch

from vita_cli.core.errors import UserError
from vita_cli.methods.ticket.embed import channel_map, choose_placement, embed_signature
from vita_cli.methods.ticket.extract import extract_and_decode
from vita_cli.methods.ticket.qr import (
    data_bit_error_rate,
    data_module_mask,
    decode_modules,
    function_pattern_mask,
    make_qr,
    paint_function_patterns,
)

PAYLOAD = "acme-2026"


def test_qr_v3_h_layout_and_decoder():
    modules, _ = make_qr(PAYLOAD)
    assert modules.shape == (29, 29)
    assert function_pattern_mask().sum() == 274 and data_module_mask().sum() == 567
    assert decode_modules(modules) == PAYLOAD
    assert decode_modules(np.zeros((29, 29), bool)) is None


def test_payload_too_long_is_user_error():
    with pytest.raises(UserError, match="does not fit"):
        make_qr("x" * 40)


def test_painting_function_patterns_recovers_a_code_with_damaged_patterns():
    modules, _ = make_qr(PAYLOAD)
    damaged = modules.copy()
    damaged[function_pattern_mask()] = False
    assert decode_modules(paint_function_patterns(damaged, modules)) == PAYLOAD


def _ticket(density, seed=0, shape=(32, 40, 3, 3)):
    gen = torch.Generator().manual_seed(seed)
    return {
        "stem.weight": torch.rand(16, 1, 3, 3, generator=gen) < 0.9,
        "host.weight": torch.rand(*shape, generator=gen) < density,
        "narrow.weight": torch.rand(20, 32, 3, 3, generator=gen) < density,
    }


@pytest.mark.parametrize("density", [0.03, 0.08, 0.2, 0.4])
def test_embedding_keeps_live_weights_exactly_and_round_trips(density):
    masks = _ticket(density)
    qr, _ = make_qr(PAYLOAD)
    placement = choose_placement(masks, qr, 3)
    assert placement.layer == "host.weight"  # the only layer with >= 29 in and out channels
    signed, report = embed_signature(masks, qr, placement, 3, seed=1)
    before = sum(int(m.sum()) for m in masks.values())
    after = sum(int(m.sum()) for m in signed.values())
    assert before == after == report.live_before == report.live_after
    ex = extract_and_decode(signed["host.weight"], placement.row, placement.col, placement.polarity, qr, 3)
    assert ex.decoded == PAYLOAD and ex.bit_error_rate == 0.0
    # on modules keep >= 1 weight, off modules are empty
    block = channel_map(signed["host.weight"])[
        placement.row : placement.row + 29, placement.col : placement.col + 29
    ]
    want = qr if placement.polarity == "dark-connected" else ~qr
    data = data_module_mask()
    assert np.array_equal(block.numpy()[data], want[data])
    if report.removed_outside_block == 0:
        for name in masks:
            diff = masks[name] != signed[name]
            if name == placement.layer:
                diff[placement.row : placement.row + 29, placement.col : placement.col + 29] = False
            assert not diff.any(), f"{name} changed outside the host block"


def test_only_host_block_changes_at_moderate_density():
    masks = _ticket(0.1, seed=3)
    qr, _ = make_qr(PAYLOAD)
    placement = choose_placement(masks, qr, 3)
    signed, report = embed_signature(masks, qr, placement, 3)
    assert report.removed_outside_block == 0
    assert torch.equal(signed["stem.weight"], masks["stem.weight"])
    assert torch.equal(signed["narrow.weight"], masks["narrow.weight"])
    outside = signed["host.weight"] != masks["host.weight"]
    assert outside.any()
    outside[placement.row : placement.row + 29, placement.col : placement.col + 29] = False
    assert not outside.any()


def test_placement_prefers_the_agreeing_offset():
    qr, _ = make_qr(PAYLOAD)
    masks = _ticket(0.3, seed=5)
    host = masks["host.weight"]
    # plant the code (dark = connected) at (2, 7): that offset must win with full agreement
    host[2:31, 7:36] = torch.from_numpy(qr)[:, :, None, None].expand(-1, -1, 3, 3)
    placement = choose_placement(masks, qr, 3)
    assert (placement.row, placement.col, placement.polarity) == (2, 7, "dark-connected")
    assert placement.agreement == 1.0


def test_too_few_channels_is_user_error():
    masks = {"a.weight": torch.ones(16, 16, 3, 3, dtype=torch.bool)}
    qr, _ = make_qr(PAYLOAD)
    with pytest.raises(UserError, match="29 input and output channels"):
        choose_placement(masks, qr, 3)
    with pytest.raises(UserError, match="needs a conv"):
        choose_placement({"a.weight": torch.ones(32, 16, 3, 3, dtype=torch.bool)}, qr, 3, layer="a.weight")


def test_random_masks_do_not_decode_and_have_high_ber():
    qr, _ = make_qr(PAYLOAD)
    bers = []
    for seed in range(20):
        m = _ticket(0.1, seed=100 + seed)["host.weight"]
        ex = extract_and_decode(m, 1, 2, "dark-connected", qr, 3)
        assert ex.decoded != PAYLOAD
        bers.append(ex.bit_error_rate)
    assert min(bers) > 0.2


def test_data_ber_counts_only_data_modules():
    qr, _ = make_qr(PAYLOAD)
    flipped = ~qr
    assert data_bit_error_rate(flipped, qr) == 1.0
    assert data_bit_error_rate(paint_function_patterns(flipped, qr), qr) == 1.0


@pytest.mark.parametrize("density", [0.05, 0.3])
def test_min_weights_per_module_keeps_count(density):
    masks = _ticket(density, seed=7)
    qr, _ = make_qr(PAYLOAD)
    p = choose_placement(masks, qr, 3)
    signed, report = embed_signature(masks, qr, p, 3, min_weights=3)
    assert sum(int(m.sum()) for m in masks.values()) == sum(int(m.sum()) for m in signed.values())
    block = signed[p.layer][p.row : p.row + 29, p.col : p.col + 29].flatten(2).sum(2).numpy()
    want = qr if p.polarity == "dark-connected" else ~qr
    on = want & data_module_mask()
    assert block[on].min() >= 3 and block[~want & data_module_mask()].max() == 0
    ex = extract_and_decode(signed[p.layer], p.row, p.col, p.polarity, qr, 3)
    assert ex.decoded == PAYLOAD
