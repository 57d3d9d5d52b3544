"""Metric names: every user spelling maps to one canonical name, so results from any run line up.

Only metrics whose values reproduce trec_eval exactly are offered; the trec_eval measure each one
equals is named in `SUPPORTED_METRICS` and checked against trec_eval's own test outputs. The one
exception is `answer-recall@k` (MKQA's official metric), judged from answer strings rather than
qrels (`harness.evaluation.answers`). This is the one registry every command reads: run, gate,
compare, export and reference matching.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TREC_EVAL_FAMILIES = ("ndcg", "map", "mrr", "recall", "precision", "success", "r-precision", "bpref")
"""Families computed from qrels under the trec_eval protocol."""

ANSWER_RECALL = "answer-recall"
FAMILIES = (*TREC_EVAL_FAMILIES, ANSWER_RECALL)
"""Canonical metric families; `family@k` adds a rank cutoff where the family takes one."""

_CUTOFF_REQUIRED = frozenset({"success", ANSWER_RECALL})
_CUTOFF_FORBIDDEN = frozenset({"r-precision", "bpref"})

_ALIASES = {
    "ndcg": "ndcg",
    "map": "map",
    "ap": "map",
    "mrr": "mrr",
    "rr": "mrr",
    "recip_rank": "mrr",
    "recall": "recall",
    "r": "recall",
    "precision": "precision",
    "p": "precision",
    "success": "success",
    "hit_rate": "success",
    "hitrate": "success",
    "r-precision": "r-precision",
    "r_precision": "r-precision",
    "r-prec": "r-precision",
    "rprec": "r-precision",
    "bpref": "bpref",
    "answer-recall": ANSWER_RECALL,
    "answer_recall": ANSWER_RECALL,
    "qa-recall": ANSWER_RECALL,
    "qa_recall": ANSWER_RECALL,
}

# trec_eval's own per-cutoff measure names, as printed in its output: P_10, ndcg_cut_10, ...
_TREC_EVAL_CUTOFF_NAMES = {
    "p": "precision",
    "recall": "recall",
    "success": "success",
    "ndcg_cut": "ndcg",
    "map_cut": "map",
}

SUPPORTED_METRICS = """\
Supported metrics (case-insensitive; k is a positive rank cutoff) and the trec_eval measure each equals:
  ndcg@k, ndcg            nDCG, linear gain        = ndcg_cut.k, ndcg       also nDCG@k, NDCG@k, ndcg_cut_k
  map@k, map              average precision        = map_cut.k, map         also MAP, MAP@k, AP@k, map_cut_k
  mrr@k, mrr              reciprocal rank          = recip_rank (-M k)      also MRR@k, RR@k, recip_rank
  recall@k, recall        recall                   = recall.k, set_recall   also R@k, Recall@k, recall_k
  precision@k, precision  precision                = P.k, set_P             also P@k, P_k
  success@k               a relevant in the top k  = success.k              also hit_rate@k, success_k
  r-precision             precision at rank R      = Rprec                  also Rprec, R-Prec
  bpref                   binary preference        = bpref
  answer-recall@k         a top-k passage contains an answer string (MKQA; no qrels, no trec_eval measure)
                                                                            also answer_recall@k, qa-recall@k"""


@dataclass(frozen=True)
class MetricSpec:
    """A parsed metric: its family and rank cutoff (None = the whole ranking)."""

    family: str
    cutoff: int | None = None

    @property
    def name(self) -> str:
        return self.family if self.cutoff is None else f"{self.family}@{self.cutoff}"

    @property
    def is_answer_metric(self) -> bool:
        """Judged from answer strings (`harness.evaluation.answers`), not from qrels."""
        return self.family == ANSWER_RECALL


def _unknown(name: str, reason: str) -> ValueError:
    return ValueError(f"unsupported metric {name!r}: {reason}\n{SUPPORTED_METRICS}")


def parse_metric(name: str) -> MetricSpec:
    """Parse one user spelling into family and cutoff; ValueError lists the supported forms."""
    text = name.strip().lower()
    base, _, cutoff_text = text.partition("@")
    if not cutoff_text:
        trec_eval_name = re.fullmatch(r"(.+?)_([0-9]+)", text)
        if trec_eval_name and trec_eval_name.group(1) in _TREC_EVAL_CUTOFF_NAMES:
            base, cutoff_text = trec_eval_name.groups()
            base = _TREC_EVAL_CUTOFF_NAMES[base]
    family = _ALIASES.get(base)
    if family is None:
        raise _unknown(name, "unknown name")
    if not cutoff_text:
        if family in _CUTOFF_REQUIRED:
            raise _unknown(name, f"{family} needs a cutoff, e.g. {family}@10")
        return MetricSpec(family)
    if family in _CUTOFF_FORBIDDEN:
        raise _unknown(name, f"{family} takes no cutoff")
    if not re.fullmatch(r"[0-9]+", cutoff_text) or int(cutoff_text) < 1:
        raise _unknown(name, "the cutoff must be a positive integer")
    return MetricSpec(family, int(cutoff_text))


def canonical_metric(name: str) -> str:
    """The canonical name for a user spelling: "nDCG@10" -> "ndcg@10", "R@100" -> "recall@100",
    "qa_recall@20" -> "answer-recall@20"."""
    return parse_metric(name).name


def is_answer_metric(name: str) -> bool:
    """Whether a (valid) metric name is scored from answer strings; ValueError for an unknown one."""
    return parse_metric(name).is_answer_metric
