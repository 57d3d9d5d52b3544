"""BM25 with bm25s and Lucene scoring, over per-language analysis.

BM25 is a sparse retriever: bm25s precomputes each (document, term) score, which makes the
document side a sparse matrix over the corpus vocabulary, and a query is its term counts
(Lucene scores a repeated query term once per occurrence). Search is then the same sparse dot
product learned-sparse models use, so both share one index, one schema and one report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict

from harness.catalog.cards import ModelCard
from harness.encode import Encoder, EncodeSettings, ProgressCallback, SparseRepresentation, Vocabulary
from harness.models.analysis import analyzer_for
from harness.models.common import card_parameters

_ANALYSIS_CHUNK = 2048


class BM25Parameters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    k1: float = 0.9
    b: float = 0.4
    method: Literal["lucene", "robertson", "atire", "bm25l", "bm25+"] = "lucene"


class BM25Encoder(Encoder):
    family = "sparse"
    storable = False  # document weights need the whole corpus's statistics
    Parameters = BM25Parameters

    def __init__(self, card: ModelCard, settings: EncodeSettings) -> None:
        super().__init__(card, settings)
        self.params = card_parameters(card, BM25Parameters)
        self._vocabulary: Vocabulary | None = None
        self._term_ids: dict[str, int] = {}
        self._analysis: dict[str, dict[str, Any]] = {}

    def _analyze(self, texts: Sequence[str], language: str, progress: ProgressCallback | None) -> list[list[str]]:
        analyzer = analyzer_for(language)
        self._analysis[language] = analyzer.describe()
        tokens: list[list[str]] = []
        for start in range(0, len(texts), _ANALYSIS_CHUNK):
            chunk = texts[start : start + _ANALYSIS_CHUNK]
            tokens.extend(analyzer.analyze_many(chunk))
            if progress:
                progress(len(chunk))
        return tokens

    def encode_documents(
        self, texts: Sequence[str], language: str, progress: ProgressCallback | None = None
    ) -> SparseRepresentation:
        import bm25s

        tokens = self._analyze(texts, language, progress)
        model = bm25s.BM25(k1=self.params.k1, b=self.params.b, method=self.params.method)
        model.index(tokens, create_empty_token=False, show_progress=False)
        # bm25s numbers terms in the iteration order of a Python set, which follows PYTHONHASHSEED;
        # columns are put in sorted term order so scores (summed in column order) and runs are reproducible.
        bm25s_ids: dict[str, int] = model.vocab_dict
        terms = sorted(bm25s_ids)
        scores = model.scores
        by_term = sp.csc_matrix(
            (scores["data"], scores["indices"], scores["indptr"]), shape=(scores["num_docs"], len(terms))
        )[:, [bm25s_ids[term] for term in terms]]
        self._term_ids = {term: column for column, term in enumerate(terms)}
        self._vocabulary = Vocabulary(name=f"bm25-corpus-{len(terms)}", terms=terms)
        return SparseRepresentation(by_term.tocsr().astype(np.float32), self._vocabulary)

    def encode_queries(
        self, texts: Sequence[str], language: str, progress: ProgressCallback | None = None
    ) -> SparseRepresentation:
        if self._vocabulary is None:
            raise RuntimeError("BM25 needs the corpus statistics: encode the documents before the queries")
        rows, columns, counts = [], [], []
        for row, query_terms in enumerate(self._analyze(texts, language, progress)):
            for term, count in Counter(query_terms).items():
                column = self._term_ids.get(term)
                if column is not None:
                    rows.append(row)
                    columns.append(column)
                    counts.append(count)
        matrix = sp.csr_matrix(
            (np.asarray(counts, dtype=np.float32), (rows, columns)), shape=(len(texts), len(self._vocabulary))
        )
        return SparseRepresentation(matrix, self._vocabulary)

    def document_budget(self, language: str) -> None:
        """BM25 scores a document's every term: nothing to split."""
        return None

    def describe(self) -> dict[str, Any]:
        return {
            "implementation": f"bm25s {version('bm25s')}",
            "k1": self.params.k1,
            "b": self.params.b,
            "method": self.params.method,
            "analysis": dict(self._analysis),
        }


ADAPTER = BM25Encoder
