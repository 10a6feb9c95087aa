"""vita's LoRA arm against the peft library: same trainable count, same loss curve for the same init."""

import copy

import pytest
import torch

from tests.methods.dsee.test_dsee_engine import batch, tiny_model
from vita_cli.methods.dsee.adapter import adapted_layers, trainable_parameters
from vita_cli.methods.dsee.arms import ArmSpec, build_arm

peft = pytest.importorskip("peft")


def _train(model, steps=6, lr=1e-2):
    torch.manual_seed(0)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        b = batch(seed=10, n=8)  # one batch: the loss must fall
        loss = model(**b, labels=torch.tensor([0, 1] * 4)).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def test_lora_matches_peft():
    base = tiny_model()
    ours = copy.deepcopy(base)
    build_arm(ours, ArmSpec(method="lora", r=4, alpha=8, targets=["query", "value"]))
    cfg = peft.LoraConfig(
        r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["query", "value"], task_type="SEQ_CLS"
    )
    theirs = peft.get_peft_model(copy.deepcopy(base), cfg)
    trainable_theirs, _ = theirs.get_nb_trainable_parameters()
    assert trainable_parameters(ours) == trainable_theirs == 4 * 4 * (32 + 32) + 66
    # the same A (peft's init) in both; B = 0 in both
    for name, layer in adapted_layers(ours):
        mod = theirs.base_model.model.get_submodule(name)
        with torch.no_grad():
            layer.lora_A.copy_(mod.lora_A["default"].weight)
        assert torch.count_nonzero(mod.lora_B["default"].weight) == 0
    b = batch()
    with torch.no_grad():
        assert torch.allclose(ours.eval()(**b).logits, theirs.eval()(**b).logits, atol=1e-6)
    a, p = _train(ours), _train(theirs)
    assert a[-1] < a[0]
    assert a == pytest.approx(p, abs=1e-5)
