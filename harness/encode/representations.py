"""The shapes a retriever's output can take. Each has its own scorer and index.

- `DenseRepresentation`: one vector per text (bi-encoders); scored by inner product.
- `SparseRepresentation`: one weight per vocabulary term (BM25, SPLADE, MILCO); scored by dot
  product; the vocabulary keeps every column readable as a word.
- `MultiVectorRepresentation`: a ragged bag of token vectors per text (ColBERT); scored by MaxSim.
- `HybridRepresentation`: one of each of the above per text, from one forward pass (BGE-M3's "All"
  mode); scored by the sum of the three scores, candidates from the dense part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class VocabularyView:
    """A named block of columns [start, stop), e.g. MILCO's English pivot view and its source-token echo view."""

    name: str
    start: int
    stop: int


@dataclass(frozen=True)
class Vocabulary:
    """Names of a sparse representation's columns, e.g. BERT word pieces or BM25 index terms.

    `views` splits the columns into named blocks when one vector concatenates several term
    spaces; a vocabulary without views is one block named after the vocabulary.
    """

    name: str
    terms: Sequence[str]
    views: tuple[VocabularyView, ...] = ()

    def __len__(self) -> int:
        return len(self.terms)

    def term(self, column: int) -> str:
        return self.terms[column]

    def blocks(self) -> tuple[VocabularyView, ...]:
        return self.views or (VocabularyView(self.name, 0, len(self.terms)),)

    def view_of(self, column: int) -> str:
        for view in self.blocks():
            if view.start <= column < view.stop:
                return view.name
        raise IndexError(f"column {column} is outside the vocabulary {self.name!r}")


@dataclass(frozen=True)
class DenseRepresentation:
    vectors: np.ndarray  # (n, dim)

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2:
            raise ValueError(f"dense vectors must be 2-D, got shape {self.vectors.shape}")

    def __len__(self) -> int:
        return self.vectors.shape[0]

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    @property
    def nbytes(self) -> int:
        return int(self.vectors.nbytes)

    def select(self, rows: np.ndarray) -> DenseRepresentation:
        return DenseRepresentation(self.vectors[rows])


@dataclass(frozen=True)
class SparseRepresentation:
    matrix: sp.csr_matrix  # (n, len(vocabulary))
    vocabulary: Vocabulary

    def __post_init__(self) -> None:
        if self.matrix.shape[1] != len(self.vocabulary):
            raise ValueError(
                f"sparse matrix has {self.matrix.shape[1]} columns but the vocabulary "
                f"{self.vocabulary.name!r} has {len(self.vocabulary)} terms"
            )

    def __len__(self) -> int:
        return self.matrix.shape[0]

    @property
    def nbytes(self) -> int:
        return int(self.matrix.data.nbytes + self.matrix.indices.nbytes + self.matrix.indptr.nbytes)

    def select(self, rows: np.ndarray) -> SparseRepresentation:
        return SparseRepresentation(self.matrix[rows], self.vocabulary)

    def active_terms(self) -> np.ndarray:
        """Number of non-zero weights in each row."""
        return np.diff(self.matrix.indptr)

    def top_terms(self, row: int, k: int = 20) -> list[tuple[str, float]]:
        """The k heaviest terms of one text, for explaining what a sparse model matched."""
        start, end = self.matrix.indptr[row], self.matrix.indptr[row + 1]
        columns = self.matrix.indices[start:end]
        weights = self.matrix.data[start:end]
        order = np.argsort(-weights, kind="stable")[:k]
        return [(self.vocabulary.term(int(columns[i])), float(weights[i])) for i in order]


