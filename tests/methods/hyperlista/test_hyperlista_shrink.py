import torch

from vita_cli.methods.hyperlista.shrink import (
    fixed_support_schedule,
    per_sample_quantile,
    soft_threshold,
    support_selection_shrink,
    support_selection_shrink_reference,
)


def test_sort_quantile_equals_torch_quantile():
    gen = torch.Generator().manual_seed(0)
    values = torch.randn(40, 37, generator=gen)
    q = torch.rand(40, generator=gen)
    q[:3] = torch.tensor([0.0, 1.0, 0.5])
    expected = torch.stack([torch.quantile(values[i], q[i]) for i in range(40)])
    assert torch.allclose(per_sample_quantile(values, q), expected, atol=1e-6)


def test_fast_support_selection_equals_reference():
    gen = torch.Generator().manual_seed(1)
    for _ in range(5):
        v = torch.randn(3, 50, 60, generator=gen)
        v[..., :5] = 0.0  # ties at zero
        theta = 0.5 * torch.rand(3, 50, 1, generator=gen)
        fraction = torch.rand(3, 50, generator=gen)
        fraction[0, :5] = torch.tensor([0.0, 1.0, 0.01, 0.99, 0.5])
        assert torch.equal(
            support_selection_shrink(v, theta, fraction),
            support_selection_shrink_reference(v, theta, fraction),
        )


def test_support_selection_limits():
    gen = torch.Generator().manual_seed(2)
    v = torch.randn(8, 30, generator=gen)
    theta = torch.full((8, 1), 0.4)
    # p = 1: hard thresholding at θ (every |v| ≥ θ passes unchanged)
    hard = torch.where(v.abs() >= 0.4, v, torch.zeros_like(v))
    assert torch.equal(support_selection_shrink(v, theta, torch.ones(8)), hard)
    # p = 0: the quantile is the row maximum, so soft thresholding except the largest entry
    out = support_selection_shrink(v, theta, torch.zeros(8))
    soft = soft_threshold(v, 0.4)
    top = v.abs().argmax(-1)
    mask = torch.ones_like(v, dtype=torch.bool)
    mask[torch.arange(8), top] = False
    assert torch.equal(out[mask], soft[mask])
    assert torch.equal(out[torch.arange(8), top], v[torch.arange(8), top])


def test_fixed_schedule():
    schedule = fixed_support_schedule(16)
    assert abs(schedule[0] - 0.012) < 1e-9 and abs(schedule[-1] - 0.13) < 1e-9
