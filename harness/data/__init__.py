"""Data: collections from their sources into `RetrievalTask`s."""

from harness.data.dataset import Answers, Corpus, DatasetIdentity, LanguagePair, Qrels, Queries, RetrievalTask

__all__ = ["Answers", "Corpus", "DatasetIdentity", "LanguagePair", "Qrels", "Queries", "RetrievalTask"]
