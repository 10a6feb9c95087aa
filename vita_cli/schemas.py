"""The recipe schemas: one typed dataclass per ``recipes/<dir>/``, in one table that can be grepped.

A new method adds its recipe directory here. Core code never imports this module (core knows no
method); the CLI, the demo and the studies do.
"""

from __future__ import annotations

from pathlib import Path

from vita_cli.core.errors import UserError
from vita_cli.core.recipe import find_recipe, load_recipe, recipe_dir_of
from vita_cli.methods.augmax.config import AugMaxRecipe
from vita_cli.methods.dsee.config import DseeRecipe
from vita_cli.methods.font_graph.config import CompleteFontRecipe
from vita_cli.methods.hyperlista.config import HyperlistaRecipe
from vita_cli.methods.imp.config import PruneRecipe
from vita_cli.methods.predict_pose.config import PosePredRecipe
from vita_cli.methods.ticket.config import TicketRecipe
from vita_cli.methods.ticket_flow.config import TicketFlowRecipe
from vita_cli.methods.tts_lifelong.config import TTSLifelongRecipe
from vita_cli.methods.twostream.config import TwoStreamRecipe
from vita_cli.training.config import TrainRecipe

RECIPE_SCHEMAS: dict[str, type] = {
    "train": TrainRecipe,
    "prune": PruneRecipe,
    "ticket": TicketRecipe,
    "augmax": AugMaxRecipe,
    "hyperlista": HyperlistaRecipe,
    "complete-font": CompleteFontRecipe,
    "tts-lifelong": TTSLifelongRecipe,
    "dsee": DseeRecipe,
    "ticket-flow": TicketFlowRecipe,
    "predict-pose": PosePredRecipe,
    "search-twostream": TwoStreamRecipe,
}


def schema_for(recipe_dir: str) -> type:
    if recipe_dir not in RECIPE_SCHEMAS:
        raise UserError(
            f"no recipe schema for directory {recipe_dir!r}",
            f"recipes live under one of: {', '.join(sorted(RECIPE_SCHEMAS))}",
        )
    return RECIPE_SCHEMAS[recipe_dir]


def load_any_recipe(name_or_path: str | Path, overrides: list[str] | None = None):
    """A recipe whose schema follows from its directory. Returns (recipe object, source path)."""
    path = find_recipe(name_or_path)
    return load_recipe(path, schema_for(recipe_dir_of(path)), overrides)
