import torch

from vita_cli.methods.hyperlista.classic import fista, fista_until_stall, ista, lasso_objective
from vita_cli.methods.hyperlista.problems import SignalSpec, gaussian_matrix, make_split


def _setup():
    A = gaussian_matrix(60, 120, seed=2)
    split = make_split(A, 16, SignalSpec(p=0.1), seed=4)
    return A.double(), split.b.double()


def test_ista_objective_is_monotone():
    A, b = _setup()
    values = [float(lasso_objective(A, b, x, 0.1).sum()) for x in ista(A, b, 0.1, 60)]
    assert all(later <= earlier + 1e-9 for earlier, later in zip(values, values[1:], strict=False))


def test_fista_gap_decays_like_one_over_k_squared():
    A, b = _setup()
    best = float(
        lasso_objective(A, b, fista_until_stall(A, b, 0.1, tol=1e-14, max_iterations=20000).x, 0.1).sum()
    )
    iterates = fista(A, b, 0.1, 200)
    x0_gap = float(lasso_objective(A, b, torch.zeros_like(iterates[0]), 0.1).sum()) - best
    for k in (10, 50, 200):
        gap = float(lasso_objective(A, b, iterates[k - 1], 0.1).sum()) - best
        assert gap * k * k <= 50 * x0_gap  # O(1/k²) with a generous constant
    ista_gap = float(lasso_objective(A, b, ista(A, b, 0.1, 50)[-1], 0.1).sum()) - best
    assert float(lasso_objective(A, b, iterates[49], 0.1).sum()) - best <= ista_gap
