"""Amazon Shopping Queries (ESCI): product search in the us, es and jp locales, from its parquet files.

Files (github.com/amazon-science/esci-data, `shopping_queries_dataset/`):
`shopping_queries_dataset_examples.parquet` (example_id, query, query_id, product_id,
product_locale, esci_label, small_version, large_version, split) and
`shopping_queries_dataset_products.parquet` (product_id, product_title, product_description,
product_bullet_point, product_brand, product_color, product_locale). They are read from a local
folder, or downloaded once into the cache (checked against their published SHA-256) when no
folder is given and the network allows.

Judgements. The benchmark's gains are Exact 1.0, Substitute 0.1, Complement 0.01, Irrelevant 0
(trec_eval `-m ndcg.1=0,2=0.01,3=0.1,4=1` in the authors' evaluation). Judgements here are
integers, so the gains are stored scaled by 100 (E=100, S=10, C=1, I=0): nDCG with linear gain
divides DCG by the ideal DCG, so a common factor cancels and nDCG is exactly the benchmark's.
Binary metrics (recall, MRR) count E, S and C as relevant (grade >= 1).

Retrieval is over a locale's catalogue (`catalogue: judged`, the products judged for the split's
queries, or `all`, every product of the locale), not the reranking of each query's judged list
that the KDD Cup's Task 1 scores, so the numbers are not comparable to that leaderboard.

Languages: `en` = us, `es` = es, `ja` = jp. A cross-locale pair `es-en` runs the es queries
against the us catalogue: a judgement is kept when its product also exists in the us catalogue
(the same product id), and the document text is the us listing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from tqdm.auto import tqdm

from harness.core.errors import InputError, SourceUnavailableError
from harness.core.net import any_reachable
from harness.data.dataset import Corpus, LanguagePair, Qrels, Queries, RetrievalTask
from harness.data.fingerprint import DataFiles
from harness.data.formats import sha256_of_files
from harness.data.sources.base import Source, SourceParams, assemble_task

LOCALE_OF_LANGUAGE = {"en": "us", "es": "es", "ja": "jp"}
GAIN_OF_LABEL = {"E": 100, "S": 10, "C": 1, "I": 0}
"""The benchmark's gains 1.0 / 0.1 / 0.01 / 0, times 100: nDCG is unchanged by a common factor."""

EXAMPLES_FILE = "shopping_queries_dataset_examples.parquet"
PRODUCTS_FILE = "shopping_queries_dataset_products.parquet"
EXAMPLE_COLUMNS = (
    "example_id",
    "query",
    "query_id",
    "product_id",
    "product_locale",
    "esci_label",
    "small_version",
    "large_version",
    "split",
)
PRODUCT_COLUMNS = (
    "product_id",
    "product_title",
    "product_description",
    "product_bullet_point",
    "product_brand",
    "product_color",
    "product_locale",
)
OFFICIAL_URL = "https://github.com/amazon-science/esci-data/raw/main/shopping_queries_dataset/"
OFFICIAL_SHA256 = {
    EXAMPLES_FILE: "4a735b693b4a424a6fc67f5be6e4c811495c488bbf66d02a602d308b2744263a",
    PRODUCTS_FILE: "25124442d064d64b26f74082d6fa09438d679efc0c183cf28d19064a2b65a265",
}

log = logging.getLogger(__name__)


class EsciParams(SourceParams):
    # Folder holding the two parquet files; empty: the cache, downloading what is missing.
    path: str = ""
    url: str = OFFICIAL_URL
    sha256: dict[str, str] = Field(default_factory=lambda: dict(OFFICIAL_SHA256))
    task_version: Literal["small", "large"] = "small"
    catalogue: Literal["judged", "all"] = "judged"
    version: str | None = None


