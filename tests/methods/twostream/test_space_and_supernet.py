"""MACs (hand count = analytic = hooks), sampled architectures build and train, inherited weights are slices."""

import random

import pytest
import torch
import torch.nn.functional as F

from tests.methods.twostream.helpers import FRAMES, SIZE, tiny_space
from vita_cli.methods.twostream import space as S
from vita_cli.methods.twostream.supernet import SuperBlock, TwoStreamNet, extract, hook_macs


def test_block_macs_hand_count_and_hooks():
    # c_in 8, t 3, k 3, e 2 (mid 16), c_out 12, SE, 4 frames at 8×8, spatial stride 2 -> 4×4
    b = S.Block(t=3, k=3, e=2, c=12, attention="se")
    hand = (
        4 * 8 * 8 * 8 * 16  # expand: input positions × c_in × mid
        + 4 * 4 * 4 * 16 * 3 * 3 * 3  # depth-wise: output positions × mid × t·k·k
        + 16 * 4
        + 4 * 16  # SE: mid → mid/4 → mid
        + 4 * 4 * 4 * 16 * 12  # project: output positions × mid × c_out
    )
    macs, out = S.block_macs(8, b, 4, 8, 2)
    assert (macs, out) == (hand, 4)
    block = SuperBlock(8, 3, 3, 2, 12, {"se"}, 2)
    counted = [0]

    def hook(m, i, o):
        counted[0] += (
            o[0].numel()
            * (m.in_channels // m.groups)
            * m.kernel_size[0]
            * m.kernel_size[1]
            * m.kernel_size[2]
        )

    for m in block.modules():
        if isinstance(m, torch.nn.Conv3d):
            m.register_forward_hook(hook)
    block.eval()
    block(torch.randn(1, 8, 4, 8, 8), b)
    assert counted[0] == hand


def test_tse_and_fusion_macs_by_hand():
    b = S.Block(t=1, k=3, e=1, c=8, attention="tse")
    macs, _ = S.block_macs(8, b, 16, 4, 1)
    assert macs == 16 * 16 * 8 * 8 + 16 * 16 * 8 * 9 + 8 * 16 * 3 + 16 * 16 * 8 * 8
    # fast 6 channels, 16 frames, alpha 4, 4×4: t2c 24 -> 12 channels on 4 frames
    assert S.fusion_macs("t2c", 6, 16, 4, 4) == 4 * 16 * 24 * 12
    assert S.fusion_macs("tconv", 6, 16, 4, 4) == 4 * 16 * 6 * 5 * 12
    assert S.fusion_macs("tsample", 6, 16, 4, 4) == 4 * 16 * 6 * 12


@pytest.mark.parametrize("seed", range(4))
def test_analytic_macs_equal_hooks_and_forward_backward(seed):
    space = tiny_space()
    arch = S.sample(space, space.largest(), S.variables_of("joint"), random.Random(seed))
    net = TwoStreamNet.standalone(arch)
    x = torch.randn(2, 3, FRAMES, SIZE, SIZE)
    assert hook_macs(net, x) == S.macs(arch, FRAMES, SIZE)
    loss = F.cross_entropy(net(x), torch.tensor([0, 1]))
    loss.backward()
    assert all(
        p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters() if p.requires_grad
    )


def test_controls_macs_and_x3d_matches_slowfast():
    space = tiny_space()
    sf = S.slowfast_mini(space)
    x3d = S.x3d_mini(space, S.macs(sf, FRAMES, SIZE), FRAMES, SIZE)
    x = torch.randn(1, 3, FRAMES, SIZE, SIZE)
    for arch in (sf, x3d, space.smallest(), space.largest()):
        assert hook_macs(TwoStreamNet.standalone(arch), x) == S.macs(arch, FRAMES, SIZE)
    assert not x3d.two_stream and sf.fusion == ("tconv",)
    assert abs(S.macs(x3d, FRAMES, SIZE) / S.macs(sf, FRAMES, SIZE) - 1) < 0.25


def test_every_sampled_subnet_runs_in_the_supernet_and_inherits_slices():
    torch.manual_seed(0)
    space = tiny_space()
    sup = TwoStreamNet.supernet(space.largest(), space.fusion, space.attention)
    x = torch.randn(2, 3, FRAMES, SIZE, SIZE)
    rng = random.Random(1)
    for _ in range(6):
        arch = S.sample(space, space.largest(), S.variables_of("joint"), rng)
        sup.train()
        sup.zero_grad()
        F.cross_entropy(sup(x, arch), torch.tensor([0, 2])).backward()
        sup.eval()
        child = extract(sup, arch).eval()
        assert torch.allclose(child(x), sup(x, arch), atol=1e-5)
        # the stand-alone weights are the supernet's slices: prefix channels, centred kernel
        b = arch.slow[0][0]
        w_sup = sup.slow_blocks[0].dw.weight
        off_t, off_k = (w_sup.shape[2] - b.t) // 2, (w_sup.shape[3] - b.k) // 2
        mid = arch.slow_stem * b.e
        expected = w_sup[:mid, :, off_t : off_t + b.t, off_k : off_k + b.k, off_k : off_k + b.k]
        assert torch.equal(child.slow_blocks[0].dw.weight, expected)
        assert torch.equal(
            child.slow_blocks[0].project.weight, sup.slow_blocks[0].project.weight[: b.c, :mid]
        )


def test_architecture_yaml_round_trip_and_unknown_operation():
    space = tiny_space()
    arch = S.sample(space, space.largest(), S.variables_of("joint"), random.Random(3))
    assert S.architecture_from_dict(arch.to_dict()) == arch
    bad = arch.to_dict()
    bad["fusion"][0] = "cross-attention"
    with pytest.raises(S.ArchitectureError, match=r"fusion\[0\].*cross-attention"):
        S.architecture_from_dict(bad)
    bad = arch.to_dict()
    bad["slow"][0][0]["attention"] = "transformer"
    with pytest.raises(S.ArchitectureError, match="attention"):
        S.architecture_from_dict(bad)


def test_space_has_six_variables_and_progressive_stages_cover_them():
    space = tiny_space()
    assert S.space_summary(space)["variables"] == ["t", "k", "e", "c", "fusion", "attention"]
    covered = sum((S.variables_of(s) for s in S.STAGES_OF_SEARCH), ())
    assert sorted(covered) == sorted(S.variables_of("joint"))
