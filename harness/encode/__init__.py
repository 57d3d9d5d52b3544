"""Encode: the contract between models and the rest of the pipeline (`Encoder`, the frozen representations,
pruning, and explaining a sparse vector).

May import: core, data, evaluation, catalog.
"""

from harness.encode.encoder import (
    DocumentBudget,
    Encoder,
    EncodeSettings,
    Family,
    ModelFacts,
    ProgressCallback,
    Role,
    content_budget,
    encode_checked,
    length_sorted_batches,
)
from harness.encode.representations import (
    DenseRepresentation,
    HybridRepresentation,
    MultiVectorRepresentation,
    Representation,
    SparseRepresentation,
    Vocabulary,
    VocabularyView,
    concatenate,
)

__all__ = [
    "DenseRepresentation",
    "DocumentBudget",
    "EncodeSettings",
    "Encoder",
    "Family",
    "HybridRepresentation",
    "ModelFacts",
    "MultiVectorRepresentation",
    "ProgressCallback",
    "Representation",
    "Role",
    "SparseRepresentation",
    "Vocabulary",
    "VocabularyView",
    "concatenate",
    "content_budget",
    "encode_checked",
    "length_sorted_batches",
]
