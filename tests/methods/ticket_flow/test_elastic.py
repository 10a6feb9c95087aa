"""The elastic ticket transformation between CIFAR ResNet depths: shapes, densities, the round trip,
the block mapping, and one-line errors for depths it cannot handle."""

import re

import pytest
import torch

from vita_cli.core.errors import UserError
from vita_cli.methods.ticket_flow.elastic import (
    block_groups,
    block_map,
    depth_of,
    describe_map,
    transform_ticket,
)
from vita_cli.models import build_model
from vita_cli.sparsity import prunable_names

WIDTH = 4
_BLOCK = re.compile(r"^(layer[123])\.(\d+)\.")


def _model(depth, shortcut="A"):
    return build_model(
        {"name": f"resnet{depth}", "num_classes": 5, "in_channels": 1, "width": WIDTH, "shortcut": shortcut}
    )


def _ticket(depth, seed=0, shortcut="A"):
    """A random ticket: the model's state and random masks of a different density per layer."""
    torch.manual_seed(seed)
    model = _model(depth, shortcut)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    gen = torch.Generator().manual_seed(seed)
    masks = {}
    for k, name in enumerate(prunable_names(model, exclude=[])):
        keep = 0.2 + 0.6 * torch.rand((), generator=gen).item()
        masks[name] = torch.rand(state[name].shape, generator=gen) < keep
        state[name] = state[name] + 0.01 * k  # tell the layers apart
    return state, masks


def _stage_counts(masks):
    out = {}
    for name, m in masks.items():
        match = _BLOCK.match(name)
        stage = match.group(1) if match else name
        kept, total = out.get(stage, (0, 0))
        out[stage] = (kept + int(m.sum()), total + m.numel())
    return out


@pytest.mark.parametrize(("source", "target"), [(14, 20), (14, 32), (20, 32), (32, 14), (32, 20), (20, 14)])
def test_shapes_match_the_target_model(source, target):
    for shortcut in ("A", "B"):
        state, masks = _ticket(source, shortcut=shortcut)
        new_state, new_masks = transform_ticket(state, masks, source, target)
        want = _model(target, shortcut).state_dict()
        assert {k: tuple(v.shape) for k, v in new_state.items()} == {
            k: tuple(v.shape) for k, v in want.items()
        }
        assert set(new_masks) == set(prunable_names(_model(target, shortcut), exclude=[]))
        assert all(
            new_masks[k].shape == new_state[k].shape and new_masks[k].dtype == torch.bool for k in new_masks
        )
        _model(target, shortcut).load_state_dict(new_state)  # loads strictly


def test_stem_classifier_and_first_blocks_are_copied():
    state, masks = _ticket(20)
    new_state, new_masks = transform_ticket(state, masks, 20, 32)
    for key in ("conv1.weight", "bn1.running_mean", "fc.weight", "fc.bias"):
        assert torch.equal(new_state[key], state[key])
    for stage in ("layer1", "layer2", "layer3"):
        for suffix in ("conv1.weight", "conv2.weight", "bn2.running_var"):
            assert torch.equal(new_state[f"{stage}.0.{suffix}"], state[f"{stage}.0.{suffix}"])
        assert torch.equal(new_masks[f"{stage}.0.conv1.weight"], masks[f"{stage}.0.conv1.weight"])


def test_block_mapping():
    assert block_groups(3, 5) == [[0], [1, 2], [3, 4]]  # the paper's 0:0;1:1,2;2:3,4
    assert block_groups(2, 5) == [[0], [1, 2, 3, 4]]
    assert block_groups(3, 4) == [[0], [1], [2, 3]]  # the larger group last: the last block is repeated
    assert block_map(3, 5) == [0, 1, 1, 2, 2]
    assert block_map(5, 3) == [0, 1, 3]  # squeezing drops blocks spread over the stage
    assert block_map(5, 2) == [0, 1]
    assert describe_map(20, 32) == "0:0;1:1,2;2:3,4"
    assert describe_map(32, 20) == "0:0;1:1;3:2"


