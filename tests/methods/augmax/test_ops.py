import pytest
import torch

from vita_cli.methods.augmax.augmix import augment_chains, augmix, mix, random_mixing_weights
from vita_cli.methods.augmax.ops import OPERATORS, equalize, posterize, sample_op_params, solarize


def _batch(b=6, c=1, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(b, c, size, size, generator=g) * 0.6
    x[:, :, 8:24, 8:24] += 0.4  # an object on a background, so geometry moves something
    return x.clamp(0, 1)


@pytest.mark.parametrize("name", list(OPERATORS))
@pytest.mark.parametrize("channels", [1, 3])
def test_operator_keeps_shape_range_and_is_deterministic(name, channels):
    x = _batch(c=channels)
    level, sign = sample_op_params(x.shape[0], 3.0, torch.Generator().manual_seed(1))
    out = OPERATORS[name](x, level, sign)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert out.min() >= 0 and out.max() <= 1
    again = OPERATORS[name](x, *sample_op_params(x.shape[0], 3.0, torch.Generator().manual_seed(1)))
    assert torch.equal(out, again)
    assert not torch.equal(out, x)  # every operator changes these images


def test_pixel_operators_match_their_8bit_rules():
    x = torch.arange(256, dtype=torch.float32).view(1, 1, 16, 16) / 255
    level = torch.tensor([3.0])  # posterize keeps 4 − ⌊1.2⌋ = 3 bits; solarize threshold 256 − 76 = 180
    assert set((posterize(x, level, level) * 255).round().unique().tolist()) == set(range(0, 256, 32))
    sol = (solarize(x, level, level) * 255).round().view(-1)
    assert sol[179] == 179 and sol[180] == 255 - 180
    flat = torch.full((1, 1, 8, 8), 0.5)
    assert torch.equal(equalize(flat, level, level), (flat * 255).round() / 255)
    eq = equalize(x, level, level)  # a uniform histogram stays (almost) uniform
    assert (eq - x).abs().max() <= 1 / 255 + 1e-6


def test_chains_are_seeded_and_per_sample():
    x = _batch(b=8, c=3)
    a = augment_chains(x, width=3, generator=torch.Generator().manual_seed(5))
    b = augment_chains(x, width=3, generator=torch.Generator().manual_seed(5))
    c = augment_chains(x, width=3, generator=torch.Generator().manual_seed(6))
    assert a.shape == (8, 3, 3, 32, 32) and torch.equal(a, b) and not torch.equal(a, c)
    assert a.min() >= 0 and a.max() <= 1
    # identical inputs get different augmentations (per-sample parameters)
    same = x[:1].repeat(8, 1, 1, 1)
    out = augment_chains(same, width=1, generator=torch.Generator().manual_seed(0))
    assert len({tuple(o.flatten()[:64].tolist()) for o in out[:, 0]}) > 1


def test_mix_formula_endpoints():
    x = _batch(b=4, c=3)
    chains = augment_chains(x, width=3, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(mix(x, chains, torch.zeros(4), torch.full((4, 3), 1 / 3)), x)
    onehot = torch.tensor([[0.0, 1.0, 0.0]]).repeat(4, 1)
    assert torch.allclose(mix(x, chains, torch.ones(4), onehot), chains[:, 1])
    m, w = random_mixing_weights(4, 3, torch.Generator().manual_seed(0))
    assert torch.allclose(w.sum(1), torch.ones(4)) and (w >= 0).all() and ((m >= 0) & (m <= 1)).all()
    out = augmix(x, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
