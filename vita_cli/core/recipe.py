"""Recipes: YAML files parsed into typed dataclasses.

A recipe lives at ``recipes/<verb>/<name>.yaml`` and is addressed by ``<verb>/<name>`` or by a path.
``key.sub=value`` overrides are applied on top (values parsed as YAML). Unknown keys and wrong types
are user errors that list the valid keys. Each recipe directory has one schema (a dataclass); the
table of schemas is ``vita_cli.schemas.RECIPE_SCHEMAS`` (core knows no method).
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import yaml

from vita_cli.core.errors import UserError, require_regular_file

# ---------------------------------------------------------------- locating recipe files


def recipes_root() -> Path:
    """The shipped ``recipes/`` directory (next to the package in a checkout / editable install)."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[2] / "recipes", here.parents[1] / "recipes"):
        if candidate.is_dir():
            return candidate
    raise UserError(
        "cannot find the recipes directory", "install vita from its source tree (pip install -e .)"
    )


def list_recipes() -> list[tuple[str, Path]]:
    root = recipes_root()
    return sorted((f"{p.parent.name}/{p.stem}", p) for p in root.glob("*/*.yaml"))


# a run time stated in a recipe header: an explicit "run time: ..." line, else a phrase such as
# "≈ 40 min", "~10-30 min", "about 2 hours" or "(seconds)"
_RUN_TIME_LINE = re.compile(r"^run time:\s*(.+)$", re.IGNORECASE)
_RUN_TIME = re.compile(
    r"(?:[≲≈~]\s*|about\s+|under\s+)?\d+(?:\.\d+)?(?:\s*[-–]\s*\d+)?\s*(?:min|minutes|h|hours)\b"
    r"|\bseconds\b|\bminutes\b",
    re.IGNORECASE,
)


@dataclasses.dataclass
class RecipeHeader:
    """What a recipe's leading comment says: the command that runs it, what it is for, how long it runs."""

    command: str
    summary: str
    run_time: str


def read_header(path: Path) -> RecipeHeader:
    comments = []
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        comments.append(line.lstrip("# ").strip())
    command = comments[0] if comments else ""
    stated = [m.group(1) for m in map(_RUN_TIME_LINE.match, comments) if m]
    text = " ".join(c for c in comments[1:] if not _RUN_TIME_LINE.match(c))
    # the first sentence: up to a full stop followed by a space (not inside "e.g." or a number)
    end = re.search(r"(?<!e\.g)(?<!i\.e)(?<!\d)\.(\s|$)", text)
    summary = text[: end.start() + 1] if end else text
    timing = _RUN_TIME.search(text)
    run_time = stated[0] if stated else timing.group(0).strip() if timing else ""
    return RecipeHeader(command, summary.strip(), run_time)


def find_recipe(name_or_path: str | Path) -> Path:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml"):
        if not p.is_file():
            raise UserError(
                f"recipe file not found: {p}", "check the path, or use a name from `vita recipes list`"
            )
        return p
    candidate = recipes_root() / f"{name_or_path}.yaml"
    if candidate.is_file():
        return candidate
    names = [n for n, _ in list_recipes()]
    raise UserError(f"unknown recipe {str(name_or_path)!r}", f"known recipes: {', '.join(names)}")


def recipe_dir_of(path: Path) -> str:
    return path.resolve().parent.name


