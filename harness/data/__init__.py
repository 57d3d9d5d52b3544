"""Data: collections from their sources into `RetrievalTask`s."""

from harness.data.dataset import Corpus, DatasetIdentity, LanguagePair, Qrels, Queries, RetrievalTask

__all__ = ["Corpus", "DatasetIdentity", "LanguagePair", "Qrels", "Queries", "RetrievalTask"]
