"""The Python API: `harness.evaluate` on any object with `encode`, an `Encoder`, a card or a checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import harness
from harness.catalog.cards import ModelCard, load_card
from harness.cli import app
from harness.core.errors import InputError
from harness.encode import DenseRepresentation, Encoder, EncodeSettings
from harness.models.adapters import load_encoder
from tests.conftest import TINY_CORPUS, scifact_cut

QUICK = {"energy": False, "latency_sample": 5}


class MiniLM:
    """The real all-MiniLM-L6-v2 as a researcher would wrap it: its tokenizer, mean pooling, L2 norm."""

    def __init__(self, folder: Path) -> None:
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModel.from_pretrained(folder).eval()

    def encode(self, texts: list[str], batch_size: int = 8) -> np.ndarray:
        import torch

        vectors = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                batch = self.tokenizer(
                    texts[start : start + batch_size],
                    padding=True,
                    truncation=True,
                    max_length=256,
                    return_tensors="pt",
                )
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).float()
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                vectors.append(torch.nn.functional.normalize(pooled, dim=-1))
        return torch.cat(vectors).numpy()


class WordCounts:
    """A tiny dense model: counts of a few words, so scores are predictable."""

    name = "word-counts"
    words = ("cats", "dogs", "volcano", "lava", "bread", "rivers", "lions")

    def __init__(self) -> None:
        self.calls: list[tuple[int, dict]] = []

    def encode(self, texts: list[str], **kwargs: object) -> list[list[float]]:
        self.calls.append((len(texts), kwargs))
        return [[float(text.lower().split().count(word)) + 0.01 for word in self.words] for text in texts]


def result_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.json")) if folder.exists() else []


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_a_plain_object_wrapping_minilm_gets_the_cards_metrics(
    shared_data: Path, minilm_path: Path, tmp_path: Path
) -> None:
    data = scifact_cut(shared_data / "beir-scifact", tmp_path / "scifact", documents=200)
    [card] = harness.evaluate("all-minilm-l6-v2", data=data, language="en", results_dir=tmp_path / "card", **QUICK)
    [mine] = harness.evaluate(
        MiniLM(minilm_path), name="my-minilm", data=data, language="en", results_dir=tmp_path / "mine", **QUICK
    )
    assert mine.metrics["ndcg@10"] == pytest.approx(card.metrics["ndcg@10"], abs=1e-6)
    assert mine.metrics["ndcg@10"] > 0.5
    for query, value in card.per_query["ndcg@10"].items():
        assert mine.per_query["ndcg@10"][query] == pytest.approx(value, abs=1e-6), query
    assert mine.record.model.adapter == "python"
    assert mine.record.model.details["object"] == "tests.test_python_api:MiniLM"
    assert mine.path.parent == tmp_path / "mine" / "local" / "my-minilm"
    [kept] = harness.evaluate(
        MiniLM(minilm_path), name="my-minilm", data=data, language="en", results_dir=tmp_path / "mine", **QUICK
    )
    assert (kept.path, kept.record.created_at) == (mine.path, mine.record.created_at)  # its run key: kept
    frame = mine.to_frame()
    assert set(frame["metric"]) == set(mine.metrics)
    assert frame.set_index("metric").loc["ndcg@10", "value"] == mine.metrics["ndcg@10"]


def test_a_second_call_keeps_the_first_result_unless_overwrite(tiny_beir: Path, tmp_path: Path) -> None:
    model = WordCounts()
    settings = {"data": tiny_beir, "language": "en", "results_dir": tmp_path / "results", **QUICK}
    [first] = harness.evaluate(model, **settings)
    calls = len(model.calls)
    [again] = harness.evaluate(model, **settings)
    assert again.path == first.path and again.record.created_at == first.record.created_at
    assert len(model.calls) == calls  # kept by its run key: nothing encoded
    [redone] = harness.evaluate(model, overwrite=True, **settings)
    assert redone.path == first.path and redone.metrics == first.metrics
    [revised] = harness.evaluate(model, revision="v2", **settings)
    assert revised.path != first.path  # a new revision is a new experiment


def test_the_objects_prompts_are_used_the_sentence_transformers_way(tiny_beir: Path, tmp_path: Path) -> None:
    model = WordCounts()
    model.prompts = {"query": "query: ", "passage": "passage: "}  # type: ignore[attr-defined]
    harness.evaluate(model, data=tiny_beir, language="en", results_dir=tmp_path, cache_dir=tmp_path / "c", **QUICK)
    names = [kwargs.get("prompt_name") for _, kwargs in model.calls]
    assert names == ["passage", "query"]  # documents first, then queries
    assert all(kwargs.get("batch_size") == 32 for _, kwargs in model.calls)


def test_an_encoder_instance_runs_as_it_is(tiny_beir: Path, tmp_path: Path) -> None:
    bm25 = load_encoder(load_card("bm25"))
    [result] = harness.evaluate(bm25, data=tiny_beir, language="en", results_dir=tmp_path, **QUICK)
    [by_name] = harness.evaluate("bm25", data=tiny_beir, language="en", results_dir=tmp_path, **QUICK)
    assert by_name.path == result.path  # the same card, the same run key: kept


def test_an_encoder_built_with_a_card_in_code_gets_a_hash(tiny_beir: Path, tmp_path: Path) -> None:
    class Ones(Encoder):
        family = "dense"

        def encode_queries(self, texts, language, progress=None):  # type: ignore[no-untyped-def]
            return DenseRepresentation(np.ones((len(texts), 3), dtype=np.float32))

        encode_documents = encode_queries

        def document_budget(self, language: str) -> None:
            return None

    card = ModelCard(name="ones", adapter="ones")
    [result] = harness.evaluate(
        Ones(card, EncodeSettings()), data=tiny_beir, language="en", results_dir=tmp_path, **QUICK
    )
    assert result.record.model.card_sha256.startswith("sha256:")
    assert set(result.metrics) >= {"ndcg@10"}


N_DOCUMENTS = len(TINY_CORPUS)


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (lambda texts: np.zeros((len(texts) - 1, 4)), f"returned {N_DOCUMENTS - 1} rows for {N_DOCUMENTS} texts"),
        (lambda texts: np.full((len(texts), 4), np.nan), "NaN or infinite values"),
        (lambda texts: np.zeros(len(texts)), rf"returned an array of shape \({N_DOCUMENTS},\)"),
    ],
)
def test_an_encode_that_breaks_the_contract_is_an_input_error_and_writes_nothing(  # type: ignore[no-untyped-def]
    tiny_beir: Path, tmp_path: Path, output, message: str
) -> None:
    class Broken:
        def encode(self, texts: list[str]) -> np.ndarray:
            return output(texts)

    with pytest.raises(InputError, match=message):
        harness.evaluate(Broken(), name="broken", data=tiny_beir, language="en", results_dir=tmp_path / "r", **QUICK)
    assert result_files(tmp_path / "r") == []


def test_bad_models_and_settings_are_input_errors(tiny_beir: Path, tmp_path: Path) -> None:
    assert harness.InputError is InputError
    with pytest.raises(InputError, match="cannot encode: a model needs an `encode"):
        harness.evaluate(object(), name="nothing", data=tiny_beir, results_dir=tmp_path, **QUICK)
    with pytest.raises(InputError, match="needs a name for its results"):
        harness.evaluate(lambda texts: None, data=tiny_beir, results_dir=tmp_path, **QUICK)
    with pytest.raises(InputError, match="cannot name a model"):
        harness.evaluate(WordCounts(), name="my model/v1", data=tiny_beir, results_dir=tmp_path, **QUICK)
    with pytest.raises(InputError, match="unknown setting 'batchsize'") as raised:
        harness.evaluate("bm25", data=tiny_beir, batchsize=4)
    assert "batch_size" in str(raised.value)
    with pytest.raises(InputError, match="unknown model 'no-such-model'"):
        harness.evaluate("no-such-model", data=tiny_beir, results_dir=tmp_path, **QUICK)
    assert result_files(tmp_path) == []


def test_load_report_and_fuse_complete_the_api(tiny_beir: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    harness.evaluate("bm25", data=tiny_beir, language="en", results_dir=results, **QUICK)
    harness.evaluate(WordCounts(), data=tiny_beir, language="en", results_dir=results, **QUICK)
    assert [r.record.model.name for r in harness.load(results, model="word-counts")] == ["word-counts"]
    assert len(harness.load(results, language="en")) == 2
    [fused] = harness.fuse(["bm25", "word-counts"], data=tiny_beir, language="en", results_dir=results)
    assert fused.record.model.name == "rrf:bm25+word-counts"
    assert fused.metrics["ndcg@10"] > 0
    pages = harness.report(results, tmp_path / "reports")
    assert tmp_path / "reports" / "index.html" in pages
    assert "word-counts" in (tmp_path / "reports" / "leaderboard.md").read_text()


def test_a_python_card_cannot_run_from_the_command_line(tiny_beir: Path, tmp_path: Path) -> None:
    card = tmp_path / "mine.yaml"
    card.write_text(json.dumps({"name": "mine", "adapter": "python", "parameters": {"object": "x:Y"}}))
    outcome = CliRunner().invoke(
        app, ["run", "--data", str(tiny_beir), "-m", str(card), "--results-dir", str(tmp_path / "r"), "--no-energy"]
    )
    assert outcome.exit_code == 2
    assert "run it from Python: harness.evaluate(your_model" in outcome.output
    assert result_files(tmp_path / "r") == []