def cache_dir() -> Path:
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home) / "harness" / "esci"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(url: str, destination: Path, expected_sha256: str | None) -> Path:
    """Fetch `url` into `destination` through a temporary file; a wrong checksum leaves nothing behind."""
    if url.startswith(("http://", "https://")) and not any_reachable([url]):
        raise SourceUnavailableError(
            f"{url} is unreachable; download {destination.name} on a machine with network and "
            "run with `--local esci=DIR` on the folder holding it"
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    log.warning("downloading %s to %s", url, destination)
    handle, temporary = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as output, urllib.request.urlopen(url, timeout=30) as response:
            size = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=size, unit="B", unit_scale=True, desc=destination.name, leave=False) as bar:
                for block in iter(lambda: response.read(1 << 20), b""):
                    output.write(block)
                    bar.update(len(block))
        if expected_sha256 and (actual := _sha256(Path(temporary))) != expected_sha256:
            raise InputError(f"downloaded file has SHA-256 {actual}, expected {expected_sha256}", path=url)
        os.replace(temporary, destination)
    except (urllib.error.URLError, OSError) as error:
        raise SourceUnavailableError(
            f"cannot download {url} ({error}); download {destination.name} on a machine with network and "
            "run with `--local esci=DIR` on the folder holding it"
        ) from None
    finally:
        Path(temporary).unlink(missing_ok=True)
    return destination


def _read_parquet(path: Path, columns: tuple[str, ...], filters: list[tuple[str, str, Any]]) -> dict[str, list]:
    """Only the named columns and matching rows; a missing column names the file and the column."""
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as error:
        raise InputError(f"not a readable parquet file: {error}", path=path) from None
    missing = [name for name in columns if name not in schema.names]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}; it has {', '.join(schema.names)}", path=path)
    return pq.read_table(path, columns=list(columns), filters=filters).to_pydict()


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


class EsciSource(Source):
    kind = "esci"
    Params = EsciParams
    params: EsciParams

    def _folder(self) -> Path:
        """The folder `path` names, else the cache."""
        if not self.params.path:
            return cache_dir()
        folder = Path(self.params.path).expanduser()
        return folder if folder.is_absolute() else self.base_dir / folder

    def _files(self) -> tuple[Path, Path]:
        if self.params.path:
            folder = self._folder()
            files = (folder / EXAMPLES_FILE, folder / PRODUCTS_FILE)
            for path in files:
                if not path.is_file():
                    raise InputError(f"ESCI file not found (download it from {OFFICIAL_URL})", path=path)
            return files
        folder = cache_dir()
        return tuple(  # type: ignore[return-value]
            path if path.is_file() else download(self.params.url + name, path, self.params.sha256.get(name))
            for name in (EXAMPLES_FILE, PRODUCTS_FILE)
            for path in [folder / name]
        )

    def data_files(self, dataset: str, languages: LanguagePair, split: str) -> DataFiles:
        """The examples (queries and their judgements) and the products, in the folder or the cache."""
        folder = self._folder()
        return DataFiles({"queries and judgements": [folder / EXAMPLES_FILE]}, [folder / PRODUCTS_FILE])

    def load(self, dataset: str, languages: LanguagePair, split: str) -> RetrievalTask:
        query_locale, product_locale = (_locale(code) for code in (languages.query, languages.document))
        examples_path, products_path = self._files()
        version_column = f"{self.params.task_version}_version"
        selection = [(version_column, "=", 1), ("split", "=", split)]
        examples = _read_parquet(examples_path, EXAMPLE_COLUMNS, [("product_locale", "=", query_locale), *selection])
        if not examples["example_id"]:
            raise InputError(
                f"no {query_locale} examples in split {split!r} of the {self.params.task_version} version",
                path=examples_path,
            )
        queries, judgements = _queries_and_judgements(examples, languages.query, examples_path)

        product_filter: list[tuple[str, str, Any]] = [("product_locale", "=", product_locale)]
        if self.params.catalogue == "judged":
            judged = set(examples["product_id"])
            if product_locale != query_locale:
                catalogue_examples = _read_parquet(
                    examples_path, ("product_id",), [("product_locale", "=", product_locale), *selection]
                )
                judged.update(catalogue_examples["product_id"])
            product_filter.append(("product_id", "in", sorted(judged)))
        products = _read_parquet(products_path, PRODUCT_COLUMNS, product_filter)
        corpus = _catalogue(products, languages.document, products_path)

        known = set(corpus.ids)
        qrels: Qrels = {}
        lines: dict[tuple[str, str], int] = {}
        dropped = 0
        for (query_id, product_id), (grade, row) in judgements.items():
            if product_id not in known:
                dropped += 1
                continue
            qrels.setdefault(query_id, {})[product_id] = grade
            lines[(query_id, product_id)] = row
        if not qrels:
            raise InputError(
                f"no judged {query_locale} product exists in the {product_locale} catalogue", path=products_path
            )
        task = assemble_task(
            dataset=dataset,
            split=split,
            languages=languages,
            corpus=corpus,
            queries=queries,
            qrels=qrels,
            qrels_lines=lines,
            qrels_path=examples_path,
            source="esci-parquet",
            location=str(examples_path.parent.resolve()),
            checksum=sha256_of_files([examples_path, products_path]),
            version=self.params.version,
        )
        metadata = {
            "query_locale": query_locale,
            "product_locale": product_locale,
            "task_version": self.params.task_version,
            "catalogue": self.params.catalogue,
            "gains": dict(GAIN_OF_LABEL),
            "gain_note": "benchmark gains E=1.0 S=0.1 C=0.01 I=0 scaled by 100; nDCG is unchanged by the scaling",
            "judgements_without_product_in_catalogue": dropped,
            "queries_without_relevant_product": sum(1 for judged in qrels.values() if max(judged.values()) == 0),
        }
        return replace(task, metadata=metadata)


