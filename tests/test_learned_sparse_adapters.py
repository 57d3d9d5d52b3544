"""MILCO, SPLADE-v3 and BGE-M3 sparse load their published layouts and compute the published formulas."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from harness.catalog.cards import load_card
from harness.core.errors import InputError, SourceUnavailableError
from harness.encode import EncodeSettings
from harness.models.adapters import load_encoder
from tests.tiny_sparse_models import milco_state_dict, write_tiny_bert_mlm, write_tiny_bge_m3, write_tiny_milco


def card(tmp_path: Path, adapter: str, **parameters: object) -> Path:
    path = tmp_path / f"{adapter}-card.yaml"
    path.write_text(yaml.safe_dump({"name": f"tiny-{adapter}", "adapter": adapter, "parameters": parameters}))
    return path


def encoder(tmp_path: Path, adapter: str, batch_size: int = 8, **parameters: object):
    return load_encoder(load_card(str(card(tmp_path, adapter, **parameters))), EncodeSettings(batch_size=batch_size))


@pytest.fixture(scope="module")
def milco_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_milco(tmp_path_factory.mktemp("milco"))


def milco_reference(folder: Path, text: str) -> tuple[np.ndarray, dict[int, float]]:
    """The authors' `MILCOModel.encode` on one text, from the state dict and sub-model folders."""
    from transformers import AutoModel, AutoTokenizer, BertConfig
    from transformers.models.bert.modeling_bert import BertOnlyMLMHead

    state = torch.load(folder / "pytorch_model.bin", weights_only=True)
    root = folder.parent
    m_model = AutoModel.from_pretrained(root / "bge-m3-unsupervised").eval()
    head = BertOnlyMLMHead(BertConfig.from_pretrained(root / "splade-v3")).eval()
    head.load_state_dict({k[len("mlm_head.") :]: v for k, v in state.items() if k.startswith("mlm_head.")})
    inputs = AutoTokenizer.from_pretrained(root / "bge-m3-unsupervised")([text], return_tensors="pt")
    with torch.no_grad():
        hidden = m_model(**inputs).last_hidden_state
        projected = torch.nn.functional.gelu(hidden @ state["projector.weight"].T + state["projector.bias"])
        logits = head(projected) * inputs["attention_mask"].unsqueeze(-1)
        pivot = torch.log1p(torch.relu(logits.max(dim=1).values))[0].numpy()
        echo = torch.relu(hidden @ state["echo.weight"].T + state["echo.bias"]).squeeze(-1) * state["scale"]
    source: dict[int, float] = {}
    for token, weight in zip(inputs["input_ids"][0].tolist(), echo[0].tolist(), strict=True):
        source[token] = source.get(token, 0.0) + weight
    return pivot, source


def test_milco_vocabulary_is_english_then_source_terms_offset_after_it(milco_folder: Path, tmp_path: Path) -> None:
    milco = encoder(tmp_path, "milco", path=str(milco_folder))
    english_size = milco.config["en_vocab_size"]
    vocabulary = milco.vocabulary
    assert len(vocabulary) == english_size + milco.config["m_vocab_size"]
    assert [(v.start, v.stop) for v in vocabulary.views] == [(0, english_size), (english_size, len(vocabulary))]
    assert vocabulary.term(english_size) == "m_<s>"  # XLM-R id 0, offset by the English vocabulary
    assert vocabulary.term(english_size + milco.tokenizer.convert_tokens_to_ids("▁美国")) == "m_▁美国"
    assert vocabulary.term(milco.vocabulary.terms.index("cats")) == "cats"
    assert vocabulary.view_of(english_size - 1) == "pivot (English)"
    assert vocabulary.view_of(english_size) == "source (echo)"


