"""Approximate learned-sparse search with Seismic (`pyseismic-lsr`), large-vocabulary variant.

Seismic keeps, per term, only its heaviest postings (`n_postings` on average), groups them into
blocks with a summary vector each, and at query time visits the query's `query_cut` heaviest
terms, skipping a block when its summary's score is below `heap_factor` times the current k-th
best score (so a lower `heap_factor` skips fewer blocks: more recall, slower).

The default `SeismicIndex` stores term ids in 16 bits, which cannot address MILCO's
280,524 columns; the `LV` classes use 32-bit ids. Document weights are stored in float16 (so scores
differ from exact search by about 2e-4 relative); `describe()` records it with the index.

Seismic's build time grows with the number of term ids it is given, used or not (20,000 documents
over 28k ids: 55 s; over 280k ids: 235 s, here), so the index numbers only the terms that occur
in the documents (a query term absent from every document cannot score and is dropped).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from importlib.metadata import version
from typing import Any, TypeVar

import numpy as np
from pydantic import Field

from harness.core.errors import InputError
from harness.encode import ProgressCallback, Representation, SparseRepresentation
from harness.index.base import Index, IndexParams, SearchResult, empty_top_k

T = TypeVar("T")

# Documents handed to Seismic per call while building, to bound the temporary copies.
_ADD_CHUNK = 200_000


class SeismicParams(IndexParams):
    """Build parameters keep Seismic's defaults. The search defaults (query_cut 20, heap_factor 0.9)
    favour recall: in `benchmarks/sparse_seismic.py` (1M synthetic documents over 280k columns)
    query_cut 10 already reached recall@10 0.98 against exact search at 18x its speed; a lower
    query_cut trades recall for speed."""

    n_postings: int = Field(3500, ge=1, description="average postings kept per term")
    centroid_fraction: float = Field(0.1, gt=0, le=1, description="blocks per posting list, as a fraction")
    min_cluster_size: int = Field(2, ge=1)
    summary_energy: float = Field(0.4, gt=0, le=1, description="mass of a block kept in its summary")
    max_fraction: float = Field(1.5, gt=0, description="a list holds at most n_postings * max_fraction")
    doc_cut: int = Field(15, ge=1, description="document terms used to cluster a posting list")
    n_knn: int = Field(0, ge=0, description="neighbours per document in the k-NN graph (0: none)")
    query_cut: int = Field(20, ge=1, description="heaviest query terms visited")
    heap_factor: float = Field(
        0.9, gt=0, le=1, description="skip a block scoring below this times the k-th best (lower: skip fewer)"
    )
    knn_refine: int = Field(0, ge=0, description="neighbours scanned per result to refine it (needs n_knn)")
    build_threads: int = Field(0, ge=0, description="0: all cores")
    search_threads: int = Field(1, ge=1, description="1: single-thread search, as latency is reported")


def _seismic() -> Any:
    try:
        import seismic
    except ImportError:
        raise InputError(
            "index kind `seismic` needs pyseismic-lsr: pip install 'harness[seismic]'", key="index.kind"
        ) from None
    return seismic


def _captured_stdout(call: Callable[[], T]) -> tuple[T, str]:
    """Seismic prints from Rust to file descriptor 1; keep that out of the user's terminal."""
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 1)
        try:
            result = call()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        sink.seek(0)
        return result, sink.read().decode("utf-8", errors="replace")


