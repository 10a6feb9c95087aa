"""``vita prune --method gdp`` through the real CLI: bad input, a user's torchvision model, the tiny recipe."""

import json

import pytest
import torch
import torchvision

TINY = ("--recipe", "prune/gdp-tiny", "--device", "cpu", "--quiet")
# fewer images and steps for the resume tests: they check what is skipped, not accuracy
SHORT = ("train.max_steps_per_epoch=2", "data.train_subset=128", "data.val_size=64", "data.test_subset=64")


def _one_line_error(r, code=2):
    assert r.exit_code == code, r.stderr
    assert "Traceback" not in r.stderr
    assert len([line for line in r.stderr.strip().splitlines() if line.startswith("error:")]) == 1


def test_flops_target_outside_unit_interval(vita, tmp_path):
    for bad in ("1.5", "0", "-0.2"):
        r = vita("prune", "--method", "gdp", "--flops-target", bad, *TINY, "--out", tmp_path / bad)
        _one_line_error(r)
        assert "flops_target" in r.stderr


def test_recipe_target_outside_unit_interval(vita, tmp_path):
    r = vita("prune", "--method", "gdp", *TINY, "--out", tmp_path, "gdp.flops_target=2")
    _one_line_error(r)
    assert "flops_target" in r.stderr


def test_unknown_gdp_key_is_rejected(vita, tmp_path):
    r = vita("prune", "--method", "gdp", *TINY, "--out", tmp_path, "gdp.not_a_key=1")
    _one_line_error(r)
    assert "not_a_key" in r.stderr


def test_corrupt_model_file(vita, tmp_path):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"\x00garbage" * 50)
    r = vita("prune", "--method", "gdp", bad, *TINY, "--out", tmp_path / "run")
    _one_line_error(r)


def test_unsupported_layer_names_the_layer(vita, tmp_path):
    # SqueezeNet's Fire modules concatenate two conv outputs: GDP refuses and says where and why
    path = tmp_path / "squeeze.pt"
    torch.save(torchvision.models.squeezenet1_1().state_dict(), path)
    r = vita(
        "prune",
        "--method",
        "gdp",
        path,
        "--arch",
        "torchvision:squeezenet1_1",
        *TINY,
        "--out",
        tmp_path / "run",
        "data.channels=3",
        "data.image_size=32",
    )
    _one_line_error(r)
    assert "concatenat" in r.stderr and "features" in r.stderr


@pytest.mark.slow
def test_tiny_recipe_end_to_end_and_evaluate(vita, tmp_path):
    out = tmp_path / "run"
    r = vita("prune", "--method", "gdp", *TINY, "--out", out, "--json")
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)
    checks = result["checks"]
    assert checks["max_logit_diff"] < 1e-4
    assert checks["macs_match"] and checks["within_target"]
    assert {a["arm"] for a in result["arms"]} == {"gdp", "l1", "slimming", "uniform"}
    assert all(a["flops_ratio"] <= 0.5 for a in result["arms"])
    assert all(0 <= a["val_acc"] <= 100 for a in result["arms"])  # the split GDP settings are chosen on
    for name in (
        "compact.safetensors",
        "gate_polarization.png",
        "accuracy_vs_flops.png",
        "shape_manifest.txt",
    ):
        assert (out / name).exists()
    r = vita("evaluate", out / "compact.safetensors", "--device", "cpu", "--json", "--out", tmp_path / "ev")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["accuracy"] >= 0


@pytest.mark.slow
def test_torchvision_resnet18_state_dict(vita, tmp_path):
    path = tmp_path / "resnet18.pt"
    torch.save(torchvision.models.resnet18(num_classes=10).state_dict(), path)
    out = tmp_path / "run"
    r = vita(
        "prune",
        "--method",
        "gdp",
        path,
        "--arch",
        "torchvision:resnet18",
        *TINY,
        "--out",
        out,
        "--json",
        "data.channels=3",
        "gdp.baselines=[]",
        "train.max_steps_per_epoch=2",
        "gdp.finetune_epochs=0",
    )
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["checks"]["macs_match"] and result["checks"]["max_logit_diff"] < 1e-4
    r = vita("evaluate", out / "compact.safetensors", "--device", "cpu", "--json", "--out", tmp_path / "ev")
    assert r.exit_code == 0, r.stderr


