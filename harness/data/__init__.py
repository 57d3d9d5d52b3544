"""Data: collections from their sources (files, ir_datasets, Hugging Face) into `RetrievalTask`s: corpus,
queries, qrels, answers, with checksums; seeded sampling for quick runs.

May import: core.
"""

from harness.data.dataset import Answers, Corpus, DatasetIdentity, LanguagePair, Qrels, Queries, RetrievalTask

__all__ = ["Answers", "Corpus", "DatasetIdentity", "LanguagePair", "Qrels", "Queries", "RetrievalTask"]
