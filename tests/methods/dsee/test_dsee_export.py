"""The exported folder loads in plain transformers (offline) with vita's logits; the adapter file holds A, B, S, Ω."""

import torch
from safetensors.torch import load_file

from tests.methods.dsee.test_dsee_engine import batch, logits, perturb, tiny_model
from tests.methods.dsee.tiny_bert import make_tokenizer
from vita_cli.methods.dsee import heads, model_io, prune
from vita_cli.methods.dsee.adapter import adapted_layers
from vita_cli.methods.dsee.arms import ArmSpec, build_arm


def test_export_loads_in_plain_transformers_with_same_logits(tmp_path):
    from transformers import AutoModelForSequenceClassification

    model = tiny_model()
    build_arm(model, ArmSpec(method="dsee", r=4, alpha=8, n_sparse=8, omega="random"))
    perturb(model)
    prune.prune_unstructured(model, 0.4, "update")
    heads.remove_heads(model, heads.lowest_heads(heads.head_scores(model), 1))
    b = batch()
    ours = logits(model, b)
    out = model_io.export_hf(model, make_tokenizer(tmp_path / "tok"), tmp_path / "model")
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()
    plain = AutoModelForSequenceClassification.from_pretrained(str(out), local_files_only=True).eval()
    assert type(plain).__name__ == "BertForSequenceClassification"
    assert torch.allclose(logits(plain, b), ours, atol=1e-5)
    # stock transformers keeps full-size matrices with the removed heads' rows exactly zero
    q = plain.bert.encoder.layer[0].attention.self.query.weight
    assert q.shape == (32, 32) and int((q.abs().sum(1) == 0).sum()) >= 8
    # vita's loader removes them physically again: smaller matrices, same logits
    again = model_io.load_classifier(out).eval()
    assert again.bert.encoder.layer[0].attention.self.query.weight.shape == (24, 32)
    assert torch.allclose(logits(again, b), ours, atol=1e-5)
    assert prune.backbone_sparsity(again) >= 0.4


def test_adapter_file_holds_low_rank_and_sparse_parts(tmp_path):
    model = tiny_model()
    build_arm(model, ArmSpec(method="dsee", r=4, alpha=8, n_sparse=8, omega="magnitude"))
    perturb(model)
    path = model_io.save_adapter(model, tmp_path / "adapter.safetensors", {"method": "dsee"})
    tensors = load_file(str(path))
    name, layer = adapted_layers(model)[0]
    assert torch.equal(tensors[f"{name}.omega"], layer.sparse_index)
    assert tensors[f"{name}.sparse_values"].shape == (8,)
    assert tensors[f"{name}.lora_A"].shape == (4, 32) and tensors[f"{name}.lora_B"].shape == (32, 4)
    assert any(k.startswith("head.classifier") for k in tensors)
    assert not any(k.endswith(".weight") and "lora" not in k and "classifier" not in k for k in tensors)
