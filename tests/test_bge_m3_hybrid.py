"""BGE-M3's hybrid ("All") mode: FlagEmbedding's compute_score on dense candidates, from one forward pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

from harness.catalog.cards import load_card_file
from harness.core.errors import InputError
from harness.encode import EncodeSettings
from harness.index import make_index
from harness.models.adapters import load_encoder
from tests.tiny_colbert import write_tiny_bge_m3

QUERY = "which cats purr"
DOCUMENTS = ["cats purr and hunt mice", "dogs bark and fetch sticks", "chats et chiens", "lava"]


def encoder_for(folder: Path, **parameters: Any) -> Any:
    card = folder.parent / f"{folder.name}-hybrid.yaml"
    card.write_text(
        yaml.safe_dump({"name": "tiny", "adapter": "bge-m3-hybrid", "parameters": {"path": folder.name, **parameters}})
    )
    return load_encoder(load_card_file(card), EncodeSettings())


@pytest.fixture(scope="module")
def m3_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_bge_m3(tmp_path_factory.mktemp("m3") / "bge-m3")


def flag_embedding_outputs(folder: Path, text: str) -> tuple[np.ndarray, dict[int, float], np.ndarray]:
    """FlagEmbedding's three outputs for one text, computed here from the checkpoint and its two heads:
    normalised [CLS]; max ReLU(sparse_linear(h)) per token id without special tokens; normalised
    colbert_linear(h[1:])."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    sparse_head = torch.load(folder / "sparse_linear.pt", weights_only=True)
    colbert_head = torch.load(folder / "colbert_linear.pt", weights_only=True)
    inputs = tokenizer([text], return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**inputs).last_hidden_state[0]
    dense = torch.nn.functional.normalize(hidden[0], dim=0).numpy()
    token_weights = torch.relu(hidden @ sparse_head["weight"].T + sparse_head["bias"]).squeeze(-1).numpy()
    unused = {tokenizer.cls_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id, tokenizer.unk_token_id}
    lexical: dict[int, float] = {}
    for token, weight in zip(inputs["input_ids"][0].tolist(), token_weights, strict=True):
        if token not in unused and weight > 0:
            lexical[token] = max(lexical.get(token, 0.0), float(weight))
    colbert = torch.nn.functional.normalize(hidden[1:] @ colbert_head["weight"].T + colbert_head["bias"], dim=-1)
    return dense, lexical, colbert.numpy()


def compute_score(query: tuple, document: tuple, weights: tuple[float, float, float]) -> float:
    """FlagEmbedding's compute_score 'colbert+sparse+dense' for one pair."""
    dense = float(query[0] @ document[0])
    sparse = sum(weight * document[1][token] for token, weight in query[1].items() if token in document[1])
    colbert = float((query[2] @ document[2].T).max(axis=1).sum() / len(query[2]))
    return (weights[0] * dense + weights[1] * sparse + weights[2] * colbert) / sum(weights)


def search(encoder: Any, k: int, **index: Any) -> Any:
    built = make_index("hybrid", index or None)
    built.build(encoder.encode_documents(DOCUMENTS, "en"))
    return built, built.search(encoder.encode_queries([QUERY], "en"), k=k)


@pytest.mark.parametrize(
    ("parameters", "weights"),
    [({}, (0.4, 0.2, 0.4)), ({"weights": {"dense": 1.0, "sparse": 0.3, "colbert": 1.0}}, (1.0, 0.3, 1.0))],
)
def test_hybrid_scores_are_flag_embeddings_compute_score(m3_folder: Path, parameters: dict, weights: tuple) -> None:
    _, result = search(encoder_for(m3_folder, **parameters), k=len(DOCUMENTS))
    query = flag_embedding_outputs(m3_folder, QUERY)
    expected = {i: compute_score(query, flag_embedding_outputs(m3_folder, d), weights) for i, d in enumerate(DOCUMENTS)}
    assert sorted(result.indices[0].tolist()) == list(range(len(DOCUMENTS)))
    for document, score in zip(result.indices[0], result.scores[0], strict=True):
        assert score == pytest.approx(expected[int(document)], abs=1e-5)
    assert list(result.scores[0]) == sorted(result.scores[0], reverse=True)


def test_only_the_dense_candidates_are_rescored_and_the_depth_is_recorded(m3_folder: Path) -> None:
    encoder = encoder_for(m3_folder)
    query = encoder.encode_queries([QUERY], "en")
    documents = encoder.encode_documents(DOCUMENTS, "en")
    dense_best = int(np.argmax(documents.dense.vectors @ query.dense.vectors[0]))
    index, result = search(encoder, k=3, kind="hybrid-rerank", candidates=1)
    assert result.indices[0].tolist() == [dense_best, -1, -1]
    assert index.describe()["candidate_depth"] == 1


def test_one_forward_pass_yields_the_three_outputs(m3_folder: Path) -> None:
    encoder = encoder_for(m3_folder)
    calls = []
    handle = encoder.model.register_forward_hook(lambda module, args, output: calls.append(1))
    try:
        documents = encoder.encode_documents(DOCUMENTS, "en")
    finally:
        handle.remove()
    assert len(calls) == 1  # one batch of four texts
    assert len(documents.dense) == len(documents.sparse) == len(documents.multivector) == len(DOCUMENTS)


def test_a_zero_dense_weight_is_refused(m3_folder: Path) -> None:
    with pytest.raises(InputError) as caught:
        encoder_for(m3_folder, weights={"dense": 0.0, "sparse": 1.0, "colbert": 1.0})
    assert caught.value.key == "parameters.weights.dense"


def test_a_missing_sparse_head_is_named(tmp_path: Path) -> None:
    folder = write_tiny_bge_m3(tmp_path / "m3")
    (folder / "sparse_linear.pt").unlink()
    with pytest.raises(InputError) as caught:
        encoder_for(folder)
    assert caught.value.key == "parameters.sparse_head_file" and "sparse_linear.pt" in caught.value.reason


def test_a_hybrid_run_records_its_family_weights_and_candidate_depth(tmp_path: Path, tiny_beir: Path) -> None:
    from typer.testing import CliRunner

    from harness.cli import app
    from harness.results import load

    folder = write_tiny_bge_m3(tmp_path / "m3")
    card = tmp_path / "hybrid.yaml"
    card.write_text(
        yaml.safe_dump(
            {
                "name": "tiny-hybrid",
                "adapter": "bge-m3-hybrid",
                "parameters": {"path": folder.name},
                "index": {"kind": "hybrid-rerank", "candidates": 3},
            }
        )
    )
    outcome = CliRunner().invoke(
        app,
        ["run", "--data", str(tiny_beir), "--language", "en", "-m", str(card), "--results-dir", str(tmp_path / "r"),
         "--no-energy", "--no-report", "--latency-sample", "2"],
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.output
    [stored] = load(tmp_path / "r")
    record = stored.record
    assert record.model.family == "hybrid" and record.model.details["mode_weights"] == {
        "dense": 0.4,
        "sparse": 0.2,
        "colbert": 0.4,
    }
    assert record.index["kind"] == "hybrid-rerank" and record.index["candidate_depth"] == 3
    per_query: dict[str, int] = {}
    for line in stored.run_lines():
        per_query[line.split()[0]] = per_query.get(line.split()[0], 0) + 1
    assert set(per_query.values()) == {3}
