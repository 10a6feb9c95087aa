import pytest
import torch
from safetensors.torch import save_file

from vita_cli.core.errors import UserError
from vita_cli.methods.hyperlista.problems import (
    Problem,
    SignalSpec,
    gaussian_matrix,
    load_matrix,
    load_problem,
    make_problem,
    save_problem,
    sparse_signals,
)


def test_matrix_and_signals():
    A = gaussian_matrix(50, 100, seed=1)
    assert torch.allclose(A.norm(dim=0), torch.ones(100), atol=1e-5)
    assert torch.equal(A, gaussian_matrix(50, 100, seed=1))
    x = sparse_signals(400, 100, 0.1, seed=2)
    assert 0.08 < float((x != 0).float().mean()) < 0.12
    ill = gaussian_matrix(50, 100, seed=1, condition_number=30)
    s = torch.linalg.svdvals(ill.double())
    assert float(s[0] / s[-1]) > 10


def test_noise_level_matches_snr():
    A = gaussian_matrix(50, 100, seed=1)
    clean = make_problem(A, SignalSpec(), 1, 1, 256, seed=3).test
    noisy = make_problem(A, SignalSpec(snr_db=20.0), 1, 1, 256, seed=3).test
    ratio = float((clean.b**2).sum() / ((noisy.b - clean.b) ** 2).sum())
    assert 80 < ratio < 125  # 20 dB ≈ 100


def test_problem_roundtrip(tmp_path):
    A = gaussian_matrix(20, 40, seed=1)
    problem = make_problem(A, SignalSpec(), 8, 4, 6, seed=0)
    path = save_problem(tmp_path / "p.safetensors", problem)
    back = load_problem(path)
    assert isinstance(back, Problem) and torch.equal(back.A, A) and torch.equal(back.test.b, problem.test.b)


def test_user_matrix_errors(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_matrix(tmp_path / "missing.safetensors")
    save_file({"B": torch.zeros(3, 4)}, str(tmp_path / "noA.safetensors"))
    with pytest.raises(UserError, match="no tensor named 'A'"):
        load_matrix(tmp_path / "noA.safetensors")
    save_file({"A": torch.randn(10)}, str(tmp_path / "flat.safetensors"))
    with pytest.raises(UserError, match="2-D"):
        load_matrix(tmp_path / "flat.safetensors")
    save_file({"A": torch.randn(8, 4)}, str(tmp_path / "tall.safetensors"))
    with pytest.raises(UserError, match="fewer rows"):
        load_matrix(tmp_path / "tall.safetensors")
    save_file({"A": torch.randn(4, 8)}, str(tmp_path / "ok.safetensors"))
    with pytest.raises(UserError, match="problem.m=4"):
        load_matrix(tmp_path / "ok.safetensors", expect=(5, 8))
    assert load_matrix(tmp_path / "ok.safetensors", expect=(4, 8)).shape == (4, 8)
