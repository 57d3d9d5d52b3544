"""ESCI from parquet files written in the dataset's exact schema: locales, gains, catalogue, cross-locale."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from harness.core.errors import InputError, SourceUnavailableError
from harness.data import LanguagePair
from harness.data.sources import make_source
from harness.data.sources.esci import EXAMPLES_FILE, PRODUCTS_FILE
from harness.evaluation import evaluate

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

EXAMPLES_SCHEMA = pa.schema(
    [
        ("example_id", pa.int64()),
        ("query", pa.string()),
        ("query_id", pa.int64()),
        ("product_id", pa.string()),
        ("product_locale", pa.string()),
        ("esci_label", pa.string()),
        ("small_version", pa.int64()),
        ("large_version", pa.int64()),
        ("split", pa.string()),
    ]
)
PRODUCTS_SCHEMA = pa.schema(
    [
        ("product_id", pa.string()),
        ("product_title", pa.string()),
        ("product_description", pa.string()),
        ("product_bullet_point", pa.string()),
        ("product_brand", pa.string()),
        ("product_color", pa.string()),
        ("product_locale", pa.string()),
    ]
)
# (query_id, query, product_id, locale, label, small_version, split)
EXAMPLES = [
    (1, "red running shoes", "B001", "us", "E", 1, "test"),
    (1, "red running shoes", "B002", "us", "S", 1, "test"),
    (1, "red running shoes", "B003", "us", "C", 1, "test"),
    (1, "red running shoes", "B004", "us", "I", 1, "test"),
    (2, "usb cable", "B005", "us", "E", 1, "test"),
    (3, "coffee mug", "B006", "us", "E", 0, "test"),  # large version only
    (4, "garden hose", "B007", "us", "E", 1, "train"),
    (10, "zapatillas rojas", "B001", "es", "E", 1, "test"),  # B001 is also sold in the us
    (10, "zapatillas rojas", "E100", "es", "S", 1, "test"),  # es-only product
    (11, "taza de café", "E101", "es", "E", 1, "test"),  # no us counterpart
    (20, "赤い靴", "J200", "jp", "E", 1, "test"),
]
PRODUCTS = [
    ("B001", "Red Runner", "Light shoe for road running.", "Breathable mesh\nRubber sole", "Acme", "red", "us"),
    ("B002", "Crimson Trainer", None, "Cushioned", "Acme", "red", "us"),
    ("B003", "Shoe laces", "Spare laces.", None, "Lacy", None, "us"),
    ("B004", "Garden gnome", "Decor.", None, "Gnomo", None, "us"),
    ("B005", "USB-C cable", "Charges phones.", "1 m", "Wired", "black", "us"),
    ("B006", "Mug", "Ceramic mug.", None, "Cup Co", "white", "us"),
    ("B007", "Hose", "Garden hose.", None, "Aqua", "green", "us"),
    ("B999", "Unjudged lamp", "A lamp.", None, "Lumen", "white", "us"),
    ("B001", "Zapatilla Roja", "Zapatilla ligera.", "Malla transpirable", "Acme", "rojo", "es"),
    ("E100", "Zapatilla carmesí", "Acolchada.", None, "Acme", "rojo", "es"),
    ("E101", "Taza", "Taza de cerámica.", None, "Taza SA", "blanco", "es"),
    ("J200", "赤い靴", "軽い靴。", None, "Acme", "赤", "jp"),
]


def write_esci(folder: Path, examples=EXAMPLES, products=PRODUCTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    example_rows = {name: [] for name in EXAMPLES_SCHEMA.names}
    for number, (query_id, query, product_id, locale, label, small, split) in enumerate(examples):
        values = (number, query, query_id, product_id, locale, label, small, 1, split)
        for name, value in zip(EXAMPLES_SCHEMA.names, values, strict=True):
            example_rows[name].append(value)
    pq.write_table(pa.Table.from_pydict(example_rows, schema=EXAMPLES_SCHEMA), folder / EXAMPLES_FILE)
    product_rows = {name: [row[i] for row in products] for i, name in enumerate(PRODUCTS_SCHEMA.names)}
    pq.write_table(pa.Table.from_pydict(product_rows, schema=PRODUCTS_SCHEMA), folder / PRODUCTS_FILE)
    return folder


def load(folder: Path, label: str, split: str = "test", **params):
    source = make_source({"kind": "esci", "path": str(folder), **params}, base_dir=folder)
    return source.load("esci", LanguagePair.parse(label), split)


def test_us_locale_reads_test_queries_of_the_small_version_with_scaled_gains(tmp_path: Path) -> None:
    task = load(write_esci(tmp_path / "esci"), "en")
    assert task.queries.ids == ["1", "2"]
    assert task.queries.texts == ["red running shoes", "usb cable"]
    assert task.qrels == {"1": {"B001": 100, "B002": 10, "B003": 1, "B004": 0}, "2": {"B005": 100}}
    assert task.metadata["gains"] == {"E": 100, "S": 10, "C": 1, "I": 0}


def test_product_text_is_title_then_bullet_points_then_description(tmp_path: Path) -> None:
    task = load(write_esci(tmp_path / "esci"), "en")
    row = task.corpus.ids.index("B001")
    assert task.corpus.titles[row] == "Red Runner"
    assert task.corpus.joined_texts()[row] == "Red Runner Breathable mesh\nRubber sole\nLight shoe for road running."
    assert task.corpus.joined_texts()[task.corpus.ids.index("B002")] == "Crimson Trainer Cushioned"


def test_judged_catalogue_holds_the_products_judged_for_the_split(tmp_path: Path) -> None:
    folder = write_esci(tmp_path / "esci")
    assert sorted(load(folder, "en").corpus.ids) == ["B001", "B002", "B003", "B004", "B005"]
    assert "B999" in load(folder, "en", catalogue="all").corpus.ids
    assert load(folder, "en", task_version="large").queries.ids == ["1", "2", "3"]
    assert load(folder, "en", split="train").queries.ids == ["4"]


def test_japanese_locale_is_the_ja_language(tmp_path: Path) -> None:
    task = load(write_esci(tmp_path / "esci"), "ja")
    assert task.queries.texts == ["赤い靴"] and task.corpus.language == "ja"
    assert task.qrels == {"20": {"J200": 100}}


def test_cross_locale_keeps_judgements_on_products_shared_with_the_catalogue(tmp_path: Path) -> None:
    task = load(write_esci(tmp_path / "esci"), "es-en")
    assert task.qrels == {"10": {"B001": 100}}
    assert task.queries.texts == ["zapatillas rojas"]
    # the document is the us listing of the shared product, inside the us catalogue of judged products
    assert task.corpus.titles[task.corpus.ids.index("B001")] == "Red Runner"
    assert sorted(task.corpus.ids) == ["B001", "B002", "B003", "B004", "B005"]
    assert task.metadata["judgements_without_product_in_catalogue"] == 2


def test_scaled_gains_give_the_benchmark_ndcg_computed_by_hand(tmp_path: Path) -> None:
    task = load(write_esci(tmp_path / "esci"), "en")
    run = {"1": {"B004": 4.0, "B003": 3.0, "B001": 2.0, "B002": 1.0}, "2": {"B005": 1.0}}
    # query 1 with the benchmark's fractional gains: ranks I, C, E, S against the ideal E, S, C, I
    dcg = 0.0 / math.log2(2) + 0.01 / math.log2(3) + 1.0 / math.log2(4) + 0.1 / math.log2(5)
    ideal = 1.0 / math.log2(2) + 0.1 / math.log2(3) + 0.01 / math.log2(4)
    expected = (dcg / ideal + 1.0) / 2
    assert evaluate(task.qrels, run, ["ndcg@10"]).means["ndcg@10"] == pytest.approx(expected, abs=1e-12)


def test_unknown_label_names_the_example_and_the_file(tmp_path: Path) -> None:
    folder = write_esci(tmp_path / "esci", examples=[(1, "q", "B001", "us", "X", 1, "test")])
    with pytest.raises(InputError, match=r"shopping_queries_dataset_examples.parquet \[esci_label\]: example 0"):
        load(folder, "en")


def test_missing_column_is_named(tmp_path: Path) -> None:
    folder = write_esci(tmp_path / "esci")
    table = pq.read_table(folder / PRODUCTS_FILE).drop(["product_bullet_point"])
    pq.write_table(table, folder / PRODUCTS_FILE)
    with pytest.raises(InputError, match="missing column\\(s\\) product_bullet_point"):
        load(folder, "en")


def test_language_without_a_locale_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="ESCI has no locale for language 'de'; it has en \\(us\\), es \\(es\\)"):
        load(write_esci(tmp_path / "esci"), "de")


def test_without_a_folder_the_files_are_downloaded_once_into_the_cache(tmp_path: Path, monkeypatch) -> None:
    published = write_esci(tmp_path / "published")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    source = {"kind": "esci", "url": published.as_uri() + "/", "sha256": {}}
    task = make_source(source, base_dir=tmp_path).load("esci", LanguagePair("en", "en"), "test")
    assert task.qrels["2"] == {"B005": 100}
    cached = tmp_path / "cache" / "harness" / "esci"
    assert sorted(p.name for p in cached.iterdir()) == [EXAMPLES_FILE, PRODUCTS_FILE]
    (published / EXAMPLES_FILE).unlink()  # a second load reads the cache, not the url
    assert make_source(source, base_dir=tmp_path).load("esci", LanguagePair("en", "en"), "test").qrels == task.qrels


def test_a_download_with_the_wrong_checksum_leaves_nothing_behind(tmp_path: Path, monkeypatch) -> None:
    published = write_esci(tmp_path / "published")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    source = {"kind": "esci", "url": published.as_uri() + "/", "sha256": {EXAMPLES_FILE: "0" * 64}}
    with pytest.raises(InputError, match="expected 0000"):
        make_source(source, base_dir=tmp_path).load("esci", LanguagePair("en", "en"), "test")
    assert list((tmp_path / "cache" / "harness" / "esci").iterdir()) == []


def test_unreachable_download_says_how_to_work_offline(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    source = {"kind": "esci", "url": (tmp_path / "nowhere").as_uri() + "/", "sha256": {}}
    with pytest.raises(SourceUnavailableError, match="--local esci=DIR"):
        make_source(source, base_dir=tmp_path).load("esci", LanguagePair("en", "en"), "test")
