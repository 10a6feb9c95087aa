import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import torch  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def vita(runner, tmp_path):
    """Run the real CLI: ``vita("info", "--json")`` -> click Result (stdout and stderr separate)."""
    from vita_cli.cli.app import app

    def run(*args):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return run
