"""Store: encodings on disk between encode and index, so a corpus is encoded once and a killed run resumes."""

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
