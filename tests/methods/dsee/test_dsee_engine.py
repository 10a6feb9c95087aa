"""DSEE engine on a tiny random BERT (d = 32, 4 heads, 2 layers): the deterministic checks."""

import copy

import pytest
import torch
import torch.nn.functional as F

from tests.methods.dsee.tiny_bert import tiny_config
from vita_cli.methods.dsee import heads, prune
from vita_cli.methods.dsee.adapter import (
    DseeLinear,
    adapted_layers,
    expected_trainable,
    merge_adapters,
    trainable_parameters,
)
from vita_cli.methods.dsee.arms import ArmSpec, build_arm, check_arm
from vita_cli.methods.dsee.omega import choose_omega, grebsmo


def tiny_model(seed=0, **kw):
    from transformers import BertForSequenceClassification

    torch.manual_seed(seed)
    return BertForSequenceClassification(tiny_config(**kw)).eval()


def batch(seed=1, n=4, length=9, vocab=29):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, vocab, (n, length), generator=g)
    mask = torch.ones_like(ids)
    mask[0, -3:] = 0
    return {"input_ids": ids, "attention_mask": mask}


def logits(model, b):
    with torch.no_grad():
        return model(**b).logits


def perturb(model, seed=3, scale=0.5):
    """Non-zero A, B, S, as after training."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, layer in adapted_layers(model):
            layer.lora_B.copy_(torch.randn(layer.lora_B.shape, generator=g) * scale)
            layer.sparse_values.copy_(torch.randn(layer.sparse_values.shape, generator=g) * scale)


SPEC = dict(r=4, alpha=8, n_sparse=8, omega="random")


@pytest.mark.parametrize("omega", ["grebsmo", "magnitude", "random"])
def test_step0_equals_backbone(omega):
    model = tiny_model()
    b = batch()
    ref = logits(model, b)
    build_arm(
        model, ArmSpec(method="dsee", **{**SPEC, "omega": omega, "grebsmo": {"passes": 4, "rank_step": 2}})
    )
    assert torch.equal(logits(model, b), ref)


def test_trainable_count_equals_formula():
    model = tiny_model()
    build_arm(model, ArmSpec(method="dsee", **SPEC))
    head = 32 * 2 + 2  # classifier
    shapes = [(32, 32)] * 4  # Q and V of 2 layers
    assert trainable_parameters(model) == expected_trainable(shapes, 4, 8, head) == 4 * (4 * 64 + 8) + 66
    lora = tiny_model()
    build_arm(lora, ArmSpec(method="lora", **SPEC))
    assert trainable_parameters(lora) == expected_trainable(shapes, 4, 0, head)
    only_head = tiny_model()
    build_arm(only_head, ArmSpec(method="head"))
    assert trainable_parameters(only_head) == head
    full = tiny_model()
    build_arm(full, ArmSpec(method="full"))
    assert trainable_parameters(full) == sum(p.numel() for p in full.parameters())
    for _, layer in adapted_layers(model):
        assert layer.n_sparse == 8 and layer.sparse_index.unique().numel() == 8


def test_sparse_term_matches_dense_masked_update():
    torch.manual_seed(0)
    base = torch.nn.Linear(12, 10)
    omega = torch.tensor([0, 5, 17, 60, 119])
    layer = DseeLinear(base, r=3, alpha=6, omega=omega)
    with torch.no_grad():
        layer.lora_B.normal_()
        layer.sparse_values.normal_()
    x = torch.randn(2, 7, 12)
    S = torch.zeros(120)
    S[omega] = layer.sparse_values.detach()
    W = base.weight + 2.0 * (layer.lora_B @ layer.lora_A + S.view(10, 12))
    assert torch.allclose(layer(x), F.linear(x, W, base.bias), atol=1e-5)


def test_sparse_term_runs_under_autocast():
    # CUDA training runs under float16 autocast; CPU bfloat16 autocast gives the same dtype mix
    torch.manual_seed(0)
    layer = DseeLinear(torch.nn.Linear(12, 10), r=3, alpha=6, omega=torch.tensor([0, 5, 17, 60, 119]))
    with torch.no_grad():
        layer.sparse_values.normal_()
    x = torch.randn(2, 7, 12)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = layer(x)
    y.float().sum().backward()
    assert torch.allclose(y.float(), layer(x).detach(), atol=0.1)
    assert layer.sparse_values.grad is not None and layer.sparse_values.grad.abs().sum() > 0


def test_gradients_of_s_zero_outside_omega_and_frozen_weights():
    model = tiny_model()
    build_arm(model, ArmSpec(method="dsee", **SPEC))
    model.train()
    b = batch()
    out = model(**b, labels=torch.tensor([0, 1, 1, 0]))
    out.loss.backward()
    for _, layer in adapted_layers(model):
        assert layer.weight.grad is None and layer.bias.grad is None
        # dense reference: dL/dS for an unmasked S would be non-zero almost everywhere
        g = torch.zeros(layer.out_features * layer.in_features)
        g[layer.sparse_index] = layer.sparse_values.grad
        assert torch.count_nonzero(g) <= layer.n_sparse
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1.0)
    for _, layer in adapted_layers(model):
        layer.lora_B.grad = None  # keep BA = 0: only S moves
    opt.step()
    for _, layer in adapted_layers(model):
        moved = layer.sparse_dense().reshape(-1) != 0
        outside = torch.ones_like(moved)
        outside[layer.sparse_index] = False
        assert moved.any() and not (moved & outside).any()
    assert all(p.grad is None for n, p in model.named_parameters() if "key" in n or "intermediate" in n)


def test_grebsmo_residual_decreases_and_omega_sizes():
    torch.manual_seed(0)
    W = torch.randn(24, 24) * 0.1
    W[3, 4] = 3.0  # an outlier the sparse part must hold
    dec = grebsmo(W, passes=6, rank_step=2)
    e = dec.lowrank_errors  # ‖W − UV‖ falls as the rank grows; S holds what the low rank misses
    assert all(b <= a + 1e-5 for a, b in zip(e, e[1:], strict=False)) and e[-1] < 0.5 * e[0]
    assert (W - dec.U @ dec.V - dec.S).abs().max() < 0.01  # only sub-threshold entries are left over
    support = set(torch.nonzero(dec.S.reshape(-1)).reshape(-1).tolist())
    assert len(support) >= 10
    for method in ("grebsmo", "magnitude", "random"):
        idx = choose_omega(W, 10, method, generator=torch.Generator().manual_seed(0), passes=4)
        assert idx.numel() == 10 and idx.unique().numel() == 10
    # Ω = the N largest |S| of the decomposition (same generator: same U, V start)
    omega = choose_omega(W, 10, "grebsmo", generator=torch.Generator().manual_seed(5), passes=6, rank_step=2)
    dec = grebsmo(W, passes=6, rank_step=2, generator=torch.Generator().manual_seed(5))
    assert set(omega.tolist()) <= set(torch.nonzero(dec.S.reshape(-1)).reshape(-1).tolist())
    assert set(omega.tolist()) == set(torch.topk(dec.S.abs().reshape(-1), 10).indices.tolist())
    assert 3 * 24 + 4 in choose_omega(W, 1, "magnitude").tolist()


def test_bad_r_and_n_are_rejected():
    model = tiny_model()
    with pytest.raises(ValueError, match="larger than the 32x32"):
        check_arm(model, ArmSpec(method="dsee", r=33, n_sparse=4))
    with pytest.raises(ValueError, match="n_sparse=1025"):
        check_arm(model, ArmSpec(method="dsee", r=4, n_sparse=1025))
    with pytest.raises(ValueError, match="no linear layer"):
        check_arm(model, ArmSpec(method="lora", targets=["nope"]))


def test_unstructured_merged_weights_exactly_sparse():
    model = tiny_model()
    build_arm(model, ArmSpec(method="dsee", **SPEC))
    perturb(model)
    got = prune.prune_unstructured(model, 0.5, "update")
    assert got["adapted"] == pytest.approx(0.5, abs=1e-3) and got["other"] == pytest.approx(0.5, abs=1e-3)
    masks = {n: layer.weight_mask.clone() for n, layer in adapted_layers(model)}
    # re-tuning moves A, B, S; the pruned entries of the merged weight stay exactly zero
    model.train()
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.1)
    for _ in range(3):
        loss = model(**batch(), labels=torch.tensor([0, 1, 1, 0])).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    merged = merge_adapters(copy.deepcopy(model))
    for name, mask in masks.items():
        w = merged.get_submodule(name).weight
        assert torch.all(w[mask == 0] == 0)
        assert torch.count_nonzero(w[mask == 1]) == int(mask.sum())
    assert prune.backbone_sparsity(merged) == pytest.approx(0.5, abs=1e-3)


def test_unstructured_ranks_qv_by_update():
    model = tiny_model()
    build_arm(model, ArmSpec(method="lora", r=4, alpha=8))
    perturb(model)
    (_, q), *_ = adapted_layers(model)
    delta = q.delta().abs()
    prune.prune_unstructured(model, 0.3, "update")
    kept, dropped = delta[q.weight_mask == 1], delta[q.weight_mask == 0]
    # one global threshold over all Q/V updates: within one matrix every kept |ΔW| ≥ every dropped one
    assert kept.min() >= dropped.max()


def test_head_removal_equals_head_masking():
    model = tiny_model()
    build_arm(model, ArmSpec(method="dsee", **SPEC))
    perturb(model)
    b = batch()
    removed = heads.lowest_heads(heads.head_scores(model), 2)
    assert all(len(v) == 2 for v in removed.values())
    with heads.masked_heads(model, removed):
        masked = logits(model, b)
    assert not torch.allclose(masked, logits(model, b))
    heads.remove_heads(model, removed)
    assert torch.allclose(logits(model, b), masked, atol=1e-5)
    for attn, out in heads.attention_blocks(model):
        assert attn.query.weight.shape == (16, 32) and attn.key.weight.shape == (16, 32)
        assert out.dense.weight.shape == (32, 16)
    merged = merge_adapters(copy.deepcopy(model))
    assert torch.allclose(logits(merged, b), masked, atol=1e-5)


def test_head_scores_follow_update_magnitude():
    model = tiny_model()
    build_arm(model, ArmSpec(method="lora", r=4, alpha=8))
    with torch.no_grad():
        for _, layer in adapted_layers(model):
            layer.lora_B.fill_(0.1)
            layer.lora_B[8:16] = 5.0  # head 1 (head_dim 8) gets the large update
    scores = heads.head_scores(model)
    assert all(int(s.argmax()) == 1 for s in scores)
    assert all(1 not in v for v in heads.lowest_heads(scores, 3).values())
