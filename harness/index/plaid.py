"""A PLAID-style compressed late-interaction index (ColBERTv2's residual compression), memory-mapped from disk.

Build:
1. k-means (faiss) over a sample of token vectors gives the centroids (by default a power of two near
   16 * sqrt(#vectors), as colbert-ai chooses).
2. Each token vector is stored as its nearest centroid's id plus its residual (vector - centroid)
   quantised to `nbits` (1, 2 or 4) per dimension: bucket cutoffs at the quantiles of a held-out
   sample's residual values, each bucket decoded as its median (colbert-ai's bucket weights).
3. Inverted lists: for each centroid, the documents with at least one token assigned to it.
Search, per query:
1. probe the `probes` nearest centroids of each query vector (inner product);
2. documents in those lists get an approximate score: per query vector, the best score of a probed
   centroid whose list holds them; the best `candidates` go on;
3. centroid interaction: those documents scored with every one of their tokens' centroids (residuals
   ignored); the best `rerank` go on;
4. exact MaxSim on their decompressed vectors gives the top k.
Unset, `probes` and `candidates` follow colbert-ai's search defaults for the requested k, and
`rerank` is candidates / 4 (never fewer than k), as in PLAID's last stage.

Everything lives in one folder (format: docs/plaid-index.md) opened with `np.load(mmap_mode="r")`,
so only the centroids and the pages a query touches need to be in memory. Without `index_dir` the
folder is temporary and deleted with the index; with it, each build writes a new folder inside it
and keeps it (`PlaidIndex.open` reads it back).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from harness.core.errors import InputError
from harness.core.temporary import temporary_folder, temporary_write_error
from harness.encode import MultiVectorRepresentation, ProgressCallback, Representation
from harness.index.base import Index, IndexParams, SearchResult, empty_top_k
from harness.index.maxsim_exact import ragged_ranges, ragged_rows

FORMAT = "harness-plaid"
FORMAT_VERSION = 1
METADATA = "metadata.json"
ARRAYS = ("centroids", "codes", "residuals", "doc_offsets", "ivf_offsets", "ivf_docs")
_IN_TMPDIR = "the PLAID index (`--index plaid:index_dir=DIR` puts it elsewhere)"  # what a full TMPDIR stopped


class PlaidParams(IndexParams):
    nbits: Literal[1, 2, 4] = 2
    centroids: int | None = Field(None, ge=1)
    kmeans_iterations: int = Field(4, ge=1)
    kmeans_sample: int | None = Field(None, ge=1)  # token vectors; unset: min(all, 256 per centroid)
    probes: int | None = Field(None, ge=1)
    candidates: int | None = Field(None, ge=1)
    rerank: int | None = Field(None, ge=1)
    index_dir: str | None = None
    seed: int = 0
    build_chunk: int = Field(262144, ge=1)  # token vectors assigned and quantised per step


def default_centroids(num_vectors: int) -> int:
    """colbert-ai's choice: the power of two at or below 16 * sqrt(#vectors)."""
    return 2 ** math.floor(math.log2(16 * math.sqrt(max(num_vectors, 1))))


def colbert_search_defaults(k: int) -> tuple[int, int]:
    """(probes, candidates) colbert-ai's searcher uses for a given k (its `ncells`, `ndocs`)."""
    if k <= 10:
        return 1, 256
    if k <= 100:
        return 2, 1024
    return 4, max(4 * k, 4096)


