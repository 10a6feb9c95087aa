import json

from vita_cli import __version__


def test_help_lists_verbs(vita):
    r = vita("--help")
    assert r.exit_code == 0
    for verb in ("info", "recipes", "demo"):
        assert verb in r.stdout


def test_version(vita):
    r = vita("--version")
    assert r.exit_code == 0 and __version__ in r.stdout


def test_info_json_parseable(vita):
    r = vita("info", "--json")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert data["device"] in ("cpu", "cuda") and "torch" in data


def test_bad_device_is_exit_2(vita):
    r = vita("train", "--recipe", "train/tiny", "--device", "tpu")
    assert r.exit_code == 2
    assert "unknown device" in r.stderr and "Traceback" not in r.stderr


def test_recipes_list_json(vita):
    r = vita("recipes", "list", "--json")
    assert r.exit_code == 0
    names = [row["name"] for row in json.loads(r.stdout)["recipes"]]
    assert names == sorted(names)


def test_recipes_show_unknown_is_exit_2(vita):
    r = vita("recipes", "show", "nope/never")
    assert r.exit_code == 2 and "unknown recipe" in r.stderr


def test_recipes_validate_bad_key(vita, tmp_path):
    # a copy of a real recipe with one unknown key must be rejected, naming the key
    r = vita("recipes", "list", "--json")
    first = json.loads(r.stdout)["recipes"][0]
    folder = tmp_path / first["name"].split("/")[0]
    folder.mkdir()
    bad = folder / "bad.yaml"
    bad.write_text(open(first["path"]).read() + "\nnot_a_key: 1\n")
    r = vita("recipes", "validate", bad)
    assert r.exit_code == 2 and "not_a_key" in r.stderr
    good = folder / "good.yaml"
    good.write_text(open(first["path"]).read())
    r = vita("recipes", "validate", good, "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["valid"] is True


def test_recipes_copy(vita, tmp_path):
    name = json.loads(vita("recipes", "list", "--json").stdout)["recipes"][0]["name"]
    r = vita("recipes", "copy", name, tmp_path)
    assert r.exit_code == 0 and list(tmp_path.glob("*.yaml"))
    r = vita("recipes", "copy", name, tmp_path)
    assert r.exit_code == 2 and "already exists" in r.stderr


def test_options_survive_postponed_annotations(vita):
    # recipes.py uses `from __future__ import annotations`; its options must still be options
    r = vita("recipes", "validate", "--help")
    assert r.exit_code == 0 and "--verb" in r.stdout and "--json" in r.stdout
    assert "--device" not in r.stdout  # recipes neither compute nor write a run folder


def test_demo_only_unknown_name_is_exit_2(vita, tmp_path):
    r = vita("demo", "--only", "hyperlista", "--only", "nope", "--out", str(tmp_path / "d"))
    assert r.exit_code == 2
    assert "no demo named nope" in r.stderr and "gdp_demo" in r.stderr


def test_every_help_page_shows_flags_without_a_type(vita):
    """Flags (--help, --json, --quiet, ...) take no value: no help page may show them as ``<bool>``."""
    import typer.main

    from vita_cli.cli.app import app

    root = typer.main.get_command(app)
    ctx = typer.Context(root)
    paths = [[]]
    for name in root.list_commands(ctx):
        paths.append([name])
        sub = root.get_command(ctx, name)
        paths += [[name, child] for child in getattr(sub, "list_commands", lambda _c: [])(ctx)]
    assert len(paths) > 25
    for path in paths:
        r = vita(*path, "--help")
        assert r.exit_code == 0, path
        assert "<bool>" not in r.stdout, f"vita {' '.join(path)} --help shows <bool>"
