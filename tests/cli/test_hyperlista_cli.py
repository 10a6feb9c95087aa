import json

import pytest
import torch
from safetensors.torch import save_file

TINY = ("-r", "hyperlista/tiny", "--device", "cpu")


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """One tiny tune run shared by the tests below (hyperlista.json + problem.safetensors)."""
    from typer.testing import CliRunner

    from vita_cli.cli.app import app

    out = tmp_path_factory.mktemp("tune")
    r = CliRunner().invoke(
        app, ["hyperlista", "tune", *TINY, "--out", str(out), "--json"], catch_exceptions=False
    )
    assert r.exit_code == 0, r.stderr
    return out, json.loads(r.stdout)


def test_help_lists_subcommands(vita):
    r = vita("hyperlista", "--help")
    assert r.exit_code == 0
    for verb in ("tune", "eval", "compare"):
        assert verb in r.stdout


def test_tune_json_and_files(tuned):
    out, data = tuned
    assert {"c_beta", "c_theta", "c_ss", "gamma", "test_nmse_db"} <= set(data)
    assert len(data["test_nmse_db"]) == 6 and data["points"] == 8
    assert (out / "hyperlista.json").is_file() and (out / "problem.safetensors").is_file()
    assert (out / "recipe.yaml").is_file()


def test_eval_reads_params_and_problem(vita, tuned, tmp_path):
    out, data = tuned
    r = vita(
        "hyperlista",
        "eval",
        *TINY,
        "--params",
        out / "hyperlista.json",
        "--problem",
        out / "problem.safetensors",
        "--out",
        tmp_path,
        "--json",
        "eval.methods=[ista,fista,hyperlista]",
    )
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)
    assert set(result["nmse_db"]) == {"ista", "fista", "hyperlista"}
    assert result["constants"]["c_ss"] == pytest.approx(data["c_ss"])
    assert result["nmse_db"]["hyperlista"] == pytest.approx(data["test_nmse_db"], abs=1e-3)  # same test set
    assert (tmp_path / "nmse.png").stat().st_size > 1000 and (tmp_path / "nmse.csv").is_file()


def test_eval_trains_learned_baseline(vita, tmp_path):
    r = vita("hyperlista", "eval", *TINY, "--out", tmp_path, "--json", "--quiet")
    assert r.exit_code == 0, r.stderr
    curves = json.loads(r.stdout)["nmse_db"]
    assert set(curves) == {"ista", "fista", "alista", "hyperlista"}
    assert curves["alista"][-1] < curves["alista"][0]


def test_compare_shift_magnitude(vita, tuned, tmp_path):
    out, _ = tuned
    r = vita(
        "hyperlista",
        "compare",
        *TINY,
        "--shift",
        "magnitude",
        "--params",
        out / "hyperlista.json",
        "--out",
        tmp_path,
        "--json",
        "compare.methods=[ista,hyperlista]",
    )
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)["shifts"]["magnitude"]
    assert [row["value"] for row in rows] == [0.5, 2.0]
    # HyperLISTA is scale-equivariant: the same NMSE whatever the magnitude
    assert rows[0]["hyperlista"] == pytest.approx(rows[1]["hyperlista"], abs=0.05)
    assert (tmp_path / "shift-magnitude.png").is_file() and (tmp_path / "nmse.png").is_file()


def test_user_matrix(vita, tmp_path):
    A = torch.randn(40, 80)
    save_file({"A": A}, str(tmp_path / "A.safetensors"))
    r = vita(
        "hyperlista",
        "tune",
        *TINY,
        "--matrix",
        tmp_path / "A.safetensors",
        "--out",
        tmp_path / "run",
        "--json",
    )
    assert r.exit_code == 0, r.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (("--matrix", "nope.safetensors"), "not found"),
        (("problem.nonsense=1",), "unknown recipe key problem.nonsense"),
        (("problem.m=90",), "below problem.n"),
        (("eval.methods=[ista,magic]",), "magic"),
        (("tune.weight=round",), "tune.weight"),
    ],
)
def test_bad_input_exit_2(vita, tmp_path, args, message):
    r = vita("hyperlista", "eval", *TINY, "--out", tmp_path, *args)
    assert r.exit_code == 2
    assert message in r.stderr and "Traceback" not in r.stderr


def test_wrong_shape_matrix_and_bad_params(vita, tmp_path):
    save_file({"A": torch.randn(30, 80)}, str(tmp_path / "A.safetensors"))
    r = vita("hyperlista", "eval", *TINY, "--out", tmp_path, "--matrix", tmp_path / "A.safetensors")
    assert r.exit_code == 2 and "problem.m=30" in r.stderr
    (tmp_path / "p.json").write_text("{not json")
    r = vita("hyperlista", "eval", *TINY, "--out", tmp_path, "--params", tmp_path / "p.json")
    assert r.exit_code == 2 and "not valid JSON" in r.stderr
    (tmp_path / "q.json").write_text('{"c_beta": 1}')
    r = vita("hyperlista", "eval", *TINY, "--out", tmp_path, "--params", tmp_path / "q.json")
    assert r.exit_code == 2 and "c_theta" in r.stderr
    r = vita("hyperlista", "eval", *TINY, "--out", tmp_path, "--problem", tmp_path / "none.safetensors")
    assert r.exit_code == 2 and "not found" in r.stderr