@dataclass(frozen=True)
class MultiVectorRepresentation:
    """Token vectors of all texts concatenated; text i owns rows offsets[i]:offsets[i+1]."""

    vectors: np.ndarray  # (total_tokens, dim)
    offsets: np.ndarray  # (n + 1,) int64, offsets[0] == 0, offsets[-1] == total_tokens

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2:
            raise ValueError(f"token vectors must be 2-D, got shape {self.vectors.shape}")
        if self.offsets.ndim != 1 or self.offsets[0] != 0 or self.offsets[-1] != self.vectors.shape[0]:
            raise ValueError("offsets must start at 0 and end at the number of token vectors")
        if np.any(np.diff(self.offsets) < 0):
            raise ValueError("offsets must be non-decreasing")

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    @property
    def nbytes(self) -> int:
        return int(self.vectors.nbytes + self.offsets.nbytes)

    def select(self, rows: np.ndarray) -> MultiVectorRepresentation:
        return MultiVectorRepresentation.from_list([self.of(int(r)) for r in rows], self.dim, self.vectors.dtype)

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def of(self, row: int) -> np.ndarray:
        return self.vectors[self.offsets[row] : self.offsets[row + 1]]

    @classmethod
    def from_list(
        cls, per_text: Sequence[np.ndarray], dim: int, dtype: np.dtype | type = np.float32
    ) -> MultiVectorRepresentation:
        lengths = np.fromiter((len(v) for v in per_text), dtype=np.int64, count=len(per_text))
        offsets = np.zeros(len(per_text) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        vectors = (
            np.concatenate(per_text, axis=0).astype(dtype, copy=False)
            if len(per_text)
            else (np.zeros((0, dim), dtype=dtype))
        )
        return cls(vectors=vectors, offsets=offsets)


@dataclass(frozen=True)
class HybridRepresentation:
    """A dense, a sparse and a multi-vector representation of the same texts, row i of each for text i.

    Its score is the plain sum of the three parts' scores (inner product, dot product, MaxSim): an
    adapter that weighs the parts folds its weights into the query parts, so every hybrid index
    returns the model's own weighted score.
    """

    dense: DenseRepresentation
    sparse: SparseRepresentation
    multivector: MultiVectorRepresentation

    def __post_init__(self) -> None:
        lengths = {len(self.dense), len(self.sparse), len(self.multivector)}
        if len(lengths) != 1:
            raise ValueError(
                f"hybrid parts must hold the same texts: dense {len(self.dense)}, sparse {len(self.sparse)}, "
                f"multivector {len(self.multivector)} rows"
            )

    def __len__(self) -> int:
        return len(self.dense)

    @property
    def nbytes(self) -> int:
        return self.dense.nbytes + self.sparse.nbytes + self.multivector.nbytes

    def select(self, rows: np.ndarray) -> HybridRepresentation:
        return HybridRepresentation(self.dense.select(rows), self.sparse.select(rows), self.multivector.select(rows))


Representation = DenseRepresentation | SparseRepresentation | MultiVectorRepresentation | HybridRepresentation


def concatenate(parts: Sequence[Representation]) -> Representation:
    """Representations of the same family, one after the other, as one in memory (a copy, even of one part:
    parts may be read-only memory maps of the embedding store)."""
    first = parts[0]
    if isinstance(first, HybridRepresentation):
        hybrids = [part for part in parts if isinstance(part, HybridRepresentation)]
        return HybridRepresentation(
            concatenate([part.dense for part in hybrids]),  # type: ignore[arg-type]
            concatenate([part.sparse for part in hybrids]),  # type: ignore[arg-type]
            concatenate([part.multivector for part in hybrids]),  # type: ignore[arg-type]
        )
    if isinstance(first, DenseRepresentation):
        return DenseRepresentation(np.concatenate([part.vectors for part in parts], axis=0))  # type: ignore[union-attr]
    if isinstance(first, SparseRepresentation):
        return SparseRepresentation(sp.vstack([part.matrix for part in parts], format="csr"), first.vocabulary)  # type: ignore[union-attr]
    offsets = [np.zeros(1, dtype=np.int64)]
    total = 0
    for part in parts:
        offsets.append(np.asarray(part.offsets[1:], dtype=np.int64) + total)  # type: ignore[union-attr]
        total += int(part.offsets[-1])  # type: ignore[union-attr]
    vectors = np.concatenate([part.vectors for part in parts], axis=0)  # type: ignore[union-attr]
    return MultiVectorRepresentation(vectors, np.concatenate(offsets))
