import torch

from vita_cli.methods.hyperlista.analytic import alista_weight, build_operators, coherence, symmetric_weight
from vita_cli.methods.hyperlista.problems import gaussian_matrix


def test_alista_weight_closed_form():
    A = gaussian_matrix(250, 500, seed=118)
    W = alista_weight(A)
    assert torch.allclose((W * A).sum(0), torch.ones(500), atol=1e-5)  # diag(WᵀA) = 1
    # W = A also satisfies the constraint (unit columns) but has a larger ‖WᵀA‖_F
    assert (W.T @ A).norm() < (A.T @ A).norm()
    assert 0.18 < coherence(W, A) < 0.23 < coherence(A, A)


def test_alista_weight_is_scaled_pinv():
    A = gaussian_matrix(30, 60, seed=1)
    ops = build_operators(A)
    assert torch.allclose(ops.W, ops.pinv.T * ops.w_scale, atol=1e-5)


def test_symmetric_pair():
    A = gaussian_matrix(60, 120, seed=3)
    Wt, G = symmetric_weight(A)
    gram = Wt.T @ Wt
    assert torch.allclose(Wt, G @ A, atol=1e-5)
    assert torch.allclose(gram.diagonal(), torch.ones(120), atol=1e-4)  # unit-norm columns
    assert torch.allclose(G, G.T, atol=1e-5)
    assert coherence(Wt, Wt) < coherence(A, A)
