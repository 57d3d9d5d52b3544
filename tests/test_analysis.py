"""Per-language analysis for BM25: each test pins one behaviour to concrete terms."""

from __future__ import annotations

import pickle

import pytest
import Stemmer

from harness.core.errors import InputError
from harness.models.analysis import Analyzer, analyzer_for, analyzer_names
from harness.models.analysis.tokenizer import normalise, tokenize

LUCENE_ENGLISH_STOPWORDS = {
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no",
    "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this",
    "to", "was", "will", "with",
}  # fmt: skip


def test_english_porter_stemming_drops_stopwords() -> None:
    assert analyzer_for("en").analyze("The running dogs are barking") == ["run", "dog", "bark"]


def test_english_stopwords_are_lucenes_33() -> None:
    stopwords = analyzer_for("en").stopwords
    assert stopwords is not None
    assert stopwords.words == LUCENE_ENGLISH_STOPWORDS
    assert len(stopwords.words) == 33


def test_english_uses_original_porter_not_snowball_english() -> None:
    # Snowball's "english" (Porter2) gives "general"; Lucene's PorterStemFilter gives "gener".
    assert analyzer_for("en").analyze("generalizations") == ["gener"]


def test_english_strips_possessive() -> None:
    assert analyzer_for("en").analyze("The dog's bone, the cat’s tail") == ["dog", "bone", "cat", "tail"]


def test_german_snowball_stemming_and_stopwords() -> None:
    assert analyzer_for("de").analyze("Die Häuser der Hunde an der Straße") == ["haus", "hund", "strass"]


def test_french_elision() -> None:
    assert analyzer_for("fr").analyze("L'avion qu'il prend aujourd'hui") == ["avion", "prend", "aujourd'hui"]


def test_turkish_dotted_and_dotless_i_and_apostrophe_suffix() -> None:
    assert analyzer_for("tr").analyze("ISPARTA İstanbul'da") == ["ıspar", "istanbul"]


def test_chinese_run_becomes_overlapping_bigrams() -> None:
    assert analyzer_for("zh").analyze("北京大学") == ["北京", "京大", "大学"]


def test_isolated_cjk_character_is_a_unigram() -> None:
    assert analyzer_for("zh").analyze("猫，狗 和 鱼") == ["猫", "狗", "和", "鱼"]


def test_chinese_text_keeps_latin_words_whole() -> None:
    assert analyzer_for("zh").analyze("我用iPhone拍照。The end") == ["我用", "iphone", "拍照", "end"]


def test_english_text_bigrams_its_chinese_runs() -> None:
    assert analyzer_for("en").analyze("Visiting 北京大学 universities") == [
        "visit", "北京", "京大", "大学", "univers",
    ]  # fmt: skip


def test_japanese_kana_and_long_vowel_mark_join_the_bigram_run() -> None:
    assert analyzer_for("ja").analyze("東京タワーに") == ["東京", "京タ", "タワ", "ワー", "ーに"]


def test_korean_hangul_words_become_bigrams() -> None:
    assert analyzer_for("ko").analyze("한국어 분석") == ["한국", "국어", "분석"]


def test_characters_outside_the_bmp_are_segmented_too() -> None:
    assert analyzer_for("zh").analyze("𠮷野家 😀 beef") == ["𠮷野", "野家", "beef"]


def test_hindi_word_stays_one_token_with_its_vowel_signs() -> None:
    assert tokenize(normalise("हिन्दी भाषा")) == ["हिन्दी", "भाषा"]


def test_hindi_is_snowball_stemmed() -> None:
    assert analyzer_for("hi").analyze("हिन्दी किताबें") == ["हिन्द", "किताब"]


def test_thai_becomes_grapheme_bigrams() -> None:
    # ส วั ส ดี: the vowel marks stay on their consonants.
    assert analyzer_for("th").analyze("สวัสดี") == ["สวั", "วัส", "สดี"]


def test_swahili_is_only_lowercased() -> None:
    assert analyzer_for("sw").analyze("Watoto WANACHEZA mpira, na") == ["watoto", "wanacheza", "mpira", "na"]


