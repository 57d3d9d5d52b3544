"""Store: encodings on disk between encode and index, so a corpus is encoded once and a killed run resumes.

May import: core, data, evaluation, catalog, encode.
"""

from harness.store.embeddings import (
    DEFAULT_SHARD_SIZE,
    EmbeddingStore,
    EncodingStatus,
    StoredEncoding,
    default_store_dir,
)

__all__ = [
    "DEFAULT_SHARD_SIZE",
    "EmbeddingStore",
    "EncodingStatus",
    "StoredEncoding",
    "default_store_dir",
]
