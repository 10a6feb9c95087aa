import pytest
import torch

from vita_cli.methods.hyperlista.analytic import build_operators
from vita_cli.methods.hyperlista.learned import Schedule, build_learned, learned_curve, train_layerwise
from vita_cli.methods.hyperlista.problems import SignalSpec, gaussian_matrix, make_problem


@pytest.fixture(scope="module")
def small():
    A = gaussian_matrix(50, 100, seed=7)
    return build_operators(A), make_problem(A, SignalSpec(p=0.1), 512, 256, 512, seed=11)


@pytest.mark.parametrize("name", ["lista", "lista_cpss", "alista", "alista_mm"])
def test_layerwise_training_improves_with_depth(small, name):
    ops, problem = small
    torch.manual_seed(0)
    model = build_learned(name, ops, 4)
    before = learned_curve(model, problem.test)
    schedule = Schedule(epochs=[2, 1, 0], best_wait=1, batch_size=128)
    history = train_layerwise(model, problem.train, problem.val, schedule)
    after = learned_curve(model, problem.test)
    assert len(history) == 4
    assert all(b < a for a, b in zip(after, after[1:], strict=False))  # monotone in depth
    assert after[-1] < before[-1]  # training helped
