"""The real ``vita tts-lifelong`` CLI: bad inputs (exit 2, one error line, no run folder) and, marked
slow, data -> train (stopped and resumed) -> eval -> speak -> compare on a micro corpus."""

import json

import numpy as np
import pytest
import soundfile as sf

MICRO = [
    "data.languages=[de, nl]",
    "data.n_train={de: 6, nl: 6}",
    "data.n_val=0",
    "data.n_test=2",
    "data.max_words=3",
    "train.first_epochs=1",
    "train.epochs=1",
    "train.batch_size=4",
    "train.buffer_size=2",
    "model.decoder=32",
    "model.encoder_lstm=8",
    "model.embed=16",
    "model.encoder_channels=16",
    "model.prenet=16",
    "model.attention=16",
    "model.postnet_channels=16",
    "model.max_decoder_steps=20",
    "eval.griffin_lim_iters=2",
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from typer.testing import CliRunner

    from vita_cli.cli.app import app

    root = tmp_path_factory.mktemp("tts") / "corpus"
    r = CliRunner().invoke(
        app,
        ["tts-lifelong", "data", "-r", "tts-lifelong/tiny", *MICRO, "--out", str(root), "--json", "--quiet"],
    )
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["counts"]["nl"] == {"train": 6, "val": 0, "test": 2}
    return root


def one_error(r):
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.exit_code == 2, r.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    return lines[0]


def train_args(root, out, *extra):
    return [
        "tts-lifelong",
        "train",
        "-r",
        "tts-lifelong/tiny",
        "--device",
        "cpu",
        "--out",
        out,
        "--quiet",
        *MICRO,
        f"data.root={root}",
        *extra,
    ]


def test_help(vita):
    r = vita("tts-lifelong", "--help")
    assert r.exit_code == 0
    for verb in ("data", "train", "eval", "speak", "compare"):
        assert verb in r.stdout


def test_corpus_folder_without_metadata(vita, tmp_path):
    (tmp_path / "c" / "de").mkdir(parents=True)
    (tmp_path / "c" / "nl").mkdir()
    line = one_error(vita(*train_args(tmp_path / "c", tmp_path / "run")))
    assert "has no metadata.csv" in line
    assert not (tmp_path / "run").exists()


def test_transcript_with_unknown_characters(vita, corpus, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(corpus, bad)
    meta = bad / "nl" / "metadata.csv"
    meta.write_text(meta.read_text().replace("|", "|ж", 2).replace("|ж", "|", 1))
    line = one_error(vita(*train_args(bad, tmp_path / "run")))
    assert "outside the symbol set: 'ж'" in line and "metadata.csv:1" in line
    assert not (tmp_path / "run").exists()


def test_unknown_language(vita, corpus, tmp_path):
    line = one_error(
        vita(*train_args(corpus, tmp_path / "run", "data.languages=[de, xx]", "data.n_train={de: 6, xx: 6}"))
    )
    assert "unknown language 'xx'" in line
    assert not (tmp_path / "run").exists()


def test_wav_with_another_sample_rate(vita, corpus, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(corpus, bad)
    wav = bad / "de" / "wavs" / "de_0001.wav"
    sf.write(wav, np.zeros(16000, dtype=np.float32), 16000)
    line = one_error(vita(*train_args(bad, tmp_path / "run")))
    assert "sample rate 16000 Hz" in line and "data.resample=true" in line
    assert not (tmp_path / "run").exists()


def test_bad_recipe_value_and_missing_run(vita, tmp_path):
    line = one_error(
        vita(
            "tts-lifelong", "train", "-r", "tts-lifelong/tiny", "train.batch_size=10", "--out", tmp_path / "r"
        )
    )
    assert "not divisible by 3" in line
    assert "run folder not found" in one_error(vita("tts-lifelong", "eval", tmp_path / "nothing"))


@pytest.mark.slow
def test_train_resume_eval_speak_compare(vita, corpus, tmp_path):
    # a run stopped after task 0 carries on from resume.safetensors with --resume
    run = tmp_path / "dual"
    r = vita(*train_args(corpus, run, "--json"))
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["buffer"] == {"de": [2, 0], "nl": [1, 1]}
    assert (run / "task0.safetensors").is_file() and (run / "task1.safetensors").is_file()
    (run / "task1.safetensors").unlink()  # as if stopped before the last task ended
    from vita_cli.core.checkpoint import load_checkpoint, save_checkpoint

    state = load_checkpoint(run / "resume.safetensors")
    save_checkpoint(run / "resume.safetensors", state.tensors, {**state.meta, "task": 1, "epoch": 0})
    r = vita(*train_args(corpus, run, "--resume", "--json"))
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["resumed_from"] == {"task": 1, "epoch": 0}
    assert (run / "task1.safetensors").is_file()

    ft = tmp_path / "finetune"
    assert (
        vita(
            *train_args(corpus, ft, "--method", "finetune", f"train.init={run / 'task0.safetensors'}")
        ).exit_code
        == 0
    )
    r = vita("tts-lifelong", "eval", ft, "--json", "--quiet")
    assert r.exit_code == 0, r.stderr
    r = vita("tts-lifelong", "eval", run, "--finetune", ft, "--json", "--quiet")
    assert r.exit_code == 0, r.stderr
    ev = json.loads(r.stdout)
    assert ev["R"][0][1] is None and all(v > 0 for v in ev["R"][1])
    assert ev["reduction_vs_finetune"] is not None
    assert (run / "eval" / "mcd_matrix.png").stat().st_size > 1000
    assert (run / "eval" / "samples" / "task1-nl.wav").is_file()

    wav = tmp_path / "hallo.wav"
    r = vita("tts-lifelong", "speak", run, "guten morgen.", "--lang", "de", "--wav", wav, "--json")
    assert r.exit_code == 0, r.stderr
    data, rate = sf.read(wav)
    assert np.abs(data).max() > 1e-3 and 0.05 < len(data) / rate < 2.0
    assert "unknown language 'fr'" in one_error(
        vita("tts-lifelong", "speak", run, "bonjour", "--lang", "fr", "--wav", tmp_path / "f.wav")
    )
    assert not (tmp_path / "f.wav").exists()
    assert "'ж'" in one_error(
        vita("tts-lifelong", "speak", run, "жук", "--lang", "de", "--wav", tmp_path / "f.wav")
    )

    r = vita("tts-lifelong", "compare", run, ft, "--out", tmp_path / "cmp", "--json", "--quiet")
    assert r.exit_code == 0, r.stderr
    cmp = json.loads(r.stdout)
    assert set(cmp["methods"]) == {"dual", "finetune"}
    assert cmp["methods"]["finetune"]["reduction_vs_finetune"] == 0.0
