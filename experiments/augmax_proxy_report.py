"""Summarise a folder of ``augmax-train`` + ``eval-robust`` runs as a Markdown table (mean ± spread over seeds).

Expected layout: ``ROOT/seed<S>/<arm>/results.json`` (from augmax-train) and, next to it, one or more
``robust-<constants>.json`` / ``robust.json`` (from eval-robust).

    .venv/bin/python experiments/augmax_proxy_report.py runs/augmax-proxy
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ARM_ORDER = ["standard", "augmix", "augmax-bn", "augmax-dubn", "augmax-dubin"]


def collect(root: Path) -> dict:
    """{eval set: {arm: {seed: robust result}}} plus the training results."""
    table: dict = defaultdict(lambda: defaultdict(dict))
    for robust in sorted(root.glob("seed*/*/robust*.json")):
        seed, arm = robust.parent.parent.name, robust.parent.name
        key = robust.stem.replace("robust", "").strip("-") or "default"
        data = json.loads(robust.read_text())
        train = robust.parent / "results.json"
        if train.is_file():
            data["train"] = json.loads(train.read_text())
        table[key][arm][seed] = data
    return table


def _fmt(values: list[float]) -> str:
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{np.mean(values):.2f} ± {np.std(values):.2f}"


def markdown(root: Path) -> str:
    table = collect(root)
    out = []
    for key, arms in table.items():
        out.append(f"### corruption set: {key}\n")
        out.append(
            "| arm | seeds | clean acc, full test set (%) | clean acc, corrupted subset (%) "
            "| mean corruption acc (%) | mCE vs standard | per seed (clean / corr.) |"
        )
        out.append("|---|---|---|---|---|---|---|")
        for arm in sorted(arms, key=lambda a: ARM_ORDER.index(a) if a in ARM_ORDER else 99):
            runs = arms[arm]
            clean = [r["clean_acc"] for r in runs.values()]
            full = [r["train"]["test_acc"] for r in runs.values() if "train" in r]
            corr = [r["mean_corruption_acc"] for r in runs.values()]
            mce = [r["mce"] for r in runs.values() if "mce" in r]
            per_seed = ", ".join(
                f"{s}: {r['clean_acc']:.1f} / {r['mean_corruption_acc']:.1f}" for s, r in sorted(runs.items())
            )
            out.append(
                f"| {arm} | {len(runs)} | {_fmt(full)} | {_fmt(clean)} | {_fmt(corr)} | {_fmt(mce)} | {per_seed} |"
            )
        out.append("")
    return "\n".join(out)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    print(markdown(Path(argv[0] if argv else "runs/augmax-proxy")))


if __name__ == "__main__":
    main()
