import math
from dataclasses import fields

import pytest
import torch

from vita_cli.methods.hyperlista.analytic import Operators, build_operators
from vita_cli.methods.hyperlista.hyper import (
    HyperConstants,
    grid_points,
    grid_search,
    hyperlista_forward,
    hyperlista_solve,
    random_search,
)
from vita_cli.methods.hyperlista.problems import SignalSpec, gaussian_matrix, make_split
from vita_cli.methods.hyperlista.shrink import soft_threshold


@pytest.fixture(scope="module")
def small():
    A = gaussian_matrix(60, 120, seed=5)
    return A, build_operators(A, "symmetric"), make_split(A, 64, SignalSpec(p=0.1), seed=9)


def _double(ops):
    return Operators(
        *(
            t.double() if isinstance(t, torch.Tensor) else t
            for t in (getattr(ops, f.name) for f in fields(ops))
        )
    )


@pytest.mark.parametrize("symmetric", [False, True])
def test_scale_equivariance(small, symmetric):
    A, ops, split = small
    constants = HyperConstants(0.004, 0.015, 0.3, 1.0)
    # powers of two scale float32 arithmetic exactly: the outputs must scale bit for bit
    x1 = hyperlista_solve(split.b, ops, constants, 12, symmetric)
    for c in (0.25, 8.0):
        assert torch.equal(hyperlista_solve(c * split.b, ops, constants, 12, symmetric), c * x1)
    # any other factor: equal to 1e-5 relative (float64, so no threshold comparison flips)
    ops64, b64 = _double(ops), split.b.double()
    x1 = hyperlista_solve(b64, ops64, constants, 12, symmetric)
    for c in (0.37, 5.0, 1234.5):
        xc = hyperlista_solve(c * b64, ops64, constants, 12, symmetric)
        assert float((xc - c * x1).norm() / (c * x1).norm()) < 1e-5


def test_first_layer_is_plain_soft_threshold(small):
    # k = 0: β = 0 (x⁰ = x⁻¹ = 0) and ρ = 0, i.e. one soft-thresholded gradient step
    A, ops, split = small
    constants = HyperConstants(0.01, 0.02, 0.5, 0.8)
    out = hyperlista_forward(split.b, ops, torch.tensor([constants.as_row()]), 1)
    back = split.b @ ops.pinv.T
    theta = 0.02 * 0.8 * back.abs().sum(-1, keepdim=True)
    expected = soft_threshold(0.8 * split.b @ ops.W, theta)
    assert torch.allclose(out.x[0], expected, atol=1e-6)


def test_batched_grid_equals_one_by_one(small):
    A, ops, split = small
    points = grid_points({"c_beta": [0.0, 0.01], "c_theta": [0.01, 0.02], "c_ss": [0.3], "gamma": [1.0, 0.5]})
    together = hyperlista_forward(split.b, ops, points, 8, split.x).sq_error
    for i in range(points.shape[0]):
        alone = hyperlista_forward(split.b, ops, points[i : i + 1], 8, split.x).sq_error
        assert torch.allclose(together[i], alone[0], rtol=1e-4, atol=1e-6)


def test_shared_first_layers_expand_to_every_point(small):
    # layers 0 and 1 depend on (c_θ, γ) only and run once per distinct pair: every output still
    # has one row per grid point, equal to running that point alone
    A, ops, split = small
    points = grid_points({"c_beta": [0.0, 0.01], "c_theta": [0.01], "c_ss": [0.2, 0.6], "gamma": [1.0]})
    for layers in (1, 2, 5):
        out = hyperlista_forward(split.b, ops, points, layers, split.x, symmetric=True, keep_iterates=True)
        assert out.x.shape == (4, *split.x.shape) and out.sq_error.shape == (4, layers)
        assert [tuple(it.shape) for it in out.iterates] == [(4, *split.x.shape)] * layers
        for i in range(4):
            alone = hyperlista_forward(split.b, ops, points[i : i + 1], layers, split.x, symmetric=True)
            assert torch.allclose(alone.x[0], out.x[i], rtol=1e-5, atol=1e-6)


def test_grid_and_random_search_pick_the_minimum(small):
    A, ops, split = small
    axes = {"c_beta": [0.0, 0.005], "c_theta": [0.005, 0.015], "c_ss": [0.2, 0.5], "gamma": [1.0]}
    result = grid_search(axes, split.b, split.x, ops, 8)
    assert result.best_score == float(result.scores.min())
    assert math.isfinite(result.best_nmse_db)
    rnd = random_search({k: (min(v), max(v)) for k, v in axes.items()}, 8, split.b, split.x, ops, 8)
    assert rnd.points.shape[0] == 8 and rnd.best_score == float(rnd.scores.min())