def test_milco_pivot_and_source_views_follow_the_authors_formulas(milco_folder: Path, tmp_path: Path) -> None:
    milco = encoder(tmp_path, "milco", path=str(milco_folder))
    text = "cats and dogs cats 美国 cats"
    vector = milco.encode_documents([text], "en").matrix.toarray()[0]
    pivot, source = milco_reference(milco_folder, text)
    english_size = len(pivot)
    np.testing.assert_allclose(vector[:english_size], pivot, rtol=1e-5, atol=1e-6)
    expected_source = np.zeros(len(vector) - english_size)
    for token, weight in source.items():
        expected_source[token] = weight
    np.testing.assert_allclose(vector[english_size:], expected_source, rtol=1e-5, atol=1e-6)


def test_milco_sums_the_echo_weights_of_a_repeated_source_token(milco_folder: Path, tmp_path: Path) -> None:
    milco = encoder(tmp_path, "milco", path=str(milco_folder))
    token = milco.tokenizer.convert_tokens_to_ids("▁cats")
    _, source = milco_reference(milco_folder, "cats cats cats")
    vector = milco.encode_documents(["cats cats cats"], "en").matrix.toarray()[0]
    assert vector[milco.vocabulary.views[1].start + token] == pytest.approx(source[token], rel=1e-5)


def test_milco_padding_does_not_change_a_vector(milco_folder: Path, tmp_path: Path) -> None:
    texts = ["cats", "the volcano erupts lava ash and gas from the earth mantle at night"]
    batched = encoder(tmp_path, "milco", batch_size=2, path=str(milco_folder)).encode_documents(texts, "en")
    alone = encoder(tmp_path, "milco", batch_size=1, path=str(milco_folder)).encode_documents(texts, "en")
    np.testing.assert_allclose(batched.matrix.toarray(), alone.matrix.toarray(), rtol=1e-5, atol=1e-6)
    # The padded short text has no weight on the padding token's source column.
    pad_column = batched.vocabulary.views[1].start + 1
    assert batched.matrix[0, pad_column] == 0


def test_milco_alpha_weights_the_views_on_the_query_side(milco_folder: Path, tmp_path: Path) -> None:
    text = ["cats purr"]
    plain = encoder(tmp_path, "milco", path=str(milco_folder))
    document = plain.encode_documents(text, "en").matrix.toarray()[0]
    np.testing.assert_allclose(plain.encode_queries(text, "en").matrix.toarray()[0], document, rtol=1e-6)
    tilted = encoder(tmp_path, "milco", path=str(milco_folder), alpha=0.25).encode_queries(text, "en")
    split = plain.vocabulary.views[1].start
    np.testing.assert_allclose(tilted.matrix.toarray()[0, :split], 1.5 * document[:split], rtol=1e-5)
    np.testing.assert_allclose(tilted.matrix.toarray()[0, split:], 0.5 * document[split:], rtol=1e-5)


def test_milco_english_only_mode_drops_the_source_view(milco_folder: Path, tmp_path: Path) -> None:
    milco = encoder(tmp_path, "milco", path=str(milco_folder), views="pivot")
    assert len(milco.vocabulary) == milco.config["en_vocab_size"]
    vector = milco.encode_documents(["cats"], "en").matrix.toarray()[0]
    pivot, _ = milco_reference(milco_folder, "cats")
    np.testing.assert_allclose(vector, pivot, rtol=1e-5, atol=1e-6)


def test_milco_checkpoint_without_echo_needs_the_pivot_mode(tmp_path: Path) -> None:
    folder = write_tiny_milco(tmp_path / "noecho", echo=False)
    with pytest.raises(InputError, match=r"no LexEcho head .* set `views: pivot`"):
        encoder(tmp_path, "milco", path=str(folder))
    english_only = encoder(tmp_path, "milco", path=str(folder), views="pivot")
    assert len(english_only.vocabulary) == english_only.config["en_vocab_size"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("drop", r"missing: projector\.weight"),
        ("reshape", r"wrong shape: echo\.weight \(1, 8\) \(expected \(1, 16\)\)"),
        ("extra", r"unexpected: connector\.weight"),
    ],
)
def test_milco_refuses_a_checkpoint_whose_keys_or_shapes_differ(tmp_path: Path, change: str, message: str) -> None:
    root = tmp_path / "bad"
    write_tiny_milco(root)  # writes the sub-models; the state dict is then rewritten broken
    state = milco_state_dict(root / "bge-m3-unsupervised", root / "splade-v3")
    if change == "drop":
        del state["projector.weight"]
    elif change == "reshape":
        state["echo.weight"] = torch.zeros(1, 8)
    else:
        state["connector.weight"] = torch.zeros(2, 2)
    torch.save(state, root / "milco" / "pytorch_model.bin")
    with pytest.raises(InputError, match=message) as raised:
        encoder(tmp_path, "milco", path=str(root / "milco"))
    assert "pytorch_model.bin" in str(raised.value)


