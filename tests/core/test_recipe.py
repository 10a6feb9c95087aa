from dataclasses import dataclass, field
from typing import Literal

import pytest

from vita_cli.core.errors import UserError
from vita_cli.core.recipe import (
    apply_overrides,
    from_dict,
    list_recipes,
    read_yaml,
    recipe_dir_of,
)
from vita_cli.schemas import load_any_recipe, schema_for


@dataclass
class Inner:
    lr: float = 0.1
    steps: int = 10


@dataclass
class Outer:
    name: str = "x"
    mode: Literal["a", "b"] = "a"
    sizes: list[int] = field(default_factory=lambda: [1, 2])
    inner: Inner = field(default_factory=Inner)
    maybe: float | None = None

    def __post_init__(self):
        if self.inner.steps <= 0:
            raise ValueError("inner.steps must be positive")


def test_nested_parse_and_override():
    data = apply_overrides({"inner": {"lr": 0.5}}, ["inner.steps=3", "sizes=[4, 5]", "maybe=1e-3", "mode=b"])
    r = from_dict(Outer, data)
    assert r.inner == Inner(lr=0.5, steps=3)
    assert r.sizes == [4, 5] and r.maybe == pytest.approx(1e-3) and r.mode == "b"


def test_unknown_key_lists_valid_keys():
    with pytest.raises(UserError) as exc:
        from_dict(Outer, {"inner": {"lrr": 1}})
    assert "inner.lrr" in exc.value.message and "lr, steps" in exc.value.hint


@pytest.mark.parametrize(
    "data,needle",
    [
        ({"inner": {"steps": "many"}}, "inner.steps"),
        ({"mode": "c"}, "mode"),
        ({"sizes": 3}, "sizes"),
        ({"name": True}, "name"),
    ],
)
def test_wrong_types_are_user_errors(data, needle):
    with pytest.raises(UserError) as exc:
        from_dict(Outer, data)
    assert needle in exc.value.message


def test_post_init_validation_becomes_user_error():
    with pytest.raises(UserError, match="inner.steps must be positive"):
        from_dict(Outer, {"inner": {"steps": 0}})


def test_bad_override_syntax():
    with pytest.raises(UserError):
        apply_overrides({}, ["novalue"])


def test_unknown_recipe_name():
    with pytest.raises(UserError) as exc:
        load_any_recipe("nope/nothing")
    assert "known recipes" in exc.value.hint


@pytest.mark.parametrize("name,path", list_recipes(), ids=[n for n, _ in list_recipes()])
def test_every_shipped_recipe_validates(name, path):
    schema = schema_for(recipe_dir_of(path))
    from_dict(schema, read_yaml(path))
    first = path.read_text().splitlines()[0]
    assert first.startswith("# vita "), f"{name}: first line must be the command that runs it"


def test_recipe_header_command_summary_and_run_time(tmp_path):
    from vita_cli.core.recipe import list_recipes, read_header

    p = tmp_path / "r.yaml"
    p.write_text(
        "# vita train -r x\n# Five epochs, e.g. for a check. More text (about 40 min on shared cores).\n"
        "# run time: 3 min on 2 idle cores\ntrain: {epochs: 5}\n"
    )
    h = read_header(p)
    assert h.command == "vita train -r x"
    assert h.summary == "Five epochs, e.g. for a check."
    assert h.run_time == "3 min on 2 idle cores"  # an explicit line wins over a phrase
    p.write_text("# vita train -r x\n# Quick (≈ 4 min). Not 0.5 s of motion.\ntrain: {}\n")
    assert read_header(p).run_time == "≈ 4 min"
    shipped = [read_header(path) for _, path in list_recipes()]
    assert all(h.command.startswith("vita ") or "vita " in h.command for h in shipped)
    assert sum(bool(h.run_time) for h in shipped) >= 30
