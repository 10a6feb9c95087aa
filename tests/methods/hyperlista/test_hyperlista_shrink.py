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


def _topk_support_selection(v, theta, fraction):
    """Support selection with the quantile taken from torch.topk, one row at a time."""
    n = v.shape[-1]
    flat_v, flat_theta, flat_p = (
        v.reshape(-1, n),
        theta.expand(*v.shape[:-1], 1).reshape(-1),
        fraction.reshape(-1),
    )
    out = torch.empty_like(flat_v)
    for i in range(flat_v.shape[0]):
        mag = flat_v[i].abs()
        rank = (1.0 - flat_p[i].clamp(0.0, 1.0)) * (n - 1)
        # ascending positions floor/ceil(rank) are the (n - position)-th largest entries
        low = mag.topk(n - int(rank.floor()), sorted=True).values[-1]
        high = mag.topk(n - int(rank.ceil()), sorted=True).values[-1]
        cutoff = torch.lerp(low, high, rank - rank.floor())
        keep = (mag >= cutoff) & (mag >= flat_theta[i])
        out[i] = torch.where(keep, flat_v[i], soft_threshold(flat_v[i], flat_theta[i]))
    return out.view_as(v)


def test_support_selection_equals_topk_selection():
    gen = torch.Generator().manual_seed(3)
    n = 40
    v = torch.randn(6, 30, n, generator=gen)
    v[0] = 0.0  # all-zero rows
    v[1, :, : n - 3] = 0.0  # rows with many zeros: only three non-zero entries
    v[2, :, ::2] = 0.0
    v[3] = torch.randint(-3, 4, (30, n), generator=gen).float()  # many ties
    theta = 0.5 * torch.rand(6, 30, 1, generator=gen)
    theta[:, :5] = 0.0  # θ = 0: every row needs its quantile
    fraction = torch.rand(6, 30, generator=gen)
    # p = 0 and p = 1 (only the largest / every entry), and ranks just inside both ends
    fraction[:, 5:9] = torch.tensor([0.0, 1.0, 0.5 / (n - 1), 1.0 - 0.5 / (n - 1)])
    for dtype in (torch.float32, torch.float64):
        args = (v.to(dtype), theta.to(dtype), fraction.to(dtype))
        assert torch.equal(support_selection_shrink(*args), _topk_support_selection(*args))


def test_support_selection_gradients_match_reference():
    # the learned baselines back-propagate through the shrinkage (into v and a learned θ)
    gen = torch.Generator().manual_seed(4)
    v = torch.randn(16, 50, generator=gen, dtype=torch.float64)
    fraction = torch.rand(16, generator=gen, dtype=torch.float64)
    grads = []
    for shrink in (support_selection_shrink, support_selection_shrink_reference):
        v_leaf = v.clone().requires_grad_()
        theta = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
        out = shrink(v_leaf, theta.view(1, 1).expand(16, 1), fraction)
        (out * torch.linspace(-1, 1, 50, dtype=torch.float64)).sum().backward()
        grads.append((out.detach(), v_leaf.grad, theta.grad))
    for new, reference in zip(grads[0], grads[1], strict=True):
        assert torch.equal(new, reference)
