"""A torchvision state dict pruned with ``vita prune --method gdp model.pt`` and nothing else (the
benchmark's tiny budget): architecture inferred, grey data replicated to 3 channels, GDP and the L1
baseline reported at the FLOPs target. The timing and the GDP >= L1 comparison are the benchmark's."""

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_gdp_quick.py"


@pytest.mark.slow
def test_user_resnet18_state_dict_runs_and_reports(capsys):
    spec = importlib.util.spec_from_file_location("bench_gdp_quick", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.main(["--models", "resnet18", "--tiny", "--threads", "1"])
    (row,) = rows
    assert row["target_reached"] is True
    assert 0.3 <= row["gdp_flops"] <= 0.5 and 0.3 <= row["l1_flops"] <= 0.5
    assert 0 <= row["gdp_acc"] <= 100 and row["l1_acc"] is not None
    assert "| resnet18 |" in capsys.readouterr().out
