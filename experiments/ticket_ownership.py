"""The lottery-ticket ownership study on Fashion-MNIST (small_cnn): sign, verify, attack, fragility, false positives.

    .venv/bin/python experiments/ticket_ownership.py --out runs/ticket-exp [--quick]

Stages write ``<out>/<stage>.json`` as they finish, so a partial run still leaves results; a stage
whose JSON exists is skipped on a re-run. One CPU thread. ``--quick`` is a seconds-long smoke run.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import torch

from vita_cli.data import DataConfig, load_data
from vita_cli.methods.imp import FileImpStore, ImpConfig, run_imp
from vita_cli.methods.ticket import (
    Evaluator,
    binomial_p_value,
    make_loaders,
    normalizer,
    qr_evidence,
    read_signature,
    run_fragility,
    sign_ticket,
    test_accuracy,
    trigger_accuracy,
    verify,
    write_signature,
)
from vita_cli.methods.ticket import attack_curve as run_attack
from vita_cli.models import build_model, load_model, save_model
from vita_cli.schemas import load_any_recipe
from vita_cli.sparsity import magnitude_prune
from vita_cli.training import TrainConfig, fit


def log(msg):
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def stage(out: Path, name: str, fn):
    path = out / f"{name}.json"
    if path.is_file():
        log(f"stage {name}: done before, skipped")
        return json.loads(path.read_text())
    start = time.time()
    log(f"stage {name} ...")
    result = fn()
    result["seconds"] = round(time.time() - start, 1)
    path.write_text(json.dumps(result, indent=2, default=str))
    log(f"stage {name}: {result['seconds']} s")
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="runs/ticket-exp")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--report", action="store_true", help="print Markdown tables of finished stages")
    ap.add_argument(
        "--extra",
        action="store_true",
        help="also: IMP to 1.56 %%, sign that extreme ticket, min_weights_per_module 3, prune curves",
    )
    args = ap.parse_args()
    if args.report:
        print(report(Path(args.out)))
        return
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    q = args.quick

    data_cfg = DataConfig(
        name="fashion-mnist",
        channels=1,
        image_size=28,
        val_size=2000,
        train_subset=1024 if q else 12000,
        test_subset=512 if q else 5000,
        augment=False,
        batch_size=128,
    )
    epochs = 1 if q else 4
    train_cfg = TrainConfig(
        epochs=epochs,
        lr=0.05,
        schedule="cosine",
        weight_decay=5e-4,
        amp=False,
        max_steps_per_epoch=4 if q else None,
        log_every=1000,
    )
    arch = {"name": "small_cnn", "num_classes": 10, "in_channels": 1, "width": 16}
    bundle = load_data(data_cfg, seed=0)
    loaders = make_loaders(bundle, data_cfg.batch_size, seed=0)
    info = {
        "name": bundle.name,
        "in_channels": 1,
        "image_size": 28,
        "num_classes": 10,
        "mean": list(bundle.mean),
        "std": list(bundle.std),
    }
    recipe, _ = load_any_recipe("ticket/default")
    recipe.data = data_cfg
    recipe.train = train_cfg
    recipe.sign = replace(recipe.sign, triggers_per_batch=10, compare_unsigned=True)
    imp_rounds = 4

    # ---- 1. owner's IMP flow (rate 0.5, rewind to epoch 1)
    def imp_stage():
        torch.manual_seed(0)
        model = build_model(arch)
        store = FileImpStore(out / "imp", arch, {"data": "fashion-mnist"})
        cfg = ImpConfig(rounds=imp_rounds, rate=0.5, rewind_epoch=1)
        res = run_imp(
            model,
            (loaders.train, loaders.val, loaders.test),
            cfg,
            "cpu",
            train_cfg=train_cfg,
            store=store,
            seed=0,
        )
        return {"rounds": res.table(), "dense_acc": res.dense_acc}

    imp = stage(out, "imp", imp_stage)
    rewind = load_model(out / "imp" / "rewind.safetensors").model.state_dict()

    def ticket_of(round_index):
        lm = load_model(out / "imp" / f"round_{round_index:02d}" / "trained.safetensors")
        return lm.model, lm.masks

    signed_round = 3  # 12.5 % of the prunable weights left

    # ---- 2. sign (QR + trigger set), compare with the unsigned ticket under the same schedule
    def sign_stage():
        model, masks = ticket_of(signed_round)
        res = sign_ticket(model, arch, masks, rewind, loaders, info, recipe, "acme-2026", "cpu")
        save_model(out / "signed.safetensors", res.model, arch, res.masks, meta={"signature": "sig.json"})
        write_signature(out / "sig.json", res.body, res.masks, res.triggers)
        e = res.embed
        return {
            "ticket_round": signed_round,
            "remaining": imp["rounds"][signed_round]["remaining"],
            "placement": [
                e.placement.layer,
                e.placement.row,
                e.placement.col,
                e.placement.polarity,
                e.placement.agreement,
            ],
            "live_before": e.live_before,
            "live_after": e.live_after,
            "switched_on": e.modules_switched_on,
            "switched_off": e.modules_switched_off,
            "changed_outside_block": e.removed_outside_block,
            **res.metrics,
        }

    stage(out, "sign", sign_stage)
    sig = read_signature(out / "sig.json")
    triggers = sig.triggers()
    norm = normalizer(sig.black_box)

    def trig(model):
        c, n = trigger_accuracy(model, triggers, norm, "cpu")
        return {"trigger_acc": 100.0 * c / n, "p_value": binomial_p_value(c, n, 0.1)}

    # ---- 3. verification of the owner's model and of models trained without the triggers
    def verify_stage():
        lm = load_model(out / "signed.safetensors")
        owner = verify(sig, lm.model.state_dict(), lm.masks, lm.model, None, "cpu")
        model, masks = ticket_of(signed_round)
        unsigned = verify(sig, model.state_dict(), masks, model, None, "cpu")
        strip = lambda v: [{k: e[k] for k in e if k != "modules"} for e in v["evidence"]]  # noqa: E731
        return {
            "owner": {"verified": owner["verified"], "evidence": strip(owner)},
            "unsigned_ticket": {"verified": unsigned["verified"], "evidence": strip(unsigned)},
        }

    stage(out, "verify", verify_stage)

    # ---- 4. independently found tickets (other seeds, short training): never verified
    def independent_stage():
        rows = []
        sparsity = 1 - imp["rounds"][signed_round]["remaining"]
        n = 3 if q else 20
        for seed in range(1, n + 1):
            torch.manual_seed(1000 + seed)
            model = build_model(arch)
            own = make_loaders(bundle, data_cfg.batch_size, seed=seed)
            fit(
                model,
                own.train,
                None,
                replace(train_cfg, epochs=1, max_steps_per_epoch=4 if q else 40),
                "cpu",
            )
            masks = magnitude_prune(model, sparsity)
            ev = qr_evidence(masks, sig.white_box)
            v = verify(sig, model.state_dict(), masks, model, None, "cpu")
            rows.append(
                {
                    "seed": seed,
                    "verified": v["verified"],
                    "qr_decoded": ev.details["decoded"],
                    "bit_error_rate": ev.details["bit_error_rate"],
                    "test_acc": test_accuracy(model, loaders, "cpu"),
                    **trig(model),
                    "jaccard": next(e["jaccard"] for e in v["evidence"] if e["check"].startswith("mask")),
                }
            )
            log(
                f"independent seed {seed}: BER {rows[-1]['bit_error_rate']:.3f} trig {rows[-1]['trigger_acc']:.0f}%"
            )
        return {"tickets": rows, "false_positives": sum(r["verified"] for r in rows)}

    stage(out, "independent", independent_stage)

    # ---- 5. attacks on the signed ticket
    lm = load_model(out / "signed.safetensors")
    evaluator = Evaluator(sig.white_box, sig.owner_masks(), triggers, norm, loaders, "cpu")
    strengths = {
        "prune": [0.0, 0.2, 0.4, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98],
        "random-prune": [0.0, 0.2, 0.4, 0.6, 0.8, 0.9],
        "add-connections": [0.0, 0.0005, 0.001, 0.005, 0.01, 0.05],
        "finetune": [0, 1, 2],
        "forge": [0, 1],
    }
    for name, values in strengths.items():
        stage(
            out,
            f"attack-{name}",
            lambda name=name, values=values: run_attack(
                name,
                values[:3] if q else values,
                lm.model,
                lm.masks,
                evaluator,
                recipe,
                loaders,
                "cpu",
                white_box=sig.white_box,
            ),
        )

    # ---- 6. Scheme 1: path removal at moderate vs extreme sparsity
    frag_cfg = replace(train_cfg, epochs=1 if q else 3)
    paths = [0, 10] if q else [0, 150]
    for label, rnd in (("moderate", 1), ("extreme", imp_rounds)):

        def frag(rnd=rnd):
            model, masks = ticket_of(rnd)
            res = run_fragility(model, masks, rewind, paths, loaders, frag_cfg, "cpu")
            res["round"] = rnd
            return res

        stage(out, f"fragility-{label}", frag)
    if args.extra:
        extra_stages(out, q, arch, loaders, info, recipe, train_cfg, frag_cfg, paths, imp_rounds + 2)
    log("all stages done")


def extra_stages(out, q, arch, loaders, info, recipe, train_cfg, frag_cfg, paths, rounds):
    """Sparser tickets and fuller "on" modules: how long does the QR survive magnitude pruning?"""

    def imp_more():
        lm = load_model(out / "imp" / "round_00" / "trained.safetensors")
        store = FileImpStore(out / "imp", arch, {"data": "fashion-mnist"})
        res = run_imp(
            lm.model,
            (loaders.train, loaders.val, loaders.test),
            ImpConfig(rounds=rounds, rate=0.5, rewind_epoch=1),
            "cpu",
            train_cfg=train_cfg,
            store=store,
            resume=True,
            seed=0,
        )
        return {"rounds": res.table(), "dense_acc": res.dense_acc}

    def add_paper_std():
        sig = read_signature(out / "sig.json")
        lm = load_model(out / "signed.safetensors")
        ev = Evaluator(
            sig.white_box, sig.owner_masks(), sig.triggers(), normalizer(sig.black_box), loaders, "cpu"
        )
        rec = replace(recipe, attack=replace(recipe.attack, add_std=0.1))  # the paper's N(0, 0.1²)
        return run_attack(
            "add-connections",
            [0.0, 0.001, 0.005, 0.01, 0.05],
            lm.model,
            lm.masks,
            ev,
            rec,
            loaders,
            "cpu",
            white_box=sig.white_box,
        )

    stage(out, "attack-add-connections-std0.1", add_paper_std)
    stage(out, "imp-extended", imp_more)
    rewind = load_model(out / "imp" / "rewind.safetensors").model.state_dict()
    prune_strengths = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8] if not q else [0.0, 0.5]
    for rnd, m, anchor in ((3, 3, 0.0), (rounds, 1, 0.0), (rounds, 3, 0.0), (3, 1, 10.0)):
        tag = f"r{rnd}-m{m}" + (f"-anchor{anchor:g}" if anchor else "")

        def sign_variant(rnd=rnd, m=m, tag=tag, anchor=anchor):
            lm = load_model(out / "imp" / f"round_{rnd:02d}" / "trained.safetensors")
            sign_cfg = replace(
                recipe.sign,
                min_weights_per_module=m,
                anchor_strength=anchor,
                compare_unsigned=m == 1 and not anchor,
            )
            rec = replace(recipe, sign=sign_cfg)
            res = sign_ticket(lm.model, arch, lm.masks, rewind, loaders, info, rec, "acme-2026", "cpu")
            save_model(out / f"signed-{tag}.safetensors", res.model, arch, res.masks)
            write_signature(out / f"sig-{tag}.json", res.body, res.masks, res.triggers)
            e = res.embed
            return {
                "round": rnd,
                "min_weights": m,
                "anchor_strength": anchor,
                "placement": [e.placement.layer, e.placement.row, e.placement.col],
                "live_before": e.live_before,
                "live_after": e.live_after,
                "changed_outside_block": e.removed_outside_block,
                **res.metrics,
            }

        stage(out, f"sign-{tag}", sign_variant)

        def attack_variant(tag=tag):
            sig = read_signature(out / f"sig-{tag}.json")
            lm = load_model(out / f"signed-{tag}.safetensors")
            ev = Evaluator(
                sig.white_box, sig.owner_masks(), sig.triggers(), normalizer(sig.black_box), loaders, "cpu"
            )
            return run_attack(
                "prune",
                prune_strengths,
                lm.model,
                lm.masks,
                ev,
                recipe,
                loaders,
                "cpu",
                white_box=sig.white_box,
            )

        stage(out, f"attack-prune-{tag}", attack_variant)

    def frag_extreme():
        lm = load_model(out / "imp" / f"round_{rounds:02d}" / "trained.safetensors")
        res = run_fragility(lm.model, lm.masks, rewind, paths, loaders, frag_cfg, "cpu")
        res["round"] = rounds
        return res

    stage(out, f"fragility-round{rounds}", frag_extreme)

    def add_with_floor():
        sig = read_signature(out / "sig.json")
        lm = load_model(out / "signed.safetensors")
        ev = Evaluator(
            sig.white_box,
            sig.owner_masks(),
            sig.triggers(),
            normalizer(sig.black_box),
            loaders,
            "cpu",
            kernel_floor=0.05,
        )
        return run_attack(
            "add-connections",
            [0.0, 0.001, 0.005, 0.01, 0.05, 0.1],
            lm.model,
            lm.masks,
            ev,
            recipe,
            loaders,
            "cpu",
            white_box=sig.white_box,
        )

    stage(out, "attack-add-connections-floor0.05", add_with_floor)


def report(out: Path) -> str:
    """Markdown tables of the finished stages."""

    def load(name):
        p = out / f"{name}.json"
        return json.loads(p.read_text()) if p.is_file() else None

    lines = []
    imp = load("imp-extended") or load("imp")
    if imp:
        lines += ["| IMP round | weights left | test acc % |", "|---|---|---|"]
        lines += [
            f"| {r['round']} | {100 * r['remaining']:.2f}% | {r['test_acc']:.2f} |" for r in imp["rounds"]
        ]
        lines.append("")
    sign = load("sign")
    if sign:
        lines += ["| sign | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in sign.items()]
        lines.append("")
    ver = load("verify")
    if ver:
        lines += ["| model | check | value | passed | decides |", "|---|---|---|---|---|"]
        for who, v in ver.items():
            if not isinstance(v, dict):
                continue
            for e in v["evidence"]:
                ber = f" (BER {e['bit_error_rate']:.3f})" if "bit_error_rate" in e else ""
                lines.append(
                    f"| {who} | {e['check']} | {e['value']}{ber} | {e['passed']} | {e['decisive']} |"
                )
            lines.append(f"| {who} | **verdict** | {'verified' if v['verified'] else 'not verified'} | | |")
        lines.append("")
    ind = load("independent")
    if ind:
        lines += [
            "| seed | test acc % | QR decoded | data BER | Jaccard | trigger acc % | p-value | verified |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in ind["tickets"]:
            lines.append(
                f"| {r['seed']} | {r['test_acc']:.1f} | {r['qr_decoded']} | {r['bit_error_rate']:.3f} | "
                f"{r['jaccard']:.3f} | {r['trigger_acc']:.0f} | {r['p_value']:.2g} | {r['verified']} |"
            )
        bers = [r["bit_error_rate"] for r in ind["tickets"]]
        lines.append(
            f"\nfalse positives: {ind['false_positives']}/{len(bers)}; data BER min {min(bers):.3f}, "
            f"mean {sum(bers) / len(bers):.3f}, max {max(bers):.3f}\n"
        )
    for f in sorted(out.glob("sign-r*.json")):
        v = json.loads(f.read_text())
        keys = [
            "round",
            "min_weights",
            "placement",
            "live_before",
            "live_after",
            "changed_outside_block",
            "unsigned_test_acc",
            "signed_test_acc",
            "signed_trigger_acc",
            "qr_decoded",
        ]
        lines += [f"**{f.stem}**: " + ", ".join(f"{k} = {v[k]}" for k in keys if k in v), ""]
    order = [
        "prune",
        "random-prune",
        "add-connections",
        "add-connections-std0.1",
        "add-connections-floor0.05",
        "finetune",
        "forge",
    ]
    order += sorted(f.stem[len("attack-") :] for f in out.glob("attack-prune-r*.json"))
    for full in order:
        a = load(f"attack-{full}")
        if not a:
            continue
        name = a["attack"]
        lines += [
            f"**{full}** (breaks at: {a['summary']})",
            "",
            "| strength | test acc % | live weights | QR decodes | data BER | Jaccard | trigger acc % |"
            + (" forged QR decodes | accuracy cost |" if name == "forge" else ""),
            "|---|---|---|---|---|---|---|" + ("---|---|" if name == "forge" else ""),
        ]
        for p in a["points"]:
            row = (
                f"| {p['strength']:g} | {p['test_acc']:.2f} | {p['live_weights']} | {p['qr_decodable']} | "
                f"{p['bit_error_rate']:.3f} | {p['jaccard']:.3f} | {p['trigger_acc']:.0f} |"
            )
            if name == "forge":
                row += f" {p['forged_decodes']} | {p['accuracy_cost']:.2f} |"
            lines.append(row)
        lines.append("")
    for label in ("moderate", "extreme", "round6"):
        f = load(f"fragility-{label}")
        if not f:
            continue
        lines += [
            f"**{label}** ticket (IMP round {f['round']}, {100 * f['remaining']:.2f}% weights, "
            f"{f['live_kernels']} live kernels)",
            "",
            "| paths | kernels removed | acc after paths % | acc after random kernels % | drop paths | drop random |",
            "|---|---|---|---|---|---|",
        ]
        for p in f["points"]:
            lines.append(
                f"| {p['strength']} | {p['kernels_removed']} | {p['test_acc_paths']:.2f} | "
                f"{p['test_acc_random']:.2f} | {p.get('drop_paths', 0):.2f} | {p.get('drop_random', 0):.2f} |"
            )
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