@dataclass(frozen=True)
class ResidualCodec:
    """Centroid id + per-dimension residual buckets, `nbits` each, packed first dimension in the high bits."""

    centroids: np.ndarray  # (C, dim) float32
    cutoffs: np.ndarray  # (2**nbits - 1,) float32, ascending
    weights: np.ndarray  # (2**nbits,) float32: the value each bucket decodes to
    nbits: int
    normalized: bool  # the indexed vectors were unit length: decoded vectors are renormalised

    @property
    def packed_width(self) -> int:
        return self.centroids.shape[1] * self.nbits // 8

    @cached_property
    def _shifts(self) -> np.ndarray:
        per_byte = 8 // self.nbits
        return (8 - self.nbits * (np.arange(per_byte) + 1)).astype(np.uint8)

    @cached_property
    def _lookup(self) -> np.ndarray:
        """(256, values per byte) float32: the residual values a packed byte stands for."""
        buckets = (np.arange(256, dtype=np.uint8)[:, None] >> self._shifts[None, :]) & ((1 << self.nbits) - 1)
        return self.weights[buckets]

    def quantise(self, residuals: np.ndarray) -> np.ndarray:
        buckets = np.searchsorted(self.cutoffs, residuals, side="right").astype(np.uint8)
        grouped = buckets.reshape(len(residuals), self.packed_width, 8 // self.nbits)
        return np.bitwise_or.reduce(grouped << self._shifts, axis=2).astype(np.uint8)

    def decode(self, codes: np.ndarray, packed_residuals: np.ndarray) -> np.ndarray:
        vectors = np.take(self._lookup, packed_residuals, axis=0).reshape(len(codes), -1)
        vectors += np.take(self.centroids, codes, axis=0)
        if self.normalized:
            vectors *= (1.0 / np.maximum(np.sqrt(np.einsum("ij,ij->i", vectors, vectors)), 1e-12))[:, None]
        return vectors


class PlaidIndex(Index):
    kind = "plaid"
    family = "multivector"
    Params = PlaidParams
    params: PlaidParams

    def __init__(self, params: PlaidParams, device: str = "cpu") -> None:
        super().__init__(params, device)
        self.directory: Path | None = None
        self._metadata: dict[str, Any] = {}
        self._arrays: dict[str, np.ndarray] = {}
        self._codec: ResidualCodec | None = None
        self._cleanup: weakref.finalize | None = None
        self._last_search: dict[str, int] = {}

    # ---- build ---------------------------------------------------------------------------------

    def build(self, documents: Representation, progress: ProgressCallback | None = None) -> None:
        if not isinstance(documents, MultiVectorRepresentation):
            raise TypeError("plaid indexes multi-vector representations")
        num_vectors, dim = documents.vectors.shape
        if dim * self.params.nbits % 8:
            raise InputError(
                f"{dim}-dimensional vectors cannot be packed at {self.params.nbits} bits", key="index.nbits"
            )
        if num_vectors == 0:
            raise InputError("the documents have no token vectors to index", key="index")
        directory = self._new_directory()
        try:
            codec, sample_size = self._train(documents)
            self._write(directory, documents, codec, sample_size, progress)
        except BaseException as error:
            shutil.rmtree(directory, ignore_errors=True)
            if isinstance(error, OSError) and self.params.index_dir is None:  # a full TMPDIR: say where
                raise temporary_write_error(directory.parent, _IN_TMPDIR, error) from None
            raise
        self._load(directory)

    def _new_directory(self) -> Path:
        if self._cleanup is not None:
            self._cleanup()
            self._cleanup = None
        if self.params.index_dir is None:
            directory = Path(tempfile.mkdtemp(prefix="harness-plaid-", dir=temporary_folder()))
            self._cleanup = weakref.finalize(self, shutil.rmtree, str(directory), True)
            return directory
        parent = Path(self.params.index_dir).expanduser()
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="plaid-", dir=parent)).resolve()

    def _train(self, documents: MultiVectorRepresentation) -> tuple[ResidualCodec, int]:
        import faiss

        vectors = documents.vectors
        num_vectors, dim = vectors.shape
        rng = np.random.default_rng(self.params.seed)
        num_centroids = min(self.params.centroids or default_centroids(num_vectors), num_vectors)
        sample_size = min(num_vectors, self.params.kmeans_sample or 256 * num_centroids)
        sample = _rows(vectors, rng.choice(num_vectors, size=sample_size, replace=False))
        norms = np.linalg.norm(sample, axis=1)
        normalized = bool(np.all(np.abs(norms - 1.0) < 1e-2))
        kmeans = faiss.Kmeans(
            dim,
            num_centroids,
            niter=self.params.kmeans_iterations,
            seed=self.params.seed,
            spherical=normalized,
            max_points_per_centroid=max(1, -(-sample_size // num_centroids)),
            min_points_per_centroid=1,
        )
        kmeans.train(sample)
        centroids = np.ascontiguousarray(kmeans.centroids, dtype=np.float32)
        held_out = _rows(vectors, rng.choice(num_vectors, size=min(num_vectors, 65536), replace=False))
        residuals = (held_out - centroids[_nearest(centroids, held_out)]).ravel()
        levels = 1 << self.params.nbits
        cutoffs = np.quantile(residuals, np.arange(1, levels) / levels).astype(np.float32)
        weights = np.quantile(residuals, (np.arange(levels) + 0.5) / levels).astype(np.float32)
        return ResidualCodec(centroids, cutoffs, weights, self.params.nbits, normalized), sample_size

    def _write(
        self,
        directory: Path,
        documents: MultiVectorRepresentation,
        codec: ResidualCodec,
        sample_size: int,
        progress: ProgressCallback | None,
    ) -> None:
        vectors, offsets = documents.vectors, documents.offsets
        num_vectors = len(vectors)
        num_centroids = len(codec.centroids)
        code_dtype = np.uint16 if num_centroids <= np.iinfo(np.uint16).max + 1 else np.int32
        codes = _reserved_memmap(directory / "codes.npy", code_dtype, (num_vectors,))
        packed = _reserved_memmap(directory / "residuals.npy", np.uint8, (num_vectors, codec.packed_width))
        documents_done = 0
        for start in range(0, num_vectors, self.params.build_chunk):
            end = min(start + self.params.build_chunk, num_vectors)
            chunk = np.asarray(vectors[start:end], dtype=np.float32)
            nearest = _nearest(codec.centroids, chunk)
            codes[start:end] = nearest
            packed[start:end] = codec.quantise(chunk - codec.centroids[nearest])
            if progress:
                done = int(np.searchsorted(offsets, end, side="right")) - 1
                progress(done - documents_done)
                documents_done = done
        codes.flush()
        packed.flush()
        if progress and documents_done < len(documents):
            progress(len(documents) - documents_done)

        ivf_offsets, ivf_docs = _inverted_lists(np.asarray(codes), documents.lengths(), num_centroids)
        del codes, packed
        np.save(directory / "centroids.npy", codec.centroids)
        np.save(directory / "doc_offsets.npy", offsets.astype(np.int64))
        np.save(directory / "ivf_offsets.npy", ivf_offsets)
        np.save(directory / "ivf_docs.npy", ivf_docs)
        metadata = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "dim": int(vectors.shape[1]),
            "nbits": codec.nbits,
            "num_centroids": num_centroids,
            "num_documents": len(documents),
            "num_vectors": num_vectors,
            "normalized": codec.normalized,
            "bucket_cutoffs": codec.cutoffs.tolist(),
            "bucket_weights": codec.weights.tolist(),
            "kmeans": {"sample": sample_size, "iterations": self.params.kmeans_iterations, "seed": self.params.seed},
        }
        (directory / METADATA).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")

    # ---- open ----------------------------------------------------------------------------------

    @classmethod
    def open(cls, directory: str | Path, params: PlaidParams | None = None) -> PlaidIndex:
        """An index a previous build left in `directory`, memory-mapped; `params` steer its search."""
        index = cls(params or PlaidParams(index_dir=str(Path(directory).parent)))
        index._load(Path(directory))
        return index

    def _load(self, directory: Path) -> None:
        metadata_path = directory / METADATA
        if not metadata_path.is_file():
            raise InputError("not a complete plaid index (metadata.json is missing)", path=directory)
        metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
        if metadata.get("format") != FORMAT or metadata.get("version") != FORMAT_VERSION:
            raise InputError(
                f"unsupported index format {metadata.get('format')!r} version {metadata.get('version')!r} "
                f"(this harness reads {FORMAT} version {FORMAT_VERSION})",
                path=metadata_path,
            )
        arrays = {name: np.load(directory / f"{name}.npy", mmap_mode="r") for name in ARRAYS}
        arrays["centroids"] = np.asarray(arrays["centroids"], dtype=np.float32)  # small, searched every query
        self._codec = ResidualCodec(
            centroids=arrays["centroids"],
            cutoffs=np.asarray(metadata["bucket_cutoffs"], dtype=np.float32),
            weights=np.asarray(metadata["bucket_weights"], dtype=np.float32),
            nbits=int(metadata["nbits"]),
            normalized=bool(metadata["normalized"]),
        )
        self.directory, self._metadata, self._arrays = directory, metadata, arrays

    # ---- search --------------------------------------------------------------------------------

    def search_settings(self, k: int) -> dict[str, int]:
        """probes, candidates and rerank for a search of depth k (explicit parameters win)."""
        probes, candidates = colbert_search_defaults(k)
        probes = self.params.probes or probes
        candidates = self.params.candidates or candidates
        rerank = max(self.params.rerank or candidates // 4, k)
        return {"k": k, "probes": probes, "candidates": max(candidates, rerank), "rerank": rerank}

    @cached_property
    def _thread_pools(self) -> Any:
        from threadpoolctl import ThreadpoolController

        return ThreadpoolController()  # inspects the loaded BLAS libraries once, not at every search

    def search(self, queries: Representation, k: int, progress: ProgressCallback | None = None) -> SearchResult:
        if not isinstance(queries, MultiVectorRepresentation):
            raise TypeError("plaid searches with multi-vector queries")
        if self._codec is None:
            raise RuntimeError("build the index before searching")
        settings = self.search_settings(k)
        self._last_search = settings
        indices, scores = empty_top_k(len(queries), k)
        # One query's matrices are small: BLAS thread hand-offs would cost more than they save.
        with self._thread_pools.limit(limits=1, user_api="blas"):
            for row in range(len(queries)):
                found, found_scores = self._search_one(np.asarray(queries.of(row), dtype=np.float32), settings)
                indices[row, : len(found)] = found
                scores[row, : len(found)] = found_scores
                if progress:
                    progress(1)
        return SearchResult(indices=indices, scores=scores)

    def _search_one(self, query: np.ndarray, settings: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
        codec, arrays = self._codec, self._arrays
        assert codec is not None
        if len(query) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        centroid_scores = query @ codec.centroids.T  # (Lq, C)
        query_len, num_centroids = centroid_scores.shape

        # 1. probe the nearest centroids of each query vector; their lists hold the candidates
        probes = min(settings["probes"], num_centroids)
        if probes == 1:
            probed = centroid_scores.argmax(axis=1)[:, None]
        else:  # best first, so a document's first entry per query vector is its best
            probed = np.argsort(-centroid_scores, axis=1)[:, :probes]
        probe_token = np.repeat(np.arange(query_len), probes)
        probe_centroid = probed.ravel()
        starts = np.take(arrays["ivf_offsets"], probe_centroid)
        list_lengths = np.take(arrays["ivf_offsets"], probe_centroid + 1) - starts
        entries = ragged_ranges(starts, list_lengths)
        if len(entries) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        docs, slot = np.unique(np.take(arrays["ivf_docs"], entries), return_inverse=True)
        entry_score = np.repeat(np.maximum(centroid_scores[probe_token, probe_centroid], 0.0), list_lengths)
        if probes > 1:  # a document in several lists of one query vector counts once, with its best
            _, first = np.unique(slot * query_len + np.repeat(probe_token, list_lengths), return_index=True)
            slot, entry_score = slot[first], entry_score[first]

        # 2. approximate score from the probed lists alone; keep the best `candidates`
        docs = _best(docs, np.bincount(slot, weights=entry_score, minlength=len(docs)), settings["candidates"])

        # 3. centroid interaction over every token of the candidates; keep the best `rerank`
        flat, offsets = self._tokens_of(docs)
        token_scores = np.take(centroid_scores, np.take(arrays["codes"], flat), axis=1)  # (Lq, tokens)
        docs = _best(docs, segment_maxsim(token_scores, offsets), settings["rerank"])

        # 4. exact MaxSim on the decompressed vectors of the survivors
        flat, offsets = self._tokens_of(docs)
        vectors = codec.decode(np.take(arrays["codes"], flat), np.take(arrays["residuals"], flat, axis=0))
        exact = segment_maxsim(query @ vectors.T, offsets)
        order = np.argsort(-exact, kind="stable")[: settings["k"]]
        return docs[order], exact[order].astype(np.float32)

    def _tokens_of(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flat token rows of `docs`, document after document, and where each document starts."""
        flat, lengths = ragged_rows(self._arrays["doc_offsets"], docs)
        return flat, np.concatenate([[0], np.cumsum(lengths)])

    # ---- reporting -----------------------------------------------------------------------------

    def size_bytes(self) -> int:
        if self.directory is None:
            return 0
        return sum(path.stat().st_size for path in self.directory.iterdir() if path.is_file())

    def file_sizes(self) -> dict[str, int]:
        if self.directory is None:
            return {}
        return {path.name: path.stat().st_size for path in sorted(self.directory.iterdir()) if path.is_file()}

    def describe(self) -> dict[str, Any]:
        metadata = self._metadata
        fp16_bytes = 2 * metadata.get("num_vectors", 0) * metadata.get("dim", 0)
        size = self.size_bytes()
        return {
            **super().describe(),
            "device": "cpu",  # numpy over memory-mapped files, whatever device the encoder used
            "index_dir": str(self.directory) if self.directory else None,
            "temporary": self._cleanup is not None,
            "num_centroids": metadata.get("num_centroids"),
            "num_documents": metadata.get("num_documents"),
            "num_vectors": metadata.get("num_vectors"),
            "normalized": metadata.get("normalized"),
            "kmeans": metadata.get("kmeans"),
            "last_search": self._last_search,
            "files_bytes": self.file_sizes(),
            "fp16_vectors_bytes": fp16_bytes,
            "compression_vs_fp16": fp16_bytes / size if size else None,
        }


def segment_maxsim(similarity: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """MaxSim per document from (query vectors x tokens) similarities, documents' tokens side by side:
    each query vector's max over a document's columns, summed; 0 for a document without tokens."""
    lengths = np.diff(offsets)
    result = np.zeros(len(lengths), dtype=np.float32)
    has_tokens = lengths > 0
    if has_tokens.any():
        result[has_tokens] = np.maximum.reduceat(similarity, offsets[:-1][has_tokens], axis=1).sum(axis=0)
    return result


def _best(docs: np.ndarray, scores: np.ndarray, count: int) -> np.ndarray:
    if len(docs) <= count:
        return docs
    return docs[np.argpartition(-scores, count - 1)[:count]]


def _rows(vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return np.asarray(vectors[np.sort(rows)], dtype=np.float32)


def _nearest(centroids: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    import faiss

    quantizer = faiss.IndexFlatL2(centroids.shape[1])
    quantizer.add(centroids)
    _, nearest = quantizer.search(np.ascontiguousarray(vectors, dtype=np.float32), 1)
    return nearest[:, 0]


def _reserved_memmap(path: Path, dtype: Any, shape: tuple[int, ...]) -> np.memmap:
    """A new .npy memory map whose disk blocks are claimed first: a store into a map of a sparse file on a full
    disk kills the process (SIGBUS) where claiming the blocks raises an OSError that can say where."""
    array = np.lib.format.open_memmap(path, "w+", dtype, shape)
    if hasattr(os, "posix_fallocate"):  # not on macOS, where the map is left sparse
        with path.open("r+b") as handle:
            os.posix_fallocate(handle.fileno(), 0, path.stat().st_size)
    return array


def _inverted_lists(codes: np.ndarray, lengths: np.ndarray, num_centroids: int) -> tuple[np.ndarray, np.ndarray]:
    """Per centroid, the sorted distinct documents with a token assigned to it (CSR: offsets, documents)."""
    num_documents = len(lengths)
    document_of_token = np.repeat(np.arange(num_documents, dtype=np.int64), lengths)
    pairs = np.unique(codes.astype(np.int64) * num_documents + document_of_token)
    ivf_offsets = np.searchsorted(pairs // num_documents, np.arange(num_centroids + 1)).astype(np.int64)
    return ivf_offsets, (pairs % num_documents).astype(np.int32)


INDEX = PlaidIndex
