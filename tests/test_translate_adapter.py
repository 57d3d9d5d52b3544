"""Translate-then-retrieve with a tiny NLLB checkpoint: end to end, cached, costed, composed with BM25."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from harness.catalog.cards import load_card
from harness.cli import app
from harness.core.errors import InputError
from harness.models.adapters import card_family, load_encoder
from harness.models.translation import TranslationKey, split_sentences
from harness.run.api import index_override
from tests.conftest import write_beir
from tests.tiny_nllb import write_tiny_nllb

runner = CliRunner()

ENGLISH = [
    {"_id": "cats", "text": "Cats are small domestic felines that purr and hunt mice."},
    {"_id": "bread", "text": "Bread is baked from flour, water, salt and yeast in an oven."},
    {"_id": "lava", "text": "A volcano erupts lava, ash and gas from the Earth's mantle."},
]
GERMAN_QUERIES = {
    "q1": ("Welche Tiere schnurren und jagen Mäuse?", "which animals purr and hunt mice"),
    "q2": ("Wie wird Brot gebacken?", "how is bread baked"),
    "q3": ("Lava und Asche bei einem Ausbruch.", "lava and ash eruption"),
}
QRELS = [("q1", "cats", 1), ("q2", "bread", 1), ("q3", "lava", 1)]


@pytest.fixture(scope="module")
def tiny_nllb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_nllb(tmp_path_factory.mktemp("models") / "tiny-nllb")


@pytest.fixture
def cross_lingual_suite(tmp_path: Path) -> Path:
    """German queries against English passages: the parallel-beir layout with English judgements."""
    german = [{"_id": qid, "text": german} for qid, (german, _) in GERMAN_QUERIES.items()]
    english = [{"_id": qid, "text": english} for qid, (_, english) in GERMAN_QUERIES.items()]
    write_beir(tmp_path / "data" / "en", ENGLISH, english, QRELS)
    write_beir(tmp_path / "data" / "de", [{"_id": f"de-{d['_id']}", "text": d["text"]} for d in ENGLISH], german, [])
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        yaml.safe_dump(
            {
                "name": "toy",
                "metrics": ["ndcg@10"],
                "primary_metric": "ndcg@10",
                "datasets": [
                    {
                        "name": "toy",
                        "source": {
                            "kind": "beir",
                            "path": "data",
                            "corpus": "{document_language}/corpus.jsonl",
                            "queries": "{query_language}/queries.jsonl",
                            "qrels": "{document_language}/qrels/{split}.tsv",
                        },
                        "languages": ["de-en"],
                    }
                ],
            }
        )
    )
    return suite


def write_card(folder: Path, translator: Path, **parameters: object) -> Path:
    card = folder / "translate-bm25.yaml"
    card.write_text(
        yaml.safe_dump(
            {
                "name": "translate-bm25",
                "adapter": "translate",
                "parameters": {
                    "translator": {"path": str(translator)},
                    "retriever": "bm25",
                    "num_beams": 1,
                    "max_new_tokens": 8,
                    "cache_dir": "translation-cache",
                    **parameters,
                },
            }
        )
    )
    return card


def run(suite: Path, card: Path, results: Path) -> dict:
    outcome = runner.invoke(
        app,
        ["run", "--suite", str(suite), "-m", str(card), "--results-dir", str(results), "--no-report", "--no-energy"],
        catch_exceptions=False,
    )
    assert outcome.exit_code == 0, outcome.output
    [path] = sorted(results.rglob("*.json"))
    return json.loads(path.read_text())


def test_translate_then_bm25_runs_through_harness_run_and_hits_the_cache_the_second_time(
    tmp_path: Path, tiny_nllb: Path, cross_lingual_suite: Path
) -> None:
    card = write_card(tmp_path, tiny_nllb)
    first = run(cross_lingual_suite, card, tmp_path / "first")
    assert (first["query_language"], first["document_language"]) == ("de", "en")
    assert first["model"]["family"] == "sparse"
    translation = first["model"]["details"]["translation"]
    assert translation["queries"]["texts"] == 3
    assert translation["queries"]["generated"] == 3 and translation["queries"]["cache_hits"] == 0
    assert translation["queries"]["seconds"] > 0
    assert translation["model"]["architecture"] == "M2M100ForConditionalGeneration"
    assert translation["model"]["revision"].startswith("local-sha256:")
    assert "energy" in translation["cost_accounting"]
    assert "documents" not in translation  # documents are already in the target language
    assert first["model"]["details"]["retriever"]["card"] == "bm25"

    second = run(cross_lingual_suite, card, tmp_path / "second")
    queries = second["model"]["details"]["translation"]["queries"]
    assert queries["cache_hits"] == 3 and queries["generated"] == 0
    assert second["metrics"] == first["metrics"]


def test_cached_translations_are_what_the_retriever_searches_with(
    tmp_path: Path, tiny_nllb: Path, cross_lingual_suite: Path
) -> None:
    """Seed the cache with real translations: BM25 then finds every English passage."""
    card_path = write_card(tmp_path, tiny_nllb)
    translator = load_encoder(load_card(str(card_path))).translator
    key = TranslationKey(translator.name, translator.revision, translator.settings(), "de", "en")
    german, english = zip(*GERMAN_QUERIES.values(), strict=True)
    translator.cache.put_many(key, list(german), list(english))
    record = run(cross_lingual_suite, card_path, tmp_path / "results")
    assert record["metrics"]["ndcg@10"] == pytest.approx(1.0)
    assert record["model"]["details"]["translation"]["queries"]["cache_hits"] == 3


def test_the_target_language_is_forced_as_the_first_generated_token(tiny_nllb: Path, tmp_path: Path) -> None:
    encoder = load_encoder(load_card(str(write_card(tmp_path, tiny_nllb, cache=False))))
    translator = encoder.translator
    seen: list[dict] = []
    generate = translator.model.generate

    def recording_generate(**kwargs: object) -> object:
        seen.append(kwargs)
        return generate(**kwargs)

    translator.model.generate = recording_generate
    translator.translate(["Wie wird Brot gebacken?"], "de", "hi")
    assert seen[0]["forced_bos_token_id"] == translator.tokenizer.convert_tokens_to_ids("hin_Deva")
    assert seen[0]["input_ids"][0, 0] == translator.tokenizer.convert_tokens_to_ids("deu_Latn")


def test_documents_are_translated_by_sentence_when_asked(tiny_nllb: Path, tmp_path: Path) -> None:
    card = write_card(tmp_path, tiny_nllb, translate_documents=True, target_language="en")
    encoder = load_encoder(load_card(str(card)))
    encoder.encode_documents(["Katzen jagen Mäuse. Wie wird Brot gebacken?", "Lava und Asche."], "de")
    documents = encoder.describe()["translation"]["documents"]
    assert (documents["texts"], documents["segments"], documents["generated"]) == (2, 3, 3)


def test_a_language_nllb_lacks_is_refused(tiny_nllb: Path, tmp_path: Path) -> None:
    encoder = load_encoder(load_card(str(write_card(tmp_path, tiny_nllb))))
    encoder.encode_documents([d["text"] for d in ENGLISH], "en")
    with pytest.raises(InputError, match="NLLB-200 has no language for 'la'"):
        encoder.encode_queries(["Quis est?"], "la")


def test_translating_documents_needs_a_fixed_target(tiny_nllb: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"\[parameters.target_language\]: translating the documents needs"):
        load_encoder(load_card(str(write_card(tmp_path, tiny_nllb, translate_documents=True))))


def test_sentences_split_after_latin_cjk_and_devanagari_punctuation() -> None:
    assert split_sentences("One. Two? Three!") == ["One.", "Two?", "Three!"]
    assert split_sentences("猫が鳴く。犬が吠える。") == ["猫が鳴く。", "犬が吠える。"]
    assert split_sentences("एक। दो") == ["एक।", "दो"]
    assert split_sentences("3.5 kg. Done") == ["3.5 kg.", "Done"]


def test_bundled_translate_cards_name_a_pinned_nllb_and_a_bundled_retriever() -> None:
    for name in ("nllb-translate-bm25", "nllb-translate-all-minilm-l6-v2"):
        card = load_card(name)
        assert card.adapter == "translate"
        assert card.parameters["translator"]["hub_id"] == "facebook/nllb-200-distilled-600M"
        assert len(card.parameters["translator"]["revision"]) == 40
        load_card(card.parameters["retriever"])


def test_m2m100_checkpoints_use_iso_language_tokens(tmp_path: Path) -> None:
    pytest.importorskip("sentencepiece", reason="M2M-100's tokenizer needs sentencepiece")
    from tests.tiny_nllb import write_tiny_m2m100

    encoder = load_encoder(load_card(str(write_card(tmp_path, write_tiny_m2m100(tmp_path / "m2m"), cache=False))))
    translator = encoder.translator
    assert translator._codes("de") == ("de", "__de__")
    [translated], stats = translator.translate(["Wie wird Brot gebacken?"], "de", "en")
    assert stats.generated == 1
    assert "__" not in translated  # language tokens never leak into the text handed to the retriever
    with pytest.raises(InputError, match="has no language token for 'la'"):
        translator.translate(["Quis est?"], "la", "en")


def test_a_translate_card_has_its_retrievers_family_before_any_weights_load() -> None:
    # The bundled translator is a hub checkpoint: offline, loading it would fail, so nothing loads here.
    assert card_family(load_card("nllb-translate-bm25")) == "sparse"
    assert card_family(load_card("nllb-translate-all-minilm-l6-v2")) == "dense"


def test_index_override_checks_a_translate_card_by_its_retriever() -> None:
    assert index_override("sparse-exact", [load_card("nllb-translate-bm25")]) == {"kind": "sparse-exact"}
    with pytest.raises(InputError, match="'faiss-flat' is for dense models but 'nllb-translate-bm25' is sparse"):
        index_override("faiss-flat", [load_card("nllb-translate-bm25")])


def test_a_translate_card_reads_documents_with_its_retrievers_budget_unless_it_translates_them(
    tiny_nllb: Path, tmp_path: Path
) -> None:
    from tests.tiny_models import write_tiny_bert

    write_tiny_bert(tmp_path / "bert")
    retriever = {"name": "tiny", "adapter": "dense", "parameters": {"path": "bert", "max_document_length": 8}}
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(retriever))
    reading = load_encoder(load_card(str(write_card(tmp_path, tiny_nllb, retriever="tiny.yaml"))))
    assert reading.document_budget("de").content_tokens == 6
    card = write_card(tmp_path, tiny_nllb, retriever="tiny.yaml", translate_documents=True, target_language="en")
    translating = load_encoder(load_card(str(card)))
    assert translating.document_budget("de") is None
    assert translating.document_budget("en").content_tokens == 6  # already in the target language
