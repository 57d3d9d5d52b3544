"""NLLB-E5 on tiny checkpoints in the published layouts: input composition, masking, the 508-token cap,
language routing, the documented folder layout end to end, and distillation that lowers its loss."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

from harness.catalog.cards import load_card
from harness.cli import app
from harness.core.errors import InputError
from harness.models.adapters import load_encoder
from harness.models.nllb_e5.layout import CONFIG_FILE, LORA_DIR, PROJECTION_FILE
from tests.conftest import TINY_CORPUS, TINY_QRELS, TINY_QUERIES, write_beir
from tests.tiny_models import write_tiny_bert
from tests.tiny_nllb import write_tiny_nllb, write_tiny_nllb_e5

pytest.importorskip("peft", reason="NLLB-E5's LoRA adapter needs peft (the test extra installs it)")
runner = CliRunner()

PAIRS = [
    {"english": "cats are small domestic felines that purr and hunt mice", "role": "passage"},
    {"english": "how is bread baked", "text": "Wie wird Brot gebacken?", "language": "de", "role": "query"},
    {
        "english": "which animals purr and hunt mice",
        "text": "Welche Tiere schnurren und jagen Mäuse?",
        "language": "de",
    },
    {
        "english": "lava and ash eruption",
        "text": "Lava und Asche bei einem Ausbruch.",
        "language": "de",
        "role": "query",
    },
    {"english": "bread is baked from flour water salt and yeast in an oven"},
    {"english": "dogs are loyal domestic animals that bark and fetch sticks", "role": "passage"},
]


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("bases")
    return write_tiny_nllb(folder / "nllb"), write_tiny_bert(folder / "e5")


@pytest.fixture(scope="module")
def nllb_e5_card(tmp_path_factory: pytest.TempPathFactory, bases: tuple[Path, Path]) -> Path:
    folder = tmp_path_factory.mktemp("nllb-e5")
    write_tiny_nllb_e5(folder / "model", *bases)
    card = folder / "tiny-nllb-e5.yaml"
    card.write_text(yaml.safe_dump({"name": "tiny-nllb-e5", "adapter": "nllb-e5", "parameters": {"path": "model"}}))
    return card


@pytest.fixture(scope="module")
def encoder(nllb_e5_card: Path):
    return load_encoder(load_card(str(nllb_e5_card)))


def e5_inputs(encoder, texts: list[str], language: str) -> tuple[dict, object]:
    """What E5 receives for these texts, captured at its forward call."""
    seen: dict = {}
    hook = encoder.model.e5.register_forward_pre_hook(lambda _, args, kwargs: seen.update(kwargs), with_kwargs=True)
    try:
        encoder.encode_queries(texts, language)
    finally:
        hook.remove()
    tokens = encoder.model.tokenize(texts, ["deu_Latn" if language == "de" else "eng_Latn"] * len(texts))
    return seen, tokens


def test_e5_receives_prefix_embeddings_projected_states_and_a_closing_sep(encoder) -> None:
    seen, tokens = e5_inputs(encoder, ["Wie wird Brot gebacken?"], "de")
    embeddings = seen["inputs_embeds"][0]
    nllb_length = int(tokens["attention_mask"][0].sum())
    prefix = encoder.model.prefix_ids["query"]
    word = encoder.model.e5.get_input_embeddings()
    assert len(prefix) == 3  # [CLS] query :
    assert torch.equal(embeddings[: len(prefix)], word(torch.tensor(prefix)))
    assert torch.equal(embeddings[len(prefix) + nllb_length], word(torch.tensor(encoder.model.sep_id)))
    assert embeddings.shape[0] == len(prefix) + nllb_length + 1


def test_nllb_language_code_and_end_tokens_are_masked_but_keep_their_positions(encoder) -> None:
    seen, tokens = e5_inputs(encoder, ["Wie wird Brot gebacken?"], "de")
    mask = seen["attention_mask"][0].tolist()
    ids = tokens["input_ids"][0].tolist()
    tokenizer = encoder.model.nllb_tokenizer
    assert ids[0] == tokenizer.convert_tokens_to_ids("deu_Latn") and ids[-1] == tokenizer.eos_token_id
    assert mask == [1, 1, 1] + [0] + [1] * (len(ids) - 2) + [0] + [1]


def test_the_text_language_selects_the_nllb_source_code(encoder) -> None:
    english = encoder.encode_queries(["cats and dogs"], "en").vectors
    german = encoder.encode_queries(["cats and dogs"], "de").vectors
    assert not torch.allclose(torch.from_numpy(english), torch.from_numpy(german))
    assert english[0] @ english[0] == pytest.approx(1.0, abs=1e-5)


def test_a_language_nllb_lacks_is_refused(encoder) -> None:
    with pytest.raises(InputError, match="NLLB-200 has no language for 'la' \\(card tiny-nllb-e5\\)"):
        encoder.encode_queries(["Quis est?"], "la")


def test_nllb_input_is_capped_at_508_tokens_ending_with_the_end_token(bases: tuple[Path, Path], tmp_path: Path) -> None:
    e5_512 = write_tiny_bert(tmp_path / "e5-512", max_position_embeddings=512)
    write_tiny_nllb_e5(tmp_path / "model", bases[0], e5_512)
    card = tmp_path / "card.yaml"
    card.write_text(yaml.safe_dump({"name": "long", "adapter": "nllb-e5", "parameters": {"path": "model"}}))
    model = load_encoder(load_card(str(card))).model
    assert model.max_nllb_tokens == 508
    ids = model.tokenize(["cats purr " * 400], ["eng_Latn"])["input_ids"][0]
    assert len(ids) == 508 and int(ids[-1]) == model.nllb_tokenizer.eos_token_id


def test_tiny_nllb_e5_in_the_documented_layout_runs_through_harness_run(nllb_e5_card: Path, tmp_path: Path) -> None:
    data = write_beir(tmp_path / "data", TINY_CORPUS, TINY_QUERIES, TINY_QRELS)
    results = tmp_path / "results"
    outcome = runner.invoke(
        app,
        [
            *("run", "--data", str(data), "--language", "en", "-m", str(nllb_e5_card)),
            *("--results-dir", str(results), "--no-report", "--no-energy", "--latency-sample", "2"),
        ],
        catch_exceptions=False,
    )
    assert outcome.exit_code == 0, outcome.output
    [path] = sorted(results.rglob("*.json"))
    record = json.loads(path.read_text())
    assert record["model"]["family"] == "dense"
    assert set(record["per_query"]["ndcg@10"]) == {"q1", "q2", "q3"}
    details = record["model"]["details"]
    assert details["projection"] == {"input_dim": 16, "hidden_dim": 64, "output_dim": 16, "activation": "gelu"}
    assert details["max_nllb_tokens"] == 60  # the tiny E5 has 64 positions: 64 - 3 prefix - 1 [SEP]
    assert details["nllb"]["path"].endswith("nllb") and details["e5"]["path"].endswith("e5")


def test_projection_of_the_wrong_shape_names_the_tensor(nllb_e5_card: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    model = tmp_path / "model"
    source = nllb_e5_card.parent / "model"
    for name in (CONFIG_FILE, PROJECTION_FILE):
        (model / name).parent.mkdir(parents=True, exist_ok=True)
        (model / name).write_bytes((source / name).read_bytes())
    (model / LORA_DIR).symlink_to(source / LORA_DIR)
    tensors = load_file(str(model / PROJECTION_FILE))
    tensors["down.weight"] = tensors["down.weight"][:, :10].contiguous()
    save_file(tensors, str(model / PROJECTION_FILE))
    card = tmp_path / "card.yaml"
    card.write_text(yaml.safe_dump({"name": "bad", "adapter": "nllb-e5", "parameters": {"path": "model"}}))
    with pytest.raises(InputError, match=r"tensor down.weight has shape \(16, 10\), expected \(16, 64\)"):
        load_encoder(load_card(str(card)))


def test_a_missing_folder_says_how_to_make_one(tmp_path: Path) -> None:
    card = tmp_path / "card.yaml"
    card.write_text(yaml.safe_dump({"name": "gone", "adapter": "nllb-e5", "parameters": {"path": "nowhere"}}))
    with pytest.raises(InputError, match="train one with `harness distill nllb-e5`"):
        load_encoder(load_card(str(card)))


def test_distill_lowers_its_loss_and_writes_a_folder_the_adapter_loads(
    bases: tuple[Path, Path], tmp_path: Path
) -> None:
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(pair, ensure_ascii=False) + "\n" for pair in PAIRS), encoding="utf-8")
    output = tmp_path / "distilled"
    outcome = runner.invoke(
        app,
        [
            *("distill", "nllb-e5", "--data", str(data), "--output", str(output), "--nllb", str(bases[0])),
            *("--e5", str(bases[1]), "--max-steps", "8", "--epochs", "10", "--batch-size", "3"),
            *("--learning-rate", "0.01", "--lora-rank", "4", "--lora-alpha", "8", "--projection-hidden", "32"),
            *("--device", "cpu"),
        ],
        catch_exceptions=False,
    )
    assert outcome.exit_code == 0, outcome.output
    assert sorted(p.name for p in output.iterdir()) == [LORA_DIR, CONFIG_FILE, PROJECTION_FILE]
    assert {"adapter_config.json", "adapter_model.safetensors"} <= {p.name for p in (output / LORA_DIR).iterdir()}
    training = json.loads((output / CONFIG_FILE).read_text())["training"]
    curve = training["loss_curve"]
    assert training["steps"] == 8 and len(curve) == 8
    assert sum(curve[-3:]) / 3 < 0.5 * sum(curve[:3]) / 3
    assert training["languages"] == {"en": 3, "de": 3}
    card = tmp_path / "card.yaml"
    card.write_text(yaml.safe_dump({"name": "distilled", "adapter": "nllb-e5", "parameters": {"path": str(output)}}))
    vectors = load_encoder(load_card(str(card))).encode_documents(["Brot wird gebacken."], "de").vectors
    assert vectors.shape == (1, 16)


def test_distill_refuses_a_bad_example_naming_its_line(bases: tuple[Path, Path], tmp_path: Path) -> None:
    data = tmp_path / "pairs.jsonl"
    data.write_text('{"english": "cats"}\n{"english": "dogs", "language": "la"}\n', encoding="utf-8")
    outcome = runner.invoke(
        app, ["distill", "nllb-e5", "--data", str(data), "--output", str(tmp_path / "out"), "--nllb", str(bases[0])]
    )
    assert outcome.exit_code == 2
    assert "pairs.jsonl:2: NLLB-200 has no language for 'la'" in " ".join(outcome.output.split())
    assert not (tmp_path / "out").exists()


def test_the_lora_adapter_is_merged_into_e5(encoder, bases: tuple[Path, Path]) -> None:
    from transformers import AutoModel

    base = AutoModel.from_pretrained(bases[1]).encoder.layer[0].attention.self.query.weight
    merged = encoder.model.e5.encoder.layer[0].attention.self.query.weight
    assert merged.shape == base.shape
    assert not torch.allclose(merged, base)
