"""Encode: the contract between models and the rest of the pipeline."""

from harness.encode.encoder import Encoder, EncodeSettings, Family, ProgressCallback, length_sorted_batches
from harness.encode.representations import (
    DenseRepresentation,
    MultiVectorRepresentation,
    Representation,
    SparseRepresentation,
    Vocabulary,
    VocabularyView,
    concatenate,
)

__all__ = [
    "DenseRepresentation",
    "EncodeSettings",
    "Encoder",
    "Family",
    "MultiVectorRepresentation",
    "ProgressCallback",
    "Representation",
    "SparseRepresentation",
    "Vocabulary",
    "VocabularyView",
    "concatenate",
    "length_sorted_batches",
]
