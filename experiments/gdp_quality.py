"""GDP vs L1-norm / network-slimming / uniform-width baselines at equal FLOPs (a study over seeds and ρ).

    .venv/bin/python experiments/gdp_quality.py --recipe prune/gdp-quality-full --seeds 0 1 --rhos 0.5 0.3 \
        --out runs/gdp-quality

Per seed, the dense model is trained once (``gdp.pretrain_epochs``) and every arm starts from a copy of
it, with the same data subset and schedule as ``vita prune --method gdp`` uses (the recipe); the
uniform-width arm trains from scratch for pretrain + GDP + fine-tune epochs, and so does the optional
``gdp-scratch`` arm: GDP applied while training from scratch (gates from the first step, no dense
model), then fold and train on, with the same total budget as uniform width; and the diagnostic
``gdp-arch`` arm: the network GDP cut from the dense model, re-initialised and trained from scratch with
uniform width's budget (GDP's channel allocation against uniform width's, weights aside), and
``l1-early``: ``gdp-scratch`` without gates (train full width a few epochs, cut by L1 norm, train on). Rows are appended to
``<out>/rows.jsonl`` as arms finish (test accuracy, and validation accuracy: the number to choose GDP
settings on), so an interrupted run still reports what it finished; the summary
table (mean over seeds) is printed and written to ``<out>/summary.md``. Long on a CPU. Uses only
the public APIs of ``vita_cli.methods.gdp`` and ``vita_cli.methods.imp``.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import statistics
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from vita_cli.core.recipe import dump_yaml, load_recipe, to_dict
from vita_cli.core.seed import seed_everything
from vita_cli.methods import gdp
from vita_cli.methods.imp import PruneRecipe
from vita_cli.models import build_model
from vita_cli.training import evaluate
from vita_cli.training.setup import arch_spec, build_loaders


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="prune/gdp-quality-full")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--rhos", type=float, nargs="+", default=[0.5, 0.3])
    parser.add_argument("--arms", nargs="*", default=["gdp", "l1", "slimming", "uniform"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument(
        "--dense-save", help="write the trained dense model here ({seed} is replaced); then run the arms"
    )
    parser.add_argument(
        "--dense-load",
        help="start every arm from this dense model ({seed} is replaced) instead of training one",
    )
    parser.add_argument("--out", default="runs/gdp-quality")
    parser.add_argument(
        "--scratch-warmup",
        type=int,
        default=0,
        help="gdp-scratch: epochs of plain training before the gates switch on (inside the same budget)",
    )
    parser.add_argument("--summarize", help="only print the summary table of this rows.jsonl")
    parser.add_argument("--plot", help="with --summarize: also draw test accuracy vs FLOPs kept to this PNG")
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args(argv)
    if args.summarize:
        rows = [json.loads(line) for line in Path(args.summarize).read_text().splitlines()]
        print(summarize(rows))
        if args.plot:
            points = [
                {"arm": r["arm"], "flops_ratio": r["flops_ratio"], "accuracy": r["test_acc"]} for r in rows
            ]
            print(f"figure: {gdp.plot_accuracy_vs_flops(points, args.plot)}")
        return
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows_path = out / "rows.jsonl"
    rec, _ = load_recipe(args.recipe, PruneRecipe, args.overrides)
    base_cfg = gdp.gdp_config(rec)
    # every GDP setting (defaults included) beside the rows, so each result names its variant
    resolved = {**to_dict(rec), "gdp": to_dict(base_cfg), "benchmark_args": vars(args)}
    dump_yaml(resolved, out / "recipe.yaml")
    device = torch.device(args.device)
    for seed in args.seeds:
        seed_everything(seed)
        loaders = build_loaders(rec.data, seed=seed)
        spec = arch_spec(rec.model, loaders.bundle)
        dense = build_model(spec).to(device)
        if args.arms and set(args.arms) <= set(FROM_SCRATCH):
            pass  # these arms train from scratch: the dense model only gives the architecture
        elif args.dense_load:
            # Several processes can share one dense model per seed (the arms run in parallel on a GPU).
            dense.load_state_dict(load_file(args.dense_load.format(seed=seed), device=str(device)))
        else:
            gdp.train_plain(dense, loaders.train, loaders.val, rec.train, base_cfg.pretrain_epochs, device)
            dense_acc = evaluate(dense, loaders.test, device).accuracy
            _append(
                rows_path,
                {"seed": seed, "rho": 1.0, "arm": "dense", "test_acc": dense_acc, "flops_ratio": 1.0},
            )
            if args.dense_save:
                state = {k: v.detach().contiguous() for k, v in dense.state_dict().items()}
                save_file(state, args.dense_save.format(seed=seed))
        shape = (loaders.bundle.in_channels, loaders.bundle.image_size, loaders.bundle.image_size)
        for rho in args.rhos:
            cfg = dataclasses.replace(base_cfg, flops_target=rho)
            for arm_name in args.arms:
                seed_everything(seed)
                model = build_model(spec).to(device) if arm_name in FROM_SCRATCH else copy.deepcopy(dense)
                graph = gdp.build_channel_graph(model, shape)
                if arm_name == "gdp-arch":
                    arm, extra = _gdp_architecture_from_scratch(model, graph, loaders, cfg, rec.train, device)
                elif arm_name == "l1-early":
                    arm, extra = _l1_after_early_training(model, graph, loaders, cfg, rec.train, device), {}
                elif arm_name in ("gdp", "gdp-scratch"):
                    budget = cfg.epochs + cfg.finetune_epochs
                    if arm_name == "gdp-scratch":
                        budget += cfg.pretrain_epochs
                        if args.scratch_warmup:
                            # plain training before the gates (channel importance settles early in training)
                            gdp.train_plain(
                                model, loaders.train, loaders.val, rec.train, args.scratch_warmup, device
                            )
                            budget -= args.scratch_warmup
                    arm, phase, _, checks = gdp.run_gdp_arm(
                        model, graph, loaders, cfg, rec.train, device, budget=budget
                    )
                    extra = {
                        k: checks[k]
                        for k in (
                            "max_logit_diff",
                            "macs_match",
                            "mid_gates_fraction",
                            "forced",
                            "epochs_run",
                            "dead_blocks",
                            "test_acc_compact",
                        )
                    }
                    extra["phase"] = [
                        {
                            k: round(h[k], 4)
                            for k in ("hard_flops_ratio", "lam", "eps", "mid_gates", "val_acc")
                            if k in h
                        }
                        for h in phase.history
                    ]
                    torch.save(torch.stack(phase.snapshots), out / f"gates_{arm_name}_seed{seed}_rho{rho}.pt")
                else:
                    arm = gdp.run_baseline(
                        arm_name,
                        model,
                        graph,
                        loaders,
                        cfg,
                        rec.train,
                        device,
                        scratch_epochs=cfg.pretrain_epochs,
                    )
                    extra = {}
                row = {
                    "seed": seed,
                    "rho": rho,
                    "arm": arm_name,
                    "test_acc": arm.test_acc,
                    "val_acc": arm.val_acc,
                    "flops_ratio": arm.flops_ratio,
                    "params": arm.params,
                    "epochs": arm.epochs,
                    "test_acc_before_finetune": arm.test_acc_before_finetune,
                    **extra,
                }
                if arm_name == "gdp-scratch" and args.scratch_warmup:
                    row["arm"] = f"gdp-scratch-w{args.scratch_warmup}"
                    row["epochs"] += args.scratch_warmup
                _append(rows_path, row)
                print(json.dumps(row), flush=True)
    if args.dense_save and not args.arms:
        return
    summary = summarize([json.loads(line) for line in rows_path.read_text().splitlines()])
    (out / "summary.md").write_text(summary)
    print(summary)


FROM_SCRATCH = ("uniform", "gdp-scratch", "l1-early")
EARLY_EPOCHS = 5  # l1-early: plain epochs before the cut, about as long as gdp-scratch's gate phase


def _l1_after_early_training(model, graph, loaders, cfg, train_cfg, device):
    """``l1-early``: the control for ``gdp-scratch`` without gates. The full-width network trains from
    scratch for ``EARLY_EPOCHS`` at the gate phase's constant lr, is cut by L1 norm to ρ, then trains for
    the rest of uniform width's budget: what a plain early cut gives, so the gate phase's own effect on
    the weights it hands over can be told apart from "pruned early in training"."""
    early = dataclasses.replace(train_cfg, lr=cfg.weight_lr or train_cfg.lr, schedule="constant")
    gdp.train_plain(model, loaders.train, loaders.val, early, EARLY_EPOCHS, device)
    on = gdp.per_space_ratio_masks(
        graph, gdp.l1_scores(model, graph), cfg.flops_target * gdp.dense_macs(graph)
    )
    compact, manifest, plan = gdp.compact_arm(model, graph, on, "l1-early")
    before = evaluate(compact, loaders.test, device).accuracy
    epochs = cfg.pretrain_epochs + cfg.epochs + cfg.finetune_epochs
    gdp.train_plain(compact, loaders.train, loaders.val, train_cfg, epochs - EARLY_EPOCHS, device)
    macs = gdp.hard_macs(graph, plan)
    return gdp.Arm(
        "l1-early",
        compact,
        manifest,
        macs / gdp.dense_macs(graph),
        macs,
        gdp.param_count(compact),
        evaluate(compact, loaders.test, device).accuracy,
        before,
        epochs,
        val_acc=evaluate(compact, loaders.val, device).accuracy,
    )


def _gdp_architecture_from_scratch(model, graph, loaders, cfg, train_cfg, device):
    """``gdp-arch``: GDP as an architecture search only. The gate phase runs on the dense model, then the
    compact network GDP cut is re-initialised and trained from scratch with uniform width's budget: is the
    channel allocation GDP chose better than a uniform one, apart from how the weights got there?"""
    arm, _, _, checks = gdp.run_gdp_arm(model, graph, loaders, cfg, train_cfg, device, budget=0)
    gdp.reinitialize(arm.model)
    epochs = cfg.pretrain_epochs + cfg.epochs + cfg.finetune_epochs
    gdp.train_plain(arm.model, loaders.train, loaders.val, train_cfg, epochs, device)
    arm = dataclasses.replace(
        arm,
        test_acc=evaluate(arm.model, loaders.test, device).accuracy,
        val_acc=evaluate(arm.model, loaders.val, device).accuracy,
        test_acc_before_finetune=None,
        epochs=epochs,
    )
    return arm, {"gate_epochs": checks["epochs_run"]}


def _append(path: Path, row: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")


def summarize(rows: list[dict]) -> str:
    dense = [r["test_acc"] for r in rows if r["arm"] == "dense"]
    head = f"dense test accuracy: {statistics.mean(dense):.2f}% (seeds: {len(dense)})" if dense else ""
    lines = [
        head,
        "",
        "| ρ | arm | FLOPs kept | val acc (mean) | test acc (mean) | per seed |",
        "|---|---|---|---|---|---|",
    ]
    for rho in sorted({r["rho"] for r in rows if r["arm"] != "dense"}, reverse=True):
        arms = ["gdp", "gdp-scratch", "gdp-arch", "l1-early", "l1", "slimming", "uniform"]
        arms += sorted({r["arm"] for r in rows} - set(arms) - {"dense"})
        for arm in arms:
            sel = [r for r in rows if r["rho"] == rho and r["arm"] == arm]
            if not sel:
                continue
            accs = [r["test_acc"] for r in sel]
            vals = [r["val_acc"] for r in sel if r.get("val_acc") is not None]
            val = f"{statistics.mean(vals):.2f}%" if len(vals) == len(sel) else "—"
            lines.append(
                f"| {rho} | {arm} | {statistics.mean(r['flops_ratio'] for r in sel):.3f} | {val} | "
                f"{statistics.mean(accs):.2f}% | {', '.join(f'{a:.2f}' for a in accs)} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