def _locale(language: str) -> str:
    if language not in LOCALE_OF_LANGUAGE:
        known = ", ".join(f"{code} ({locale})" for code, locale in LOCALE_OF_LANGUAGE.items())
        raise InputError(f"ESCI has no locale for language {language!r}; it has {known}")
    return LOCALE_OF_LANGUAGE[language]


def _queries_and_judgements(
    examples: dict[str, list], language: str, path: Path
) -> tuple[Queries, dict[tuple[str, str], tuple[int, int]]]:
    """Queries in first-seen order, and (query, product) -> (gain, row number) with labels checked."""
    texts: dict[str, str] = {}
    judgements: dict[tuple[str, str], tuple[int, int]] = {}
    for row, (example_id, query_id, query, product_id, label) in enumerate(
        zip(
            examples["example_id"],
            examples["query_id"],
            examples["query"],
            examples["product_id"],
            examples["esci_label"],
            strict=True,
        ),
        start=1,
    ):
        if label not in GAIN_OF_LABEL:
            raise InputError(
                f"example {example_id}: esci_label {label!r} is not one of {', '.join(GAIN_OF_LABEL)}",
                path=path,
                key="esci_label",
            )
        query_key = str(query_id)
        texts.setdefault(query_key, _text(query))
        previous = judgements.setdefault((query_key, str(product_id)), (GAIN_OF_LABEL[label], row))
        if previous[0] != GAIN_OF_LABEL[label]:
            raise InputError(
                f"example {example_id}: query {query_key} and product {product_id} are judged twice, differently",
                path=path,
            )
    empty = [query_id for query_id, text in texts.items() if not text]
    if empty:
        raise InputError(f"query {empty[0]} has no text", path=path, key="query")
    queries = Queries(ids=list(texts), texts=list(texts.values()), language=language)
    return queries, judgements


def _catalogue(products: dict[str, list], language: str, path: Path) -> Corpus:
    """Products as documents: the title, then the bullet points and the description."""
    ids: list[str] = []
    titles: list[str] = []
    texts: list[str] = []
    seen: set[str] = set()
    for product_id, title, bullets, description in zip(
        products["product_id"],
        products["product_title"],
        products["product_bullet_point"],
        products["product_description"],
        strict=True,
    ):
        if product_id in seen:
            raise InputError(f"product {product_id} appears twice in one locale", path=path, key="product_id")
        seen.add(product_id)
        ids.append(str(product_id))
        titles.append(_text(title))
        texts.append("\n".join(part for part in (_text(bullets), _text(description)) if part))
    if not ids:
        raise InputError("the catalogue is empty for this locale", path=path)
    return Corpus(ids=ids, titles=titles, texts=texts, language=language)


SOURCE = EsciSource
