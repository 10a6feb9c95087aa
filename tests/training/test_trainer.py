import json

import pytest
import torch

from tests.training.helpers import loaders, tiny_cnn
from vita_cli.core.errors import UserError
from vita_cli.training import TrainConfig, evaluate, fit, lr_factor


def _cfg(**kw):
    base = dict(epochs=2, lr=0.05, momentum=0.9, weight_decay=5e-4, schedule="cosine", amp=False, log_every=2)
    base.update(kw)
    return TrainConfig(**base)


def _killed(epoch, model, record):
    if epoch == 2:  # during epoch 2's bookkeeping, after epoch 1's checkpoint was written
        raise KeyboardInterrupt


def _run(epochs_cfg=2, stop_after=None, checkpoint_dir=None, resume=None, seed=0, callback=None):
    torch.manual_seed(seed)
    model = tiny_cnn()
    train, val = loaders()
    if stop_after:
        callback = lambda e, m, r: {"stop": e >= stop_after}  # noqa: E731
    return fit(
        model,
        train,
        val,
        _cfg(epochs=epochs_cfg),
        "cpu",
        epoch_callback=callback,
        checkpoint_dir=checkpoint_dir,
        resume=resume,
    )


def test_fit_learns_and_reports_history():
    torch.manual_seed(0)
    model = tiny_cnn()
    train, val = loaders()
    result = fit(model, train, val, _cfg(epochs=6, lr=0.1), "cpu")
    assert len(result.history) == 6
    assert {"epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "images_per_s"} <= set(
        result.history[0]
    )
    assert result.final_val_acc > 60
    assert result.best_val_acc >= result.final_val_acc


def test_resume_after_kill_matches_uninterrupted_run(tmp_path):
    straight = _run()
    # kill in epoch 2, then a fresh process-like start with other RNG state resumes
    with pytest.raises(KeyboardInterrupt):
        _run(callback=_killed, checkpoint_dir=tmp_path)
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1]
    resumed = _run(checkpoint_dir=tmp_path, resume="auto", seed=123)
    for (name, a), b in zip(
        straight.model.state_dict().items(), resumed.model.state_dict().values(), strict=False
    ):
        assert torch.equal(a, b), name
    assert [r["epoch"] for r in resumed.history] == [1, 2]
    assert resumed.history[1]["train_loss"] == straight.history[1]["train_loss"]


def test_a_run_its_callback_stopped_resumes_as_stopped(tmp_path):
    first = _run(epochs_cfg=3, stop_after=1, checkpoint_dir=tmp_path)
    assert first.stopped_early and len(first.history) == 1
    again = _run(epochs_cfg=3, checkpoint_dir=tmp_path, resume="auto")
    assert again.stopped_early and [r["epoch"] for r in again.history] == [1]
    assert all(
        torch.equal(a, b)
        for a, b in zip(first.model.state_dict().values(), again.model.state_dict().values(), strict=True)
    )


def test_resume_auto_without_checkpoint_starts_fresh(tmp_path):
    result = _run(epochs_cfg=1, checkpoint_dir=tmp_path / "new", resume="auto")
    assert len(result.history) == 1 and (tmp_path / "new" / "last.pt").is_file()


def test_resume_missing_or_corrupt_checkpoint_is_user_error(tmp_path):
    with pytest.raises(UserError, match="not found"):
        _run(resume=tmp_path / "nope.pt")
    bad = tmp_path / "last.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(UserError, match="corrupt"):
        _run(resume=bad)


@pytest.mark.parametrize("opt", ["sgd", "adam", "adamw"])
def test_optimizers_and_hooks(opt):
    torch.manual_seed(0)
    model = tiny_cnn()
    train, val = loaders()
    seen_steps = []

    def hook(images, labels, step):
        seen_steps.append(step)
        return images, labels

    def loss_fn(net, images, labels):
        logits = net(images)
        return torch.nn.functional.cross_entropy(logits, labels), logits

    gate = torch.nn.Parameter(torch.ones(3))
    cfg = _cfg(
        epochs=2,
        optimizer=opt,
        lr=1e-3 if opt != "sgd" else 0.05,
        schedule="multistep",
        milestones=[1],
        grad_clip=1.0,
        label_smoothing=0.1,
    )
    result = fit(
        model,
        train,
        val,
        cfg,
        "cpu",
        loss_fn=loss_fn,
        batch_hook=hook,
        epoch_callback=lambda e, m, r: {"extra": e},
        extra_param_groups=[{"params": [gate], "weight_decay": 0.0}],
    )
    assert seen_steps == list(range(12))
    assert [r["extra"] for r in result.history] == [1, 2]


def test_schedules():
    cfg = TrainConfig(epochs=10, schedule="multistep", milestones=[3, 6], gamma=0.1, warmup_epochs=1)
    assert lr_factor(0, cfg, 10) == pytest.approx(0.1)
    assert lr_factor(10, cfg, 10) == 1.0
    assert lr_factor(35, cfg, 10) == pytest.approx(0.1)
    assert lr_factor(65, cfg, 10) == pytest.approx(0.01)
    cos = TrainConfig(epochs=10, schedule="cosine")
    assert lr_factor(0, cos, 10) == 1.0 and lr_factor(50, cos, 10) == pytest.approx(0.5)
    assert lr_factor(100, cos, 10) == pytest.approx(0.0)


def test_max_steps_and_stop():
    torch.manual_seed(0)
    train, val = loaders()
    result = fit(
        tiny_cnn(),
        train,
        None,
        _cfg(epochs=3, max_steps_per_epoch=2),
        "cpu",
        epoch_callback=lambda e, m, r: {"stop": e == 2},
    )
    assert len(result.history) == 2 and result.stopped_early and result.final_val_acc is None


def test_evaluate_confusion():
    torch.manual_seed(0)
    _, val = loaders()
    result = evaluate(tiny_cnn(), val, "cpu", num_classes=3)
    assert result.confusion.shape == (3, 3) and result.confusion.sum() == 48
    assert result.accuracy == pytest.approx(100 * result.confusion.diag().sum().item() / 48)
    assert len(result.per_class_accuracy) == 3


@pytest.mark.parametrize(
    "bad",
    [
        dict(epochs=-1),
        dict(lr=0),
        dict(momentum=1.5),
        dict(nesterov=True, optimizer="adam"),
        dict(milestones=[5, 2]),
        dict(grad_clip=0.0),
    ],
)
def test_config_validation(bad):
    with pytest.raises(ValueError):
        TrainConfig(**bad)