class SeismicIndex(Index):
    kind = "seismic"
    family = "sparse"
    Params = SeismicParams
    params: SeismicParams

    def __init__(self, params: SeismicParams, device: str = "cpu") -> None:
        super().__init__(params, device)
        self._index: Any = None
        self._column_ids: np.ndarray | None = None  # vocabulary column -> Seismic component id, or -1
        self._vocabulary = ("", 0)
        self._nbytes = 0

    def build(self, documents: Representation, progress: ProgressCallback | None = None) -> None:
        seismic = _seismic()
        if not isinstance(documents, SparseRepresentation):
            raise TypeError("seismic indexes sparse vectors")
        matrix = documents.matrix.tocsr()
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        used = np.flatnonzero(np.bincount(matrix.indices, minlength=matrix.shape[1]))
        column_ids = np.full(matrix.shape[1], -1, dtype=np.int64)
        column_ids[used] = np.arange(len(used))
        dataset = seismic.SeismicDatasetLV(dim=max(1, len(used)))
        for start in range(0, matrix.shape[0], _ADD_CHUNK):
            chunk = matrix[start : start + _ADD_CHUNK]
            dataset.add_documents_by_id(
                [str(row) for row in range(start, start + chunk.shape[0])],
                column_ids[chunk.indices],
                chunk.data.astype(np.float32),
                chunk.indptr.astype(np.int64),
            )
        p = self.params
        if dataset.len:
            self._index, _ = _captured_stdout(
                lambda: seismic.SeismicIndexLV.build_from_dataset(
                    dataset,
                    n_postings=p.n_postings,
                    centroid_fraction=p.centroid_fraction,
                    min_cluster_size=p.min_cluster_size,
                    summary_energy=p.summary_energy,
                    max_fraction=p.max_fraction,
                    doc_cut=p.doc_cut,
                    nknn=p.n_knn,
                    num_threads=p.build_threads,
                )
            )
            self._nbytes = self._space_usage()
        self._column_ids = column_ids
        self._vocabulary = (documents.vocabulary.name, len(documents.vocabulary))
        if progress:
            progress(matrix.shape[0])

    def _space_usage(self) -> int:
        _, printed = _captured_stdout(self._index.print_space_usage_byte)
        found = re.search(r"Total:\s*(\d+)\s*Bytes", printed)
        if not found:
            raise RuntimeError(f"unexpected Seismic space report: {printed.strip()[:200]!r}")
        return int(found.group(1))

    def search(self, queries: Representation, k: int, progress: ProgressCallback | None = None) -> SearchResult:
        seismic = _seismic()
        if not isinstance(queries, SparseRepresentation):
            raise TypeError("seismic searches with sparse vectors")
        if self._column_ids is None:
            raise RuntimeError("build the index before searching")
        name, size = self._vocabulary
        if queries.vocabulary.name != name or len(queries.vocabulary) != size:
            raise ValueError(
                f"query vocabulary {queries.vocabulary.name!r} ({len(queries.vocabulary)} terms) does not match "
                f"the index's {name!r} ({size} terms)"
            )
        indices, scores = empty_top_k(len(queries), k)
        string_type = seismic.get_seismic_string()
        ids, components, values = [], [], []
        for row, (columns, weights) in enumerate(self._query_terms(queries)):
            if len(columns) and self._index is not None:
                ids.append(str(row))
                components.append(columns.astype(string_type))
                values.append(weights)
        if ids:
            p = self.params
            found = self._index.batch_search(
                np.asarray(ids, dtype=string_type),
                components,
                values,
                k=k,
                query_cut=p.query_cut,
                heap_factor=p.heap_factor,
                n_knn=p.knn_refine,
                sorted=True,
                num_threads=p.search_threads,
            )
            # Each hit names its query: batch results are not guaranteed to come back in query order.
            for hits in found:
                if not hits:
                    continue
                row = int(hits[0][0])
                hits = sorted(hits, key=lambda hit: (-hit[1], int(hit[2])))[:k]
                indices[row, : len(hits)] = [int(doc) for _, _, doc in hits]
                scores[row, : len(hits)] = [score for _, score, _ in hits]
        if progress:
            progress(len(queries))
        return SearchResult(indices=indices, scores=scores)

    def _query_terms(self, queries: SparseRepresentation) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        assert self._column_ids is not None
        matrix = queries.matrix.tocsr()
        for row in range(matrix.shape[0]):
            begin, end = matrix.indptr[row], matrix.indptr[row + 1]
            mapped = self._column_ids[matrix.indices[begin:end]]
            weights = matrix.data[begin:end].astype(np.float32)
            keep = (mapped >= 0) & (weights != 0)
            yield mapped[keep], weights[keep]

    def size_bytes(self) -> int:
        return self._nbytes

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "implementation": f"pyseismic-lsr {version('pyseismic-lsr')} (SeismicIndexLV, 32-bit term ids)",
            "vocabulary": self._vocabulary[0],
            "indexed_terms": int((self._column_ids >= 0).sum()) if self._column_ids is not None else 0,
            # SeismicIndexLV keeps document weights as f16: scores differ from exact float32 search by ~2e-4
            # relative, enough to swap near-tied documents.
            "document_weights": "float16",
            "query_weights": "float32",
        }


INDEX = SeismicIndex
