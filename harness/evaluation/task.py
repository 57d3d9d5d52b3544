"""Score a run on a task: judged metrics under the trec_eval protocol, answer recall from answer strings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.core.errors import InputError
from harness.data import RetrievalTask
from harness.evaluation.answers import ANSWER_PROTOCOL, answer_recall
from harness.evaluation.metrics import is_answer_metric
from harness.evaluation.protocol import PROTOCOL, Evaluation, RunScores, evaluate


def evaluate_task(task: RetrievalTask, run: RunScores, metrics: Sequence[str]) -> Evaluation:
    """Every metric of `metrics` on `task`, each computed under the protocol its name implies."""
    answer_metrics = [name for name in metrics if is_answer_metric(name)]
    judged_metrics = [name for name in metrics if not is_answer_metric(name)]
    means: dict[str, float] = {}
    per_query: dict[str, dict[str, float]] = {}
    protocol: dict[str, Any] = dict(PROTOCOL)
    num_queries = len(task.queries)
    if judged_metrics:
        if not task.qrels:
            raise InputError(
                f"{task.dataset} has no relevance judgements, so {', '.join(judged_metrics)} cannot be computed; "
                "score it with answer-recall@k"
            )
        evaluation = evaluate(task.qrels, run, judged_metrics)
        means.update(evaluation.means)
        per_query.update(evaluation.per_query)
        protocol = dict(evaluation.protocol)
        num_queries = evaluation.num_queries
    if answer_metrics:
        if task.answers is None:
            raise InputError(f"{task.dataset} has no answer strings, so {', '.join(answer_metrics)} cannot be computed")
        answer_means, answer_per_query = answer_recall(task.answers, run, task.corpus.passages_by_id(), answer_metrics)
        means.update(answer_means)
        per_query.update(answer_per_query)
        protocol["answer_recall"] = ANSWER_PROTOCOL
        num_queries = len(task.answers)
    ordered = {name: means[name] for name in metrics}
    return Evaluation(means=ordered, per_query=per_query, num_queries=num_queries, protocol=protocol)
