"""The real `vita search-twostream` CLI: tiny end-to-end run, JSON output, bad inputs exit 2 with one line."""

import json

import numpy as np
import pytest
import yaml

TINY = ("-r", "search-twostream/tiny", "--device", "cpu")


@pytest.fixture
def clips(tmp_path):
    """A user clip folder in the real layout (class sub-folders of .npy, no split file)."""
    root = tmp_path / "clips"
    rng = np.random.default_rng(0)
    for cls in ("left", "right"):
        (root / cls).mkdir(parents=True)
        for i in range(4):
            np.save(root / cls / f"{i}.npy", rng.integers(0, 255, (8, 24, 24, 3), dtype=np.uint8))
    return root


def _one_error_line(r):
    lines = [line for line in r.stderr.strip().splitlines() if line.strip()]
    return (
        len(lines) >= 1
        and lines[-1].startswith("error:")
        and sum(line.startswith("error:") for line in lines) == 1
    )


def test_help_lists_actions(vita):
    r = vita("search-twostream", "--help")
    assert r.exit_code == 0
    for action in ("data", "search", "train", "eval"):
        assert action in r.stdout


def test_empty_class_folder_exit_2_no_run_folder(vita, clips, tmp_path):
    (clips / "up").mkdir()
    out = tmp_path / "run"
    r = vita("search-twostream", "search", *TINY, "--data", clips, "--out", out)
    assert r.exit_code == 2 and _one_error_line(r) and "empty class folder" in r.stderr and "up" in r.stderr
    assert not out.exists()


def test_unreadable_video_is_named(vita, clips, tmp_path):
    (clips / "left" / "bad.avi").write_bytes(b"\x00garbage")
    out = tmp_path / "run"
    r = vita("search-twostream", "search", *TINY, "--data", clips, "--out", out)
    assert r.exit_code == 2 and _one_error_line(r) and "bad.avi" in r.stderr
    assert not out.exists()


def test_budget_below_smallest_candidate(vita, clips, tmp_path):
    out = tmp_path / "run"
    r = vita("search-twostream", "search", *TINY, "--data", clips, "--budget", "0.01", "--out", out)
    assert r.exit_code == 2 and _one_error_line(r) and "smallest candidate" in r.stderr
    assert not out.exists()


def test_architecture_with_unknown_operation(vita, clips, tmp_path):
    from vita_cli.methods.twostream import space as S
    from vita_cli.methods.twostream.config import SpaceConfig

    arch = S.slowfast_mini(SpaceConfig(blocks=1, widths=[8, 12, 16]).build(2)).to_dict()
    arch["fusion"][1] = "lateral-attention"
    path = tmp_path / "arch.yaml"
    path.write_text(yaml.safe_dump({"architecture": arch}))
    out = tmp_path / "run"
    r = vita("search-twostream", "train", *TINY, "--data", clips, "--arch", path, "--out", out)
    assert r.exit_code == 2 and _one_error_line(r) and "lateral-attention" in r.stderr
    assert not out.exists()


def test_bad_recipe_value_exit_2(vita, clips, tmp_path):
    r = vita(
        "search-twostream",
        "search",
        *TINY,
        "--data",
        clips,
        "--out",
        tmp_path / "run",
        "space.fusion=[none,mixer]",
    )
    assert r.exit_code == 2 and "mixer" in r.stderr


@pytest.mark.slow
def test_tiny_end_to_end(vita, tmp_path):
    data = tmp_path / "clips"
    r = vita("search-twostream", "data", *TINY, "--root", data, "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["classes"][0] == "walk" and (data / "split.json").is_file()
    run = tmp_path / "search"
    r = vita("search-twostream", "search", *TINY, "--data", data, "--out", run, "--json")
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)
    assert set(result["winners"]) == {"progressive", "joint", "random"}
    assert all(w["macs"] <= result["budget_macs"] for w in result["winners"].values())
    assert (run / "pareto.png").stat().st_size > 5000 and (
        run / "supernet-progressive-attention.safetensors"
    ).is_file()
    # resuming a finished run reuses the supernets and the search states: same winner
    r = vita("search-twostream", "search", *TINY, "--data", data, "--out", run, "--json", "--resume")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["winners"]["progressive"]["arch"] == result["winners"]["progressive"]["arch"]
    r = vita(
        "search-twostream",
        "train",
        *TINY,
        "--data",
        data,
        "--arch",
        run / "architecture.yaml",
        "--out",
        tmp_path / "train",
        "--json",
    )
    assert r.exit_code == 0, r.stderr
    trained = json.loads(r.stdout)
    assert trained["macs"] == result["winners"]["progressive"]["macs"]
    r = vita(
        "search-twostream",
        "eval",
        *TINY,
        "--data",
        data,
        "--checkpoint",
        tmp_path / "train" / "model.safetensors",
        "--out",
        tmp_path / "eval",
        "--json",
    )
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["rows"][0]["test_acc"] == pytest.approx(trained["test_acc"])
    r = vita(
        "search-twostream",
        "eval",
        *TINY,
        "--data",
        data,
        "--search-run",
        run,
        "--out",
        tmp_path / "study",
        "--json",
    )
    assert r.exit_code == 0, r.stderr
    study = json.loads(r.stdout)
    assert {row["name"] for row in study["rows"]} == {
        "progressive",
        "joint",
        "random",
        "slowfast-mini",
        "x3d-mini",
    }
    assert study["kendall"] is not None and -1 <= study["kendall"]["tau"] <= 1


@pytest.mark.slow
def test_torchrun_two_ranks_search_equals_one_process(tmp_path):
    """The whole search under torchrun (2 gloo ranks) scores every candidate like one process."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    bin_dir = Path(sys.executable).parent
    data = tmp_path / "clips"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [bin_dir / "vita", "search-twostream", "data", *TINY, "--root", data, "-q"], check=True, env=env
    )
    common = ["search-twostream", "search", *TINY, "--data", str(data), "-q", "--json", "search.kendall=0"]
    subprocess.run(
        [
            bin_dir / "torchrun",
            "--nproc_per_node=2",
            "-m",
            "vita_cli",
            *common,
            "--out",
            str(tmp_path / "two"),
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    subprocess.run(
        [bin_dir / "vita", *common, "--out", str(tmp_path / "one")], check=True, env=env, capture_output=True
    )
    one = json.loads((tmp_path / "one" / "candidates.json").read_text())
    two = json.loads((tmp_path / "two" / "candidates.json").read_text())
    assert json.loads((tmp_path / "two" / "result.json").read_text())["world_size"] == 2
    assert [(c["arch"], c["score"]) for c in two] == [(c["arch"], c["score"]) for c in one]