def read_yaml(path: Path) -> dict:
    require_regular_file(path, "recipe file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"recipe {path} is not a text file (not UTF-8)", "give a YAML recipe") from exc
    except OSError as exc:
        raise UserError(f"cannot read recipe {path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserError(f"recipe {path} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    if data is None:
        raise UserError(
            f"recipe {path} is empty",
            "an empty recipe would silently run every default: write the keys you mean",
        )
    if not isinstance(data, dict):
        raise UserError(f"recipe {path} must be a mapping of keys to values")
    return data


# ---------------------------------------------------------------- overrides


def apply_overrides(data: dict, overrides: list[str] | None) -> dict:
    """Apply ``a.b=value`` strings to a nested dict (values parsed as YAML scalars/lists)."""
    data = _deepcopy(data)
    for item in overrides or []:
        if "=" not in item:
            raise UserError(f"override {item!r} is not of the form key.sub=value")
        key, raw = item.split("=", 1)
        key = key.strip()
        if not key:
            raise UserError(f"override {item!r} has an empty key")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise UserError(f"override {item!r}: {part!r} is a value, not a section")
            node = child
        node[parts[-1]] = value
    return data


def _deepcopy(data):
    if isinstance(data, dict):
        return {k: _deepcopy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deepcopy(v) for v in data]
    return data


# ---------------------------------------------------------------- typed parsing


def from_dict(schema: type, data: dict, where: str = "") -> Any:
    """Build ``schema`` (a dataclass) from ``data``, checking keys and types recursively."""
    if not isinstance(data, dict):
        raise UserError(f"{where or 'recipe'} must be a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(schema) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        prefix = f"{where}." if where else ""
        raise UserError(
            f"unknown recipe key {prefix}{unknown[0]}",
            f"valid keys{' in ' + where if where else ''}: {', '.join(sorted(fields))}",
        )
    hints = get_type_hints(schema)
    kwargs = {}
    for name, value in data.items():
        key = f"{where}.{name}" if where else name
        kwargs[name] = _coerce(hints[name], value, key)
    try:
        return schema(**kwargs)
    except (ValueError, TypeError) as exc:
        # __post_init__ validation: the message names the key
        raise UserError(f"invalid recipe{' section ' + where if where else ''}: {exc}") from exc


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(tp, value, key: str):
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, key)
            except UserError as exc:
                errors.append(exc)
        raise UserError(f"recipe key {key}: {value!r} is not a {' or '.join(_type_name(a) for a in args)}")
    if origin is Literal:
        choices = get_args(tp)
        if value not in choices:
            raise UserError(f"recipe key {key}: {value!r} is not one of {', '.join(map(str, choices))}")
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value if value is not None else {}, key)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise UserError(f"recipe key {key}: expected a list, got {value!r}")
        args = get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise UserError(f"recipe key {key}: expected {len(args)} values, got {len(value)}")
            return tuple(
                _coerce(a, v, f"{key}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True))
            )
        item = args[0] if args else Any
        out = [_coerce(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, dict):
            raise UserError(f"recipe key {key}: expected a mapping, got {value!r}")
        kt, vt = get_args(tp) or (Any, Any)
        return {_coerce(kt, k, key): _coerce(vt, v, f"{key}.{k}") for k, v in value.items()}
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise UserError(f"recipe key {key}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise UserError(f"recipe key {key}: expected an integer, got {value!r}")
    if tp is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value)  # YAML 1.1 reads "1e-3" as a string
            except ValueError:
                pass
        if number is None:
            raise UserError(f"recipe key {key}: expected a number, got {value!r}")
        if not math.isfinite(number):  # nan or inf would train on NaN or loop forever
            raise UserError(f"recipe key {key}: expected a finite number, got {value!r}")
        return number
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise UserError(f"recipe key {key}: expected a string, got {value!r}")
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise UserError(f"recipe key {key}: cannot read {value!r} as {_type_name(tp)}")


def to_dict(obj) -> dict:
    return dataclasses.asdict(obj)


def dump_yaml(obj, path: Path) -> Path:
    data = to_dict(obj) if dataclasses.is_dataclass(obj) else obj
    path.write_text(yaml.safe_dump(_plain(data), sort_keys=False))
    return path


def _plain(data):
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(v) for v in data]
    return data


def load_recipe(name_or_path: str | Path, schema: type, overrides: list[str] | None = None):
    """Find, read, override and type-check a recipe. Returns (recipe object, source path)."""
    path = find_recipe(name_or_path)
    data = apply_overrides(read_yaml(path), overrides)
    return from_dict(schema, data), path