def test_milco_sub_models_can_be_named_by_the_card(tmp_path: Path) -> None:
    folder = write_tiny_milco(tmp_path / "m")
    moved = tmp_path / "elsewhere"
    (tmp_path / "m" / "bge-m3-unsupervised").rename(moved)
    with pytest.raises(SourceUnavailableError, match=r"names the encoder checkpoint .* `parameters\.encoder\.path`"):
        encoder(tmp_path, "milco", path=str(folder))
    milco = encoder(tmp_path, "milco", path=str(folder), encoder={"path": str(moved)})
    assert milco.describe()["sub_models"]["encoder"]["path"] == str(moved.resolve())


def milco_naming_hub_ids(root: Path) -> Path:
    """A tiny MILCO whose config names its sub-models by hub id, as the published checkpoint does."""
    folder = write_tiny_milco(root)
    config = json.loads((folder / "config.json").read_text())
    config["multilingual_encoder_checkpoint"] = "BAAI/bge-m3-unsupervised"
    config["lsr_encoder_checkpoint"] = "naver/splade-v3"
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_milco_finds_sub_models_in_encoder_and_english_folders_inside_the_checkpoint(tmp_path: Path) -> None:
    folder = milco_naming_hub_ids(tmp_path / "m")
    (tmp_path / "m" / "bge-m3-unsupervised").rename(folder / "encoder")
    (tmp_path / "m" / "splade-v3").rename(folder / "english")
    sub_models = encoder(tmp_path, "milco", path=str(folder)).describe()["sub_models"]
    assert sub_models["encoder"]["path"] == str((folder / "encoder").resolve())
    assert sub_models["english"]["path"] == str((folder / "english").resolve())


def test_milco_finds_sub_models_named_after_the_hub_ids_beside_the_checkpoint(tmp_path: Path) -> None:
    folder = milco_naming_hub_ids(tmp_path / "m")  # m/milco beside m/bge-m3-unsupervised and m/splade-v3
    sub_models = encoder(tmp_path, "milco", path=str(folder)).describe()["sub_models"]
    assert sub_models["encoder"]["path"] == str((tmp_path / "m" / "bge-m3-unsupervised").resolve())
    assert sub_models["english"]["origin"] == "local"


def test_a_missing_milco_sub_model_is_reported_with_the_card_key_to_set_first(tmp_path: Path) -> None:
    folder = milco_naming_hub_ids(tmp_path / "m")
    (tmp_path / "m" / "bge-m3-unsupervised").rename(tmp_path / "elsewhere")
    with pytest.raises(SourceUnavailableError) as raised:
        encoder(tmp_path, "milco", path=str(folder))
    message = str(raised.value)
    assert message.startswith("set `parameters.encoder.path` in ")
    assert f"or put one in {folder / 'encoder'}" in message and "'BAAI/bge-m3-unsupervised'" in message
    assert "`parameters.path`" not in message  # the checkpoint's own path is set already


def test_milco_refuses_a_folder_that_is_not_milco(tmp_path: Path) -> None:
    folder = write_tiny_bert_mlm(tmp_path / "bert")
    with pytest.raises(InputError, match="not a MILCO config"):
        encoder(tmp_path, "milco", path=str(folder))


