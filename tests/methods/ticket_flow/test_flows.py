"""IMP flows from disk: an IMP run and a folder of plain state dicts give the same spectra; IMP
bookkeeping (density (1 − p)^n, rewound survivors); one-line errors for bad folders."""

import gzip
import struct

import numpy as np
import pytest
import torch

from vita_cli.core.errors import UserError
from vita_cli.core.recipe import from_dict
from vita_cli.methods.ticket_flow import study
from vita_cli.methods.ticket_flow.analysis import check_same_architecture, flow_spectra
from vita_cli.methods.ticket_flow.config import AnalysisConfig, TicketFlowRecipe
from vita_cli.methods.ticket_flow.distance import wasserstein1
from vita_cli.methods.ticket_flow.flows import read_flow
from vita_cli.methods.ticket_flow.observables import step_sizes, summary_snapshots
from vita_cli.methods.ticket_flow.tasks import load_task, parse_task
from vita_cli.models import load_model

RATE, ROUNDS = 0.2, 4


def write_idx(folder, n_train=240, n_test=80):
    """Fashion-MNIST IDX files (gzip) with class-dependent blobs, so training learns something."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n, dtype=np.uint8) % 10
        images = rng.integers(0, 60, size=(n, 28, 28), dtype=np.uint8)
        for i, y in enumerate(labels):
            images[i, 2 * y : 2 * y + 8, 4:24] = 220
        with gzip.open(folder / f"{split}-images-idx3-ubyte.gz", "wb") as f:
            f.write(struct.pack(">BBBBIII", 0, 0, 8, 3, n, 28, 28) + images.tobytes())
        with gzip.open(folder / f"{split}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(struct.pack(">BBBBI", 0, 0, 8, 1, n) + labels.tobytes())
    return folder


def tiny_recipe(root) -> TicketFlowRecipe:
    return from_dict(
        TicketFlowRecipe,
        {
            "tasks": ["clothing", "footwear"],
            "seeds": [0],
            "related": [],
            "unrelated": [],
            "data": {
                "fashion_root": str(root),
                "train_per_task": 96,
                "val_per_task": 16,
                "test_per_task": 40,
                "image_size": 12,
                "batch_size": 32,
            },
            "model": {"name": "small_cnn", "options": {"width": 2}},
            "train": {"epochs": 1, "lr": 0.05},
            "imp": {"rounds": ROUNDS, "rate": RATE, "rewind_iteration": 1},
        },
    )


@pytest.fixture(scope="module")
def imp_run(tmp_path_factory):
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("flow")
    recipe = tiny_recipe(write_idx(tmp / "fashion"))
    task = load_task(parse_task("clothing"), recipe.data)
    rounds = study.imp_flow(recipe, task, 0, tmp / "run", "cpu")
    return tmp / "run", rounds, recipe


def test_density_is_one_minus_p_to_the_n(imp_run):
    path, rounds, _ = imp_run
    flow = read_flow(path)
    assert flow.rounds == list(range(ROUNDS + 1))
    total = sum(m.size for m in flow.stored_masks[0].values())
    for n, d in enumerate(flow.density()):
        assert abs(d - (1 - RATE) ** n) <= 1.0 / total
        assert d == pytest.approx(rounds[n]["remaining"])


def test_rewound_survivors_are_the_rewind_point(imp_run):
    path, _, _ = imp_run
    rewind = load_model(path / "imp" / "rewind.safetensors").model.state_dict()
    flow = read_flow(path, snapshot="rewound")
    for n in range(1, len(flow.rounds)):
        for name in flow.stored_masks[n]:
            keep = flow.stored_masks[n][name]
            assert np.array_equal(flow.weights[n][name][keep], rewind[name].double().numpy()[keep])
            assert np.all(flow.weights[n][name][~keep] == 0)


def test_folder_of_plain_state_dicts_equals_the_imp_run(imp_run, tmp_path):
    path, _, _ = imp_run
    folder = tmp_path / "plain"
    folder.mkdir()
    for n in range(ROUNDS + 1):  # written out of order on purpose; names carry the round
        state = load_model(
            path / "imp" / f"round_{ROUNDS - n:02d}" / "trained.safetensors"
        ).model.state_dict()
        torch.save(state, folder / f"round_{ROUNDS - n}.pt")
    for observable in ("weights", "layers", "summaries"):
        cfg = AnalysisConfig(observable=observable)
        a, b = flow_spectra(read_flow(path), cfg), flow_spectra(read_flow(folder), cfg)
        assert a.whole.rank == b.whole.rank
        assert wasserstein1(a.whole.eigenvalues, b.whole.eigenvalues) < 1e-9
        for layer in a.layers:
            assert wasserstein1(a.layers[layer].eigenvalues, b.layers[layer].eigenvalues) < 1e-9
        assert a.steps == pytest.approx(b.steps)


def test_observables_shapes_and_steps(imp_run):
    flow = read_flow(imp_run[0])
    s = summary_snapshots(flow, bins=8)
    assert s.shape == (len(flow.layers) * 11, ROUNDS + 1)
    steps = step_sizes(flow)
    assert len(steps) == ROUNDS and all(x > 0 for x in steps)


def test_bad_folders_are_user_errors(imp_run, tmp_path):
    state = load_model(imp_run[0] / "imp" / "round_00" / "trained.safetensors").model.state_dict()
    cases = {
        "unnumbered": (["round_0.pt", "final.pt"], "no round number"),
        "duplicate": (["a_1.pt", "b_1.pt", "c_2.pt"], "round number 1"),
        "gap": (["r0.pt", "r1.pt", "r3.pt"], "round 2 missing"),
        "mixed": (["r0.pt", "r1.pt", "notes.txt"], "mixes model files"),
    }
    for name, (files, message) in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        for f in files:
            if f.endswith(".pt"):
                torch.save(state, folder / f)
            else:
                (folder / f).write_text("x")
        with pytest.raises(UserError, match=message):
            read_flow(folder)
    with pytest.raises(UserError, match="not found"):
        read_flow(tmp_path / "nope")


def test_different_architectures_and_short_flows(imp_run, tmp_path):
    flow = read_flow(imp_run[0])
    other = tmp_path / "wide"
    other.mkdir()
    for n in range(3):
        state = {
            k: torch.cat([v, v]) if v.ndim >= 2 else v
            for k, v in load_model(imp_run[0] / "imp" / f"round_{n:02d}" / "trained.safetensors")
            .model.state_dict()
            .items()
        }
        torch.save(state, other / f"{n}.pt")
    with pytest.raises(UserError, match="different architectures"):
        check_same_architecture([flow, read_flow(other)])
    with pytest.raises(UserError, match="rank 7 needs at least 8"):
        flow_spectra(flow, AnalysisConfig(rank=7))


def test_transfer_trains_a_ticket_on_another_task(imp_run):
    path, _, recipe = imp_run
    ticket = study.read_ticket(path)
    assert ticket.round == ROUNDS and ticket.task["name"] == "clothing"
    target = load_task(parse_task("footwear"), recipe.data)
    acc = study.train_ticket(ticket, target, recipe, 0, "cpu")
    rnd = study.train_ticket(ticket, target, recipe, 0, "cpu", random_mask=True)
    assert 0 <= acc <= 100 and 0 <= rnd <= 100


def test_tasks_parse_and_modify(tmp_path):
    assert parse_task("digits-low").classes == (0, 1, 2, 3, 4)
    assert parse_task("mnist:5-9@permuted").modifier == "permuted"
    for bad in ("cifar:0,1", "fashion:0", "fashion:0,1@flip", "nonsense"):
        with pytest.raises(UserError):
            parse_task(bad)
    root = write_idx(tmp_path / "f")
    cfg = tiny_recipe(root).data
    plain = load_task(parse_task("clothing"), cfg)
    perm = load_task(parse_task("clothing-permuted"), cfg)
    rand = load_task(parse_task("clothing-random"), cfg)
    assert torch.equal(plain.train.labels, perm.train.labels)
    assert not torch.equal(plain.train.images, perm.train.images)
    assert torch.equal(plain.train.images, rand.train.images)
    assert not torch.equal(plain.train.labels, rand.train.labels)
    assert set(plain.train.labels.tolist()) <= set(range(5))


def test_mnist_task_reads_the_csv(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.arange(200) % 10
    table = np.concatenate([rng.integers(0, 255, size=(200, 784)), labels[:, None]], axis=1)
    path = tmp_path / "mnist_5k.csv.gz"
    with gzip.open(path, "wt") as f:
        np.savetxt(f, table, fmt="%d", delimiter=",")
    cfg = from_dict(
        TicketFlowRecipe,
        {"data": {"mnist_csv": str(path), "train_per_task": 60, "val_per_task": 10, "test_per_task": 20}},
    ).data
    task = load_task(parse_task("digits-high"), cfg)
    assert task.num_classes == 5 and len(task.test) == 20 and task.train.images.shape[-1] == 28
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3\n")
    with pytest.raises(UserError, match="785 columns"):
        load_task(
            parse_task("digits-low"), from_dict(TicketFlowRecipe, {"data": {"mnist_csv": str(bad)}}).data
        )


def test_recipe_validation_names_the_key():
    with pytest.raises(UserError, match="observables"):
        from_dict(TicketFlowRecipe, {"observables": ["eigen"]})
    with pytest.raises(UserError, match="related"):
        from_dict(TicketFlowRecipe, {"related": [["clothing", "unknown"]]})
    with pytest.raises(UserError, match="analysis.rank"):
        from_dict(TicketFlowRecipe, {"analysis": {"rank": 0}})


def test_torch_prune_layout_folder_reads_like_the_run(imp_run, tmp_path):
    """``weight_orig`` + ``weight_mask`` state dicts (torch.nn.utils.prune) give the same flow and masks."""
    path, _, _ = imp_run
    run = read_flow(path)
    folder = tmp_path / "prune_layout"
    folder.mkdir()
    for n in range(ROUNDS + 1):
        loaded = load_model(path / "imp" / f"round_{n:02d}" / "trained.safetensors")
        state = dict(loaded.model.state_dict())
        for name, mask in loaded.masks.items():
            w = state.pop(name)
            state[name + "_orig"] = w + (~mask).float()  # pruned entries hold junk the mask removes
            state[name + "_mask"] = mask.float()
        torch.save(state, folder / f"epoch-{n}.pt")
    flow = read_flow(folder)
    check_same_architecture([run, flow])  # same layers, whatever their order in the files
    assert flow.density() == pytest.approx(run.density())
    cfg = AnalysisConfig()
    assert (
        wasserstein1(flow_spectra(flow, cfg).whole.eigenvalues, flow_spectra(run, cfg).whole.eigenvalues)
        < 1e-9
    )
