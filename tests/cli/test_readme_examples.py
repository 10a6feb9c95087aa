"""Every example in README.md's Examples block runs as written, in order, in a fresh folder (they are
tiny recipes already; slow as a whole: minutes). The expected exit code is 0 unless the line's
comment says ``exit N``."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def readme_examples() -> list[str]:
    """The ``vita ...`` commands of the first bash block after '### Examples', continuations joined."""
    text = (ROOT / "README.md").read_text()
    start = text.index("### Examples")
    block = text[start:].split("```bash", 1)[1].split("```", 1)[0]
    commands, current = [], ""
    for line in block.splitlines():
        current += line.rstrip()[:-1] + " " if line.rstrip().endswith("\\") else line
        if line.rstrip().endswith("\\"):
            continue
        if current.strip().startswith("vita "):
            commands.append(current.strip())
        current = ""
    return commands


def _split(command: str) -> tuple[list[str], int]:
    code, _, comment = command.partition(" #")
    expected = re.search(r"exit (\d)", comment)
    return shlex.split(code), int(expected.group(1)) if expected else 0


EXAMPLES = readme_examples()


def test_the_readme_has_examples():
    assert len(EXAMPLES) >= 10 and all(c.startswith("vita ") for c in EXAMPLES)
    argv, code = _split("vita verify-ticket a --signature b   # exit 1: not verified")
    assert argv == ["vita", "verify-ticket", "a", "--signature", "b"] and code == 1


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("readme")


@pytest.mark.slow
@pytest.mark.parametrize("command", EXAMPLES, ids=[f"{i:02d}-{c.split()[1]}" for i, c in enumerate(EXAMPLES)])
def test_readme_example_runs_as_written(command, workdir):
    argv, expected = _split(command)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "vita_cli", *argv[1:]],
        cwd=workdir,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert proc.returncode == expected, f"{command}\nexit {proc.returncode}\n{proc.stderr[-1500:]}"
