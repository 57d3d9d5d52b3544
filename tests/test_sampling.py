"""Quick runs: a seeded query sample and a corpus sample that keeps every judged document, marked as sampled."""

from __future__ import annotations

from pathlib import Path

from harness.data import LanguagePair, RetrievalTask
from harness.data.sampling import Sampling, sample_task
from harness.data.sources import make_source
from tests.conftest import write_beir


def task_with(tmp_path: Path, n_docs: int = 50, n_queries: int = 10) -> RetrievalTask:
    corpus = [{"_id": f"d{i}", "title": "", "text": f"document {i}"} for i in range(n_docs)]
    queries = [{"_id": f"q{i}", "text": f"query {i}"} for i in range(n_queries)]
    qrels = [(f"q{i}", f"d{i}", 1) for i in range(n_queries)] + [(f"q{i}", f"d{i + n_queries}", 0) for i in range(3)]
    root = write_beir(tmp_path / "data", corpus, queries, qrels)
    return make_source({"kind": "beir", "path": str(root)}, tmp_path).load("toy", LanguagePair.parse("en"), "test")


def test_max_queries_keeps_a_seeded_sample_in_original_order(tmp_path: Path) -> None:
    task = task_with(tmp_path)
    first = sample_task(task, Sampling(max_queries=4, seed=7))
    again = sample_task(task, Sampling(max_queries=4, seed=7))
    other = sample_task(task, Sampling(max_queries=4, seed=8))
    assert first.queries.ids == again.queries.ids != other.queries.ids
    assert len(first.queries) == 4 and first.queries.ids == sorted(first.queries.ids, key=task.queries.ids.index)
    assert set(first.qrels) == set(first.queries.ids) and len(first.corpus) == 50


def test_corpus_sample_keeps_every_judged_document_of_the_kept_queries(tmp_path: Path) -> None:
    task = task_with(tmp_path)
    sampled = sample_task(task, Sampling(max_queries=5, corpus_size=12, seed=1))
    judged = {doc for judgements in sampled.qrels.values() for doc in judgements}
    assert judged <= set(sampled.corpus.ids) and len(sampled.corpus) == 12
    assert sampled.corpus.ids == [doc for doc in task.corpus.ids if doc in set(sampled.corpus.ids)]


def test_sampled_identity_says_so_and_how(tmp_path: Path) -> None:
    task = task_with(tmp_path)
    identity = sample_task(task, Sampling(max_queries=5, corpus_size=12, seed=1)).identity
    assert identity.sampled is True and (identity.num_queries, identity.num_documents) == (5, 12)
    assert identity.sampling is not None
    assert identity.sampling["seed"] == 1 and identity.sampling["full_num_documents"] == 50
    assert identity.to_dict()["sampled"] is True and identity.checksum == task.identity.checksum


def test_a_sample_larger_than_the_data_changes_nothing(tmp_path: Path) -> None:
    task = task_with(tmp_path)
    assert sample_task(task, Sampling(max_queries=100, corpus_size=1000)) is task
