"""tts-lifelong: cost of a dual-sampler step vs a random-sampler step, training throughput, CPU
synthesis real-time factor — measured side by side in one run on the default recipe's model.

    .venv/bin/python benchmarks/bench_tts.py [--steps 6] [--threads 1]

Builds a small espeak-ng corpus (12 sentences per language) in a temporary folder. The dual step
runs an RRS batch and a CBS batch (two forward/backward passes, one optimiser step), so ≈ 2× a
random-sampler step is its floor; the check is ≤ 2.1×.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from vita_cli.core.context import RunContext
from vita_cli.core.recipe import load_recipe, recipes_root
from vita_cli.methods.tts_lifelong import pipeline
from vita_cli.methods.tts_lifelong.config import TTSLifelongRecipe
from vita_cli.methods.tts_lifelong.continual import StepContext, dual_step, plain_step
from vita_cli.methods.tts_lifelong.samplers import balanced_batches, random_batches


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=6, help="timed steps per sampler")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        recipe, _ = load_recipe(
            recipes_root() / "tts-lifelong" / "default.yaml",
            TTSLifelongRecipe,
            [
                f"data.root={Path(tmp) / 'corpus'}",
                "data.n_train={de: 12, nl: 12, zh: 12, ja: 12}",
                "data.n_val=0",
                "data.n_test=2",
            ],
        )
        _, data = pipeline.prepare(recipe, RunContext(out=None))
    torch.manual_seed(0)
    model = pipeline.build_model(recipe)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    sc = StepContext(recipe.train, recipe.train.guided_sigma, torch.device("cpu"))
    pool = [(lang, i) for lang in data.languages for i in range(len(data.split(lang, "train")))]
    bs = recipe.train.batch_size
    gen = torch.Generator().manual_seed(0)
    rrs = [pipeline._collate(data, b, model, sc.device) for b in random_batches(pool, bs, gen)]
    cbs = [pipeline._collate(data, b, model, sc.device) for b in balanced_batches(pool, bs, len(rrs), gen)]
    plain_step(model, opt, scaler, rrs[0], sc)  # warm-up
    dual_step(model, opt, scaler, rrs[0], cbs[0], sc)
    t_random, t_dual = [], []
    for k in range(args.steps):  # interleaved, so both see the same machine load
        a, b = rrs[k % len(rrs)], cbs[k % len(cbs)]
        start = time.perf_counter()
        plain_step(model, opt, scaler, a, sc)
        plain_step(model, opt, scaler, b, sc)
        t_random.append((time.perf_counter() - start) / 2)
        start = time.perf_counter()
        dual_step(model, opt, scaler, a, b, sc)
        t_dual.append(time.perf_counter() - start)
    random_s, dual_s = statistics.median(t_random), statistics.median(t_dual)
    model.eval()
    items = [data.split(lang, "test")[0] for lang in data.languages]
    start = time.perf_counter()
    mels = pipeline.synthesise(model, items[:1], data.normaliser, sc.device, 40)
    model_s = time.perf_counter() - start
    start = time.perf_counter()
    wave = data.features.griffin_lim(mels[0], recipe.eval.griffin_lim_iters)
    vocoder_s = time.perf_counter() - start
    audio_s = len(wave) / recipe.data.sample_rate
    print(
        f"model: {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters, batch {bs}, "
        f"{args.threads} thread(s)"
    )
    print(
        f"random-sampler step {random_s:.3f} s | dual-sampler step {dual_s:.3f} s | "
        f"ratio {dual_s / random_s:.2f}x (limit 2.1x): {'ok' if dual_s / random_s <= 2.1 else 'OVER'}"
    )
    print(
        f"training throughput: random {bs / random_s:.1f} utt/s, dual {2 * bs / dual_s:.1f} utt/s "
        f"(both batches), {bs / dual_s:.1f} utt/s per inference-head batch"
    )
    print(
        f"synthesis: {audio_s:.2f} s of audio, Tacotron {model_s:.3f} s + Griffin-Lim {vocoder_s:.3f} s -> "
        f"real-time factor {(model_s + vocoder_s) / audio_s:.3f} (Tacotron alone {model_s / audio_s:.3f})"
    )


if __name__ == "__main__":
    main()
