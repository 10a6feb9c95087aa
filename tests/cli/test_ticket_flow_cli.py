"""`vita ticket-flow spectra|compare|transfer|run` through the real CLI on generated Fashion-MNIST files."""

import gzip
import json
import struct

import numpy as np
import pytest
import torch


def _write_idx(folder, n_train=200, n_test=60):
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n, dtype=np.uint8) % 10
        images = rng.integers(0, 60, size=(n, 28, 28), dtype=np.uint8)
        for i, y in enumerate(labels):
            images[i, 2 * y : 2 * y + 8, 4:24] = 220
        with gzip.open(folder / f"{split}-images-idx3-ubyte.gz", "wb") as f:
            f.write(struct.pack(">BBBBIII", 0, 0, 8, 3, n, 28, 28) + images.tobytes())
        with gzip.open(folder / f"{split}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(struct.pack(">BBBBI", 0, 0, 8, 1, n) + labels.tobytes())
    return folder


def _one_line_error(r, code=2):
    assert r.exit_code == code, r.stderr
    lines = [line for line in r.stderr.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in r.stderr
    return lines[0]


def _synthetic_flow(folder, rounds=5, seed=0, width=4):
    """A folder of plain state dicts, one per round: a small CNN's weights pruned 20% per round."""
    from vita_cli.models import build_model

    torch.manual_seed(seed)
    state = build_model(
        {"name": "small_cnn", "num_classes": 5, "in_channels": 1, "width": width}
    ).state_dict()
    folder.mkdir(parents=True)
    for n in range(rounds):
        state = {k: v * (1 + 0.05 * torch.randn_like(v)) if v.ndim >= 2 else v for k, v in state.items()}
        for k, v in state.items():
            if v.ndim >= 2:
                cut = v.abs().flatten().kthvalue(max(1, int(0.2 * n * v.numel() / rounds))).values
                state[k] = torch.where(v.abs() > cut, v, torch.zeros_like(v)) if n else v
        torch.save(state, folder / f"round_{n}.pt")
    return folder


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    from typer.testing import CliRunner

    from vita_cli.cli.app import app

    tmp = tmp_path_factory.mktemp("tf")
    root = _write_idx(tmp / "fashion")
    out = tmp / "study"
    args = [
        "ticket-flow",
        "run",
        "--recipe",
        "ticket-flow/tiny",
        "--out",
        str(out),
        "--json",
        "--quiet",
        "--set",
        f"data.fashion_root={root}",
        "--set",
        "data.train_per_task=80",
        "--set",
        "data.test_per_task=30",
        "--set",
        "transfer.bootstrap=20",
        "--set",
        "data.image_size=12",
    ]
    r = CliRunner().invoke(app, args, catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    return out, json.loads(r.stdout), args, root


@pytest.mark.slow
def test_run_writes_the_study(study_dir):
    out, result, _, _ = study_dir
    assert set(result["imp"]) == {"clothing/s0", "clothing/s1", "footwear/s0", "footwear/s1"}
    report = result["observables"]["weights"]
    m = np.array(report["distances"])
    assert np.allclose(m, m.T) and np.all(np.diag(m) == 0)
    assert report["correlation"]["n"] == 4  # 2 ordered pairs × 2 seeds
    for key in ("distances", "spectra", "rho"):
        assert (out / "analysis" / "weights" / f"{key}.png").is_file()
    assert (out / "study.json").is_file() and (out / "recipe.yaml").is_file()


@pytest.mark.slow
def test_run_resumes_without_retraining(study_dir, vita):
    out, result, args, _ = study_dir
    cache = (out / "transfer_cache.jsonl").read_text()
    r = vita(*args, "--resume")
    assert r.exit_code == 0, r.stderr
    again = json.loads(r.stdout)
    assert again["accuracy"] == result["accuracy"]
    assert (out / "transfer_cache.jsonl").read_text() == cache  # nothing retrained


def test_spectra_and_compare(vita, tmp_path):
    flows = [_synthetic_flow(tmp_path / name, seed=k) for k, name in enumerate(["a", "b", "c", "d"])]
    r = vita(
        "ticket-flow", "spectra", *flows[:2], "--observable", "summaries", "--out", tmp_path / "sp", "--json"
    )
    assert r.exit_code == 0, r.stderr
    spectra = json.loads(r.stdout)
    assert spectra["analysis"]["observable"] == "summaries"
    assert [f["name"] for f in spectra["flows"]] == ["a", "b"]
    assert all(len(f["rounds"]) == 5 and len(f["step_sizes"]) == 4 for f in spectra["flows"])
    assert (tmp_path / "sp" / "spectra.png").is_file()
    r = vita(
        "ticket-flow",
        "compare",
        *flows,
        "--observable",
        "layers",
        "--rank",
        "2",
        "--out",
        tmp_path / "cmp",
        "--json",
    )
    assert r.exit_code == 0, r.stderr
    cmp = json.loads(r.stdout)
    assert cmp["analysis"]["rank_rule"] == "rank 2" and len(cmp["distances"]) == 4
    assert (tmp_path / "cmp" / "distances.png").is_file()


@pytest.mark.slow
def test_transfer_with_distances(study_dir, vita, tmp_path):
    out, _, _, root = study_dir
    flows = [out / "flows" / t / "s0" for t in ("clothing", "footwear")]
    r = vita("ticket-flow", "compare", *flows, "--out", tmp_path / "cmp", "--quiet")
    assert r.exit_code == 0, r.stderr
    r = vita(
        "ticket-flow",
        "transfer",
        "--source",
        flows[0],
        "--source",
        flows[1],
        "--distances",
        tmp_path / "cmp" / "compare.json",
        "--recipe",
        "ticket-flow/tiny",
        "--set",
        f"data.fashion_root={root}",
        "--set",
        "data.train_per_task=80",
        "--set",
        "data.test_per_task=30",
        "--set",
        "data.image_size=12",
        "--set",
        "transfer.bootstrap=20",
        "--out",
        tmp_path / "tr",
        "--json",
    )
    assert r.exit_code == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["targets"] == ["clothing", "footwear"]
    assert {(x["source"], x["target"]) for x in res["losses"]} == {
        ("clothing", "footwear"),
        ("footwear", "clothing"),
    }
    assert set(res["random"]) == {"clothing", "footwear"}


def test_bad_inputs_are_one_line_errors_and_write_nothing(vita, tmp_path):
    flow = _synthetic_flow(tmp_path / "flow", rounds=4)
    bad_out = tmp_path / "never"
    # fewer rounds than the rank needs
    msg = _one_line_error(vita("ticket-flow", "spectra", flow, "--rank", "9", "--out", bad_out))
    assert "rank 9 needs at least 10" in msg
    msg = _one_line_error(vita("ticket-flow", "spectra", flow, "--rank", "4", "--out", bad_out))
    assert "rank 4 needs at least 5" in msg
    # flows of different architectures in one compare
    wide = tmp_path / "wide"
    wide.mkdir()
    for n in range(4):
        state = torch.load(flow / f"round_{n}.pt", weights_only=True)
        torch.save(
            {k: torch.cat([v, v]) if v.ndim >= 2 else v for k, v in state.items()}, wide / f"round_{n}.pt"
        )
    msg = _one_line_error(vita("ticket-flow", "compare", flow, wide, "--out", bad_out))
    assert "different architectures" in msg and "conv1.weight" in msg
    # a folder with unordered or mixed files
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    torch.save({"w": torch.ones(2, 2)}, mixed / "round_0.pt")
    torch.save({"w": torch.ones(2, 2)}, mixed / "last.pt")
    assert "no round number" in _one_line_error(vita("ticket-flow", "spectra", mixed, "--out", bad_out))
    (mixed / "last.pt").unlink()
    (mixed / "round_1.safetensors").write_bytes(b"")
    assert "mixes file formats" in _one_line_error(vita("ticket-flow", "spectra", mixed, "--out", bad_out))
    # other mistakes
    assert "not found" in _one_line_error(vita("ticket-flow", "spectra", tmp_path / "nope", "--out", bad_out))
    assert "at least two" in _one_line_error(vita("ticket-flow", "compare", flow, "--out", bad_out))
    assert "unknown task" in _one_line_error(
        vita("ticket-flow", "run", "--tasks", "clothing,nonsense", "--out", bad_out)
    )
    assert "--tol" in _one_line_error(vita("ticket-flow", "spectra", flow, "--tol", "2", "--out", bad_out))
    msg = _one_line_error(vita("ticket-flow", "transfer", "--source", flow, "--out", bad_out))
    assert "not an IMP run" in msg
    assert not bad_out.exists()


@pytest.mark.slow
def test_spectra_of_a_vita_prune_imp_run(vita, tmp_path):
    """The saved rounds of `vita prune --method imp` are a flow as they are."""
    root = _write_idx(tmp_path / "fashion")
    r = vita(
        "prune",
        "--method",
        "imp",
        "--recipe",
        "prune/imp-tiny",
        "--out",
        tmp_path / "imp",
        "--quiet",
        f"data.root={root}",
        "data.val_size=32",
        "data.train_subset=96",
        "data.test_subset=32",
        "model.options={width: 2}",
    )
    assert r.exit_code == 0, r.stderr
    r = vita("ticket-flow", "spectra", tmp_path / "imp", "--out", tmp_path / "sp", "--json")
    assert r.exit_code == 0, r.stderr
    flow = json.loads(r.stdout)["flows"][0]
    assert flow["rounds"] == [0, 1, 2] and flow["density"][2] == pytest.approx(0.25, abs=0.01)


def test_depth_study_bad_models_are_one_line_errors(vita, tmp_path):
    bad_out = tmp_path / "bad"
    msg = _one_line_error(
        vita(
            "ticket-flow",
            "run",
            "-r",
            "ticket-flow/depth",
            "--set",
            "depth.models=[resnet14, small_cnn]",
            "--out",
            bad_out,
        )
    )
    assert "depth.models" in msg and "small_cnn" in msg
    msg = _one_line_error(
        vita(
            "ticket-flow",
            "run",
            "-r",
            "ticket-flow/depth",
            "--set",
            "depth.models=[resnet14, resnet21]",
            "--out",
            bad_out,
        )
    )
    assert "resnet21" in msg
    assert not bad_out.exists()
