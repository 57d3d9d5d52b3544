"""Evaluate: the one metric registry, and ranx under one fixed protocol that reproduces trec_eval exactly
(see `protocol`): a ranking and qrels in, metrics and per-query scores out.

May import: core, data.
"""

from harness.data.dataset import Qrels
from harness.evaluation.metrics import SUPPORTED_METRICS, canonical_metric
from harness.evaluation.protocol import PROTOCOL, Evaluation, RunScores, evaluate

__all__ = [
    "PROTOCOL",
    "SUPPORTED_METRICS",
    "Evaluation",
    "Qrels",
    "RunScores",
    "canonical_metric",
    "evaluate",
]
