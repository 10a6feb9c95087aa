"""The study drivers under ``experiments/``: they import, and their pure parts compute what they say."""

import importlib
import json

import pytest

from experiments.augmax_proxy_report import markdown


@pytest.mark.parametrize(
    "name", ["gdp_quality", "gdp_gate_probes", "ticket_ownership", "augmax_proxy_report"]
)
def test_every_study_imports(name):
    assert hasattr(importlib.import_module(f"experiments.{name}"), "main")


def test_proxy_report_table(tmp_path):
    for seed, (clean, corr) in enumerate([(90.0, 60.0), (92.0, 62.0)]):
        for arm, shift in (("standard", 0), ("augmax-dubin", 5)):
            folder = tmp_path / f"seed{seed}" / arm
            folder.mkdir(parents=True)
            data = {"clean_acc": clean, "mean_corruption_acc": corr + shift}
            if arm != "standard":
                data["mce"] = 80.0
            (folder / "robust-cifar.json").write_text(json.dumps(data))
    text = markdown(tmp_path)
    assert "corruption set: cifar" in text
    assert "| standard | 2 | – | 91.00 ± 1.00 | 61.00 ± 1.00 | – |" in text
    assert "| augmax-dubin | 2 | – | 91.00 ± 1.00 | 66.00 ± 1.00 | 80.00 ± 0.00 |" in text