def test_resume_skips_the_stages_a_stopped_run_finished(vita, tmp_path, monkeypatch):
    from vita_cli.methods.gdp import engine
    from vita_cli.models import load_model

    out = tmp_path / "run"
    job = ("prune", "--method", "gdp", *TINY, "--out", out, "gdp.baselines=[l1,uniform]", *SHORT)
    real_baseline, real_train = engine.run_baseline, engine.train_plain

    def stop_at_uniform(kind, *args, **kwargs):
        if kind == "uniform":
            raise RuntimeError("simulated stop")
        return real_baseline(kind, *args, **kwargs)

    monkeypatch.setattr(engine, "run_baseline", stop_at_uniform)
    r = vita(*job)
    assert r.exit_code != 0 and "simulated stop" in r.stderr
    stages = out / "stages"
    assert (stages / "dense.safetensors").is_file() and (stages / "gdp.json").is_file()
    assert (stages / "baseline-l1.json").is_file() and not (stages / "baseline-uniform.json").exists()
    gdp_acc = load_model(out / "compact.safetensors").meta["test_acc"]

    baselines_run, trainings = [], []

    def counting_baseline(kind, *args, **kwargs):
        baselines_run.append(kind)
        return real_baseline(kind, *args, **kwargs)

    def counting_train(*args, **kwargs):
        trainings.append(args[4])  # epochs
        return real_train(*args, **kwargs)

    monkeypatch.setattr(engine, "run_baseline", counting_baseline)
    monkeypatch.setattr(engine, "train_plain", counting_train)
    monkeypatch.setattr(engine, "run_gdp_arm", lambda *a, **k: pytest.fail("the finished GDP arm ran again"))
    r = vita(*job, "--resume", "--json")
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)
    assert baselines_run == ["uniform"]
    assert len(trainings) == 1  # the uniform baseline's; the dense model was not trained again
    assert [a["arm"] for a in result["arms"]] == ["gdp", "l1", "uniform"]
    assert result["arms"][0]["test_acc"] == gdp_acc
    assert (out / "gate_polarization.png").is_file()

    # resuming with other settings would mix two runs: refused in one line
    r = vita(*job, "--resume", "gdp.flops_target=0.4")
    _one_line_error(r)
    assert "other settings" in r.stderr

    # a fresh run in the same folder starts over: nothing of the earlier job is left to resume
    def stop(*args, **kwargs):
        raise RuntimeError("simulated stop")

    monkeypatch.setattr(engine, "run_gdp_arm", stop)
    r = vita(*job)
    assert r.exit_code != 0
    assert (stages / "dense.safetensors").is_file() and not (stages / "gdp.json").exists()
    assert not (stages / "baseline-l1.json").exists()


def test_resume_continues_a_gdp_arm_stopped_after_its_gate_phase(vita, tmp_path, monkeypatch):
    from vita_cli.methods.gdp import engine

    out = tmp_path / "run"
    job = ("prune", "--method", "gdp", *TINY, "--out", out, "gdp.baselines=[]", *SHORT)
    real_finalize, real_fit = engine.finalize, engine.fit

    def stop_before_folding(*args, **kwargs):
        raise RuntimeError("simulated stop")

    monkeypatch.setattr(engine, "finalize", stop_before_folding)
    r = vita(*job)
    assert r.exit_code != 0 and "simulated stop" in r.stderr
    checkpoint = out / "stages" / "gdp-training" / "gate-phase" / "last.pt"
    assert checkpoint.is_file()
    epochs_done = torch.load(checkpoint, weights_only=True)["epoch"]

    trained, steps = [], []

    def counting_fit(model, *args, **kwargs):
        result = real_fit(model, *args, **kwargs)
        trained.append(len(result.history))
        return result

    real_step = engine.GdpController.before_step
    monkeypatch.setattr(engine, "finalize", real_finalize)
    monkeypatch.setattr(engine, "fit", counting_fit)
    monkeypatch.setattr(
        engine.GdpController, "before_step", lambda self, *a: steps.append(1) or real_step(self, *a)
    )
    r = vita(*job, "--resume", "--json")
    assert r.exit_code == 0, r.stderr
    assert trained[0] == epochs_done  # the gate phase's history came back from the checkpoint ...
    assert not steps  # ... and no gate step ran again
    assert json.loads(r.stdout)["arms"][0]["epochs_run"] == epochs_done
