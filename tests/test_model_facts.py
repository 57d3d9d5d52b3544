"""Model facts in every result: parameters, embedding dimension, max tokens and license, read from the
checkpoint's files (safetensors headers, README front matter) so that a rerun which loads no weights
still records them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import save_file
from typer.testing import CliRunner

from harness import results
from harness.catalog.cards import load_card, load_card_file
from harness.cli import app
from harness.encode import EncodeSettings, ModelFacts
from harness.models.adapters import load_encoder
from harness.models.adapters.dense import DenseEncoder
from harness.models.facts import (
    checkpoint_parameters,
    module_parameters,
    readme_license,
    safetensors_parameters,
    torch_file_parameters,
)
from tests.results_factory import make_record, save
from tests.tiny_colbert import COLBERT_METADATA, write_tiny_bge_m3, write_tiny_colbert
from tests.tiny_models import write_tiny_bert
from tests.tiny_nllb import write_tiny_nllb
from tests.tiny_sparse_models import write_tiny_bert_mlm, write_tiny_milco

# float32 [3, 4] + bfloat16 [5] + float16 [2, 2]; the int64 buffer is not a parameter.
TENSORS = {
    "layer.weight": torch.zeros(3, 4),
    "layer.bias": torch.zeros(5, dtype=torch.bfloat16),
    "norm.weight": torch.zeros(2, 2, dtype=torch.float16),
    "embeddings.position_ids": torch.arange(7),
}
FLOATING_ELEMENTS = 12 + 5 + 4

README = "---\nlanguage: en\nlicense: mit\ntags:\n- retrieval\n---\n# Tiny\n\nlicense: not-this-one\n"


def loaded_parameters(folder: Path, model_class: str = "AutoModel") -> int:
    import transformers

    model = getattr(transformers, model_class).from_pretrained(folder)
    return sum(parameter.numel() for parameter in model.parameters())


def test_a_safetensors_header_gives_the_floating_point_elements(tmp_path: Path) -> None:
    save_file(TENSORS, str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    assert safetensors_parameters(tmp_path / "model.safetensors") == FLOATING_ELEMENTS
    assert checkpoint_parameters(tmp_path) == FLOATING_ELEMENTS


def test_a_sharded_checkpoint_sums_its_shards_and_a_missing_shard_is_unknown(tmp_path: Path) -> None:
    save_file({"a": torch.zeros(10)}, str(tmp_path / "model-00001-of-00002.safetensors"))
    save_file({"b": torch.zeros(3, 3), "c": torch.zeros(2)}, str(tmp_path / "model-00002-of-00002.safetensors"))
    weight_map = {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}
    weight_map["c"] = weight_map["b"]
    index = {"metadata": {"total_size": 84}, "weight_map": weight_map}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    assert checkpoint_parameters(tmp_path) == 10 + 9 + 2
    (tmp_path / "model-00002-of-00002.safetensors").unlink()
    assert checkpoint_parameters(tmp_path) is None


def test_a_torch_file_counts_tied_tensors_once_and_a_legacy_one_is_unknown(tmp_path: Path) -> None:
    shared = torch.zeros(6, 4)
    state = {"embeddings.weight": shared, "decoder.weight": shared, "decoder.bias": torch.zeros(6)}
    state["embeddings.position_ids"] = torch.arange(9)
    torch.save(state, tmp_path / "pytorch_model.bin")
    assert torch_file_parameters(tmp_path / "pytorch_model.bin") == 24 + 6
    assert checkpoint_parameters(tmp_path) == 30
    torch.save(state, tmp_path / "legacy.bin", _use_new_zipfile_serialization=False)
    assert torch_file_parameters(tmp_path / "legacy.bin") is None


def test_no_weights_or_unreadable_ones_are_unknown(tmp_path: Path) -> None:
    assert checkpoint_parameters(tmp_path) is None
    (tmp_path / "model.safetensors").write_bytes(b"no longer weights")
    assert checkpoint_parameters(tmp_path) is None


def test_the_file_count_equals_the_loaded_models_own_in_both_weight_formats(tmp_path: Path) -> None:
    folder = write_tiny_bert_mlm(tmp_path / "mlm")  # its decoder is tied to the word embeddings
    expected = loaded_parameters(folder, "AutoModelForMaskedLM")
    assert checkpoint_parameters(folder) == expected
    from transformers import AutoModelForMaskedLM

    model = AutoModelForMaskedLM.from_pretrained(folder)
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    (folder / "model.safetensors").unlink()
    torch.save(model.state_dict(), folder / "pytorch_model.bin")  # both names, one storage
    assert checkpoint_parameters(folder) == expected


def test_module_parameters_count_a_shared_tensor_once() -> None:
    embedding = torch.nn.Embedding(10, 4)
    head = torch.nn.Linear(4, 10)
    head.weight = embedding.weight
    assert module_parameters(embedding, head) == 40 + 10
    assert module_parameters() is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (README, "mit"),
        ("---\nlicense: other\nlicense_name: tiny-research-license\n---\n", "tiny-research-license"),
        ("---\nlanguage: en\n---\nlicense: mit\n", None),
        ("# No front matter\nlicense: mit\n", None),
        ("---\nlicense: [unclosed\n---\n", None),
    ],
    ids=["front-matter", "other-names-it", "no-key", "no-front-matter", "bad-yaml"],
)
def test_the_license_comes_from_the_readme_front_matter_only(tmp_path: Path, text: str, expected: str | None) -> None:
    (tmp_path / "README.md").write_text(text, encoding="utf-8")
    assert readme_license(tmp_path) == expected


def test_without_a_readme_the_license_is_unknown(tmp_path: Path) -> None:
    assert readme_license(tmp_path) is None


def write_card(folder: Path, model: Path | None, adapter: str = "dense", **fields: object) -> Path:
    """A card for the checkpoint in `model` (None: the adapter names its models among `parameters`)."""
    parameters = {**({"path": str(model)} if model else {}), **fields.pop("parameters", {})}
    card = {"name": f"tiny-{adapter}", "adapter": adapter, **fields, "parameters": parameters}
    path = folder / f"tiny-{adapter}.yaml"
    path.write_text(yaml.safe_dump(card), encoding="utf-8")
    return path


def facts_of(card: Path) -> ModelFacts:
    return load_encoder(load_card_file(card), EncodeSettings()).model_facts()


def test_a_dense_checkpoints_facts_come_from_its_files(tmp_path: Path) -> None:
    model = write_tiny_bert(tmp_path / "bert", hidden_size=24)
    (model / "README.md").write_text(README, encoding="utf-8")
    card = write_card(tmp_path, model, parameters={"max_document_length": 40})
    assert facts_of(card) == ModelFacts(loaded_parameters(model), 24, 40, "mit")
    settings = EncodeSettings(max_document_length=32)
    assert load_encoder(load_card_file(card), settings).model_facts().max_tokens == 32


def test_a_cards_license_wins_over_the_readme(tmp_path: Path) -> None:
    model = write_tiny_bert(tmp_path / "bert")
    (model / "README.md").write_text(README, encoding="utf-8")
    assert facts_of(write_card(tmp_path, model, license="apache-2.0")).license == "apache-2.0"


def test_a_splade_checkpoints_dimension_is_its_vocabulary(tmp_path: Path) -> None:
    model = write_tiny_bert_mlm(tmp_path / "mlm")
    facts = facts_of(write_card(tmp_path, model, "splade", parameters={"max_document_length": 30}))
    config = json.loads((model / "config.json").read_text())
    assert facts == ModelFacts(loaded_parameters(model, "AutoModelForMaskedLM"), config["vocab_size"], 30, None)


def test_a_colbert_count_is_what_it_runs_backbone_and_projection_not_the_files_pooler(tmp_path: Path) -> None:
    from transformers import AutoModel

    model = write_tiny_colbert(tmp_path / "colbert", backbone="bert")
    facts = facts_of(write_card(tmp_path, model, "colbert"))
    backbone = AutoModel.from_pretrained(model, add_pooling_layer=False)
    hidden, runs = backbone.config.hidden_size, sum(parameter.numel() for parameter in backbone.parameters())
    assert facts.parameters == runs + COLBERT_METADATA["dim"] * hidden
    assert checkpoint_parameters(model) == facts.parameters + hidden * (hidden + 1)  # + the pooler's weight and bias
    assert (facts.embedding_dimension, facts.max_tokens) == (COLBERT_METADATA["dim"], COLBERT_METADATA["doc_maxlen"])


def test_milco_counts_what_it_runs_not_the_alignment_teacher_in_its_checkpoint(tmp_path: Path) -> None:
    from transformers import AutoModel, BertForMaskedLM

    model = write_tiny_milco(tmp_path)
    facts = facts_of(write_card(tmp_path, model, "milco"))
    encoder, english = AutoModel.from_pretrained(tmp_path / "bge-m3-unsupervised"), tmp_path / "splade-v3"
    head = BertForMaskedLM.from_pretrained(english).cls
    m_hidden, en_hidden = encoder.config.hidden_size, head.predictions.transform.dense.out_features
    projector, echo = m_hidden * en_hidden + en_hidden, m_hidden + 1
    count = sum(parameter.numel() for module in (encoder, head) for parameter in module.parameters())
    assert facts.parameters == count + projector + echo
    assert torch_file_parameters(model / "pytorch_model.bin") > facts.parameters  # the teacher is in the file
    assert facts.embedding_dimension == head.predictions.decoder.out_features + encoder.config.vocab_size


def test_bge_m3_hybrid_counts_both_heads_and_has_no_single_dimension(tmp_path: Path) -> None:
    model = write_tiny_bge_m3(tmp_path / "bge-m3")
    facts = facts_of(write_card(tmp_path, model, "bge-m3-hybrid", parameters={"max_document_length": 50}))
    heads = [torch_file_parameters(model / name) for name in ("colbert_linear.pt", "sparse_linear.pt")]
    assert facts == ModelFacts(loaded_parameters(model) + sum(heads), None, 50, None)


def test_translate_adds_the_translators_parameters_and_license_to_its_retrievers(tmp_path: Path) -> None:
    translator = write_tiny_nllb(tmp_path / "nllb")
    (translator / "README.md").write_text("---\nlicense: cc-by-nc-4.0\n---\n", encoding="utf-8")
    dense = write_tiny_bert(tmp_path / "bert")
    (dense / "README.md").write_text(README, encoding="utf-8")
    retriever = write_card(tmp_path, dense, parameters={"max_document_length": 40})
    translate = {"translator": {"path": str(translator)}, "cache": False}
    nllb = loaded_parameters(translator, "AutoModelForSeq2SeqLM")
    with_dense = write_card(tmp_path, None, "translate", parameters={**translate, "retriever": str(retriever)})
    expected = ModelFacts(nllb + loaded_parameters(dense), 16, 40, "cc-by-nc-4.0 + mit")
    assert facts_of(with_dense) == expected
    with_bm25 = write_card(tmp_path, None, "translate", parameters={**translate, "retriever": "bm25"})
    assert facts_of(with_bm25) == ModelFacts(nllb, None, None, "cc-by-nc-4.0")


def test_the_real_minilm_has_22_7_million_parameters_384_dimensions_and_apache_2(minilm_path: Path) -> None:
    facts = load_encoder(load_card("all-minilm-l6-v2"), EncodeSettings()).model_facts()
    # Verified by loading the checkpoint and summing numel(); the pooler counts, position ids do not.
    assert facts == ModelFacts(22_713_216, 384, 256, "apache-2.0")
    assert facts.parameters == loaded_parameters(minilm_path)


def run(*args: str) -> object:
    return CliRunner().invoke(app, ["run", "--no-energy", "--latency-sample", "2", "--no-report", *args])


def recorded_facts(folder: Path) -> dict[str, object]:
    [path] = sorted(folder.rglob("*.json"))
    return json.loads(path.read_text())["model"]["facts"]


def test_a_dense_run_records_the_facts_and_a_rerun_without_loading_weights_too(
    tiny_beir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = write_tiny_bert(tmp_path / "bert")
    (model / "README.md").write_text(README, encoding="utf-8")
    card = write_card(tmp_path, model, parameters={"max_document_length": 48})
    first = run("--data", str(tiny_beir), "--language", "en", "-m", str(card), "--results-dir", str(tmp_path / "a"))
    assert first.exit_code == 0, first.output
    expected = {"parameters": loaded_parameters(model), "embedding_dimension": 16, "max_tokens": 48, "license": "mit"}
    assert recorded_facts(tmp_path / "a") == expected

    def no_weights(self: DenseEncoder) -> None:
        raise AssertionError("the weights were loaded")

    monkeypatch.setattr(DenseEncoder, "_load_checkpoint", no_weights)
    again = run("--data", str(tiny_beir), "--language", "en", "-m", str(card), "--results-dir", str(tmp_path / "b"))
    assert again.exit_code == 0, again.output
    assert recorded_facts(tmp_path / "b") == expected
    row = results.load_frame(tmp_path / "b").iloc[0]
    assert (row.parameters, row.embedding_dimension, row.max_tokens, row.license) == tuple(expected.values())


def test_bm25_records_no_parameters_and_its_corpus_vocabulary_as_dimension(tiny_beir: Path, tmp_path: Path) -> None:
    outcome = run("--data", str(tiny_beir), "--language", "en", "-m", "bm25", "--results-dir", str(tmp_path / "r"))
    assert outcome.exit_code == 0, outcome.output
    facts = recorded_facts(tmp_path / "r")
    corpus = [f"{d['title']} {d['text']}" for d in map(json.loads, (tiny_beir / "corpus.jsonl").open())]
    documents = load_encoder(load_card("bm25"), EncodeSettings()).encode_documents(corpus, "en")
    assert facts == {
        "parameters": None,
        "embedding_dimension": len(documents.vocabulary),
        "max_tokens": None,
        "license": None,
    }
    assert 10 < len(documents.vocabulary) < 100


def test_a_result_without_facts_still_loads_with_empty_fact_columns(tmp_path: Path) -> None:
    with_facts = make_record("minilm", family="dense")
    facts = {"parameters": 1000, "embedding_dimension": 8, "max_tokens": 64, "license": "mit"}
    with_facts = with_facts.model_copy(update={"model": with_facts.model.model_copy(update={"facts": facts})})
    save(tmp_path, with_facts, ["q1 Q0 d1 1 1.0 minilm\n"])
    save(tmp_path, make_record("bm25", dataset="other"), ["q1 Q0 d1 1 1.0 bm25\n"])
    frame = results.load_frame(tmp_path).set_index("model")
    assert frame.loc["minilm", ["parameters", "embedding_dimension", "max_tokens", "license"]].tolist() == [
        1000,
        8,
        64,
        "mit",
    ]
    assert frame.loc["bm25", ["parameters", "embedding_dimension", "max_tokens", "license"]].isna().all()
    assert str(frame["parameters"].dtype) == "Int64"
