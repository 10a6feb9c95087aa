"""inspect counts MACs at the size the model was trained at, read from its file's data section."""

from vita_cli.models import build_model, load_model, save_model
from vita_cli.models.summary import default_input_size


def test_stored_data_size_is_the_default_input_size(tmp_path):
    arch = {"name": "small_cnn", "num_classes": 10, "in_channels": 1, "width": 4}
    save_model(tmp_path / "m.safetensors", build_model(arch), arch, meta={"data": {"image_size": 16}})
    assert default_input_size(load_model(tmp_path / "m.safetensors")) == (1, 16, 16)
    save_model(tmp_path / "n.safetensors", build_model(arch), arch)
    assert default_input_size(load_model(tmp_path / "n.safetensors")) == (1, 32, 32)
