"""``vita demo`` section for GDP: a tiny CNN pruned to half its FLOPs (exposes only ``DEMO``)."""

from __future__ import annotations

from vita_cli.core.recipe import load_recipe
from vita_cli.methods import gdp, imp


def _demo(invocation, folder):
    recipe, _ = load_recipe("prune/gdp-tiny", imp.PruneRecipe, ["gdp.baselines=[uniform]"])
    ctx = invocation.context(out=folder)
    result = gdp.run(recipe, ctx)
    c = result.checks
    rows = [f"| dense | 1.000 | {result.dense['test_acc']:.1f}% |"] + [
        f"| {a['arm']} | {a['flops_ratio']:.3f} | {a['test_acc']:.1f}% |" for a in result.arms
    ]
    name = folder.name
    return "\n".join(
        [
            "`vita prune --method gdp --recipe prune/gdp-tiny gdp.baselines=[uniform]` (a width-8 CNN, 512 "
            "Fashion-MNIST images at 16×16: numbers are a smoke test, not a result).",
            "",
            "| network | FLOPs kept | test acc |",
            "|---|---|---|",
            *rows,
            "",
            f"Folding check: max |Δlogits| between the gated and the compact network = {c['max_logit_diff']:.1e}; "
            f"hook-counted MACs {c['macs_counted']:,} = bilinear formula {c['macs_formula']:,}.",
            "",
            f"![gate values per epoch]({name}/gate_polarization.png)",
            f"![accuracy vs FLOPs]({name}/accuracy_vs_flops.png)",
        ]
    )


DEMO = ("GDP channel pruning (gates with differentiable polarization)", _demo)
