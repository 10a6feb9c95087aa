"""Candidate evaluations per second (BN recalibration + validation top-1 on the supernet), 1 vs N ranks.

    .venv/bin/python benchmarks/bench_search_twostream.py [--recipe search-twostream/default] [--archs 24] [--ranks 2]

The default recipe's space and clip shape, random uint8 clips of its split sizes, a fresh supernet and the
same list of sampled architectures, scored (a) in this process, (b) by 1 spawned gloo rank and (c) by N spawned
gloo ranks (each rank one thread, a strided share of the list, scores gathered). Reported: evaluations/s of
each, the speed-up of N ranks over 1 (same spawning path), and whether the N-rank scores equal 1 rank's.
On a 2-core machine shared with other jobs the speed-up is bounded by the free cores.
"""

import argparse
import json
import random

import torch

from vita_cli.core.recipe import load_recipe
from vita_cli.methods.twostream import search as E
from vita_cli.methods.twostream import space as S
from vita_cli.methods.twostream.config import TwoStreamRecipe
from vita_cli.methods.twostream.data import ClipSet, Dataset
from vita_cli.methods.twostream.ranks import score_on_ranks
from vita_cli.methods.twostream.supernet import TwoStreamNet


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--recipe", default="search-twostream/default")
    ap.add_argument("--archs", type=int, default=24)
    ap.add_argument("--ranks", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(1)
    recipe, _ = load_recipe(args.recipe, TwoStreamRecipe)
    d, classes = recipe.data, 8
    space = recipe.space.build(classes)
    g = torch.Generator().manual_seed(0)

    def clips(n):
        return ClipSet(
            torch.randint(0, 256, (n, d.frames, d.size, d.size, 3), generator=g, dtype=torch.uint8),
            torch.arange(n) % classes,
        )

    train, val = clips(d.train_per_class * classes), clips(d.val_per_class * classes)
    data = Dataset([str(i) for i in range(classes)], train, val, val, None, d.frames, d.size)
    torch.manual_seed(0)
    net = TwoStreamNet.supernet(space.largest(), space.fusion, space.attention)
    calib = E.calibration_indices(len(train), recipe.search.calib_batches, recipe.search.calib_batch_size)
    budget = int(recipe.search.budget_mmacs * 1e6)
    rng = random.Random(0)
    archs = []
    while len(archs) < args.archs:
        a = S.sample(space, space.largest(), S.variables_of("joint"), rng)
        if S.macs(a, d.frames, d.size) <= budget:
            archs.append(a)
    import time

    start = time.perf_counter()
    local = E.Scorer(net, data, torch.device("cpu"), calib).score_many(archs)
    local_s = time.perf_counter() - start
    one, one_s = score_on_ranks(net, data, space, archs, calib, 1)
    many, many_s = score_on_ranks(net, data, space, archs, calib, args.ranks)
    print(
        json.dumps(
            {
                "recipe": args.recipe,
                "candidates": len(archs),
                "evals_per_s_in_process": round(len(archs) / local_s, 2),
                "evals_per_s_1_rank": round(len(archs) / one_s, 2),
                f"evals_per_s_{args.ranks}_ranks": round(len(archs) / many_s, 2),
                f"speedup_{args.ranks}_over_1": round(one_s / many_s, 2),
                "same_scores": many == one == local,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
