"""Tacotron shapes, gradient routing of the dual sampler, EWC and GEM, MCD and speak."""

import numpy as np
import pytest
import soundfile as sf
import torch
from mel_cepstral_distance.api import compare_mfccs
from mel_cepstral_distance.computation import get_MC_X_ik

from vita_cli.methods.tts_lifelong.audio import MelFeatures, Normaliser
from vita_cli.methods.tts_lifelong.checkpoints import save_task
from vita_cli.methods.tts_lifelong.config import FeatureConfig, ModelConfig, TrainConfig, TTSLifelongRecipe
from vita_cli.methods.tts_lifelong.continual import (
    StepContext,
    batch_loss,
    dual_step,
    ewc_penalty,
    project_gem,
)
from vita_cli.methods.tts_lifelong.dataset import Item, collate
from vita_cli.methods.tts_lifelong.mcd import mcd_dtw
from vita_cli.methods.tts_lifelong.model import Tacotron
from vita_cli.methods.tts_lifelong.pipeline import run_speak
from vita_cli.methods.tts_lifelong.text import SYMBOLS, encode

CFG = ModelConfig(
    embed=16,
    encoder_channels=16,
    encoder_convs=1,
    encoder_lstm=8,
    attention=16,
    prenet=16,
    decoder=32,
    postnet_channels=16,
    postnet_layers=2,
    max_decoder_steps=30,
)
MAIN = ("frame_proj", "stop_proj")
RRS = ("frame_proj_rrs", "stop_proj_rrs")


def batch(seed=0, n=4, langs=2):
    g = torch.Generator().manual_seed(seed)
    items = []
    for k in range(n):
        frames = 10 + 3 * k
        items.append(
            Item(
                k % langs,
                f"u{k}",
                "hallo",
                torch.tensor(encode("hallo welt"[: 4 + k])),
                torch.randn(frames, 20, generator=g),
            )
        )
    return collate(items, CFG.reduction)


def model():
    torch.manual_seed(0)
    return Tacotron(CFG, len(SYMBOLS), 4, 20)


def head_grads(m):
    return {name: getattr(m, name).weight.grad for name in MAIN + RRS}


def test_shapes():
    m, b = model(), batch()
    mel, post, stops, aligns = m(b["text"], b["text_lens"], b["lang"], b["mels"])
    assert mel.shape == post.shape == b["mels"].shape
    assert stops.shape == (4, b["mels"].shape[1] // 2)
    assert aligns.shape == (4, b["mels"].shape[1] // 2, b["text"].shape[1])
    assert torch.allclose(aligns.sum(2), torch.ones(()))  # attention weights sum to one


@pytest.mark.parametrize("heads,used,unused", [("rrs", RRS, MAIN), ("main", MAIN, RRS)])
def test_gradients_reach_only_their_heads(heads, used, unused):
    m = model()
    sc = StepContext(TrainConfig(), 0.25, torch.device("cpu"))
    batch_loss(m, batch(), heads, sc).backward()
    grads = head_grads(m)
    assert all(grads[n] is not None and grads[n].abs().sum() > 0 for n in used)
    assert all(grads[n] is None for n in unused)
    assert m.encoder.embed.weight.grad.abs().sum() > 0  # the body is shared


def test_dual_step_routes_rrs_and_cbs_batches():
    m = model()
    before = {n: getattr(m, n).weight.detach().clone() for n in MAIN + RRS}
    cfg = TrainConfig(lambda_rrs=0.0, lambda_cbs=1.0, weight_decay=0.0)
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    out = dual_step(m, opt, scaler, batch(1), batch(2), StepContext(cfg, 0.25, torch.device("cpu")))
    assert np.isfinite(out["loss"]) and np.isfinite(out["loss_rrs"])
    # λ_rrs = 0: the RRS batch's loss is the only thing that could move the RRS heads
    assert all(torch.equal(before[n], getattr(m, n).weight) for n in RRS)
    assert all(not torch.equal(before[n], getattr(m, n).weight) for n in MAIN)


def test_ewc_penalty_and_gem_projection():
    m = model()
    star = {n: p.detach().clone() for n, p in m.named_parameters()}
    fisher = {n: torch.ones_like(p) for n, p in m.named_parameters()}
    pen = ewc_penalty(fisher, star, 2.0)
    assert pen(m).item() == 0.0
    with torch.no_grad():
        m.frame_proj.bias += 0.5
    assert pen(m).item() == pytest.approx(2.0 * 0.25 * m.frame_proj.bias.numel(), rel=1e-5)
    rng = np.random.default_rng(0)
    memories = rng.normal(size=(3, 50))
    g = -memories.sum(0)  # conflicts with every memory
    new = project_gem(g, memories, margin=0.0, eps=1e-9)
    assert (memories @ g < 0).all() and (memories @ new >= -1e-6).all()
    assert np.dot(new - g, new - g) < np.dot(g, g)  # the closest feasible gradient, not a reset


def test_mcd_zero_on_itself_and_agrees_with_independent_implementation():
    rng = np.random.default_rng(0)
    base = rng.normal(-40, 15, size=(60, 40))
    assert mcd_dtw(base, base) == 0.0
    ours, theirs = [], []
    for k in range(4):
        a = base + rng.normal(0, 3 + k, size=base.shape)
        b = np.repeat(base, 2, axis=0)[::3] + rng.normal(0, 4, size=(40, 40))  # another length
        ours.append(mcd_dtw(a, b))
        # the same definition through mel-cepstral-distance: its unnormalised DCT-II rows 0..11 are
        # c1..c12; the orthonormal DCT scales them by √(2/M)
        scale = np.sqrt(2 / base.shape[1])
        ca, cb = (get_MC_X_ik(x / 10 * scale, x.shape[1]) for x in (a, b))
        theirs.append(compare_mfccs(ca, cb, s=0, D=12, aligning="dtw", dtw_radius=None)[0])
    assert np.allclose(ours, theirs, rtol=0.05)
    assert mcd_dtw(base, base + 10, scale="db") == pytest.approx(
        0.0, abs=1e-9
    )  # a constant dB offset only moves c0


def test_speak_writes_non_silent_wav_of_plausible_length(tmp_path):
    recipe = TTSLifelongRecipe()
    recipe.model = CFG
    recipe.features = FeatureConfig(n_mels=20, f_max=8000)
    m = Tacotron(CFG, len(SYMBOLS), 4, 20)
    save_task(
        tmp_path / "task0.safetensors",
        m,
        Normaliser(torch.full((20,), -40.0), torch.full((20,), 10.0)),
        recipe,
        0,
        recipe.data.languages,
    )
    out = run_speak(
        tmp_path / "task0.safetensors",
        "nl",
        "goedemorgen.",
        tmp_path / "x.wav",
        torch.device("cpu"),
        0,
        griffin_lim_iters=4,
    )
    wave, rate = sf.read(out.wav)
    assert rate == 22050
    assert np.sqrt(np.mean(wave**2)) > 1e-3  # not silent
    hop = recipe.features.hop / rate
    assert 0.05 < len(wave) / rate <= (CFG.max_decoder_steps * CFG.reduction + 3) * hop + 0.1
    assert MelFeatures(recipe.features, rate).db_mel(torch.tensor(wave)).shape[1] == 20