def test_nfkc_width_and_native_digits_are_normalised() -> None:
    assert analyzer_for("sw").analyze("ＡＢＣ ２０２０ १२३ ﬁne") == ["abc", "2020", "123", "fine"]


def test_words_hold_inner_apostrophes_and_number_punctuation() -> None:
    assert analyzer_for("sw").analyze("don't 3.14 1,000 U.S. a.1 snake_case") == [
        "don't", "3.14", "1,000", "u.s", "a", "1", "snake", "case",
    ]  # fmt: skip


@pytest.mark.parametrize("text", ["", "   ", "!!! ... — ?", "。、「」"])
def test_empty_or_punctuation_only_text_has_no_terms(text: str) -> None:
    assert analyzer_for("en").analyze(text) == []


def test_describe_english() -> None:
    assert analyzer_for("en").describe() == {
        "language": "en",
        "name": "lucene-english",
        "tokenizer": "unicode-word",
        "normalization": "NFKC",
        "lowercase": "casefold",
        "digits": "ascii",
        "segmentation": "cjk-bigram+sea-grapheme-bigram",
        "clitics": "english-possessive",
        "stemmer": "porter",
        "stopwords": {"source": "lucene-english", "count": 33},
    }


def test_describe_chinese() -> None:
    description = analyzer_for("zh").describe()
    assert description["name"] == "lucene-cjk"
    assert description["stemmer"] is None
    assert description["stopwords"] == {"source": "lucene-cjk", "count": 35}


def test_describe_swahili() -> None:
    description = analyzer_for("sw").describe()
    assert (description["name"], description["stemmer"], description["stopwords"]) == ("plain", None, None)


def test_describe_snowball_language_records_stemmer_and_list() -> None:
    description = analyzer_for("de").describe()
    assert description["stemmer"] == "snowball-german"
    assert description["stopwords"] == {"source": "bm25s-german", "count": 231}  # "daß" folds into "dass"


def test_valid_language_without_analyzer_falls_back_to_plain() -> None:
    analyzer = analyzer_for("haw")  # Hawaiian: ISO 639-3 only
    assert analyzer == Analyzer(language="haw")
    assert analyzer.analyze("Aloha KĀKOU") == ["aloha", "kākou"]


def test_three_letter_code_gets_the_two_letter_analyzer() -> None:
    assert analyzer_for("deu") == analyzer_for("de")


def test_code_that_is_no_language_is_refused() -> None:
    with pytest.raises(InputError, match="not an ISO 639 language code"):
        analyzer_for("xx")


@pytest.mark.parametrize("language", ["en", "de", "zh", "hi", "th", "sw"])
def test_analyze_many_equals_analyze_per_text(language: str) -> None:
    texts = ["The dog's houses", "", "北京大学 und Häuser", "हिन्दी किताबें", "สวัสดี ครับ", "Watoto 2020"]
    analyzer = analyzer_for(language)
    assert analyzer.analyze_many(texts) == [analyzer.analyze(text) for text in texts]


def test_analyzer_survives_pickling_after_use() -> None:
    analyzer = analyzer_for("en")
    analyzer.analyze("warm the stemmer")
    copy = pickle.loads(pickle.dumps(analyzer))
    assert copy == analyzer
    assert copy.analyze("running dogs") == ["run", "dog"]


def test_analyzer_names_cover_the_dedicated_analyzers() -> None:
    names = analyzer_names()
    assert names["en"] == "lucene-english"
    assert names["zh"] == names["ja"] == names["ko"] == "lucene-cjk"
    assert names["th"] == "grapheme-bigram"
    assert names["de"] == "snowball-german"
    assert "sw" not in names and "yo" not in names


def test_every_stemmer_in_the_table_exists_in_pystemmer() -> None:
    available = set(Stemmer.algorithms())
    for code in analyzer_names():
        stemmer = analyzer_for(code).stemmer
        assert stemmer is None or stemmer in available, code
