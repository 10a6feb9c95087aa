import sys
from pathlib import Path

import pytest
import torch

from vita_cli.methods.augmax.config import RobustMethod
from vita_cli.methods.augmax.engine import RobustLoss
from vita_cli.models.dubin import DualBatchNorm2d, convert_to_dubin

sys.path.insert(0, str(Path(__file__).parent))
from augmax_tiny_models import TinyResNet  # noqa: E402

MEAN, STD = (0.29,), (0.35,)


def _batch(n=16):
    g = torch.Generator().manual_seed(0)
    x01 = torch.rand(n, 1, 32, 32, generator=g)
    return (x01 - MEAN[0]) / STD[0], torch.randint(0, 10, (n,), generator=g)


@pytest.mark.parametrize("arm", [("standard", "bn"), ("augmix", "bn"), ("augmax", "bn"), ("augmax", "dubin")])
def test_one_training_step_per_arm(arm):
    torch.manual_seed(0)
    method = RobustMethod(name=arm[0], norm=arm[1], steps=2)
    model = TinyResNet(in_channels=1)
    if method.dual_norm:
        convert_to_dubin(model, method.norm)
    model.train()
    loss_fn = RobustLoss(method, MEAN, STD)
    images, labels = _batch()
    loss, logits = loss_fn(model, images, labels)
    assert torch.isfinite(loss) and logits.shape == (16, 10)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    assert model.training  # the search put it back in train mode
    stats = loss_fn.epoch_callback(1, model, {})
    if arm[0] == "standard":
        assert set(stats) == {"ce_clean", "seconds_views", "seconds_attack"}
    else:
        assert stats["ce_augmix"] > 0 and stats["js"] >= 0 and stats["seconds_views"] > 0
    if arm[0] == "augmax":
        assert stats["ce_augmax"] > 0 and 1 <= stats["attack_steps"] <= 2
    if method.dual_norm:
        dual = model.bn1
        # one AugMax training forward on the augmax route; AugMix + clean forwards on main
        assert int(dual.bn_augmax.num_batches_tracked) == 1 and int(dual.bn_main.num_batches_tracked) == 2
        assert all(m.route == "main" for m in model.modules() if isinstance(m, DualBatchNorm2d))


def test_recipe_arm_labels_and_validation():
    assert RobustMethod(name="augmax", norm="bn").label == "augmax-bn"
    assert not RobustMethod(name="augmix", norm="dubin").dual_norm
    with pytest.raises(ValueError, match="method.operators"):
        RobustMethod(operators=["color"])
