"""Answer recall (MKQA as BGE-M3 scores it): a query is answered at k when a top-k passage contains an answer."""

from __future__ import annotations

import pytest

from harness.core.errors import InputError
from harness.data import Corpus, DatasetIdentity, LanguagePair, Queries, RetrievalTask
from harness.evaluation import canonical_metric
from harness.evaluation.answers import answer_recall, has_answer, tokens
from harness.evaluation.task import evaluate_task

PASSAGES = {
    "p1": "The song was a hit for Dave Edmunds in 1970.",
    "p2": "Edmunds, Dave: a Welsh singer.",
    "p3": "Café society in Paris",
    "p4": "It cost 1,000 dollars.",
}


def test_tokens_are_nfd_lower_cased_words_and_single_symbols() -> None:
    assert tokens("Dave Edmunds, 1,000!") == ("dave", "edmunds", ",", "1", ",", "000", "!")
    assert tokens("Café") == tokens("CAFE\u0301")


@pytest.mark.parametrize(
    ("passage", "answer", "expected"),
    [
        ("p1", "dave edmunds", True),  # case-insensitive
        ("p2", "Dave Edmunds", False),  # tokens must be contiguous and in order
        ("p1", "Edmund", False),  # whole tokens only
        ("p3", "cafe\u0301", True),  # same characters, composed or not
        ("p4", "1,000", True),
    ],
)
def test_has_answer_matches_whole_token_sequences(passage: str, answer: str, expected: bool) -> None:
    assert has_answer(PASSAGES[passage], [answer]) is expected


def test_answer_recall_counts_a_query_once_its_first_answer_is_within_k() -> None:
    answers = {"q1": ["Dave Edmunds"], "q2": ["1,000"], "q3": ["nowhere"], "q4": ["Paris"]}
    run = {
        "q1": {"p2": 3.0, "p1": 2.0},  # answer at rank 2
        "q2": {"p4": 1.0},  # rank 1
        "q3": {"p1": 1.0},  # never
    }  # q4 retrieved nothing: it scores 0
    means, per_query = answer_recall(answers, run, PASSAGES, ["answer-recall@1", "answer_recall@2"])
    assert per_query["answer-recall@1"] == {"q1": 0.0, "q2": 1.0, "q3": 0.0, "q4": 0.0}
    assert per_query["answer-recall@2"] == {"q1": 1.0, "q2": 1.0, "q3": 0.0, "q4": 0.0}
    assert means == {"answer-recall@1": 0.25, "answer-recall@2": 0.5}


def test_ties_are_broken_as_trec_eval_breaks_them() -> None:
    """Equal scores rank the larger document id first, so p2 (no answer) comes before p1."""
    _, per_query = answer_recall({"q": ["Dave Edmunds"]}, {"q": {"p1": 1.0, "p2": 1.0}}, PASSAGES, ["answer-recall@1"])
    assert per_query["answer-recall@1"] == {"q": 0.0}


def test_metric_names_are_canonical() -> None:
    assert canonical_metric("QA_Recall@20") == "answer-recall@20"
    with pytest.raises(ValueError):
        canonical_metric("answer-recall@0")


def answer_task() -> RetrievalTask:
    ids = list(PASSAGES)
    return RetrievalTask(
        dataset="mkqa",
        split="test",
        languages=LanguagePair.parse("de-en"),
        corpus=Corpus(ids=ids, titles=[""] * len(ids), texts=[PASSAGES[i] for i in ids], language="en"),
        queries=Queries(ids=["q1"], texts=["wer singt"], language="de"),
        qrels={},
        identity=DatasetIdentity("mkqa", "here", "sha256:0", 4, 1, 1),
        answers={"q1": ["Dave Edmunds"]},
    )


def test_evaluate_task_labels_answer_recall_with_its_protocol() -> None:
    evaluation = evaluate_task(answer_task(), {"q1": {"p1": 1.0}}, ["answer-recall@20"])
    assert evaluation.means == {"answer-recall@20": 1.0}
    assert evaluation.protocol["answer_recall"]["name"] == "answer-recall"


def test_judged_metrics_on_a_task_without_qrels_are_refused() -> None:
    with pytest.raises(InputError, match="mkqa has no relevance judgements, so ndcg@10 cannot be computed"):
        evaluate_task(answer_task(), {"q1": {"p1": 1.0}}, ["ndcg@10"])
