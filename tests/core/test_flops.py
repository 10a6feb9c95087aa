import torch
import torch.nn as nn

from vita_cli.core.flops import count_macs
from vita_cli.models import build_model


def _resnet20_hand_count(in_channels=3, num_classes=10):
    # stem 3x3 conv at 32x32, then 3 stages of 6 3x3 convs (16@32², 32@16², 64@8²), then the classifier
    macs = 32 * 32 * 16 * in_channels * 9
    macs += 6 * 32 * 32 * 16 * 16 * 9
    macs += 16 * 16 * 32 * 16 * 9 + 5 * 16 * 16 * 32 * 32 * 9
    macs += 8 * 8 * 64 * 32 * 9 + 5 * 8 * 8 * 64 * 64 * 9
    return macs, 64 * num_classes


def test_resnet20_dense_macs_match_hand_count():
    report = count_macs(
        build_model({"name": "resnet20", "num_classes": 10, "in_channels": 3}), (1, 3, 32, 32)
    )
    conv, linear = _resnet20_hand_count()
    by_type = report.macs_by_type()
    assert by_type["Conv2d"] == conv == 40_550_400
    assert by_type["Linear"] == linear
    assert by_type["BatchNorm2d"] == 32 * 32 * 16 * 7 + 16 * 16 * 32 * 6 + 8 * 8 * 64 * 6
    assert 40e6 < report.total_macs < 41e6 and report.total_flops == 2 * report.total_macs
    assert report.total_params == 269_722
    assert len([r for r in report.per_layer if r["type"] == "Conv2d"]) == 19


def test_sparse_counts_masked_and_zero_weights_as_zero():
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, bias=False), nn.Flatten(), nn.Linear(4 * 5 * 5, 3))
    dense = count_macs(model, (1, 2, 5, 5))
    assert dense.total_macs == 25 * 4 * 2 * 9 + 100 * 3
    mask = torch.zeros(4, 2, 3, 3, dtype=torch.bool)
    mask[0] = True  # 18 kernel weights survive
    with torch.no_grad():
        model[2].weight[:, :50] = 0  # exact zeros count as pruned too
    sparse = count_macs(model, (1, 2, 5, 5), masks={"0.weight": mask}, sparse=True)
    assert sparse.per_layer[0]["macs"] == 18 * 25 and sparse.per_layer[1]["macs"] == 150
    assert sparse.per_layer[0]["nonzero_params"] == 18
    # dense counting ignores masks, and the report keeps the model's mode
    assert count_macs(model, (1, 2, 5, 5), masks={"0.weight": mask}).total_macs == dense.total_macs
    model.train()
    count_macs(model, (1, 2, 5, 5))
    assert model.training


def test_grouped_conv_and_batch_of_two():
    model = nn.Conv2d(4, 8, 3, groups=4, padding=1)
    report = count_macs(model, (2, 4, 6, 6))
    assert report.total_macs == 2 * 36 * 8 * 1 * 9