def test_splade_is_the_max_of_log_saturated_mlm_logits(tmp_path: Path) -> None:
    from transformers import AutoTokenizer, BertForMaskedLM

    folder = write_tiny_bert_mlm(tmp_path / "splade-v3")
    texts = ["cats purr", "bread is baked from flour water salt and yeast in an oven"]
    splade = encoder(tmp_path, "splade", batch_size=2, path=str(folder))
    vectors = splade.encode_documents(texts, "en").matrix.toarray()
    model = BertForMaskedLM.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    for text, vector in zip(texts, vectors, strict=True):
        with torch.no_grad():
            logits = model(**tokenizer([text], return_tensors="pt")).logits[0]
        expected = torch.log1p(torch.relu(logits.max(dim=0).values)).numpy()
        np.testing.assert_allclose(vector, expected, rtol=1e-5, atol=1e-6)
    assert splade.vocabulary.term(int(np.argmax(vectors[0]))) in tokenizer.get_vocab()


def test_bge_m3_sparse_keeps_the_max_per_token_and_drops_special_tokens(tmp_path: Path) -> None:
    from transformers import AutoModel, AutoTokenizer

    folder = write_tiny_bge_m3(tmp_path / "bge-m3")
    bge = encoder(tmp_path, "bge-m3-sparse", path=str(folder))
    text = "cats chase cats 美国"
    vector = bge.encode_documents([text], "en").matrix.toarray()[0]
    tokenizer = AutoTokenizer.from_pretrained(folder)
    head = torch.load(folder / "sparse_linear.pt", weights_only=True)
    inputs = tokenizer([text], return_tensors="pt")
    with torch.no_grad():
        hidden = AutoModel.from_pretrained(folder).eval()(**inputs).last_hidden_state[0]
    weights = torch.relu(hidden @ head["weight"].T + head["bias"]).squeeze(-1).tolist()
    expected: dict[int, float] = {}
    for token, weight in zip(inputs["input_ids"][0].tolist(), weights, strict=True):
        if token not in {0, 1, 2, 3}:
            expected[token] = max(expected.get(token, 0.0), weight)
    assert {int(c): pytest.approx(float(vector[c]), rel=1e-5) for c in np.flatnonzero(vector)} == expected
    assert vector[[0, 2]].tolist() == [0.0, 0.0]  # <s> and </s> dropped


def test_bge_m3_sparse_needs_its_head_file_with_the_right_shape(tmp_path: Path) -> None:
    folder = write_tiny_bge_m3(tmp_path / "bge-m3")
    torch.save({"weight": torch.zeros(1, 4), "bias": torch.zeros(1)}, folder / "sparse_linear.pt")
    with pytest.raises(InputError, match=r"sparse_linear\.pt.*wrong shape: weight \(1, 4\) \(expected \(1, 16\)\)"):
        encoder(tmp_path, "bge-m3-sparse", path=str(folder))
    (folder / "sparse_linear.pt").unlink()
    with pytest.raises(InputError, match=r"sparse_linear\.pt not found"):
        encoder(tmp_path, "bge-m3-sparse", path=str(folder))


def test_card_pruning_is_applied_before_the_vectors_leave_the_adapter(tmp_path: Path) -> None:
    folder = write_tiny_bert_mlm(tmp_path / "splade-v3")
    pruned = encoder(tmp_path, "splade", path=str(folder), document_pruning="topk:5", query_pruning="mass:50")
    documents = pruned.encode_documents(["cats purr and hunt mice"], "en")
    assert documents.active_terms().tolist() == [5]
    queries = pruned.encode_queries(["cats purr and hunt mice"], "en")
    full = encoder(tmp_path, "splade", path=str(folder)).encode_queries(["cats purr and hunt mice"], "en")
    assert 0 < queries.active_terms()[0] < full.active_terms()[0]
    assert pruned.describe()["document_pruning"] == "topk:5"


def test_a_bad_pruning_rule_in_a_card_names_the_key(tmp_path: Path) -> None:
    folder = write_tiny_bert_mlm(tmp_path / "splade-v3")
    with pytest.raises(InputError, match=r"\[parameters\.document_pruning\].*between 0 and 100"):
        encoder(tmp_path, "splade", path=str(folder), document_pruning="mass:150")