def test_stretched_blocks_are_replicas():
    state, masks = _ticket(20)
    new_state, new_masks = transform_ticket(state, masks, 20, 32)
    for target, source in enumerate([0, 1, 1, 2, 2]):
        for suffix in ("conv1.weight", "conv2.weight", "bn1.weight", "bn1.running_mean"):
            assert torch.equal(new_state[f"layer2.{target}.{suffix}"], state[f"layer2.{source}.{suffix}"])
        assert torch.equal(new_masks[f"layer3.{target}.conv2.weight"], masks[f"layer3.{source}.conv2.weight"])
    # the replicas are copies, not views of one tensor
    new_state["layer1.1.conv1.weight"].add_(1.0)
    assert not torch.equal(new_state["layer1.1.conv1.weight"], new_state["layer1.2.conv1.weight"])


@pytest.mark.parametrize(("source", "target"), [(14, 20), (14, 32), (20, 32)])
def test_stretch_then_squeeze_gives_the_original_ticket(source, target):
    for shortcut in ("A", "B"):
        state, masks = _ticket(source, seed=3, shortcut=shortcut)
        up_state, up_masks = transform_ticket(state, masks, source, target)
        back_state, back_masks = transform_ticket(up_state, up_masks, target, source)
        assert back_state.keys() == state.keys() and back_masks.keys() == masks.keys()
        assert all(torch.equal(back_state[k], state[k]) for k in state)
        assert all(torch.equal(back_masks[k], masks[k]) for k in masks)


def test_every_layer_keeps_its_source_density_and_stage_density_is_the_block_mix():
    state, masks = _ticket(20, seed=1)
    new_state, new_masks = transform_ticket(state, masks, 20, 32)
    mapping = block_map(3, 5)
    for name, m in new_masks.items():
        match = _BLOCK.match(name)
        src = f"{match.group(1)}.{mapping[int(match.group(2))]}.{name[match.end() :]}" if match else name
        assert m.float().mean() == masks[src].float().mean()
    counts = _stage_counts(new_masks)
    for stage in ("layer1", "layer2", "layer3"):
        per_block = [
            _stage_counts({k: v for k, v in masks.items() if k.startswith(f"{stage}.{b}.")})[stage]
            for b in range(3)
        ]
        kept = sum(per_block[s][0] for s in mapping)
        total = sum(per_block[s][1] for s in mapping)
        assert counts[stage] == (kept, total)
    assert counts["conv1.weight"] == _stage_counts(masks)["conv1.weight"]


def test_stage_density_is_preserved_when_blocks_share_it():
    """A ticket whose blocks share one density per stage (a layer-wise pruned ticket) keeps every
    stage's density exactly, stretched or squeezed."""
    state, _ = _ticket(20)
    model = _model(20)
    masks = {}
    for name in prunable_names(model, exclude=[]):
        stage = _BLOCK.match(name).group(1) if _BLOCK.match(name) else name
        rate = {"layer1": 0.5, "layer2": 0.25, "layer3": 0.125}.get(stage, 0.75)
        flat = torch.zeros(state[name].numel(), dtype=torch.bool)
        flat[: int(rate * flat.numel())] = True
        masks[name] = flat[torch.randperm(flat.numel())].view(state[name].shape)
    before = {k: kept / total for k, (kept, total) in _stage_counts(masks).items()}
    for target in (14, 32):
        _, new_masks = transform_ticket(state, masks, 20, target)
        after = {k: kept / total for k, (kept, total) in _stage_counts(new_masks).items()}
        assert after == before


def test_bad_depths_are_user_errors():
    state, masks = _ticket(20)
    with pytest.raises(UserError, match="6n"):
        transform_ticket(state, masks, 20, 21)
    with pytest.raises(UserError, match="one block per stage"):
        transform_ticket(state, masks, 20, 8)
    with pytest.raises(UserError, match="not a CIFAR ResNet-32"):
        transform_ticket(state, masks, 32, 20)  # the ticket is a ResNet-20
    with pytest.raises(UserError, match="not a CIFAR ResNet-14"):
        transform_ticket({"weight": torch.ones(2, 2)}, {}, 14, 20)
    with pytest.raises(UserError, match="masks name"):
        transform_ticket(state, {"layer9.weight": torch.ones(1, dtype=torch.bool)}, 20, 32)
    with pytest.raises(UserError, match="not a CIFAR ResNet"):
        depth_of("small_cnn")
    assert depth_of("resnet14") == 14


def test_resnet14_is_a_registered_model():
    model = build_model({"name": "resnet14", "num_classes": 10, "in_channels": 3})
    convs = [n for n, p in model.named_parameters() if p.ndim == 4]
    assert len(convs) == 13  # 14 weight layers with the classifier
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
