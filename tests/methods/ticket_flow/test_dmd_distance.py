"""Exact DMD against known linear systems and pydmd; the spectral distance's metric properties."""

import numpy as np
import pytest

from vita_cli.methods.ticket_flow.distance import distance_matrix, layerwise_distance, wasserstein1
from vita_cli.methods.ticket_flow.dmd import RankError, choose_rank, exact_dmd


def _trajectory(A, x0, steps):
    xs = [x0]
    for _ in range(steps):
        xs.append(A @ xs[-1])
    return np.stack(xs, axis=1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dmd_recovers_random_linear_system(seed):
    rng = np.random.default_rng(seed)
    n = 5
    A = rng.normal(size=(n, n)) / np.sqrt(n)
    S = _trajectory(A, rng.normal(size=n), 20)
    result = exact_dmd(S)
    assert result.rank == n
    truth = np.linalg.eigvals(A)
    assert wasserstein1(result.eigenvalues, truth) < 1e-6
    assert np.max(np.abs(np.sort_complex(result.eigenvalues) - np.sort_complex(truth))) < 1e-6
    # the modes are eigenvectors of A: A φ = λ φ
    for k in range(n):
        phi = result.modes[:, k]
        assert np.linalg.norm(A @ phi - result.eigenvalues[k] * phi) < 1e-6 * np.linalg.norm(phi)


def test_dmd_in_a_high_dimensional_lift():
    """A 4-dim system observed through a random 200-dim linear lift: DMD finds the same 4 eigenvalues."""
    rng = np.random.default_rng(3)
    A = rng.normal(size=(4, 4)) / 2
    lift = rng.normal(size=(200, 4))
    S = lift @ _trajectory(A, rng.normal(size=4), 12)
    result = exact_dmd(S, tol=1e-9)
    assert result.rank == 4
    assert wasserstein1(result.eigenvalues, np.linalg.eigvals(A)) < 1e-6


@pytest.mark.parametrize("rank", [3, 6])
def test_dmd_agrees_with_pydmd(rank):
    pydmd = pytest.importorskip("pydmd")
    rng = np.random.default_rng(7)
    S = rng.normal(size=(40, 11)).cumsum(axis=1)  # a non-linear, noisy flow: only the estimator is compared
    ours = exact_dmd(S, rank=rank)
    ref = pydmd.DMD(svd_rank=rank, exact=True)
    ref.fit(S)
    assert ours.rank == rank
    assert wasserstein1(ours.eigenvalues, np.asarray(ref.eigs)) < 1e-8


def test_rank_rules_and_errors():
    s = np.array([10.0, 1.0, 1e-3, 1e-14])
    assert choose_rank(s, None, 1e-10) == 3
    assert choose_rank(s, None, 1e-2) == 2
    assert choose_rank(s, 2, 1e-10) == 2
    with pytest.raises(RankError, match="needs at least 5 snapshot pairs"):
        choose_rank(s, 5, 1e-10)
    with pytest.raises(RankError, match="numerical rank"):
        choose_rank(s, 4, 1e-10)
    with pytest.raises(RankError):
        exact_dmd(np.ones((5, 1)))
    with pytest.raises(RankError, match="zero"):
        exact_dmd(np.zeros((5, 4)))


def test_distance_is_a_symmetric_order_free_metric_on_spectra():
    rng = np.random.default_rng(0)
    a = rng.normal(size=6) + 1j * rng.normal(size=6)
    b = rng.normal(size=6) + 1j * rng.normal(size=6)
    assert wasserstein1(a, a) == 0.0
    assert wasserstein1(a, rng.permutation(a)) == 0.0
    assert wasserstein1(a, b) == pytest.approx(wasserstein1(b, a), abs=1e-12)
    assert wasserstein1(a, b) == pytest.approx(
        wasserstein1(rng.permutation(a), rng.permutation(b)), abs=1e-12
    )
    assert wasserstein1(a, b) > 0
    # optimal matching, not index-wise: {0, 1} vs {1, 0.1} costs (0.1 + 0) / 2
    assert wasserstein1([0, 1], [1, 0.1]) == pytest.approx(0.05)
    # unequal sizes: {0} vs {0, 2} moves half the mass by 2
    assert wasserstein1([0], [0, 2]) == pytest.approx(1.0)
    # triangle inequality on a few random sets of different sizes
    c = rng.normal(size=4) + 0j
    assert wasserstein1(a, c) <= wasserstein1(a, b) + wasserstein1(b, c) + 1e-12
    m = distance_matrix([a, b, c])
    assert np.allclose(m, m.T) and np.all(np.diag(m) == 0)
    assert layerwise_distance({"x": a, "y": b}, {"x": a, "y": b}) == 0.0
