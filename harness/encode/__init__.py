"""Encode: the contract between models and the rest of the pipeline."""

from harness.encode.encoder import Encoder, EncodeSettings, Family, ProgressCallback, length_sorted_batches
from harness.encode.representations import (
    DenseRepresentation,
    HybridRepresentation,
    MultiVectorRepresentation,
    Representation,
    SparseRepresentation,
    Vocabulary,
    VocabularyView,
)

__all__ = [
    "DenseRepresentation",
    "EncodeSettings",
    "Encoder",
    "Family",
    "HybridRepresentation",
    "MultiVectorRepresentation",
    "ProgressCallback",
    "Representation",
    "SparseRepresentation",
    "Vocabulary",
    "VocabularyView",
    "length_sorted_batches",
]
